/* Tests for drills/prober against a real HTTP server on loopback whose region flips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "drills/analysis.h"
#include "drills/prober.h"
#include "tests/unit/flip_origin.h"

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static void make_prober(struct origin *o, double rate, struct drill_prober **p)
{
    char url[64];
    struct drill_prober_options opt = {0};
    cfdr_err e;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", o->port);
    opt.url = url;
    opt.rate = rate;
    opt.timeout_s = 2;
    opt.served_by_header = "x-region";
    opt.primary_value = "us-east-1";
    opt.secondary_value = "us-west-2";
    assert_int_equal(drill_prober_new(&opt, p, &e), CFDR_OK);
}

static void test_switch_is_measured_within_one_interval(void **state)
{
    struct origin o;
    struct drill_prober *p;
    struct drill_probe_record *recs;
    struct drill_probe *probes;
    struct drill_outage_figures f;
    size_t n, done, errs, prim, sec;
    double switch_s, rate = 50;
    cfdr_err e;
    (void)state;
    origin_start(&o);
    make_prober(&o, rate, &p);
    assert_int_equal(drill_prober_start(p, &e), CFDR_OK);
    sleep_s(0.6);
    switch_s = drill_prober_now(p);
    atomic_store(&o.secondary, 1); /* the true switch */
    sleep_s(0.6);
    assert_int_equal(drill_prober_stop(p, &e), CFDR_OK);
    drill_prober_counts(p, &done, &errs, &prim, &sec);
    assert_int_equal(drill_prober_snapshot(p, &recs, &n, &e), CFDR_OK);
    assert_int_equal(n, done);
    /* about 1.2 s at 50/s: 60 probes (sleeps may overshoot on a loaded machine) */
    assert_in_range(n, 55, 90);
    assert_int_equal(errs, 0);
    assert_int_equal(prim + sec, n);
    probes = calloc(n, sizeof(*probes));
    for (size_t i = 0; i < n; i++) {
        probes[i] = recs[i].probe;
        /* the pacer sends what is due within the next 50 us (prober.c on_pace): a probe may
         * leave up to that much early, never more */
        assert_true(recs[i].lateness_s >= -50e-6 - 1e-9);
        if (i)
            assert_true(recs[i].probe.sent_s >= recs[i - 1].probe.sent_s);
        /* the schedule is i / rate: no probe is skipped */
        assert_true(recs[i].probe.sent_s - recs[i].lateness_s >= (double)i / rate - 1e-9);
    }
    assert_int_equal(drill_analyze_outage(probes, n, switch_s, &f), 0);
    assert_true(f.failed_over);
    /* PRODUCT/issue 4 accuracy: within one probe interval plus 50 ms of the true switch */
    assert_true(f.failover_seconds >= 0);
    assert_true(f.failover_seconds <= 1.0 / rate + 0.050);
    assert_int_equal(f.client_errors, 0);
    free(probes);
    free(recs);
    drill_prober_free(p);
    origin_stop(&o);
}

static void test_errors_and_unreachable(void **state)
{
    struct origin o;
    struct drill_prober *p;
    struct drill_probe_record *recs;
    size_t n, done, errs, prim, sec;
    cfdr_err e;
    (void)state;
    origin_start(&o);
    atomic_store(&o.failing, 1);
    make_prober(&o, 40, &p);
    assert_int_equal(drill_prober_start(p, &e), CFDR_OK);
    sleep_s(0.3);
    assert_int_equal(drill_prober_stop(p, &e), CFDR_OK);
    drill_prober_counts(p, &done, &errs, &prim, &sec);
    assert_true(done >= 10);
    assert_int_equal(errs, done); /* every 503 is a viewer-visible error */
    assert_int_equal(prim + sec, 0);
    assert_int_equal(drill_prober_snapshot(p, &recs, &n, &e), CFDR_OK);
    assert_int_equal(recs[0].probe.status, 503);
    free(recs);
    drill_prober_free(p);
    origin_stop(&o);

    /* Nothing listens there any more: refused connections are errors with a curl code. */
    make_prober(&o, 40, &p);
    assert_int_equal(drill_prober_start(p, &e), CFDR_OK);
    sleep_s(0.2);
    assert_int_equal(drill_prober_stop(p, &e), CFDR_OK);
    assert_int_equal(drill_prober_snapshot(p, &recs, &n, &e), CFDR_OK);
    assert_true(n >= 5);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(recs[i].probe.status, 0);
        assert_int_equal(recs[i].curl_code, CURLE_COULDNT_CONNECT);
        assert_true(drill_probe_is_error(&recs[i].probe));
    }
    free(recs);
    drill_prober_free(p);
}

static void test_bad_options(void **state)
{
    struct drill_prober_options opt = {0};
    struct drill_prober *p = (void *)1;
    cfdr_err e;
    (void)state;
    opt.url = "http://127.0.0.1:1/";
    opt.rate = 0;
    opt.timeout_s = 1;
    assert_int_equal(drill_prober_new(&opt, &p, &e), CFDR_E_USAGE);
    assert_null(p);
    assert_non_null(strstr(e.msg, "rate"));
    drill_prober_free(NULL);
}

static int setup(void **state)
{
    (void)state;
    /* The test's origin loop is stopped from the test thread: libevent must be thread-aware
     * for event_base_loopbreak to wake it. */
    if (evthread_use_pthreads() != 0)
        return -1;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_switch_is_measured_within_one_interval),
        cmocka_unit_test(test_errors_and_unreachable),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
