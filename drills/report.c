/* report: see report.h. */
#include "report.h"

#include <curl/curl.h>
#include <json-c/printbuf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/atomicfile.h"

/* ------------------------------------------------------------------------------------------
 * The failover budget (PRODUCT.md section 4): what each kind of outage costs every request,
 * because CloudFront keeps no memory of a failed primary.
 */

static const struct {
    const char *key;    /* JSON key and budget.applies value */
    const char *outage; /* what happened to the primary */
    const char *pays;   /* what each request pays before it reaches the secondary */
} budget_rows[DRILL_BUDGET_NKINDS] = {
    {"error_status", "error status (paused, 5xx)", "one primary round trip"},
    {"refused", "refused connection", "one failed connect per attempt"},
    {"blackhole", "blackholed primary", "attempts \xc3\x97 connection timeout"},
    {"hung", "hung primary", "attempts \xc3\x97 response timeout"},
};

int drill_budget_kind_of(const char *fault)
{
    if (!fault)
        return -1;
    if (strcmp(fault, "pause") == 0 || strcmp(fault, "error") == 0)
        return DRILL_BUDGET_ERROR_STATUS;
    if (strcmp(fault, "refuse") == 0)
        return DRILL_BUDGET_REFUSED;
    if (strcmp(fault, "blackhole") == 0)
        return DRILL_BUDGET_BLACKHOLE;
    if (strcmp(fault, "slow") == 0)
        return DRILL_BUDGET_HUNG;
    return -1;
}

const char *drill_budget_kind_name(int kind)
{
    return kind >= 0 && kind < DRILL_BUDGET_NKINDS ? budget_rows[kind].key : NULL;
}

void drill_budget_costs(const struct drill_budget *b, double round_trip_s,
                        double cost_s[DRILL_BUDGET_NKINDS])
{
    int attempts_ok = b->connection_attempts >= 1;
    cost_s[DRILL_BUDGET_ERROR_STATUS] = round_trip_s >= 0 ? round_trip_s : -1;
    cost_s[DRILL_BUDGET_REFUSED] =
        round_trip_s >= 0 && attempts_ok ? b->connection_attempts * round_trip_s : -1;
    cost_s[DRILL_BUDGET_BLACKHOLE] = attempts_ok && b->connection_timeout_s > 0
                                         ? b->connection_attempts * b->connection_timeout_s
                                         : -1;
    cost_s[DRILL_BUDGET_HUNG] = attempts_ok && b->response_timeout_s > 0
                                    ? b->connection_attempts * b->response_timeout_s
                                    : -1;
}

/* ------------------------------------------------------------------------------------------
 * Facts every rendering shares, computed once per call.
 */

#define REPORT_MAX_CAUSES 8
#define REPORT_MD_MAX_ROWS 60

struct cause {
    int status, error;
    size_t count;
};

struct facts {
    int applies;         /* enum drill_budget_kind, or -1 */
    double round_trip_s; /* median latency of the primary's successful answers; -1 unknown */
    double cost_s[DRILL_BUDGET_NKINDS]; /* -1 unknown */
    double end_s;                       /* the last moment worth showing on a time axis */
    double max_latency_s;
    struct cause causes[REPORT_MAX_CAUSES];
    size_t ncauses;
    size_t other_errors; /* errors of causes beyond the listed ones */
};

static int is_outage(const struct drill_report *r)
{
    return r->kind == DRILL_REPORT_OUTAGE;
}

static size_t rep_errors(const struct drill_report *r)
{
    return is_outage(r) ? r->outage.client_errors : r->failback.client_errors;
}

/* Seconds after event_s of the switch the report is about (failover or failback); -1. */
static double rep_switch_s(const struct drill_report *r)
{
    return is_outage(r) ? r->outage.failover_seconds : r->failback.failback_seconds;
}

static void note_cause(struct facts *f, const struct drill_probe *p)
{
    for (size_t i = 0; i < f->ncauses; i++) {
        if (f->causes[i].status == p->status && f->causes[i].error == p->error) {
            f->causes[i].count++;
            return;
        }
    }
    if (f->ncauses == REPORT_MAX_CAUSES) {
        f->other_errors++;
        return;
    }
    f->causes[f->ncauses].status = p->status;
    f->causes[f->ncauses].error = p->error;
    f->causes[f->ncauses].count = 1;
    f->ncauses++;
}

static void later(double *end, double t)
{
    if (isfinite(t) && t > *end)
        *end = t;
}

static cfdr_code facts_compute(const struct drill_report *r, struct facts *f, cfdr_err *err)
{
    double *lat = NULL;
    size_t k = 0;

    if (!r)
        return err_set(err, CFDR_E_INTERNAL, "report: no report given");
    if (r->nprobes > 0 && !r->probes)
        return err_set(err, CFDR_E_INTERNAL, "report: %zu probes announced but none given",
                       r->nprobes);
    memset(f, 0, sizeof(*f));
    f->applies = is_outage(r) ? drill_budget_kind_of(r->fault) : -1;
    f->round_trip_s = -1;
    f->end_s = 0;
    if (r->nprobes > 0) {
        lat = malloc(r->nprobes * sizeof(*lat));
        if (!lat)
            return err_set(err, CFDR_E_NOMEM, "report: out of memory for %zu probes", r->nprobes);
    }
    for (size_t i = 0; i < r->nprobes; i++) {
        const struct drill_probe *p = &r->probes[i];
        later(&f->end_s, p->sent_s);
        later(&f->max_latency_s, p->latency_s);
        if (drill_probe_is_error(p))
            note_cause(f, p);
        else if (p->served_by == DRILL_ORIGIN_PRIMARY && isfinite(p->latency_s))
            lat[k++] = p->latency_s;
    }
    if (k > 0) {
        f->round_trip_s = drill_percentile(lat, k, 0.5);
        if (f->round_trip_s < 0) {
            free(lat);
            return err_set(err, CFDR_E_NOMEM, "report: out of memory for the round-trip median");
        }
    }
    free(lat);
    drill_budget_costs(&r->budget, f->round_trip_s, f->cost_s);
    later(&f->end_s, r->event_s);
    later(&f->end_s, r->event_end_s);
    if (rep_switch_s(r) >= 0)
        later(&f->end_s, r->event_s + rep_switch_s(r));
    if (is_outage(r) && r->outage.steady_seconds >= 0)
        later(&f->end_s, r->event_s + r->outage.steady_seconds + 1);
    if (r->alert_seconds >= 0)
        later(&f->end_s, r->event_s + r->alert_seconds);
    if (f->end_s < 1)
        f->end_s = 1;
    return CFDR_OK;
}

/* ------------------------------------------------------------------------------------------
 * Number formatting: fast, locale-free, no trailing zeros ("30", "30.004", "5.1").
 */

/* Writes v rounded to `decimals` places (0..4) into out (>= 32 bytes); returns the length. */
static size_t fmt_fixed(char *out, double v, int decimals)
{
    static const long long scale_of[] = {1, 10, 100, 1000, 10000};
    long long scale = scale_of[decimals], n, ip, fp;
    char digits[24];
    size_t len = 0, nd = 0;

    if (!isfinite(v) || fabs(v) >= 1e12)
        return (size_t)snprintf(out, 32, "%.*f", decimals, isfinite(v) ? v : 0.0);
    n = llround(v * (double)scale);
    if (n < 0) {
        out[len++] = '-';
        n = -n;
    }
    ip = n / scale;
    fp = n % scale;
    do {
        digits[nd++] = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip > 0);
    while (nd > 0)
        out[len++] = digits[--nd];
    if (fp > 0) {
        int places = decimals;
        while (fp % 10 == 0) {
            fp /= 10;
            places--;
        }
        out[len++] = '.';
        for (int i = places - 1; i >= 0; i--) {
            out[len + (size_t)i] = (char)('0' + fp % 10);
            fp /= 10;
        }
        len += (size_t)places;
    }
    out[len] = '\0';
    return len;
}

/* A duration for people: "0.4 ms", "12 ms", "1.25 s", "30.004 s". */
static const char *fmt_dur(char *out, double s)
{
    char n[32];
    if (!isfinite(s) || s < 0) {
        snprintf(out, 48, "\xe2\x80\x94");
        return out;
    }
    if (s < 1) {
        fmt_fixed(n, s * 1000, s < 0.01 ? 2 : 1);
        snprintf(out, 48, "%s ms", n);
    } else {
        fmt_fixed(n, s, 3);
        snprintf(out, 48, "%s s", n);
    }
    return out;
}

/* Whole seconds (steady_seconds counts whole seconds): "0 s", "12 s". */
static const char *fmt_secs(char *out, double s)
{
    char n[32];
    fmt_fixed(n, s, 3);
    snprintf(out, 48, "%s s", n);
    return out;
}

/* 300000 -> "300,000". */
static const char *fmt_count(char *out, size_t v)
{
    char raw[32];
    size_t n = (size_t)snprintf(raw, sizeof(raw), "%zu", v), o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = raw[i];
    }
    out[o] = '\0';
    return out;
}

static const char *fmt_pct(char *out, size_t part, size_t whole)
{
    if (whole == 0)
        snprintf(out, 16, "\xe2\x80\x94");
    else
        snprintf(out, 16, "%.0f%%", 100.0 * (double)part / (double)whole);
    return out;
}

static const char *origin_name(enum drill_origin o)
{
    switch (o) {
    case DRILL_ORIGIN_PRIMARY:
        return "primary";
    case DRILL_ORIGIN_SECONDARY:
        return "secondary";
    default:
        return "unknown";
    }
}

/* How the report tells the origins apart, for people. */
static const char *served_by_text(const struct drill_report *r, char *out, size_t cap)
{
    const char *m = r->served_by_method;
    if (!m)
        snprintf(out, cap, "\xe2\x80\x94");
    else if (strcmp(m, "header") == 0)
        snprintf(out, cap, "the origins' response header");
    else if (strcmp(m, "fingerprint") == 0)
        snprintf(out, cap, "fingerprint of the origins' direct answers (%s)",
                 r->served_by_fingerprint ? r->served_by_fingerprint : "body");
    else if (strcmp(m, "primary-health") == 0)
        snprintf(out, cap, "the primary's health, probed directly");
    else
        snprintf(out, cap, "nothing (origins unknown)");
    return out;
}

