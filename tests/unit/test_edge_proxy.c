/* Edge proxying on real sockets: what passes through (target, headers, bodies), what does not
 * (hop-by-hop headers), streaming with flat memory, viewers and origins that go away, reused
 * connections, metrics, access log, config validation, workers and edge_run(). */
#include "test_edge_common.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <sys/socket.h>

static struct torigin east, west;
static double metric(const char *text, const char *prefix);

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

static int setup(void **state)
{
    (void)state;
    origin_mode(&east, "m=ok");
    origin_mode(&west, "m=ok");
    return 0;
}

/* The simple group config plus a behaviour "/echo*" on the primary alone allowing every method. */
static void start_edge(struct tedge *t)
{
    cfdr_err err;
    struct edge_behavior *b;
    memset(t, 0, sizeof(*t));
    assert_int_equal(edge_config_simple(&t->cfg, east.url, "us-east-1", west.url, "us-west-2",
                                        all_codes, 8, 2, 1000, 1000, &err),
                     CFDR_OK);
    t->cfg.behaviors[1] = t->cfg.behaviors[0];
    b = &t->cfg.behaviors[0];
    snprintf(b->path_pattern, sizeof(b->path_pattern), "/echo*");
    snprintf(b->target, sizeof(b->target), "primary");
    b->methods = EDGE_METHODS_ALL;
    t->cfg.nbehaviors = 2;
    t->opt.node_id = "test-node";
    assert_int_equal(tedge_start(t), CFDR_OK);
}

static int is_cf_id(const char *s)
{
    if (strlen(s) != 56)
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '_' || *s == '='))
            return 0;
    return 1;
}

/* The origin's view of a request (its /echo JSON): header value by name, "" if absent. */
static const char *echo_header(json_object *doc, const char *name)
{
    json_object *hs = json_object_object_get(doc, "headers");
    const char *found = "";
    for (size_t i = 0; i < json_object_array_length(hs); i++) {
        json_object *kv = json_object_array_get_idx(hs, i);
        if (strcasecmp(json_object_get_string(json_object_array_get_idx(kv, 0)), name) == 0)
            found = json_object_get_string(json_object_array_get_idx(kv, 1));
    }
    return found;
}

static void test_request_passes_through(void **state)
{
    static const char *const hdrs[] = {"X-Custom: value 1",
                                       "Accept: text/plain",
                                       "Connection: X-Drop-Me",
                                       "X-Drop-Me: 1",
                                       "Keep-Alive: timeout=5",
                                       "TE: trailers",
                                       "Trailer: X-T",
                                       "Proxy-Authorization: Basic eDp5",
                                       "Upgrade: example/1",
                                       "X-Forwarded-For: 10.1.2.3",
                                       NULL};
    struct tedge t;
    struct tresp r;
    json_object *doc;
    char url[256], v[256], host[64];
    (void)state;
    start_edge(&t);
    snprintf(url, sizeof(url), "%s/echo?a=1&b=%%20x&c=/../d", t.url);
    http_req("GET", url, hdrs, NULL, 0, 5000, &r);
    assert_int_equal(r.status, 200);
    doc = json_tokener_parse(buf_str(&r.body));
    assert_non_null(doc);
    assert_string_equal(json_object_get_string(json_object_object_get(doc, "target")),
                        "/echo?a=1&b=%20x&c=/../d");
    assert_string_equal(json_object_get_string(json_object_object_get(doc, "method")), "GET");
    snprintf(host, sizeof(host), "127.0.0.1:%d", east.port);
    assert_string_equal(echo_header(doc, "Host"), host);
    assert_string_equal(echo_header(doc, "X-Custom"), "value 1");
    assert_string_equal(echo_header(doc, "Accept"), "text/plain");
    assert_string_equal(echo_header(doc, "Via"), "1.1 test-node.cfdr.local (cfdr-edge)");
    assert_string_equal(echo_header(doc, "X-Forwarded-For"), "10.1.2.3, 127.0.0.1");
    assert_true(is_cf_id(echo_header(doc, "X-Amz-Cf-Id")));
    /* the viewer sees the same request id */
    assert_string_equal(tresp_header(&r, "x-amz-cf-id", v, sizeof(v)),
                        echo_header(doc, "X-Amz-Cf-Id"));
    assert_string_equal(tresp_header(&r, "via", v, sizeof(v)),
                        "1.1 test-node.cfdr.local (cfdr-edge)");
    assert_string_equal(tresp_header(&r, "x-cache", v, sizeof(v)), "Miss from cfdr-edge");
    const char *dropped[] = {"Connection", "X-Drop-Me", "Keep-Alive",
                             "TE",         "Trailer",   "Proxy-Authorization",
                             "Upgrade",    "Expect",    "Transfer-Encoding"};
    for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
        assert_string_equal(echo_header(doc, dropped[i]), "");
    json_object_put(doc);
    tresp_free(&r);
    tedge_stop(&t);
}

