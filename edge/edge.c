/*
 * edge: see edge.h. The I/O around edge_failover_next().
 *
 * One request's life (struct edge_req): evhttp hands the complete viewer request to on_request();
 * the body is copied so that it can be re-sent; start_attempt() configures a curl easy handle and
 * adds it to the worker's multi. The multi is driven from libevent like hiperfifo.c
 * (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION). An attempt ends in one of three ways:
 *  - header_cb() sees the complete final header block: the decision says deliver (the viewer
 *    reply starts and write_cb() streams the body) or fail over (the callback returns 0, curl
 *    aborts, and transfer_done() starts the next attempt);
 *  - curl reports an error before that (connect refused or timed out, connection reset):
 *    transfer_done() classifies it and asks the decision;
 *  - our response timer fires (armed when the request goes out, see prereq_cb(), and re-armed by
 *    every byte received): the transfer is removed and the decision asked.
 * libevent owns the evhttp_request once evhttp_send_reply*()/evhttp_send_reply_end() was called;
 * until then we own it and watch its connection (closecb, and, for requests not answered within
 * EDGE_WATCH_DELAY_MS, a peek for EOF while the origin is being tried, because evhttp does not
 * read from a connection whose request is being served).
 *
 * Throughput notes (measured on 2 cores): epoll changes are batched per loop iteration
 * (EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST), easy handles are pooled per worker, origin connections
 * are cached by curl (up to 1024 per worker) and checked by curl before reuse; a failover on a
 * status aborts that transfer, which closes its origin connection.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EDGE_MAX_ATTEMPTS 8
#define EDGE_ID_LEN 56
#define EDGE_EASY_POOL 256
#define EDGE_WATCH_DELAY_MS 100

struct edge;
struct edge_worker;

struct edge_attempt_log {
    int role, origin, attempt;
    enum edge_result res;
    int status;
    double ms;
};

struct edge_req {
    struct edge_worker *w;
    struct edge_req *prev, *next;
    struct evhttp_request *vreq; /* ours until handed back to libevent, then NULL */
    struct evhttp_connection *vcon;
    const struct edge_route *route;
    const char *method;
    int idempotent, head;
    char *target; /* path and query exactly as received */
    char id[EDGE_ID_LEN + 1];
    char client[INET6_ADDRSTRLEN];
    char time[64];
    struct buf body;
    struct curl_slist *hdrs[2]; /* per role, built on first use */
    CURL *easy;
    int in_multi;
    struct edge_position pos;
    struct edge_attempt_log attempts[EDGE_MAX_ATTEMPTS];
    int nattempts;
    enum edge_reason failover_reason;
    struct event *resp_timer;
    struct event *watch;       /* EOF on the viewer's socket while the origin is tried */
    struct event *watch_timer; /* starts the watch for requests that are not answered at once */
    double t_start, t_attempt;
    /* per attempt */
    int connected, status, has_pending, pending_error;
    enum edge_step pending;
    enum edge_reason pending_reason;
    char reason[64];
    struct buf resp_hdrs;
    /* delivery */
    int streaming, paused, viewer_gone;
    uint64_t bytes;
    struct evbuffer *chunk;
    int final_status;
    enum edge_outcome outcome;
};

struct edge_sock {
    struct edge_worker *w;
    curl_socket_t fd;
    struct event *ev;
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
    CURL *pool[EDGE_EASY_POOL]; /* idle easy handles, reset, for the next requests */
    int npool;
    uint64_t rng;
    int stopped;
};

struct edge {
    struct edge_routes routes;
    struct edge_metrics metrics;
    char via[300];
    size_t max_body, watermark;
    void (*access_log)(void *ud, const char *json_line);
    void *access_log_ud;
    const struct cfdr_log *log;
    pthread_mutex_t log_mu;
    int port, admin_port;
    struct evhttp *admin;
    int nworkers;
    struct edge_worker *workers;
};

static const char *const hop_by_hop[] = {"connection",          "keep-alive", "proxy-authenticate",
                                         "proxy-authorization", "te",         "trailer",
                                         "transfer-encoding",   "upgrade",    "proxy-connection"};

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

