/*
 * edge: see edge.h. The I/O around edge_failover_next().
 *
 * One request's life (struct edge_req): evhttp hands the complete viewer request to on_request();
 * the body is copied so that it can be re-sent; start_attempt() sends it to the origin the route
 * says, with one of two clients:
 *  - http:// origins (the common case, and every local origin): libevent's own HTTP client.
 *    ev_start_attempt() takes a kept-alive connection from the worker's pool for that origin
 *    (struct edge_conn) or a new one and calls evhttp_make_request(); evhttp writes the request,
 *    parses the response and calls ev_header_cb() (the decision: deliver, or fail over on the
 *    status), ev_chunk_cb() (body pieces, moved to the viewer without a copy) and ev_done_cb().
 *    CloudFront's two timeouts are the edge's own timer (evhttp has one timeout for everything):
 *    the connection timeout until the first request bytes leave (conn_out_cb), then the response
 *    timeout, pushed back by every read from the origin (conn_in_cb). A request on a kept-alive
 *    connection that the origin closed before answering is re-sent once on a new connection
 *    without counting as a failed attempt; requests that must not be sent twice (POST, PATCH)
 *    always take a new connection, so they are never re-sent that way. A connection given up
 * (timeout, viewer gone, unfinished response) is closed and freed on the next turn of the loop
 * (conn_kill), never inside its own callbacks.
 *  - https:// origins: libcurl's multi interface driven from libevent like hiperfifo.c
 *    (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION), for TLS and certificate checks. header_cb() sees
 *    the final header block (deliver, or return 0 so that curl aborts and transfer_done() goes
 *    on), write_cb() streams the body, transfer_done() classifies curl's errors; the response
 *    timer is armed in prereq_cb().
 * Either way the decision (edge_failover_next()) says what comes next: deliver, retry the same
 * origin, fail over, or answer 502/504 (send_error()).
 * libevent owns the evhttp_request once evhttp_send_reply*()/evhttp_send_reply_end() was called;
 * until then we own it and watch its connection (closecb, and, for requests not answered within
 * EDGE_WATCH_DELAY_MS, a peek for EOF while the origin is being tried, because evhttp does not
 * read from a connection whose request is being served).
 *
 * Throughput notes (measured on 2 cores, profiles in docs/BENCHMARKS.md):
 *  - epoll changes are batched per loop iteration (EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
 *  - the origin request and the viewer reply go out in the loop turn that makes them
 *    (send_now()): no write-event round trip, and the write event evhttp asks for is dropped in
 *    the same turn (no epoll change);
 *  - the origin's response headers move to the viewer reply (no copy, no allocation);
 *  - request objects are pooled per worker together with what a request needs (timers,
 *    buffers; for https, a curl easy handle and a header list built in the request's memory);
 *  - the response timeout is one timer per attempt on a libevent common timeout (O(1)), pushed
 *    back lazily: bytes arriving only record the time, the timer re-arms itself for the rest;
 *  - metrics are per worker (one writer each, no locked instructions, no shared cache lines) and
 *    summed when read; the access log line and its timestamp are only built when there is a log;
 *  - viewer sockets have TCP_NODELAY (set on the listening socket, inherited by accepted ones).
 * A response that fails over on its status is read to its end when its body is small
 * (Content-Length up to EDGE_DRAIN_MAX) and arrives within EDGE_DRAIN_MS, so that its connection
 * stays open; otherwise its connection is closed.
 */
#include "edge_int.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define EDGE_MAX_ATTEMPTS 8
#define EDGE_ID_LEN 56
#define EDGE_REQ_POOL 256           /* idle request objects kept per worker */
#define EDGE_KEEP_BUF (64u * 1024u) /* a pooled buffer larger than this is freed */
#define EDGE_WATCH_DELAY_MS 100
#define EDGE_DRAIN_MAX 65536 /* bytes of a failed-over response read to keep its connection */
#define EDGE_DRAIN_MS 1      /* and how long to wait for them */

struct edge;
struct edge_worker;
struct edge_req;

/* An origin connection of the evhttp client (http:// origins): one TCP connection at a time,
 * kept alive in its worker's per-origin pool between requests. The evhttp callbacks of the
 * requests made on it get the edge_conn, never the edge_req: a request that gave the
 * connection up (timeout, viewer gone) sets req to NULL and later callbacks see that. */
struct edge_conn {
    struct edge_conn *next; /* in the worker's idle pool for the origin, or its dead list */
    struct edge_worker *w;
    struct evhttp_connection *evcon;
    struct evbuffer_cb_entry *in_cb, *out_cb;
    struct edge_req *req; /* the request using it now; NULL when idle or dead */
    int origin;
};

/* Where an origin is: parsed once from its URL. https:// origins go through libcurl. */
struct edge_target {
    int https;
    int port;
    char host[256];
    char prefix[EDGE_URL_MAX]; /* the URL's path without a trailing '/' ("" for none) */
};

struct edge_attempt_log {
    int role, origin, attempt;
    enum edge_result res;
    int status;
    double ms;
};

/* An origin request's header list, built in memory the request keeps: "Name: value" lines, each
 * NUL-terminated, in text, and curl_slist nodes pointing into it in nodes. curl only reads the
 * list (CURLOPT_HTTPHEADER), so it need not come from curl_slist_append(). */
struct edge_hdrs {
    struct buf text;
    struct buf nodes;
    struct curl_slist *list; /* NULL until built for this request */
};

struct edge_req {
    /* ---- per-request state, zeroed for every request (up to `w`) ---- */
    struct edge_req *prev, *next; /* the worker's live list, or its pool (next only) */
    struct evhttp_request *vreq;  /* ours until handed back to libevent, then NULL */
    struct evhttp_connection *vcon;
    const struct edge_route *route;
    const char *method;
    const char *target; /* path and query exactly as received (in target_buf) */
    int idempotent, head;
    char id[EDGE_ID_LEN + 1];
    char client[INET6_ADDRSTRLEN];
    struct timespec t_wall; /* the request's arrival, for the access log */
    int in_multi, easy_ready;
    /* the evhttp client (http:// origins), per attempt */
    enum evhttp_cmd_type cmd;
    struct edge_conn *conn; /* the origin connection of the attempt, NULL when none */
    int reused;             /* conn was open before this attempt (kept alive) */
    int silent_retried;     /* the attempt was re-sent once on a fresh connection */
    int in_make, sync_done; /* evhttp_make_request() running / it ended the attempt */
    int got_head;           /* the final response header block arrived */
    enum evhttp_request_error oerr;
    struct edge_position pos;
    struct edge_attempt_log attempts[EDGE_MAX_ATTEMPTS];
    int nattempts;
    enum edge_reason failover_reason;
    double t_start, t_attempt;
    double t_activity; /* the origin's last sign of life in this attempt (response timeout) */
    /* per attempt */
    int connected, status, has_pending, pending_error;
    int draining; /* reading the rest of a response that fails over (pending says where) */
    enum edge_step pending;
    enum edge_reason pending_reason;
    char reason[64];
    /* delivery */
    int streaming, paused, viewer_gone;
    uint64_t bytes;
    int final_status;
    enum edge_outcome outcome;

    /* ---- kept with the object in the worker's pool from one request to the next ---- */
    struct edge_worker *w;
    CURL *easy; /* reset and configured for every request (easy_prepare) */
    struct event *resp_timer;
    struct event *watch;       /* EOF on the viewer's socket while the origin is tried */
    struct event *watch_timer; /* starts the watch for requests that are not answered at once */
    struct evbuffer *chunk;
    struct buf body, resp_hdrs, target_buf, url;
    struct edge_hdrs hdrs[2]; /* per role, built on first use */
};
#define EDGE_REQ_STATE_SIZE offsetof(struct edge_req, w)

/* What the worker knows of an origin socket curl gave it (indexed by descriptor). */
struct edge_sock {
    struct event *ev; /* created on first use of the descriptor number, kept */
    short kind;       /* EV_READ/EV_WRITE bits ev is added with; 0: not added */
    int curl_wants;   /* curl watches the socket now (0: idle in curl's connection cache) */
};

struct edge_worker {
    struct edge *e;
    int index;
    struct event_base *base;
    int own_base;
    pthread_t thread;
    int has_thread;
    struct evhttp *http;
    CURLM *multi;
    struct event *curl_timer;
    int wake[2];
    struct event *wake_ev;
    struct edge_req *live;
    struct edge_req *idle; /* pooled request objects, linked by next */
    int nidle;
    struct edge_metrics metrics; /* this worker's counters (it is their only writer) */
    struct edge_sock *socks;     /* by descriptor, nsocks long */
    /* the evhttp client: idle kept-alive connections per origin, and connections to free */
    struct edge_conn *pool[EDGE_MAX_ORIGINS];
    size_t npool[EDGE_MAX_ORIGINS];
    struct edge_conn *dead;
    struct event *reap_ev;
    const struct timeval *conn_tv[EDGE_MAX_ORIGINS]; /* common timeouts: connection timeouts */
    struct timeval conn_tv_plain[EDGE_MAX_ORIGINS];
    int nsocks;
    const struct timeval *resp_tv[EDGE_MAX_ORIGINS]; /* common timeouts: response timeouts */
    const struct timeval *watch_tv;
    struct timeval drain_tv;
    struct timeval resp_tv_plain[EDGE_MAX_ORIGINS], watch_tv_plain;
    double now; /* now_s() at the start of the current curl call (see touch()) */
    uint64_t rng;
    int stopped;
};

struct edge {
    struct edge_routes routes;
    char via[300];
    size_t max_body, watermark;
    size_t pool_max; /* idle connections kept per worker and origin */
    struct edge_target targets[EDGE_MAX_ORIGINS];
    void (*access_log)(void *ud, const char *json_line);
    void *access_log_ud;
    const struct cfdr_log *log;
    pthread_mutex_t log_mu;
    int port, admin_port;
    struct evhttp *admin;
    int nworkers;
    struct edge_worker *workers;
};

/* A base whose epoll changes are batched until the next wait: per request, evhttp and curl
 * enable and disable the same sockets several times within one loop iteration. */
static struct event_base *new_base(void)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base;

    if (!cfg)
        return NULL;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ms_timeval(long ms, struct timeval *tv)
{
    tv->tv_sec = ms / 1000;
    tv->tv_usec = (ms % 1000) * 1000;
}

/* ---------------------------------------------------------------- small helpers */

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64: enough for request ids, which only need to be unique-looking */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* 40 random bytes in base64url with padding: 56 characters of [A-Za-z0-9_=-], like
 * CloudFront's X-Amz-Cf-Id. */
static void make_id(uint64_t *rng, char out[EDGE_ID_LEN + 1])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[42];
    size_t o = 0;

    for (size_t i = 0; i < 40; i += 8) {
        uint64_t v = rng_next(rng);
        memcpy(raw + i, &v, 8);
    }
    raw[40] = raw[41] = 0;
    for (size_t i = 0; i < 42; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = b64[v & 63];
    }
    out[54] = out[55] = '=';
    out[EDGE_ID_LEN] = '\0';
}

