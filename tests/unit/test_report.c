/* Unit tests for drills/report: the JSON keys and values, the Markdown figures, the HTML page
 * (one mark per probe, escaping, nothing external), the budget, the files, and the cost of
 * rendering a 300,000-probe drill.
 *
 * With CFDR_REPORT_OUT set, test_write_samples also leaves sample reports in that directory
 * (tests/e2e/report_chromium.sh opens them in a headless browser). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws/atomicfile.h"
#include "drills/report.h"

#define EPS 1e-9
#define TIMES "\xc3\x97" /* U+00D7, as the reports write "3 x 10 s" */

/* ------------------------------------------------------------------------------------------
 * Synthetic drills.
 */

typedef void (*fate_fn)(struct drill_probe *p, double since_event);

struct sample {
    struct drill_probe *probes;
    struct drill_report r;
};

static void primary_ok(struct drill_probe *p, double since)
{
    (void)since;
    p->status = 200;
    p->latency_s = 0.005;
    p->served_by = DRILL_ORIGIN_PRIMARY;
}

static void paused(struct drill_probe *p, double since)
{
    (void)since;
    p->status = 200; /* the edge failed over on the 404 of the paused service */
    p->latency_s = 0.008;
    p->served_by = DRILL_ORIGIN_SECONDARY;
}

static void blackholed(struct drill_probe *p, double since)
{
    (void)since;
    p->status = 200; /* 3 attempts x 10 s, then the secondary */
    p->latency_s = 30.004;
    p->served_by = DRILL_ORIGIN_SECONDARY;
}

/* An edge without a working origin group for a while: 502s, then timeouts, then failover. */
static void errors_then_secondary(struct drill_probe *p, double since)
{
    if (since < 1.0) {
        p->status = 502;
        p->latency_s = 0.004;
        p->served_by = DRILL_ORIGIN_UNKNOWN;
    } else if (since < 1.5) {
        p->status = 0;
        p->error = 28; /* CURLE_OPERATION_TIMEDOUT */
        p->latency_s = 2.0;
        p->served_by = DRILL_ORIGIN_UNKNOWN;
    } else {
        paused(p, since);
    }
}

/* A realistic spread for the browser's dense sample: a deterministic jitter of latencies, with
 * rare slow outliers; errors as errors_then_secondary. */
static void jittery(struct drill_probe *p, double since)
{
    double u = fmod(p->sent_s * 7919.123, 1.0); /* well spread in [0, 1) */
    errors_then_secondary(p, since);
    if (!drill_probe_is_error(p))
        p->latency_s *= 0.6 + 0.8 * u + (u > 0.995 ? 20 * u : 0);
}

/* Failback: the secondary serves until 5 s after the resume started, then the primary. */
static void resuming(struct drill_probe *p, double since)
{
    if (since < 5.0)
        paused(p, since);
    else
        primary_ok(p, since);
}

static void build(struct sample *s, enum drill_report_kind kind, const char *fault, double rate,
                  double seconds, double event_s, fate_fn fate)
{
    size_t n = (size_t)llround(rate * seconds);
    memset(s, 0, sizeof(*s));
    s->probes = calloc(n ? n : 1, sizeof(*s->probes));
    assert_non_null(s->probes);
    for (size_t i = 0; i < n; i++) {
        struct drill_probe *p = &s->probes[i];
        p->sent_s = (double)i / rate;
        if (p->sent_s < event_s)
            (kind == DRILL_REPORT_OUTAGE ? primary_ok : paused)(p, 0);
        else
            fate(p, p->sent_s - event_s);
    }
    s->r.kind = kind;
    s->r.mode = "local";
    s->r.fault = fault;
    s->r.project = "dr-demo";
    s->r.edge_url = "http://127.0.0.1:8080/";
    s->r.primary_label = "us-east-1 \xc2\xb7 dr-demo-east";
    s->r.secondary_label = "us-west-2 \xc2\xb7 dr-demo-west";
    s->r.started_at = "2025-05-01T12:00:00.000Z";
    s->r.event_started_at = "2025-05-01T12:00:02.000Z";
    s->r.rate = rate;
    s->r.event_s = event_s;
    s->r.event_end_s = -1;
    s->r.probes = s->probes;
    s->r.nprobes = n;
    s->r.budget.connection_attempts = 3;
    s->r.budget.connection_timeout_s = 10;
    s->r.budget.response_timeout_s = 30;
    s->r.alert_seconds = -1;
    if (kind == DRILL_REPORT_OUTAGE) {
        assert_int_equal(drill_analyze_outage(s->probes, n, event_s, &s->r.outage), 0);
        s->r.passed = s->r.outage.failed_over && s->r.outage.client_errors == 0;
    } else {
        assert_int_equal(drill_analyze_failback(s->probes, n, event_s, &s->r.failback), 0);
        s->r.passed = s->r.failback.failed_back && s->r.failback.client_errors == 0;
    }
    s->r.verdict = s->r.passed ? "Failed over with no viewer-visible error."
                               : "Viewers saw errors during the outage.";
}

static void sample_pause(struct sample *s)
{
    build(s, DRILL_REPORT_OUTAGE, "pause", 10, 30, 2, paused);
}

static void sample_blackhole(struct sample *s)
{
    build(s, DRILL_REPORT_OUTAGE, "blackhole", 5, 40, 2, blackholed);
    s->r.alert_seconds = 31.5;
}

static void sample_failback(struct sample *s)
{
    build(s, DRILL_REPORT_FAILBACK, NULL, 10, 20, 1, resuming);
    s->r.event_started_at = "2025-05-01T12:10:01.000Z";
    s->r.verdict = "Traffic returned to the primary with no viewer-visible error.";
}