/* Hop-by-hop: the fixed list, and every header the Connection header names. */
static int is_hop(const char *name, const char *connection)
{
    for (size_t i = 0; i < sizeof(hop_by_hop) / sizeof(hop_by_hop[0]); i++)
        if (strcasecmp(name, hop_by_hop[i]) == 0)
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

    if (!e->access_log)
        return;
    buf_init(&b, BUF_MAX_SMALL);
    ok &= buf_adds(&b, "{\"id\":\"") == CFDR_OK;
    ok &= buf_adds(&b, r->id) == CFDR_OK;
    ok &= buf_addf(&b, "\",\"time\":\"%s\",\"method\":\"%s\",\"path\":", r->time, r->method) ==
          CFDR_OK;
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

static void remove_transfer(struct edge_req *r)
{
    if (r->in_multi) {
        curl_multi_remove_handle(r->w->multi, r->easy);
        r->in_multi = 0;
    }
    if (r->resp_timer)
        evtimer_del(r->resp_timer);
}

/* The end of every request: metrics, access log, and all memory. */
static void finish(struct edge_req *r)
{
    struct edge_worker *w = r->w;
    struct edge *e = w->e;

    remove_transfer(r);
    if (r->vcon && r->vreq)
        evhttp_connection_set_closecb(r->vcon, NULL, NULL);
    edge_metrics_outcome(&e->metrics, r->outcome);
    atomic_fetch_sub_explicit(&e->metrics.in_flight, 1, memory_order_relaxed);
    write_access_log(r, (now_s() - r->t_start) * 1000.0);

    if (r->prev)
        r->prev->next = r->next;
    else
        w->live = r->next;
    if (r->next)
        r->next->prev = r->prev;
    if (r->easy && w->npool < EDGE_EASY_POOL && !w->stopped) {
        curl_easy_reset(r->easy);
        w->pool[w->npool++] = r->easy;
    } else if (r->easy) {
        curl_easy_cleanup(r->easy);
    }
    curl_slist_free_all(r->hdrs[0]);
    curl_slist_free_all(r->hdrs[1]);
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
    free(r->target);
    free(r);
}

static void stop_watch(struct edge_req *r)
{
    if (r->watch)
        event_del(r->watch);
    if (r->watch_timer)
        evtimer_del(r->watch_timer);
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
        evbuffer_write(bufferevent_get_output(bev), bufferevent_getfd(bev));
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

static void record_attempt(struct edge_req *r, enum edge_result res, int status)
{
    struct edge *e = r->w->e;
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
    edge_metrics_attempt(&e->metrics, role, origin, res, secs);
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
        edge_metrics_failover(&r->w->e->metrics, why);
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

static void arm_resp_timer(struct edge_req *r)
{
    struct timeval tv;
    const struct edge_origin *o =
        &r->w->e->routes.cfg.origins[r->route->origin[r->pos.on_secondary]];
    ms_timeval(o->response_timeout_ms, &tv);
    evtimer_add(r->resp_timer, &tv);
}

static void resp_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct edge_req *r = arg;
    enum edge_reason why;
    enum edge_step step;

    (void)fd;
    (void)what;
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

/* The origin's header block is complete and the decision says deliver: start the viewer reply. */
static int begin_reply(struct edge_req *r)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->vreq);
    char *lines = (char *)buf_str(&r->resp_hdrs);
    const char *connection = NULL;
    const char *origin_via = NULL;
    int has_length = 0;
    char via[600];

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

static size_t header_cb(char *data, size_t size, size_t n, void *arg)
{
    struct edge_req *r = arg;
    size_t len = size * n;
    enum edge_reason why;
    enum edge_step step;

    if (r->viewer_gone || !r->vreq)
        return 0;
    if (r->streaming)
        return len; /* trailers */
    if (r->connected)
        arm_resp_timer(r); /* bytes arrived */
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
    arm_resp_timer(r);
    if (evbuffer_add(r->chunk, data, len) != 0)
        return 0;
    /* evhttp only queues here; the socket is written from the event loop */
    evhttp_send_reply_chunk_with_cb(r->vreq, r->chunk, chunk_written, r);
    r->bytes += len;
    edge_metrics_high_water(&r->w->e->metrics, queued + len);
    return len;
}

/* evhttp drained the viewer's output buffer: let a paused origin transfer go on. */
static void chunk_written(struct evhttp_connection *evcon, void *arg)
{
    struct edge_req *r = arg;

    (void)evcon;
    if (!r->paused || !r->in_multi)
        return;
    r->paused = 0;
    arm_resp_timer(r);
    curl_easy_pause(r->easy, CURLPAUSE_CONT); /* may call write_cb() at once */
}

static cfdr_code add_hdr(struct curl_slist **l, const char *name, const char *value)
{
    struct curl_slist *n;
    struct buf b;
    cfdr_code rc;

    buf_init(&b, BUF_MAX_SMALL);
    /* "Name;" is curl's way of sending a header with an empty value */
    rc = value[0] ? buf_addf(&b, "%s: %s", name, value) : buf_addf(&b, "%s;", name);
    if (rc == CFDR_OK) {
        n = curl_slist_append(*l, buf_str(&b));
        if (n)
            *l = n;
        else
            rc = CFDR_E_NOMEM;
    }
    buf_free(&b);
    return rc;
}

/* The origin request's headers: the viewer's minus hop-by-hop ones, Host set to the origin's,
 * Via, X-Amz-Cf-Id and X-Forwarded-For added, curl's own defaults removed. */
static cfdr_code build_headers(struct edge_req *r, int role, struct curl_slist **out)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->vreq);
    const char *connection = evhttp_find_header(in, "Connection");
    const char *via = evhttp_find_header(in, "Via");
    const char *xff = evhttp_find_header(in, "X-Forwarded-For");
    struct edge *e = r->w->e;
    struct curl_slist *l = NULL;
    struct evkeyval *h;
    struct buf tmp;
    cfdr_code rc = CFDR_OK;

    buf_init(&tmp, BUF_MAX_SMALL);
    TAILQ_FOREACH(h, in, next)
    {
        if (is_hop(h->key, connection) || strcasecmp(h->key, "host") == 0 ||
            strcasecmp(h->key, "expect") == 0 || strcasecmp(h->key, "content-length") == 0 ||
            strcasecmp(h->key, "via") == 0 || strcasecmp(h->key, "x-forwarded-for") == 0 ||
            strcasecmp(h->key, "x-amz-cf-id") == 0)
            continue;
        if ((rc = add_hdr(&l, h->key, h->value)))
            goto out;
    }
    if ((rc = add_hdr(&l, "Host", e->routes.host[r->route->origin[role]])))
        goto out;
    if ((rc = buf_addf(&tmp, "%s%s%s", via ? via : "", via ? ", " : "", e->via)) ||
        (rc = add_hdr(&l, "Via", buf_str(&tmp))) || (rc = add_hdr(&l, "X-Amz-Cf-Id", r->id)))
        goto out;
    buf_reset(&tmp);
    if ((rc = buf_addf(&tmp, "%s%s%s", xff ? xff : "", xff ? ", " : "", r->client)) ||
        (rc = add_hdr(&l, "X-Forwarded-For", buf_str(&tmp))))
        goto out;
    /* "Name:" without a value removes a header curl would add on its own */
    if (!curl_slist_append(l, "Expect:"))
        rc = CFDR_E_NOMEM;
    if (!rc && !evhttp_find_header(in, "Accept") && !curl_slist_append(l, "Accept:"))
        rc = CFDR_E_NOMEM;
    if (!rc && !evhttp_find_header(in, "Content-Type") && !curl_slist_append(l, "Content-Type:"))
        rc = CFDR_E_NOMEM;
out:
    buf_free(&tmp);
    if (rc) {
        curl_slist_free_all(l);
        return rc;
    }
    *out = l;
    return CFDR_OK;
}

