/*
 * test_edge_common: what the edge test programs share (included by each tests/unit/test_edge_*.c):
 * the Python origin (tests/servers/edge_origin.py) started and stopped by PID, an edge running
 * on its own thread and event loop, and a small blocking HTTP client on libcurl.
 */
#ifndef CFDR_TEST_EDGE_COMMON_H
#define CFDR_TEST_EDGE_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aws/buf.h"
#include "edge/edge.h"

static inline double t_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- the Python origin */

struct torigin {
    pid_t pid;
    int port, control;
    char name[32];
    char url[64];
};

/* A listening TCP socket on 127.0.0.1, an ephemeral port (*port); the test's own origins. */
static inline int tedge_listen(int backlog, int *port)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, backlog), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static inline const char *origin_script(char *out, size_t n)
{
    const char *src = getenv("CFDR_SOURCE_DIR");
    if (src)
        snprintf(out, n, "%s/tests/servers/edge_origin.py", src);
    else /* this header's own directory: tests/unit */
        snprintf(out, n, "%.*s/../servers/edge_origin.py",
                 (int)(strrchr(__FILE__, '/') ? strrchr(__FILE__, '/') - __FILE__ : 1),
                 strrchr(__FILE__, '/') ? __FILE__ : ".");
    return out;
}

/* Starts the origin and waits (at most 10 s) for the line announcing its ports. */
static inline int origin_start(struct torigin *o, const char *name)
{
    char script[1024], line[256];
    const char *py = getenv("PYTHON") ? getenv("PYTHON") : "/usr/bin/python3";
    int fds[2];
    size_t got = 0;
    double deadline = t_now() + 10;

    memset(o, 0, sizeof(*o));
    snprintf(o->name, sizeof(o->name), "%s", name);
    origin_script(script, sizeof(script));
    if (pipe(fds) != 0)
        return -1;
    o->pid = fork();
    if (o->pid < 0)
        return -1;
    if (o->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(py, py, script, "--name", name, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    while (got < sizeof(line) - 1 && t_now() < deadline) {
        struct pollfd p = {fds[0], POLLIN, 0};
        ssize_t n;
        if (poll(&p, 1, 200) <= 0)
            continue;
        n = read(fds[0], line + got, 1);
        if (n <= 0)
            break;
        got++;
        if (line[got - 1] == '\n')
            break;
    }
    line[got] = '\0';
    close(fds[0]);
    if (sscanf(line, "{\"port\": %d, \"control\": %d}", &o->port, &o->control) != 2) {
        kill(o->pid, SIGKILL);
        waitpid(o->pid, NULL, 0);
        o->pid = 0;
        return -1;
    }
    snprintf(o->url, sizeof(o->url), "http://127.0.0.1:%d", o->port);
    return 0;
}

static inline void origin_stop(struct torigin *o)
{
    double deadline = t_now() + 3;
    if (o->pid <= 0)
        return;
    kill(o->pid, SIGTERM);
    while (t_now() < deadline) {
        if (waitpid(o->pid, NULL, WNOHANG) == o->pid) {
            o->pid = 0;
            return;
        }
        usleep(20000);
    }
    kill(o->pid, SIGKILL);
    waitpid(o->pid, NULL, 0);
    o->pid = 0;
}

/* ---------------------------------------------------------------- a blocking HTTP client */

struct tresp {
    CURLcode rc;
    long status;
    struct buf headers; /* raw header block(s) */
    struct buf body;    /* up to its limit; body_bytes counts everything */
    size_t body_bytes;
    double secs;
};

static inline size_t tresp_body_cb(char *p, size_t s, size_t n, void *ud)
{
    struct tresp *r = ud;
    r->body_bytes += s * n;
    if (buf_len(&r->body) + s * n <= r->body.max)
        buf_add(&r->body, p, s * n);
    return s * n;
}

static inline size_t tresp_hdr_cb(char *p, size_t s, size_t n, void *ud)
{
    struct tresp *r = ud;
    buf_add(&r->headers, p, s * n);
    return s * n;
}

static inline void tresp_free(struct tresp *r)
{
    buf_free(&r->headers);
    buf_free(&r->body);
}

/* One request; hdrs is NULL-terminated "Name: value" lines; body may be NULL. */
static inline void http_req(const char *method, const char *url, const char *const *hdrs,
                            const void *body, size_t body_len, long timeout_ms, struct tresp *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *l = NULL;
    double t0 = t_now();

    memset(r, 0, sizeof(*r));
    buf_init(&r->headers, BUF_MAX_SMALL);
    buf_init(&r->body, 4u * 1024u * 1024u);
    for (size_t i = 0; hdrs && hdrs[i]; i++)
        l = curl_slist_append(l, hdrs[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, l);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tresp_body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, tresp_hdr_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    r->rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    r->secs = t_now() - t0;
    curl_slist_free_all(l);
    curl_easy_cleanup(c);
}

static inline void http_get(const char *url, struct tresp *r)
{
    http_req("GET", url, NULL, NULL, 0, 20000, r);
}

/* Value of a response header (the last block), "" if absent. */
static inline const char *tresp_header(const struct tresp *r, const char *name, char *out, size_t n)
{
    const char *p = buf_str(&r->headers);
    size_t nl = strlen(name);
    out[0] = '\0';
    while (*p) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, n, "%.*s", (int)(len - (size_t)(v - p)), v);
        }
        p += len + (eol ? 2 : 0);
    }
    return out;
}