static void sample_errors(struct sample *s)
{
    build(s, DRILL_REPORT_OUTAGE, "error", 10, 10, 2, errors_then_secondary);
    s->r.event_end_s = 8;
}

static void sample_interrupted(struct sample *s)
{
    build(s, DRILL_REPORT_OUTAGE, "pause", 10, 5, 2, paused);
    s->r.interrupted = 1;
    s->r.passed = 0;
    s->r.verdict = "Interrupted before the drill finished.";
}

static void sample_free(struct sample *s)
{
    free(s->probes);
    s->probes = NULL;
}

/* ------------------------------------------------------------------------------------------
 * Helpers.
 */

/* Follows a dotted path ("budget.costs_s.blackhole"); fails the test if a key is missing. */
static json_object *jget(json_object *o, const char *path)
{
    char key[128];
    const char *p = path;
    while (*p) {
        size_t n = strcspn(p, ".");
        json_object *v = NULL;
        assert_true(n < sizeof(key));
        memcpy(key, p, n);
        key[n] = '\0';
        if (!json_object_object_get_ex(o, key, &v))
            fail_msg("JSON key %s missing (at %s)", path, key);
        o = v;
        p += n + (p[n] == '.');
    }
    return o;
}

static void assert_jstr(json_object *o, const char *path, const char *want)
{
    json_object *v = jget(o, path);
    if (!json_object_is_type(v, json_type_string))
        fail_msg("%s is not a string", path);
    assert_string_equal(json_object_get_string(v), want);
}

static void assert_jint(json_object *o, const char *path, long long want)
{
    json_object *v = jget(o, path);
    if (!json_object_is_type(v, json_type_int))
        fail_msg("%s is not an integer", path);
    assert_int_equal(json_object_get_int64(v), want);
}

static void assert_jnum(json_object *o, const char *path, double want)
{
    json_object *v = jget(o, path);
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        fail_msg("%s is not a number", path);
    if (fabs(json_object_get_double(v) - want) > 1e-9)
        fail_msg("%s is %.17g, expected %.17g", path, json_object_get_double(v), want);
}

static void assert_jnull(json_object *o, const char *path)
{
    if (jget(o, path) != NULL)
        fail_msg("%s is not null", path);
}

static void assert_jbool(json_object *o, const char *path, int want)
{
    json_object *v = jget(o, path);
    if (!json_object_is_type(v, json_type_boolean))
        fail_msg("%s is not a boolean", path);
    assert_int_equal(json_object_get_boolean(v), want);
}

/* Renders r's JSON, serializes it as drill_report_write does and parses it back. */
static json_object *json_roundtrip(const struct drill_report *r, char **text)
{
    json_object *o = NULL, *back;
    cfdr_err e;
    const char *s;
    assert_int_equal(drill_report_json(r, &o, &e), CFDR_OK);
    s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                              JSON_C_TO_STRING_NOSLASHESCAPE);
    assert_non_null(s);
    back = json_tokener_parse(s);
    if (!back)
        fail_msg("the report's JSON does not parse back");
    if (text) {
        *text = strdup(s);
        assert_non_null(*text);
    }
    json_object_put(o);
    return back;
}

static char *render(cfdr_code (*fn)(const struct drill_report *, struct buf *, cfdr_err *),
                    const struct drill_report *r)
{
    struct buf b;
    cfdr_err e;
    buf_init(&b, BUF_MAX_LARGE);
    if (fn(r, &b, &e) != CFDR_OK)
        fail_msg("render failed: %s", e.msg);
    return buf_detach(&b, NULL);
}

/* strstr without libc: with ASan's strict_string_checks every strstr/strchr measures the
 * whole haystack, which makes counting 300,000 marks in a 19 MB page quadratic. */
static const char *find(const char *p, const char *needle)
{
    for (; *p; p++) {
        size_t i = 0;
        while (needle[i] && p[i] == needle[i])
            i++;
        if (!needle[i])
            return p;
    }
    return NULL;
}

static size_t count_str(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = find(hay, needle); p; p = find(p + len, needle))
        n++;
    return n;
}