/* What went wrong for a viewer, e.g. "HTTP 502" or "Timeout was reached (curl 28)". */
static const char *fmt_cause(char *out, size_t cap, const struct cause *c)
{
    if (c->error != 0 && c->status > 0)
        snprintf(out, cap, "%s (curl %d) after HTTP %d", curl_easy_strerror((CURLcode)c->error),
                 c->error, c->status);
    else if (c->error != 0)
        snprintf(out, cap, "%s (curl %d)", curl_easy_strerror((CURLcode)c->error), c->error);
    else if (c->status > 0)
        snprintf(out, cap, "HTTP %d", c->status);
    else
        snprintf(out, cap, "no answer");
    return out;
}

/* ------------------------------------------------------------------------------------------
 * JSON.
 */

#define JSON_SECONDS 3 /* figures in seconds: to the millisecond */
#define JSON_FINE 4    /* measured figures and budget seconds: often below a millisecond locally */
#define JSON_MS 1      /* milliseconds: to 0.1 ms */

struct jb {
    int bad; /* sticky: out of memory */
};

static json_object *jchk(struct jb *j, json_object *o)
{
    if (!o)
        j->bad = 1;
    return o;
}

static json_object *jstr(struct jb *j, const char *s)
{
    return s ? jchk(j, json_object_new_string(s)) : NULL;
}

static json_object *jint(struct jb *j, long long v)
{
    return jchk(j, json_object_new_int64(v));
}

static json_object *jbool(struct jb *j, int v)
{
    return jchk(j, json_object_new_boolean(v != 0));
}

/* A rounded number that serializes exactly as rounded; null when not finite. */
static json_object *jnum(struct jb *j, double v, int decimals)
{
    char s[32];
    if (!isfinite(v))
        return NULL;
    fmt_fixed(s, v, decimals);
    return jchk(j, json_object_new_double_s(strtod(s, NULL), s));
}

/* Seconds that use -1 for "did not happen": null then. */
static json_object *jsec_opt(struct jb *j, double v, int decimals)
{
    return v < 0 ? NULL : jnum(j, v, decimals);
}

static void jadd(struct jb *j, json_object *o, const char *key, json_object *v)
{
    if (j->bad || !o || json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        j->bad = 1;
    }
}

/* Appends v to the array a; on any failure (now or before) v is released. */
static void jpush(struct jb *j, json_object *a, json_object *v)
{
    if (j->bad || !a || !v || json_object_array_add(a, v) != 0) {
        json_object_put(v);
        j->bad = 1;
    }
}

static json_object *jobj(struct jb *j)
{
    return jchk(j, json_object_new_object());
}

static json_object *json_latency(struct jb *j, const struct drill_latency *l)
{
    json_object *o = jobj(j);
    int any = l->count > 0;
    jadd(j, o, "count", jint(j, (long long)l->count));
    jadd(j, o, "p50_ms", any ? jnum(j, l->p50_s * 1000, JSON_MS) : NULL);
    jadd(j, o, "p99_ms", any ? jnum(j, l->p99_s * 1000, JSON_MS) : NULL);
    jadd(j, o, "max_ms", any ? jnum(j, l->max_s * 1000, JSON_MS) : NULL);
    return o;
}

static json_object *json_budget(struct jb *j, const struct drill_report *r, const struct facts *f)
{
    json_object *o = jobj(j), *costs = jobj(j), *m = NULL;
    jadd(j, o, "connection_attempts", jint(j, r->budget.connection_attempts));
    jadd(j, o, "connection_timeout_s", jnum(j, r->budget.connection_timeout_s, JSON_SECONDS));
    jadd(j, o, "response_timeout_s", jnum(j, r->budget.response_timeout_s, JSON_SECONDS));
    jadd(j, o, "round_trip_s", jsec_opt(j, f->round_trip_s, JSON_FINE));
    for (int k = 0; k < DRILL_BUDGET_NKINDS; k++)
        jadd(j, costs, budget_rows[k].key, jsec_opt(j, f->cost_s[k], JSON_FINE));
    jadd(j, o, "costs_s", costs);
    jadd(j, o, "applies", jstr(j, drill_budget_kind_name(f->applies)));
    if (f->applies == DRILL_BUDGET_ERROR_STATUS || f->applies == DRILL_BUDGET_REFUSED) {
        const struct drill_latency *d = &r->outage.during;
        m = jobj(j);
        jadd(j, m, "figure", jstr(j, "latency.during"));
        jadd(j, m, "p50_s", d->count ? jnum(j, d->p50_s, JSON_FINE) : NULL);
        jadd(j, m, "p99_s", d->count ? jnum(j, d->p99_s, JSON_FINE) : NULL);
    } else if (f->applies >= 0) {
        m = jobj(j);
        jadd(j, m, "figure", jstr(j, "failover_seconds"));
        jadd(j, m, "seconds", jsec_opt(j, r->outage.failover_seconds, JSON_FINE));
    }
    jadd(j, o, "measured", m);
    return o;
}

static json_object *json_served_by(struct jb *j, size_t prim, size_t sec, size_t unk)
{
    json_object *o = jobj(j);
    jadd(j, o, "primary", jint(j, (long long)prim));
    jadd(j, o, "secondary", jint(j, (long long)sec));
    jadd(j, o, "unknown", jint(j, (long long)unk));
    return o;
}

static json_object *json_causes(struct jb *j, const struct facts *f)
{
    json_object *a = jchk(j, json_object_new_array());
    char label[160];
    for (size_t i = 0; i < f->ncauses && !j->bad; i++) {
        json_object *c = jobj(j);
        jadd(j, c, "status", jint(j, f->causes[i].status));
        jadd(j, c, "error", jint(j, f->causes[i].error));
        jadd(j, c, "what", jstr(j, fmt_cause(label, sizeof(label), &f->causes[i])));
        jadd(j, c, "count", jint(j, (long long)f->causes[i].count));
        jpush(j, a, c);
    }
    if (f->other_errors > 0 && !j->bad) {
        json_object *c = jobj(j);
        jadd(j, c, "status", NULL);
        jadd(j, c, "error", NULL);
        jadd(j, c, "what", jstr(j, "other causes"));
        jadd(j, c, "count", jint(j, (long long)f->other_errors));
        jpush(j, a, c);
    }
    return a;
}

/* The timeline serializes one probe per line even in pretty output: pretty-printing each of
 * 300,000 five-element arrays over seven lines would make the file unreadable and huge. */
static int timeline_serialize(json_object *jso, struct printbuf *pb, int level, int flags)
{
    size_t n = json_object_array_length(jso);
    int pretty = (flags & JSON_C_TO_STRING_PRETTY) != 0;
    int tab = (flags & JSON_C_TO_STRING_PRETTY_TAB) != 0;
    int indent = pretty ? (level + 1) * (tab ? 1 : 2) : 0;
    char line[192], t[32], l[32];

    if (printbuf_memappend(pb, "[", 1) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(jso, i);
        int len;
        fmt_fixed(t, json_object_get_double(json_object_array_get_idx(e, 0)), JSON_SECONDS);
        fmt_fixed(l, json_object_get_double(json_object_array_get_idx(e, 1)), JSON_MS);
        len = snprintf(line, sizeof(line), "%s%s%*s[%s,%s,%d,\"%s\",%d]", i ? "," : "",
                       pretty ? "\n" : "", indent, "", t, l,
                       json_object_get_int(json_object_array_get_idx(e, 2)),
                       json_object_get_string(json_object_array_get_idx(e, 3)),
                       json_object_get_int(json_object_array_get_idx(e, 4)));
        if (len < 0 || (size_t)len >= sizeof(line) || printbuf_memappend(pb, line, len) < 0)
            return -1;
    }
    if (pretty && n > 0) {
        int len = snprintf(line, sizeof(line), "\n%*s", level * (tab ? 1 : 2), "");
        if (printbuf_memappend(pb, line, len) < 0)
            return -1;
    }
    return printbuf_memappend(pb, "]", 1) < 0 ? -1 : 0;
}

static json_object *json_timeline(struct jb *j, const struct drill_report *r)
{
    size_t want = r->nprobes < (1u << 24) ? r->nprobes : (1u << 24); /* it grows past that */
    json_object *a = jchk(j, json_object_new_array_ext((int)(want ? want : 1)));
    json_object *names[3] = {jstr(j, "unknown"), jstr(j, "primary"), jstr(j, "secondary")};

    for (size_t i = 0; i < r->nprobes && !j->bad; i++) {
        const struct drill_probe *p = &r->probes[i];
        json_object *e = jchk(j, json_object_new_array_ext(5));
        int o = p->served_by == DRILL_ORIGIN_PRIMARY     ? 1
                : p->served_by == DRILL_ORIGIN_SECONDARY ? 2
                                                         : 0;
        double t = round(p->sent_s * 1000) / 1000, ms = round(p->latency_s * 10000) / 10;
        jpush(j, e, jchk(j, json_object_new_double(isfinite(t) ? t : 0)));
        jpush(j, e, jchk(j, json_object_new_double(isfinite(ms) ? ms : 0)));
        jpush(j, e, jint(j, p->status));
        /* Origin names are shared (reference-counted) among all entries. */
        jpush(j, e, json_object_get(names[o]));
        jpush(j, e, jint(j, p->error));
        jpush(j, a, e);
    }
    for (int k = 0; k < 3; k++)
        json_object_put(names[k]);
    if (a)
        json_object_set_serializer(a, timeline_serialize, NULL, NULL);
    return a;
}

