/*
 * Unit tests for edge/standin: real sockets on loopback, libcurl as the client.
 *
 * Most tests run the stand-in's event loop in a pthread (struct fx) and drive it with curl from
 * the test thread; calls into the stand-in's C API are marshalled onto the loop thread
 * (on_loop), since the stand-in is single-threaded by design. One test runs
 * standin_run_forever in a child process (this binary re-executed with --standin-child) to
 * check signals, clean exit (LeakSanitizer runs in the child) and the server's memory while it
 * streams 100 MB. Every wait is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "aws/buf.h"
#include "edge/standin.h"

#define REGION "us-east-1"
#define SERVICE "dr-demo-east"
#define HUNDRED_MB (100ull * 1024 * 1024)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- fixture: a stand-in whose loop runs in a thread -------------------------------------- */

struct fx {
    struct event_base *base;
    struct standin *s;
    pthread_t th;
    int thread_started;
    int port;
    char url[64]; /* service base URL, no trailing slash */
    char ctl[64]; /* control base URL */
};

static void *loop_main(void *arg)
{
    struct fx *f = arg;
    event_base_loop(f->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

struct call {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    void (*fn)(struct fx *, void *);
    struct fx *f;
    void *arg;
};

static void call_cb(evutil_socket_t fd, short what, void *arg)
{
    struct call *c = arg;
    (void)fd;
    (void)what;
    c->fn(c->f, c->arg);
    pthread_mutex_lock(&c->mu);
    c->done = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Runs fn on the loop thread and waits for it (10 s at most). */
static void on_loop(struct fx *f, void (*fn)(struct fx *, void *), void *arg)
{
    struct call c = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, fn, f, arg};
    struct timeval zero = {0, 0};
    struct timespec dl;
    int done;

    if (event_base_once(f->base, -1, EV_TIMEOUT, call_cb, &c, &zero) != 0) {
        fprintf(stderr, "event_base_once failed\n");
        abort();
    }
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&c.mu);
    while (!c.done)
        if (pthread_cond_timedwait(&c.cv, &c.mu, &dl) == ETIMEDOUT)
            break;
    done = c.done;
    pthread_mutex_unlock(&c.mu);
    if (!done) {
        /* c lives on this stack and the loop may still touch it: no safe way to go on. */
        fprintf(stderr, "the stand-in's event loop did not run a call within 10 s\n");
        abort();
    }
}

static void do_break(struct fx *f, void *arg)
{
    (void)arg;
    event_base_loopbreak(f->base);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct standin_options o;
    cfdr_err err;

    if (!f)
        return -1;
    *state = f;
    memset(&o, 0, sizeof(o));
    o.region = REGION;
    o.service = SERVICE;
    f->base = event_base_new();
    if (!f->base)
        return -1;
    if (standin_new(&o, f->base, &f->s, &err) != CFDR_OK) {
        fprintf(stderr, "standin_new: %s\n", err.msg);
        return -1;
    }
    f->port = standin_port(f->s);
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", f->port);
    snprintf(f->ctl, sizeof(f->ctl), "http://127.0.0.1:%d", standin_control_port(f->s));
    if (pthread_create(&f->th, NULL, loop_main, f) != 0)
        return -1;
    f->thread_started = 1;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    if (!f)
        return 0;
    if (f->thread_started) {
        on_loop(f, do_break, NULL);
        pthread_join(f->th, NULL);
    }
    standin_free(f->s);
    if (f->base)
        event_base_free(f->base);
    free(f);
    return 0;
}

struct mode_call {
    enum standin_mode mode;
    unsigned slow_ms;
    cfdr_code rc;
    cfdr_err err;
};

static void do_set_mode(struct fx *f, void *arg)
{
    struct mode_call *m = arg;
    m->rc = standin_set_mode(f->s, m->mode, m->slow_ms, &m->err);
}

static cfdr_code try_set_mode(struct fx *f, enum standin_mode mode, unsigned slow_ms, cfdr_err *err)
{
    struct mode_call m;
    memset(&m, 0, sizeof(m));
    m.mode = mode;
    m.slow_ms = slow_ms;
    on_loop(f, do_set_mode, &m);
    if (err)
        *err = m.err;
    return m.rc;
}

static void set_mode(struct fx *f, enum standin_mode mode, unsigned slow_ms)
{
    cfdr_err err;
    cfdr_code rc = try_set_mode(f, mode, slow_ms, &err);
    if (rc)
        fprintf(stderr, "standin_set_mode(%s): %s\n", standin_mode_name(mode), err.msg);
    assert_int_equal(rc, CFDR_OK);
}

struct stats_call {
    struct standin_stats st;
    enum standin_mode mode;
    uint64_t by_status[600];
};

static void do_stats(struct fx *f, void *arg)
{
    struct stats_call *c = arg;
    standin_stats(f->s, &c->st);
    c->mode = standin_mode(f->s);
    for (int i = 0; i < 600; i++)
        c->by_status[i] = standin_status_count(f->s, i);
}

static void get_stats(struct fx *f, struct stats_call *c)
{
    on_loop(f, do_stats, c);
}

/* ---- HTTP client ---------------------------------------------------------------------------- */

struct req {
    const char *method; /* NULL = GET */
    const void *body;   /* sent when non-NULL */
    size_t body_len;
    const char *const *headers; /* NULL-terminated, may be NULL */
    long timeout_ms;            /* 0 = 10 s */
    long connect_timeout_ms;    /* 0 = 5 s */
    int check_pattern;          /* verify the body against standin_pattern_byte, keep none */
    uint64_t abort_after;       /* nonzero: hang up once this many body bytes arrived */
};

struct resp {
    uint64_t abort_after;
    CURLcode rc;
    long status;
    double secs;
    struct buf body;
    struct buf headers; /* header lines of the final response */
    uint64_t nbytes;
    int pattern_bad;
    uint64_t pattern_bad_at;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct resp *r = ud;
    size_t n = size * nmemb;
    if (r->abort_after && r->nbytes + n > r->abort_after)
        return 0;
    if (r->body.max == 0) { /* pattern mode */
        for (size_t i = 0; i < n && !r->pattern_bad; i++) {
            if ((unsigned char)p[i] != standin_pattern_byte(r->nbytes + i)) {
                r->pattern_bad = 1;
                r->pattern_bad_at = r->nbytes + i;
            }
        }
    } else if (buf_add(&r->body, p, n) != CFDR_OK) {
        return 0;
    }
    r->nbytes += n;
    return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct resp *r = ud;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0)
        buf_reset(&r->headers); /* a 100 Continue came first: keep only the final headers */
    if (buf_add(&r->headers, p, n) != CFDR_OK)
        return 0;
    return n;
}