/* The options that stay the same for every attempt of a request. */
static CURLcode configure_easy(struct edge_req *r)
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
    if (r->head)
        SET(CURLOPT_NOBODY, 1L);
    else if (strcmp(r->method, "GET") != 0)
        SET(CURLOPT_CUSTOMREQUEST, r->method);
    if (buf_len(&r->body) > 0 || strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0 ||
        strcmp(r->method, "PATCH") == 0) {
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)buf_len(&r->body));
        SET(CURLOPT_POSTFIELDS, buf_str(&r->body));
    }
#undef SET
    return cc;
}

static void start_attempt(struct edge_req *r)
{
    struct edge *e = r->w->e;
    int role = r->pos.on_secondary;
    int oi = r->route->origin[role];
    const struct edge_origin *o = &e->routes.cfg.origins[oi];
    struct buf url;
    CURLcode cc = CURLE_OK;

    r->connected = 0;
    r->status = 0;
    r->has_pending = 0;
    r->pending_error = 0;
    buf_reset(&r->resp_hdrs);
    r->t_attempt = now_s();
    if (r->nattempts >= EDGE_MAX_ATTEMPTS) {
        send_error(r, 502, EDGE_OUT_502); /* cannot happen with attempts <= 3 */
        return;
    }
    if (!r->hdrs[role] && build_headers(r, role, &r->hdrs[role]) != CFDR_OK) {
        send_error(r, 502, EDGE_OUT_502);
        return;
    }
    buf_init(&url, BUF_MAX_SMALL);
    if (buf_adds(&url, e->routes.base[oi]) || buf_adds(&url, r->target)) {
        buf_free(&url);
        send_error(r, 400, EDGE_OUT_BAD_REQUEST);
        return;
    }
    if (!r->easy) {
        r->easy = r->w->npool > 0 ? r->w->pool[--r->w->npool] : curl_easy_init();
        if (!r->easy) {
            buf_free(&url);
            send_error(r, 502, EDGE_OUT_502);
            return;
        }
        cc = configure_easy(r);
    }
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs[role]);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, o->connection_timeout_ms);
    if (cc != CURLE_OK) {
        buf_free(&url);
        send_error(r, 502, EDGE_OUT_502);
        return;
    }
    cc = curl_easy_setopt(r->easy, CURLOPT_URL, buf_str(&url));
    buf_free(&url);
    if (cc != CURLE_OK) {
        send_error(r, 400, EDGE_OUT_BAD_REQUEST);
        return;
    }
    if (curl_multi_add_handle(r->w->multi, r->easy) != CURLM_OK) {
        send_error(r, 502, EDGE_OUT_502);
        return;
    }
    r->in_multi = 1;
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
        if (res != CURLE_OK) {
            abort_viewer(r);
            return;
        }
        evhttp_connection_set_closecb(r->vcon, NULL, NULL);
        evhttp_send_reply_end(r->vreq);
        r->vreq = NULL;
        finish(r);
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
    int running;
    int action =
        ((kind & EV_READ) ? CURL_CSELECT_IN : 0) | ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);

    curl_multi_socket_action(w->multi, fd, action, &running);
    check_multi_info(w);
}