cfdr_code drill_report_json(const struct drill_report *r, json_object **out, cfdr_err *err)
{
    struct jb jb = {0}, *j = &jb;
    struct facts f;
    json_object *o, *origins, *lat;
    int outage;

    *out = NULL;
    CFDR_TRY(facts_compute(r, &f, err));
    outage = is_outage(r);
    o = jobj(j);
    jadd(j, o, "kind", jstr(j, outage ? "outage" : "failback"));
    jadd(j, o, "result", jstr(j, r->passed ? "pass" : "fail"));
    jadd(j, o, "verdict", jstr(j, r->verdict));
    jadd(j, o, "interrupted", jbool(j, r->interrupted));
    jadd(j, o, "project", jstr(j, r->project));
    jadd(j, o, "mode", jstr(j, r->mode));
    jadd(j, o, "fault", jstr(j, r->fault));
    jadd(j, o, "edge_url", jstr(j, r->edge_url));
    origins = jobj(j);
    jadd(j, origins, "primary", jstr(j, r->primary_label));
    jadd(j, origins, "secondary", jstr(j, r->secondary_label));
    jadd(j, o, "origins", origins);
    jadd(j, o, "started_at", jstr(j, r->started_at));
    jadd(j, o, "rate", jnum(j, r->rate, JSON_SECONDS));
    if (outage) {
        const struct drill_outage_figures *g = &r->outage;
        jadd(j, o, "probes", jint(j, (long long)g->probes));
        jadd(j, o, "client_errors", jint(j, (long long)g->client_errors));
        jadd(j, o, "served_by",
             json_served_by(j, g->served_primary, g->served_secondary, g->served_unknown));
        jadd(j, o, "outage_started_at", jstr(j, r->event_started_at));
        jadd(j, o, "outage_started_s", jnum(j, r->event_s, JSON_SECONDS));
        jadd(j, o, "fault_requested_at", jstr(j, r->requested_at));
        jadd(j, o, "fault_requested_s",
             r->requested_at ? jsec_opt(j, r->requested_s, JSON_SECONDS) : NULL);
        jadd(j, o, "outage_ended_s", jsec_opt(j, r->event_end_s, JSON_SECONDS));
        jadd(j, o, "failed_over", jbool(j, g->failed_over));
        jadd(j, o, "failover_seconds", jsec_opt(j, g->failover_seconds, JSON_FINE));
        jadd(j, o, "steady_seconds", jsec_opt(j, g->steady_seconds, JSON_SECONDS));
        jadd(j, o, "alert_seconds", jsec_opt(j, r->alert_seconds, JSON_FINE));
        jadd(j, o, "alert_target", jstr(j, r->alert_seconds >= 0 ? r->alert_target : NULL));
        jadd(j, o, "alert_note", jstr(j, r->alert_seconds < 0 ? r->alert_note : NULL));
        lat = jobj(j);
        jadd(j, lat, "before", json_latency(j, &g->before));
        jadd(j, lat, "during", json_latency(j, &g->during));
        jadd(j, o, "latency", lat);
    } else {
        const struct drill_failback_figures *g = &r->failback;
        jadd(j, o, "probes", jint(j, (long long)g->probes));
        jadd(j, o, "client_errors", jint(j, (long long)g->client_errors));
        jadd(j, o, "served_by",
             json_served_by(j, g->served_primary, g->served_secondary, g->served_unknown));
        jadd(j, o, "resume_started_at", jstr(j, r->event_started_at));
        jadd(j, o, "resume_started_s", jnum(j, r->event_s, JSON_SECONDS));
        jadd(j, o, "resume_requested_at", jstr(j, r->requested_at));
        jadd(j, o, "resume_requested_s",
             r->requested_at ? jsec_opt(j, r->requested_s, JSON_SECONDS) : NULL);
        jadd(j, o, "resume_ended_s", jsec_opt(j, r->event_end_s, JSON_SECONDS));
        jadd(j, o, "failed_back", jbool(j, g->failed_back));
        jadd(j, o, "failback_seconds", jsec_opt(j, g->failback_seconds, JSON_FINE));
        jadd(j, o, "alert_seconds", jsec_opt(j, r->alert_seconds, JSON_FINE));
        jadd(j, o, "alert_target", jstr(j, r->alert_seconds >= 0 ? r->alert_target : NULL));
        jadd(j, o, "alert_note", jstr(j, r->alert_seconds < 0 ? r->alert_note : NULL));
        jadd(j, o, "latency", json_latency(j, &g->latency));
    }
    jadd(j, o, "served_by_method", jstr(j, r->served_by_method));
    jadd(j, o, "served_by_fingerprint", jstr(j, r->served_by_fingerprint));
    jadd(j, o, "served_by_uncertain", jint(j, (long long)r->served_by_uncertain));
    jadd(j, o, "error_causes", json_causes(j, &f));
    jadd(j, o, "budget", json_budget(j, r, &f));
    jadd(j, o, "timeline", json_timeline(j, r));
    if (j->bad) {
        json_object_put(o);
        return err_set(err, CFDR_E_NOMEM, "report: out of memory building the JSON report");
    }
    *out = o;
    return CFDR_OK;
}

/* ------------------------------------------------------------------------------------------
 * Text output with a sticky error, so renderers read as documents rather than as error
 * checks; the first failure is kept and reported once at the end.
 */

struct w {
    struct buf *b;
    cfdr_code rc;
};

static void w_add(struct w *w, const char *s, size_t n)
{
    if (w->rc == CFDR_OK)
        w->rc = buf_add(w->b, s, n);
}

static void w_s(struct w *w, const char *s)
{
    w_add(w, s, strlen(s));
}

static void w_f(struct w *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void w_f(struct w *w, const char *fmt, ...)
{
    va_list ap;
    if (w->rc != CFDR_OK)
        return;
    va_start(ap, fmt);
    w->rc = buf_vaddf(w->b, fmt, ap);
    va_end(ap);
}

/* HTML text and attribute values: & < > " ' escaped. NULL renders as an em dash. */
static void w_html(struct w *w, const char *s)
{
    const char *run;
    if (!s) {
        w_s(w, "\xe2\x80\x94");
        return;
    }
    for (run = s; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            continue;
        }
        w_add(w, run, (size_t)(s - run));
        w_s(w, rep);
        run = s + 1;
    }
    w_add(w, run, (size_t)(s - run));
}

/* Markdown text: punctuation that could open markup anywhere in a line (emphasis, code, links,
 * raw HTML, entities, table cells) is backslash-escaped and line breaks become spaces, so a
 * name cannot break a table or inject a tag. Line-start markup (#, -, +) cannot occur: user
 * text never starts a line. */
static void w_md(struct w *w, const char *s)
{
    if (!s) {
        w_s(w, "\xe2\x80\x94");
        return;
    }
    for (; *s; s++) {
        if (strchr("\\`*_[]<>|~&", *s))
            w_add(w, "\\", 1);
        if (*s == '\n' || *s == '\r')
            w_add(w, " ", 1);
        else
            w_add(w, s, 1);
    }
}

static cfdr_code w_done(struct w *w, const char *what, cfdr_err *err)
{
    if (w->rc == CFDR_E_TOOBIG)
        return err_set(err, w->rc,
                       "report: the %s report exceeds its %zu-byte buffer limit; "
                       "render it into a larger buffer (BUF_MAX_LARGE)",
                       what, w->b->max);
    if (w->rc != CFDR_OK)
        return err_set(err, w->rc, "report: cannot build the %s report (%s)", what,
                       err_code_name(w->rc));
    return CFDR_OK;
}

/* ------------------------------------------------------------------------------------------
 * Shared wording.
 */

static const char *kind_title(const struct drill_report *r)
{
    return is_outage(r) ? "Outage drill" : "Failback";
}

static const char *switch_name(const struct drill_report *r)
{
    return is_outage(r) ? "failover" : "failback";
}

/* The measured figure set beside the budget row that applies. */
static void measured_text(char *out, size_t cap, const struct drill_report *r,
                          const struct facts *f)
{
    char a[48], b[48];
    out[0] = '\0';
    if (f->applies == DRILL_BUDGET_ERROR_STATUS || f->applies == DRILL_BUDGET_REFUSED) {
        if (r->outage.during.count)
            snprintf(out, cap, "p50 %s, p99 %s per request during the outage",
                     fmt_dur(a, r->outage.during.p50_s), fmt_dur(b, r->outage.during.p99_s));
        else
            snprintf(out, cap, "no probe during the outage");
    } else if (f->applies >= 0) {
        char c[48];
        if (r->outage.failover_seconds >= 0 && r->outage.during.count)
            /* What each viewer waited, beside the first failover: a request that rode a
             * connection opened before the outage pays the response timeout first. */
            snprintf(out, cap, "failover after %s; per request during the outage p50 %s, max %s",
                     fmt_dur(a, r->outage.failover_seconds), fmt_dur(b, r->outage.during.p50_s),
                     fmt_dur(c, r->outage.during.max_s));
        else if (r->outage.failover_seconds >= 0)
            snprintf(out, cap, "failover after %s", fmt_dur(a, r->outage.failover_seconds));
        else
            snprintf(out, cap, "did not fail over");
    }
}

/* The budget cell: "3 × 10 s = 30 s", "≈ 5.1 ms", "unknown". */
static void budget_text(char *out, size_t cap, const struct drill_report *r, const struct facts *f,
                        int k)
{
    char a[48], b[48];
    const char *times = "\xc3\x97";
    if (f->cost_s[k] < 0) {
        snprintf(out, cap, "unknown (no primary answer measured)");
        return;
    }
    switch (k) {
    case DRILL_BUDGET_ERROR_STATUS:
        snprintf(out, cap, "\xe2\x89\x88 %s", fmt_dur(a, f->cost_s[k]));
        break;
    case DRILL_BUDGET_REFUSED:
        snprintf(out, cap, "\xe2\x89\xa4 %d %s %s = %s", r->budget.connection_attempts, times,
                 fmt_dur(a, f->round_trip_s), fmt_dur(b, f->cost_s[k]));
        break;
    case DRILL_BUDGET_BLACKHOLE:
        snprintf(out, cap, "%d %s %s = %s", r->budget.connection_attempts, times,
                 fmt_dur(a, r->budget.connection_timeout_s), fmt_dur(b, f->cost_s[k]));
        break;
    default:
        snprintf(out, cap, "%d %s %s = %s", r->budget.connection_attempts, times,
                 fmt_dur(a, r->budget.response_timeout_s), fmt_dur(b, f->cost_s[k]));
        break;
    }
}