/* Elements whose class attribute has the word `cls` (and, when given, the word `also`). */
static size_t count_class(const char *html, const char *cls, const char *also)
{
    size_t n = 0;
    for (const char *p = find(html, "class=\""); p; p = find(p, "class=\"")) {
        const char *v = p + 7, *end = find(v, "\"");
        int has = 0, has_also = also == NULL;
        assert_non_null(end);
        while (v < end) {
            size_t len = 0;
            while (v + len < end && v[len] != ' ')
                len++;
            if (len == strlen(cls) && strncmp(v, cls, len) == 0)
                has = 1;
            if (also && len == strlen(also) && strncmp(v, also, len) == 0)
                has_also = 1;
            v += len;
            while (v < end && *v == ' ')
                v++;
        }
        n += has && has_also;
        p = end;
    }
    return n;
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

/* No script, no event-handler attributes, nothing fetched from elsewhere. Every text is
 * escaped, so each '<' opens a real tag; the attributes of every tag are checked. */
static void assert_self_contained(const char *html)
{
    assert_false(contains_ci(html, "<script"));
    assert_false(contains_ci(html, "javascript:"));
    assert_false(contains_ci(html, "@import"));
    assert_false(contains_ci(html, "url("));
    for (const char *p = strchr(html, '<'); p; p = strchr(p, '<')) {
        const char *end = strchr(p, '>');
        char tag[16];
        size_t n = 0;
        assert_non_null(end);
        for (p++; n < sizeof(tag) - 1 && (isalnum((unsigned char)*p) || *p == '!' || *p == '/');)
            tag[n++] = (char)tolower((unsigned char)*p++);
        tag[n] = '\0';
        if (strcmp(tag, "link") == 0 || strcmp(tag, "img") == 0 || strcmp(tag, "iframe") == 0 ||
            strcmp(tag, "object") == 0 || strcmp(tag, "embed") == 0 || strcmp(tag, "image") == 0 ||
            strcmp(tag, "a") == 0 || strcmp(tag, "use") == 0 || strcmp(tag, "base") == 0)
            fail_msg("element <%s> in the page", tag);
        while (p < end) { /* attributes: name="value" */
            const char *name, *val;
            size_t nlen, vlen = 0;
            while (p < end && isspace((unsigned char)*p))
                p++;
            name = p;
            while (p < end && *p != '=' && !isspace((unsigned char)*p))
                p++;
            nlen = (size_t)(p - name);
            val = p;
            if (p < end && *p == '=') {
                char q = *++p;
                assert_true(q == '"'); /* every attribute value is double-quoted */
                val = ++p;
                p = strchr(p, '"');
                assert_non_null(p);
                vlen = (size_t)(p - val);
                p++;
            }
            if (nlen >= 2 && tolower((unsigned char)name[0]) == 'o' &&
                tolower((unsigned char)name[1]) == 'n')
                fail_msg("event handler attribute %.*s", (int)nlen, name);
            if ((nlen == 3 && strncasecmp(name, "src", 3) == 0) ||
                (nlen == 4 && strncasecmp(name, "href", 4) == 0) ||
                (nlen == 10 && strncasecmp(name, "xlink:href", 10) == 0)) {
                char v[256];
                snprintf(v, sizeof(v), "%.*s", (int)vlen, val);
                if (contains_ci(v, "http") || strstr(v, "//"))
                    fail_msg("external reference %.*s=%s", (int)nlen, name, v);
            }
            if (p == name) /* "/" of a self-closing tag */
                p++;
        }
        p = end + 1;
    }
}

/* Every occurrence of tag in md is backslash-escaped, so no renderer sees a raw tag. */
static void assert_md_escaped(const char *md, const char *tag)
{
    size_t n = 0;
    for (const char *p = strstr(md, tag); p; p = strstr(p + 1, tag), n++)
        if (p == md || p[-1] != '\\')
            fail_msg("raw %s in the Markdown", tag);
    assert_true(n > 0);
}

/* Lines inside the Markdown's ``` block. */
static size_t md_timeline_lines(const char *md)
{
    const char *a = strstr(md, "```\n"), *b;
    size_t n = 0;
    assert_non_null(a);
    a += 4;
    b = strstr(a, "```");
    assert_non_null(b);
    for (const char *p = a; p < b; p++)
        n += *p == '\n';
    return n;
}

/* ------------------------------------------------------------------------------------------
 * Tests.
 */

static void test_budget_costs(void **state)
{
    struct drill_budget b = {3, 10, 30};
    double c[DRILL_BUDGET_NKINDS];
    (void)state;

    drill_budget_costs(&b, 0.005, c);
    assert_true(fabs(c[DRILL_BUDGET_ERROR_STATUS] - 0.005) < EPS);
    assert_true(fabs(c[DRILL_BUDGET_REFUSED] - 0.015) < EPS);
    assert_true(fabs(c[DRILL_BUDGET_BLACKHOLE] - 30) < EPS); /* CloudFront's defaults */
    assert_true(fabs(c[DRILL_BUDGET_HUNG] - 90) < EPS);

    b = (struct drill_budget){1, 1, 60};
    drill_budget_costs(&b, -1, c);
    assert_true(c[DRILL_BUDGET_ERROR_STATUS] < 0); /* no round trip known */
    assert_true(c[DRILL_BUDGET_REFUSED] < 0);
    assert_true(fabs(c[DRILL_BUDGET_BLACKHOLE] - 1) < EPS);
    assert_true(fabs(c[DRILL_BUDGET_HUNG] - 60) < EPS);

    b = (struct drill_budget){0, 10, 30};
    drill_budget_costs(&b, 0.005, c);
    assert_true(c[DRILL_BUDGET_REFUSED] < 0 && c[DRILL_BUDGET_BLACKHOLE] < 0 &&
                c[DRILL_BUDGET_HUNG] < 0);

    assert_int_equal(drill_budget_kind_of("pause"), DRILL_BUDGET_ERROR_STATUS);
    assert_int_equal(drill_budget_kind_of("error"), DRILL_BUDGET_ERROR_STATUS);
    assert_int_equal(drill_budget_kind_of("refuse"), DRILL_BUDGET_REFUSED);
    assert_int_equal(drill_budget_kind_of("blackhole"), DRILL_BUDGET_BLACKHOLE);
    assert_int_equal(drill_budget_kind_of("slow"), DRILL_BUDGET_HUNG);
    assert_int_equal(drill_budget_kind_of("flood"), -1);
    assert_int_equal(drill_budget_kind_of(NULL), -1);
    assert_string_equal(drill_budget_kind_name(DRILL_BUDGET_HUNG), "hung");
    assert_null(drill_budget_kind_name(DRILL_BUDGET_NKINDS));
}

static void test_json_pause(void **state)
{
    struct sample s;
    json_object *j, *tl, *e;
    char *text;
    (void)state;
    sample_pause(&s);
    j = json_roundtrip(&s.r, &text);

    assert_jstr(j, "kind", "outage");
    assert_jstr(j, "mode", "local");
    assert_jstr(j, "fault", "pause");
    assert_jstr(j, "project", "dr-demo");
    assert_jstr(j, "edge_url", "http://127.0.0.1:8080/");
    assert_jstr(j, "started_at", "2025-05-01T12:00:00.000Z");
    assert_jstr(j, "outage_started_at", "2025-05-01T12:00:02.000Z");
    assert_jstr(j, "origins.primary", "us-east-1 \xc2\xb7 dr-demo-east");
    assert_jnum(j, "rate", 10);
    assert_jint(j, "probes", 300);
    assert_jint(j, "client_errors", 0);
    assert_jint(j, "served_by.primary", 20);
    assert_jint(j, "served_by.secondary", 280);
    assert_jint(j, "served_by.unknown", 0);
    assert_jbool(j, "failed_over", 1);
    assert_jnum(j, "outage_started_s", 2);
    assert_jnull(j, "outage_ended_s");
    assert_jnum(j, "failover_seconds", 0.008); /* the probe sent at 2.0 s landed at 2.008 s */
    assert_jnum(j, "steady_seconds", 0);
    assert_jnull(j, "alert_seconds");
    assert_jnull(j, "alert_note");
    assert_jint(j, "latency.before.count", 20);
    assert_jnum(j, "latency.before.p50_ms", 5);
    assert_jnum(j, "latency.before.p99_ms", 5);
    assert_jnum(j, "latency.before.max_ms", 5);
    assert_jint(j, "latency.during.count", 280);
    assert_jnum(j, "latency.during.p50_ms", 8);
    assert_jnum(j, "latency.during.p99_ms", 8);
    assert_jstr(j, "result", "pass");
    assert_jstr(j, "verdict", "Failed over with no viewer-visible error.");
    assert_jbool(j, "interrupted", 0);
    assert_int_equal(json_object_array_length(jget(j, "error_causes")), 0);
    /* the budget: error status applies, compared with the during-outage latency */
    assert_jint(j, "budget.connection_attempts", 3);
    assert_jnum(j, "budget.connection_timeout_s", 10);
    assert_jnum(j, "budget.response_timeout_s", 30);
    assert_jnum(j, "budget.round_trip_s", 0.005);
    assert_jnum(j, "budget.costs_s.error_status", 0.005);
    assert_jnum(j, "budget.costs_s.refused", 0.015);
    assert_jnum(j, "budget.costs_s.blackhole", 30);
    assert_jnum(j, "budget.costs_s.hung", 90);
    assert_jstr(j, "budget.applies", "error_status");
    assert_jstr(j, "budget.measured.figure", "latency.during");
    assert_jnum(j, "budget.measured.p50_s", 0.008);
    assert_jnum(j, "budget.measured.p99_s", 0.008);
    /* the timeline: one compact entry per probe, rounded */
    tl = jget(j, "timeline");
    assert_int_equal(json_object_array_length(tl), 300);
    e = json_object_array_get_idx(tl, 3);
    assert_int_equal(json_object_array_length(e), 5);
    assert_true(fabs(json_object_get_double(json_object_array_get_idx(e, 0)) - 0.3) < EPS);
    assert_true(fabs(json_object_get_double(json_object_array_get_idx(e, 1)) - 5) < EPS);
    assert_int_equal(json_object_get_int(json_object_array_get_idx(e, 2)), 200);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(e, 3)), "primary");
    assert_int_equal(json_object_get_int(json_object_array_get_idx(e, 4)), 0);
    e = json_object_array_get_idx(tl, 25);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(e, 3)), "secondary");
    /* numbers are written as rounded, one probe per line, no float noise */
    assert_non_null(strstr(text, "\n    [0.3,5,200,\"primary\",0],\n"));
    assert_non_null(strstr(text, "[2.9,8,200,\"secondary\",0]"));
    assert_null(strstr(text, "0000000"));
    assert_null(strstr(text, "\\/")); /* URLs are not slash-escaped */
    free(text);
    json_object_put(j);
    sample_free(&s);
}