static void curl_timer_cb(evutil_socket_t fd, short kind, void *arg)
{
    struct edge_worker *w = arg;
    int running;

    (void)fd;
    (void)kind;
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

static int multi_socket_fn(CURL *easy, curl_socket_t s, int what, void *arg, void *sockp)
{
    struct edge_worker *w = arg;
    struct edge_sock *es = sockp;
    short kind;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (es) {
            event_free(es->ev);
            free(es);
            curl_multi_assign(w->multi, s, NULL);
        }
        return 0;
    }
    kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0) |
                   EV_PERSIST);
    if (!es) {
        es = calloc(1, sizeof(*es));
        if (!es)
            return -1;
        es->w = w;
        es->fd = s;
        curl_multi_assign(w->multi, s, es);
    } else {
        event_free(es->ev);
    }
    es->ev = event_new(w->base, s, kind, curl_event_cb, w);
    if (!es->ev || event_add(es->ev, NULL) != 0)
        return -1;
    return 0;
}

/* ---------------------------------------------------------------- viewer side */

static void request_target(const char *uri, char **out)
{
    const char *p = uri;

    /* absolute-form ("http://host/path"): keep the path and query */
    if (uri[0] != '/' && strstr(uri, "://")) {
        p = strchr(strstr(uri, "://") + 3, '/');
        if (!p)
            p = "/";
    }
    *out = strdup(p);
}

