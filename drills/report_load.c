/* report_load: see report_load.h. */
#include "report_load.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aws/atomicfile.h"

#define REPORT_FILE_MAX (256u * 1024u * 1024u)

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *str(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* A number, or fallback when absent or null. */
static double num(json_object *o, const char *key, double fallback)
{
    json_object *v = get(o, key);
    if (!v || !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
        return fallback;
    return json_object_get_double(v);
}

void drill_report_doc_free(struct drill_report_doc *d)
{
    if (!d)
        return;
    json_object_put(d->json);
    free(d->probes);
    memset(d, 0, sizeof(*d));
}

static cfdr_code load_timeline(json_object *tl, struct drill_report_doc *d, cfdr_err *err)
{
    size_t n = json_object_array_length(tl);
    d->probes = calloc(n ? n : 1, sizeof(*d->probes));
    if (!d->probes)
        return err_set(err, CFDR_E_NOMEM, "out of memory reading %zu probes", n);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(tl, i);
        struct drill_probe *p = &d->probes[i];
        const char *origin;
        if (!json_object_is_type(e, json_type_array) || json_object_array_length(e) != 5)
            return err_set(err, CFDR_E_PARSE,
                           "timeline[%zu]: expected [t_s, latency_ms, status, origin, error]", i);
        p->sent_s = json_object_get_double(json_object_array_get_idx(e, 0));
        p->latency_s = json_object_get_double(json_object_array_get_idx(e, 1)) / 1000.0;
        p->status = json_object_get_int(json_object_array_get_idx(e, 2));
        origin = json_object_get_string(json_object_array_get_idx(e, 3));
        p->error = json_object_get_int(json_object_array_get_idx(e, 4));
        p->served_by = origin && strcmp(origin, "primary") == 0     ? DRILL_ORIGIN_PRIMARY
                       : origin && strcmp(origin, "secondary") == 0 ? DRILL_ORIGIN_SECONDARY
                                                                    : DRILL_ORIGIN_UNKNOWN;
    }
    d->r.probes = d->probes;
    d->r.nprobes = n;
    return CFDR_OK;
}

static void latency_as_written(json_object *lat, const char *key, struct drill_latency *l)
{
    json_object *o = lat ? get(lat, key) : NULL;
    if (!o)
        return;
    l->count = (size_t)num(o, "count", (double)l->count);
    l->p50_s = num(o, "p50_ms", l->p50_s * 1e3) / 1e3;
    l->p99_s = num(o, "p99_ms", l->p99_s * 1e3) / 1e3;
    l->max_s = num(o, "max_ms", l->max_s * 1e3) / 1e3;
}

/* The timeline keeps send times to the millisecond: a probe sent a hair before the outage can
 * tie with its start when read back. The figures as written were computed at full precision,
 * so they win over the recomputed ones wherever the report states them. */
static void figures_as_written(json_object *doc, struct drill_report *r)
{
    json_object *lat = get(doc, "latency");
    if (r->kind == DRILL_REPORT_OUTAGE) {
        struct drill_outage_figures *f = &r->outage;
        f->failover_seconds = num(doc, "failover_seconds", -1);
        f->failed_over = f->failover_seconds >= 0;
        f->steady_seconds = num(doc, "steady_seconds", -1);
        latency_as_written(lat, "before", &f->before);
        latency_as_written(lat, "during", &f->during);
    } else {
        struct drill_failback_figures *f = &r->failback;
        f->failback_seconds = num(doc, "failback_seconds", -1);
        f->failed_back = f->failback_seconds >= 0;
        if (lat && get(lat, "count"))
            latency_as_written(doc, "latency", &f->latency);
    }
}

cfdr_code drill_report_load(json_object *doc, struct drill_report_doc *out, cfdr_err *err)
{
    struct drill_report *r = &out->r;
    const char *kind, *result;
    json_object *tl, *origins, *budget;
    int outage;
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    kind = str(doc, "kind");
    result = str(doc, "result");
    tl = get(doc, "timeline");
    if (!kind || (strcmp(kind, "outage") != 0 && strcmp(kind, "failback") != 0))
        return err_set(err, CFDR_E_PARSE, "kind: expected \"outage\" or \"failback\"");
    if (!result || !tl || !json_object_is_type(tl, json_type_array))
        return err_set(err, CFDR_E_PARSE, "%s: missing in the report",
                       !result ? "result" : "timeline");
    out->json = json_object_get(doc);
    outage = strcmp(kind, "outage") == 0;
    r->kind = outage ? DRILL_REPORT_OUTAGE : DRILL_REPORT_FAILBACK;
    r->mode = str(doc, "mode");
    r->fault = outage ? str(doc, "fault") : NULL;
    r->project = str(doc, "project");
    r->edge_url = str(doc, "edge_url");
    origins = get(doc, "origins");
    r->primary_label = origins ? str(origins, "primary") : NULL;
    r->secondary_label = origins ? str(origins, "secondary") : NULL;
    r->started_at = str(doc, "started_at");
    r->rate = num(doc, "rate", 0);
    r->event_s = num(doc, outage ? "outage_started_s" : "resume_started_s", -1);
    r->event_end_s = num(doc, outage ? "outage_ended_s" : "resume_ended_s", -1);
    r->event_started_at = str(doc, outage ? "outage_started_at" : "resume_started_at");
    r->requested_s = num(doc, outage ? "fault_requested_s" : "resume_requested_s", -1);
    r->requested_at = str(doc, outage ? "fault_requested_at" : "resume_requested_at");
    r->served_by_method = str(doc, "served_by_method");
    r->served_by_fingerprint = str(doc, "served_by_fingerprint");
    r->served_by_uncertain = (size_t)num(doc, "served_by_uncertain", 0);
    budget = get(doc, "budget");
    if (budget) {
        r->budget.connection_attempts = (int)num(budget, "connection_attempts", 3);
        r->budget.connection_timeout_s = num(budget, "connection_timeout_s", 10);
        r->budget.response_timeout_s = num(budget, "response_timeout_s", 30);
    }
    r->alert_seconds = num(doc, "alert_seconds", -1);
    r->alert_note = str(doc, "alert_note");
    r->alert_target = str(doc, "alert_target");
    r->passed = strcmp(result, "pass") == 0;
    r->verdict = str(doc, "verdict");
    r->interrupted = json_object_get_boolean(get(doc, "interrupted"));
    if ((rc = load_timeline(tl, out, err))) {
        drill_report_doc_free(out);
        return rc;
    }
    if ((outage ? drill_analyze_outage(out->probes, r->nprobes,
                                       r->event_s >= 0 ? r->event_s : INFINITY, &r->outage)
                : drill_analyze_failback(out->probes, r->nprobes,
                                         r->event_s >= 0 ? r->event_s : INFINITY, &r->failback)) !=
        0) {
        drill_report_doc_free(out);
        return err_set(err, CFDR_E_NOMEM, "out of memory analysing the report");
    }
    figures_as_written(doc, r);
    return CFDR_OK;
}

cfdr_code drill_report_load_file(const char *path, struct drill_report_doc *out, cfdr_err *err)
{
    char *text = NULL;
    size_t len = 0;
    json_object *doc;
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    if ((rc = atomicfile_read(path, REPORT_FILE_MAX, &text, &len, err)))
        return rc;
    doc = json_tokener_parse(text);
    free(text);
    if (!doc)
        return err_set(err, CFDR_E_PARSE, "%s is not a JSON drill report", path);
    rc = drill_report_load(doc, out, err);
    json_object_put(doc);
    if (rc)
        return err_wrap(err, "%s", path);
    return CFDR_OK;
}
