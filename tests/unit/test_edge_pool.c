/* The edge's origin connections (libevent's HTTP client with a per-worker, per-origin pool of
 * kept-alive connections), on real sockets: connections are reused across requests, an origin
 * that closes a kept-alive connection between requests costs the viewer nothing (no error, no
 * failover, no failed attempt), the pool keeps no more idle connections than its limit, a slow
 * viewer of a 100 MB body holds the origin back instead of growing the edge's memory, and an
 * https:// origin is still spoken to in TLS (libcurl). */
#include "test_edge_common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* ---------------------------------------------------------------- a C origin that counts */

#define PO_MAX 64

struct porigin {
    int lfd, port;
    int delay_ms;      /* each answer goes this long after its request */
    int idle_close_ms; /* > 0: a connection idle this long after an answer is closed */
    int conn_close;    /* every answer says Connection: close, and the connection closes */
    atomic_int accepted, answered, open, idle_closed, stop;
    pthread_t th;
    char url[64];
};

struct pconn {
    int fd;
    char buf[4096];
    size_t len;
    int pending;      /* requests waiting for their answer */
    double due, last; /* when the next answer goes; when the last went */
};

static void pconn_close(struct porigin *o, struct pconn *cs, int *n, int i)
{
    close(cs[i].fd);
    cs[i] = cs[*n - 1];
    (*n)--;
    atomic_fetch_sub(&o->open, 1);
}

static void *porigin_main(void *arg)
{
    struct porigin *o = arg;
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Origin: pool\r\n\r\nok\n";
    static const char okc[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n"
                              "X-Origin: pool\r\n\r\nok\n";
    struct pconn *cs = calloc(PO_MAX, sizeof(*cs));
    struct pollfd fds[PO_MAX + 1];
    int n = 0;
    double deadline = t_now() + 60;

    while (cs && !atomic_load(&o->stop) && t_now() < deadline) {
        double now;
        fds[0].fd = o->lfd;
        fds[0].events = POLLIN;
        for (int i = 0; i < n; i++) {
            fds[i + 1].fd = cs[i].fd;
            fds[i + 1].events = POLLIN;
            fds[i + 1].revents = 0;
        }
        fds[0].revents = 0;
        poll(fds, (nfds_t)n + 1, 2);
        now = t_now();
        /* answers that are due, and idle connections to close */
        for (int i = 0; i < n; i++) {
            struct pconn *c = &cs[i];
            if (c->pending && now >= c->due) {
                const char *a = o->conn_close ? okc : ok;
                send(c->fd, a, strlen(a), MSG_NOSIGNAL);
                atomic_fetch_add(&o->answered, 1);
                c->pending--;
                c->last = now;
                c->due = now + o->delay_ms / 1000.0;
                if (o->conn_close) {
                    pconn_close(o, cs, &n, i--);
                    continue;
                }
            }
            if (!c->pending && o->idle_close_ms > 0 && c->last > 0 &&
                now - c->last >= o->idle_close_ms / 1000.0) {
                atomic_fetch_add(&o->idle_closed, 1);
                pconn_close(o, cs, &n, i--);
            }
        }
        /* new requests (fds[] is stale for connections moved above: re-check by fd) */
        for (int k = 1; k <= n && k < PO_MAX + 1; k++) {
            if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            for (int i = 0; i < n; i++) {
                struct pconn *c = &cs[i];
                ssize_t got;
                char *end;
                if (c->fd != fds[k].fd)
                    continue;
                got = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, MSG_DONTWAIT);
                if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
                    pconn_close(o, cs, &n, i);
                    break;
                }
                if (got < 0)
                    break;
                c->len += (size_t)got;
                c->buf[c->len] = '\0';
                while ((end = strstr(c->buf, "\r\n\r\n")) != NULL) { /* GETs: no bodies */
                    size_t used = (size_t)(end + 4 - c->buf);
                    if (!c->pending)
                        c->due = now + o->delay_ms / 1000.0;
                    c->pending++;
                    memmove(c->buf, c->buf + used, c->len - used + 1);
                    c->len -= used;
                }
                break;
            }
        }
        if ((fds[0].revents & POLLIN) && n < PO_MAX) {
            int fd = accept(o->lfd, NULL, NULL);
            if (fd >= 0) {
                memset(&cs[n], 0, sizeof(cs[n]));
                cs[n++].fd = fd;
                atomic_fetch_add(&o->accepted, 1);
                atomic_fetch_add(&o->open, 1);
            }
        }
    }
    for (int i = 0; i < n; i++)
        close(cs[i].fd);
    free(cs);
    return NULL;
}