static void on_request(struct evhttp_request *vreq, void *arg)
{
    struct edge_worker *w = arg;
    struct edge *e = w->e;
    struct edge_req *r;
    struct evbuffer *in;
    char *path;
    size_t plen;
    char *peer = NULL;
    ev_uint16_t peer_port = 0;
    time_t t;
    struct tm tm;
    struct timespec ts;

    r = calloc(1, sizeof(*r));
    if (!r) {
        evhttp_send_error(vreq, 503, NULL);
        return;
    }
    atomic_fetch_add_explicit(&e->metrics.in_flight, 1, memory_order_relaxed);
    r->w = w;
    r->vreq = vreq;
    r->vcon = evhttp_request_get_connection(vreq);
    r->t_start = now_s();
    r->method = method_name(evhttp_request_get_command(vreq));
    r->idempotent = edge_failover_method_idempotent(r->method);
    r->head = strcmp(r->method, "HEAD") == 0;
    r->pos.attempt = 1;
    buf_init(&r->body, e->max_body);
    buf_init(&r->resp_hdrs, BUF_MAX_SMALL);
    make_id(&w->rng, r->id);
    clock_gettime(CLOCK_REALTIME, &ts);
    t = ts.tv_sec;
    gmtime_r(&t, &tm);
    snprintf(r->time, sizeof(r->time), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    evhttp_connection_get_peer(r->vcon, &peer, &peer_port);
    snprintf(r->client, sizeof(r->client), "%s", peer ? peer : "");
    r->next = w->live;
    if (w->live)
        w->live->prev = r;
    w->live = r;
    r->outcome = EDGE_OUT_ABORTED;
    evhttp_connection_set_closecb(r->vcon, viewer_closed, r);

    request_target(evhttp_request_get_uri(vreq), &r->target);
    r->resp_timer = evtimer_new(w->base, resp_timeout_cb, r);
    r->chunk = evbuffer_new();
    if (!r->target || !r->resp_timer || !r->chunk) {
        send_error(r, 502, EDGE_OUT_502);
        return;
    }
    plen = strcspn(r->target, "?#");
    path = strndup(r->target, plen);
    if (!path) {
        send_error(r, 502, EDGE_OUT_502);
        return;
    }
    r->route = edge_routes_match(&e->routes, path);
    free(path);
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
    r->watch = event_new(w->base, bufferevent_getfd(evhttp_connection_get_bufferevent(r->vcon)),
                         EV_READ, watch_cb, r);
    r->watch_timer = evtimer_new(w->base, watch_start_cb, r);
    if (r->watch && r->watch_timer) {
        struct timeval tv = {0, EDGE_WATCH_DELAY_MS * 1000};
        evtimer_add(r->watch_timer, &tv);
    }
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
        if (edge_metrics_write(&e->metrics, &e->routes, &b) == CFDR_OK) {
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
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
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
    while (w->npool > 0)
        curl_easy_cleanup(w->pool[--w->npool]);
    if (w->multi)
        curl_multi_cleanup(w->multi);
    w->multi = NULL;
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
    w->multi = curl_multi_init();
    w->http = evhttp_new(w->base);
    w->curl_timer = evtimer_new(w->base, curl_timer_cb, w);
    if (!w->multi || !w->http || !w->curl_timer)
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
    edge_metrics_init(&e->metrics, &e->routes);
    snprintf(e->via, sizeof(e->via), "1.1 %.200s.cfdr.local (cfdr-edge)",
             o->node_id ? o->node_id : "local");
    e->max_body = o->max_body_bytes ? o->max_body_bytes : 16u * 1024u * 1024u;
    e->watermark = o->stream_watermark ? o->stream_watermark : 1024u * 1024u;
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

void edge_stats(const struct edge *e, struct edge_stats *s)
{
    const struct edge_metrics *m = &e->metrics;
    memset(s, 0, sizeof(*s));
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
}

cfdr_code edge_metrics_render(const struct edge *e, struct buf *out)
{
    return edge_metrics_write(&e->metrics, &e->routes, out);
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
