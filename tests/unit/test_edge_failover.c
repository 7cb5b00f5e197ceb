/* Edge failover on real sockets: status codes, refused, blackholed and hung origins, methods,
 * failback. Origins are tests/servers/edge_origin.py processes (east = primary, west =
 * secondary); the edge runs on its own thread. Settings: 2 attempts, 1 s connect and response
 * timeouts, so every outage costs about 2 s. */
#include "test_edge_common.h"

static struct torigin east, west;
static const int all_codes[] = {400, 403, 404, 416, 500, 502, 503, 504};

static int group_setup(void **state)
{
    (void)state;
    /* The edge runs in this process: a viewer that hangs up must cost EPIPE, not the test (cfdr's
     * main() ignores SIGPIPE the same way). */
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (origin_start(&east, "east") != 0)
        return -1;
    if (origin_start(&west, "west") != 0) {
        origin_stop(&east);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    origin_stop(&east);
    origin_stop(&west);
    curl_global_cleanup();
    return 0;
}

/* Every test starts with both origins healthy. */
static int setup(void **state)
{
    (void)state;
    origin_mode(&east, "m=ok");
    origin_mode(&west, "m=ok");
    return 0;
}

static void start_edge(struct tedge *t, const int *codes, size_t n)
{
    cfdr_err err;
    memset(t, 0, sizeof(*t));
    assert_int_equal(edge_config_simple(&t->cfg, east.url, "us-east-1", west.url, "us-west-2",
                                        codes, n, 2, 1000, 1000, &err),
                     CFDR_OK);
    assert_int_equal(tedge_start(t), CFDR_OK);
}

/* GET path through the edge; asserts the status and the origin that served it ("" = none). */
static double get_expect(struct tedge *t, const char *path, long status, const char *region)
{
    char url[256], v[128];
    struct tresp r;
    double secs;
    snprintf(url, sizeof(url), "%s%s", t->url, path);
    http_get(url, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, status);
    assert_string_equal(tresp_header(&r, "x-region", v, sizeof(v)), region);
    secs = r.secs;
    tresp_free(&r);
    return secs;
}

static void test_every_configured_status_fails_over(void **state)
{
    struct tedge t;
    struct edge_stats s;
    char q[64];
    (void)state;
    start_edge(&t, all_codes, 8);
    for (int i = 0; i < 8; i++) {
        snprintf(q, sizeof(q), "m=status&code=%d", all_codes[i]);
        origin_mode(&east, q);
        get_expect(&t, "/", 200, "west");
    }
    edge_stats(t.e, &s);
    assert_int_equal(s.failovers_status, 8);
    assert_int_equal(s.failover_ok, 8);
    assert_int_equal(s.attempts_primary, 8);
    assert_int_equal(s.attempts_secondary, 8);
    tedge_stop(&t);
}

static void test_unconfigured_status_passes_through(void **state)
{
    static const int codes[] = {500, 502, 503, 504};
    struct tedge t;
    struct edge_stats s;
    struct tresp r;
    char v[128];
    (void)state;
    start_edge(&t, codes, 4);
    origin_mode(&east, "m=status&code=404");
    get_expect(&t, "/", 404, "east");
    origin_mode(&east, "m=status&code=418");
    get_expect(&t, "/", 418, "east");
    get_expect(&t, "/status/201", 201, "east");
    /* the origin's error is delivered as is, marked like CloudFront marks errors */
    origin_mode(&east, "m=status&code=404");
    http_get(t.url, &r);
    assert_string_equal(tresp_header(&r, "x-cache", v, sizeof(v)), "Error from cfdr-edge");
    assert_non_null(strstr(buf_str(&r.body), "status 404 from east"));
    tresp_free(&r);
    edge_stats(t.e, &s);
    assert_int_equal(s.failovers_status, 0);
    assert_int_equal(s.attempts_secondary, 0);
    assert_int_equal(s.origin_status, 3);
    tedge_stop(&t);
}

static void test_failover_status_on_secondary_is_delivered(void **state)
{
    struct tedge t;
    struct tresp r;
    (void)state;
    start_edge(&t, all_codes, 8);
    origin_mode(&east, "m=status&code=503");
    origin_mode(&west, "m=status&code=500");
    get_expect(&t, "/", 500, "west");
    /* and a HEAD too: no body, headers from the secondary */
    http_req("HEAD", t.url, NULL, NULL, 0, 5000, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 500);
    tresp_free(&r);
    tedge_stop(&t);
}

static void test_refused_primary_fails_over(void **state)
{
    struct tedge t;
    struct edge_stats s;
    double secs;
    (void)state;
    start_edge(&t, all_codes, 8);
    origin_mode(&east, "m=refuse");
    secs = get_expect(&t, "/", 200, "west");
    assert_true(secs < 1.0); /* refused connects cost nothing like a timeout */
    edge_stats(t.e, &s);
    assert_int_equal(s.connect_failed, 2); /* both attempts */
    assert_int_equal(s.failovers_connect, 1);
    assert_int_equal(s.failover_ok, 1);
    tedge_stop(&t);
}

static void test_blackholed_primary_costs_attempts_times_connect_timeout(void **state)
{
    struct tedge t;
    struct edge_stats s;
    double secs;
    (void)state;
    start_edge(&t, all_codes, 8);
    origin_mode(&east, "m=blackhole");
    secs = get_expect(&t, "/", 200, "west");
    assert_true(secs >= 1.9);
    assert_true(secs <= 3.0);
    edge_stats(t.e, &s);
    assert_int_equal(s.connect_failed, 2);
    assert_int_equal(s.failovers_connect, 1);
    tedge_stop(&t);
}

static void test_response_timeout_repeated_then_failover(void **state)
{
    struct tedge t;
    struct edge_stats s;
    double secs;
    (void)state;
    start_edge(&t, all_codes, 8);
    origin_mode(&east, "m=slow&delay_ms=10000");
    secs = get_expect(&t, "/", 200, "west");
    assert_true(secs >= 1.9);
    assert_true(secs <= 3.0);
    edge_stats(t.e, &s);
    assert_int_equal(s.timed_out, 2);
    assert_int_equal(s.failovers_timeout, 1);
    tedge_stop(&t);
}

static void test_both_hung_gives_504(void **state)
{
    struct tedge t;
    struct tresp r;
    struct edge_stats s;
    char v[128];
    (void)state;
    start_edge(&t, all_codes, 8);
    origin_mode(&east, "m=slow&delay_ms=10000");
    origin_mode(&west, "m=slow&delay_ms=10000");
    http_get(t.url, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 504);
    assert_true(r.secs >= 3.9 && r.secs <= 5.5);
    assert_string_equal(tresp_header(&r, "x-cache", v, sizeof(v)), "Error from cfdr-edge");
    assert_int_equal(strlen(tresp_header(&r, "x-amz-cf-id", v, sizeof(v))), 56);
    assert_non_null(strstr(buf_str(&r.body), "504 ERROR"));
    tresp_free(&r);
    edge_stats(t.e, &s);
    assert_int_equal(s.timed_out, 4);
    assert_int_equal(s.error_504, 1);
    tedge_stop(&t);
}

static void test_secondary_unreachable_gives_502(void **state)
{
    struct tedge t;
    struct tresp r;
    struct edge_stats s;
    (void)state;
    start_edge(&t, all_codes, 8);
    origin_mode(&west, "m=refuse");
    origin_mode(&east, "m=refuse");
    get_expect(&t, "/", 502, "");
    /* a failover status on the primary and a dead secondary: 502 as well */
    origin_mode(&east, "m=status&code=503");
    http_get(t.url, &r);
    assert_int_equal(r.status, 502);
    assert_non_null(strstr(buf_str(&r.body), "502 ERROR"));
    tresp_free(&r);
    edge_stats(t.e, &s);
    assert_int_equal(s.error_502, 2);
    assert_int_equal(s.failovers_connect, 1);
    assert_int_equal(s.failovers_status, 1);
    tedge_stop(&t);
}

static void test_methods(void **state)
{
    struct tedge t;
    struct tresp r;
    char v[128];
    (void)state;
    start_edge(&t, all_codes, 8);
    /* POST (and every other non-cacheable method) on a group behaviour: 403 from the edge */
    http_req("POST", t.url, NULL, "x", 1, 5000, &r);
    assert_int_equal(r.status, 403);
    assert_string_equal(tresp_header(&r, "x-cache", v, sizeof(v)), "Error from cfdr-edge");
    tresp_free(&r);
    http_req("DELETE", t.url, NULL, NULL, 0, 5000, &r);
    assert_int_equal(r.status, 403);
    tresp_free(&r);
    /* GET, HEAD and OPTIONS fail over */
    origin_mode(&east, "m=status&code=503");
    get_expect(&t, "/", 200, "west");
    http_req("HEAD", t.url, NULL, NULL, 0, 5000, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(tresp_header(&r, "x-region", v, sizeof(v)), "west");
    tresp_free(&r);
    http_req("OPTIONS", t.url, NULL, NULL, 0, 5000, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(tresp_header(&r, "x-region", v, sizeof(v)), "west");
    tresp_free(&r);
    tedge_stop(&t);
}

/* A behaviour on a single origin may allow every method; those requests never fail over. */
static void test_non_idempotent_on_single_origin(void **state)
{
    struct tedge t;
    struct tresp r;
    struct edge_stats s;
    struct edge_behavior *b;
    cfdr_err err;
    (void)state;
    memset(&t, 0, sizeof(t));
    assert_int_equal(edge_config_simple(&t.cfg, east.url, "us-east-1", west.url, "us-west-2",
                                        all_codes, 8, 2, 1000, 1000, &err),
                     CFDR_OK);
    t.cfg.behaviors[1] = t.cfg.behaviors[0]; /* the default stays last */
    b = &t.cfg.behaviors[0];
    snprintf(b->path_pattern, sizeof(b->path_pattern), "/echo*");
    snprintf(b->target, sizeof(b->target), "primary");
    b->methods = EDGE_METHODS_ALL;
    t.cfg.nbehaviors = 2;
    assert_int_equal(tedge_start(&t), CFDR_OK);
    char url[128];
    snprintf(url, sizeof(url), "%s/echo?x=1", t.url);
    http_req("POST", url, NULL, "hello", 5, 5000, &r);
    assert_int_equal(r.status, 200);
    if (!strstr(buf_str(&r.body), "\"method\": \"POST\""))
        fprintf(stderr, "body: %s\n", buf_str(&r.body));
    assert_non_null(strstr(buf_str(&r.body), "\"method\": \"POST\""));
    tresp_free(&r);
    origin_mode(&east, "m=status&code=503");
    http_req("PUT", url, NULL, "x", 1, 5000, &r);
    assert_int_equal(r.status, 503); /* delivered: a single origin has nowhere to fail over to */
    tresp_free(&r);
    origin_mode(&east, "m=refuse");
    http_req("POST", url, NULL, "x", 1, 5000, &r);
    assert_int_equal(r.status, 502);
    tresp_free(&r);
    edge_stats(t.e, &s);
    assert_int_equal(s.attempts_secondary, 0);
    assert_int_equal(s.connect_failed, 2); /* nothing was sent, so the connect was retried */
    tedge_stop(&t);
}

static void test_failback_needs_no_action(void **state)
{
    struct tedge t;
    (void)state;
    start_edge(&t, all_codes, 8);
    get_expect(&t, "/", 200, "east");
    origin_mode(&east, "m=refuse");
    get_expect(&t, "/", 200, "west");
    get_expect(&t, "/", 200, "west");
    origin_mode(&east, "m=ok");
    get_expect(&t, "/", 200, "east"); /* the very next request */
    origin_mode(&east, "m=status&code=404");
    get_expect(&t, "/", 200, "west");
    origin_mode(&east, "m=ok");
    get_expect(&t, "/", 200, "east");
    tedge_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_every_configured_status_fails_over, setup),
        cmocka_unit_test_setup(test_unconfigured_status_passes_through, setup),
        cmocka_unit_test_setup(test_failover_status_on_secondary_is_delivered, setup),
        cmocka_unit_test_setup(test_refused_primary_fails_over, setup),
        cmocka_unit_test_setup(test_blackholed_primary_costs_attempts_times_connect_timeout, setup),
        cmocka_unit_test_setup(test_response_timeout_repeated_then_failover, setup),
        cmocka_unit_test_setup(test_both_hung_gives_504, setup),
        cmocka_unit_test_setup(test_secondary_unreachable_gives_502, setup),
        cmocka_unit_test_setup(test_methods, setup),
        cmocka_unit_test_setup(test_non_idempotent_on_single_origin, setup),
        cmocka_unit_test_setup(test_failback_needs_no_action, setup),
    };
    signal(SIGPIPE, SIG_IGN); /* the edge writes to viewers that go away (edge.h) */
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