static int is_token_in(const char *list, const char *name)
{
    size_t n = strlen(name);
    const char *p = list;

    while (p && *p) {
        size_t len;
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        len = strcspn(p, ", \t");
        if (len == n && strncasecmp(p, name, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

/* Hop-by-hop: the fixed list (looked up by length first: this runs for every header), and every
 * header the Connection header names. */
static int is_hop(const char *name, const char *connection)
{
    const char *a = NULL, *b = NULL;

    switch (strlen(name)) {
    case 2:
        a = "te";
        break;
    case 7:
        a = "trailer";
        b = "upgrade";
        break;
    case 10:
        a = "connection";
        b = "keep-alive";
        break;
    case 16:
        a = "proxy-connection";
        break;
    case 17:
        a = "transfer-encoding";
        break;
    case 18:
        a = "proxy-authenticate";
        break;
    case 19:
        a = "proxy-authorization";
        break;
    }
    if ((a && strcasecmp(name, a) == 0) || (b && strcasecmp(name, b) == 0))
        return 1;
    return connection && is_token_in(connection, name);
}

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    }
    return "UNKNOWN";
}

/* ---------------------------------------------------------------- request end */

static void write_access_log(struct edge_req *r, double dur_ms)
{
    struct edge *e = r->w->e;
    const struct edge_routes *rt = &e->routes;
    struct buf b;
    int ok = 1;

    time_t t = r->t_wall.tv_sec;
    struct tm tm;

    if (!e->access_log)
        return;
    gmtime_r(&t, &tm);
    buf_init(&b, BUF_MAX_SMALL);
    ok &= buf_adds(&b, "{\"id\":\"") == CFDR_OK;
    ok &= buf_adds(&b, r->id) == CFDR_OK;
    ok &=
        buf_addf(&b,
                 "\",\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"method\":\"%s\",\"path\":",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 r->t_wall.tv_nsec / 1000000, r->method) == CFDR_OK;
    ok &= edge_json_str(&b, r->target ? r->target : "") == CFDR_OK;
    ok &= buf_addf(&b, ",\"status\":%d,\"outcome\":\"%s\",\"duration_ms\":%.3f,\"bytes\":%llu,",
                   r->final_status, edge_outcome_name(r->outcome), dur_ms,
                   (unsigned long long)r->bytes) == CFDR_OK;
    if (r->streaming)
        ok &= buf_addf(&b, "\"served_by\":\"%s\",",
                       r->pos.on_secondary ? "secondary" : "primary") == CFDR_OK;
    else
        ok &= buf_adds(&b, "\"served_by\":null,") == CFDR_OK;
    if (r->failover_reason != EDGE_REASON_NONE)
        ok &= buf_addf(&b, "\"failover_reason\":\"%s\",",
                       edge_failover_reason_name(r->failover_reason)) == CFDR_OK;
    else
        ok &= buf_adds(&b, "\"failover_reason\":null,") == CFDR_OK;
    ok &= buf_adds(&b, "\"attempts\":[") == CFDR_OK;
    for (int i = 0; i < r->nattempts; i++) {
        const struct edge_attempt_log *a = &r->attempts[i];
        ok &= buf_addf(&b, "%s{\"origin\":\"%s\",\"origin_id\":", i ? "," : "",
                       a->role ? "secondary" : "primary") == CFDR_OK;
        ok &= edge_json_str(&b, rt->cfg.origins[a->origin].id) == CFDR_OK;
        ok &= buf_adds(&b, ",\"region\":") == CFDR_OK;
        ok &= edge_json_str(&b, rt->cfg.origins[a->origin].region) == CFDR_OK;
        ok &= buf_addf(&b, ",\"attempt\":%d,\"result\":\"%s\",\"status\":", a->attempt,
                       edge_result_name(a->res)) == CFDR_OK;
        if (a->res == EDGE_RES_RESPONSE)
            ok &= buf_addf(&b, "%d", a->status) == CFDR_OK;
        else
            ok &= buf_adds(&b, "null") == CFDR_OK;
        ok &= buf_addf(&b, ",\"ms\":%.3f}", a->ms) == CFDR_OK;
    }
    ok &= buf_adds(&b, "]}") == CFDR_OK;
    if (ok) {
        pthread_mutex_lock(&e->log_mu);
        e->access_log(e->access_log_ud, buf_str(&b));
        pthread_mutex_unlock(&e->log_mu);
    } else {
        log_msg(e->log, CFDR_LOG_WARN, "edge: access log line for request %s dropped (too long)",
                r->id);
    }
    buf_free(&b);
}

static void conn_kill(struct edge_conn *c);

/* Ends the current attempt's transfer, whichever client runs it; the evhttp connection is
 * closed (its response is unfinished). */
static void remove_transfer(struct edge_req *r)
{
    if (r->in_multi) {
        curl_multi_remove_handle(r->w->multi, r->easy);
        r->in_multi = 0;
    }
    if (r->conn) {
        struct edge_conn *c = r->conn;
        r->conn = NULL;
        conn_kill(c);
    }
    if (r->resp_timer)
        evtimer_del(r->resp_timer);
}

static void stop_watch(struct edge_req *r)
{
    event_del(r->watch);
    evtimer_del(r->watch_timer);
}

/* ---------------------------------------------------------------- the request pool */

static void resp_timeout_cb(evutil_socket_t fd, short what, void *arg);
static void watch_cb(evutil_socket_t fd, short what, void *arg);
static void watch_start_cb(evutil_socket_t fd, short what, void *arg);
static size_t header_cb(char *data, size_t size, size_t n, void *arg);
static size_t write_cb(char *data, size_t size, size_t n, void *arg);
static int prereq_cb(void *clientp, char *primary_ip, char *local_ip, int primary_port,
                     int local_port);
static int closesocket_cb(void *clientp, curl_socket_t fd);

static void req_destroy(struct edge_req *r)
{
    if (r->easy)
        curl_easy_cleanup(r->easy);
    if (r->resp_timer)
        event_free(r->resp_timer);
    if (r->watch)
        event_free(r->watch);
    if (r->watch_timer)
        event_free(r->watch_timer);
    if (r->chunk)
        evbuffer_free(r->chunk);
    buf_free(&r->body);
    buf_free(&r->resp_hdrs);
    buf_free(&r->target_buf);
    buf_free(&r->url);
    for (int i = 0; i < 2; i++) {
        buf_free(&r->hdrs[i].text);
        buf_free(&r->hdrs[i].nodes);
    }
    free(r);
}

/* The options that stay the same for every request this object serves. */
static CURLcode easy_configure(struct edge_req *r)
{
    CURL *c = r->easy;
    CURLcode cc = CURLE_OK;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (cc == CURLE_OK)                                                                        \
            cc = curl_easy_setopt(c, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_PRIVATE, r);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PATH_AS_IS, 1L);
    SET(CURLOPT_PROXY, "");
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_HEADERFUNCTION, header_cb);
    SET(CURLOPT_HEADERDATA, r);
    SET(CURLOPT_WRITEFUNCTION, write_cb);
    SET(CURLOPT_WRITEDATA, r);
    SET(CURLOPT_PREREQFUNCTION, prereq_cb);
    SET(CURLOPT_PREREQDATA, r);
    /* connections outlive the request: the callback's data is the worker */
    SET(CURLOPT_CLOSESOCKETFUNCTION, closesocket_cb);
    SET(CURLOPT_CLOSESOCKETDATA, r->w);
#undef SET
    return cc;
}

/* A request object from the pool, its state zeroed, or a new one; NULL when out of memory. */
static struct edge_req *req_get(struct edge_worker *w)
{
    struct edge *e = w->e;
    struct edge_req *r = w->idle;

    if (r) {
        w->idle = r->next;
        w->nidle--;
        memset(r, 0, EDGE_REQ_STATE_SIZE);
        return r;
    }
    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->w = w;
    buf_init(&r->body, e->max_body);
    buf_init(&r->resp_hdrs, BUF_MAX_SMALL);
    buf_init(&r->target_buf, BUF_MAX_SMALL);
    buf_init(&r->url, BUF_MAX_SMALL);
    for (int i = 0; i < 2; i++) {
        buf_init(&r->hdrs[i].text, 2 * BUF_MAX_SMALL);
        buf_init(&r->hdrs[i].nodes, BUF_MAX_DOC);
    }
    r->resp_timer = evtimer_new(w->base, resp_timeout_cb, r);
    r->watch = event_new(w->base, -1, EV_READ, watch_cb, r); /* descriptor set per request */
    r->watch_timer = evtimer_new(w->base, watch_start_cb, r);
    r->chunk = evbuffer_new();
    if (!r->resp_timer || !r->watch || !r->watch_timer || !r->chunk) {
        req_destroy(r);
        return NULL;
    }
    return r;
}

static void keep_buf(struct buf *b)
{
    if (b->cap > EDGE_KEEP_BUF)
        buf_free(b);
    else
        buf_reset(b);
}

/* Back to the pool (nothing of it may be pending or in the multi), or freed. */
static void req_put(struct edge_req *r)
{
    struct edge_worker *w = r->w;

    if (w->stopped || w->nidle >= EDGE_REQ_POOL) {
        req_destroy(r);
        return;
    }
    keep_buf(&r->body);
    keep_buf(&r->resp_hdrs);
    keep_buf(&r->target_buf);
    keep_buf(&r->url);
    for (int i = 0; i < 2; i++) {
        keep_buf(&r->hdrs[i].text);
        keep_buf(&r->hdrs[i].nodes);
        r->hdrs[i].list = NULL;
    }
    evbuffer_drain(r->chunk, evbuffer_get_length(r->chunk));
    r->next = w->idle;
    w->idle = r;
    w->nidle++;
}

/* The end of every request: metrics, access log, and the object back to the pool. */
static void finish(struct edge_req *r)
{
    struct edge_worker *w = r->w;

    remove_transfer(r);
    stop_watch(r);
    if (r->vcon && r->vreq)
        evhttp_connection_set_closecb(r->vcon, NULL, NULL);
    edge_metrics_outcome(&w->metrics, r->outcome);
    edge_metrics_status(&w->metrics, r->outcome == EDGE_OUT_ABORTED ? 0 : r->final_status);
    edge_metrics_in_flight(&w->metrics, -1);
    write_access_log(r, (now_s() - r->t_start) * 1000.0);

    if (r->prev)
        r->prev->next = r->next;
    else
        w->live = r->next;
    if (r->next)
        r->next->prev = r->prev;
    req_put(r);
}

static void add_edge_headers(struct edge_req *r, struct evkeyvalq *out, const char *x_cache)
{
    evhttp_add_header(out, "X-Cache", x_cache);
    evhttp_add_header(out, "X-Amz-Cf-Id", r->id);
}

/* An answer made by the edge (403, 502, 504, 400), CloudFront-like. */
static void send_error(struct edge_req *r, int code, enum edge_outcome outcome)
{
    struct evkeyvalq *out;
    struct evbuffer *body;
    const char *title, *why;

    r->final_status = code;
    r->outcome = outcome;
    stop_watch(r);
    remove_transfer(r);
    if (!r->vreq) {
        finish(r);
        return;
    }
    switch (code) {
    case 403:
        title = "Forbidden";
        why = "This distribution is not configured to allow the HTTP request method that was "
              "used for this request. The distribution supports only cachable requests.";
        break;
    case 504:
        title = "Gateway Timeout";
        why = "CloudFront attempted to establish a connection with the origin, but either the "
              "attempt failed or the origin closed the connection (the origin did not respond "
              "in time).";
        break;
    case 400:
        title = "Bad Request";
        why = "The request could not be read or is too large.";
        break;
    default:
        title = "Bad Gateway";
        why = "CloudFront wasn't able to connect to the origin.";
        break;
    }
    out = evhttp_request_get_output_headers(r->vreq);
    evhttp_clear_headers(out);
    evhttp_add_header(out, "Content-Type", "text/html");
    evhttp_add_header(out, "Server", "cfdr-edge");
    evhttp_add_header(out, "Via", r->w->e->via);
    add_edge_headers(r, out, "Error from cfdr-edge");
    body = evbuffer_new();
    if (body)
        evbuffer_add_printf(
            body,
            "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\" "
            "\"http://www.w3.org/TR/html4/loose.dtd\">\n<HTML><HEAD><META "
            "HTTP-EQUIV=\"Content-Type\" "
            "CONTENT=\"text/html; charset=iso-8859-1\">\n<TITLE>ERROR: The request could not be "
            "satisfied</TITLE>\n</HEAD><BODY>\n<H1>%d ERROR</H1>\n<H2>The request could not be "
            "satisfied.</H2>\n<HR noshade size=\"1px\">\n%s\n<BR clear=\"all\">\n<HR noshade "
            "size=\"1px\">\n<PRE>\nGenerated by cfdr-edge (%s)\nRequest ID: %s\n</PRE>\n"
            "<ADDRESS>\n</ADDRESS>\n</BODY></HTML>\n",
            code, why, title, r->id);
    if (body)
        r->bytes = evbuffer_get_length(body);
    evhttp_connection_set_closecb(r->vcon, NULL, NULL);
    evhttp_send_reply(r->vreq, code, title, body);
    r->vreq = NULL;
    if (body)
        evbuffer_free(body);
    finish(r);
}

/* Sends what is queued on a socket bufferevent now instead of on the next turn of the loop
 * (MSG_NOSIGNAL: a peer that has gone must not raise SIGPIPE), the way the bufferevent's own
 * write callback does it: a socket bufferevent keeps the front of its output frozen except
 * while it writes, so the sent bytes are drained with the front unfrozen for that moment.
 * A short or failed send leaves the rest to the bufferevent, as usual. Returns -1 if bytes sent
 * could not be taken off the buffer (cannot happen); the connection must then be dropped, or
 * they would go out twice. *emptied (may be NULL) says whether the buffer is empty after. */