static const char *meaning_text(const struct drill_report *r)
{
    if (is_outage(r))
        return "A probe is one viewer request through the edge; a viewer-visible error is any "
               "probe that did not get a 2xx or 3xx answer in time. Failover is the time from "
               "the outage start to the first answer served by the secondary; steady is the "
               "time to the first whole second in which every answer came from the secondary. "
               "CloudFront keeps no memory of a failed primary: every request during the "
               "outage tries the primary first and pays the budget above again, so the latency "
               "during the outage is what each viewer waits, for as long as the outage lasts.";
    return "A probe is one viewer request through the edge; a viewer-visible error is any probe "
           "that did not get a 2xx or 3xx answer in time. Failback is the time from the start "
           "of the resume to the first answer served by the primary again. Every request tries "
           "the primary first, so traffic returns on its own as soon as the primary answers; "
           "no switch has to be flipped back.";
}

/* ------------------------------------------------------------------------------------------
 * Markdown.
 */

struct bucket_lat {
    size_t bucket;
    double latency_s;
};

static int cmp_bucket_lat(const void *a, const void *b)
{
    const struct bucket_lat *x = a, *y = b;
    if (x->bucket != y->bucket)
        return (x->bucket > y->bucket) - (x->bucket < y->bucket);
    return (x->latency_s > y->latency_s) - (x->latency_s < y->latency_s);
}

struct row {
    size_t probes, errors, primary, secondary, unknown;
    double p50_s;
    char note[160];
};

static void row_note(struct row *rows, size_t nrows, double width, double t, const char *what)
{
    size_t i;
    struct row *row;
    char n[32];
    if (t < 0 || !isfinite(t))
        return;
    i = (size_t)(t / width);
    if (i >= nrows)
        i = nrows - 1;
    row = &rows[i];
    fmt_fixed(n, t, 3);
    snprintf(row->note + strlen(row->note), sizeof(row->note) - strlen(row->note), "%s%s (%s s)",
             row->note[0] ? "; " : "<- ", what, n);
}

/* The share bar: 20 characters, P primary, S secondary, ? unknown, x error. */
static void share_bar(char *out, const struct row *row)
{
    size_t parts[4] = {row->primary, row->secondary, row->unknown, row->errors};
    const char sym[4] = {'P', 'S', '?', 'x'};
    size_t done = 0, acc = 0, total = row->probes;
    for (int k = 0; k < 4 && total > 0; k++) {
        size_t upto;
        acc += parts[k];
        upto = (acc * 20 + total / 2) / total;
        if (parts[k] > 0 && upto == done && done < 20)
            upto = done + 1; /* a rare event stays visible */
        while (done < upto && done < 20)
            out[done++] = sym[k];
    }
    while (done < 20)
        out[done++] = ' ';
    out[done] = '\0';
}

/* One row of the text timeline, without trailing blanks. */
static void md_row(struct w *w, const char *t, const char *probes, const char *errors,
                   const char *primary, const char *secondary, const char *p50, const char *share,
                   const char *note)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "%8s  %7s  %6s  %7s  %9s  %9s  %-20s  %s", t, probes,
                     errors, primary, secondary, p50, share, note);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    while (len > 0 && line[len - 1] == ' ')
        len--;
    w_add(w, line, len);
    w_add(w, "\n", 1);
}

static cfdr_code md_timeline(struct w *w, const struct drill_report *r, const struct facts *f,
                             cfdr_err *err)
{
    double width = f->end_s <= REPORT_MD_MAX_ROWS ? 1 : ceil(f->end_s / REPORT_MD_MAX_ROWS);
    size_t nrows = (size_t)(f->end_s / width) + 1, k = 0;
    struct row *rows = calloc(nrows, sizeof(*rows));
    struct bucket_lat *bl = malloc((r->nprobes ? r->nprobes : 1) * sizeof(*bl));
    cfdr_code rc = CFDR_OK;

    if (!rows || !bl) {
        rc = err_set(err, CFDR_E_NOMEM, "report: out of memory for the text timeline");
        goto out;
    }
    for (size_t i = 0; i < r->nprobes; i++) {
        const struct drill_probe *p = &r->probes[i];
        size_t b = p->sent_s > 0 && isfinite(p->sent_s) ? (size_t)(p->sent_s / width) : 0;
        if (b >= nrows)
            b = nrows - 1;
        rows[b].probes++;
        if (drill_probe_is_error(p))
            rows[b].errors++;
        else if (p->served_by == DRILL_ORIGIN_PRIMARY)
            rows[b].primary++;
        else if (p->served_by == DRILL_ORIGIN_SECONDARY)
            rows[b].secondary++;
        else
            rows[b].unknown++;
        bl[k].bucket = b;
        bl[k++].latency_s = p->latency_s;
    }
    qsort(bl, k, sizeof(*bl), cmp_bucket_lat);
    for (size_t i = 0; i < k;) {
        size_t j = i;
        while (j < k && bl[j].bucket == bl[i].bucket)
            j++;
        rows[bl[i].bucket].p50_s = bl[i + (size_t)ceil(0.5 * (double)(j - i)) - 1].latency_s;
        i = j;
    }
    row_note(rows, nrows, width, r->event_s, is_outage(r) ? "outage starts" : "resume starts");
    if (r->event_end_s >= 0)
        row_note(rows, nrows, width, r->event_end_s, is_outage(r) ? "outage ends" : "resumed");
    if (rep_switch_s(r) >= 0)
        row_note(rows, nrows, width, r->event_s + rep_switch_s(r), switch_name(r));
    if (is_outage(r) && r->outage.steady_seconds >= 0)
        row_note(rows, nrows, width, r->event_s + r->outage.steady_seconds, "steady");
    if (r->alert_seconds >= 0)
        row_note(rows, nrows, width, r->event_s + r->alert_seconds, "first alert");

    if (width == 1)
        w_s(w, "## Timeline (per second)\n\n");
    else
        w_f(w, "## Timeline (per %.0f seconds)\n\n", width);
    w_s(w, "Probes by the second they were sent. Share: P primary, S secondary, ? unknown "
           "origin, x viewer-visible error.\n\n```\n");
    md_row(w, "t (s)", "probes", "errors", "primary", "secondary", "p50", "share", "");
    for (size_t i = 0; i < nrows; i++) {
        const struct row *row = &rows[i];
        char t[32], p[16], s[16], p50[48], bar[24], cnt[32], e[32];
        if (width == 1)
            snprintf(t, sizeof(t), "%zu", i);
        else
            snprintf(t, sizeof(t), "%.0f-%.0f", (double)i * width, (double)(i + 1) * width - 1);
        if (row->probes)
            fmt_dur(p50, row->p50_s);
        else
            snprintf(p50, sizeof(p50), "-");
        share_bar(bar, row);
        md_row(w, t, fmt_count(cnt, row->probes), fmt_count(e, row->errors),
               fmt_pct(p, row->primary, row->probes), fmt_pct(s, row->secondary, row->probes), p50,
               bar, row->note);
    }
    w_s(w, "```\n\n");
out:
    free(rows);
    free(bl);
    return rc;
}