static void porigin_start(struct porigin *o, int delay_ms, int idle_close_ms, int conn_close)
{
    memset(o, 0, sizeof(*o));
    o->delay_ms = delay_ms;
    o->idle_close_ms = idle_close_ms;
    o->conn_close = conn_close;
    o->lfd = tedge_listen(128, &o->port);
    snprintf(o->url, sizeof(o->url), "http://127.0.0.1:%d", o->port);
    assert_int_equal(pthread_create(&o->th, NULL, porigin_main, o), 0);
}

static void porigin_stop(struct porigin *o)
{
    atomic_store(&o->stop, 1);
    pthread_join(o->th, NULL);
    close(o->lfd);
}

/* Waits (bounded) until the origin has exactly n connections open. */
static int porigin_wait_open(struct porigin *o, int n, double max_s)
{
    double deadline = t_now() + max_s;
    do {
        if (atomic_load(&o->open) == n)
            return 1;
        usleep(5000);
    } while (t_now() < deadline);
    return 0;
}

static const int codes[] = {500, 502, 503, 504};

/* An edge with `primary` and `secondary` in a group, 1 attempt of 1 s, response timeout 2 s. */
static void start_edge(struct tedge *t, const char *primary, const char *secondary,
                       size_t keepalive)
{
    cfdr_err err;
    memset(t, 0, sizeof(*t));
    assert_int_equal(edge_config_simple(&t->cfg, primary, "us-east-1", secondary, "us-west-2",
                                        codes, 4, 1, 1000, 2000, &err),
                     CFDR_OK);
    t->opt.origin_keepalive = keepalive;
    assert_int_equal(tedge_start(t), CFDR_OK);
}

