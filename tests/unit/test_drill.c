/* Tests for drills/drill: the outage and failback choreography against a loopback origin whose
 * answers the hooks flip, as a pause and a resume would through an edge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/thread.h>

#include "aws/clock.h"
#include "drills/analysis.h"
#include "drills/drill.h"
#include "tests/unit/flip_origin.h"

struct fixture {
    struct origin o;
    char url[64];
    int injects, recovers, fail_inject;
    volatile sig_atomic_t stop;
    double interrupt_after; /* progress in phase "outage" past this elapsed time sets stop */
    int progress_calls;
    struct origin *direct_primary; /* probed directly: fails from the inject on */
    int direct_hits_at_inject;
};

static cfdr_code inject(void *ud, cfdr_err *err)
{
    struct fixture *f = ud;
    f->injects++;
    if (f->direct_primary) {
        f->direct_hits_at_inject = atomic_load(&f->direct_primary->hits);
        atomic_store(&f->direct_primary->failing, 1);
    }
    if (f->fail_inject)
        return err_set(err, CFDR_E_AWS, "PauseService failed: HTTP 400 InvalidStateException");
    clock_sleep_s(0.1); /* a pause takes a moment; the prober keeps probing meanwhile */
    atomic_store(&f->o.secondary, 1);
    return CFDR_OK;
}

static cfdr_code recover(void *ud, cfdr_err *err)
{
    struct fixture *f = ud;
    (void)err;
    f->recovers++;
    atomic_store(&f->o.secondary, 0);
    if (f->direct_primary)
        atomic_store(&f->direct_primary->failing, 0);
    return CFDR_OK;
}

static void progress(void *ud, const struct drill_progress *p)
{
    struct fixture *f = ud;
    f->progress_calls++;
    if (f->interrupt_after > 0 && strcmp(p->phase, "outage") == 0 &&
        p->elapsed_s > f->interrupt_after)
        f->stop = 1;
}

static void plan_for(struct fixture *f, struct drill_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d/", f->o.port);
    plan->url = f->url;
    plan->rate = 40;
    plan->baseline_s = 0.3;
    plan->duration_s = 0.6;
    plan->timeout_s = 5;
    plan->confirm_s = 0.3;
    plan->probe_timeout_s = 2;
    plan->progress_interval_s = 0.05;
    plan->served_by_header = "x-region";
    plan->primary_value = "us-east-1";
    plan->secondary_value = "us-west-2";
    plan->interrupted = &f->stop;
}

static void test_outage_then_resume(void **state)
{
    struct fixture f = {0};
    struct drill_hooks h = {inject, recover, progress, &f};
    struct drill_plan plan;
    struct drill_outcome out;
    struct drill_outage_figures fig;
    cfdr_err e;
    (void)state;
    origin_start(&f.o);
    plan_for(&f, &plan);
    plan.resume_at_end = 1;
    assert_int_equal(drill_run_outage(&plan, &h, &out, &e), CFDR_OK);
    assert_int_equal(f.injects, 1);
    assert_int_equal(f.recovers, 1);
    assert_true(out.recovered);
    assert_false(out.interrupted);
    assert_true(f.progress_calls > 3);
    /* the event was stamped when inject was called, after the baseline */
    assert_true(out.event_s >= 0.3 && out.event_s < 0.6);
    assert_true(out.effective_s - out.event_s >= 0.09);
    assert_true(out.event_end_s >= out.event_s + 0.6);
    assert_int_equal(strlen(out.started_at), 24);
    assert_int_equal(strlen(out.event_started_at), 24);
    /* the steady rate: baseline + outage + the recovery wait, which is longer on a loaded
     * machine, so count against the time the probes actually spanned */
    assert_true(out.nprobes >= 30);
    {
        double span = out.probes[out.nprobes - 1].sent_s - out.probes[0].sent_s;
        assert_true((double)out.nprobes <= span * plan.rate + 2);
        assert_true((double)out.nprobes >= span * plan.rate - 2);
    }
    assert_true(out.max_lateness_s >= out.p99_lateness_s);
    assert_int_equal(drill_analyze_outage(out.probes, out.nprobes, out.event_s, &fig), 0);
    assert_true(fig.failed_over);
    /* the switch happened when inject finished (0.1 s after the event), give or take one
     * probe interval plus the probe's round trip */
    assert_true(fig.failover_seconds >= 0.09);
    assert_true(fig.failover_seconds <= 0.1 + 1.0 / plan.rate + 0.05);
    assert_int_equal(fig.client_errors, 0);
    assert_int_equal(atomic_load(&f.o.secondary), 0); /* resumed */
    drill_outcome_free(&out);
    drill_outcome_free(&out);
    origin_stop(&f.o);
}