cfdr_code drill_report_markdown(const struct drill_report *r, struct buf *out, cfdr_err *err)
{
    struct w w = {out, CFDR_OK};
    struct facts f;
    char a[48], b[48], c[48], n1[32], n2[32], line[256];
    size_t probes, prim, sec, unk;

    CFDR_TRY(facts_compute(r, &f, err));
    if (is_outage(r)) {
        probes = r->outage.probes;
        prim = r->outage.served_primary;
        sec = r->outage.served_secondary;
        unk = r->outage.served_unknown;
    } else {
        probes = r->failback.probes;
        prim = r->failback.served_primary;
        sec = r->failback.served_secondary;
        unk = r->failback.served_unknown;
    }

    w_f(&w, "# %s: ", kind_title(r));
    w_md(&w, r->project);
    w_s(&w, " (");
    w_md(&w, r->mode);
    if (is_outage(r)) {
        w_s(&w, ", fault ");
        w_md(&w, r->fault);
    }
    w_f(&w, ") \xe2\x80\x94 %s\n\n", r->passed ? "PASS" : "FAIL");
    w_f(&w, "**%s**", r->passed ? "PASS" : "FAIL");
    if (r->verdict) {
        w_s(&w, ": ");
        w_md(&w, r->verdict);
    }
    w_s(&w, "\n\n");
    if (r->interrupted)
        w_s(&w, "> Partial report: the drill was interrupted before it finished; the figures "
                "cover the probes sent until then.\n\n");
    fmt_fixed(n1, r->rate, 3);
    fmt_fixed(n2, r->event_s, 3);
    w_s(&w, "Probed ");
    w_md(&w, r->edge_url);
    w_f(&w, " at %s probes/s from ", n1);
    w_md(&w, r->started_at);
    w_s(&w, is_outage(r) ? "; the outage began at " : "; the resume began at ");
    w_md(&w, r->event_started_at);
    w_f(&w, " (t = %s s). Primary: ", n2);
    w_md(&w, r->primary_label);
    w_s(&w, "; secondary: ");
    w_md(&w, r->secondary_label);
    w_s(&w, ".\n\n## Summary\n\n| figure | value |\n|---|---|\n");
    w_f(&w, "| result | **%s** |\n", r->passed ? "PASS" : "FAIL");
    w_f(&w, "| probes | %s |\n", fmt_count(n1, probes));
    w_f(&w, "| viewer-visible errors | %s |\n", fmt_count(n1, rep_errors(r)));
    w_f(&w, "| served by the primary | %s (%s) |\n", fmt_count(n1, prim),
        fmt_pct(n2, prim, probes));
    w_f(&w, "| served by the secondary | %s (%s) |\n", fmt_count(n1, sec),
        fmt_pct(n2, sec, probes));
    w_f(&w, "| origin unknown | %s |\n", fmt_count(n1, unk));
    if (r->served_by_method) {
        w_f(&w, "| origin told by | %s |\n", served_by_text(r, line, sizeof(line)));
        if (r->served_by_uncertain)
            w_f(&w,
                "| uncertain origin | %s probes, attributed near a change of the primary's "
                "health |\n",
                fmt_count(n1, r->served_by_uncertain));
    }
    if (r->requested_at && r->event_started_at && strcmp(r->requested_at, r->event_started_at))
        w_f(&w, "| %s requested | %s (the primary changed %s later) |\n",
            is_outage(r) ? "fault" : "resume", r->requested_at,
            fmt_dur(a, r->event_s - r->requested_s));
    if (is_outage(r)) {
        const struct drill_outage_figures *g = &r->outage;
        if (g->failover_seconds >= 0)
            w_f(&w, "| failover | %s after the outage started |\n",
                fmt_dur(a, g->failover_seconds));
        else
            w_s(&w, "| failover | did not fail over |\n");
        if (g->steady_seconds >= 0)
            w_f(&w,
                "| steady on the secondary | every answer arriving %.0f\xe2\x80\x93%.0f s after "
                "the "
                "outage started came from the secondary (the first such second) |\n",
                g->steady_seconds, g->steady_seconds + 1);
        else
            w_s(&w, "| steady on the secondary | never (no whole second served only by the "
                    "secondary) |\n");
        w_f(&w, "| latency before (p50 / p99 / max) | %s / %s / %s (%s probes) |\n",
            fmt_dur(a, g->before.count ? g->before.p50_s : -1),
            fmt_dur(b, g->before.count ? g->before.p99_s : -1),
            fmt_dur(c, g->before.count ? g->before.max_s : -1), fmt_count(n1, g->before.count));
        w_f(&w, "| latency during (p50 / p99 / max) | %s / %s / %s (%s probes) |\n",
            fmt_dur(a, g->during.count ? g->during.p50_s : -1),
            fmt_dur(b, g->during.count ? g->during.p99_s : -1),
            fmt_dur(c, g->during.count ? g->during.max_s : -1), fmt_count(n1, g->during.count));
    } else {
        const struct drill_failback_figures *g = &r->failback;
        if (g->failback_seconds >= 0)
            w_f(&w, "| failback | %s after the resume started |\n",
                fmt_dur(a, g->failback_seconds));
        else
            w_s(&w, "| failback | the primary did not serve again |\n");
        w_f(&w, "| latency (p50 / p99 / max) | %s / %s / %s (%s probes) |\n",
            fmt_dur(a, g->latency.count ? g->latency.p50_s : -1),
            fmt_dur(b, g->latency.count ? g->latency.p99_s : -1),
            fmt_dur(c, g->latency.count ? g->latency.max_s : -1), fmt_count(n1, g->latency.count));
    }
    if (r->alert_seconds >= 0)
        w_f(&w, "| first notification | %s after the %s started%s%s%s |\n",
            fmt_dur(a, r->alert_seconds), is_outage(r) ? "outage" : "resume",
            r->alert_target ? " (" : "", r->alert_target ? r->alert_target : "",
            r->alert_target ? ")" : "");
    else if (r->alert_note) {
        w_s(&w, "| first notification | none: ");
        w_md(&w, r->alert_note);
        w_s(&w, " |\n");
    }
    for (size_t i = 0; i < f.ncauses; i++)
        w_f(&w, "| errors: %s | %s |\n", fmt_cause(line, sizeof(line), &f.causes[i]),
            fmt_count(n1, f.causes[i].count));
    if (f.other_errors)
        w_f(&w, "| errors: other causes | %s |\n", fmt_count(n1, f.other_errors));

    w_f(&w,
        "\n## Failover budget\n\nOrigin settings: %d connection attempts, %s connection "
        "timeout, %s response timeout. CloudFront keeps no memory of a failed primary: "
        "every request during an outage pays this again.\n\n",
        r->budget.connection_attempts, fmt_dur(a, r->budget.connection_timeout_s),
        fmt_dur(b, r->budget.response_timeout_s));
    if (is_outage(r))
        w_s(&w, "| primary outage | each request pays | budget | measured in this drill |\n"
                "|---|---|---|---|\n");
    else
        w_s(&w, "A failback injects no fault: this is what the next outage will cost.\n\n"
                "| primary outage | each request pays | budget |\n|---|---|---|\n");
    for (int k = 0; k < DRILL_BUDGET_NKINDS; k++) {
        char cost[160], meas[160];
        int here = k == f.applies;
        budget_text(cost, sizeof(cost), r, &f, k);
        if (here)
            measured_text(meas, sizeof(meas), r, &f);
        w_f(&w, "| %s%s%s | %s | %s |", here ? "**" : "", budget_rows[k].outage,
            here ? "** (this drill)" : "", budget_rows[k].pays, cost);
        if (is_outage(r))
            w_f(&w, " %s |", here ? meas : "");
        w_s(&w, "\n");
    }
    if (f.round_trip_s >= 0)
        w_f(&w,
            "\nA primary round trip is estimated as the median latency of the primary's "
            "successful answers (%s).\n",
            fmt_dur(a, f.round_trip_s));
    if (is_outage(r) && f.applies == DRILL_BUDGET_BLACKHOLE)
        w_s(&w, "\nA request that rides a connection to the primary opened before the outage (the "
                "edge, like CloudFront, keeps origin connections open) first waits the response "
                "timeout, then pays the connection attempts: such a viewer waits longer than the "
                "budget (the maximum above).\n");
    w_s(&w, "\n");
    if (w.rc == CFDR_OK)
        CFDR_TRY(md_timeline(&w, r, &f, err));
    w_s(&w, "## What the numbers mean\n\n");
    w_s(&w, meaning_text(r));
    w_s(&w, "\n");
    return w_done(&w, "Markdown", err);
}

/* ------------------------------------------------------------------------------------------
 * HTML with an SVG timeline.
 */

/* Chart geometry, in SVG user units (the chart scales to the page width). */
#define SVG_W 1000
#define SVG_H 452
#define PLOT_L 74.0
#define PLOT_R 984.0
#define BAND_T 34.0 /* the error band, above the latency plot */
#define BAND_B 56.0
#define PLOT_T 66.0
#define PLOT_B 392.0
#define LAT_MIN_S 0.001

struct chart {
    double x_end;            /* seconds at the right edge */
    int labels_low;          /* marker labels at the bottom: the top is where the probes are */
    double lat_top_s;        /* latency at the top edge: 60 s, or 180 s when needed */
    double log_lo, log_span; /* log10 range of the y axis */
};

static double chart_x(const struct chart *c, double t)
{
    if (!isfinite(t) || t < 0)
        t = 0;
    if (t > c->x_end)
        t = c->x_end;
    return PLOT_L + t / c->x_end * (PLOT_R - PLOT_L);
}

static double chart_y(const struct chart *c, double latency_s)
{
    double l;
    if (!isfinite(latency_s) || latency_s < LAT_MIN_S)
        latency_s = LAT_MIN_S;
    if (latency_s > c->lat_top_s)
        latency_s = c->lat_top_s;
    l = (log10(latency_s) - c->log_lo) / c->log_span;
    return PLOT_B - l * (PLOT_B - PLOT_T);
}

