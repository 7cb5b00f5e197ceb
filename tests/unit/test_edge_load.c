/* Edge under load: 1,000 concurrent viewer requests (curl multi) while the primary flips between
 * healthy and "paused" (404, a configured failover code) several times. No viewer may see an
 * error, and both origins must have served. */
#include "test_edge_common.h"

#include <sys/resource.h>

#define CONCURRENT 1000
#define MIN_REQUESTS 3000
#define MAX_REQUESTS 20000
#define MIN_FLIPS 6

static struct torigin east, west;

static int group_setup(void **state)
{
    struct rlimit rl;
    (void)state;
    /* viewers, the edge's two sides and the origin: about 4 descriptors per request in flight
     * (the origin processes inherit the limit) */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 8192) {
        rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < 5 * CONCURRENT) {
        fprintf(stderr, "test_edge_load: needs %d file descriptors (ulimit -n)\n", 5 * CONCURRENT);
        return -1;
    }
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

struct probe {
    char region[16];
};

static size_t probe_hdr(char *p, size_t s, size_t n, void *ud)
{
    struct probe *pr = ud;
    if (s * n > 10 && strncasecmp(p, "x-region:", 9) == 0)
        snprintf(pr->region, sizeof(pr->region), "%.*s", (int)strcspn(p + 10, "\r\n"), p + 10);
    return s * n;
}

static size_t probe_body(char *p, size_t s, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return s * n;
}

static void add_probe(CURLM *m, const char *url)
{
    CURL *c = curl_easy_init();
    struct probe *pr = calloc(1, sizeof(*pr));
    assert_non_null(c);
    assert_non_null(pr);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_PRIVATE, pr);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, probe_hdr);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, pr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, probe_body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    assert_int_equal(curl_multi_add_handle(m, c), CURLM_OK);
}

static void test_concurrent_requests_while_primary_flips(void **state)
{
    static const int codes[] = {403, 404, 500, 502, 503, 504};
    struct tedge t;
    struct edge_stats s;
    cfdr_err err;
    CURLM *m = curl_multi_init();
    int added = 0, done = 0, running = 0, flips = 0, paused = 0, max_running = 0;
    int errors = 0, by_east = 0, by_west = 0;
    double next_flip, deadline = t_now() + 40;
    (void)state;

    memset(&t, 0, sizeof(t));
    assert_int_equal(edge_config_simple(&t.cfg, east.url, "us-east-1", west.url, "us-west-2", codes,
                                        6, 2, 1000, 5000, &err),
                     CFDR_OK);
    t.opt.workers = 2; /* the counters are per worker: the totals must still add up */
    assert_int_equal(tedge_start(&t), CFDR_OK);
    origin_mode(&east, "m=slow&delay_ms=100");
    origin_mode(&west, "m=ok");
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)CONCURRENT);
    next_flip = t_now() + 0.2;
    while (t_now() < deadline) {
        CURLMsg *msg;
        int left;
        while (running < CONCURRENT && added < MAX_REQUESTS &&
               (added < MIN_REQUESTS || flips < MIN_FLIPS)) {
            add_probe(m, t.url);
            added++;
            running++;
        }
        if (running > max_running)
            max_running = running;
        if (running == 0)
            break;
        curl_multi_perform(m, &left);
        while ((msg = curl_multi_info_read(m, &left))) {
            struct probe *pr;
            long status = 0;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&pr);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            if (msg->data.result != CURLE_OK || status != 200) {
                if (errors++ < 5)
                    fprintf(stderr, "viewer error: curl %d status %ld\n", msg->data.result, status);
            }
            by_east += strcmp(pr->region, "east") == 0;
            by_west += strcmp(pr->region, "west") == 0;
            curl_multi_remove_handle(m, msg->easy_handle);
            curl_easy_cleanup(msg->easy_handle);
            free(pr);
            running--;
            done++;
        }
        if (t_now() >= next_flip) {
            paused = !paused;
            origin_mode(&east, paused ? "m=status&code=404" : "m=slow&delay_ms=100");
            flips++;
            next_flip = t_now() + 0.2;
        }
        curl_multi_poll(m, NULL, 0, 20, NULL);
    }
    origin_mode(&east, "m=ok");
    curl_multi_cleanup(m);
    assert_int_equal(running, 0); /* everything finished in time */
    assert_int_equal(done, added);
    assert_true(done >= MIN_REQUESTS);
    assert_true(flips >= MIN_FLIPS);
    assert_int_equal(max_running, CONCURRENT);
    assert_int_equal(errors, 0);
    assert_true(by_east > 0);
    assert_true(by_west > 0);
    assert_int_equal(by_east + by_west, done);
    assert_true(tedge_wait_requests(&t, (uint64_t)done, 5));
    edge_stats(t.e, &s);
    assert_int_equal(s.error_502 + s.error_504 + s.aborted + s.origin_status, 0);
    assert_int_equal(s.ok, (uint64_t)by_east);
    assert_int_equal(s.failover_ok, (uint64_t)by_west);
    assert_true(s.failovers_status > 0);
    assert_int_equal(tedge_nlines(&t), (size_t)done);
    fprintf(stderr, "load: %d requests, %d concurrent, %d flips, east %d, west %d\n", done,
            max_running, flips, by_east, by_west);
    tedge_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_requests_while_primary_flips),
    };
    signal(SIGPIPE, SIG_IGN); /* the edge writes to viewers that go away (edge.h) */
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