static void test_outage_left_down_without_resume(void **state)
{
    struct fixture f = {0};
    struct drill_hooks h = {inject, recover, NULL, &f};
    struct drill_plan plan;
    struct drill_outcome out;
    cfdr_err e;
    (void)state;
    origin_start(&f.o);
    plan_for(&f, &plan);
    assert_int_equal(drill_run_outage(&plan, &h, &out, &e), CFDR_OK);
    assert_int_equal(f.recovers, 0);
    assert_false(out.recovered);
    assert_true(out.event_end_s < 0);
    assert_int_equal(atomic_load(&f.o.secondary), 1); /* stays down for verify-failback */
    drill_outcome_free(&out);
    origin_stop(&f.o);
}

static void test_interrupt_recovers_and_keeps_probes(void **state)
{
    struct fixture f = {0};
    struct drill_hooks h = {inject, recover, progress, &f};
    struct drill_plan plan;
    struct drill_outcome out;
    double t0 = clock_mono_s();
    cfdr_err e;
    (void)state;
    origin_start(&f.o);
    plan_for(&f, &plan);
    plan.duration_s = 30; /* would run long: Ctrl-C cuts it */
    f.interrupt_after = 0.6;
    assert_int_equal(drill_run_outage(&plan, &h, &out, &e), CFDR_E_INTERRUPTED);
    assert_non_null(strstr(e.msg, "the primary was brought back"));
    assert_true(clock_mono_s() - t0 < 5);
    assert_true(out.interrupted);
    assert_true(out.recovered);
    assert_int_equal(f.recovers, 1);
    assert_int_equal(atomic_load(&f.o.secondary), 0);
    assert_true(out.nprobes > 10);
    drill_outcome_free(&out);
    origin_stop(&f.o);
}

static void test_failed_inject_is_reported_and_recovered(void **state)
{
    struct fixture f = {0};
    struct drill_hooks h = {inject, recover, NULL, &f};
    struct drill_plan plan;
    struct drill_outcome out;
    cfdr_err e;
    (void)state;
    origin_start(&f.o);
    plan_for(&f, &plan);
    f.fail_inject = 1;
    assert_int_equal(drill_run_outage(&plan, &h, &out, &e), CFDR_E_AWS);
    assert_non_null(strstr(e.msg, "InvalidStateException"));
    assert_int_equal(out.hook_rc, CFDR_E_AWS);
    assert_int_equal(f.recovers, 1); /* never leave a half-paused primary behind */
    assert_true(out.nprobes > 0);
    drill_outcome_free(&out);
    origin_stop(&f.o);
}

static void test_failback_stops_once_primary_serves(void **state)
{
    struct fixture f = {0};
    struct drill_hooks h = {inject, recover, NULL, &f};
    struct drill_plan plan;
    struct drill_outcome out;
    struct drill_failback_figures fig;
    double t0 = clock_mono_s();
    cfdr_err e;
    (void)state;
    origin_start(&f.o);
    atomic_store(&f.o.secondary, 1); /* the primary is down: the secondary serves */
    plan_for(&f, &plan);
    assert_int_equal(drill_run_failback(&plan, &h, &out, &e), CFDR_OK);
    assert_int_equal(f.recovers, 1);
    assert_false(out.was_serving);
    /* baseline 0.3 + confirm 0.3 + a little: far less than the 5 s timeout */
    assert_true(clock_mono_s() - t0 < 2.5);
    assert_int_equal(drill_analyze_failback(out.probes, out.nprobes, out.event_s, &fig), 0);
    assert_true(fig.failed_back);
    assert_true(fig.failback_seconds < 1.0 / plan.rate + 0.05);
    assert_int_equal(fig.client_errors, 0);
    assert_true(fig.served_secondary > 5);
    assert_true(fig.served_primary > 5);
    drill_outcome_free(&out);
    origin_stop(&f.o);
}

/* A primary that never went down is back at once: the failback check does not wait out its
 * timeout, and says there was nothing to fail back (was_serving) instead of a figure. Seen
 * through the edge, and (the edge's answers naming no origin) through direct probes. */