/* A tick step of 1, 2 or 5 times a power of ten giving at most ~12 ticks. */
static double nice_step(double span)
{
    double raw = span / 10, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

static void svg_marker(struct w *w, const struct chart *c, double t, const char *cls,
                       const char *label, int slot)
{
    char x[32], ty[32];
    double xv = chart_x(c, t);
    int right = xv > PLOT_R - 170;
    fmt_fixed(x, xv, 1);
    fmt_fixed(ty, c->labels_low ? PLOT_B - 24 - 15 * slot : PLOT_T + 14 + 15 * slot, 1);
    w_f(w, "<line class=\"mark %s\" x1=\"%s\" y1=\"%.0f\" x2=\"%s\" y2=\"%.0f\"/>", cls, x, BAND_T,
        x, PLOT_B);
    w_f(w, "<text class=\"mlabel %s\" x=\"%s\" y=\"%s\" text-anchor=\"%s\" dx=\"%s\">", cls, x, ty,
        right ? "end" : "start", right ? "-5" : "5");
    w_html(w, label);
    w_s(w, "</text>");
}

/* One SVG element per probe, with as little markup as possible: a drill of 1,000 probes/s for
 * 300 s draws 300,000 of them. Errors are crosses in the band above the plot. */
static void svg_probes(struct w *w, const struct drill_report *r, const struct chart *c)
{
    const char *radius = r->nprobes <= 2000 ? "2.6" : r->nprobes <= 20000 ? "1.8" : "1.2";
    double arm = r->nprobes <= 2000 ? 3 : 2;
    char line[160], x[32], y[32];

    w_f(w, "<g class=\"probes%s\">", r->nprobes > 20000 ? " dense" : "");
    for (size_t i = 0; i < r->nprobes; i++) {
        const struct drill_probe *p = &r->probes[i];
        int len;
        if (drill_probe_is_error(p)) {
            fmt_fixed(x, chart_x(c, p->sent_s) - arm, 1);
            fmt_fixed(y, (BAND_T + BAND_B) / 2 - arm, 1);
            len = snprintf(line, sizeof(line),
                           "<path class=\"probe error\" d=\"M%s %sl%g %gm0-%gl-%g %g\"/>\n", x, y,
                           2 * arm, 2 * arm, 2 * arm, 2 * arm, 2 * arm);
        } else {
            fmt_fixed(x, chart_x(c, p->sent_s), 1);
            fmt_fixed(y, chart_y(c, p->latency_s), 1);
            len = snprintf(line, sizeof(line),
                           "<circle class=\"probe %s\" cx=\"%s\" cy=\"%s\" r=\"%s\"/>\n",
                           origin_name(p->served_by), x, y, radius);
        }
        if (len < 0 || (size_t)len >= sizeof(line)) {
            if (w->rc == CFDR_OK)
                w->rc = CFDR_E_INTERNAL;
            return;
        }
        w_add(w, line, (size_t)len);
        if (w->rc != CFDR_OK)
            return;
    }
    w_s(w, "</g>");
}

static void svg_chart(struct w *w, const struct drill_report *r, const struct facts *f)
{
    static const struct {
        double s;
        const char *label;
    } yticks[] = {{0.001, "1 ms"}, {0.01, "10 ms"}, {0.1, "100 ms"}, {1, "1 s"},
                  {10, "10 s"},    {60, "60 s"},    {180, "180 s"}};
    struct chart c;
    double step, shade_end, budget_s;
    char x0[32], x1[32], y[32], label[96], d[48];
    int slot = 0;

    c.lat_top_s =
        f->max_latency_s > 60 || (f->applies >= 0 && f->cost_s[f->applies] > 60) ? 180 : 60;
    step = nice_step(f->end_s);
    c.x_end = ceil(f->end_s / step) * step;
    if (c.x_end <= 0)
        c.x_end = 1;
    c.log_lo = log10(LAT_MIN_S);
    c.log_span = log10(c.lat_top_s) - c.log_lo;
    /* Slow outages (blackhole, hung) put the probes high up: label the markers low. */
    c.labels_low = is_outage(r) && r->outage.during.count > 0 && r->outage.during.p50_s >= 2;

    w_f(w,
        "<svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\">"
        "<title>Latency of every probe over time, coloured by the origin "
        "that served it</title>\n",
        SVG_W, SVG_H);
    /* The window of the event: the outage, or the resume until the primary served again. */
    if (is_outage(r))
        shade_end = r->event_end_s >= 0 ? r->event_end_s : c.x_end;
    else
        shade_end = r->event_end_s >= 0    ? r->event_end_s
                    : rep_switch_s(r) >= 0 ? r->event_s + rep_switch_s(r)
                                           : c.x_end;
    fmt_fixed(x0, chart_x(&c, r->event_s), 1);
    fmt_fixed(x1, chart_x(&c, shade_end) - chart_x(&c, r->event_s), 1);
    w_f(w, "<rect class=\"shade\" x=\"%s\" y=\"%.0f\" width=\"%s\" height=\"%.0f\"/>", x0, BAND_T,
        x1, PLOT_B - BAND_T);
    w_f(w, "<text class=\"slabel\" x=\"%s\" y=\"%.0f\" dx=\"5\">%s</text>\n", x0, PLOT_B - 8,
        is_outage(r) ? "outage" : "resuming");
    /* The error band. */
    w_f(w, "<rect class=\"band\" x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\"/>", PLOT_L,
        BAND_T, PLOT_R - PLOT_L, BAND_B - BAND_T);
    w_f(w,
        "<text class=\"axis\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\" dx=\"-8\">errors</text>\n",
        PLOT_L, (BAND_T + BAND_B) / 2 + 4);
    if (rep_errors(r) == 0)
        w_f(w,
            "<text class=\"none\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">no "
            "viewer-visible errors</text>\n",
            (PLOT_L + PLOT_R) / 2, (BAND_T + BAND_B) / 2 + 4);
    /* Axes, grid and ticks. */
    for (size_t i = 0; i < sizeof(yticks) / sizeof(yticks[0]); i++) {
        if (yticks[i].s > c.lat_top_s)
            break;
        fmt_fixed(y, chart_y(&c, yticks[i].s), 1);
        w_f(w, "<line class=\"grid\" x1=\"%.0f\" y1=\"%s\" x2=\"%.0f\" y2=\"%s\"/>", PLOT_L, y,
            PLOT_R, y);
        w_f(w,
            "<text class=\"axis\" x=\"%.0f\" y=\"%s\" dx=\"-8\" dy=\"4\" "
            "text-anchor=\"end\">%s</text>\n",
            PLOT_L, y, yticks[i].label);
    }
    for (int i = 0; i * step <= c.x_end + step / 1000; i++) {
        char tl[32];
        fmt_fixed(x0, chart_x(&c, i * step), 1);
        fmt_fixed(tl, i * step, 3);
        w_f(w, "<line class=\"grid\" x1=\"%s\" y1=\"%.0f\" x2=\"%s\" y2=\"%.0f\"/>", x0, PLOT_T, x0,
            PLOT_B);
        w_f(w, "<text class=\"axis\" x=\"%s\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n", x0,
            PLOT_B + 18, tl);
    }
    w_f(w, "<line class=\"frame\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>", PLOT_L,
        PLOT_B, PLOT_R, PLOT_B);
    w_f(w, "<line class=\"frame\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>\n", PLOT_L,
        PLOT_T, PLOT_L, PLOT_B);
    w_f(w,
        "<text class=\"title\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">seconds since "
        "the start (each probe at the time it was sent)</text>\n",
        (PLOT_L + PLOT_R) / 2, PLOT_B + 44);
    w_f(w,
        "<text class=\"title\" transform=\"rotate(-90)\" x=\"%.0f\" y=\"16\" "
        "text-anchor=\"middle\">latency (log scale)</text>\n",
        -(PLOT_T + PLOT_B) / 2);
    svg_probes(w, r, &c);
    /* Levels and markers last, so they stay readable over dense marks. */
    /* The budget that applies, as a level the during-outage latency can be compared with. */
    budget_s = f->applies >= 0 ? f->cost_s[f->applies] : -1;
    if (budget_s >= LAT_MIN_S) {
        fmt_fixed(y, chart_y(&c, budget_s), 1);
        w_f(w, "<line class=\"budget\" x1=\"%.0f\" y1=\"%s\" x2=\"%.0f\" y2=\"%s\"/>", PLOT_L, y,
            PLOT_R, y);
        /* Labelled below the line at its right end: requests pay at least the budget, so the
         * measured latency sits on or above it and the space below is free. */
        w_f(w,
            "<text class=\"blabel\" x=\"%.0f\" y=\"%s\" dy=\"15\" text-anchor=\"end\">"
            "budget %s</text>\n",
            PLOT_R - 4, y, fmt_dur(d, budget_s));
    }
    if (rep_switch_s(r) >= 0) {
        snprintf(label, sizeof(label), "%s +%s", switch_name(r), fmt_dur(d, rep_switch_s(r)));
        svg_marker(w, &c, r->event_s + rep_switch_s(r), "switch", label, slot++);
    }
    if (is_outage(r) && r->outage.steady_seconds >= 0) {
        snprintf(label, sizeof(label), "steady +%s", fmt_secs(d, r->outage.steady_seconds));
        svg_marker(w, &c, r->event_s + r->outage.steady_seconds, "steady", label, slot++);
    }
    if (r->alert_seconds >= 0) {
        snprintf(label, sizeof(label), "first alert +%s", fmt_dur(d, r->alert_seconds));
        svg_marker(w, &c, r->event_s + r->alert_seconds, "alert", label, slot++);
    }
    w_s(w, "</svg>\n");
}

static const char html_css[] =
    ":root{--ink:#1b2230;--muted:#5a6475;--line:#dde2ea;--bg:#f4f6f9;--card:#fff;"
    "--pri:#0072b2;--sec:#e69f00;--unk:#8a8f98;--err:#d55e00;--pass:#1a7f37;--fail:#b42318;"
    "--hl:#fff3cd}\n"
    "*{box-sizing:border-box}\n"
    "html{-webkit-text-size-adjust:100%}\n"
    "body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"
    "'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}\n"
    "main{max-width:1120px;margin:0 auto;padding:28px 24px 40px}\n"
    "header{display:flex;gap:20px;align-items:flex-start;justify-content:space-between;"
    "margin-bottom:18px}\n"
    ".eyebrow{margin:0;color:var(--muted);font-size:13px;letter-spacing:.08em;"
    "text-transform:uppercase}\n"
    "h1{margin:2px 0 6px;font-size:28px;line-height:1.2;font-weight:700;overflow-wrap:anywhere}\n"
    ".verdict{margin:0;font-size:16px;max-width:70ch}\n"
    ".badge{flex:none;display:inline-block;padding:8px 18px;border-radius:8px;color:#fff;"
    "font-weight:800;font-size:20px;letter-spacing:.08em}\n"
    ".badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}\n"
    ".partial{margin:0 0 16px;padding:10px 14px;border-radius:8px;background:var(--hl);"
    "border:1px solid #e5c76b}\n"
    ".meta{display:grid;grid-template-columns:max-content 1fr max-content 1fr;gap:4px 14px;"
    "margin:0 0 18px;font-size:14px}\n"
    ".meta dt{color:var(--muted)}.meta dd{margin:0;overflow-wrap:anywhere}\n"
    ".cards{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin-bottom:16px}\n"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:10px;"
    "padding:12px 16px}\n"
    ".card .k{color:var(--muted);font-size:13px}\n"
    ".card .v{font-size:26px;font-weight:700;font-variant-numeric:tabular-nums}\n"
    ".card .s{color:var(--muted);font-size:13px}\n"
    ".card.bad .v{color:var(--fail)}\n"
    "section{background:var(--card);border:1px solid var(--line);border-radius:10px;"
    "padding:16px 20px;margin-top:16px}\n"
    "h2{margin:0 0 10px;font-size:18px}\n"
    "p{margin:0 0 10px}\n"
    ".muted{color:var(--muted);font-size:14px}\n"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}\n"
    "th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);"
    "vertical-align:top}\n"
    "th{color:var(--muted);font-weight:600;font-size:13px}\n"
    "tbody tr:last-child td{border-bottom:0}\n"
    "tr.applies td{background:var(--hl);font-weight:600}\n"
    ".tag{display:inline-block;margin-left:6px;padding:0 6px;border-radius:4px;"
    "background:var(--ink);color:#fff;font-size:11px;font-weight:700;vertical-align:1px}\n"
    "td.num{white-space:nowrap}\n"
    "svg.chart{display:block;width:100%;height:auto}\n"
    "svg text{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;"
    "font-size:12px;fill:var(--muted)}\n"
    "svg .title{font-size:13px;fill:var(--ink)}\n"
    ".grid{stroke:#e7ebf0;stroke-width:1}\n"
    ".frame{stroke:#9aa3b2;stroke-width:1}\n"
    ".band{fill:#fbf1ea;stroke:#f0d9c8}\n"
    ".shade{fill:#8a8f98;fill-opacity:.12}\n"
    ".slabel{font-weight:600;fill:#5a6475}\n"
    ".budget{stroke:#1b2230;stroke-width:1.2;stroke-dasharray:6 4}\n"
    ".blabel{fill:var(--ink);font-weight:600}\n"
    ".blabel,.mlabel,.slabel{paint-order:stroke;stroke:#fff;stroke-width:3px;"
    "stroke-linejoin:round}\n"
    ".none{fill:#b9a89a;font-size:11px}\n"
    ".mark{stroke-width:1.5;stroke-dasharray:4 3}\n"
    ".mark.switch{stroke:#009e73}.mlabel.switch{fill:#007a5a;font-weight:600}\n"
    ".mark.steady{stroke:#5a6475}.mlabel.steady{fill:#3d4452}\n"
    ".mark.alert{stroke:#cc79a7}.mlabel.alert{fill:#a1487c;font-weight:600}\n"
    ".probe.primary{fill:var(--pri)}.probe.secondary{fill:var(--sec)}"
    ".probe.unknown{fill:var(--unk)}\n"
    ".probe.error{stroke:var(--err);stroke-width:1.6;fill:none}\n"
    ".probes circle{fill-opacity:.8}.probes.dense circle{fill-opacity:.45}\n"
    ".legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:8px 0 0;padding:0;"
    "list-style:none;font-size:13px}\n"
    ".legend li{display:flex;align-items:center;gap:6px}\n"
    ".sw{display:inline-block;width:11px;height:11px;border-radius:50%}\n"
    ".sw.primary{background:var(--pri)}.sw.secondary{background:var(--sec)}"
    ".sw.unknown{background:var(--unk)}\n"
    ".sw.error{border-radius:0;background:none;color:var(--err);font-weight:800;width:auto;"
    "height:auto;line-height:1}\n"
    ".sw.shade{border-radius:2px;background:rgba(138,143,152,.25);width:18px}\n"
    ".sw.line{border-radius:0;height:0;width:18px;border-top:2px dashed #009e73}\n"
    ".sw.budget{border-top-color:#1b2230}.sw.steady{border-top-color:#5a6475}"
    ".sw.alert{border-top-color:#cc79a7}\n"
    "footer{margin-top:18px;color:var(--muted);font-size:12px}\n"
    "@media (max-width:760px){.cards{grid-template-columns:repeat(2,1fr)}"
    ".meta{grid-template-columns:max-content 1fr}}\n"
    "@media print{@page{margin:14mm}body{background:#fff;font-size:12px}"
    "main{max-width:none;padding:0}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
    "section,.card{break-inside:avoid;border-color:#c9ced6}}\n";