static inline int tresp_has_header(const struct tresp *r, const char *name)
{
    const char *p = buf_str(&r->headers);
    size_t nl = strlen(name);
    while (*p) {
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':')
            return 1;
        p = strstr(p, "\r\n");
        if (!p)
            break;
        p += 2;
    }
    return 0;
}

static inline void origin_mode(const struct torigin *o, const char *query)
{
    char url[256];
    struct tresp r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/mode?%s", o->control, query);
    http_get(url, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    tresp_free(&r);
}

/* ---------------------------------------------------------------- the edge on a thread */

struct tedge {
    struct edge_config cfg;
    struct edge_options opt;
    pthread_t th;
    struct edge *e;
    atomic_int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready;
    cfdr_code rc;
    cfdr_err err;
    int port, admin;
    char url[64];
    /* access log lines */
    pthread_mutex_t lmu;
    char **lines;
    size_t nlines, cap;
};

static inline void tedge_access_log(void *ud, const char *line)
{
    struct tedge *t = ud;
    pthread_mutex_lock(&t->lmu);
    if (t->nlines == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **n = realloc(t->lines, cap * sizeof(*n));
        if (n) {
            t->lines = n;
            t->cap = cap;
        }
    }
    if (t->nlines < t->cap)
        t->lines[t->nlines++] = strdup(line);
    pthread_mutex_unlock(&t->lmu);
}

static inline size_t tedge_nlines(struct tedge *t)
{
    size_t n;
    pthread_mutex_lock(&t->lmu);
    n = t->nlines;
    pthread_mutex_unlock(&t->lmu);
    return n;
}

static inline void tedge_clear_log(struct tedge *t)
{
    pthread_mutex_lock(&t->lmu);
    for (size_t i = 0; i < t->nlines; i++)
        free(t->lines[i]);
    t->nlines = 0;
    pthread_mutex_unlock(&t->lmu);
}

struct tedge_loop {
    struct tedge *t;
    struct event_base *base;
};

static inline void tedge_tick2(evutil_socket_t fd, short what, void *arg)
{
    struct tedge_loop *l = arg;
    (void)fd;
    (void)what;
    if (atomic_load(&l->t->stop))
        event_base_loopbreak(l->base);
}

static inline void *tedge_main(void *arg)
{
    struct tedge *t = arg;
    struct tedge_loop l = {t, event_base_new()};
    struct timeval tick = {0, 10000};
    struct event *ev = event_new(l.base, -1, EV_PERSIST, tedge_tick2, &l);

    t->rc = edge_new(l.base, &t->opt, &t->e, &t->err);
    if (t->rc == CFDR_OK) {
        t->port = edge_port(t->e);
        t->admin = edge_admin_port(t->e);
    }
    pthread_mutex_lock(&t->mu);
    t->ready = 1;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    if (t->rc == CFDR_OK) {
        event_add(ev, &tick);
        event_base_dispatch(l.base);
        edge_free(t->e);
    }
    event_free(ev);
    event_base_free(l.base);
    return NULL;
}

/* Starts an edge with t->cfg and t->opt (config, access log filled in here). */
static inline cfdr_code tedge_start(struct tedge *t)
{
    t->opt.config = &t->cfg;
    t->opt.access_log = tedge_access_log;
    t->opt.access_log_ud = t;
    atomic_store(&t->stop, 0);
    t->ready = 0;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    pthread_mutex_init(&t->lmu, NULL);
    if (pthread_create(&t->th, NULL, tedge_main, t) != 0)
        return CFDR_E_IO;
    pthread_mutex_lock(&t->mu);
    while (!t->ready)
        pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
    if (t->rc != CFDR_OK) {
        pthread_join(t->th, NULL);
        return t->rc;
    }
    snprintf(t->url, sizeof(t->url), "http://127.0.0.1:%d", t->port);
    return CFDR_OK;
}

static inline void tedge_stop(struct tedge *t)
{
    atomic_store(&t->stop, 1);
    pthread_join(t->th, NULL);
    tedge_clear_log(t);
    free(t->lines);
    t->lines = NULL;
    t->cap = 0;
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->lmu);
}

/* Waits (bounded) until the edge has finished n requests in total. */
static inline int tedge_wait_requests(struct tedge *t, uint64_t n, double max_s)
{
    double deadline = t_now() + max_s;
    struct edge_stats s;
    do {
        edge_stats(t->e, &s);
        if (s.requests >= n)
            return 1;
        usleep(5000);
    } while (t_now() < deadline);
    return 0;
}

#endif
