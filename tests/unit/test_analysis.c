/* Unit tests for drills/analysis: the figures a drill report states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "drills/analysis.h"

#define EPS 1e-9

/* rate probes/s for `seconds`, outage at outage_s; fill() decides each probe's fate. */
typedef void (*fate_fn)(struct drill_probe *p, double outage_s);

static size_t timeline(struct drill_probe *out, size_t cap, double rate, double seconds,
                       double outage_s, fate_fn fate)
{
    size_t n = 0;
    for (double t = 0; t < seconds - EPS && n < cap; t = (double)n / rate) {
        struct drill_probe *p = &out[n++];
        p->sent_s = t;
        p->error = 0;
        if (t < outage_s) {
            p->status = 200;
            p->latency_s = 0.005;
            p->served_by = DRILL_ORIGIN_PRIMARY;
        } else {
            fate(p, outage_s);
        }
    }
    return n;
}

static void paused(struct drill_probe *p, double outage_s)
{
    (void)outage_s;
    p->status = 200; /* the edge failed over on the 404 */
    p->latency_s = 0.008;
    p->served_by = DRILL_ORIGIN_SECONDARY;
}

static void blackholed(struct drill_probe *p, double outage_s)
{
    (void)outage_s;
    p->status = 200; /* 3 attempts x 10 s, then the secondary */
    p->latency_s = 30.004;
    p->served_by = DRILL_ORIGIN_SECONDARY;
}

static void slow_to_pause(struct drill_probe *p, double outage_s)
{
    /* AWS: PauseService takes a while; the primary serves for 1.5 s more, and during the
     * switch two probes see errors. */
    double since = p->sent_s - outage_s;
    p->status = 200;
    p->latency_s = 0.010;
    p->served_by = since < 1.5 ? DRILL_ORIGIN_PRIMARY : DRILL_ORIGIN_SECONDARY;
    if (since >= 1.5 && since < 1.7) {
        p->status = 502;
        p->served_by = DRILL_ORIGIN_UNKNOWN;
    }
}

static void never_fails_over(struct drill_probe *p, double outage_s)
{
    (void)outage_s;
    p->status = 404; /* no origin group: the viewer sees the paused primary */
    p->latency_s = 0.004;
    p->served_by = DRILL_ORIGIN_PRIMARY;
}

static void test_percentile(void **state)
{
    double v[100];
    (void)state;
    for (int i = 0; i < 100; i++)
        v[i] = (double)(100 - i); /* unsorted on purpose */
    assert_float_equal(drill_percentile(v, 100, 0.50), 50, EPS);
    assert_float_equal(drill_percentile(v, 100, 0.99), 99, EPS);
    assert_float_equal(drill_percentile(v, 100, 1.0), 100, EPS);
    assert_float_equal(drill_percentile(v, 1, 0.99), 100, EPS);
    assert_float_equal(drill_percentile(v, 0, 0.5), 0, EPS);
    assert_float_equal(v[0], 100, EPS); /* the input is not reordered */
}

static void test_pause_fails_over_at_once(void **state)
{
    struct drill_probe p[200];
    struct drill_outage_figures f;
    size_t n = timeline(p, 200, 10, 10, 2.0, paused);
    (void)state;
    assert_int_equal(n, 100);
    assert_int_equal(drill_analyze_outage(p, n, 2.0, &f), 0);
    assert_int_equal(f.probes, 100);
    assert_int_equal(f.client_errors, 0);
    assert_int_equal(f.served_primary, 20);
    assert_int_equal(f.served_secondary, 80);
    assert_true(f.failed_over);
    assert_float_equal(f.failover_seconds, 0.008, 1e-6);
    assert_float_equal(f.steady_seconds, 0, EPS);
    assert_int_equal(f.before.count, 20);
    assert_int_equal(f.during.count, 80);
    assert_float_equal(f.before.p50_s, 0.005, 1e-9);
    assert_float_equal(f.during.p99_s, 0.008, 1e-9);
}