static void html_card(struct w *w, const char *key, const char *value, const char *sub, int bad)
{
    w_f(w, "<div class=\"card%s\"><div class=\"k\">", bad ? " bad" : "");
    w_html(w, key);
    w_s(w, "</div><div class=\"v\">");
    w_html(w, value);
    w_s(w, "</div><div class=\"s\">");
    w_html(w, sub);
    w_s(w, "</div></div>\n");
}

static void html_row(struct w *w, const char *key, const char *value)
{
    w_s(w, "<tr><td>");
    w_html(w, key);
    w_s(w, "</td><td>");
    w_html(w, value);
    w_s(w, "</td></tr>\n");
}

static void html_meta(struct w *w, const char *key, const char *value)
{
    w_s(w, "<dt>");
    w_html(w, key);
    w_s(w, "</dt><dd>");
    w_html(w, value);
    w_s(w, "</dd>");
}

static void html_latency_row(struct w *w, const char *key, const struct drill_latency *l)
{
    char v[160], a[48], b[48], c[48], n[32];
    if (l->count)
        snprintf(v, sizeof(v), "%s / %s / %s (%s probes)", fmt_dur(a, l->p50_s),
                 fmt_dur(b, l->p99_s), fmt_dur(c, l->max_s), fmt_count(n, l->count));
    else
        snprintf(v, sizeof(v), "no probes");
    html_row(w, key, v);
}

static void html_cards(struct w *w, const struct drill_report *r)
{
    char v[64], s[160], a[48], n1[32], n2[32];
    size_t probes = is_outage(r) ? r->outage.probes : r->failback.probes;
    size_t prim = is_outage(r) ? r->outage.served_primary : r->failback.served_primary;
    size_t sec = is_outage(r) ? r->outage.served_secondary : r->failback.served_secondary;

    w_s(w, "<div class=\"cards\">\n");
    if (rep_switch_s(r) >= 0) {
        snprintf(s, sizeof(s), "after the %s started", is_outage(r) ? "outage" : "resume");
        html_card(w, is_outage(r) ? "Failover" : "Failback", fmt_dur(a, rep_switch_s(r)), s, 0);
    } else {
        html_card(w, is_outage(r) ? "Failover" : "Failback", "none",
                  is_outage(r) ? "the secondary never served" : "the primary never served", 1);
    }
    html_card(w, "Viewer-visible errors", fmt_count(v, rep_errors(r)),
              "probes without a 2xx/3xx in time", rep_errors(r) > 0);
    if (is_outage(r)) {
        if (r->outage.steady_seconds >= 0) {
            snprintf(s, sizeof(s), "%.0f\xe2\x80\x93%.0f s", r->outage.steady_seconds,
                     r->outage.steady_seconds + 1);
            html_card(w, "Steady on secondary", s, "first whole second all-secondary", 0);
        } else {
            html_card(w, "Steady on secondary", "never", "no whole second all-secondary", 1);
        }
    } else {
        const struct drill_latency *l = &r->failback.latency;
        snprintf(s, sizeof(s), "p99 %s", l->count ? fmt_dur(a, l->p99_s) : "\xe2\x80\x94");
        html_card(w, "Latency p50", l->count ? fmt_dur(v, l->p50_s) : "\xe2\x80\x94", s, 0);
    }
    snprintf(s, sizeof(s), "%s primary \xc2\xb7 %s secondary", fmt_count(n1, prim),
             fmt_count(n2, sec));
    html_card(w, "Probes", fmt_count(v, probes), s, 0);
    w_s(w, "</div>\n");
}

static void html_summary(struct w *w, const struct drill_report *r, const struct facts *f)
{
    char v[256], a[48], n1[32], n2[32];
    size_t probes = is_outage(r) ? r->outage.probes : r->failback.probes;
    size_t prim = is_outage(r) ? r->outage.served_primary : r->failback.served_primary;
    size_t sec = is_outage(r) ? r->outage.served_secondary : r->failback.served_secondary;
    size_t unk = is_outage(r) ? r->outage.served_unknown : r->failback.served_unknown;

    w_s(w, "<section><h2>Summary</h2><table><tbody>\n");
    html_row(w, "result", r->passed ? "PASS" : "FAIL");
    html_row(w, "probes", fmt_count(v, probes));
    html_row(w, "viewer-visible errors", fmt_count(v, rep_errors(r)));
    snprintf(v, sizeof(v), "%s (%s)", fmt_count(n1, prim), fmt_pct(n2, prim, probes));
    html_row(w, "served by the primary", v);
    snprintf(v, sizeof(v), "%s (%s)", fmt_count(n1, sec), fmt_pct(n2, sec, probes));
    html_row(w, "served by the secondary", v);
    html_row(w, "origin unknown", fmt_count(v, unk));
    if (is_outage(r)) {
        if (r->outage.failover_seconds >= 0)
            snprintf(v, sizeof(v), "%s after the outage started",
                     fmt_dur(a, r->outage.failover_seconds));
        else
            snprintf(v, sizeof(v), "did not fail over");
        html_row(w, "failover", v);
        if (r->outage.steady_seconds >= 0)
            snprintf(v, sizeof(v),
                     "every answer arriving %.0f\xe2\x80\x93%.0f s after the outage started came "
                     "from the secondary (the first such second)",
                     r->outage.steady_seconds, r->outage.steady_seconds + 1);
        else
            snprintf(v, sizeof(v), "never");
        html_row(w, "steady on the secondary", v);
        html_latency_row(w, "latency before (p50 / p99 / max)", &r->outage.before);
        html_latency_row(w, "latency during (p50 / p99 / max)", &r->outage.during);
    } else {
        if (r->failback.failback_seconds >= 0)
            snprintf(v, sizeof(v), "%s after the resume started",
                     fmt_dur(a, r->failback.failback_seconds));
        else
            snprintf(v, sizeof(v), "the primary did not serve again");
        html_row(w, "failback", v);
        html_latency_row(w, "latency (p50 / p99 / max)", &r->failback.latency);
    }
    if (r->alert_seconds >= 0) {
        snprintf(v, sizeof(v), "%s after the %s started%s%s%s", fmt_dur(a, r->alert_seconds),
                 is_outage(r) ? "outage" : "resume", r->alert_target ? " (" : "",
                 r->alert_target ? r->alert_target : "", r->alert_target ? ")" : "");
        html_row(w, "first notification", v);
    } else if (r->alert_note) {
        snprintf(v, sizeof(v), "none: %.200s", r->alert_note);
        html_row(w, "first notification", v);
    }
    for (size_t i = 0; i < f->ncauses; i++) {
        char what[192];
        snprintf(v, sizeof(v), "errors: %s", fmt_cause(what, sizeof(what), &f->causes[i]));
        html_row(w, v, fmt_count(n1, f->causes[i].count));
    }
    if (f->other_errors)
        html_row(w, "errors: other causes", fmt_count(n1, f->other_errors));
    w_s(w, "</tbody></table></section>\n");
}