static void test_json_blackhole(void **state)
{
    struct sample s;
    json_object *j;
    (void)state;
    sample_blackhole(&s);
    j = json_roundtrip(&s.r, NULL);
    assert_jstr(j, "fault", "blackhole");
    assert_jint(j, "probes", 200);
    assert_jint(j, "client_errors", 0);
    assert_jnum(j, "failover_seconds", 30.004);
    assert_jnum(j, "alert_seconds", 31.5);
    assert_jnull(j, "alert_note"); /* a note only explains a missing figure */
    assert_jnum(j, "latency.during.p50_ms", 30004);
    assert_jnum(j, "budget.costs_s.blackhole", 30); /* 3 x 10 s */
    assert_jstr(j, "budget.applies", "blackhole");
    assert_jstr(j, "budget.measured.figure", "failover_seconds");
    assert_jnum(j, "budget.measured.seconds", 30.004);
    assert_jstr(j, "result", "pass");
    json_object_put(j);
    sample_free(&s);
}

static void test_json_failback(void **state)
{
    struct sample s;
    json_object *j, *v;
    (void)state;
    sample_failback(&s);
    j = json_roundtrip(&s.r, NULL);
    assert_jstr(j, "kind", "failback");
    assert_jnull(j, "fault");
    assert_jint(j, "probes", 200);
    assert_jint(j, "client_errors", 0);
    assert_jint(j, "served_by.primary", 140);
    assert_jint(j, "served_by.secondary", 60);
    assert_jstr(j, "resume_started_at", "2025-05-01T12:10:01.000Z");
    assert_jnum(j, "resume_started_s", 1);
    assert_jbool(j, "failed_back", 1);
    assert_jnum(j, "failback_seconds", 5.005); /* sent at 6.0 s, landed at 6.005 s */
    assert_jint(j, "latency.count", 200);
    assert_jnum(j, "latency.p50_ms", 5);
    assert_jnum(j, "latency.p99_ms", 8);
    assert_jnull(j, "budget.applies");
    assert_jnull(j, "budget.measured");
    assert_jnum(j, "budget.costs_s.blackhole", 30);
    assert_jstr(j, "result", "pass");
    assert_false(json_object_object_get_ex(j, "failover_seconds", &v));
    assert_false(json_object_object_get_ex(j, "outage_started_at", &v));
    json_object_put(j);
    sample_free(&s);
}