static void get_ok_from_primary(struct tedge *t)
{
    struct tresp r;
    char v[64];
    http_get(t->url, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(tresp_header(&r, "x-origin", v, sizeof(v)), "pool");
    assert_string_equal(buf_str(&r.body), "ok\n");
    tresp_free(&r);
}

static void assert_no_failure(struct tedge *t, uint64_t requests)
{
    struct edge_stats s;
    assert_true(tedge_wait_requests(t, requests, 5));
    edge_stats(t->e, &s);
    assert_int_equal(s.requests, requests);
    assert_int_equal(s.ok, requests);
    assert_int_equal(s.attempts_primary, requests);
    assert_int_equal(s.attempts_secondary, 0);
    assert_int_equal(s.connect_failed, 0);
    assert_int_equal(s.timed_out, 0);
    assert_int_equal(s.failovers_status + s.failovers_connect + s.failovers_timeout, 0);
}

/* ---------------------------------------------------------------- concurrent viewers */

struct viewers {
    const char *url;
    int per_thread;
    atomic_int ok, bad;
};

static void *viewer_main(void *arg)
{
    struct viewers *v = arg;
    for (int i = 0; i < v->per_thread; i++) {
        struct tresp r;
        http_get(v->url, &r);
        if (r.rc == CURLE_OK && r.status == 200)
            atomic_fetch_add(&v->ok, 1);
        else
            atomic_fetch_add(&v->bad, 1);
        tresp_free(&r);
    }
    return NULL;
}

/* nthreads viewers in parallel, each making per_thread requests one after the other. */
static void run_viewers(const char *url, int nthreads, int per_thread, int *ok, int *bad)
{
    pthread_t th[16];
    struct viewers v;
    memset(&v, 0, sizeof(v));
    v.url = url;
    v.per_thread = per_thread;
    assert_true(nthreads <= 16);
    for (int i = 0; i < nthreads; i++)
        assert_int_equal(pthread_create(&th[i], NULL, viewer_main, &v), 0);
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    *ok = atomic_load(&v.ok);
    *bad = atomic_load(&v.bad);
}

/* ---------------------------------------------------------------- tests */

/* One after the other, 50 requests use one origin connection; 4 viewers in parallel use at most
 * 4 (one per request in flight), and then keep using those. */
static void test_connections_reused_across_requests(void **state)
{
    struct porigin p, s;
    struct tedge t;
    int ok, bad;
    (void)state;
    porigin_start(&p, 0, 0, 0);
    porigin_start(&s, 0, 0, 0);
    start_edge(&t, p.url, s.url, 0);
    for (int i = 0; i < 50; i++)
        get_ok_from_primary(&t);
    assert_int_equal(atomic_load(&p.answered), 50);
    assert_int_equal(atomic_load(&p.accepted), 1);
    assert_no_failure(&t, 50);

    /* the origin answers after 50 ms, so that the 4 viewers' requests overlap */
    p.delay_ms = 50;
    run_viewers(t.url, 4, 10, &ok, &bad);
    assert_int_equal(ok, 40);
    assert_int_equal(bad, 0);
    assert_int_equal(atomic_load(&p.answered), 90);
    assert_true(atomic_load(&p.accepted) >= 2); /* they did overlap */
    assert_true(atomic_load(&p.accepted) <= 4);
    assert_int_equal(atomic_load(&s.accepted), 0);
    assert_no_failure(&t, 90);
    tedge_stop(&t);
    porigin_stop(&p);
    porigin_stop(&s);
}

/* The origin closes every kept-alive connection 30 ms after answering on it (a short keep-alive
 * timeout); requests come 80 ms apart, so each finds its pooled connection closed. The edge
 * notices and connects again: every viewer gets the primary's 200, nothing counts as a failed
 * attempt or a failover. Then requests come 25-35 ms apart, racing the origin's close: the same.
 * An origin that answers with Connection: close gets a new connection for every request. */
static void test_origin_closes_kept_alive_connection(void **state)
{
    struct porigin p, s;
    struct tedge t;
    (void)state;
    porigin_start(&p, 0, 30, 0);
    porigin_start(&s, 0, 0, 0);
    start_edge(&t, p.url, s.url, 0);
    for (int i = 0; i < 10; i++) {
        get_ok_from_primary(&t);
        usleep(80000);
    }
    assert_int_equal(atomic_load(&p.answered), 10);
    assert_int_equal(atomic_load(&p.accepted), 10);
    assert_true(atomic_load(&p.idle_closed) >= 9);
    assert_no_failure(&t, 10);
    for (int i = 0; i < 30; i++) {
        get_ok_from_primary(&t);
        usleep((useconds_t)(25000 + (i % 11) * 1000));
    }
    assert_int_equal(atomic_load(&p.answered), 40);
    assert_int_equal(atomic_load(&s.accepted), 0);
    assert_no_failure(&t, 40);
    tedge_stop(&t);
    porigin_stop(&p);

    porigin_start(&p, 0, 0, 1);
    start_edge(&t, p.url, s.url, 0);
    for (int i = 0; i < 10; i++)
        get_ok_from_primary(&t);
    assert_int_equal(atomic_load(&p.accepted), 10);
    assert_true(porigin_wait_open(&p, 0, 2));
    assert_no_failure(&t, 10);
    tedge_stop(&t);
    porigin_stop(&p);
    porigin_stop(&s);
}

/* A request that must not be sent twice never rides a kept-alive connection (an origin closing
 * one as it goes out cannot say whether it acted on it): each POST on a behaviour that allows it
 * gets a connection of its own, while GETs keep sharing one. */
static void test_post_never_uses_a_kept_alive_connection(void **state)
{
    struct porigin p, s;
    struct tedge t;
    struct edge_behavior *b;
    char url[160];
    cfdr_err err;
    (void)state;
    porigin_start(&p, 0, 0, 0);
    porigin_start(&s, 0, 0, 0);
    memset(&t, 0, sizeof(t));
    assert_int_equal(edge_config_simple(&t.cfg, p.url, "us-east-1", s.url, "us-west-2", codes, 4, 1,
                                        1000, 2000, &err),
                     CFDR_OK);
    t.cfg.behaviors[1] = t.cfg.behaviors[0]; /* the default stays last */
    b = &t.cfg.behaviors[0];
    snprintf(b->path_pattern, sizeof(b->path_pattern), "/api*");
    snprintf(b->target, sizeof(b->target), "primary");
    b->methods = EDGE_METHODS_ALL;
    t.cfg.nbehaviors = 2;
    assert_int_equal(tedge_start(&t), CFDR_OK);
    snprintf(url, sizeof(url), "%s/api", t.url);
    for (int i = 0; i < 3; i++)
        get_ok_from_primary(&t);
    assert_int_equal(atomic_load(&p.accepted), 1);
    for (int i = 0; i < 3; i++) {
        struct tresp r;
        http_req("POST", url, NULL, "", 0, 5000, &r);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 200);
        tresp_free(&r);
        assert_int_equal(atomic_load(&p.accepted), 2 + i);
    }
    get_ok_from_primary(&t); /* the GETs' kept-alive connection is still there */
    assert_int_equal(atomic_load(&p.accepted), 4);
    assert_int_equal(atomic_load(&s.accepted), 0);
    tedge_stop(&t);
    porigin_stop(&p);
    porigin_stop(&s);
}