static int send_now(struct bufferevent *bev, int *emptied)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    struct evbuffer_iovec v[8];
    struct iovec iov[8];
    struct msghdr mh;
    int n, frozen, rc;
    ssize_t sent;

    if (emptied)
        *emptied = evbuffer_get_length(out) == 0;
    if (evbuffer_get_length(out) == 0)
        return 0;
    n = evbuffer_peek(out, -1, NULL, v, 8);
    if (n <= 0)
        return 0;
    if (n > 8)
        n = 8;
    for (int i = 0; i < n; i++) {
        iov[i].iov_base = v[i].iov_base;
        iov[i].iov_len = v[i].iov_len;
    }
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = iov;
    mh.msg_iovlen = (size_t)n;
    sent = sendmsg(bufferevent_getfd(bev), &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent <= 0)
        return 0; /* full, or an error the bufferevent meets again and reports */
    /* draining nothing fails exactly when the front is frozen */
    frozen = evbuffer_drain(out, 0) != 0;
    if (frozen)
        evbuffer_unfreeze(out, 1);
    rc = evbuffer_drain(out, (size_t)sent) == 0 ? 0 : -1;
    if (frozen)
        evbuffer_freeze(out, 1);
    if (emptied)
        *emptied = rc == 0 && evbuffer_get_length(out) == 0;
    return rc;
}

/* The origin died or stalled after the reply started: nothing can be fixed, so the viewer's
 * connection is closed (as CloudFront does) and sees a truncated response. */
static void abort_viewer(struct edge_req *r)
{
    r->outcome = EDGE_OUT_ABORTED;
    remove_transfer(r);
    if (r->vreq && r->vcon) {
        struct bufferevent *bev = evhttp_connection_get_bufferevent(r->vcon);
        /* best effort: what is queued (at least the header block) goes out before the close,
         * so that the viewer sees a truncated response rather than no response */
        send_now(bev, NULL);
        evhttp_connection_set_closecb(r->vcon, NULL, NULL);
        /* frees the request that is still attached to it */
        evhttp_connection_free(r->vcon);
        r->vreq = NULL;
    }
    finish(r);
}

/* evhttp tells us the viewer's connection is going away (EOF, write error, timeout, shutdown). */
static void viewer_closed(struct evhttp_connection *evcon, void *arg)
{
    struct edge_req *r = arg;

    (void)evcon;
    r->viewer_gone = 1;
    r->outcome = EDGE_OUT_ABORTED;
    if (r->vreq && evhttp_request_get_connection(r->vreq) == NULL)
        evhttp_request_free(r->vreq); /* detached from the connection: ours to free */
    /* otherwise still attached: evhttp_connection_free() frees it right after this callback */
    r->vreq = NULL;
    finish(r);
}

/* While the origin is being tried, evhttp does not read the viewer's socket; this peek notices a
 * viewer that gives up. Pipelined data ends the watch (the next request waits its turn). */
static void watch_cb(evutil_socket_t fd, short what, void *arg)
{
    struct edge_req *r = arg;
    char c;
    ssize_t n;

    (void)what;
    n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0)
        return;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        event_add(r->watch, NULL);
        return;
    }
    /* calls viewer_closed(), which frees r */
    evhttp_connection_free(r->vcon);
}

static void watch_start_cb(evutil_socket_t fd, short what, void *arg)
{
    struct edge_req *r = arg;
    (void)fd;
    (void)what;
    if (!r->streaming && r->vreq)
        event_add(r->watch, NULL);
}

/* ---------------------------------------------------------------- attempts */

static void start_attempt(struct edge_req *r);
static void deliver_end(struct edge_req *r);
static void chunk_written(struct evhttp_connection *evcon, void *arg);

static void record_attempt(struct edge_req *r, enum edge_result res, int status)
{
    int role = r->pos.on_secondary;
    int origin = r->route->origin[role];
    double secs = now_s() - r->t_attempt;

    if (r->nattempts < EDGE_MAX_ATTEMPTS) {
        struct edge_attempt_log *a = &r->attempts[r->nattempts++];
        a->role = role;
        a->origin = origin;
        a->attempt = r->pos.attempt;
        a->res = res;
        a->status = status;
        a->ms = secs * 1000.0;
    }
    edge_metrics_attempt(&r->w->metrics, role, origin, res, secs);
}

static enum edge_step decide(struct edge_req *r, enum edge_attempt_kind kind, int status,
                             enum edge_reason *why)
{
    struct edge_attempt a = {kind, status};
    enum edge_result res = kind == EDGE_ATTEMPT_RESPONSE         ? EDGE_RES_RESPONSE
                           : kind == EDGE_ATTEMPT_CONNECT_FAILED ? EDGE_RES_CONNECT_FAILED
                                                                 : EDGE_RES_TIMED_OUT;
    record_attempt(r, res, status);
    return edge_failover_next(&r->route->policy[r->pos.on_secondary], &r->pos, &a, why);
}

/* Carries out a step other than DELIVER. */
static void proceed(struct edge_req *r, enum edge_step step, enum edge_reason why)
{
    switch (step) {
    case EDGE_STEP_RETRY:
        r->pos.attempt++;
        start_attempt(r);
        return;
    case EDGE_STEP_FAILOVER:
        log_msg(r->w->e->log, CFDR_LOG_DEBUG, "edge: request %s %s %s fails over (%s)", r->id,
                r->method, r->target, edge_failover_reason_name(why));
        r->failover_reason = why;
        edge_metrics_failover(&r->w->metrics, why);
        r->pos.on_secondary = 1;
        r->pos.attempt = 1;
        start_attempt(r);
        return;
    case EDGE_STEP_GATEWAY_TIMEOUT:
        send_error(r, 504, EDGE_OUT_504);
        return;
    case EDGE_STEP_DELIVER:
    case EDGE_STEP_BAD_GATEWAY:
        break;
    }
    send_error(r, 502, EDGE_OUT_502);
}

/* The response timer runs from the moment the request goes out; every sign of life from the
 * origin only records the time (touch()), and the timer, when it fires early because of that,
 * waits for the rest (resp_timeout_cb). */
static void arm_resp_timer(struct edge_req *r)
{
    r->t_activity = now_s();
    evtimer_add(r->resp_timer, r->w->resp_tv[r->route->origin[r->pos.on_secondary]]);
}

/* Bytes arrived: the time of the curl call that delivers them (one clock read per call, not per
 * header line). */
static void touch(struct edge_req *r)
{
    r->t_activity = r->w->now;
}

static void resp_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct edge_req *r = arg;
    const struct edge_origin *o =
        &r->w->e->routes.cfg.origins[r->route->origin[r->pos.on_secondary]];
    long idle_ms = (long)((now_s() - r->t_activity) * 1000.0);
    enum edge_reason why;
    enum edge_step step;

    (void)fd;
    (void)what;
    if (r->draining) {
        /* the rest of the failed-over response did not come at once: give up the connection */
        remove_transfer(r);
        proceed(r, r->pending, r->pending_reason);
        return;
    }
    if (!r->connected) {
        /* the evhttp client's connection timeout (curl's is its own): the connection is
         * given up and the attempt counts as a failed connection attempt */
        remove_transfer(r);
        step = decide(r, EDGE_ATTEMPT_CONNECT_FAILED, 0, &why);
        proceed(r, step, why);
        return;
    }
    if (idle_ms + 1 < o->response_timeout_ms) {
        struct timeval tv;
        ms_timeval(o->response_timeout_ms - idle_ms, &tv);
        evtimer_add(r->resp_timer, &tv);
        return;
    }
    remove_transfer(r);
    if (r->streaming) {
        abort_viewer(r);
        return;
    }
    step = decide(r, EDGE_ATTEMPT_TIMED_OUT, 0, &why);
    proceed(r, step, why);
}

static int prereq_cb(void *clientp, char *primary_ip, char *local_ip, int primary_port,
                     int local_port)
{
    struct edge_req *r = clientp;
    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    r->connected = 1;
    arm_resp_timer(r);
    return CURL_PREREQFUNC_OK;
}

static int reply_start(struct edge_req *r, const char *origin_via, int has_length);

/* The origin's header block (curl: NUL-separated lines in resp_hdrs) is complete and the
 * decision says deliver: start the viewer reply. */
static int begin_reply(struct edge_req *r)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->vreq);
    char *lines = (char *)buf_str(&r->resp_hdrs);
    const char *connection = NULL;
    const char *origin_via = NULL;
    int has_length = 0;

    evhttp_clear_headers(out);
    /* First pass: find Connection, which names more hop-by-hop headers. */
    for (char *p = lines; *p; p += strlen(p) + 1)
        if (strncasecmp(p, "connection:", 11) == 0)
            connection = p + 11 + strspn(p + 11, " \t");
    for (char *p = lines; *p; p += strlen(p) + 1) {
        char *colon = strchr(p, ':');
        const char *value;
        if (!colon)
            continue;
        *colon = '\0';
        value = colon + 1 + strspn(colon + 1, " \t");
        if (is_hop(p, connection) || strcasecmp(p, "x-cache") == 0 ||
            strcasecmp(p, "x-amz-cf-id") == 0) {
            *colon = ':';
            continue;
        }
        if (strcasecmp(p, "via") == 0) {
            origin_via = value;
        } else {
            if (strcasecmp(p, "content-length") == 0)
                has_length = 1;
            if (evhttp_add_header(out, p, value) != 0) {
                *colon = ':';
                return -1;
            }
        }
        *colon = ':';
    }
    return reply_start(r, origin_via, has_length);
}

/* The viewer reply's common part, once the origin's headers are in its output headers. */
static int reply_start(struct edge_req *r, const char *origin_via, int has_length)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->vreq);
    char via[600];

    if (origin_via)
        snprintf(via, sizeof(via), "%.280s, %s", origin_via, r->w->e->via);
    else
        snprintf(via, sizeof(via), "%s", r->w->e->via);
    evhttp_add_header(out, "Via", via);
    add_edge_headers(r, out, r->status >= 400 ? "Error from cfdr-edge" : "Miss from cfdr-edge");
    /* An HTTP/1.0 viewer cannot get chunked framing: the end of the body is the close. */
    if (!has_length && r->vreq->major == 1 && r->vreq->minor == 0 && !r->head)
        evhttp_add_header(out, "Connection", "close");
    stop_watch(r);
    r->final_status = r->status;
    r->outcome = r->status >= 400      ? EDGE_OUT_ORIGIN_STATUS
                 : r->pos.on_secondary ? EDGE_OUT_FAILOVER_OK
                                       : EDGE_OUT_OK;
    r->streaming = 1;
    evhttp_send_reply_start(r->vreq, r->status, r->reason[0] ? r->reason : NULL);
    return 0;
}

/* A response that fails over is read to its end, rather than aborted (which closes the origin
 * connection), when its body is known to be small. */
static int can_drain(struct edge_req *r)
{
    curl_off_t cl = -1;

    if (r->head || r->status == 204 || r->status == 304)
        return 1;
    return curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK &&
           cl >= 0 && cl <= EDGE_DRAIN_MAX;
}

