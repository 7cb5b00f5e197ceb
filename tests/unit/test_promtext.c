/* Unit tests for drills/promtext: counters read out of the edge's Prometheus text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "drills/promtext.h"

static const char *sample =
    "# HELP cfdr_edge_requests_total Viewer requests by outcome.\n"
    "# TYPE cfdr_edge_requests_total counter\n"
    "cfdr_edge_requests_total{outcome=\"ok\"} 10\n"
    "cfdr_edge_requests_total{outcome=\"failover_ok\"} 5\n"
    "cfdr_edge_requests_total_extra 1000\n"
    "cfdr_edge_origin_attempts_total{origin=\"secondary\",origin_id=\"b\",region=\"us-west-2\","
    "result=\"response\"} 7\n"
    "cfdr_edge_origin_attempts_total{origin=\"secondary\",origin_id=\"c\",region=\"x\\\"y\","
    "result=\"response\"} 2 1700000000000\n"
    "cfdr_edge_origin_attempts_total{origin=\"secondary\",origin_id=\"b\",region=\"us-west-2\","
    "result=\"timed_out\"} 4\n"
    "cfdr_edge_origin_attempts_total{origin=\"primary\",origin_id=\"a\",region=\"us-east-1\","
    "result=\"response\"} 40\n"
    "cfdr_edge_requests_in_flight 3\n";

static double sum_of(const char *text, const char *metric, const struct promtext_label *f,
                     size_t nf, size_t *matched)
{
    double v = -1;
    cfdr_err e;
    assert_int_equal(promtext_sum(text, strlen(text), metric, f, nf, &v, matched, &e), CFDR_OK);
    return v;
}

static void test_sums(void **state)
{
    static const struct promtext_label sec[] = {{"origin", "secondary"}, {"result", "response"}};
    static const struct promtext_label quoted[] = {{"region", "x\"y"}};
    static const struct promtext_label none[] = {{"nolabel", "x"}};
    size_t m = 0;
    (void)state;
    assert_true(sum_of(sample, "cfdr_edge_requests_total", NULL, 0, &m) == 15);
    assert_int_equal(m, 2); /* not cfdr_edge_requests_total_extra */
    assert_true(sum_of(sample, "cfdr_edge_origin_attempts_total", sec, 2, &m) == 9);
    assert_int_equal(m, 2);
    assert_true(sum_of(sample, "cfdr_edge_origin_attempts_total", quoted, 1, &m) == 2);
    assert_true(sum_of(sample, "cfdr_edge_origin_attempts_total", none, 1, &m) == 0);
    assert_int_equal(m, 0);
    /* a metric without labels matches no filter, but matches with none */
    assert_true(sum_of(sample, "cfdr_edge_requests_in_flight", NULL, 0, &m) == 3);
    assert_true(sum_of(sample, "cfdr_edge_requests_in_flight", sec, 1, &m) == 0);
    assert_true(sum_of(sample, "absent_metric", NULL, 0, &m) == 0);
    assert_int_equal(m, 0);
    assert_true(sum_of("", "x", NULL, 0, &m) == 0);
    assert_true(sum_of("x 1", "x", NULL, 0, &m) == 1); /* no final newline */
}

static void test_malformed(void **state)
{
    static const char *bad[] = {
        "x{a=\"1\" 5\n",     "x{a=1} 5\n",        "x{a=\"1\"}\n",
        "x{a=\"1\"} five\n", "x{a=\"1\\q\"} 5\n", "x NaN\n",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        double v;
        cfdr_err e;
        err_clear(&e);
        assert_int_equal(promtext_sum(bad[i], strlen(bad[i]), "x", NULL, 0, &v, NULL, &e),
                         CFDR_E_PARSE);
        assert_non_null(strstr(e.msg, "metrics line 1"));
    }
}

static void test_delta(void **state)
{
    (void)state;
    assert_true(promtext_delta(10, 15) == 5);
    assert_true(promtext_delta(10, 10) == 0);
    assert_true(promtext_delta(10, 3) == 3); /* the counter was reset (edge restarted) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sums),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_delta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