static void test_failed_drill(void **state)
{
    struct sample s;
    json_object *j, *c;
    char *md, *html;
    (void)state;
    sample_errors(&s);
    assert_int_equal(s.r.outage.client_errors, 15); /* 10 x 502, 5 timeouts */
    assert_false(s.r.passed);
    j = json_roundtrip(&s.r, NULL);
    assert_jstr(j, "result", "fail");
    assert_jstr(j, "fault", "error");
    assert_jint(j, "client_errors", 15);
    assert_jint(j, "served_by.unknown", 0);
    assert_jnum(j, "outage_ended_s", 8);
    assert_jnum(j, "failover_seconds", 1.508);
    c = jget(j, "error_causes");
    assert_int_equal(json_object_array_length(c), 2);
    assert_jint(json_object_array_get_idx(c, 0), "status", 502);
    assert_jint(json_object_array_get_idx(c, 0), "count", 10);
    assert_jstr(json_object_array_get_idx(c, 0), "what", "HTTP 502");
    assert_jint(json_object_array_get_idx(c, 1), "error", 28);
    assert_jint(json_object_array_get_idx(c, 1), "count", 5);
    assert_non_null(
        strstr(json_object_get_string(jget(json_object_array_get_idx(c, 1), "what")), "(curl 28)"));
    json_object_put(j);

    md = render(drill_report_markdown, &s.r);
    assert_non_null(strstr(md, "# Outage drill: dr-demo (local, fault error) \xe2\x80\x94 FAIL"));
    assert_non_null(strstr(md, "**FAIL**: Viewers saw errors during the outage."));
    assert_non_null(strstr(md, "| viewer-visible errors | 15 |"));
    assert_non_null(strstr(md, "| errors: HTTP 502 | 10 |"));
    assert_non_null(strstr(md, "(curl 28) | 5 |"));
    assert_non_null(strstr(md, "| failover | 1.508 s after the outage started |"));
    assert_non_null(strstr(md,
                           "| steady on the secondary | every answer arriving 1\xe2\x80\x93"
                           "2 s after "
                           "the outage started came from the secondary (the first such second) |"));
    /* second 2: ten 502s; the row says so */
    assert_non_null(strstr(md, "       2       10      10       0%         0%       4 ms  "
                               "xxxxxxxxxxxxxxxxxxxx  <- outage starts (2 s)\n"));
    assert_non_null(strstr(md, "       3       10       5       0%        50%       8 ms  "
                               "SSSSSSSSSSxxxxxxxxxx  <- failover (3.508 s); steady (3 s)\n"));
    assert_non_null(strstr(md, "outage ends (8 s)"));

    html = render(drill_report_html, &s.r);
    assert_int_equal(count_class(html, "probe", NULL), 100);
    assert_int_equal(count_class(html, "probe", "error"), 15);
    assert_int_equal(count_class(html, "probe", "primary"), 20);
    assert_int_equal(count_class(html, "probe", "secondary"), 65);
    assert_int_equal(count_str(html, "<path class=\"probe error\""), 15);
    assert_non_null(strstr(html, "<div class=\"badge fail\">"));
    assert_null(strstr(html, "badge pass"));
    assert_self_contained(html);
    free(md);
    free(html);
    sample_free(&s);
}

static void test_interrupted(void **state)
{
    struct sample s;
    json_object *j;
    char *md, *html;
    (void)state;
    sample_interrupted(&s);
    j = json_roundtrip(&s.r, NULL);
    assert_jbool(j, "interrupted", 1);
    assert_jstr(j, "result", "fail");
    assert_jint(j, "probes", 50);
    json_object_put(j);
    md = render(drill_report_markdown, &s.r);
    assert_non_null(strstr(md, "> Partial report: the drill was interrupted"));
    assert_non_null(strstr(md, "\xe2\x80\x94 FAIL\n"));
    html = render(drill_report_html, &s.r);
    assert_non_null(strstr(html, "<p class=\"partial\"><strong>Partial report.</strong>"));
    assert_int_equal(count_class(html, "probe", NULL), 50);
    free(md);
    free(html);
    sample_free(&s);
}

/* No notification: alert_seconds is null and alert_note says why, in every format. */
static void test_alert_note(void **state)
{
    struct sample s;
    json_object *j;
    char *md, *html;
    (void)state;
    sample_pause(&s);
    s.r.alert_note = "no alarms are set up (cfdr --local alarms setup)";
    j = json_roundtrip(&s.r, NULL);
    assert_jnull(j, "alert_seconds");
    assert_jstr(j, "alert_note", "no alarms are set up (cfdr --local alarms setup)");
    json_object_put(j);
    md = render(drill_report_markdown, &s.r);
    assert_non_null(strstr(md, "| first notification | none: no alarms are set up (cfdr --local "
                               "alarms setup) |"));
    html = render(drill_report_html, &s.r);
    assert_non_null(strstr(html, "none: no alarms are set up (cfdr --local alarms setup)"));
    free(md);
    free(html);
    sample_free(&s);
}