static size_t header_cb(char *data, size_t size, size_t n, void *arg)
{
    struct edge_req *r = arg;
    size_t len = size * n;
    enum edge_reason why;
    enum edge_step step;

    if (r->viewer_gone || !r->vreq)
        return 0;
    if (r->streaming || r->draining)
        return len; /* trailers */
    if (r->connected)
        touch(r); /* bytes arrived */
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* a status line starts a new block (1xx blocks come first) */
        const char *sp = memchr(data, ' ', len);
        buf_reset(&r->resp_hdrs);
        r->status = 0;
        r->reason[0] = '\0';
        if (sp && (size_t)(sp - data) + 4 <= len) {
            size_t rest = len - (size_t)(sp - data) - 1;
            const char *reason;
            size_t rlen;
            r->status = atoi(sp + 1);
            reason = memchr(sp + 1, ' ', rest);
            if (reason) {
                reason++;
                rlen = len - (size_t)(reason - data);
                while (rlen > 0 && (reason[rlen - 1] == '\r' || reason[rlen - 1] == '\n'))
                    rlen--;
                if (rlen >= sizeof(r->reason))
                    rlen = sizeof(r->reason) - 1;
                memcpy(r->reason, reason, rlen);
                r->reason[rlen] = '\0';
            }
        }
        return len;
    }
    if ((len == 2 && data[0] == '\r') || (len == 1 && data[0] == '\n')) {
        long code = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code > 0)
            r->status = (int)code;
        if (r->status < 200) {
            buf_reset(&r->resp_hdrs);
            return len;
        }
        step = decide(r, EDGE_ATTEMPT_RESPONSE, r->status, &why);
        if (step == EDGE_STEP_DELIVER) {
            if (begin_reply(r) == 0)
                return len;
            r->has_pending = 1;
            r->pending_error = 502;
            return 0;
        }
        r->has_pending = 1;
        r->pending = step;
        r->pending_reason = why;
        if (can_drain(r)) {
            /* the body is small and most likely here already: read it, so that the origin
             * connection stays open for the next request, but wait no longer than
             * EDGE_DRAIN_MS for it (resp_timeout_cb) */
            r->draining = 1;
            evtimer_add(r->resp_timer, &r->w->drain_tv);
            return len;
        }
        return 0; /* aborts this transfer; transfer_done() carries out the step */
    }
    /* a header line: keep it NUL-separated, without the line end; folded lines join the last */
    while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n'))
        len--;
    if ((data[0] == ' ' || data[0] == '\t') && buf_len(&r->resp_hdrs) > 0) {
        buf_truncate(&r->resp_hdrs, buf_len(&r->resp_hdrs) - 1);
        if (buf_addc(&r->resp_hdrs, ' ') || buf_add(&r->resp_hdrs, data, len) ||
            buf_add(&r->resp_hdrs, "", 1))
            goto too_big;
        return size * n;
    }
    if (buf_add(&r->resp_hdrs, data, len) || buf_add(&r->resp_hdrs, "", 1))
        goto too_big;
    return size * n;
too_big:
    record_attempt(r, EDGE_RES_RESPONSE, 0);
    r->has_pending = 1;
    r->pending_error = 502;
    return 0;
}

static void chunk_written(struct evhttp_connection *evcon, void *arg);

static size_t write_cb(char *data, size_t size, size_t n, void *arg)
{
    struct edge_req *r = arg;
    size_t len = size * n;
    struct bufferevent *bev;
    size_t queued;

    if (r->draining && !r->viewer_gone)
        return len; /* a failed-over response's body: dropped */
    if (r->viewer_gone || !r->vreq || !r->streaming)
        return 0;
    bev = evhttp_connection_get_bufferevent(r->vcon);
    queued = evbuffer_get_length(bufferevent_get_output(bev));
    if (queued > r->w->e->watermark) {
        /* the viewer is slower than the origin: hold the origin until the buffer drains; the
         * response timer stops meanwhile (it measures the origin, not the viewer) */
        r->paused = 1;
        evtimer_del(r->resp_timer);
        return CURL_WRITEFUNC_PAUSE;
    }
    touch(r);
    if (evbuffer_add(r->chunk, data, len) != 0)
        return 0;
    /* evhttp only queues here; the socket is written from the event loop */
    evhttp_send_reply_chunk_with_cb(r->vreq, r->chunk, chunk_written, r);
    r->bytes += len;
    edge_metrics_high_water(&r->w->metrics, queued + len);
    return len;
}

/* evhttp drained the viewer's output buffer: let a paused origin transfer go on. */
static void chunk_written(struct evhttp_connection *evcon, void *arg)
{
    struct edge_req *r = arg;

    (void)evcon;
    if (!r->paused)
        return;
    if (r->conn) {
        r->paused = 0;
        arm_resp_timer(r);
        bufferevent_enable(evhttp_connection_get_bufferevent(r->conn->evcon), EV_READ);
        return;
    }
    if (!r->in_multi)
        return;
    r->paused = 0;
    arm_resp_timer(r);
    r->w->now = r->t_activity;
    curl_easy_pause(r->easy, CURLPAUSE_CONT); /* may call write_cb() at once */
}

/* One header line into h->text: "Name: a, b" (b may be NULL or ""), or "Name;" when the value is
 * empty, which is curl's way of sending a header with an empty value. */
static cfdr_code hdr_add(struct edge_hdrs *h, const char *name, const char *a, const char *b)
{
    int has_b = b && *b;

    CFDR_TRY(buf_adds(&h->text, name));
    if (!*a && !has_b)
        return buf_add(&h->text, ";", 2);
    CFDR_TRY(buf_add(&h->text, ": ", 2));
    CFDR_TRY(buf_adds(&h->text, a));
    if (has_b) {
        if (*a)
            CFDR_TRY(buf_add(&h->text, ", ", 2));
        CFDR_TRY(buf_adds(&h->text, b));
    }
    return buf_add(&h->text, "", 1);
}

/* A line as is ("Expect:" removes a header curl would add on its own). */
static cfdr_code hdr_raw(struct edge_hdrs *h, const char *line)
{
    return buf_add(&h->text, line, strlen(line) + 1);
}

/* Links the nodes once the text is complete (the text does not move any more). */
static cfdr_code hdr_link(struct edge_hdrs *h)
{
    const char *text = buf_str(&h->text), *end = text + buf_len(&h->text);
    struct curl_slist zero = {NULL, NULL}, *nodes;
    size_t n = 0, i = 0;

    for (const char *p = text; p < end; p += strlen(p) + 1)
        n++;
    buf_reset(&h->nodes);
    for (size_t k = 0; k < n; k++)
        CFDR_TRY(buf_add(&h->nodes, &zero, sizeof(zero)));
    nodes = (struct curl_slist *)(void *)h->nodes.p; /* malloc'd: aligned for any type */
    for (const char *p = text; p < end; p += strlen(p) + 1, i++) {
        nodes[i].data = (char *)p;
        nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
    }
    h->list = n ? nodes : NULL;
    return CFDR_OK;
}

/* Whether the origin request carries a body (curl then adds Content-Type and, for large ones,
 * Expect: 100-continue, unless told not to). */
static int sends_body(const struct edge_req *r)
{
    return buf_len(&r->body) > 0 || strcmp(r->method, "POST") == 0 ||
           strcmp(r->method, "PUT") == 0 || strcmp(r->method, "PATCH") == 0;
}

/* The origin request's headers: the viewer's minus hop-by-hop ones, Host set to the origin's,
 * Via, X-Amz-Cf-Id and X-Forwarded-For added, curl's own defaults removed. */
static cfdr_code build_headers(struct edge_req *r, int role)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->vreq);
    const char *connection = evhttp_find_header(in, "Connection");
    const char *via = evhttp_find_header(in, "Via");
    const char *xff = evhttp_find_header(in, "X-Forwarded-For");
    struct edge *e = r->w->e;
    struct edge_hdrs *h = &r->hdrs[role];
    int has_accept = 0, has_type = 0;
    struct evkeyval *kv;

    buf_reset(&h->text);
    h->list = NULL;
    TAILQ_FOREACH(kv, in, next)
    {
        if (is_hop(kv->key, connection) || strcasecmp(kv->key, "host") == 0 ||
            strcasecmp(kv->key, "expect") == 0 || strcasecmp(kv->key, "content-length") == 0 ||
            strcasecmp(kv->key, "via") == 0 || strcasecmp(kv->key, "x-forwarded-for") == 0 ||
            strcasecmp(kv->key, "x-amz-cf-id") == 0)
            continue;
        has_accept |= strcasecmp(kv->key, "accept") == 0;
        has_type |= strcasecmp(kv->key, "content-type") == 0;
        CFDR_TRY(hdr_add(h, kv->key, kv->value, NULL));
    }
    CFDR_TRY(hdr_add(h, "Host", e->routes.host[r->route->origin[role]], NULL));
    CFDR_TRY(hdr_add(h, "Via", via ? via : "", e->via));
    CFDR_TRY(hdr_add(h, "X-Amz-Cf-Id", r->id, NULL));
    CFDR_TRY(hdr_add(h, "X-Forwarded-For", xff ? xff : "", r->client));
    if (!has_accept)
        CFDR_TRY(hdr_raw(h, "Accept:"));
    /* curl adds these only to requests with a body */
    if (sends_body(r)) {
        CFDR_TRY(hdr_raw(h, "Expect:"));
        if (!has_type)
            CFDR_TRY(hdr_raw(h, "Content-Type:"));
    }
    return hdr_link(h);
}

/* The easy handle for this request. It is reset for every request even when its options would
 * not change: curl keeps per-handle state that only curl_easy_reset() clears, among it the
 * count of silent retries on a reused connection the origin had closed (at most 5 per handle,
 * never reset between transfers), and that retry must stay silent for every request. */
static CURLcode easy_prepare(struct edge_req *r)
{
    CURLcode cc;

    curl_easy_reset(r->easy);
    cc = easy_configure(r);
    if (cc == CURLE_OK && r->head)
        cc = curl_easy_setopt(r->easy, CURLOPT_NOBODY, 1L);
    else if (cc == CURLE_OK && strcmp(r->method, "GET") != 0)
        cc = curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, r->method);
    if (cc == CURLE_OK && sends_body(r)) {
        cc = curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)buf_len(&r->body));
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, buf_str(&r->body));
    }
    return cc;
}

/* An attempt on an https:// origin, through libcurl's multi interface. */
static void curl_start_attempt(struct edge_req *r)
{
    struct edge *e = r->w->e;
    int role = r->pos.on_secondary;
    int oi = r->route->origin[role];
    const struct edge_origin *o = &e->routes.cfg.origins[oi];
    CURLcode cc = CURLE_OK;

    if (!r->easy) {
        r->easy = curl_easy_init();
        if (!r->easy) {
            send_error(r, 502, EDGE_OUT_502);
            return;
        }
    }

    r->connected = 0;
    r->status = 0;
    r->draining = 0;
    r->has_pending = 0;
    r->pending_error = 0;
    buf_reset(&r->resp_hdrs);
    r->t_attempt = now_s();
    if (r->nattempts >= EDGE_MAX_ATTEMPTS) {
        send_error(r, 502, EDGE_OUT_502); /* cannot happen with attempts <= 3 */
        return;
    }
    if (!r->hdrs[role].list && build_headers(r, role) != CFDR_OK) {
        send_error(r, 502, EDGE_OUT_502);
        return;
    }
    buf_reset(&r->url);
    if (buf_adds(&r->url, e->routes.base[oi]) || buf_adds(&r->url, r->target)) {
        send_error(r, 400, EDGE_OUT_BAD_REQUEST);
        return;
    }
    if (!r->easy_ready) {
        cc = easy_prepare(r);
        r->easy_ready = cc == CURLE_OK;
    }
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs[role].list);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, o->connection_timeout_ms);
    if (cc != CURLE_OK) {
        send_error(r, 502, EDGE_OUT_502);
        return;
    }
    if (curl_easy_setopt(r->easy, CURLOPT_URL, buf_str(&r->url)) != CURLE_OK) {
        send_error(r, 400, EDGE_OUT_BAD_REQUEST);
        return;
    }
    if (curl_multi_add_handle(r->w->multi, r->easy) != CURLM_OK) {
        send_error(r, 502, EDGE_OUT_502);
        return;
    }
    r->in_multi = 1;
}

/* The origin's response is complete and streamed: the viewer's reply ends. */
static void deliver_end(struct edge_req *r)
{
    struct evhttp_connection *vcon = r->vcon;
    struct evhttp_request *vreq = r->vreq;

    /* counted and logged before the viewer can see the end of the reply */
    evhttp_connection_set_closecb(vcon, NULL, NULL);
    r->vreq = NULL;
    finish(r);
    /* The reply goes out now rather than on the next turn of the loop, so that
     * evhttp_send_reply_end() finds the output empty and goes straight back to reading the
     * next request: one epoll change and one loop turn fewer, and the reply leaves sooner. */
    if (send_now(evhttp_connection_get_bufferevent(vcon), NULL) == 0)
        evhttp_send_reply_end(vreq);
    else
        evhttp_connection_free(vcon); /* frees vreq with it */
}