static void resp_free(struct resp *r)
{
    buf_free(&r->body);
    buf_free(&r->headers);
}

/* Runs one request; h may be a handle kept for connection reuse, or NULL. */
static void http_do(CURL *h, const char *url, const struct req *q, struct resp *r)
{
    CURL *e = h ? h : curl_easy_init();
    struct curl_slist *hl = NULL;
    double t0;

    memset(r, 0, sizeof(*r));
    buf_init(&r->body, q && q->check_pattern ? 0 : BUF_MAX_DOC);
    buf_init(&r->headers, BUF_MAX_SMALL);
    r->abort_after = q ? q->abort_after : 0;
    assert_non_null(e);
    if (h)
        curl_easy_reset(h);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, q && q->timeout_ms ? q->timeout_ms : 10000L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     q && q->connect_timeout_ms ? q->connect_timeout_ms : 5000L);
    if (q && q->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body);
    }
    if (q && q->method && strcmp(q->method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (q && q->method)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method);
    for (const char *const *p = q ? q->headers : NULL; p && *p; p++)
        hl = curl_slist_append(hl, *p);
    if (hl)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    t0 = now_s();
    r->rc = curl_easy_perform(e);
    r->secs = now_s() - t0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    if (!h)
        curl_easy_cleanup(e);
}

static void http_get(const char *url, struct resp *r)
{
    http_do(NULL, url, NULL, r);
}

/* Value of a response header (case-insensitive name), or "" when absent. */
static const char *resp_header(const struct resp *r, const char *name, char *out, size_t n)
{
    const char *p = buf_str(&r->headers);
    size_t nl = strlen(name);
    out[0] = '\0';
    while (*p) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            size_t vl;
            while (*v == ' ')
                v++;
            vl = len - (size_t)(v - p);
            if (vl >= n)
                vl = n - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return out;
        }
        p += len + (eol ? 2 : 0);
    }
    return out;
}

static void assert_served_by_us(const struct resp *r)
{
    char v[128];
    assert_string_equal(resp_header(r, "x-region", v, sizeof(v)), REGION);
    assert_string_equal(resp_header(r, "x-service", v, sizeof(v)), SERVICE);
}

static void expect_status(const char *url, long status)
{
    struct resp r;
    http_get(url, &r);
    if (r.rc != CURLE_OK)
        fprintf(stderr, "GET %s: %s\n", url, curl_easy_strerror(r.rc));
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, status);
    assert_served_by_us(&r);
    resp_free(&r);
}

static void sha256_hex(const void *p, size_t n, char hex[65])
{
    unsigned char md[32];
    unsigned len = 0;
    assert_int_equal(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL), 1);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static struct json_object *parse_json(const struct resp *r)
{
    struct json_object *o = json_tokener_parse(buf_str(&r->body));
    if (!o)
        fprintf(stderr, "not JSON: %s\n", buf_str(&r->body));
    assert_non_null(o);
    return o;
}