static void test_markdown(void **state)
{
    struct sample s;
    char *md;
    (void)state;

    sample_pause(&s);
    md = render(drill_report_markdown, &s.r);
    assert_non_null(strstr(md, "# Outage drill: dr-demo (local, fault pause) \xe2\x80\x94 PASS\n"));
    assert_non_null(strstr(md, "| probes | 300 |"));
    assert_non_null(strstr(md, "| viewer-visible errors | 0 |"));
    assert_non_null(strstr(md, "| served by the secondary | 280 (93%) |"));
    assert_non_null(strstr(md, "| failover | 8 ms after the outage started |"));
    assert_non_null(
        strstr(md, "| latency before (p50 / p99 / max) | 5 ms / 5 ms / 5 ms (20 probes) |"));
    assert_non_null(
        strstr(md, "| latency during (p50 / p99 / max) | 8 ms / 8 ms / 8 ms (280 probes) |"));
    assert_non_null(strstr(md, "| **error status (paused, 5xx)** (this drill) | one primary round "
                               "trip | \xe2\x89\x88 5 ms | p50 8 ms, p99 8 ms per request during "
                               "the outage |"));
    assert_non_null(strstr(md, "| blackholed primary | attempts " TIMES
                               " connection timeout | 3 " TIMES " 10 s = 30 s |  |"));
    assert_non_null(strstr(md, "| hung primary | attempts " TIMES " response timeout | 3 " TIMES
                               " 30 s = 90 s |  |"));
    assert_non_null(strstr(md, "## Timeline (per second)"));
    assert_int_equal(md_timeline_lines(md), 31); /* header + seconds 0..29 */
    assert_non_null(strstr(md, "   t (s)   probes  errors  primary  secondary        p50  share\n"
                               "       0       10       0     100%         0%       5 ms  "
                               "PPPPPPPPPPPPPPPPPPPP\n"));
    assert_non_null(strstr(md, "       2       10       0       0%       100%       8 ms  "
                               "SSSSSSSSSSSSSSSSSSSS  <- outage starts (2 s); failover (2.008 s); "
                               "steady (2 s)\n"));
    assert_non_null(strstr(md, "## What the numbers mean\n\nA probe is one viewer request"));
    free(md);
    sample_free(&s);

    sample_blackhole(&s);
    md = render(drill_report_markdown, &s.r);
    assert_non_null(strstr(md, "| **blackholed primary** (this drill) | attempts " TIMES
                               " connection timeout | 3 " TIMES " 10 s = 30 s | failover after "
                               "30.004 s; per request during the outage p50 30.004 s, max "
                               "30.004 s |"));
    assert_non_null(strstr(md, "first waits the response timeout, then pays the connection "
                               "attempts"));
    assert_non_null(strstr(md, "| failover | 30.004 s after the outage started |"));
    assert_non_null(strstr(md, "| first notification | 31.5 s after the outage started |"));
    assert_non_null(strstr(md, "first alert (33.5 s)"));
    free(md);
    sample_free(&s);

    sample_failback(&s);
    md = render(drill_report_markdown, &s.r);
    assert_non_null(strstr(md, "# Failback: dr-demo (local) \xe2\x80\x94 PASS\n"));
    assert_non_null(strstr(md, "| failback | 5.005 s after the resume started |"));
    assert_null(strstr(md, "(this drill)")); /* no fault, no budget row applies */
    assert_non_null(strstr(md, "Every request tries the primary first"));
    free(md);
    sample_free(&s);
}

static void test_html(void **state)
{
    struct sample s;
    char *html;
    (void)state;

    sample_pause(&s);
    html = render(drill_report_html, &s.r);
    assert_true(strncmp(html, "<!DOCTYPE html>\n<html lang=\"en\">", 32) == 0);
    assert_non_null(strstr(html, "</svg>"));
    assert_non_null(strstr(html, "</html>\n"));
    assert_int_equal(count_class(html, "probe", NULL), 300);
    assert_int_equal(count_class(html, "probe", "primary"), 20);
    assert_int_equal(count_class(html, "probe", "secondary"), 280);
    assert_int_equal(count_class(html, "probe", "error"), 0);
    assert_int_equal(count_str(html, "<circle "), 300); /* the legend draws no circles */
    assert_non_null(strstr(html, "<div class=\"badge pass\">"));
    assert_int_equal(count_str(html, "<rect class=\"shade\""), 1);
    assert_int_equal(count_class(html, "mark", "switch"), 1);
    assert_int_equal(count_class(html, "mark", "steady"), 1);
    assert_int_equal(count_class(html, "mark", "alert"), 0);
    assert_int_equal(count_class(html, "applies", NULL), 1);
    assert_non_null(strstr(html, "<tr class=\"applies\" data-kind=\"error_status\">"));
    assert_non_null(strstr(html, "p50 8 ms, p99 8 ms per request during the outage"));
    assert_non_null(strstr(html, "3 " TIMES " 10 s = 30 s"));
    assert_non_null(strstr(html, ">1 ms</text>"));
    assert_non_null(strstr(html, ">60 s</text>"));
    assert_null(strstr(html, ">180 s</text>"));
    assert_non_null(strstr(html, "latency (log scale)"));
    assert_non_null(strstr(html, "seconds since the start"));
    assert_non_null(strstr(html, "class=\"legend\""));
    assert_self_contained(html);
    free(html);
    sample_free(&s);

    sample_blackhole(&s);
    html = render(drill_report_html, &s.r);
    assert_int_equal(count_class(html, "probe", NULL), 200);
    assert_non_null(strstr(html, "<tr class=\"applies\" data-kind=\"blackhole\">"));
    assert_non_null(strstr(html, "failover after 30.004 s"));
    assert_int_equal(count_str(html, "<line class=\"budget\""), 1);
    assert_non_null(strstr(html, ">budget 30 s</text>"));
    assert_int_equal(count_class(html, "mark", "alert"), 1);
    assert_self_contained(html);
    free(html);
    sample_free(&s);

    /* a hung primary's budget (3 x 30 s) is above 60 s: the axis grows to 180 s */
    build(&s, DRILL_REPORT_OUTAGE, "slow", 2, 10, 2, blackholed);
    html = render(drill_report_html, &s.r);
    assert_non_null(strstr(html, ">180 s</text>"));
    assert_non_null(strstr(html, "<tr class=\"applies\" data-kind=\"hung\">"));
    assert_non_null(strstr(html, ">budget 90 s</text>"));
    free(html);
    sample_free(&s);

    /* no probes at all (interrupted at once): still a whole page */
    build(&s, DRILL_REPORT_OUTAGE, "pause", 10, 0, 2, paused);
    html = render(drill_report_html, &s.r);
    assert_int_equal(count_class(html, "probe", NULL), 0);
    assert_non_null(strstr(html, "</html>\n"));
    free(html);
    html = render(drill_report_markdown, &s.r);
    assert_non_null(strstr(html, "| probes | 0 |"));
    free(html);
    sample_free(&s);
}