static void test_blackhole_costs_the_connect_budget(void **state)
{
    struct drill_probe p[600];
    struct drill_outage_figures f;
    size_t n = timeline(p, 600, 10, 40, 2.0, blackholed);
    (void)state;
    assert_int_equal(drill_analyze_outage(p, n, 2.0, &f), 0);
    assert_int_equal(f.client_errors, 0);
    assert_true(f.failed_over);
    /* measured on landing: the first viewer served by the secondary waited 30 s */
    assert_float_equal(f.failover_seconds, 30.004, 1e-6);
    assert_float_equal(f.steady_seconds, 30, EPS);
    assert_float_equal(f.during.p50_s, 30.004, 1e-9);
    assert_float_equal(f.during.max_s, 30.004, 1e-9);
}

static void test_slow_switch_with_errors(void **state)
{
    struct drill_probe p[200];
    struct drill_outage_figures f;
    size_t n = timeline(p, 200, 10, 10, 2.0, slow_to_pause);
    (void)state;
    assert_int_equal(drill_analyze_outage(p, n, 2.0, &f), 0);
    assert_int_equal(f.client_errors, 2);   /* sent at 3.5 and 3.6 */
    assert_int_equal(f.served_primary, 35); /* 20 before + 15 during the slow pause */
    assert_int_equal(f.served_secondary, 63);
    assert_int_equal(f.served_unknown, 0);
    /* the first probe served by the secondary was sent at 3.7 and landed 10 ms later */
    assert_float_equal(f.failover_seconds, 1.71, 1e-6);
    /* [2,3) primary, [3,4) mixed with errors, [4,5) all secondary */
    assert_float_equal(f.steady_seconds, 2, EPS);
}

static void test_no_failover(void **state)
{
    struct drill_probe p[200];
    struct drill_outage_figures f;
    size_t n = timeline(p, 200, 10, 5, 2.0, never_fails_over);
    (void)state;
    assert_int_equal(drill_analyze_outage(p, n, 2.0, &f), 0);
    assert_false(f.failed_over);
    assert_float_equal(f.failover_seconds, -1, EPS);
    assert_float_equal(f.steady_seconds, -1, EPS);
    assert_int_equal(f.client_errors, 30);
    assert_int_equal(f.served_primary, 20); /* errors are not "served" */
}

static void test_failback(void **state)
{
    struct drill_probe p[50];
    struct drill_failback_figures f;
    (void)state;
    for (int i = 0; i < 50; i++) {
        p[i].sent_s = i * 0.1;
        p[i].latency_s = 0.006;
        p[i].status = 200;
        p[i].error = 0;
        /* the primary is back from 1.25 s after the resume began at 0 */
        p[i].served_by = p[i].sent_s < 1.25 ? DRILL_ORIGIN_SECONDARY : DRILL_ORIGIN_PRIMARY;
    }
    p[3].status = 0;
    p[3].error = 28; /* a timeout: a viewer-visible error */
    assert_int_equal(drill_analyze_failback(p, 50, 0.0, &f), 0);
    assert_true(f.failed_back);
    assert_float_equal(f.failback_seconds, 1.306, 1e-6);
    assert_int_equal(f.client_errors, 1);
    assert_int_equal(f.served_secondary, 12);
    assert_int_equal(f.served_primary, 37);
    assert_int_equal(f.latency.count, 50);
}

static void test_error_classification(void **state)
{
    struct drill_probe p = {0};
    (void)state;
    p.status = 200;
    assert_false(drill_probe_is_error(&p));
    p.status = 304;
    assert_false(drill_probe_is_error(&p));
    p.status = 404;
    assert_true(drill_probe_is_error(&p));
    p.status = 199;
    assert_true(drill_probe_is_error(&p));
    p.status = 200;
    p.error = 7;
    assert_true(drill_probe_is_error(&p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentile),
        cmocka_unit_test(test_pause_fails_over_at_once),
        cmocka_unit_test(test_blackhole_costs_the_connect_budget),
        cmocka_unit_test(test_slow_switch_with_errors),
        cmocka_unit_test(test_no_failover),
        cmocka_unit_test(test_failback),
        cmocka_unit_test(test_error_classification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