/* curl finished (or aborted) the current attempt. */
static void transfer_done(struct edge_req *r, CURLcode res)
{
    enum edge_attempt_kind kind;
    enum edge_reason why;
    enum edge_step step;

    evtimer_del(r->resp_timer);
    if (r->viewer_gone) {
        finish(r);
        return;
    }
    if (r->streaming) {
        if (res != CURLE_OK)
            abort_viewer(r);
        else
            deliver_end(r);
        return;
    }
    if (r->has_pending) {
        if (r->pending_error)
            send_error(r, r->pending_error, EDGE_OUT_502);
        else
            proceed(r, r->pending, r->pending_reason);
        return;
    }
    if (res == CURLE_URL_MALFORMAT) {
        send_error(r, 400, EDGE_OUT_BAD_REQUEST);
        return;
    }
    /* No complete response. Connect failures (refused, unreachable, connect timeout: no
     * transfer timeout is set, so OPERATION_TIMEDOUT is the connect one) are retried; so is a
     * connection that broke after the request went out, for methods that may be re-sent. A
     * POST whose connection broke after sending cannot be re-sent: 502 at once. */
    kind = EDGE_ATTEMPT_CONNECT_FAILED;
    if (res != CURLE_COULDNT_CONNECT && res != CURLE_OPERATION_TIMEDOUT &&
        res != CURLE_COULDNT_RESOLVE_HOST && r->connected && !r->idempotent) {
        record_attempt(r, EDGE_RES_CONNECT_FAILED, 0);
        send_error(r, 502, EDGE_OUT_502);
        return;
    }
    step = decide(r, kind, 0, &why);
    proceed(r, step, why);
}

/* ---------------------------------------------------------------- the evhttp origin client */

/* Frees the connections given up since the last turn of the loop. They are never freed from
 * inside one of their own callbacks (evhttp goes on using the request and the connection after
 * calling us); conn_kill() only detaches them and schedules this. */
static void conn_free(struct edge_conn *c)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);

    evbuffer_remove_cb_entry(bufferevent_get_input(bev), c->in_cb);
    evbuffer_remove_cb_entry(bufferevent_get_output(bev), c->out_cb);
    evhttp_connection_free(c->evcon); /* frees a request still queued on it, without callbacks */
    free(c);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    struct edge_worker *w = arg;

    (void)fd;
    (void)what;
    while (w->dead) {
        struct edge_conn *c = w->dead;
        w->dead = c->next;
        conn_free(c);
    }
}

/* Gives a connection up: nothing more goes out on it, its callbacks are ignored from now on, and
 * it is closed and freed on the next turn of the loop. */
static void conn_kill(struct edge_conn *c)
{
    struct edge_worker *w = c->w;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
    struct evbuffer *out = bufferevent_get_output(bev);

    c->req = NULL;
    bufferevent_disable(bev, EV_READ | EV_WRITE);
    /* the request body is referenced, not copied: it must not go out after the request ends */
    evbuffer_drain(out, evbuffer_get_length(out));
    c->next = w->dead;
    w->dead = c;
    event_active(w->reap_ev, EV_READ, 0);
}

/* Bytes from the origin: a sign of life for the response timeout (any bytes, header lines
 * included, as CloudFront's "response timeout" counts the time between reads). */
static void conn_in_cb(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
    struct edge_conn *c = arg;

    (void)b;
    if (info->n_added && c->req)
        c->req->t_activity = now_s();
}

/* Request bytes left for the origin: the connection is established. The connection timer
 * becomes the response timer. (A reset drains the buffer too, but after closing the socket.) */
static void conn_out_cb(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
    struct edge_conn *c = arg;
    struct edge_req *r = c->req;

    (void)b;
    if (!info->n_deleted || !r || r->connected ||
        bufferevent_getfd(evhttp_connection_get_bufferevent(c->evcon)) < 0)
        return;
    r->connected = 1;
    arm_resp_timer(r);
}

static struct edge_conn *conn_new(struct edge_worker *w, int oi)
{
    const struct edge_target *t = &w->e->targets[oi];
    struct edge_conn *c = calloc(1, sizeof(*c));
    struct timeval never = {86400, 0};
    struct bufferevent *bev;

    if (!c)
        return NULL;
    c->w = w;
    c->origin = oi;
    c->evcon = evhttp_connection_base_new(w->base, NULL, t->host, (ev_uint16_t)t->port);
    if (!c->evcon) {
        free(c);
        return NULL;
    }
    /* evhttp has one timeout for connecting, reading and writing; the edge keeps its own
     * connection and response timers (CloudFront's two settings), so evhttp's is set out of
     * the way: it only closes a connection idle in the pool for that long */
    evhttp_connection_set_timeout_tv(c->evcon, &never);
    evhttp_connection_set_max_headers_size(c->evcon, BUF_MAX_SMALL);
    bev = evhttp_connection_get_bufferevent(c->evcon);
    c->in_cb = evbuffer_add_cb(bufferevent_get_input(bev), conn_in_cb, c);
    c->out_cb = evbuffer_add_cb(bufferevent_get_output(bev), conn_out_cb, c);
    if (!c->in_cb || !c->out_cb) {
        if (c->in_cb)
            evbuffer_remove_cb_entry(bufferevent_get_input(bev), c->in_cb);
        evhttp_connection_free(c->evcon);
        free(c);
        return NULL;
    }
    return c;
}

/* A kept-alive connection to the origin (*reused = 1), or a new one. Pooled connections the
 * origin has closed meanwhile (evhttp notices an idle connection's close) are dropped. */
static struct edge_conn *conn_get(struct edge_worker *w, int oi, int fresh, int *reused)
{
    struct edge_conn *c;

    while (!fresh && (c = w->pool[oi])) {
        w->pool[oi] = c->next;
        w->npool[oi]--;
        c->next = NULL;
        if (bufferevent_getfd(evhttp_connection_get_bufferevent(c->evcon)) >= 0) {
            *reused = 1;
            return c;
        }
        conn_kill(c);
    }
    *reused = 0;
    return conn_new(w, oi);
}

/* Back to the pool after a complete response, unless evhttp closed it (Connection: close, an
 * HTTP/1.0 origin) or the pool is full. */
static void conn_put(struct edge_conn *c)
{
    struct edge_worker *w = c->w;

    c->req = NULL;
    if (w->stopped || w->npool[c->origin] >= w->e->pool_max ||
        bufferevent_getfd(evhttp_connection_get_bufferevent(c->evcon)) < 0) {
        conn_kill(c);
        return;
    }
    c->next = w->pool[c->origin];
    w->pool[c->origin] = c;
    w->npool[c->origin]++;
}

/* The origin request's headers: the viewer's minus hop-by-hop ones, Host set to the origin's,
 * Via, X-Amz-Cf-Id and X-Forwarded-For added, Content-Length for the body. */
static int ev_build_headers(struct edge_req *r, int role, struct evkeyvalq *out)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->vreq);
    const char *connection = evhttp_find_header(in, "Connection");
    const char *via = evhttp_find_header(in, "Via");
    const char *xff = evhttp_find_header(in, "X-Forwarded-For");
    struct edge *e = r->w->e;
    struct evkeyval *kv;
    char line[1024];
    int rc = 0;

    TAILQ_FOREACH(kv, in, next)
    {
        if (is_hop(kv->key, connection) || strcasecmp(kv->key, "host") == 0 ||
            strcasecmp(kv->key, "expect") == 0 || strcasecmp(kv->key, "content-length") == 0 ||
            strcasecmp(kv->key, "via") == 0 || strcasecmp(kv->key, "x-forwarded-for") == 0 ||
            strcasecmp(kv->key, "x-amz-cf-id") == 0)
            continue;
        rc |= evhttp_add_header(out, kv->key, kv->value);
    }
    rc |= evhttp_add_header(out, "Host", e->routes.host[r->route->origin[role]]);
    if (via && *via) {
        if ((size_t)snprintf(line, sizeof(line), "%s, %s", via, e->via) >= sizeof(line))
            return -1;
        rc |= evhttp_add_header(out, "Via", line);
    } else {
        rc |= evhttp_add_header(out, "Via", e->via);
    }
    rc |= evhttp_add_header(out, "X-Amz-Cf-Id", r->id);
    if (xff && *xff) {
        if ((size_t)snprintf(line, sizeof(line), "%s, %s", xff, r->client) >= sizeof(line))
            return -1;
        rc |= evhttp_add_header(out, "X-Forwarded-For", line);
    } else {
        rc |= evhttp_add_header(out, "X-Forwarded-For", r->client);
    }
    if (sends_body(r)) {
        snprintf(line, sizeof(line), "%zu", buf_len(&r->body));
        rc |= evhttp_add_header(out, "Content-Length", line);
    }
    return rc ? -1 : 0;
}

/* The origin's final header block is complete and the decision says deliver: its headers move
 * (no copy) from the origin response to the viewer reply, minus the hop-by-hop ones. */
static int ev_begin_reply(struct edge_req *r, struct evhttp_request *oreq)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(oreq);
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->vreq);
    const char *connection = evhttp_find_header(in, "Connection");
    const char *origin_via = NULL;
    int has_length = 0;
    struct evkeyval *kv, *next;

    evhttp_clear_headers(out);
    for (kv = TAILQ_FIRST(in); kv; kv = next) {
        next = TAILQ_NEXT(kv, next);
        if (is_hop(kv->key, connection) || strcasecmp(kv->key, "x-cache") == 0 ||
            strcasecmp(kv->key, "x-amz-cf-id") == 0)
            continue;
        if (strcasecmp(kv->key, "via") == 0) {
            origin_via = kv->value; /* stays in the origin response until reply_start() */
            continue;
        }
        if (strcasecmp(kv->key, "content-length") == 0) {
            /* copied: evhttp reads the body by it after this callback */
            has_length = 1;
            if (evhttp_add_header(out, kv->key, kv->value) != 0)
                return -1;
            continue;
        }
        TAILQ_REMOVE(in, kv, next);
        TAILQ_INSERT_TAIL(out, kv, next);
    }
    return reply_start(r, origin_via, has_length);
}

/* A response that fails over is read to its end, rather than dropped with its connection, when
 * its body is known to be small. */
static int ev_can_drain(struct edge_req *r, struct evhttp_request *oreq)
{
    const char *cl;
    char *end;
    unsigned long long n;

    if (r->head || r->status == 204 || r->status == 304)
        return 1;
    cl = evhttp_find_header(evhttp_request_get_input_headers(oreq), "Content-Length");
    if (!cl || !*cl)
        return 0;
    errno = 0;
    n = strtoull(cl, &end, 10);
    return errno == 0 && *end == '\0' && n <= EDGE_DRAIN_MAX;
}