/* With origin_keepalive 2, 8 requests in flight at once need 8 connections, and when they are
 * done the edge keeps 2 open and closes the other 6; the next 8 at once reuse those 2 and open 6.
 * edge_free() closes the kept ones. */
static void test_pool_keeps_at_most_its_limit(void **state)
{
    struct porigin p, s;
    struct tedge t;
    int ok, bad;
    (void)state;
    porigin_start(&p, 300, 0, 0);
    porigin_start(&s, 0, 0, 0);
    start_edge(&t, p.url, s.url, 2);
    run_viewers(t.url, 8, 1, &ok, &bad);
    assert_int_equal(ok, 8);
    assert_int_equal(bad, 0);
    assert_int_equal(atomic_load(&p.accepted), 8);
    assert_true(porigin_wait_open(&p, 2, 3));
    run_viewers(t.url, 8, 1, &ok, &bad);
    assert_int_equal(ok, 8);
    assert_int_equal(atomic_load(&p.accepted), 14);
    assert_true(porigin_wait_open(&p, 2, 3));
    assert_no_failure(&t, 16);
    tedge_stop(&t);
    assert_true(porigin_wait_open(&p, 0, 3));
    porigin_stop(&p);
    porigin_stop(&s);
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static int raw_connect(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 64 * 1024;
    assert_true(fd >= 0);
    /* a small receive buffer: the viewer, not the kernel, decides the pace */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* A viewer that reads a 100 MB body slowly all the way (256 KiB every 5 ms, about 50 MB/s)
 * from the Python origin's /bytes/N: the edge holds the origin back (its output to the viewer
 * never far above the 1 MiB watermark), its memory stays flat, the response timeout does not
 * fire while the edge itself holds the origin, and every byte arrives in order. */
static void test_slow_viewer_of_100mb_holds_the_origin(void **state)
{
    const size_t total = 100u * 1024u * 1024u;
    struct torigin o;
    struct porigin s;
    struct tedge t;
    struct edge_stats st;
    char *buf = malloc(256 * 1024), *hdr_end;
    size_t got = 0, body = 0;
    long rss0, rss_peak = 0;
    int hdr = 0, bad = 0, fd;
    double deadline;
    (void)state;

    assert_non_null(buf);
    assert_int_equal(origin_start(&o, "east"), 0);
    porigin_start(&s, 0, 0, 0);
    start_edge(&t, o.url, s.url, 0);
    rss0 = rss_kb();
    fd = raw_connect(t.port);
    {
        const char *req = "GET /bytes/104857600 HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    }
    deadline = t_now() + 60;
    while (body < total && t_now() < deadline) {
        struct pollfd pf = {fd, POLLIN, 0};
        ssize_t n;
        if (poll(&pf, 1, 5000) <= 0)
            break;
        n = recv(fd, buf + got, 256 * 1024 - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (!hdr) {
            buf[got] = '\0';
            hdr_end = strstr(buf, "\r\n\r\n");
            if (!hdr_end)
                continue;
            assert_non_null(strstr(buf, "Content-Length: 104857600"));
            hdr = 1;
            got -= (size_t)(hdr_end + 4 - buf);
            memmove(buf, hdr_end + 4, got);
        }
        for (size_t i = 0; i < got; i++)
            bad += (unsigned char)buf[i] != (unsigned char)((body + i) % 256);
        body += got;
        got = 0;
        if ((body & ((8u << 20) - 1)) < 256 * 1024) {
            long kb = rss_kb();
            if (kb > rss_peak)
                rss_peak = kb;
        }
        usleep(5000);
    }
    close(fd);
    free(buf);
    assert_int_equal(body, total);
    assert_int_equal(bad, 0);
    assert_true(tedge_wait_requests(&t, 1, 5));
    edge_stats(t.e, &st);
    assert_int_equal(st.ok, 1);
    assert_int_equal(st.timed_out, 0);
    assert_true(st.stream_high_water < 2u * 1024u * 1024u);
    assert_true(st.stream_high_water > 512u * 1024u); /* the watermark was reached */
#ifndef __SANITIZE_ADDRESS__
    /* (ASan's quarantine keeps freed memory resident, so RSS says nothing under it) */
    assert_true(rss_peak - rss0 < 20 * 1024);
#else
    (void)rss0;
#endif
    tedge_stop(&t);
    porigin_stop(&s);
    origin_stop(&o);
}

/* ---------------------------------------------------------------- https:// origins */

struct tlsprobe {
    int lfd, port;
    atomic_int accepted, tls_hellos, stop;
    pthread_t th;
};

/* Accepts connections and closes each after reading its first bytes, counting the ones that
 * open with a TLS handshake record (content type 22, version 3.x). */
static void *tlsprobe_main(void *arg)
{
    struct tlsprobe *p = arg;
    double deadline = t_now() + 30;

    while (!atomic_load(&p->stop) && t_now() < deadline) {
        struct pollfd pf = {p->lfd, POLLIN, 0};
        unsigned char b[3];
        size_t got = 0;
        double until;
        int fd;
        if (poll(&pf, 1, 20) <= 0)
            continue;
        fd = accept(p->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        atomic_fetch_add(&p->accepted, 1);
        until = t_now() + 2;
        while (got < sizeof(b) && t_now() < until) {
            struct pollfd cf = {fd, POLLIN, 0};
            ssize_t n;
            if (poll(&cf, 1, 50) <= 0)
                continue;
            n = recv(fd, b + got, sizeof(b) - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        if (got == sizeof(b) && b[0] == 22 && b[1] == 3)
            atomic_fetch_add(&p->tls_hellos, 1);
        close(fd);
    }
    return NULL;
}

/* An https:// origin is spoken to in TLS (through libcurl; the evhttp client is for http://):
 * a primary that takes the connection and closes it after the TLS ClientHello is a failed
 * connection attempt, and the request fails over to the http:// secondary. */
static void test_https_origin_gets_tls(void **state)
{
    struct tlsprobe p;
    struct porigin s;
    struct tedge t;
    struct edge_stats st;
    char url[64];
    (void)state;

    memset(&p, 0, sizeof(p));
    p.lfd = tedge_listen(16, &p.port);
    assert_int_equal(pthread_create(&p.th, NULL, tlsprobe_main, &p), 0);
    porigin_start(&s, 0, 0, 0);
    snprintf(url, sizeof(url), "https://127.0.0.1:%d", p.port);
    start_edge(&t, url, s.url, 0);

    get_ok_from_primary(&t); /* the secondary is a porigin too: X-Origin: pool */
    assert_true(tedge_wait_requests(&t, 1, 5));
    edge_stats(t.e, &st);
    assert_int_equal(st.failover_ok, 1);
    assert_int_equal(st.failovers_connect, 1);
    assert_int_equal(st.connect_failed, 1);
    assert_int_equal(atomic_load(&p.accepted), 1);
    assert_int_equal(atomic_load(&p.tls_hellos), 1);
    assert_int_equal(atomic_load(&s.answered), 1);
    tedge_stop(&t);
    atomic_store(&p.stop, 1);
    pthread_join(p.th, NULL);
    close(p.lfd);
    porigin_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connections_reused_across_requests),
        cmocka_unit_test(test_post_never_uses_a_kept_alive_connection),
        cmocka_unit_test(test_origin_closes_kept_alive_connection),
        cmocka_unit_test(test_pool_keeps_at_most_its_limit),
        cmocka_unit_test(test_slow_viewer_of_100mb_holds_the_origin),
        cmocka_unit_test(test_https_origin_gets_tls),
    };
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