static const char *jstr(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int64_t jint(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return -1;
    return json_object_get_int64(v);
}

/* ---- raw sockets ---------------------------------------------------------------------------- */

/* Non-blocking connect to 127.0.0.1:port, waiting up to ms: 1 connected, 0 still pending,
 * -errno on failure. *secs gets the time waited; *fd_out the socket if wanted (else closed). */
static int raw_connect(int port, int ms, double *secs, int *fd_out)
{
    struct sockaddr_in a;
    struct pollfd p;
    int fd, rc, soerr = 0, n;
    socklen_t sl = sizeof(soerr);
    double t0 = now_s();

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    if (rc < 0 && errno != EINPROGRESS) {
        rc = -errno;
    } else if (rc == 0) {
        rc = 1;
    } else {
        p.fd = fd;
        p.events = POLLOUT;
        do
            n = poll(&p, 1, ms);
        while (n < 0 && errno == EINTR);
        if (n == 0)
            rc = 0;
        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            rc = -errno;
        else
            rc = soerr ? -soerr : 1;
    }
    if (secs)
        *secs = now_s() - t0;
    if (fd_out)
        *fd_out = fd;
    else
        close(fd);
    return rc;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Peak resident set size of a process in KiB, from /proc/<pid>/status. */
static long vm_hwm_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *fp;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    fp = fopen(path, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(fp);
    assert_true(kib > 0);
    return kib;
}

/* ---- tests without a running loop ----------------------------------------------------------- */

static void test_mode_names(void **state)
{
    enum standin_mode m;
    cfdr_err err;
    (void)state;
    for (int i = 0; i < STANDIN_MODE_COUNT; i++) {
        assert_int_equal(standin_mode_from_name(standin_mode_name((enum standin_mode)i), &m, &err),
                         CFDR_OK);
        assert_int_equal(m, i);
    }
    assert_string_equal(standin_mode_name(STANDIN_BLACKHOLE), "blackhole");
    assert_string_equal(standin_mode_name(STANDIN_MODE_COUNT), "?");
    assert_int_equal(standin_mode_from_name("Paused", &m, &err), CFDR_E_USAGE);
    assert_non_null(strstr(err.msg, "running, paused, error, refuse, blackhole or slow"));
    assert_int_equal(standin_mode_from_name(NULL, &m, &err), CFDR_E_USAGE);
    /* the pattern depends on the offset modulo 64 KiB only, and is not constant */
    assert_int_equal(standin_pattern_byte(5), standin_pattern_byte(65536 + 5));
    assert_int_not_equal(standin_pattern_byte(1), standin_pattern_byte(2));
}

static cfdr_code try_new(struct event_base *base, const char *region, const char *listen,
                         const char *control, enum standin_mode mode, struct standin **s,
                         cfdr_err *err)
{
    struct standin_options o;
    memset(&o, 0, sizeof(o));
    o.region = region;
    o.service = SERVICE;
    o.listen = listen;
    o.control = control;
    o.mode = mode;
    return standin_new(&o, base, s, err);
}

static int ipv6_loopback_usable(void)
{
    struct sockaddr_in6 a;
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;
    if (fd < 0)
        return 0;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static void test_options_rejected(void **state)
{
    struct event_base *base = event_base_new();
    struct standin *s = (struct standin *)&s, *s2 = NULL;
    cfdr_err err;
    char addr[64];
    (void)state;
    assert_non_null(base);

    assert_int_equal(try_new(base, NULL, NULL, NULL, STANDIN_RUNNING, &s, &err), CFDR_E_CONFIG);
    assert_null(s);
    assert_int_equal(try_new(base, "us east", NULL, NULL, STANDIN_RUNNING, &s, &err),
                     CFDR_E_CONFIG);
    assert_non_null(strstr(err.msg, "region"));
    assert_int_equal(try_new(base, REGION, "localhost:80", NULL, STANDIN_RUNNING, &s, &err),
                     CFDR_E_CONFIG);
    assert_non_null(strstr(err.msg, "numeric host:port"));
    assert_int_equal(try_new(base, REGION, "127.0.0.1", NULL, STANDIN_RUNNING, &s, &err),
                     CFDR_E_CONFIG);
    assert_int_equal(try_new(base, REGION, "127.0.0.1:70000", NULL, STANDIN_RUNNING, &s, &err),
                     CFDR_E_CONFIG);
    /* the control API has no authentication: loopback only (checked before any bind) */
    assert_int_equal(try_new(base, REGION, NULL, "10.1.2.3:0", STANDIN_RUNNING, &s, &err),
                     CFDR_E_CONFIG);
    assert_non_null(strstr(err.msg, "loopback"));
    assert_null(s);

    /* a port already in use is an I/O error naming the address */
    assert_int_equal(try_new(base, REGION, NULL, NULL, STANDIN_RUNNING, &s, &err), CFDR_OK);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", standin_port(s));
    assert_int_equal(try_new(base, REGION, addr, NULL, STANDIN_RUNNING, &s2, &err), CFDR_E_IO);
    assert_non_null(strstr(err.msg, addr));
    assert_null(s2);
    standin_free(s);
    standin_free(NULL);

    /* IPv6 loopback, for the service and the control port, where the host has it */
    if (ipv6_loopback_usable()) {
        assert_int_equal(try_new(base, REGION, "[::1]:0", "[::1]:0", STANDIN_BLACKHOLE, &s, &err),
                         CFDR_OK);
        assert_int_equal(standin_set_mode(s, STANDIN_RUNNING, 0, &err), CFDR_OK);
        standin_free(s);
    }

    /* an initial mode is applied at once; the port is known even when refused */
    assert_int_equal(try_new(base, REGION, NULL, NULL, STANDIN_REFUSE, &s, &err), CFDR_OK);
    assert_int_equal(standin_mode(s), STANDIN_REFUSE);
    assert_true(standin_port(s) > 0);
    assert_int_equal(raw_connect(standin_port(s), 1000, NULL, NULL), -ECONNREFUSED);
    assert_int_equal(standin_set_mode(s, STANDIN_RUNNING, 0, &err), CFDR_OK);
    /* the kernel completes the handshake before anyone accepts: no loop needed */
    assert_int_equal(raw_connect(standin_port(s), 1000, NULL, NULL), 1);
    assert_int_equal(standin_slow_ms(s), STANDIN_DEFAULT_SLOW_MS);
    assert_int_equal(standin_set_mode(s, STANDIN_SLOW, STANDIN_MAX_SLOW_MS + 1, &err),
                     CFDR_E_USAGE);
    assert_int_equal(standin_set_mode(s, (enum standin_mode)42, 0, &err), CFDR_E_USAGE);
    assert_int_equal(standin_mode(s), STANDIN_RUNNING);
    assert_string_equal(standin_region(s), REGION);
    assert_string_equal(standin_service(s), SERVICE);
    standin_free(s);
    event_base_free(base);
}

/* ---- serving -------------------------------------------------------------------------------- */

static void test_running_basics(void **state)
{
    struct fx *f = *state;
    static const char *const methods[] = {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
    struct stats_call sc;
    struct resp r, h;
    struct req q;
    char url[128], v[64];
    size_t get_len;

    snprintf(url, sizeof(url), "%s/some/path?x=1", f->url);
    http_get(url, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_served_by_us(&r);
    assert_string_equal(resp_header(&r, "content-type", v, sizeof(v)), "text/plain");
    assert_non_null(strstr(buf_str(&r.body), SERVICE));
    assert_non_null(strstr(buf_str(&r.body), REGION));
    get_len = buf_len(&r.body);
    resp_free(&r);

    memset(&q, 0, sizeof(q));
    q.method = "HEAD";
    http_do(NULL, url, &q, &h);
    assert_int_equal(h.rc, CURLE_OK);
    assert_int_equal(h.status, 200);
    assert_served_by_us(&h);
    assert_int_equal(h.nbytes, 0);
    assert_int_equal(atoi(resp_header(&h, "content-length", v, sizeof(v))), (int)get_len);
    resp_free(&h);

    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        memset(&q, 0, sizeof(q));
        q.method = methods[i];
        if (i < 2) {
            q.body = "data";
            q.body_len = 4;
        }
        http_do(NULL, url, &q, &r);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 200);
        assert_served_by_us(&r);
        resp_free(&r);
    }

    snprintf(url, sizeof(url), "%s/status/503", f->url);
    expect_status(url, 503);
    snprintf(url, sizeof(url), "%s/status/204", f->url);
    expect_status(url, 204);
    snprintf(url, sizeof(url), "%s/status/418", f->url);
    expect_status(url, 418);
    snprintf(url, sizeof(url), "%s/status/99", f->url);
    expect_status(url, 400);
    snprintf(url, sizeof(url), "%s/status/600", f->url);
    expect_status(url, 400);
    snprintf(url, sizeof(url), "%s/status/5x3", f->url);
    expect_status(url, 400);
    snprintf(url, sizeof(url), "%s/bytes/-1", f->url);
    expect_status(url, 400);
    snprintf(url, sizeof(url), "%s/delay/600001", f->url);
    expect_status(url, 400);

    snprintf(url, sizeof(url), "%s/delay/300", f->url);
    http_get(url, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_true(r.secs >= 0.3);
    assert_true(r.secs < 3.0);
    resp_free(&r);

    snprintf(url, sizeof(url), "%s/bytes/0", f->url);
    http_get(url, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.nbytes, 0);
    assert_string_equal(resp_header(&r, "content-length", v, sizeof(v)), "0");
    resp_free(&r);

    snprintf(url, sizeof(url), "%s/bytes/100000", f->url);
    memset(&q, 0, sizeof(q));
    q.method = "HEAD";
    http_do(NULL, url, &q, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.nbytes, 0);
    assert_string_equal(resp_header(&r, "content-length", v, sizeof(v)), "100000");
    resp_free(&r);
    memset(&q, 0, sizeof(q));
    q.check_pattern = 1;
    http_do(NULL, url, &q, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.nbytes, 100000);
    assert_false(r.pattern_bad);
    assert_string_equal(resp_header(&r, "content-type", v, sizeof(v)), "application/octet-stream");
    resp_free(&r);

    /* 1 GET + 1 HEAD + 5 methods + 8 status/bad + delay + bytes/0 + HEAD + GET bytes */
    get_stats(f, &sc);
    assert_int_equal(sc.st.requests, 19);
    assert_int_equal(sc.st.by_mode[STANDIN_RUNNING], 19);
    assert_int_equal(sc.st.responses, 19);
    assert_int_equal(sc.by_status[200], 11);
    assert_int_equal(sc.by_status[503], 1);
    assert_int_equal(sc.by_status[204], 1);
    assert_int_equal(sc.by_status[418], 1);
    assert_int_equal(sc.by_status[400], 5);
    assert_int_equal(sc.st.stream_bytes, 100000);
}

static void test_echo(void **state)
{
    struct fx *f = *state;
    static const char *const hdrs[] = {"Host: origin.example:8443",
                                       "X-First: one",
                                       "X-Dup: 1",
                                       "X-Dup: 2",
                                       "X-Odd: \"quoted\" \\ value",
                                       NULL};
    struct json_object *o, *hs, *pair;
    struct resp r;
    struct req q;
    char url[160], hex[65], v[32];
    const size_t big = 1024 * 1024;
    unsigned char *body;
    int host_at = -1, first_at = -1, dup1_at = -1, dup2_at = -1, odd_ok = 0, cl_ok = 0;

    snprintf(url, sizeof(url), "%s/echo?a=1&b=%%20x&empty=&c=%%2F", f->url);
    memset(&q, 0, sizeof(q));
    q.headers = hdrs;
    http_do(NULL, url, &q, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_served_by_us(&r);
    assert_string_equal(resp_header(&r, "content-type", v, sizeof(v)), "application/json");
    o = parse_json(&r);
    assert_string_equal(jstr(o, "method"), "GET");
    assert_string_equal(jstr(o, "path"), "/echo");
    assert_string_equal(jstr(o, "query"), "a=1&b=%20x&empty=&c=%2F");
    assert_int_equal(jint(o, "body_length"), 0);
    sha256_hex("", 0, hex);
    assert_string_equal(jstr(o, "body_sha256"), hex);
    assert_string_equal(jstr(o, "region"), REGION);
    assert_string_equal(jstr(o, "service"), SERVICE);
    assert_true(json_object_object_get_ex(o, "headers", &hs));
    assert_true(json_object_is_type(hs, json_type_array));
    for (int i = 0; i < (int)json_object_array_length(hs); i++) {
        const char *k, *val;
        pair = json_object_array_get_idx(hs, (size_t)i);
        assert_int_equal(json_object_array_length(pair), 2);
        k = json_object_get_string(json_object_array_get_idx(pair, 0));
        val = json_object_get_string(json_object_array_get_idx(pair, 1));
        if (!strcasecmp(k, "Host") && !strcmp(val, "origin.example:8443"))
            host_at = i;
        if (!strcmp(k, "X-First") && !strcmp(val, "one"))
            first_at = i;
        if (!strcmp(k, "X-Dup") && !strcmp(val, "1"))
            dup1_at = i;
        if (!strcmp(k, "X-Dup") && !strcmp(val, "2"))
            dup2_at = i;
        if (!strcmp(k, "X-Odd") && !strcmp(val, "\"quoted\" \\ value"))
            odd_ok = 1;
    }
    assert_true(host_at >= 0);
    assert_true(first_at >= 0);
    assert_true(first_at < dup1_at);
    assert_true(dup1_at < dup2_at);
    assert_true(odd_ok);
    json_object_put(o);
    resp_free(&r);

    /* a 1 MiB body (curl sends Expect: 100-continue for it) */
    body = malloc(big);
    assert_non_null(body);
    for (size_t i = 0; i < big; i++)
        body[i] = (unsigned char)((i * 7 + i / 251) & 0xff);
    sha256_hex(body, big, hex);
    snprintf(url, sizeof(url), "%s/echo", f->url);
    memset(&q, 0, sizeof(q));
    q.method = "POST";
    q.body = body;
    q.body_len = big;
    http_do(NULL, url, &q, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    o = parse_json(&r);
    assert_string_equal(jstr(o, "method"), "POST");
    assert_int_equal(jint(o, "body_length"), (int64_t)big);
    assert_string_equal(jstr(o, "body_sha256"), hex);
    assert_true(json_object_object_get_ex(o, "query", &pair));
    assert_true(json_object_is_type(pair, json_type_null));
    assert_true(json_object_object_get_ex(o, "headers", &hs));
    for (size_t i = 0; i < json_object_array_length(hs); i++) {
        pair = json_object_array_get_idx(hs, i);
        if (!strcasecmp(json_object_get_string(json_object_array_get_idx(pair, 0)),
                        "Content-Length") &&
            !strcmp(json_object_get_string(json_object_array_get_idx(pair, 1)), "1048576"))
            cl_ok = 1;
    }
    assert_true(cl_ok);
    json_object_put(o);
    resp_free(&r);
    free(body);

    memset(&q, 0, sizeof(q));
    q.method = "PUT";
    q.body = "hello";
    q.body_len = 5;
    http_do(NULL, url, &q, &r);
    assert_int_equal(r.status, 200);
    o = parse_json(&r);
    assert_string_equal(jstr(o, "method"), "PUT");
    sha256_hex("hello", 5, hex);
    assert_string_equal(jstr(o, "body_sha256"), hex);
    json_object_put(o);
    resp_free(&r);

    /* libevent does not read a GET body: the echo says so and the connection closes */
    memset(&q, 0, sizeof(q));
    q.method = "GET";
    q.body = "ignored";
    q.body_len = 7;
    http_do(NULL, url, &q, &r);
    assert_int_equal(r.status, 200);
    o = parse_json(&r);
    assert_true(json_object_object_get_ex(o, "body_read", &pair));
    assert_false(json_object_get_boolean(pair));
    assert_string_equal(resp_header(&r, "connection", v, sizeof(v)), "close");
    json_object_put(o);
    resp_free(&r);
}

static void test_bytes_100mb_streams_flat(void **state)
{
    struct fx *f = *state;
    struct stats_call sc;
    struct resp r;
    struct req q;
    char url[128], v[32];
    long hwm0, hwm1;

    snprintf(url, sizeof(url), "%s/bytes/%llu", f->url, HUNDRED_MB);
    memset(&q, 0, sizeof(q));
    q.check_pattern = 1;
    q.timeout_ms = 120000;
    hwm0 = vm_hwm_kib(getpid());
    http_do(NULL, url, &q, &r);
    hwm1 = vm_hwm_kib(getpid());
    if (r.rc != CURLE_OK)
        fprintf(stderr, "GET %s: %s\n", url, curl_easy_strerror(r.rc));
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_served_by_us(&r);
    assert_string_equal(resp_header(&r, "content-length", v, sizeof(v)), "104857600");
    assert_int_equal(r.nbytes, HUNDRED_MB);
    if (r.pattern_bad)
        fprintf(stderr, "pattern mismatch at byte %llu\n", (unsigned long long)r.pattern_bad_at);
    assert_false(r.pattern_bad);
    resp_free(&r);

    get_stats(f, &sc);
    assert_int_equal(sc.st.stream_bytes, HUNDRED_MB);
    /* the stand-in never queued more than its 256 KiB step (plus headers) on the socket */
    assert_true(sc.st.stream_queue_max > 0);
    assert_true(sc.st.stream_queue_max <= 1024 * 1024);
    /* client and server share this process; the client keeps nothing, so a server holding
     * the body would show as 100 MB of peak RSS */
    assert_true(hwm1 - hwm0 < 32 * 1024);
}

/* ---- modes ---------------------------------------------------------------------------------- */

static void test_paused_and_error(void **state)
{
    struct fx *f = *state;
    struct stats_call sc;
    struct resp r;
    struct req q;
    char url[128], v[64];

    set_mode(f, STANDIN_PAUSED, 0);
    snprintf(url, sizeof(url), "%s/", f->url);
    http_get(url, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 404);
    assert_served_by_us(&r);
    assert_string_equal(resp_header(&r, "server", v, sizeof(v)), "envoy");
    assert_string_equal(buf_str(&r.body), "404 Not Found\n");
    resp_free(&r);
    snprintf(url, sizeof(url), "%s/echo", f->url);
    memset(&q, 0, sizeof(q));
    q.method = "POST";
    q.body = "x";
    q.body_len = 1;
    http_do(NULL, url, &q, &r);
    assert_int_equal(r.status, 404);
    assert_served_by_us(&r);
    resp_free(&r);

    set_mode(f, STANDIN_ERROR, 0);
    snprintf(url, sizeof(url), "%s/", f->url);
    expect_status(url, 503);
    memset(&q, 0, sizeof(q));
    q.method = "HEAD";
    http_do(NULL, url, &q, &r);
    assert_int_equal(r.status, 503);
    assert_served_by_us(&r);
    resp_free(&r);

    set_mode(f, STANDIN_RUNNING, 0);
    expect_status(url, 200);
    assert_int_equal(standin_port(f->s), f->port);

    get_stats(f, &sc);
    assert_int_equal(sc.st.by_mode[STANDIN_PAUSED], 2);
    assert_int_equal(sc.st.by_mode[STANDIN_ERROR], 2);
    assert_int_equal(sc.st.by_mode[STANDIN_RUNNING], 1);
    assert_int_equal(sc.by_status[404], 2);
    assert_int_equal(sc.by_status[503], 2);
}

static void test_refuse(void **state)
{
    struct fx *f = *state;
    struct stats_call sc;
    CURL *keep = curl_easy_init();
    struct resp r;
    char url[128];
    int fd, n;
    char c;
    double secs;
    struct pollfd p;
    static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    assert_non_null(keep);
    snprintf(url, sizeof(url), "%s/", f->url);
    http_do(keep, url, NULL, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    /* an idle connection opened before the outage, on which no request was sent yet */
    assert_int_equal(raw_connect(f->port, 2000, NULL, &fd), 1);
    usleep(100 * 1000);

    set_mode(f, STANDIN_REFUSE, 0);
    http_get(url, &r);
    assert_int_equal(r.rc, CURLE_COULDNT_CONNECT);
    assert_true(r.secs < 1.0);
    resp_free(&r);
    /* the kept-alive connection died with the "process": curl has to reconnect, and cannot */
    http_do(keep, url, NULL, &r);
    assert_int_equal(r.rc, CURLE_COULDNT_CONNECT);
    resp_free(&r);
    assert_int_equal(raw_connect(f->port, 1000, &secs, NULL), -ECONNREFUSED);
    assert_true(secs < 0.5);
    /* a request on the older connection is not answered: the connection closes */
    assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));
    p.fd = fd;
    p.events = POLLIN;
    assert_int_equal(poll(&p, 1, 3000), 1);
    n = (int)read(fd, &c, 1);
    assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
    close(fd);
    get_stats(f, &sc);
    assert_true(sc.st.connections_dropped >= 1);
    assert_int_equal(sc.mode, STANDIN_REFUSE);

    set_mode(f, STANDIN_RUNNING, 0);
    expect_status(url, 200);
    http_do(keep, url, NULL, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    curl_easy_cleanup(keep);
}

static void test_blackhole(void **state)
{
    struct fx *f = *state;
    struct stats_call sc;
    CURL *keep = curl_easy_init();
    struct resp r;
    struct req q;
    char url[128];
    double secs;
    int fds0, fd;

    assert_non_null(keep);
    snprintf(url, sizeof(url), "%s/", f->url);
    http_do(keep, url, NULL, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    fds0 = count_fds();

    for (int round = 0; round < 2; round++) {
        set_mode(f, STANDIN_BLACKHOLE, 0);
        assert_true(count_fds() > fds0); /* the blackhole listener and its dummy */

        /* the kernel neither refuses nor completes the handshake: connect() just waits */
        assert_int_equal(raw_connect(f->port, 1000, &secs, &fd), 0);
        assert_true(secs >= 0.9 && secs <= 1.5);
        close(fd);

        memset(&q, 0, sizeof(q));
        q.connect_timeout_ms = 1000;
        http_do(NULL, url, &q, &r);
        assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
        assert_int_equal(r.status, 0);
        assert_true(r.secs >= 0.9 && r.secs <= 2.0);
        resp_free(&r);

        /* a request on a connection opened before is never answered */
        memset(&q, 0, sizeof(q));
        q.timeout_ms = 1000;
        http_do(keep, url, &q, &r);
        assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
        assert_int_equal(r.status, 0);
        resp_free(&r);

        set_mode(f, STANDIN_RUNNING, 0);
        expect_status(url, 200);
        http_do(keep, url, NULL, &r);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 200);
        resp_free(&r);
        assert_int_equal(count_fds(), fds0); /* dummies and listener closed */
    }
    get_stats(f, &sc);
    assert_true(sc.st.requests_held >= 1);
    assert_int_equal(standin_port(f->s), f->port);
    curl_easy_cleanup(keep);
}

static void test_blackhole_then_refuse(void **state)
{
    struct fx *f = *state;
    char url[128];

    snprintf(url, sizeof(url), "%s/", f->url);
    set_mode(f, STANDIN_BLACKHOLE, 0);
    set_mode(f, STANDIN_REFUSE, 0);
    assert_int_equal(raw_connect(f->port, 1000, NULL, NULL), -ECONNREFUSED);
    set_mode(f, STANDIN_BLACKHOLE, 0);
    assert_int_equal(raw_connect(f->port, 300, NULL, NULL), 0);
    set_mode(f, STANDIN_PAUSED, 0);
    expect_status(url, 404);
    set_mode(f, STANDIN_RUNNING, 0);
    expect_status(url, 200);
}

static void test_slow(void **state)
{
    struct fx *f = *state;
    struct resp r;
    char url[128];

    snprintf(url, sizeof(url), "%s/echo", f->url);
    set_mode(f, STANDIN_SLOW, 1500);
    http_get(url, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_served_by_us(&r);
    assert_true(r.secs >= 1.5);
    assert_true(r.secs < 4.0);
    resp_free(&r);

    /* a client with a shorter response timeout gives up, as CloudFront would */
    {
        struct req q;
        memset(&q, 0, sizeof(q));
        q.timeout_ms = 500;
        http_do(NULL, url, &q, &r);
        assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
        resp_free(&r);
    }

    set_mode(f, STANDIN_RUNNING, 0);
    http_get(url, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.secs < 1.0);
    resp_free(&r);
}

static void test_port_taken_while_down(void **state)
{
    struct fx *f = *state;
    struct stats_call sc;
    struct sockaddr_in a;
    cfdr_err err;
    char url[128];
    int thief, on = 1;

    set_mode(f, STANDIN_REFUSE, 0);
    thief = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(thief >= 0);
    assert_int_equal(setsockopt(thief, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)), 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)f->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(thief, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(thief, 8), 0);

    assert_int_equal(try_set_mode(f, STANDIN_RUNNING, 0, &err), CFDR_E_IO);
    assert_non_null(strstr(err.msg, "another process took it"));
    assert_int_equal(try_set_mode(f, STANDIN_BLACKHOLE, 0, &err), CFDR_E_IO);
    get_stats(f, &sc);
    assert_int_equal(sc.mode, STANDIN_REFUSE);

    close(thief);
    set_mode(f, STANDIN_RUNNING, 0);
    snprintf(url, sizeof(url), "%s/", f->url);
    expect_status(url, 200);
}

/* Waits (3 s at most) until the stand-in has no open service connection left. */
static void wait_no_connections(struct fx *f)
{
    struct stats_call sc;
    for (int i = 0; i < 300; i++) {
        get_stats(f, &sc);
        if (sc.st.open_connections == 0)
            return;
        usleep(10 * 1000);
    }
    fail_msg("%llu service connections still open after 3 s",
             (unsigned long long)sc.st.open_connections);
}

static void test_clients_that_go_away(void **state)
{
    struct fx *f = *state;
    struct stats_call sc;
    struct resp r;
    struct req q;
    char url[128], *big;
    const char *hdrs[2];

    /* hang up in the middle of a 100 MB stream: the stand-in notices on its next write */
    snprintf(url, sizeof(url), "%s/bytes/%llu", f->url, HUNDRED_MB);
    memset(&q, 0, sizeof(q));
    q.check_pattern = 1;
    q.abort_after = 3 * 1024 * 1024;
    http_do(NULL, url, &q, &r);
    assert_int_equal(r.rc, CURLE_WRITE_ERROR);
    resp_free(&r);
    wait_no_connections(f);
    get_stats(f, &sc);
    assert_true(sc.st.stream_bytes < HUNDRED_MB);

    /* give up while the answer waits on a timer (slow mode, then /delay) */
    set_mode(f, STANDIN_SLOW, 300);
    snprintf(url, sizeof(url), "%s/", f->url);
    memset(&q, 0, sizeof(q));
    q.timeout_ms = 100;
    http_do(NULL, url, &q, &r);
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    resp_free(&r);
    set_mode(f, STANDIN_RUNNING, 0);
    snprintf(url, sizeof(url), "%s/delay/300", f->url);
    http_do(NULL, url, &q, &r);
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    resp_free(&r);
    usleep(500 * 1000);
    wait_no_connections(f);

    /* oversized request headers are refused by evhttp, and the stand-in carries on */
    big = malloc(70 * 1024);
    assert_non_null(big);
    memset(big, 'a', 70 * 1024 - 1);
    big[70 * 1024 - 1] = '\0';
    memcpy(big, "X-Big: ", 7);
    hdrs[0] = big;
    hdrs[1] = NULL;
    snprintf(url, sizeof(url), "%s/", f->url);
    memset(&q, 0, sizeof(q));
    q.headers = hdrs;
    http_do(NULL, url, &q, &r);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    free(big);

    expect_status(url, 200);
    wait_no_connections(f);
}

/* ---- control API ---------------------------------------------------------------------------- */

static struct json_object *ctl_call(struct fx *f, const char *method, const char *path,
                                    const char *body, long want_status)
{
    struct json_object *o;
    struct resp r;
    struct req q;
    char url[160];

    snprintf(url, sizeof(url), "%s%s", f->ctl, path);
    memset(&q, 0, sizeof(q));
    q.method = method;
    q.body = body;
    q.body_len = body ? strlen(body) : 0;
    http_do(NULL, url, &q, &r);
    assert_int_equal(r.rc, CURLE_OK);
    if (r.status != want_status)
        fprintf(stderr, "%s %s: %ld %s\n", method, path, r.status, buf_str(&r.body));
    assert_int_equal(r.status, want_status);
    o = parse_json(&r);
    resp_free(&r);
    return o;
}

static void test_control_api(void **state)
{
    struct fx *f = *state;
    struct json_object *o, *bm, *v;
    char url[128];
    int64_t served;

    o = ctl_call(f, "GET", "/health", NULL, 200);
    assert_string_equal(jstr(o, "status"), "ok");
    json_object_put(o);

    o = ctl_call(f, "GET", "/mode", NULL, 200);
    assert_string_equal(jstr(o, "mode"), "running");
    assert_string_equal(jstr(o, "region"), REGION);
    assert_string_equal(jstr(o, "service"), SERVICE);
    assert_int_equal(jint(o, "port"), f->port);
    assert_int_equal(jint(o, "control_port"), standin_control_port(f->s));
    assert_int_equal(jint(o, "slow_ms"), STANDIN_DEFAULT_SLOW_MS);
    served = jint(o, "requests_served");
    assert_int_equal(served, 0);
    json_object_put(o);

    o = ctl_call(f, "PUT", "/mode", "paused\n", 200);
    assert_string_equal(jstr(o, "mode"), "paused");
    json_object_put(o);
    snprintf(url, sizeof(url), "%s/", f->url);
    expect_status(url, 404);
    o = ctl_call(f, "GET", "/mode", NULL, 200);
    assert_string_equal(jstr(o, "mode"), "paused");
    assert_int_equal(jint(o, "requests_served"), served + 1);
    json_object_put(o);

    o = ctl_call(f, "PUT", "/mode", "running", 200);
    assert_string_equal(jstr(o, "mode"), "running");
    json_object_put(o);
    expect_status(url, 200);

    o = ctl_call(f, "PUT", "/mode", "bogus", 400);
    assert_non_null(strstr(jstr(o, "error"), "blackhole"));
    json_object_put(o);
    o = ctl_call(f, "PUT", "/mode", "{\"mode\":\"slow\",\"slow_ms\":0}", 400);
    json_object_put(o);
    o = ctl_call(f, "PUT", "/mode", "{\"mode\":", 400);
    json_object_put(o);
    o = ctl_call(f, "GET", "/mode", NULL, 200);
    assert_string_equal(jstr(o, "mode"), "running");
    json_object_put(o);

    o = ctl_call(f, "PUT", "/mode", "{\"mode\":\"slow\",\"slow_ms\":1500}", 200);
    assert_string_equal(jstr(o, "mode"), "slow");
    assert_int_equal(jint(o, "slow_ms"), 1500);
    json_object_put(o);
    o = ctl_call(f, "POST", "/mode?slow_ms=1200", "slow", 200);
    assert_int_equal(jint(o, "slow_ms"), 1200);
    json_object_put(o);
    assert_int_equal(standin_slow_ms(f->s), 1200);

    o = ctl_call(f, "PUT", "/mode", "refuse", 200);
    json_object_put(o);
    assert_int_equal(raw_connect(f->port, 1000, NULL, NULL), -ECONNREFUSED);
    o = ctl_call(f, "PUT", "/mode", " running ", 200);
    json_object_put(o);
    expect_status(url, 200);

    o = ctl_call(f, "DELETE", "/mode", NULL, 405);
    json_object_put(o);
    o = ctl_call(f, "GET", "/nope", NULL, 404);
    json_object_put(o);

    o = ctl_call(f, "GET", "/stats", NULL, 200);
    assert_int_equal(jint(o, "requests"), 3);
    assert_true(json_object_object_get_ex(o, "by_mode", &bm));
    assert_true(json_object_object_get_ex(bm, "paused", &v));
    assert_int_equal(json_object_get_int64(v), 1);
    assert_true(json_object_object_get_ex(o, "by_status", &bm));
    assert_true(json_object_object_get_ex(bm, "404", &v));
    assert_int_equal(json_object_get_int64(v), 1);
    assert_true(json_object_object_get_ex(bm, "200", &v));
    assert_int_equal(json_object_get_int64(v), 2);
    json_object_put(o);
}

/* ---- standin_run_forever in a child process ------------------------------------------------- */

static void child_ready(struct standin *s, void *ud)
{
    int fd = *(int *)ud;
    char line[64];
    int n = snprintf(line, sizeof(line), "%d %d\n", standin_port(s), standin_control_port(s));
    if (write(fd, line, (size_t)n) != n)
        perror("stand-in child: write");
    close(fd);
}

static int child_main(const char *fdarg)
{
    struct standin_options o;
    cfdr_err err;
    int fd = atoi(fdarg);

    memset(&o, 0, sizeof(o));
    o.region = "us-west-2";
    o.service = "dr-demo-west";
    o.on_ready = child_ready;
    o.ready_ud = &fd;
    if (standin_run_forever(&o, &err) != CFDR_OK) {
        fprintf(stderr, "stand-in child: %s\n", err.msg);
        return 1;
    }
    return 0;
}

struct child {
    pid_t pid;
};

static int child_setup(void **state)
{
    struct child *c = calloc(1, sizeof(*c));
    *state = c;
    return c ? 0 : -1;
}

/* Stops the child by PID if the test left it running (a failed assertion). */
static int child_teardown(void **state)
{
    struct child *c = *state;
    if (c && c->pid > 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
    }
    free(c);
    return 0;
}

static void test_run_forever_child(void **state)
{
    struct child *c = *state;
    int pfd[2], port = 0, cport = 0, st = 0;
    char fdarg[16], line[64] = {0}, url[128], v[64];
    struct pollfd p;
    struct resp r;
    struct req q;
    long hwm0, hwm1;
    ssize_t n;
    pid_t w = 0;

    assert_int_equal(pipe(pfd), 0);
    fflush(stdout);
    fflush(stderr);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        char *argv[] = {(char *)"test_standin", (char *)"--standin-child", fdarg, NULL};
        close(pfd[0]);
        snprintf(fdarg, sizeof(fdarg), "%d", pfd[1]);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(pfd[1]);
    p.fd = pfd[0];
    p.events = POLLIN;
    assert_int_equal(poll(&p, 1, 10000), 1);
    n = read(pfd[0], line, sizeof(line) - 1);
    close(pfd[0]);
    assert_true(n > 0);
    assert_int_equal(sscanf(line, "%d %d", &port, &cport), 2);
    assert_true(port > 0 && cport > 0);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    http_get(url, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_header(&r, "x-region", v, sizeof(v)), "us-west-2");
    resp_free(&r);

    /* the server's own peak RSS does not grow with the size of what it streams */
    hwm0 = vm_hwm_kib(c->pid);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/bytes/%llu", port, HUNDRED_MB);
    memset(&q, 0, sizeof(q));
    q.check_pattern = 1;
    q.timeout_ms = 120000;
    http_do(NULL, url, &q, &r);
    hwm1 = vm_hwm_kib(c->pid);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.nbytes, HUNDRED_MB);
    assert_false(r.pattern_bad);
    resp_free(&r);
    assert_true(hwm1 - hwm0 < 48 * 1024);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/mode", cport);
    memset(&q, 0, sizeof(q));
    q.method = "PUT";
    q.body = "paused";
    q.body_len = 6;
    http_do(NULL, url, &q, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    http_get(url, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(resp_header(&r, "x-region", v, sizeof(v)), "us-west-2");
    resp_free(&r);

    /* SIGTERM: clean exit with status 0 (LeakSanitizer, when built in, runs at that exit) */
    assert_int_equal(kill(c->pid, SIGTERM), 0);
    for (int i = 0; i < 1000 && w == 0; i++) {
        w = waitpid(c->pid, &st, WNOHANG);
        if (w == 0)
            usleep(10 * 1000);
    }
    assert_int_equal(w, c->pid);
    c->pid = 0;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(raw_connect(port, 1000, NULL, NULL), -ECONNREFUSED);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode_names),
        cmocka_unit_test(test_options_rejected),
        cmocka_unit_test_setup_teardown(test_running_basics, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_echo, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bytes_100mb_streams_flat, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_paused_and_error, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_refuse, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_blackhole, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_blackhole_then_refuse, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_slow, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_port_taken_while_down, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_clients_that_go_away, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_control_api, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_run_forever_child, child_setup, child_teardown),
    };
    int rc;

    if (argc >= 3 && strcmp(argv[1], "--standin-child") == 0)
        return child_main(argv[2]);
    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "cannot initialise libevent threads or libcurl\n");
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    libevent_global_shutdown();
    return rc;
}