static int ev_header_cb(struct evhttp_request *oreq, void *arg)
{
    struct edge_conn *c = arg;
    struct edge_req *r = c->req;
    const char *reason;
    enum edge_reason why;
    enum edge_step step;
    int code;

    if (!r || r->viewer_gone || !r->vreq)
        return -1;
    code = evhttp_request_get_response_code(oreq);
    if (code >= 100 && code < 200) {
        /* An informational block (103 Early Hints, an unasked 100 Continue): the final one
         * follows. evhttp only waits for another block after a 100 with a request body still to
         * send; it is told this is a 100 and given the write event it then waits for. */
        evhttp_clear_headers(evhttp_request_get_input_headers(oreq));
        oreq->response_code = 100;
        bufferevent_trigger(evhttp_connection_get_bufferevent(c->evcon), EV_WRITE,
                            BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
        return 0;
    }
    r->got_head = 1;
    r->status = code;
    reason = evhttp_request_get_response_code_line(oreq);
    snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
    step = decide(r, EDGE_ATTEMPT_RESPONSE, r->status, &why);
    if (step == EDGE_STEP_DELIVER) {
        if (ev_begin_reply(r, oreq) == 0)
            return 0;
        r->has_pending = 1;
        r->pending_error = 502;
        return -1;
    }
    r->has_pending = 1;
    r->pending = step;
    r->pending_reason = why;
    if (ev_can_drain(r, oreq)) {
        /* read the small body, so that the connection stays open for the next request, but
         * wait no longer than EDGE_DRAIN_MS for it (resp_timeout_cb) */
        r->draining = 1;
        evtimer_add(r->resp_timer, &r->w->drain_tv);
        return 0;
    }
    return -1; /* evhttp closes the connection; ev_done_cb() carries out the step */
}

/* A piece of the response body: moved (no copy) to the viewer's output. When that holds more
 * than the watermark, the origin connection stops being read until it drains (chunk_written). */
static void ev_chunk_cb(struct evhttp_request *oreq, void *arg)
{
    struct edge_conn *c = arg;
    struct edge_req *r = c->req;
    struct evbuffer *in = evhttp_request_get_input_buffer(oreq);
    size_t len = evbuffer_get_length(in), queued;
    struct bufferevent *vbev;

    if (!r || r->draining || !r->streaming || !r->vreq || r->head)
        return; /* evhttp drops what is left in the buffer */
    vbev = evhttp_connection_get_bufferevent(r->vcon);
    evhttp_send_reply_chunk_with_cb(r->vreq, in, chunk_written, r);
    r->bytes += len;
    queued = evbuffer_get_length(bufferevent_get_output(vbev));
    edge_metrics_high_water(&r->w->metrics, queued);
    if (queued > r->w->e->watermark) {
        /* the viewer is slower than the origin; the response timer stops meanwhile (it
         * measures the origin, not the viewer) */
        r->paused = 1;
        evtimer_del(r->resp_timer);
        bufferevent_disable(evhttp_connection_get_bufferevent(c->evcon), EV_READ);
    }
}

static void ev_error_cb(enum evhttp_request_error error, void *arg)
{
    struct edge_conn *c = arg;

    if (c->req)
        c->req->oerr = error;
}

static void ev_start_attempt(struct edge_req *r, int fresh);

/* The attempt on c ended: a complete response (ok), or evhttp gave up (connect failure, the
 * connection closed or reset, an unreadable response, or the header callback refused it). */
static void ev_attempt_end(struct edge_req *r, int ok)
{
    struct edge_conn *c = r->conn;
    enum edge_reason why;
    enum edge_step step;

    r->conn = NULL;
    evtimer_del(r->resp_timer);
    if (ok)
        conn_put(c);
    else
        conn_kill(c);
    if (r->streaming) {
        if (ok)
            deliver_end(r);
        else
            abort_viewer(r);
        return;
    }
    if (r->has_pending) {
        if (r->pending_error)
            send_error(r, r->pending_error, EDGE_OUT_502);
        else
            proceed(r, r->pending, r->pending_reason);
        return;
    }
    if (ok) {
        send_error(r, 502, EDGE_OUT_502); /* cannot happen: a response goes through the above */
        return;
    }
    /* A kept-alive connection that the origin closed as the request went out: the request is
     * re-sent once on a new connection, and that is not a failed attempt (what browsers and
     * proxies do for requests that may be re-sent; others never use a kept-alive one). */
    if (r->reused && r->idempotent && !r->got_head && !r->silent_retried) {
        r->silent_retried = 1;
        ev_start_attempt(r, 1);
        return;
    }
    if (r->oerr == EVREQ_HTTP_INVALID_HEADER && r->connected) {
        record_attempt(r, EDGE_RES_RESPONSE, 0); /* an unreadable or too large header block */
        send_error(r, 502, EDGE_OUT_502);
        return;
    }
    /* No response. A refused or failed connect is retried; so is a connection that broke after
     * the request went out, for methods that may be re-sent. A POST whose connection broke
     * after sending cannot be re-sent (the origin may have acted on it): 502 at once. */
    if (r->connected && !r->idempotent) {
        record_attempt(r, EDGE_RES_CONNECT_FAILED, 0);
        send_error(r, 502, EDGE_OUT_502);
        return;
    }
    step = decide(r, EDGE_ATTEMPT_CONNECT_FAILED, 0, &why);
    proceed(r, step, why);
}

/* evhttp's request callback: oreq is NULL when the connection failed (error in ev_error_cb),
 * has response code 0 when the connect failed, and is a complete response otherwise. */
static void ev_done_cb(struct evhttp_request *oreq, void *arg)
{
    struct edge_conn *c = arg;
    struct edge_req *r = c->req;
    int ok = oreq && evhttp_request_get_response_code(oreq) > 0;

    if (!r)
        return; /* given up already */
    if (r->in_make) {
        /* a synchronous failure inside evhttp_make_request(): ev_start_attempt() goes on */
        r->sync_done = 1;
        return;
    }
    ev_attempt_end(r, ok);
}

/* An attempt on an http:// origin, through libevent's own HTTP client: a kept-alive connection
 * from the pool (fresh: a new one), the viewer's request re-sent with the edge's headers. */
static void ev_start_attempt(struct edge_req *r, int fresh)
{
    struct edge_worker *w = r->w;
    int role = r->pos.on_secondary;
    int oi = r->route->origin[role];
    const struct edge_target *t = &w->e->targets[oi];
    struct evhttp_request *oreq;
    struct edge_conn *c;
    const char *uri = r->target;
    int reused = 0, rc;

    r->got_head = 0;
    r->oerr = 0;
    /* A request that must not be sent twice (POST, PATCH) never rides a kept-alive connection:
     * an origin closing one as the request goes out cannot say whether it acted on it, so
     * only a fresh connection lets a failure mean what it says. */
    c = conn_get(w, oi, fresh || !r->idempotent, &reused);
    if (!c) {
        send_error(r, 502, EDGE_OUT_502);
        return;
    }
    oreq = evhttp_request_new(ev_done_cb, c);
    if (!oreq || ev_build_headers(r, role, evhttp_request_get_output_headers(oreq)) != 0 ||
        (buf_len(&r->body) > 0 &&
         evbuffer_add_reference(evhttp_request_get_output_buffer(oreq), buf_str(&r->body),
                                buf_len(&r->body), NULL, NULL) != 0)) {
        if (oreq)
            evhttp_request_free(oreq);
        conn_put(c);
        send_error(r, 502, EDGE_OUT_502);
        return;
    }
    if (t->prefix[0]) {
        buf_reset(&r->url);
        if (buf_adds(&r->url, t->prefix) || buf_adds(&r->url, r->target)) {
            evhttp_request_free(oreq);
            conn_put(c);
            send_error(r, 400, EDGE_OUT_BAD_REQUEST);
            return;
        }
        uri = buf_str(&r->url);
    }
    evhttp_request_set_header_cb(oreq, ev_header_cb);
    evhttp_request_set_chunked_cb(oreq, ev_chunk_cb);
    evhttp_request_set_error_cb(oreq, ev_error_cb);
    c->req = r;
    r->conn = c;
    r->reused = reused;
    r->connected = reused;
    if (reused)
        arm_resp_timer(r);
    else
        evtimer_add(r->resp_timer, w->conn_tv[oi]); /* the connection timeout */
    r->in_make = 1;
    r->sync_done = 0;
    rc = evhttp_make_request(c->evcon, oreq, r->cmd, uri);
    r->in_make = 0;
    if (rc == 0 && reused && !r->sync_done) {
        /* The request goes out now rather than on the next turn of the loop (the write event
         * evhttp has just asked for is then dropped in the same turn: no epoll change); when
         * all of it went, evhttp is told so, as the bufferevent's own write would tell it, and
         * starts waiting for the response. */
        struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
        int emptied = 0;
        if (send_now(bev, &emptied) == 0 && emptied)
            bufferevent_trigger(bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS);
    }
    if (rc != 0) {
        /* evhttp could not even start (no socket): a failed connection attempt. (The request
         * is evhttp's: it frees it or leaves it on the connection, which is freed with it.) */
        r->sync_done = 1;
    }
    if (r->sync_done) {
        r->sync_done = 0;
        ev_attempt_end(r, 0);
    }
}

static void start_attempt(struct edge_req *r)
{
    int oi = r->route->origin[r->pos.on_secondary];

    r->connected = 0;
    r->status = 0;
    r->draining = 0;
    r->has_pending = 0;
    r->pending_error = 0;
    r->silent_retried = 0;
    r->t_attempt = now_s();
    if (r->nattempts >= EDGE_MAX_ATTEMPTS) {
        send_error(r, 502, EDGE_OUT_502); /* cannot happen with attempts <= 3 */
        return;
    }
    if (r->w->e->targets[oi].https)
        curl_start_attempt(r);
    else
        ev_start_attempt(r, 0);
}

/* ---------------------------------------------------------------- curl <-> libevent */

static void check_multi_info(struct edge_worker *w)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(w->multi, &left))) {
        if (msg->msg == CURLMSG_DONE) {
            CURL *easy = msg->easy_handle;
            CURLcode res = msg->data.result;
            struct edge_req *r = NULL;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
            curl_multi_remove_handle(w->multi, easy);
            r->in_multi = 0;
            transfer_done(r, res);
        }
    }
}

static void curl_event_cb(evutil_socket_t fd, short kind, void *arg)
{
    struct edge_worker *w = arg;
    struct edge_sock *es = fd < w->nsocks ? &w->socks[fd] : NULL;
    int running;
    int action =
        ((kind & EV_READ) ? CURL_CSELECT_IN : 0) | ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);

    if (es && !es->curl_wants) {
        /* an idle connection in curl's cache became readable: the origin closed it (or sent
         * something unasked). Stop watching; curl finds it dead when it next considers it. */
        event_del(es->ev);
        es->kind = 0;
        return;
    }
    w->now = now_s();
    curl_multi_socket_action(w->multi, fd, action, &running);
    check_multi_info(w);
}

static void curl_timer_cb(evutil_socket_t fd, short kind, void *arg)
{
    struct edge_worker *w = arg;
    int running;

    (void)fd;
    (void)kind;
    w->now = now_s();
    curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info(w);
}

static int multi_timer_fn(CURLM *multi, long timeout_ms, void *arg)
{
    struct edge_worker *w = arg;
    struct timeval tv;

    (void)multi;
    if (timeout_ms < 0) {
        evtimer_del(w->curl_timer);
        return 0;
    }
    ms_timeval(timeout_ms, &tv);
    return evtimer_add(w->curl_timer, &tv) == 0 ? 0 : -1;
}

/* The worker's record of descriptor fd, the table grown as needed; NULL when out of memory. */
static struct edge_sock *sock_slot(struct edge_worker *w, curl_socket_t fd)
{
    if (fd < 0)
        return NULL;
    if (fd >= w->nsocks) {
        int n = w->nsocks ? w->nsocks : 256;
        struct edge_sock *t;
        while (n <= fd)
            n *= 2;
        t = realloc(w->socks, (size_t)n * sizeof(*t));
        if (!t)
            return NULL;
        memset(t + w->nsocks, 0, (size_t)(n - w->nsocks) * sizeof(*t));
        w->socks = t;
        w->nsocks = n;
    }
    return &w->socks[fd];
}

/* curl says what to watch on a socket. REMOVE comes when a transfer is done with a connection
 * (it goes to curl's cache) and right before curl closes a socket: a read watch is kept for the
 * next transfer on the connection, and removed for good by closesocket_cb(). */
static int multi_socket_fn(CURL *easy, curl_socket_t s, int what, void *arg, void *sockp)
{
    struct edge_worker *w = arg;
    struct edge_sock *es;
    short kind;

    (void)easy;
    (void)sockp;
    if (what == CURL_POLL_REMOVE) {
        es = s < w->nsocks ? &w->socks[s] : NULL;
        if (es && es->ev) {
            es->curl_wants = 0;
            if (es->kind != EV_READ) {
                event_del(es->ev);
                es->kind = 0;
            }
        }
        return 0;
    }
    kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0));
    es = sock_slot(w, s);
    if (!es)
        return -1;
    es->curl_wants = 1;
    if (es->ev && es->kind == kind)
        return 0;
    if (!es->ev) {
        es->ev = event_new(w->base, s, kind | EV_PERSIST, curl_event_cb, w);
        if (!es->ev)
            return -1;
    } else {
        event_del(es->ev);
        event_assign(es->ev, w->base, s, kind | EV_PERSIST, curl_event_cb, w);
    }
    es->kind = 0;
    if (event_add(es->ev, NULL) != 0)
        return -1;
    es->kind = kind;
    return 0;
}

/* curl closes an origin socket (CURLOPT_CLOSESOCKETFUNCTION, set on every easy handle and
 * inherited by the connections they make): the watch goes first, so that a new socket with the
 * same number never meets a stale event. */
static int closesocket_cb(void *clientp, curl_socket_t fd)
{
    struct edge_worker *w = clientp;

    if (fd >= 0 && fd < w->nsocks && w->socks[fd].ev) {
        event_del(w->socks[fd].ev);
        w->socks[fd].kind = 0;
        w->socks[fd].curl_wants = 0;
    }
    return close(fd) == 0 ? 0 : 1;
}