static void check_body(struct tedge *t, const char *method, size_t n)
{
    unsigned char *body = malloc(n ? n : 1), md[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1], url[128];
    struct tresp r;
    json_object *doc;

    for (size_t i = 0; i < n; i++)
        body[i] = (unsigned char)(i * 7 + 3);
    SHA256(body, n, md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    snprintf(url, sizeof(url), "%s/echo", t->url);
    http_req(method, url, NULL, body, n, 10000, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    doc = json_tokener_parse(buf_str(&r.body));
    assert_non_null(doc);
    assert_string_equal(json_object_get_string(json_object_object_get(doc, "method")), method);
    assert_int_equal(json_object_get_int64(json_object_object_get(doc, "body_len")), (int64_t)n);
    assert_string_equal(json_object_get_string(json_object_object_get(doc, "body_sha256")), hex);
    /* curl's defaults are not added: the viewer sent no Content-Type, no Expect */
    assert_string_equal(echo_header(doc, "Expect"), "");
    json_object_put(doc);
    tresp_free(&r);
    free(body);
}

static void test_request_bodies_pass_through(void **state)
{
    struct tedge t;
    (void)state;
    start_edge(&t);
    check_body(&t, "POST", 0);
    check_body(&t, "POST", 1024);
    check_body(&t, "POST", 1024 * 1024);
    check_body(&t, "PUT", 1024);
    check_body(&t, "PATCH", 1);
    tedge_stop(&t);
}

static void test_body_resent_on_failover(void **state)
{
    struct tedge t;
    struct tresp r;
    json_object *doc;
    char url[128];
    (void)state;
    start_edge(&t);
    origin_mode(&east, "m=status&code=503");
    /* OPTIONS fails over and may carry a body: the secondary gets the same bytes */
    snprintf(url, sizeof(url), "%s/x/echo", t.url);
    http_req("OPTIONS", url, NULL, "same body", 9, 5000, &r);
    assert_int_equal(r.status, 200);
    doc = json_tokener_parse(buf_str(&r.body));
    assert_non_null(doc);
    assert_string_equal(json_object_get_string(json_object_object_get(doc, "origin")), "west");
    assert_string_equal(json_object_get_string(json_object_object_get(doc, "method")), "OPTIONS");
    assert_int_equal(json_object_get_int(json_object_object_get(doc, "body_len")), 9);
    json_object_put(doc);
    tresp_free(&r);
    tedge_stop(&t);
}

static void test_hop_by_hop_response_headers_dropped(void **state)
{
    struct tedge t;
    struct tresp r;
    char url[128], v[128];
    (void)state;
    start_edge(&t);
    snprintf(url, sizeof(url), "%s/hop", t.url);
    http_get(url, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(tresp_header(&r, "x-end-to-end", v, sizeof(v)), "yes");
    assert_false(tresp_has_header(&r, "x-hop-custom"));
    assert_false(tresp_has_header(&r, "keep-alive"));
    assert_false(tresp_has_header(&r, "proxy-authenticate"));
    assert_false(tresp_has_header(&r, "trailer"));
    assert_false(tresp_has_header(&r, "upgrade"));
    assert_null(strstr(tresp_header(&r, "connection", v, sizeof(v)), "X-Hop"));
    assert_string_equal(buf_str(&r.body), "hop\n");
    tresp_free(&r);
    tedge_stop(&t);
}

/* 1xx blocks are skipped: the decision and the viewer only see the final status. */
static void test_informational_responses_skipped(void **state)
{
    struct tedge t;
    struct tresp r;
    struct edge_stats s;
    char url[128];
    (void)state;
    start_edge(&t);
    snprintf(url, sizeof(url), "%s/early", t.url);
    http_get(url, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(buf_str(&r.body), "after early hints\n");
    assert_null(strstr(buf_str(&r.headers), "103"));
    assert_false(tresp_has_header(&r, "link"));
    tresp_free(&r);
    edge_stats(t.e, &s);
    assert_int_equal(s.ok, 1);
    tedge_stop(&t);
}

static int raw_connect(int port);
static void raw_send(int fd, const char *s);
static ssize_t raw_read(int fd, char *buf, size_t n, int timeout_ms);

/* The origin's framing is hop-by-hop: a chunked origin body reaches an HTTP/1.1 viewer chunked
 * by the edge, and an HTTP/1.0 viewer as a body that ends with the connection. */
static void test_body_reframed_for_the_viewer(void **state)
{
    struct tedge t;
    struct tresp r;
    char url[128], *buf = malloc(65536), *body;
    size_t got = 0;
    double deadline;
    int fd;
    (void)state;
    start_edge(&t);
    snprintf(url, sizeof(url), "%s/chunked/5000", t.url);
    http_get(url, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_bytes, 5000);
    tresp_free(&r);
    fd = raw_connect(t.port);
    raw_send(fd, "GET /chunked/5000 HTTP/1.0\r\n\r\n");
    deadline = t_now() + 5;
    while (got < 65535 && t_now() < deadline) {
        ssize_t n = raw_read(fd, buf + got, 65535 - got, 2000);
        if (n <= 0) {
            assert_int_equal(n, 0); /* EOF, not a timeout */
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    body = strstr(buf, "\r\n\r\n");
    assert_non_null(body);
    for (char *c = buf; c < body; c++)
        *c = (char)tolower((unsigned char)*c);
    assert_null(strstr(buf, "transfer-encoding"));
    assert_int_equal(strlen(body + 4), 5000);
    free(buf);
    tedge_stop(&t);
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

static int raw_connect(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void raw_send(int fd, const char *s)
{
    assert_int_equal(send(fd, s, strlen(s), 0), (ssize_t)strlen(s));
}

/* Reads into buf (bounded by time); returns bytes read, 0 on EOF, -1 on error, -2 on timeout. */
static ssize_t raw_read(int fd, char *buf, size_t n, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0)
        return -2;
    return recv(fd, buf, n, 0);
}

static void test_100mb_streams_with_flat_memory(void **state)
{
    const size_t total = 100u * 1024u * 1024u;
    struct tedge t;
    struct edge_stats s;
    char *buf = malloc(256 * 1024), *hdr_end;
    size_t got = 0, hdr = 0, body = 0;
    long rss0, rss_peak = 0;
    double deadline;
    int fd, bad = 0;
    (void)state;
    start_edge(&t);
    rss0 = rss_kb();
    fd = raw_connect(t.port);
    raw_send(fd, "GET /bytes/104857600 HTTP/1.1\r\nHost: x\r\n\r\n");
    /* a viewer that does not read for 1.5 s: the origin must be held, not buffered (and the
     * 1 s response timeout must not fire while the edge itself holds the origin) */
    usleep(1500000);
    if (rss_kb() > rss_peak)
        rss_peak = rss_kb();
    deadline = t_now() + 30;
    while (body < total && t_now() < deadline) {
        ssize_t n = raw_read(fd, buf + got, 256 * 1024 - got, 5000);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (!hdr) {
            buf[got < 256 * 1024 ? got : 256 * 1024 - 1] = '\0';
            hdr_end = strstr(buf, "\r\n\r\n");
            if (!hdr_end)
                continue;
            hdr = (size_t)(hdr_end - buf) + 4;
            assert_non_null(strstr(buf, "Content-Length: 104857600"));
            memmove(buf, buf + hdr, got - hdr);
            got -= hdr;
        }
        for (size_t i = 0; i < got; i++)
            bad += (unsigned char)buf[i] != (unsigned char)((body + i) % 256);
        body += got;
        got = 0;
        if ((body & ((16u << 20) - 1)) < 256 * 1024 && rss_kb() > rss_peak)
            rss_peak = rss_kb();
    }
    close(fd);
    free(buf);
    assert_int_equal(body, total);
    assert_int_equal(bad, 0);
    edge_stats(t.e, &s);
    assert_true(s.stream_high_water < 2u * 1024u * 1024u);
    assert_true(s.stream_high_water > 512u * 1024u); /* the watermark was reached */
#ifndef __SANITIZE_ADDRESS__
    /* (ASan's quarantine keeps freed memory resident, so RSS says nothing under it) */
    assert_true(rss_peak - rss0 < 20 * 1024);
#else
    (void)rss0;
#endif
    assert_int_equal(s.timed_out, 0);
    assert_true(tedge_wait_requests(&t, 1, 5));
    edge_stats(t.e, &s);
    assert_int_equal(s.ok, 1);
    tedge_stop(&t);
}

static int wait_idle(struct tedge *t, double max_s)
{
    double deadline = t_now() + max_s;
    struct edge_stats s;
    do {
        edge_stats(t->e, &s);
        if (s.in_flight == 0)
            return 1;
        usleep(5000);
    } while (t_now() < deadline);
    return 0;
}

static void test_viewer_disconnects(void **state)
{
    struct tedge t;
    struct edge_stats s;
    char buf[65536];
    size_t got = 0;
    int fd;
    (void)state;
    start_edge(&t);
    /* mid-stream */
    fd = raw_connect(t.port);
    raw_send(fd, "GET /bytes/104857600 HTTP/1.1\r\nHost: x\r\n\r\n");
    while (got < 1024 * 1024) {
        ssize_t n = raw_read(fd, buf, sizeof(buf), 5000);
        assert_true(n > 0);
        got += (size_t)n;
    }
    close(fd);
    assert_true(tedge_wait_requests(&t, 1, 5));
    assert_true(wait_idle(&t, 5));
    /* while the origin is being tried (it hangs; the viewer gives up first) */
    origin_mode(&east, "m=slow&delay_ms=10000");
    fd = raw_connect(t.port);
    raw_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    usleep(200000);
    close(fd);
    assert_true(tedge_wait_requests(&t, 2, 0.5)); /* long before any timeout */
    assert_true(wait_idle(&t, 1));
    edge_stats(t.e, &s);
    assert_int_equal(s.aborted, 2);
    assert_int_equal(s.timed_out, 0);
    tedge_stop(&t);
}

static void test_origin_dies_or_stalls_after_reply_started(void **state)
{
    struct tedge t;
    struct tresp r;
    struct edge_stats s;
    char url[128];
    (void)state;
    start_edge(&t);
    snprintf(url, sizeof(url), "%s/die/100000", t.url);
    http_get(url, &r);
    if (r.status != 200 && tedge_wait_requests(&t, 1, 5))
        fprintf(stderr, "status %ld, curl %d, log: %s\n", r.status, r.rc, t.lines[0]);
    assert_int_not_equal(r.rc, CURLE_OK); /* truncated: the viewer can tell */
    assert_int_equal(r.status, 200);
    assert_true(r.body_bytes <= 100000);
    tresp_free(&r);
    snprintf(url, sizeof(url), "%s/stall/100000", t.url);
    http_get(url, &r);
    assert_int_not_equal(r.rc, CURLE_OK);
    assert_true(r.secs >= 0.9 && r.secs < 2.5); /* one response timeout between packets */
    tresp_free(&r);
    assert_true(tedge_wait_requests(&t, 2, 5));
    edge_stats(t.e, &s);
    assert_int_equal(s.aborted, 2);
    assert_int_equal(s.attempts_secondary, 0); /* no failover once the reply has started */
    tedge_stop(&t);
}

/* ---------------------------------------------------------------- a trickling origin */

/* An origin on a thread that answers each connection with its parts spaced gap_ms apart, then
 * holds the connection hold_ms before closing it. */
struct trickle {
    int lfd, port, gap_ms, hold_ms;
    const char *const *parts; /* NULL-terminated, sent one by one */
    int connections;          /* connections to serve before the thread ends */
    pthread_t th;
};

static void *trickle_main(void *arg)
{
    struct trickle *tr = arg;

    for (int c = 0; c < tr->connections; c++) {
        struct pollfd p = {tr->lfd, POLLIN, 0};
        char req[4096];
        size_t got = 0;
        double deadline = t_now() + 10;
        int fd;
        if (poll(&p, 1, 10000) <= 0)
            return NULL;
        fd = accept(tr->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        while (got < sizeof(req) - 1 && t_now() < deadline) { /* the request's header block */
            struct pollfd q = {fd, POLLIN, 0};
            ssize_t n;
            if (poll(&q, 1, 1000) <= 0)
                continue;
            n = recv(fd, req + got, sizeof(req) - 1 - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
            req[got] = '\0';
            if (strstr(req, "\r\n\r\n"))
                break;
        }
        for (size_t i = 0; tr->parts[i]; i++) {
            if (i > 0)
                usleep((useconds_t)tr->gap_ms * 1000);
            if (send(fd, tr->parts[i], strlen(tr->parts[i]), MSG_NOSIGNAL) < 0)
                break;
        }
        usleep((useconds_t)tr->hold_ms * 1000);
        close(fd);
    }
    return NULL;
}

static void trickle_start(struct trickle *tr, const char *const *parts, int gap_ms, int hold_ms,
                          int conns)
{
    memset(tr, 0, sizeof(*tr));
    tr->parts = parts;
    tr->gap_ms = gap_ms;
    tr->hold_ms = hold_ms;
    tr->connections = conns;
    tr->lfd = tedge_listen(8, &tr->port);
    assert_int_equal(pthread_create(&tr->th, NULL, trickle_main, tr), 0);
}

static void trickle_stop(struct trickle *tr)
{
    pthread_join(tr->th, NULL);
    close(tr->lfd);
}

/* Response timeout 1 s: an origin whose header lines and body come 400 ms apart (2 s in all) is
 * served, never timed out; one that stalls 300 ms into its body is cut 1 s after its last bytes
 * (1.3 s after the request), and no failover happens once the reply has started. */
static void test_response_timeout_counts_from_the_last_bytes(void **state)
{
    static const char *const slow[] = {"HTTP/1.1 200 OK\r\n",
                                       "Content-Length: 12\r\n",
                                       "x-region: trickle\r\n",
                                       "\r\n",
                                       "hello ",
                                       "world\n",
                                       NULL};
    static const char *const stall[] = {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "partial",
                                        NULL};
    struct trickle tr;
    struct tedge t;
    struct tresp r;
    struct edge_stats s;
    char url[64], v[64];
    cfdr_err err;
    (void)state;

    trickle_start(&tr, slow, 400, 100, 1);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", tr.port);
    memset(&t, 0, sizeof(t));
    assert_int_equal(edge_config_simple(&t.cfg, url, "us-east-1", west.url, "us-west-2", all_codes,
                                        8, 1, 1000, 1000, &err),
                     CFDR_OK);
    assert_int_equal(tedge_start(&t), CFDR_OK);
    http_get(t.url, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(tresp_header(&r, "x-region", v, sizeof(v)), "trickle");
    assert_string_equal(buf_str(&r.body), "hello world\n");
    assert_true(r.secs >= 1.9); /* longer than the timeout, in steps shorter than it */
    tresp_free(&r);
    trickle_stop(&tr);
    edge_stats(t.e, &s);
    assert_int_equal(s.timed_out, 0);
    assert_int_equal(s.attempts_secondary, 0);
    tedge_stop(&t);

    trickle_start(&tr, stall, 300, 2500, 1);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", tr.port);
    memset(&t, 0, sizeof(t));
    assert_int_equal(edge_config_simple(&t.cfg, url, "us-east-1", west.url, "us-west-2", all_codes,
                                        8, 1, 1000, 1000, &err),
                     CFDR_OK);
    assert_int_equal(tedge_start(&t), CFDR_OK);
    http_get(t.url, &r);
    assert_int_not_equal(r.rc, CURLE_OK); /* truncated */
    assert_int_equal(r.status, 200);
    assert_string_equal(buf_str(&r.body), "partial");
    assert_true(r.secs >= 1.25 && r.secs < 1.9);
    tresp_free(&r);
    trickle_stop(&tr);
    assert_true(tedge_wait_requests(&t, 1, 5));
    edge_stats(t.e, &s);
    assert_int_equal(s.aborted, 1);
    assert_int_equal(s.attempts_secondary, 0);
    tedge_stop(&t);
}

/* A keep-alive origin on a thread: every request on every connection gets `answer` (sent whole);
 * it counts the connections it accepted and the requests it answered. */
struct kaorigin {
    int lfd, port;
    const char *answer;
    atomic_int accepted, answered, stop;
    pthread_t th;
};

static void *kaorigin_main(void *arg)
{
    struct kaorigin *k = arg;
    struct pollfd fds[16];
    char bufs[16][2048];
    size_t lens[16];
    int n = 1;
    double deadline = t_now() + 30;

    fds[0].fd = k->lfd;
    fds[0].events = POLLIN;
    while (!atomic_load(&k->stop) && t_now() < deadline) {
        if (poll(fds, (nfds_t)n, 50) <= 0)
            continue;
        if ((fds[0].revents & POLLIN) && n < 16) {
            int fd = accept(k->lfd, NULL, NULL);
            if (fd >= 0) {
                fds[n].fd = fd;
                fds[n].events = POLLIN;
                fds[n].revents = 0;
                lens[n++] = 0;
                atomic_fetch_add(&k->accepted, 1);
            }
        }
        for (int i = 1; i < n; i++) {
            char *end;
            ssize_t got;
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            got = recv(fds[i].fd, bufs[i] + lens[i], sizeof(bufs[i]) - 1 - lens[i], 0);
            if (got <= 0) { /* closed by the edge: forget it */
                close(fds[i].fd);
                fds[i] = fds[n - 1];
                memcpy(bufs[i], bufs[n - 1], lens[n - 1]);
                lens[i] = lens[n - 1];
                n--;
                i--;
                continue;
            }
            lens[i] += (size_t)got;
            bufs[i][lens[i]] = '\0';
            while ((end = strstr(bufs[i], "\r\n\r\n")) != NULL) { /* GETs: no bodies */
                size_t used = (size_t)(end + 4 - bufs[i]);
                send(fds[i].fd, k->answer, strlen(k->answer), MSG_NOSIGNAL);
                atomic_fetch_add(&k->answered, 1);
                memmove(bufs[i], bufs[i] + used, lens[i] - used + 1);
                lens[i] -= used;
            }
        }
    }
    for (int i = 1; i < n; i++)
        close(fds[i].fd);
    return NULL;
}

static void kaorigin_start(struct kaorigin *k, const char *answer)
{
    memset(k, 0, sizeof(*k));
    k->answer = answer;
    k->lfd = tedge_listen(16, &k->port);
    assert_int_equal(pthread_create(&k->th, NULL, kaorigin_main, k), 0);
}

static void kaorigin_stop(struct kaorigin *k)
{
    atomic_store(&k->stop, 1);
    pthread_join(k->th, NULL);
    close(k->lfd);
}

/* A primary answering 503 with a small body fails over at once and keeps its connection: ten
 * requests, one connection. One that promises a body and sends none fails over within a few ms
 * (not at the response timeout) and its connection is dropped. */
static void test_failover_on_status_keeps_the_connection(void **state)
{
    struct kaorigin k;
    struct tedge t;
    struct edge_stats s;
    char url[64], v[64];
    cfdr_err err;
    (void)state;

    kaorigin_start(&k, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\n\r\ndown\n");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", k.port);
    memset(&t, 0, sizeof(t));
    assert_int_equal(edge_config_simple(&t.cfg, url, "us-east-1", west.url, "us-west-2", all_codes,
                                        8, 1, 1000, 1000, &err),
                     CFDR_OK);
    assert_int_equal(tedge_start(&t), CFDR_OK);
    for (int i = 0; i < 10; i++) {
        struct tresp r;
        http_get(t.url, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(tresp_header(&r, "x-region", v, sizeof(v)), "west");
        tresp_free(&r);
    }
    assert_int_equal(atomic_load(&k.answered), 10);
    assert_int_equal(atomic_load(&k.accepted), 1);
    edge_stats(t.e, &s);
    assert_int_equal(s.failovers_status, 10);
    tedge_stop(&t);
    kaorigin_stop(&k);

    kaorigin_start(&k, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100\r\n\r\n");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", k.port);
    memset(&t, 0, sizeof(t));
    assert_int_equal(edge_config_simple(&t.cfg, url, "us-east-1", west.url, "us-west-2", all_codes,
                                        8, 1, 1000, 1000, &err),
                     CFDR_OK);
    assert_int_equal(tedge_start(&t), CFDR_OK);
    for (int i = 0; i < 3; i++) {
        struct tresp r;
        http_get(t.url, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(tresp_header(&r, "x-region", v, sizeof(v)), "west");
        assert_true(r.secs < 0.5);
        tresp_free(&r);
    }
    assert_int_equal(atomic_load(&k.accepted), 3);
    edge_stats(t.e, &s);
    assert_int_equal(s.failovers_status, 3);
    assert_int_equal(s.timed_out, 0);
    tedge_stop(&t);
    kaorigin_stop(&k);
}

/* A fresh connection reset after the request went out: GET is re-sent (and fails over), a POST
 * is not re-sent (the origin may have acted on it): 502 after one attempt. */
static void test_connection_reset_after_request(void **state)
{
    struct tedge t;
    struct tresp r;
    struct edge_stats s;
    char url[128];
    (void)state;
    start_edge(&t);
    snprintf(url, sizeof(url), "%s/x/reset", t.url);
    http_get(url, &r);
    assert_int_equal(r.status, 502);
    tresp_free(&r);
    edge_stats(t.e, &s);
    assert_int_equal(s.connect_failed, 4); /* 2 attempts on each origin */
    assert_int_equal(s.failovers_connect, 1);
    snprintf(url, sizeof(url), "%s/echo/reset", t.url);
    http_req("POST", url, NULL, "x", 1, 5000, &r);
    assert_int_equal(r.status, 502);
    tresp_free(&r);
    edge_stats(t.e, &s);
    assert_int_equal(s.connect_failed, 5);
    assert_int_equal(s.attempts_primary, 3);
    /* both 502s count as 5xx responses (the local edge-5xx alarm reads this) */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", t.admin);
    http_get(url, &r);
    assert_int_equal(r.status, 200);
    assert_true(metric(buf_str(&r.body), "cfdr_edge_responses_total{status_class=\"5xx\"}") == 2);
    tresp_free(&r);
    tedge_stop(&t);
}

static void test_reused_connection_closed_by_origin_is_no_outage(void **state)
{
    struct tedge t;
    struct edge_stats s;
    (void)state;
    start_edge(&t);
    /* the origin answers one request per connection and closes a reused one unanswered */
    origin_mode(&east, "m=oneshot");
    for (int i = 0; i < 20; i++) {
        struct tresp r;
        char v[64];
        http_get(t.url, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(tresp_header(&r, "x-region", v, sizeof(v)), "east");
        tresp_free(&r);
    }
    edge_stats(t.e, &s);
    assert_int_equal(s.connect_failed, 0);
    assert_int_equal(s.failovers_status + s.failovers_connect + s.failovers_timeout, 0);
    /* an origin that starts refusing is seen as refusing, cached connections or not */
    origin_mode(&east, "m=ok");
    for (int i = 0; i < 5; i++) {
        struct tresp r;
        http_get(t.url, &r);
        tresp_free(&r);
    }
    origin_mode(&east, "m=refuse");
    {
        struct tresp r;
        char v[64];
        http_get(t.url, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(tresp_header(&r, "x-region", v, sizeof(v)), "west");
        tresp_free(&r);
    }
    edge_stats(t.e, &s);
    assert_int_equal(s.connect_failed, 2);
    assert_int_equal(s.failovers_connect, 1);
    tedge_stop(&t);
}

/* edge_free() with requests in flight on two workers: stops at once, viewers see the close. */
static void test_free_with_requests_in_flight(void **state)
{
    struct tedge t;
    struct edge_stats s;
    int fds[6];
    double t0, deadline;
    cfdr_err err;
    (void)state;
    memset(&t, 0, sizeof(t));
    assert_int_equal(edge_config_simple(&t.cfg, east.url, "us-east-1", west.url, "us-west-2",
                                        all_codes, 8, 2, 1000, 5000, &err),
                     CFDR_OK);
    t.opt.workers = 2;
    assert_int_equal(tedge_start(&t), CFDR_OK);
    origin_mode(&east, "m=slow&delay_ms=10000");
    for (int i = 0; i < 6; i++) {
        fds[i] = raw_connect(t.port);
        raw_send(fds[i], "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    deadline = t_now() + 5;
    do {
        edge_stats(t.e, &s);
        usleep(5000);
    } while (s.in_flight < 6 && t_now() < deadline);
    assert_int_equal(s.in_flight, 6);
    t0 = t_now();
    tedge_stop(&t);
    assert_true(t_now() - t0 < 1.0);
    for (int i = 0; i < 6; i++) {
        char c;
        ssize_t n = raw_read(fds[i], &c, 1, 2000);
        assert_true(n == 0 || n == -1); /* closed (EOF or reset), not left hanging */
        close(fds[i]);
    }
}

/* The value of the sample whose line starts with prefix (name and labels), or -1. */
static double metric(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
            return atof(p + n + 1);
    return -1;
}

/* Every line is a comment (# HELP/# TYPE) or `name{labels} value` in the 0.0.4 format. */
static void assert_prometheus_text(const char *text)
{
    int samples = 0;
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        char line[1024], name[256], rest[768];
        assert_non_null(eol);
        snprintf(line, sizeof(line), "%.*s", (int)(eol - p), p);
        if (line[0] == '#') {
            assert_true(strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0);
        } else {
            char *sp = strrchr(line, ' ');
            char *end;
            assert_non_null(sp);
            strtod(sp + 1, &end);
            assert_true(*end == '\0' && end != sp + 1);
            *sp = '\0';
            assert_int_equal(sscanf(line, "%255[a-z_]%767s", name, rest) >= 1, 1);
            assert_true(strncmp(name, "cfdr_edge_", 10) == 0);
            if (strchr(line, '{')) {
                assert_true(line[strlen(line) - 1] == '}');
            }
            samples++;
        }
        p = eol + 1;
    }
    assert_true(samples > 20);
}

static void test_metrics_and_access_log(void **state)
{
    struct tedge t;
    struct tresp r;
    char url[128];
    const char *m;
    (void)state;
    start_edge(&t);
    http_get(t.url, &r); /* ok, from the primary */
    tresp_free(&r);
    origin_mode(&east, "m=status&code=503");
    http_get(t.url, &r); /* failover on status */
    tresp_free(&r);
    http_req("POST", t.url, NULL, "x", 1, 5000, &r); /* forbidden */
    tresp_free(&r);
    origin_mode(&east, "m=ok");
    assert_true(tedge_wait_requests(&t, 3, 5));

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", t.admin);
    http_get(url, &r);
    assert_int_equal(r.status, 200);
    m = buf_str(&r.body);
    assert_prometheus_text(m);
    assert_true(metric(m, "cfdr_edge_requests_total{outcome=\"ok\"}") == 1);
    assert_true(metric(m, "cfdr_edge_requests_total{outcome=\"failover_ok\"}") == 1);
    assert_true(metric(m, "cfdr_edge_requests_total{outcome=\"forbidden\"}") == 1);
    assert_true(metric(m, "cfdr_edge_requests_total{outcome=\"error_502\"}") == 0);
    /* by status class: what CloudFront's 4xxErrorRate / 5xxErrorRate count (local alarms) */
    assert_true(metric(m, "cfdr_edge_responses_total{status_class=\"2xx\"}") == 2);
    assert_true(metric(m, "cfdr_edge_responses_total{status_class=\"4xx\"}") == 1);
    assert_true(metric(m, "cfdr_edge_responses_total{status_class=\"5xx\"}") == 0);
    assert_true(metric(m, "cfdr_edge_failovers_total{reason=\"status\"}") == 1);
    assert_true(metric(m, "cfdr_edge_origin_attempts_total{origin=\"primary\",origin_id="
                          "\"primary\",region=\"us-east-1\",result=\"response\"}") == 2);
    assert_true(metric(m, "cfdr_edge_origin_attempts_total{origin=\"secondary\",origin_id="
                          "\"secondary\",region=\"us-west-2\",result=\"response\"}") == 1);
    assert_true(metric(m, "cfdr_edge_origin_latency_seconds_count{origin=\"primary\",origin_id="
                          "\"primary\",region=\"us-east-1\"}") == 2);
    assert_true(metric(m, "cfdr_edge_origin_latency_seconds_bucket{origin=\"primary\",origin_id="
                          "\"primary\",region=\"us-east-1\",le=\"+Inf\"}") == 2);
    assert_true(metric(m, "cfdr_edge_origin_latency_seconds_bucket{origin=\"primary\",origin_id="
                          "\"primary\",region=\"us-east-1\",le=\"60\"}") == 2);
    assert_true(metric(m, "cfdr_edge_requests_in_flight") == 0);
    tresp_free(&r);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", t.admin);
    http_get(url, &r);
    assert_int_equal(r.status, 200);
    tresp_free(&r);

    /* one JSON line per request, attempts listed */
    assert_int_equal(tedge_nlines(&t), 3);
    {
        json_object *l0 = json_tokener_parse(t.lines[0]);
        json_object *l1 = json_tokener_parse(t.lines[1]);
        json_object *l2 = json_tokener_parse(t.lines[2]);
        json_object *a;
        assert_non_null(l0);
        assert_non_null(l1);
        assert_non_null(l2);
        assert_true(is_cf_id(json_object_get_string(json_object_object_get(l0, "id"))));
        assert_string_equal(json_object_get_string(json_object_object_get(l0, "outcome")), "ok");
        assert_string_equal(json_object_get_string(json_object_object_get(l0, "method")), "GET");
        assert_string_equal(json_object_get_string(json_object_object_get(l0, "path")), "/");
        assert_int_equal(json_object_get_int(json_object_object_get(l0, "status")), 200);
        assert_int_equal(json_object_array_length(json_object_object_get(l0, "attempts")), 1);
        assert_non_null(json_object_object_get(l0, "time"));
        assert_non_null(json_object_object_get(l0, "duration_ms"));
        assert_int_equal(json_object_get_int(json_object_object_get(l0, "bytes")),
                         (int)strlen("hello from east\n"));
        a = json_object_object_get(l1, "attempts");
        assert_int_equal(json_object_array_length(a), 2);
        assert_string_equal(json_object_get_string(
                                json_object_object_get(json_object_array_get_idx(a, 0), "result")),
                            "response");
        assert_int_equal(
            json_object_get_int(json_object_object_get(json_object_array_get_idx(a, 0), "status")),
            503);
        assert_string_equal(json_object_get_string(
                                json_object_object_get(json_object_array_get_idx(a, 1), "origin")),
                            "secondary");
        assert_string_equal(json_object_get_string(json_object_object_get(l1, "failover_reason")),
                            "status");
        assert_string_equal(json_object_get_string(json_object_object_get(l1, "served_by")),
                            "secondary");
        assert_string_equal(json_object_get_string(json_object_object_get(l2, "outcome")),
                            "forbidden");
        assert_int_equal(json_object_array_length(json_object_object_get(l2, "attempts")), 0);
        json_object_put(l0);
        json_object_put(l1);
        json_object_put(l2);
    }
    tedge_stop(&t);
}

static void test_config_validation(void **state)
{
    struct edge_config c;
    cfdr_err err;
    (void)state;
    assert_int_equal(edge_config_simple(&c, "http://127.0.0.1:1", NULL, "http://127.0.0.1:2", NULL,
                                        all_codes, 8, 3, 10000, 30000, &err),
                     CFDR_OK);
    c.behaviors[0].methods = EDGE_METHODS_ALL;
    assert_int_equal(edge_config_validate(&c, &err), CFDR_E_CONFIG);
    assert_non_null(strstr(err.msg, "behaviors[0]"));
    assert_non_null(strstr(err.msg, "GET, HEAD and OPTIONS"));
    c.behaviors[0].methods = EDGE_METHODS_GET_HEAD;
    snprintf(c.groups[0].secondary, sizeof(c.groups[0].secondary), "nope");
    assert_int_equal(edge_config_validate(&c, &err), CFDR_E_CONFIG);
    assert_non_null(strstr(err.msg, "origin_groups[0].secondary"));
    assert_non_null(strstr(err.msg, "nope"));
    snprintf(c.groups[0].secondary, sizeof(c.groups[0].secondary), "secondary");
    snprintf(c.behaviors[0].target, sizeof(c.behaviors[0].target), "missing");
    assert_int_equal(edge_config_validate(&c, &err), CFDR_E_CONFIG);
    assert_non_null(strstr(err.msg, "behaviors[0].target"));
    snprintf(c.behaviors[0].target, sizeof(c.behaviors[0].target), "group");
    c.groups[0].failover_codes[0] = 418;
    assert_int_equal(edge_config_validate(&c, &err), CFDR_E_CONFIG);
    assert_non_null(strstr(err.msg, "418"));
    c.groups[0].failover_codes[0] = 400;
    c.origins[0].connection_attempts = 4;
    assert_int_equal(edge_config_validate(&c, &err), CFDR_E_CONFIG);
    assert_non_null(strstr(err.msg, "origins[0].connection_attempts"));
    c.origins[0].connection_attempts = 3;
    snprintf(c.origins[1].url, sizeof(c.origins[1].url), "ftp://x");
    assert_int_equal(edge_config_validate(&c, &err), CFDR_E_CONFIG);
    assert_non_null(strstr(err.msg, "origins[1].url"));
    snprintf(c.origins[1].url, sizeof(c.origins[1].url), "http://127.0.0.1:2");
    assert_int_equal(edge_config_validate(&c, &err), CFDR_OK);

    /* CloudFront path patterns */
    assert_true(edge_path_match("*", "/anything/at/all"));
    assert_true(edge_path_match("/images/*.jpg", "/images/a/b.jpg"));
    assert_true(edge_path_match("images/*.jpg", "/images/b.jpg"));
    assert_false(edge_path_match("/images/*.jpg", "/images/b.JPG"));
    assert_true(edge_path_match("/a?c", "/abc"));
    assert_false(edge_path_match("/a?c", "/ac"));
    assert_false(edge_path_match("/api/*", "/apix"));
    assert_true(edge_path_match("/api*", "/api"));
    assert_true(edge_methods_allow(EDGE_METHODS_GET_HEAD, "HEAD"));
    assert_false(edge_methods_allow(EDGE_METHODS_GET_HEAD, "OPTIONS"));
    assert_true(edge_methods_allow(EDGE_METHODS_GET_HEAD_OPTIONS, "OPTIONS"));
    assert_false(edge_methods_allow(EDGE_METHODS_GET_HEAD_OPTIONS, "POST"));
    assert_true(edge_methods_allow(EDGE_METHODS_ALL, "DELETE"));
    assert_false(edge_methods_allow(EDGE_METHODS_ALL, "TRACE"));
}

/* edge_run() with two workers, stopped through its flag. */
struct run_args {
    struct edge_config cfg;
    struct edge_options opt;
    volatile sig_atomic_t stop;
    atomic_int port;
    cfdr_code rc;
};

static void run_ready(void *ud, int port, int admin)
{
    struct run_args *a = ud;
    (void)admin;
    atomic_store(&a->port, port);
}

static void *run_thread(void *arg)
{
    struct run_args *a = arg;
    cfdr_err err;
    a->rc = edge_run(&a->opt, &a->stop, &err);
    return NULL;
}

static void test_edge_run_with_two_workers(void **state)
{
    struct run_args a;
    pthread_t th;
    cfdr_err err;
    char url[64];
    double deadline = t_now() + 5;
    int east_n = 0;
    (void)state;
    memset(&a, 0, sizeof(a));
    assert_int_equal(edge_config_simple(&a.cfg, east.url, "us-east-1", west.url, "us-west-2",
                                        all_codes, 8, 2, 1000, 1000, &err),
                     CFDR_OK);
    a.opt.config = &a.cfg;
    a.opt.workers = 2;
    a.opt.ready = run_ready;
    a.opt.ready_ud = &a;
    assert_int_equal(pthread_create(&th, NULL, run_thread, &a), 0);
    while (atomic_load(&a.port) == 0 && t_now() < deadline)
        usleep(5000);
    assert_true(atomic_load(&a.port) > 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", atomic_load(&a.port));
    for (int i = 0; i < 50; i++) { /* a new connection each: both workers accept some */
        struct tresp r;
        char v[64];
        http_get(url, &r);
        assert_int_equal(r.status, 200);
        east_n += strcmp(tresp_header(&r, "x-region", v, sizeof(v)), "east") == 0;
        tresp_free(&r);
    }
    assert_int_equal(east_n, 50);
    a.stop = 1;
    pthread_join(th, NULL);
    assert_int_equal(a.rc, CFDR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_request_passes_through, setup),
        cmocka_unit_test_setup(test_request_bodies_pass_through, setup),
        cmocka_unit_test_setup(test_body_resent_on_failover, setup),
        cmocka_unit_test_setup(test_hop_by_hop_response_headers_dropped, setup),
        cmocka_unit_test_setup(test_body_reframed_for_the_viewer, setup),
        cmocka_unit_test_setup(test_informational_responses_skipped, setup),
        cmocka_unit_test_setup(test_100mb_streams_with_flat_memory, setup),
        cmocka_unit_test_setup(test_viewer_disconnects, setup),
        cmocka_unit_test_setup(test_origin_dies_or_stalls_after_reply_started, setup),
        cmocka_unit_test_setup(test_response_timeout_counts_from_the_last_bytes, setup),
        cmocka_unit_test_setup(test_failover_on_status_keeps_the_connection, setup),
        cmocka_unit_test_setup(test_connection_reset_after_request, setup),
        cmocka_unit_test_setup(test_reused_connection_closed_by_origin_is_no_outage, setup),
        cmocka_unit_test_setup(test_free_with_requests_in_flight, setup),
        cmocka_unit_test_setup(test_metrics_and_access_log, setup),
        cmocka_unit_test(test_config_validation),
        cmocka_unit_test_setup(test_edge_run_with_two_workers, setup),
    };
    signal(SIGPIPE, SIG_IGN); /* the edge writes to viewers that go away (edge.h) */
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