static void html_budget(struct w *w, const struct drill_report *r, const struct facts *f)
{
    char a[48], b[48];
    w_s(w, "<section><h2>Failover budget</h2>\n<p class=\"muted\">");
    w_f(w,
        "Origin settings: %d connection attempts, %s connection timeout, %s response "
        "timeout. CloudFront keeps no memory of a failed primary: every request during an "
        "outage pays this again.",
        r->budget.connection_attempts, fmt_dur(a, r->budget.connection_timeout_s),
        fmt_dur(b, r->budget.response_timeout_s));
    if (!is_outage(r))
        w_s(w, " A failback injects no fault: this is what the next outage will cost.");
    w_f(w,
        "</p>\n<table><thead><tr><th>primary outage</th><th>each request pays</th>"
        "<th>budget</th>%s</tr></thead><tbody>\n",
        is_outage(r) ? "<th>measured in this drill</th>" : "");
    for (int k = 0; k < DRILL_BUDGET_NKINDS; k++) {
        char cost[160], meas[160] = "";
        int here = k == f->applies;
        budget_text(cost, sizeof(cost), r, f, k);
        if (here)
            measured_text(meas, sizeof(meas), r, f);
        w_f(w, "<tr class=\"%s\" data-kind=\"%s\"><td>", here ? "applies" : "other",
            budget_rows[k].key);
        w_html(w, budget_rows[k].outage);
        if (here)
            w_s(w, "<span class=\"tag\">THIS DRILL</span>");
        w_s(w, "</td><td>");
        w_html(w, budget_rows[k].pays);
        w_s(w, "</td><td class=\"num\">");
        w_html(w, cost);
        if (is_outage(r)) {
            w_s(w, "</td><td>");
            w_html(w, meas);
        }
        w_s(w, "</td></tr>\n");
    }
    w_s(w, "</tbody></table>\n");
    if (f->round_trip_s >= 0)
        w_f(w,
            "<p class=\"muted\" style=\"margin:8px 0 0\">A primary round trip is estimated as "
            "the median latency of the primary&#39;s successful answers (%s).</p>\n",
            fmt_dur(a, f->round_trip_s));
    if (is_outage(r) && f->applies == DRILL_BUDGET_BLACKHOLE)
        w_s(w, "<p class=\"muted\" style=\"margin:8px 0 0\">A request that rides a connection to "
               "the primary opened before the outage (the edge, like CloudFront, keeps origin "
               "connections open) first waits the response timeout, then pays the connection "
               "attempts: such a viewer waits longer than the budget (the maximum above).</p>\n");
    w_s(w, "</section>\n");
}

static void html_legend(struct w *w, const struct drill_report *r, const struct facts *f)
{
    w_s(w, "<ul class=\"legend\"><li><span class=\"sw primary\"></span>primary");
    if (r->primary_label) {
        w_s(w, " (");
        w_html(w, r->primary_label);
        w_s(w, ")");
    }
    w_s(w, "</li><li><span class=\"sw secondary\"></span>secondary");
    if (r->secondary_label) {
        w_s(w, " (");
        w_html(w, r->secondary_label);
        w_s(w, ")");
    }
    w_s(w, "</li><li><span class=\"sw unknown\"></span>origin unknown</li>"
           "<li><span class=\"sw error\">\xc3\x97</span>viewer-visible error (error band)</li>");
    w_f(w, "<li><span class=\"sw shade\"></span>%s</li>",
        is_outage(r) ? "outage window" : "resume window");
    w_f(w, "<li><span class=\"sw line\"></span>%s</li>", switch_name(r));
    if (is_outage(r) && r->outage.steady_seconds >= 0)
        w_s(w, "<li><span class=\"sw line steady\"></span>steady</li>");
    if (r->alert_seconds >= 0)
        w_s(w, "<li><span class=\"sw line alert\"></span>first alert</li>");
    if (f->applies >= 0 && f->cost_s[f->applies] >= LAT_MIN_S)
        w_s(w, "<li><span class=\"sw line budget\"></span>budget of this fault</li>");
    w_s(w, "</ul>\n");
}

const char *drill_report_css(void)
{
    return html_css;
}

/* The report itself, from its header to its footer, without the page around it. */
static void html_article(struct w *w, const struct drill_report *r, const struct facts *f)
{
    char n[32];
    w_s(w, "<article class=\"report\">\n<header><div>\n<p class=\"eyebrow\">cfdr ");
    w_s(w, is_outage(r) ? "drill report" : "failback report");
    w_s(w, "</p>\n<h1>");
    w_f(w, "%s \xc2\xb7 ", kind_title(r));
    w_html(w, r->project);
    w_s(w, "</h1>\n<p class=\"verdict\">");
    w_html(w, r->verdict ? r->verdict : (r->passed ? "Passed." : "Failed."));
    w_f(w, "</p>\n</div><div class=\"badge %s\">%s</div></header>\n", r->passed ? "pass" : "fail",
        r->passed ? "\xe2\x9c\x93 PASS" : "\xe2\x9c\x97 FAIL");
    if (r->interrupted)
        w_s(w, "<p class=\"partial\"><strong>Partial report.</strong> The drill was "
               "interrupted before it finished; the figures cover the probes sent until "
               "then.</p>\n");
    w_s(w, "<dl class=\"meta\">");
    html_meta(w, "mode", r->mode);
    html_meta(w, "fault", is_outage(r) ? r->fault : "\xe2\x80\x94 (resume)");
    html_meta(w, "primary", r->primary_label);
    html_meta(w, "secondary", r->secondary_label);
    html_meta(w, "edge", r->edge_url);
    fmt_fixed(n, r->rate, 3);
    w_f(w, "<dt>rate</dt><dd>%s probes/s</dd>", n);
    html_meta(w, "started", r->started_at);
    html_meta(w, is_outage(r) ? "outage began" : "resume began", r->event_started_at);
    if (r->requested_at && r->event_started_at && strcmp(r->requested_at, r->event_started_at))
        html_meta(w, is_outage(r) ? "fault requested" : "resume requested", r->requested_at);
    if (r->served_by_method) {
        char sb[160];
        html_meta(w, "origin told by", served_by_text(r, sb, sizeof(sb)));
        if (r->served_by_uncertain) {
            fmt_count(n, r->served_by_uncertain);
            w_f(w, "<dt>uncertain origin</dt><dd>%s probes</dd>", n);
        }
    }
    w_s(w, "</dl>\n");
    html_cards(w, r);
    w_s(w, "<section class=\"timeline\"><h2>Timeline</h2>\n");
    svg_chart(w, r, f);
    html_legend(w, r, f);
    w_s(w, "</section>\n");
    html_budget(w, r, f);
    html_summary(w, r, f);
    w_s(w, "<section><h2>What the numbers mean</h2>\n<p>");
    w_html(w, meaning_text(r));
    w_s(w, "</p></section>\n<footer>Generated by cfdr " CFDR_VERSION ". Times on the chart are "
           "seconds since the start");
    if (r->started_at) {
        w_s(w, " (");
        w_html(w, r->started_at);
        w_s(w, ")");
    }
    w_f(w, "; %s probes drawn.</footer>\n</article>\n", fmt_count(n, r->nprobes));
}

cfdr_code drill_report_html_article(const struct drill_report *r, struct buf *out, cfdr_err *err)
{
    struct w w = {out, CFDR_OK};
    struct facts f;
    CFDR_TRY(facts_compute(r, &f, err));
    html_article(&w, r, &f);
    return w_done(&w, "HTML", err);
}

cfdr_code drill_report_html(const struct drill_report *r, struct buf *out, cfdr_err *err)
{
    struct w w = {out, CFDR_OK};
    struct facts f;

    CFDR_TRY(facts_compute(r, &f, err));
    w_s(&w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
            "<title>");
    w_f(&w, "%s \xe2\x80\x94 ", kind_title(r));
    w_html(&w, r->project);
    w_f(&w, " \xe2\x80\x94 %s</title>\n<style>\n", r->passed ? "PASS" : "FAIL");
    w_s(&w, html_css);
    w_s(&w, "</style>\n</head>\n<body>\n<main>\n");
    html_article(&w, r, &f);
    w_s(&w, "</main>\n</body>\n</html>\n");
    return w_done(&w, "HTML", err);
}

/* ------------------------------------------------------------------------------------------
 * Files.
 */

static cfdr_code write_one(const char *dir, const char *basename, const char *ext,
                           const struct buf *content, cfdr_err *err)
{
    struct buf path;
    cfdr_code rc;
    buf_init(&path, BUF_MAX_SMALL);
    rc = buf_addf(&path, "%s/%s.%s", dir, basename, ext);
    if (rc)
        rc = err_set(err, rc, "report: the path %s/%s.%s is too long", dir, basename, ext);
    else
        rc = atomicfile_write(buf_str(&path), buf_str(content), buf_len(content), 0644,
                              ATOMICFILE_REPLACE, NULL, err);
    buf_free(&path);
    return rc;
}

cfdr_code drill_report_write(const struct drill_report *r, const char *dir, const char *basename,
                             cfdr_err *err)
{
    struct buf doc;
    json_object *j = NULL;
    const char *js;
    size_t jlen;
    cfdr_code rc;

    if (!dir || !*dir || !basename || !*basename || strchr(basename, '/') ||
        strcmp(basename, ".") == 0 || strcmp(basename, "..") == 0)
        return err_set(err, CFDR_E_INTERNAL,
                       "report: a report needs a directory and a plain file name (got '%s')",
                       basename ? basename : "(none)");
    buf_init(&doc, BUF_MAX_LARGE);
    rc = atomicfile_mkdirs(dir, 0755, err);
    if (rc)
        goto out;
    rc = drill_report_json(r, &j, err);
    if (rc)
        goto out;
    js = json_object_to_json_string_length(
        j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE,
        &jlen);
    if (!js) {
        rc = err_set(err, CFDR_E_NOMEM, "report: out of memory serializing the JSON report");
        goto out;
    }
    rc = buf_add(&doc, js, jlen);
    if (!rc)
        rc = buf_addc(&doc, '\n');
    if (rc) {
        rc = err_set(err, rc, "report: the JSON report does not fit in memory (%zu bytes)", jlen);
        goto out;
    }
    json_object_put(j);
    j = NULL;
    rc = write_one(dir, basename, "json", &doc, err);
    if (rc)
        goto out;
    buf_reset(&doc);
    rc = drill_report_markdown(r, &doc, err);
    if (!rc)
        rc = write_one(dir, basename, "md", &doc, err);
    if (rc)
        goto out;
    buf_reset(&doc);
    rc = drill_report_html(r, &doc, err);
    if (!rc)
        rc = write_one(dir, basename, "html", &doc, err);
out:
    json_object_put(j);
    buf_free(&doc);
    return rc;
}