/* ---------------------------------------------------------------- viewer side */

/* The request target to forward: the path and query exactly as received; an absolute-form
 * target ("http://host/path") gives its path and query. */
static const char *request_target(const char *uri)
{
    const char *p = uri;

    if (uri[0] != '/' && strstr(uri, "://")) {
        p = strchr(strstr(uri, "://") + 3, '/');
        if (!p)
            p = "/";
    }
    return p;
}

/* The route for a target (matched on its path, without query or fragment). */
static const struct edge_route *route_for(const struct edge_routes *routes, const char *target)
{
    size_t plen;
    char small[512], *path = small;
    const struct edge_route *rt;

    if (routes->nroutes == 1)
        return &routes->routes[0]; /* the default behaviour matches every path */
    plen = strcspn(target, "?#");
    if (plen >= sizeof(small) && !(path = malloc(plen + 1)))
        return NULL;
    memcpy(path, target, plen);
    path[plen] = '\0';
    rt = edge_routes_match(routes, path);
    if (path != small)
        free(path);
    return rt;
}

static void on_request(struct evhttp_request *vreq, void *arg)
{
    struct edge_worker *w = arg;
    struct edge *e = w->e;
    struct edge_req *r;
    struct evbuffer *in;
    char *peer = NULL;
    ev_uint16_t peer_port = 0;

    r = req_get(w);
    if (!r) {
        evhttp_send_error(vreq, 503, NULL);
        return;
    }
    edge_metrics_in_flight(&w->metrics, 1);
    r->vreq = vreq;
    r->vcon = evhttp_request_get_connection(vreq);
    r->t_start = now_s();
    r->cmd = evhttp_request_get_command(vreq);
    r->method = method_name(r->cmd);
    r->idempotent = edge_failover_method_idempotent(r->method);
    r->head = strcmp(r->method, "HEAD") == 0;
    r->pos.attempt = 1;
    make_id(&w->rng, r->id);
    if (e->access_log)
        clock_gettime(CLOCK_REALTIME, &r->t_wall);
    evhttp_connection_get_peer(r->vcon, &peer, &peer_port);
    if (peer && strlen(peer) < sizeof(r->client))
        memcpy(r->client, peer, strlen(peer) + 1);
    r->next = w->live;
    if (w->live)
        w->live->prev = r;
    w->live = r;
    r->outcome = EDGE_OUT_ABORTED;
    evhttp_connection_set_closecb(r->vcon, viewer_closed, r);

    if (buf_adds(&r->target_buf, request_target(evhttp_request_get_uri(vreq))) != CFDR_OK) {
        send_error(r, 400, EDGE_OUT_BAD_REQUEST);
        return;
    }
    r->target = buf_str(&r->target_buf);
    r->route = route_for(&e->routes, r->target);
    if (!r->route) {
        send_error(r, 502, EDGE_OUT_502);
        return;
    }
    if (!edge_methods_allow(r->route->behavior->methods, r->method)) {
        send_error(r, 403, EDGE_OUT_FORBIDDEN);
        return;
    }
    r->pos.has_secondary = r->route->has_secondary;
    r->pos.idempotent = r->idempotent;
    in = evhttp_request_get_input_buffer(vreq);
    if (evbuffer_get_length(in) > 0) {
        size_t n = evbuffer_get_length(in);
        unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)n);
        if (!p || buf_add(&r->body, p, n) != CFDR_OK) {
            send_error(r, 400, EDGE_OUT_BAD_REQUEST);
            return;
        }
    }
    /* Most requests are answered within a few ms; the socket watch (two epoll changes) is only
     * worth it for the others. */
    if (event_assign(r->watch, w->base,
                     bufferevent_getfd(evhttp_connection_get_bufferevent(r->vcon)), EV_READ,
                     watch_cb, r) == 0)
        evtimer_add(r->watch_timer, w->watch_tv);
    start_attempt(r);
}

/* ---------------------------------------------------------------- admin */

static void on_admin(struct evhttp_request *req, void *arg)
{
    struct edge *e = arg;
    const char *uri = evhttp_request_get_uri(req);
    struct evbuffer *body = evbuffer_new();
    struct buf b;

    if (!body) {
        evhttp_send_error(req, 503, NULL);
        return;
    }
    buf_init(&b, BUF_MAX_DOC);
    if (strncmp(uri, "/metrics", 8) == 0 && (uri[8] == '\0' || uri[8] == '?')) {
        if (edge_metrics_render(e, &b) == CFDR_OK) {
            evbuffer_add(body, buf_str(&b), buf_len(&b));
            evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                              "text/plain; version=0.0.4; charset=utf-8");
            evhttp_send_reply(req, 200, "OK", body);
        } else {
            evhttp_send_error(req, 500, NULL);
        }
    } else if (strcmp(uri, "/healthz") == 0) {
        evbuffer_add_printf(body, "ok\n");
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
        evhttp_send_reply(req, 200, "OK", body);
    } else {
        evhttp_send_error(req, 404, NULL);
    }
    buf_free(&b);
    evbuffer_free(body);
}

/* ---------------------------------------------------------------- setup and teardown */

/* A listening socket for "HOST:PORT" (IPv6 as "[::1]:PORT"); port overrides when > 0. */
static cfdr_code listen_socket(const char *addr, const char *what, int reuseport, int port,
                               evutil_socket_t *out, int *bound_port, cfdr_err *err)
{
    char host[256], portstr[16];
    const char *colon = strrchr(addr, ':');
    struct addrinfo hints, *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = -1, one = 1, rc;

    if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof(host) || !colon[1])
        return err_set(err, CFDR_E_USAGE, "%s address \"%s\": expected HOST:PORT", what, addr);
    if (addr[0] == '[' && colon[-1] == ']')
        snprintf(host, sizeof(host), "%.*s", (int)(colon - addr - 2), addr + 1);
    else
        snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
    if (port > 0)
        snprintf(portstr, sizeof(portstr), "%d", port);
    else
        snprintf(portstr, sizeof(portstr), "%s", colon + 1);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((rc = getaddrinfo(host, portstr, &hints, &ai)) != 0)
        return err_set(err, CFDR_E_USAGE, "%s address \"%s\": %s", what, addr, gai_strerror(rc));
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* TCP_NODELAY is inherited by accepted sockets (Linux): a reply that goes out in more than
     * one write must not wait for the viewer's delayed ACK */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 4096) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return err_set(err, CFDR_E_IO, "%s address \"%s\": cannot listen: %s (is the port in use?)",
                       what, addr, strerror(e));
    }
    freeaddrinfo(ai);
    *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    *out = fd;
    return CFDR_OK;
}

/* An origin URL (validated already: http(s)://authority[/path]) split for the evhttp client. */
static cfdr_code target_parse(const char *url, struct edge_target *t, cfdr_err *err)
{
    struct evhttp_uri *u = evhttp_uri_parse(url);
    const char *scheme, *host, *path;
    size_t n;

    memset(t, 0, sizeof(*t));
    if (!u)
        return err_set(err, CFDR_E_CONFIG, "origin URL \"%s\" cannot be parsed", url);
    scheme = evhttp_uri_get_scheme(u);
    host = evhttp_uri_get_host(u);
    path = evhttp_uri_get_path(u);
    t->https = scheme && strcasecmp(scheme, "https") == 0;
    t->port = evhttp_uri_get_port(u);
    if (t->port <= 0)
        t->port = t->https ? 443 : 80;
    if (!host || !*host || strlen(host) >= sizeof(t->host) ||
        (path && strlen(path) >= sizeof(t->prefix))) {
        evhttp_uri_free(u);
        return err_set(err, CFDR_E_CONFIG, "origin URL \"%s\": unusable host or path", url);
    }
    memcpy(t->host, host, strlen(host) + 1);
    if (path) {
        n = strlen(path);
        while (n > 0 && path[n - 1] == '/')
            n--;
        memcpy(t->prefix, path, n);
        t->prefix[n] = '\0';
    }
    evhttp_uri_free(u);
    return CFDR_OK;
}

/* Aborts everything in flight on a worker and frees its resources (on its own thread). */
static void worker_teardown(struct edge_worker *w)
{
    if (w->stopped)
        return;
    w->stopped = 1;
    while (w->live) {
        struct edge_req *r = w->live;
        remove_transfer(r);
        if (r->vreq) {
            evhttp_connection_set_closecb(r->vcon, NULL, NULL);
            r->vreq = NULL; /* still attached: evhttp_free() frees it with its connection */
        }
        r->outcome = EDGE_OUT_ABORTED;
        finish(r);
    }
    if (w->http)
        evhttp_free(w->http);
    w->http = NULL;
    while (w->idle) {
        struct edge_req *r = w->idle;
        w->idle = r->next;
        req_destroy(r);
    }
    w->nidle = 0;
    for (size_t i = 0; i < EDGE_MAX_ORIGINS; i++)
        while (w->pool[i]) {
            struct edge_conn *c = w->pool[i];
            w->pool[i] = c->next;
            conn_free(c);
        }
    while (w->dead) {
        struct edge_conn *c = w->dead;
        w->dead = c->next;
        conn_free(c);
    }
    if (w->reap_ev)
        event_free(w->reap_ev);
    w->reap_ev = NULL;
    if (w->multi)
        curl_multi_cleanup(w->multi); /* closes the cached connections: closesocket_cb() */
    w->multi = NULL;
    for (int fd = 0; fd < w->nsocks; fd++)
        if (w->socks[fd].ev)
            event_free(w->socks[fd].ev);
    free(w->socks);
    w->socks = NULL;
    w->nsocks = 0;
    if (w->curl_timer)
        event_free(w->curl_timer);
    w->curl_timer = NULL;
    if (w->wake_ev)
        event_free(w->wake_ev);
    w->wake_ev = NULL;
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    struct edge_worker *w = arg;
    char c;

    (void)what;
    if (read(fd, &c, 1) < 0 && errno == EAGAIN)
        return;
    worker_teardown(w);
    event_base_loopbreak(w->base);
}

static void *worker_main(void *arg)
{
    struct edge_worker *w = arg;
    event_base_dispatch(w->base);
    worker_teardown(w);
    return NULL;
}

static cfdr_code worker_init(struct edge *e, struct edge_worker *w, struct event_base *base,
                             int *port, const char *listen_addr, cfdr_err *err)
{
    evutil_socket_t fd;
    int bound;

    w->e = e;
    w->wake[0] = w->wake[1] = -1;
    edge_metrics_init(&w->metrics, &e->routes);
    /* one syscall per worker; request ids then come from splitmix64 on this seed */
    if (getrandom(&w->rng, sizeof(w->rng), 0) != sizeof(w->rng))
        w->rng = (uint64_t)time(NULL) ^ ((uint64_t)(uintptr_t)w << 16);
    if (base) {
        w->base = base;
    } else {
        w->base = new_base();
        w->own_base = 1;
        if (!w->base)
            return err_set(err, CFDR_E_NOMEM, "edge: cannot create an event loop");
    }
    /* Timers of the same duration go on libevent's common-timeout queues (O(1) add and delete)
     * instead of its heap; a plain timeval does the same job, slower, should that fail. */
    for (size_t i = 0; i < e->routes.cfg.norigins; i++) {
        ms_timeval(e->routes.cfg.origins[i].response_timeout_ms, &w->resp_tv_plain[i]);
        w->resp_tv[i] = event_base_init_common_timeout(w->base, &w->resp_tv_plain[i]);
        if (!w->resp_tv[i])
            w->resp_tv[i] = &w->resp_tv_plain[i];
        ms_timeval(e->routes.cfg.origins[i].connection_timeout_ms, &w->conn_tv_plain[i]);
        w->conn_tv[i] = event_base_init_common_timeout(w->base, &w->conn_tv_plain[i]);
        if (!w->conn_tv[i])
            w->conn_tv[i] = &w->conn_tv_plain[i];
    }
    ms_timeval(EDGE_DRAIN_MS, &w->drain_tv);
    ms_timeval(EDGE_WATCH_DELAY_MS, &w->watch_tv_plain);
    w->watch_tv = event_base_init_common_timeout(w->base, &w->watch_tv_plain);
    if (!w->watch_tv)
        w->watch_tv = &w->watch_tv_plain;
    w->multi = curl_multi_init();
    w->http = evhttp_new(w->base);
    w->curl_timer = evtimer_new(w->base, curl_timer_cb, w);
    w->reap_ev = event_new(w->base, -1, 0, reap_cb, w);
    if (!w->multi || !w->http || !w->curl_timer || !w->reap_ev)
        return err_set(err, CFDR_E_NOMEM, "edge: out of memory starting worker %d", w->index);
    if (curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, multi_socket_fn) ||
        curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w) ||
        curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, multi_timer_fn) ||
        curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w) ||
        curl_multi_setopt(w->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING) ||
        /* keep origin connections for reuse even when few transfers run at a moment */
        curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, 1024L))
        return err_set(err, CFDR_E_INTERNAL, "edge: libcurl refused a multi option (libcurl %s)",
                       curl_version_info(CURLVERSION_NOW)->version);
    evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_default_content_type(w->http, NULL);
    evhttp_set_max_headers_size(w->http, BUF_MAX_SMALL);
    evhttp_set_max_body_size(w->http, (ev_ssize_t)e->max_body);
    evhttp_set_timeout(w->http, 60);
    evhttp_set_gencb(w->http, on_request, w);
    CFDR_TRY(listen_socket(listen_addr, "listen", e->nworkers > 1, *port, &fd, &bound, err));
    if (!evhttp_accept_socket_with_handle(w->http, fd)) {
        close(fd);
        return err_set(err, CFDR_E_IO, "edge: cannot accept on %s", listen_addr);
    }
    *port = bound;
    return CFDR_OK;
}