static void test_escaping(void **state)
{
    static const char evil[] = "<script>alert(\"x\")&'</script>";
    struct sample s;
    json_object *j;
    char *md, *html;
    (void)state;

    sample_errors(&s);
    s.r.project = evil;
    s.r.verdict = "<b>bold</b> & \"quoted\"";
    s.r.primary_label = "us-east-1 <img src=x onerror=alert(1)>";
    s.r.secondary_label = "west | \"two\"";
    s.r.mode = "local";
    s.r.edge_url = "http://127.0.0.1:8080/<x>";

    html = render(drill_report_html, &s.r);
    assert_self_contained(html);
    assert_false(contains_ci(html, "<b>bold"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(&quot;x&quot;)&amp;&#39;&lt;/script&gt;"));
    assert_non_null(strstr(html, "&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;"));
    assert_non_null(strstr(html, "us-east-1 &lt;img src=x onerror=alert(1)&gt;"));
    assert_non_null(strstr(html, "http://127.0.0.1:8080/&lt;x&gt;"));
    assert_int_equal(count_class(html, "probe", NULL), 100);
    free(html);

    md = render(drill_report_markdown, &s.r);
    assert_md_escaped(md, "<script");
    assert_md_escaped(md, "</script");
    assert_md_escaped(md, "<img");
    assert_non_null(strstr(md, "\\<script\\>alert(\"x\")\\&'\\</script\\>"));
    assert_non_null(strstr(md, "west \\| \"two\"")); /* a | cannot split a table cell */
    free(md);

    j = json_roundtrip(&s.r, NULL);
    assert_jstr(j, "project", evil);
    assert_jstr(j, "origins.secondary", "west | \"two\"");
    json_object_put(j);
    sample_free(&s);
}

static void test_errors(void **state)
{
    struct sample s;
    struct drill_report r;
    struct buf b;
    cfdr_err e;
    json_object *j = (json_object *)&e;
    (void)state;

    memset(&r, 0, sizeof(r));
    r.nprobes = 3; /* but no probes */
    assert_int_equal(drill_report_json(&r, &j, &e), CFDR_E_INTERNAL);
    assert_null(j);
    assert_non_null(strstr(e.msg, "3 probes"));
    buf_init(&b, BUF_MAX_SMALL);
    assert_int_equal(drill_report_html(NULL, &b, &e), CFDR_E_INTERNAL);

    /* a page that does not fit says so and how to fix it */
    sample_pause(&s);
    buf_init(&b, 4096);
    assert_int_equal(drill_report_html(&s.r, &b, &e), CFDR_E_TOOBIG);
    assert_non_null(strstr(e.msg, "HTML"));
    assert_non_null(strstr(e.msg, "BUF_MAX_LARGE"));
    buf_free(&b);
    buf_init(&b, 256);
    assert_int_equal(drill_report_markdown(&s.r, &b, &e), CFDR_E_TOOBIG);
    assert_true(buf_len(&b) <= 256);
    buf_free(&b);

    assert_int_equal(drill_report_write(&s.r, "/tmp", "a/b", &e), CFDR_E_INTERNAL);
    assert_int_equal(drill_report_write(&s.r, "/tmp", "..", &e), CFDR_E_INTERNAL);
    assert_int_equal(drill_report_write(&s.r, "", "x", &e), CFDR_E_INTERNAL);
    /* a directory that cannot be created */
    assert_int_equal(drill_report_write(&s.r, "/proc/cfdr-no/such", "x", &e), CFDR_E_IO);
    sample_free(&s);
}

static void write_and_check(const struct drill_report *r, const char *dir, const char *base)
{
    static const char *const ext[] = {"json", "md", "html"};
    char path[1024], *data = NULL;
    size_t len = 0;
    struct stat st;
    cfdr_err e;
    json_object *j;

    if (drill_report_write(r, dir, base, &e) != CFDR_OK)
        fail_msg("drill_report_write: %s", e.msg);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s.%s", dir, base, ext[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);
        assert_true(st.st_size > 100);
    }
    snprintf(path, sizeof(path), "%s/%s.json", dir, base);
    assert_int_equal(atomicfile_read(path, BUF_MAX_LARGE, &data, &len, &e), CFDR_OK);
    assert_true(len > 0 && data[len - 1] == '\n');
    j = json_tokener_parse(data);
    assert_non_null(j);
    assert_jint(j, "probes", (long long)r->nprobes);
    assert_int_equal(json_object_array_length(jget(j, "timeline")), r->nprobes);
    json_object_put(j);
    free(data);
    snprintf(path, sizeof(path), "%s/%s.html", dir, base);
    assert_int_equal(atomicfile_read(path, BUF_MAX_LARGE, &data, &len, &e), CFDR_OK);
    assert_int_equal(count_class(data, "probe", NULL), r->nprobes);
    free(data);
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[1024];
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        assert_int_equal(lstat(path, &st), 0);
        if (S_ISDIR(st.st_mode))
            remove_tree(path);
        else
            assert_int_equal(unlink(path), 0);
    }
    closedir(d);
    assert_int_equal(rmdir(dir), 0);
}