static void test_failback_primary_already_serving(void **state)
{
    struct fixture f = {0};
    struct drill_hooks h = {inject, recover, NULL, &f};
    struct origin dp;
    char purl[64];
    struct drill_plan plan;
    struct drill_outcome out;
    double t0;
    cfdr_err e;
    (void)state;
    origin_start(&f.o);
    origin_start(&dp);
    snprintf(purl, sizeof(purl), "http://127.0.0.1:%d/", dp.port);
    plan_for(&f, &plan);
    plan.timeout_s = 8;

    t0 = clock_mono_s();
    assert_int_equal(drill_run_failback(&plan, &h, &out, &e), CFDR_OK);
    assert_true(clock_mono_s() - t0 < 4); /* not the 8 s timeout */
    assert_int_equal(f.recovers, 1);
    assert_true(out.was_serving);
    assert_true(out.requested_s >= 0.3);
    drill_outcome_free(&out);

    /* the same seen directly (AWS mode: the event from the direct probes) */
    plan.served_by_header = "x-not-sent";
    plan.primary_url = purl;
    plan.event_from_direct = 1;
    plan.direct_rate = 20;
    t0 = clock_mono_s();
    assert_int_equal(drill_run_failback(&plan, &h, &out, &e), CFDR_OK);
    assert_true(clock_mono_s() - t0 < 4);
    assert_true(out.was_serving);
    assert_true(atomic_load(&dp.hits) > 0);
    drill_outcome_free(&out);

    /* and a primary that was down is not taken for one that served: it is waited for */
    f.direct_primary = &dp;
    atomic_store(&dp.failing, 1);
    atomic_store(&f.o.secondary, 1);
    assert_int_equal(drill_run_failback(&plan, &h, &out, &e), CFDR_OK);
    assert_false(out.was_serving);
    assert_int_equal(atomic_load(&dp.failing), 0);
    assert_true(out.event_s >= out.requested_s);
    drill_outcome_free(&out);

    origin_stop(&dp);
    origin_stop(&f.o);
}

/* Direct probes only when they are needed: none while the edge's answers name their origin
 * (local mode); with event_from_direct (AWS mode) the primary only, and only from the fault's
 * request on (in AWS mode every direct request to the secondary would count in the metric its
 * failover alarm watches); both origins, from the first answer, when the edge's answers do not
 * name their origin. */
static void test_direct_probes_only_when_needed(void **state)
{
    struct fixture f = {0};
    struct drill_hooks h = {inject, recover, NULL, &f};
    struct origin dp, ds;
    char purl[64], surl[64];
    struct drill_plan plan;
    struct drill_outcome out;
    cfdr_err e;
    (void)state;
    origin_start(&f.o);
    origin_start(&dp);
    origin_start(&ds);
    snprintf(purl, sizeof(purl), "http://127.0.0.1:%d/", dp.port);
    snprintf(surl, sizeof(surl), "http://127.0.0.1:%d/", ds.port);

    /* the header names the origin: no direct probe at all */
    plan_for(&f, &plan);
    plan.primary_url = purl;
    plan.secondary_url = surl;
    plan.resume_at_end = 1;
    assert_int_equal(drill_run_outage(&plan, &h, &out, &e), CFDR_OK);
    assert_int_equal(out.served_by.method, DRILL_SERVEDBY_HEADER);
    assert_int_equal(atomic_load(&dp.hits), 0);
    assert_int_equal(atomic_load(&ds.hits), 0);
    drill_outcome_free(&out);

    /* AWS mode: the primary only, from the request on; the outage starts at the first of
     * DRILL_SERVEDBY_CHANGE_RUN failing direct probes */
    f.direct_primary = &dp;
    plan.secondary_url = NULL;
    plan.event_from_direct = 1;
    plan.direct_rate = 20;
    assert_int_equal(drill_run_outage(&plan, &h, &out, &e), CFDR_OK);
    assert_true(f.direct_hits_at_inject <= 1); /* at most the first, sent with the request */
    assert_true(atomic_load(&dp.hits) >= DRILL_SERVEDBY_CHANGE_RUN);
    assert_int_equal(atomic_load(&ds.hits), 0);
    assert_true(out.event_observed);
    assert_true(out.event_s >= out.requested_s);
    assert_true(out.event_s <= out.event_end_s);
    drill_outcome_free(&out);

    /* the answers do not carry the header: both origins, for fingerprinting */
    f.direct_primary = NULL;
    atomic_store(&dp.hits, 0);
    plan.secondary_url = surl;
    plan.event_from_direct = 0;
    plan.served_by_header = "x-not-sent";
    assert_int_equal(drill_run_outage(&plan, &h, &out, &e), CFDR_OK);
    assert_true(out.served_by.method != DRILL_SERVEDBY_HEADER);
    assert_true(atomic_load(&dp.hits) > 0);
    assert_true(atomic_load(&ds.hits) > 0);
    drill_outcome_free(&out);

    origin_stop(&ds);
    origin_stop(&dp);
    origin_stop(&f.o);
}

static int setup(void **state)
{
    (void)state;
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
        cmocka_unit_test(test_outage_then_resume),
        cmocka_unit_test(test_outage_left_down_without_resume),
        cmocka_unit_test(test_interrupt_recovers_and_keeps_probes),
        cmocka_unit_test(test_failed_inject_is_reported_and_recovered),
        cmocka_unit_test(test_failback_stops_once_primary_serves),
        cmocka_unit_test(test_failback_primary_already_serving),
        cmocka_unit_test(test_direct_probes_only_when_needed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