static cfdr_code worker_start_thread(struct edge_worker *w, cfdr_err *err)
{
    if (pipe(w->wake) != 0)
        return err_set(err, CFDR_E_IO, "edge: pipe: %s", strerror(errno));
    for (int i = 0; i < 2; i++)
        if (fcntl(w->wake[i], F_SETFL, O_NONBLOCK) != 0 ||
            fcntl(w->wake[i], F_SETFD, FD_CLOEXEC) != 0)
            return err_set(err, CFDR_E_IO, "edge: pipe: %s", strerror(errno));
    w->wake_ev = event_new(w->base, w->wake[0], EV_READ | EV_PERSIST, wake_cb, w);
    if (!w->wake_ev || event_add(w->wake_ev, NULL) != 0)
        return err_set(err, CFDR_E_NOMEM, "edge: cannot watch the wake pipe");
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return err_set(err, CFDR_E_IO, "edge: cannot start worker thread %d", w->index);
    w->has_thread = 1;
    return CFDR_OK;
}

void edge_free(struct edge *e)
{
    if (!e)
        return;
    for (int i = 1; i < e->nworkers; i++) {
        struct edge_worker *w = &e->workers[i];
        if (w->has_thread) {
            char c = 'q';
            while (write(w->wake[1], &c, 1) < 0 && errno == EINTR)
                ;
            pthread_join(w->thread, NULL);
        } else {
            worker_teardown(w);
        }
    }
    if (e->nworkers > 0)
        worker_teardown(&e->workers[0]);
    for (int i = 0; i < e->nworkers; i++) {
        struct edge_worker *w = &e->workers[i];
        if (w->own_base && w->base)
            event_base_free(w->base);
        if (w->wake[0] >= 0)
            close(w->wake[0]);
        if (w->wake[1] >= 0)
            close(w->wake[1]);
    }
    if (e->admin)
        evhttp_free(e->admin);
    pthread_mutex_destroy(&e->log_mu);
    free(e->workers);
    free(e);
}

cfdr_code edge_new(struct event_base *base, const struct edge_options *o, struct edge **out,
                   cfdr_err *err)
{
    struct edge *e;
    const char *listen_addr = o->listen ? o->listen : "127.0.0.1:0";
    const char *admin_addr = o->admin_listen ? o->admin_listen : "127.0.0.1:0";
    int port = 0;
    evutil_socket_t afd;
    cfdr_code rc;

    *out = NULL;
    if (!base || !o->config)
        return err_set(err, CFDR_E_INTERNAL, "edge_new: an event base and a config are needed");
    if (o->workers < 0 || o->workers > 64)
        return err_set(err, CFDR_E_USAGE, "edge workers: %d is out of range (1-64)", o->workers);
    e = calloc(1, sizeof(*e));
    if (!e)
        return err_set(err, CFDR_E_NOMEM, "edge: out of memory");
    pthread_mutex_init(&e->log_mu, NULL);
    if ((rc = edge_routes_build(&e->routes, o->config, err))) {
        edge_free(e);
        return rc;
    }
    snprintf(e->via, sizeof(e->via), "1.1 %.200s.cfdr.local (cfdr-edge)",
             o->node_id ? o->node_id : "local");
    e->max_body = o->max_body_bytes ? o->max_body_bytes : 16u * 1024u * 1024u;
    e->watermark = o->stream_watermark ? o->stream_watermark : 1024u * 1024u;
    e->pool_max = o->origin_keepalive ? o->origin_keepalive : 1024u;
    for (size_t i = 0; i < e->routes.cfg.norigins; i++)
        if ((rc = target_parse(e->routes.cfg.origins[i].url, &e->targets[i], err))) {
            edge_free(e);
            return rc;
        }
    e->access_log = o->access_log;
    e->access_log_ud = o->access_log_ud;
    e->log = o->log;
    e->nworkers = o->workers ? o->workers : 1;
    e->workers = calloc((size_t)e->nworkers, sizeof(*e->workers));
    if (!e->workers) {
        free(e);
        return err_set(err, CFDR_E_NOMEM, "edge: out of memory");
    }
    for (int i = 0; i < e->nworkers; i++) {
        e->workers[i].index = i;
        e->workers[i].wake[0] = e->workers[i].wake[1] = -1;
    }
    for (int i = 0; i < e->nworkers; i++)
        if ((rc = worker_init(e, &e->workers[i], i == 0 ? base : NULL, &port, listen_addr, err)))
            goto fail;
    e->port = port;
    e->admin = evhttp_new(base);
    if (!e->admin) {
        rc = err_set(err, CFDR_E_NOMEM, "edge: out of memory");
        goto fail;
    }
    evhttp_set_gencb(e->admin, on_admin, e);
    if ((rc = listen_socket(admin_addr, "admin", 0, 0, &afd, &e->admin_port, err)))
        goto fail;
    if (!evhttp_accept_socket_with_handle(e->admin, afd)) {
        close(afd);
        rc = err_set(err, CFDR_E_IO, "edge: cannot accept on %s", admin_addr);
        goto fail;
    }
    for (int i = 1; i < e->nworkers; i++)
        if ((rc = worker_start_thread(&e->workers[i], err)))
            goto fail;
    {
        struct sigaction sa;
        if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
            log_msg(e->log, CFDR_LOG_WARN,
                    "edge: SIGPIPE is not ignored: a viewer that goes away mid-reply can kill "
                    "the process (ignore it with signal(SIGPIPE, SIG_IGN) before edge_new())");
    }
    log_msg(e->log, CFDR_LOG_INFO, "edge: listening on %s (port %d, %d worker%s), admin on %s",
            listen_addr, e->port, e->nworkers, e->nworkers > 1 ? "s" : "", admin_addr);
    *out = e;
    return CFDR_OK;
fail:
    edge_free(e);
    return rc;
}

int edge_port(const struct edge *e)
{
    return e ? e->port : 0;
}

int edge_admin_port(const struct edge *e)
{
    return e ? e->admin_port : 0;
}

/* The workers' counters summed; NULL when out of memory. The caller frees the result. */
static struct edge_metrics *metrics_total(const struct edge *e)
{
    struct edge_metrics *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    for (int i = 0; i < e->nworkers; i++)
        edge_metrics_sum(m, &e->workers[i].metrics);
    return m;
}

void edge_stats(const struct edge *e, struct edge_stats *s)
{
    struct edge_metrics *m = metrics_total(e);

    memset(s, 0, sizeof(*s));
    if (!m)
        return;
#define LD(x) atomic_load_explicit(&(x), memory_order_relaxed)
    s->ok = LD(m->outcomes[EDGE_OUT_OK]);
    s->failover_ok = LD(m->outcomes[EDGE_OUT_FAILOVER_OK]);
    s->origin_status = LD(m->outcomes[EDGE_OUT_ORIGIN_STATUS]);
    s->error_502 = LD(m->outcomes[EDGE_OUT_502]);
    s->error_504 = LD(m->outcomes[EDGE_OUT_504]);
    s->forbidden = LD(m->outcomes[EDGE_OUT_FORBIDDEN]);
    s->bad_request = LD(m->outcomes[EDGE_OUT_BAD_REQUEST]);
    s->aborted = LD(m->outcomes[EDGE_OUT_ABORTED]);
    s->requests = s->ok + s->failover_ok + s->origin_status + s->error_502 + s->error_504 +
                  s->forbidden + s->bad_request + s->aborted;
    for (int role = 0; role < 2; role++)
        for (int i = 0; i < EDGE_MAX_ORIGINS; i++) {
            const struct edge_origin_metrics *om = &m->origin[role][i];
            uint64_t all = LD(om->attempts[0]) + LD(om->attempts[1]) + LD(om->attempts[2]);
            if (role)
                s->attempts_secondary += all;
            else
                s->attempts_primary += all;
            s->connect_failed += LD(om->attempts[EDGE_RES_CONNECT_FAILED]);
            s->timed_out += LD(om->attempts[EDGE_RES_TIMED_OUT]);
        }
    s->failovers_status = LD(m->failovers[EDGE_REASON_STATUS]);
    s->failovers_connect = LD(m->failovers[EDGE_REASON_CONNECT]);
    s->failovers_timeout = LD(m->failovers[EDGE_REASON_TIMEOUT]);
    s->in_flight = (uint64_t)atomic_load_explicit(&m->in_flight, memory_order_relaxed);
    s->stream_high_water = LD(m->high_water);
#undef LD
    free(m);
}

cfdr_code edge_metrics_render(const struct edge *e, struct buf *out)
{
    struct edge_metrics *m = metrics_total(e);
    cfdr_code rc;

    if (!m)
        return CFDR_E_NOMEM;
    rc = edge_metrics_write(m, &e->routes, out);
    free(m);
    return rc;
}

/* ---------------------------------------------------------------- edge_run */

struct run_ctx {
    volatile sig_atomic_t *stop;
    struct event_base *base;
    int signalled;
};

static void run_poll_cb(evutil_socket_t fd, short what, void *arg)
{
    struct run_ctx *c = arg;
    (void)fd;
    (void)what;
    if (c->stop && *c->stop)
        event_base_loopbreak(c->base);
}

static void run_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct run_ctx *c = arg;
    (void)sig;
    (void)what;
    c->signalled = 1;
    event_base_loopbreak(c->base);
}

cfdr_code edge_run(const struct edge_options *o, volatile sig_atomic_t *stop, cfdr_err *err)
{
    struct run_ctx c = {stop, NULL, 0};
    struct event *poll = NULL, *sigint = NULL, *sigterm = NULL;
    struct edge *e = NULL;
    struct timeval tick = {0, 50000};
    cfdr_code rc;

    c.base = new_base();
    if (!c.base)
        return err_set(err, CFDR_E_NOMEM, "edge: cannot create an event loop");
    if ((rc = edge_new(c.base, o, &e, err)))
        goto out;
    poll = event_new(c.base, -1, EV_PERSIST, run_poll_cb, &c);
    sigint = evsignal_new(c.base, SIGINT, run_signal_cb, &c);
    sigterm = evsignal_new(c.base, SIGTERM, run_signal_cb, &c);
    if (!poll || !sigint || !sigterm || event_add(poll, &tick) || event_add(sigint, NULL) ||
        event_add(sigterm, NULL)) {
        rc = err_set(err, CFDR_E_NOMEM, "edge: cannot set up the run loop");
        goto out;
    }
    if (o->ready)
        o->ready(o->ready_ud, edge_port(e), edge_admin_port(e));
    if (!(stop && *stop))
        event_base_dispatch(c.base);
    rc = c.signalled ? err_set(err, CFDR_E_INTERRUPTED, "edge: interrupted") : CFDR_OK;
out:
    edge_free(e);
    if (poll)
        event_free(poll);
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
    event_base_free(c.base);
    return rc;
}