/* Writes every sample; into CFDR_REPORT_OUT when set (kept for the browser test), else into a
 * fresh temporary directory that is removed afterwards. */
static void test_write_samples(void **state)
{
    const char *keep = getenv("CFDR_REPORT_OUT");
    char tmpl[] = "/tmp/cfdr-report-XXXXXX", dir[1024];
    struct sample s;
    (void)state;

    if (keep && *keep) {
        snprintf(dir, sizeof(dir), "%s", keep);
    } else {
        assert_non_null(mkdtemp(tmpl));
        snprintf(dir, sizeof(dir), "%s/nested/reports", tmpl); /* created with its parents */
    }
    sample_pause(&s);
    write_and_check(&s.r, dir, "pause");
    write_and_check(&s.r, dir, "pause"); /* replacing is fine */
    sample_free(&s);
    sample_blackhole(&s);
    write_and_check(&s.r, dir, "blackhole");
    sample_free(&s);
    sample_failback(&s);
    write_and_check(&s.r, dir, "failback");
    sample_free(&s);
    sample_errors(&s);
    s.r.project = "<script>alert(\"x\")&'</script>";
    write_and_check(&s.r, dir, "errors");
    sample_free(&s);
    sample_interrupted(&s);
    write_and_check(&s.r, dir, "interrupted");
    sample_free(&s);
    if (keep && *keep) {
        /* for the browser: a dense drill, 1,000 probes/s for 300 s */
        build(&s, DRILL_REPORT_OUTAGE, "pause", 1000, 300, 2, jittery);
        write_and_check(&s.r, dir, "large");
        sample_free(&s);
    } else {
        remove_tree(tmpl);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1,000 probes/s for 300 s: every probe is still one mark, the page stays under 40 MB and
 * renders in under 2 s; the Markdown timeline stays at 60 rows. */
static void test_large_drill(void **state)
{
    struct sample s;
    struct buf b;
    cfdr_err e;
    double t0, html_s, json_s;
    json_object *j = NULL;
    size_t jlen = 0;
    (void)state;

    build(&s, DRILL_REPORT_OUTAGE, "pause", 1000, 300, 2, errors_then_secondary);
    assert_int_equal(s.r.nprobes, 300000);
    buf_init(&b, BUF_MAX_LARGE);
    t0 = now_s();
    assert_int_equal(drill_report_html(&s.r, &b, &e), CFDR_OK);
    html_s = now_s() - t0;
    print_message("300,000 probes: HTML %.1f MB in %.3f s\n", (double)buf_len(&b) / 1e6, html_s);
    assert_true(buf_len(&b) < 40u * 1000u * 1000u);
    assert_true(html_s < 2.0);
    assert_int_equal(count_class(buf_str(&b), "probe", NULL), 300000);
    assert_int_equal(count_class(buf_str(&b), "probe", "error"), 1500);
    assert_non_null(strstr(buf_str(&b), "<g class=\"probes dense\">"));
    buf_free(&b);

    t0 = now_s();
    assert_int_equal(drill_report_json(&s.r, &j, &e), CFDR_OK);
    assert_non_null(json_object_to_json_string_length(j, JSON_C_TO_STRING_PRETTY, &jlen));
    json_s = now_s() - t0;
    print_message("300,000 probes: JSON %.1f MB in %.3f s\n", (double)jlen / 1e6, json_s);
    assert_true(jlen < 20u * 1000u * 1000u);
    json_object_put(j);

    buf_init(&b, BUF_MAX_DOC);
    assert_int_equal(drill_report_markdown(&s.r, &b, &e), CFDR_OK);
    assert_non_null(strstr(buf_str(&b), "## Timeline (per 5 seconds)"));
    assert_true(md_timeline_lines(buf_str(&b)) <= 62);
    assert_non_null(strstr(buf_str(&b), "     0-4    5,000   1,500      40%        30%       5 ms  "
                                        "PPPPPPPPSSSSSSxxxxxx  <- outage starts (2 s)"));
    assert_non_null(strstr(buf_str(&b), "\n 295-299    5,000       0       0%       100%"));
    buf_free(&b);
    sample_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_budget_costs),   cmocka_unit_test(test_json_pause),
        cmocka_unit_test(test_json_blackhole), cmocka_unit_test(test_json_failback),
        cmocka_unit_test(test_failed_drill),   cmocka_unit_test(test_interrupted),
        cmocka_unit_test(test_markdown),       cmocka_unit_test(test_html),
        cmocka_unit_test(test_alert_note),     cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_errors),         cmocka_unit_test(test_write_samples),
        cmocka_unit_test(test_large_drill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
