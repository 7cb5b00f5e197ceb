/* Tests for drills/report_load: a report read back from its JSON renders as the original. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "drills/report.h"
#include "drills/report_load.h"

static void fill(struct drill_report *r, struct drill_probe *p, size_t n, int outage)
{
    memset(r, 0, sizeof(*r));
    for (size_t i = 0; i < n; i++) {
        p[i].sent_s = (double)i / 10.0 + 0.0004; /* not on a millisecond */
        p[i].latency_s = i < 20 ? 0.0021 : 0.0034;
        p[i].status = i == 25 ? 502 : 200;
        p[i].error = i == 30 ? 28 : 0;
        p[i].served_by = i == 25 || i == 30            ? DRILL_ORIGIN_UNKNOWN
                         : (outage ? i < 20 : i >= 20) ? DRILL_ORIGIN_PRIMARY
                                                       : DRILL_ORIGIN_SECONDARY;
    }
    r->kind = outage ? DRILL_REPORT_OUTAGE : DRILL_REPORT_FAILBACK;
    r->mode = "local";
    r->fault = outage ? "pause" : NULL;
    r->project = "dr-demo";
    r->edge_url = "http://127.0.0.1:8080/";
    r->primary_label = "us-east-1 · east";
    r->secondary_label = "us-west-2 · west";
    r->started_at = "2026-11-25T12:00:00.000Z";
    r->event_started_at = "2026-11-25T12:00:02.000Z";
    r->rate = 10;
    r->event_s = 2.0; /* ties with no probe: sends are at x.x004 */
    r->event_end_s = outage ? 5.0 : -1;
    r->probes = p;
    r->nprobes = n;
    r->budget.connection_attempts = 3;
    r->budget.connection_timeout_s = 10;
    r->budget.response_timeout_s = 30;
    r->alert_seconds = outage ? 0.75 : -1;
    /* AWS-like: the primary changed half a second after the request; no header */
    r->requested_s = 1.5;
    r->requested_at = "2026-11-25T12:00:01.500Z";
    r->served_by_method = outage ? "primary-health" : "fingerprint";
    r->served_by_fingerprint = outage ? NULL : "body";
    r->served_by_uncertain = outage ? 2 : 0;
    r->alert_note = outage ? NULL : "no alarms are set up (cfdr --local alarms setup)";
    if (outage)
        assert_int_equal(drill_analyze_outage(p, n, r->event_s, &r->outage), 0);
    else
        assert_int_equal(drill_analyze_failback(p, n, r->event_s, &r->failback), 0);
    r->passed = 0;
    r->verdict = "failover happened, but 2 viewers saw an error";
}

static void round_trip(int outage)
{
    struct drill_probe p[60];
    struct drill_report r;
    struct drill_report_doc d;
    json_object *doc;
    struct buf a, b;
    cfdr_err e;

    fill(&r, p, 60, outage);
    assert_int_equal(drill_report_json(&r, &doc, &e), CFDR_OK);
    assert_int_equal(drill_report_load(doc, &d, &e), CFDR_OK);
    json_object_put(doc); /* the loaded doc holds its own reference */
    assert_int_equal(d.r.kind, r.kind);
    assert_string_equal(d.r.project, "dr-demo");
    assert_string_equal(d.r.primary_label, r.primary_label);
    assert_int_equal(d.r.nprobes, 60);
    assert_int_equal(d.r.passed, 0);
    assert_string_equal(d.r.verdict, r.verdict);
    assert_int_equal(d.r.budget.connection_attempts, 3);
    assert_int_equal(d.probes[25].status, 502);
    assert_int_equal(d.probes[30].error, 28);
    assert_string_equal(d.r.served_by_method, r.served_by_method);
    assert_int_equal(d.r.served_by_uncertain, r.served_by_uncertain);
    assert_string_equal(d.r.requested_at, r.requested_at);
    assert_float_equal(d.r.requested_s, 1.5, 1e-9);
    if (r.served_by_fingerprint)
        assert_string_equal(d.r.served_by_fingerprint, r.served_by_fingerprint);
    else
        assert_null(d.r.served_by_fingerprint);
    if (outage) {
        assert_int_equal(d.r.outage.client_errors, 2);
        assert_int_equal(d.r.outage.served_primary, r.outage.served_primary);
        assert_int_equal(d.r.outage.served_secondary, r.outage.served_secondary);
        assert_float_equal(d.r.outage.failover_seconds, r.outage.failover_seconds, 1e-3);
        assert_float_equal(d.r.outage.steady_seconds, r.outage.steady_seconds, 1e-9);
        assert_float_equal(d.r.alert_seconds, 0.75, 1e-9);
        assert_float_equal(d.r.event_end_s, 5.0, 1e-9);
    } else {
        assert_int_equal(d.r.failback.served_primary, r.failback.served_primary);
        assert_float_equal(d.r.failback.failback_seconds, r.failback.failback_seconds, 1e-3);
        assert_float_equal(d.r.event_end_s, -1, 1e-9);
        assert_string_equal(d.r.alert_note, "no alarms are set up (cfdr --local alarms setup)");
    }
    /* What people read is the same document. */
    buf_init(&a, BUF_MAX_DOC);
    buf_init(&b, BUF_MAX_DOC);
    assert_int_equal(drill_report_markdown(&r, &a, &e), CFDR_OK);
    assert_int_equal(drill_report_markdown(&d.r, &b, &e), CFDR_OK);
    /* the timeline rows round send times; the summary and budget must be identical */
    assert_memory_equal(buf_str(&a), buf_str(&b),
                        (size_t)(strstr(buf_str(&a), "## Timeline") - buf_str(&a)));
    assert_non_null(strstr(buf_str(&a), outage ? "| uncertain origin | 2 probes"
                                               : "| origin told by | fingerprint"));
    assert_non_null(strstr(buf_str(&a), outage ? "| fault requested | 2026-11-25T12:00:01.500Z"
                                               : "| resume requested | 2026-11-25T12:00:01.500Z"));
    buf_reset(&b);
    assert_int_equal(drill_report_html_article(&d.r, &b, &e), CFDR_OK);
    assert_non_null(strstr(buf_str(&b), "origin told by"));
    assert_non_null(strstr(buf_str(&b), "<article class=\"report\">"));
    assert_null(strstr(buf_str(&b), "<html"));
    buf_free(&a);
    buf_free(&b);
    drill_report_doc_free(&d);
    drill_report_doc_free(&d);
}

static void test_outage_round_trip(void **state)
{
    (void)state;
    round_trip(1);
}

static void test_failback_round_trip(void **state)
{
    (void)state;
    round_trip(0);
}

static void test_bad_documents(void **state)
{
    struct drill_report_doc d;
    cfdr_err e;
    json_object *doc;
    (void)state;
    doc = json_tokener_parse("{\"kind\":\"weird\"}");
    assert_int_equal(drill_report_load(doc, &d, &e), CFDR_E_PARSE);
    assert_non_null(strstr(e.msg, "kind"));
    json_object_put(doc);
    doc = json_tokener_parse("{\"kind\":\"outage\",\"result\":\"pass\",\"timeline\":[[1,2,3]]}");
    assert_int_equal(drill_report_load(doc, &d, &e), CFDR_E_PARSE);
    assert_non_null(strstr(e.msg, "timeline[0]"));
    json_object_put(doc);
    assert_int_equal(drill_report_load_file("/nonexistent/report.json", &d, &e), CFDR_E_NOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outage_round_trip),
        cmocka_unit_test(test_failback_round_trip),
        cmocka_unit_test(test_bad_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
