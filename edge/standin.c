/*
 * standin: see standin.h.
 *
 * Design. The service port is one evhttp. Each connection that brings a request gets a
 * struct sconn (found by its evhttp_connection, freed by evhttp's close callback), which holds
 * the one request evhttp lets us work on at a time and a timer for every wait (slow mode,
 * /delay, deferred close). Modes that change the socket layer swap the listener under the same
 * address: none (refuse), or a backlog-0 socket whose accept queue we fill ourselves (blackhole).
 *
 * libevent facts this relies on (2.1): a request whose connection fails while we still own it
 * (evhttp "userdone" not set, e.g. mid-stream) is detached from the connection (its connection
 * pointer becomes NULL) and left to us to free; the connection is then freed, which calls the
 * close callback. A request still attached when its connection is freed is freed by evhttp.
 * The close callback runs for every incoming connection that is freed.
 */
#include "standin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "aws/buf.h"

#define PATTERN_SIZE 65536u
#define STREAM_REFS 4u /* pattern blocks queued per write: 256 KiB */
#define MAX_BYTES ((uint64_t)1 << 36)
#define MAX_DELAY_MS 600000u
#define MAX_DUMMIES 8
#define CONTROL_MAX_BODY 4096
#define MAX_HEADERS (64 * 1024) /* request line and headers; evhttp answers 400 beyond */
#define NAME_MAX_LEN 64
#define STATUS_MIN 100
#define STATUS_END 600

enum listener_kind { LK_NONE, LK_NORMAL, LK_BLACKHOLE };

enum conn_state {
    CS_IDLE,       /* no request of ours pending */
    CS_WAIT_SLOW,  /* timer: slow mode, then respond */
    CS_WAIT_DELAY, /* timer: /delay/<ms> */
    CS_STREAM,     /* /bytes in progress */
    CS_HELD,       /* blackhole: never answered */
    CS_KILL        /* timer: close the connection (a request arrived in refuse) */
};

struct sconn {
    struct standin *s;
    struct evhttp_connection *evcon;
    struct evhttp_request *req; /* ours until we reply; NULL otherwise */
    struct event *timer;
    enum conn_state state;
    uint64_t stream_left;
    struct sconn *prev, *next;
};

struct standin {
    struct event_base *base;
    const struct cfdr_log *log;
    char *region;
    char *service;
    enum standin_mode mode;
    unsigned slow_ms;
    enum standin_identify identify;

    struct evhttp *http;               /* service */
    struct evhttp_bound_socket *bound; /* service listener when lkind == LK_NORMAL */
    enum listener_kind lkind;
    struct sockaddr_storage addr; /* service address, with the port actually bound */
    socklen_t addrlen;
    int port;
    int bh_fd; /* blackhole listener, -1 when closed */
    int dummies[MAX_DUMMIES];
    int ndummies;

    struct evhttp *ctl; /* control */
    int control_port;

    struct sconn *conns;
    struct evbuffer *scratch; /* staging for stream writes; always left empty */
    struct standin_stats st;
    uint64_t by_status[STATUS_END - STATUS_MIN];
    unsigned char pattern[PATTERN_SIZE];
};

static const char *const mode_names[STANDIN_MODE_COUNT] = {
    "running", "paused", "error", "refuse", "blackhole", "slow",
};

const char *standin_mode_name(enum standin_mode mode)
{
    if ((unsigned)mode >= STANDIN_MODE_COUNT)
        return "?";
    return mode_names[mode];
}

cfdr_code standin_identify_from_name(const char *name, enum standin_identify *out, cfdr_err *err)
{
    static const char *const names[] = {"header", "body", "none"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (enum standin_identify)i;
            return CFDR_OK;
        }
    }
    return err_set(err, CFDR_E_USAGE, "unknown --identify '%.64s': use header, body or none", name);
}

cfdr_code standin_mode_from_name(const char *name, enum standin_mode *out, cfdr_err *err)
{
    for (unsigned i = 0; name && i < STANDIN_MODE_COUNT; i++) {
        if (strcmp(name, mode_names[i]) == 0) {
            *out = (enum standin_mode)i;
            return CFDR_OK;
        }
    }
    return err_set(err, CFDR_E_USAGE,
                   "unknown stand-in mode '%.64s': use running, paused, error, refuse, "
                   "blackhole or slow",
                   name ? name : "");
}

unsigned char standin_pattern_byte(uint64_t k)
{
    /* Knuth's multiplicative hash of k mod 2^16: neighbouring bytes differ, so a shifted or
     * repeated block does not go unnoticed. */
    uint32_t x = (uint32_t)(k & 0xffffu) * 2654435761u;
    return (unsigned char)(x >> 24);
}

/* ---- addresses and sockets ---------------------------------------------------------------- */

static void addr_str(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t n)
{
    char host[NI_MAXHOST], port[NI_MAXSERV];
    if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, n, "?");
        return;
    }
    if (ss->ss_family == AF_INET6)
        snprintf(out, n, "[%.46s]:%.5s", host, port);
    else
        snprintf(out, n, "%.46s:%.5s", host, port);
}

static int addr_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static int addr_is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
        return (a >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return 0;
}

/* Parses a numeric "host:port" or "[v6]:port". */
static cfdr_code parse_addr(const char *what, const char *spec, struct sockaddr_storage *ss,
                            socklen_t *len, cfdr_err *err)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *hs, *port, *end;
    size_t hl;
    struct addrinfo hints, *ai = NULL;
    int rc;

    if (spec[0] == '[') {
        end = strchr(spec, ']');
        if (!end || end[1] != ':')
            goto bad;
        hs = spec + 1;
        port = end + 2;
    } else {
        end = strrchr(spec, ':');
        if (!end || strchr(spec, ':') != end)
            goto bad;
        hs = spec;
        port = end + 1;
    }
    hl = (size_t)(end - hs);
    if (hl == 0 || hl >= sizeof(host) || !*port || strspn(port, "0123456789") != strlen(port) ||
        strlen(port) > 5 || atoi(port) > 65535)
        goto bad;
    memcpy(host, hs, hl);
    host[hl] = '\0';

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0 || !ai || ai->ai_addrlen > sizeof(*ss)) {
        if (ai)
            freeaddrinfo(ai);
        goto bad;
    }
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = (socklen_t)ai->ai_addrlen;
    freeaddrinfo(ai);
    return CFDR_OK;
bad:
    return err_set(err, CFDR_E_CONFIG,
                   "stand-in %s address '%.100s' is not valid: use a numeric host:port such as "
                   "127.0.0.1:8080 or [::1]:8080 (port 0 picks a free port)",
                   what, spec);
}

/* A non-blocking listening socket with SO_REUSEADDR; -1 with errno set on failure. */
static int listen_socket(const struct sockaddr_storage *ss, socklen_t len, int backlog)
{
    int on = 1, saved;
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
        goto fail;
    if (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)))
        goto fail;
    if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, backlog) < 0)
        goto fail;
    return fd;
fail:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

static cfdr_code reopen_error(struct standin *s, int e, cfdr_err *err)
{
    if (e == EADDRINUSE)
        return err_set(err, CFDR_E_IO,
                       "stand-in %s (%s): cannot reopen port %d: another process took it while "
                       "the service was down (%s); stop that process or restart the stand-in on "
                       "a free port. The stand-in stays in mode refuse",
                       s->service, s->region, s->port, strerror(e));
    return err_set(err, CFDR_E_IO,
                   "stand-in %s (%s): cannot reopen port %d: %s; the stand-in stays in mode "
                   "refuse",
                   s->service, s->region, s->port, strerror(e));
}

static cfdr_code listener_open(struct standin *s, cfdr_err *err)
{
    int fd = listen_socket(&s->addr, s->addrlen, 128);
    if (fd < 0)
        return reopen_error(s, errno, err);
    /* On failure evhttp may or may not have closed fd already (only under memory
     * exhaustion): leaking one descriptor beats closing a number that may be reused. */
    s->bound = evhttp_accept_socket_with_handle(s->http, fd);
    if (!s->bound)
        return err_set(err, CFDR_E_NOMEM, "stand-in %s: out of memory reopening port %d",
                       s->service, s->port);
    return CFDR_OK;
}

static void blackhole_close(struct standin *s)
{
    /* The listener first: the kernel resets the queued dummy connections, so closing our ends
     * afterwards leaves nothing in TIME_WAIT. */
    if (s->bh_fd >= 0)
        close(s->bh_fd);
    s->bh_fd = -1;
    for (int i = 0; i < s->ndummies; i++)
        close(s->dummies[i]);
    s->ndummies = 0;
}

/* Waits for a non-blocking connect: 1 connected, 0 still pending after ms, -1 failed. */
static int connect_wait(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int soerr = 0, n;
    socklen_t sl = sizeof(soerr);
    do
        n = poll(&p, 1, ms);
    while (n < 0 && errno == EINTR);
    if (n == 0)
        return 0;
    if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        return -1;
    if (soerr) {
        errno = soerr;
        return -1;
    }
    return 1;
}

/*
 * Blackhole without root: a listening socket with backlog 0 that is never accepted. Once its
 * accept queue holds a connection (ours), Linux drops every further SYN, so clients retransmit
 * until their connect timeout. We add dummies until one's handshake does not complete: that
 * proves the queue is full.
 */
static cfdr_code blackhole_open(struct standin *s, cfdr_err *err)
{
    struct sockaddr_storage to = s->addr;
    int fd, d, r, e;

    fd = listen_socket(&s->addr, s->addrlen, 0);
    if (fd < 0)
        return reopen_error(s, errno, err);
    s->bh_fd = fd;
    if (to.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&to;
        if (in->sin_addr.s_addr == htonl(INADDR_ANY))
            in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&to;
        if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
            in6->sin6_addr = in6addr_loopback;
    }
    for (;;) {
        d = socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (d < 0)
            goto fail_errno;
        r = connect(d, (struct sockaddr *)&to, s->addrlen);
        if (r < 0 && errno != EINPROGRESS) {
            e = errno;
            close(d);
            errno = e;
            goto fail_errno;
        }
        /* The first handshake must complete (allow for a loaded machine); after that a probe
         * that hangs for 100 ms has had its SYN dropped. */
        r = r == 0 ? 1 : connect_wait(d, s->ndummies ? 100 : 2000);
        if (r == 1 && s->ndummies < MAX_DUMMIES) {
            s->dummies[s->ndummies++] = d;
            continue;
        }
        e = errno;
        close(d);
        if (r == 0 && s->ndummies > 0)
            return CFDR_OK;
        if (r < 0) {
            errno = e;
            goto fail_errno;
        }
        blackhole_close(s);
        return err_set(err, CFDR_E_IO,
                       "stand-in %s (%s): could not fill the accept queue of port %d to "
                       "blackhole it (%d dummy connections); the stand-in stays in mode refuse",
                       s->service, s->region, s->port, s->ndummies);
    }
fail_errno:
    e = errno;
    blackhole_close(s);
    return err_set(err, CFDR_E_IO,
                   "stand-in %s (%s): cannot blackhole port %d: %s; the stand-in stays in mode "
                   "refuse",
                   s->service, s->region, s->port, strerror(e));
}

static void listener_close(struct standin *s)
{
    if (s->bound)
        evhttp_del_accept_socket(s->http, s->bound);
    s->bound = NULL;
    blackhole_close(s);
    s->lkind = LK_NONE;
}

/* ---- connections -------------------------------------------------------------------------- */

static void conn_unlink_free(struct sconn *c)
{
    struct standin *s = c->s;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->timer)
        event_free(c->timer);
    free(c);
}

static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    struct sconn *c = arg;
    (void)evcon;
    /* Detached by evhttp after a network error while we owned it: ours to free. Still attached
     * means evhttp frees it right after this callback. */
    if (c->req && evhttp_request_get_connection(c->req) == NULL)
        evhttp_request_free(c->req);
    conn_unlink_free(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg);

static struct sconn *conn_get(struct standin *s, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct sconn *c;

    for (c = s->conns; c; c = c->next)
        if (c->evcon == evcon)
            return c;
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->timer = evtimer_new(s->base, on_timer, c);
    if (!c->timer) {
        free(c);
        return NULL;
    }
    c->s = s;
    c->evcon = evcon;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    evhttp_connection_set_closecb(evcon, on_conn_close, c);
    return c;
}

/* Closes the connection at once; c is freed (through on_conn_close) before this returns. */
static void conn_abort(struct sconn *c)
{
    c->s->st.connections_dropped++;
    evhttp_connection_free(c->evcon);
}

static void conn_wait(struct sconn *c, enum conn_state state, unsigned ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    c->state = state;
    if (evtimer_add(c->timer, &tv) < 0) {
        log_msg(c->s->log, CFDR_LOG_ERROR, "stand-in %s: cannot arm a timer; closing connection",
                c->s->service);
        conn_abort(c);
    }
}

static void drop_conns(struct standin *s, int held_only)
{
    struct sconn *c = s->conns, *next;
    while (c) {
        next = c->next; /* c is freed by conn_abort */
        if (!held_only || c->state == CS_HELD)
            conn_abort(c);
        c = next;
    }
}

/* ---- responses ---------------------------------------------------------------------------- */

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
    return "?";
}

static const char *req_path(struct evhttp_request *req)
{
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *p = u ? evhttp_uri_get_path(u) : NULL;
    return p && *p ? p : "/";
}

/* evhttp reads request bodies of POST, PUT and PATCH only; for any other method a body is
 * still on the wire, so the connection cannot carry another request. */
static int body_unread(struct evhttp_request *req)
{
    enum evhttp_cmd_type t = evhttp_request_get_command(req);
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *cl;
    if (t == EVHTTP_REQ_POST || t == EVHTTP_REQ_PUT || t == EVHTTP_REQ_PATCH)
        return 0;
    if (evhttp_find_header(h, "Transfer-Encoding"))
        return 1;
    cl = evhttp_find_header(h, "Content-Length");
    return cl && strspn(cl, "0") != strlen(cl);
}

static void count_status(struct standin *s, struct evhttp_request *req, int code)
{
    s->st.responses++;
    if (code >= STATUS_MIN && code < STATUS_END)
        s->by_status[code - STATUS_MIN]++;
    log_msg(s->log, CFDR_LOG_DEBUG, "stand-in %s (%s) [%s]: %s %.200s -> %d", s->service, s->region,
            mode_names[s->mode], method_name(evhttp_request_get_command(req)),
            evhttp_request_get_uri(req), code);
}

/* Adds the headers every service answer carries. Nonzero when out of memory. */
static int reply_headers(struct sconn *c, const char *ctype)
{
    struct standin *s = c->s;
    struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
    if (s->identify == STANDIN_IDENTIFY_HEADER && (evhttp_add_header(h, "x-region", s->region) ||
                                                   evhttp_add_header(h, "x-service", s->service)))
        return -1;
    if (ctype && evhttp_add_header(h, "Content-Type", ctype))
        return -1;
    if (body_unread(c->req) && evhttp_add_header(h, "Connection", "close"))
        return -1;
    return 0;
}

/* Sends a complete answer and hands the request back to evhttp. */
static void reply(struct sconn *c, int code, const char *ctype, const void *body, size_t len)
{
    struct evhttp_request *req = c->req;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *b = NULL;
    int has_body = code != 204 && code != 304;
    int head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
    char cl[32];

    if (reply_headers(c, has_body ? ctype : NULL))
        goto oom;
    if (has_body) {
        snprintf(cl, sizeof(cl), "%zu", len);
        if (evhttp_add_header(h, "Content-Length", cl))
            goto oom;
        /* evhttp would put a body on a HEAD answer too: only GET-like answers get one. */
        if (!head && len) {
            b = evbuffer_new();
            if (!b || evbuffer_add(b, body, len))
                goto oom;
        }
    }
    count_status(c->s, req, code);
    c->req = NULL;
    c->state = CS_IDLE;
    evhttp_send_reply(req, code, NULL, b);
    if (b) /* evbuffer_free does not accept NULL */
        evbuffer_free(b);
    return;
oom:
    if (b)
        evbuffer_free(b);
    log_msg(c->s->log, CFDR_LOG_ERROR, "stand-in %s: out of memory answering; closing connection",
            c->s->service);
    conn_abort(c);
}

static void reply_text(struct sconn *c, int code, const char *what)
{
    char body[256];
    int n = c->s->identify == STANDIN_IDENTIFY_NONE
                ? snprintf(body, sizeof(body), "cfdr stand-in: %s\n", what)
                : snprintf(body, sizeof(body), "cfdr stand-in: %s from service %s in %s\n", what,
                           c->s->service, c->s->region);
    reply(c, code, "text/plain", body, (size_t)n);
}

static void reply_paused(struct sconn *c)
{
    static const char body[] = "404 Not Found\n";
    if (evhttp_add_header(evhttp_request_get_output_headers(c->req), "server", "envoy")) {
        conn_abort(c);
        return;
    }
    reply(c, 404, "text/plain", body, sizeof(body) - 1);
}

static cfdr_code json_str(struct buf *b, const char *p, size_t n)
{
    CFDR_TRY(buf_addc(b, '"'));
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '"' || ch == '\\') {
            CFDR_TRY(buf_addc(b, '\\'));
            CFDR_TRY(buf_addc(b, (char)ch));
        } else if (ch == '\n') {
            CFDR_TRY(buf_adds(b, "\\n"));
        } else if (ch == '\r') {
            CFDR_TRY(buf_adds(b, "\\r"));
        } else if (ch == '\t') {
            CFDR_TRY(buf_adds(b, "\\t"));
        } else if (ch < 0x20 || ch == 0x7f) {
            CFDR_TRY(buf_addf(b, "\\u%04x", ch));
        } else {
            CFDR_TRY(buf_addc(b, (char)ch));
        }
    }
    return buf_addc(b, '"');
}

static cfdr_code json_cstr(struct buf *b, const char *p)
{
    return p ? json_str(b, p, strlen(p)) : buf_adds(b, "null");
}

static cfdr_code sha256_hex(struct evbuffer *in, char hex[65])
{
    unsigned char md[32];
    unsigned mdlen = 0;
    int n = evbuffer_peek(in, -1, NULL, NULL, 0);
    struct evbuffer_iovec *v = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    cfdr_code rc = CFDR_E_NOMEM;

    if (!ctx || n < 0)
        goto out;
    if (n > 0) {
        v = calloc((size_t)n, sizeof(*v));
        if (!v)
            goto out;
        n = evbuffer_peek(in, -1, NULL, v, n);
    }
    rc = CFDR_E_INTERNAL;
    if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
        goto out;
    for (int i = 0; i < n; i++)
        if (!EVP_DigestUpdate(ctx, v[i].iov_base, v[i].iov_len))
            goto out;
    if (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != sizeof(md))
        goto out;
    for (unsigned i = 0; i < sizeof(md); i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    rc = CFDR_OK;
out:
    free(v);
    EVP_MD_CTX_free(ctx);
    return rc;
}

static cfdr_code echo_json(struct sconn *c, struct buf *b)
{
    struct evhttp_request *req = c->req;
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    struct evkeyval *kv;
    char hex[65];
    int first = 1;

    CFDR_TRY(sha256_hex(in, hex));
    CFDR_TRY(buf_adds(b, "{\"method\":"));
    CFDR_TRY(json_cstr(b, method_name(evhttp_request_get_command(req))));
    CFDR_TRY(buf_adds(b, ",\"path\":"));
    CFDR_TRY(json_cstr(b, req_path(req)));
    CFDR_TRY(buf_adds(b, ",\"query\":"));
    CFDR_TRY(json_cstr(b, u ? evhttp_uri_get_query(u) : NULL));
    CFDR_TRY(buf_adds(b, ",\"headers\":["));
    for (kv = h->tqh_first; kv; kv = kv->next.tqe_next) {
        CFDR_TRY(buf_adds(b, first ? "[" : ",["));
        CFDR_TRY(json_cstr(b, kv->key));
        CFDR_TRY(buf_addc(b, ','));
        CFDR_TRY(json_cstr(b, kv->value));
        CFDR_TRY(buf_addc(b, ']'));
        first = 0;
    }
    CFDR_TRY(buf_addf(b, "],\"body_length\":%zu,\"body_sha256\":\"%s\",\"body_read\":%s",
                      evbuffer_get_length(in), hex, body_unread(req) ? "false" : "true"));
    CFDR_TRY(buf_adds(b, ",\"region\":"));
    CFDR_TRY(json_cstr(b, c->s->region));
    CFDR_TRY(buf_adds(b, ",\"service\":"));
    CFDR_TRY(json_cstr(b, c->s->service));
    return buf_adds(b, "}\n");
}

static void reply_echo(struct sconn *c)
{
    struct buf b;
    buf_init(&b, BUF_MAX_DOC);
    if (echo_json(c, &b) != CFDR_OK)
        reply_text(c, 500, "echo failed (out of memory)");
    else
        reply(c, 200, "application/json", buf_str(&b), buf_len(&b));
    buf_free(&b);
}

static void on_stream_drained(struct evhttp_connection *evcon, void *arg);

/* Queues the next 256 KiB once the socket has taken the previous ones. */
static void stream_next(struct sconn *c)
{
    struct standin *s = c->s;
    struct evhttp_request *req = c->req;
    struct bufferevent *bev;
    size_t queued;

    if (c->stream_left == 0) {
        c->req = NULL;
        c->state = CS_IDLE;
        evhttp_send_reply_end(req); /* may free the connection, and c with it */
        return;
    }
    if (s->mode == STANDIN_BLACKHOLE) {
        c->state = CS_HELD;
        s->st.requests_held++;
        return;
    }
    for (unsigned i = 0; i < STREAM_REFS && c->stream_left; i++) {
        size_t n = c->stream_left < PATTERN_SIZE ? (size_t)c->stream_left : PATTERN_SIZE;
        /* Every block starts at a multiple of PATTERN_SIZE, where the pattern starts over. */
        if (evbuffer_add_reference(s->scratch, s->pattern, n, NULL, NULL)) {
            evbuffer_drain(s->scratch, evbuffer_get_length(s->scratch));
            conn_abort(c);
            return;
        }
        c->stream_left -= n;
        s->st.stream_bytes += n;
    }
    evhttp_send_reply_chunk_with_cb(req, s->scratch, on_stream_drained, c);
    evbuffer_drain(s->scratch, evbuffer_get_length(s->scratch));
    bev = evhttp_connection_get_bufferevent(c->evcon);
    queued = evbuffer_get_length(bufferevent_get_output(bev));
    if (queued > s->st.stream_queue_max)
        s->st.stream_queue_max = queued;
}

static void on_stream_drained(struct evhttp_connection *evcon, void *arg)
{
    struct sconn *c = arg;
    (void)evcon;
    if (c->state == CS_STREAM)
        stream_next(c);
}

static void stream_start(struct sconn *c, uint64_t n)
{
    struct evhttp_request *req = c->req;
    char cl[32];

    /* reply() would set Content-Length to the body it sends: set N ourselves. */
    snprintf(cl, sizeof(cl), "%llu", (unsigned long long)n);
    if (reply_headers(c, "application/octet-stream") ||
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", cl)) {
        conn_abort(c);
        return;
    }
    count_status(c->s, req, 200);
    if (n == 0 || evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        c->req = NULL;
        evhttp_send_reply(req, 200, NULL, NULL);
        return;
    }
    c->state = CS_STREAM;
    c->stream_left = n;
    evhttp_send_reply_start(req, 200, NULL);
    stream_next(c);
}

/* Digits only, at most max. */
static int parse_num(const char *p, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (!*p || strlen(p) > 20)
        return -1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        uint64_t d = (uint64_t)(*p - '0');
        if (d > max || v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static void serve(struct sconn *c)
{
    const char *path = req_path(c->req);
    uint64_t n;

    if (strcmp(path, "/echo") == 0) {
        reply_echo(c);
    } else if (strncmp(path, "/bytes/", 7) == 0) {
        if (parse_num(path + 7, MAX_BYTES, &n))
            reply_text(c, 400, "bad /bytes/<N> (N is a byte count up to 2^36)");
        else
            stream_start(c, n);
    } else if (strncmp(path, "/status/", 8) == 0) {
        if (parse_num(path + 8, 599, &n) || n < 200)
            reply_text(c, 400, "bad /status/<NNN> (200..599)");
        else
            reply_text(c, (int)n, "requested status");
    } else if (strncmp(path, "/delay/", 7) == 0) {
        if (parse_num(path + 7, MAX_DELAY_MS, &n))
            reply_text(c, 400, "bad /delay/<ms> (up to 600000)");
        else
            conn_wait(c, CS_WAIT_DELAY, (unsigned)n);
    } else {
        reply_text(c, 200, "hello");
    }
}

/* Answers as the current mode dictates; slow mode's wait is already over. */
static void respond(struct sconn *c)
{
    struct standin *s = c->s;
    switch (s->mode) {
    case STANDIN_PAUSED:
        reply_paused(c);
        break;
    case STANDIN_ERROR:
        reply_text(c, 503, "503 Service Unavailable");
        break;
    case STANDIN_REFUSE:
        /* A connection opened before refuse: the process is "dead", so is the connection.
         * Closed from a timer, outside evhttp's own callbacks. */
        conn_wait(c, CS_KILL, 0);
        break;
    case STANDIN_BLACKHOLE:
        c->state = CS_HELD;
        s->st.requests_held++;
        break;
    case STANDIN_RUNNING:
    case STANDIN_SLOW:
    case STANDIN_MODE_COUNT:
        serve(c);
        break;
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct sconn *c = arg;
    enum standin_mode m = c->s->mode;
    (void)fd;
    (void)what;
    switch (c->state) {
    case CS_WAIT_SLOW:
        c->state = CS_IDLE;
        respond(c);
        break;
    case CS_WAIT_DELAY:
        c->state = CS_IDLE;
        if (m == STANDIN_RUNNING || m == STANDIN_SLOW)
            reply_text(c, 200, "delayed answer");
        else
            respond(c);
        break;
    case CS_KILL:
        conn_abort(c);
        break;
    case CS_IDLE:
    case CS_STREAM:
    case CS_HELD:
        break;
    }
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct standin *s = arg;
    struct sconn *c = conn_get(s, req);

    if (!c) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    s->st.requests++;
    s->st.by_mode[s->mode]++;
    c->req = req;
    c->state = CS_IDLE;
    if (s->mode == STANDIN_SLOW)
        conn_wait(c, CS_WAIT_SLOW, s->slow_ms);
    else
        respond(c);
}

/* ---- control API -------------------------------------------------------------------------- */

static cfdr_code mode_json(const struct standin *s, struct buf *b)
{
    CFDR_TRY(buf_addf(b, "{\"mode\":\"%s\",\"region\":", mode_names[s->mode]));
    CFDR_TRY(json_cstr(b, s->region));
    CFDR_TRY(buf_adds(b, ",\"service\":"));
    CFDR_TRY(json_cstr(b, s->service));
    return buf_addf(b,
                    ",\"requests_served\":%llu,\"port\":%d,\"control_port\":%d,\"slow_ms\":%u}\n",
                    (unsigned long long)s->st.requests, s->port, s->control_port, s->slow_ms);
}

static cfdr_code stats_json(const struct standin *s, struct buf *b)
{
    struct standin_stats st;
    int first = 1;

    standin_stats(s, &st);
    CFDR_TRY(buf_addf(b, "{\"requests\":%llu,\"by_mode\":{", (unsigned long long)st.requests));
    for (unsigned i = 0; i < STANDIN_MODE_COUNT; i++)
        CFDR_TRY(buf_addf(b, "%s\"%s\":%llu", i ? "," : "", mode_names[i],
                          (unsigned long long)st.by_mode[i]));
    CFDR_TRY(buf_adds(b, "},\"by_status\":{"));
    for (int i = 0; i < STATUS_END - STATUS_MIN; i++) {
        if (!s->by_status[i])
            continue;
        CFDR_TRY(buf_addf(b, "%s\"%d\":%llu", first ? "" : ",", i + STATUS_MIN,
                          (unsigned long long)s->by_status[i]));
        first = 0;
    }
    return buf_addf(b,
                    "},\"responses\":%llu,\"connections_dropped\":%llu,\"requests_held\":%llu,"
                    "\"stream_bytes\":%llu,\"stream_queue_max\":%zu,\"open_connections\":%llu}\n",
                    (unsigned long long)st.responses, (unsigned long long)st.connections_dropped,
                    (unsigned long long)st.requests_held, (unsigned long long)st.stream_bytes,
                    st.stream_queue_max, (unsigned long long)st.open_connections);
}

static void ctl_send(struct evhttp_request *req, int code, const struct buf *b)
{
    struct evbuffer *out = evbuffer_new();
    if (!out || evbuffer_add(out, buf_str(b), buf_len(b)) ||
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/json")) {
        if (out)
            evbuffer_free(out);
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evhttp_send_reply(req, code, NULL, out);
    evbuffer_free(out);
}

static void ctl_error(struct evhttp_request *req, int code, const char *msg)
{
    struct buf b;
    buf_init(&b, BUF_MAX_SMALL);
    if (buf_adds(&b, "{\"error\":") || json_cstr(&b, msg) || buf_adds(&b, "}\n"))
        evhttp_send_error(req, 500, NULL);
    else
        ctl_send(req, code, &b);
    buf_free(&b);
}

static void ctl_mode(struct standin *s, struct evhttp_request *req)
{
    struct buf b;
    buf_init(&b, BUF_MAX_SMALL);
    if (mode_json(s, &b))
        evhttp_send_error(req, 500, NULL);
    else
        ctl_send(req, 200, &b);
    buf_free(&b);
}

/* Reads "?slow_ms=N" into *ms (left alone when absent). */
static cfdr_code ctl_query_slow_ms(struct evhttp_request *req, unsigned *ms, cfdr_err *err)
{
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *q = u ? evhttp_uri_get_query(u) : NULL;
    struct evkeyvalq params;
    const char *v;
    uint64_t n;
    cfdr_code rc = CFDR_OK;

    if (!q)
        return CFDR_OK;
    if (evhttp_parse_query_str(q, &params) < 0)
        return err_set(err, CFDR_E_USAGE, "malformed query string");
    v = evhttp_find_header(&params, "slow_ms");
    if (v && (parse_num(v, STANDIN_MAX_SLOW_MS, &n) || n == 0))
        rc = err_set(err, CFDR_E_USAGE, "slow_ms must be 1..%u", STANDIN_MAX_SLOW_MS);
    else if (v)
        *ms = (unsigned)n;
    evhttp_clear_headers(&params);
    return rc;
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Body: a mode name, or {"mode": "...", "slow_ms": N}. */
static cfdr_code ctl_parse_mode(const char *body, enum standin_mode *mode, unsigned *ms,
                                cfdr_err *err)
{
    struct json_object *o, *jm = NULL, *js = NULL;
    cfdr_code rc = CFDR_OK;
    int64_t n;

    if (body[0] != '{')
        return standin_mode_from_name(body, mode, err);
    o = json_tokener_parse(body);
    if (!o || !json_object_is_type(o, json_type_object)) {
        rc = err_set(err, CFDR_E_PARSE, "body is neither a mode name nor a JSON object");
        goto out;
    }
    if (!json_object_object_get_ex(o, "mode", &jm) || !json_object_is_type(jm, json_type_string)) {
        rc = err_set(err, CFDR_E_USAGE, "JSON body needs \"mode\": a string");
        goto out;
    }
    rc = standin_mode_from_name(json_object_get_string(jm), mode, err);
    if (rc)
        goto out;
    if (json_object_object_get_ex(o, "slow_ms", &js)) {
        n = json_object_get_int64(js);
        if (!json_object_is_type(js, json_type_int) || n < 1 || n > STANDIN_MAX_SLOW_MS) {
            rc =
                err_set(err, CFDR_E_USAGE, "slow_ms must be an integer 1..%u", STANDIN_MAX_SLOW_MS);
            goto out;
        }
        *ms = (unsigned)n;
    }
out:
    json_object_put(o);
    return rc;
}

static void ctl_put_mode(struct standin *s, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    char body[CONTROL_MAX_BODY + 1];
    size_t n = evbuffer_get_length(in), a, z;
    enum standin_mode mode;
    unsigned ms = 0;
    cfdr_err err;

    err_clear(&err);
    if (n > CONTROL_MAX_BODY) {
        ctl_error(req, 413, "body too large");
        return;
    }
    evbuffer_copyout(in, body, n);
    body[n] = '\0';
    for (a = 0; a < n && is_space(body[a]); a++)
        ;
    for (z = n; z > a && is_space(body[z - 1]); z--)
        ;
    body[z] = '\0';
    if (strlen(body + a) != z - a) {
        ctl_error(req, 400, "body holds a NUL byte");
        return;
    }
    if (ctl_query_slow_ms(req, &ms, &err) || ctl_parse_mode(body + a, &mode, &ms, &err)) {
        ctl_error(req, 400, err.msg);
        return;
    }
    if (standin_set_mode(s, mode, ms, &err)) {
        ctl_error(req, 500, err.msg);
        return;
    }
    ctl_mode(s, req);
}

static void on_control(struct evhttp_request *req, void *arg)
{
    struct standin *s = arg;
    enum evhttp_cmd_type t = evhttp_request_get_command(req);
    const char *path = req_path(req);
    int get = t == EVHTTP_REQ_GET || t == EVHTTP_REQ_HEAD;
    struct buf b;

    if (strcmp(path, "/health") == 0 && get) {
        buf_init(&b, BUF_MAX_SMALL);
        if (buf_adds(&b, "{\"status\":\"ok\",\"region\":") || json_cstr(&b, s->region) ||
            buf_adds(&b, ",\"service\":") || json_cstr(&b, s->service) || buf_adds(&b, "}\n"))
            evhttp_send_error(req, 500, NULL);
        else
            ctl_send(req, 200, &b);
        buf_free(&b);
    } else if (strcmp(path, "/mode") == 0 && get) {
        ctl_mode(s, req);
    } else if (strcmp(path, "/mode") == 0 && (t == EVHTTP_REQ_PUT || t == EVHTTP_REQ_POST)) {
        ctl_put_mode(s, req);
    } else if (strcmp(path, "/stats") == 0 && get) {
        buf_init(&b, BUF_MAX_SMALL);
        if (stats_json(s, &b))
            evhttp_send_error(req, 500, NULL);
        else
            ctl_send(req, 200, &b);
        buf_free(&b);
    } else if (!strcmp(path, "/health") || !strcmp(path, "/mode") || !strcmp(path, "/stats")) {
        ctl_error(req, 405, "method not allowed: GET /health, GET|PUT /mode, GET /stats");
    } else {
        ctl_error(req, 404, "unknown path: GET /health, GET|PUT /mode, GET /stats");
    }
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

/* Names go into headers and JSON unescaped in places: keep them to a safe alphabet. */
static cfdr_code check_name(const char *what, const char *v, cfdr_err *err)
{
    size_t n = v ? strlen(v) : 0;
    if (n == 0 || n > NAME_MAX_LEN ||
        strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
        return err_set(err, CFDR_E_CONFIG,
                       "stand-in %s '%.80s' is not valid: use 1..%d letters, digits, '.', '_' "
                       "or '-'",
                       what, v ? v : "", NAME_MAX_LEN);
    return CFDR_OK;
}

/* Binds a listener for h on *ss, then rewrites *ss with the port actually bound. */
static cfdr_code bind_evhttp(struct evhttp *h, const char *what, struct sockaddr_storage *ss,
                             socklen_t *len, struct evhttp_bound_socket **bound, cfdr_err *err)
{
    char a[80];
    int fd = listen_socket(ss, *len, 128);
    addr_str(ss, *len, a, sizeof(a));
    if (fd < 0)
        return err_set(err, CFDR_E_IO, "stand-in %s: cannot listen on %s: %s", what, a,
                       strerror(errno));
    if (getsockname(fd, (struct sockaddr *)ss, len) < 0) {
        close(fd);
        return err_set(err, CFDR_E_IO, "stand-in %s: getsockname on %s: %s", what, a,
                       strerror(errno));
    }
    *bound = evhttp_accept_socket_with_handle(h, fd);
    if (!*bound)
        return err_set(err, CFDR_E_NOMEM, "stand-in %s: out of memory listening on %s", what, a);
    return CFDR_OK;
}

cfdr_code standin_new(const struct standin_options *o, struct event_base *base,
                      struct standin **out, cfdr_err *err)
{
    struct standin *s = NULL;
    struct sockaddr_storage cs;
    socklen_t cslen = 0;
    struct evhttp_bound_socket *cbound = NULL;
    const ev_uint16_t methods = EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                EVHTTP_REQ_PATCH;
    cfdr_code rc;
    char a[80];

    *out = NULL;
    if (!o || !base)
        return err_set(err, CFDR_E_INTERNAL, "standin_new: options and event base are required");
    CFDR_TRY(check_name("region", o->region, err));
    CFDR_TRY(check_name("service name", o->service, err));
    if ((unsigned)o->mode >= STANDIN_MODE_COUNT)
        return err_set(err, CFDR_E_CONFIG, "stand-in initial mode %d is not valid", (int)o->mode);
    if (o->slow_ms > STANDIN_MAX_SLOW_MS)
        return err_set(err, CFDR_E_CONFIG, "stand-in slow_ms %u is above the maximum %u",
                       o->slow_ms, STANDIN_MAX_SLOW_MS);

    s = calloc(1, sizeof(*s));
    if (!s)
        return err_set(err, CFDR_E_NOMEM, "stand-in: out of memory");
    s->base = base;
    s->log = o->log;
    s->bh_fd = -1;
    s->slow_ms = o->slow_ms ? o->slow_ms : STANDIN_DEFAULT_SLOW_MS;
    s->identify = o->identify;
    s->region = strdup(o->region);
    s->service = strdup(o->service);
    s->http = evhttp_new(base);
    s->ctl = evhttp_new(base);
    s->scratch = evbuffer_new();
    if (!s->region || !s->service || !s->http || !s->ctl || !s->scratch) {
        rc = err_set(err, CFDR_E_NOMEM, "stand-in: out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < PATTERN_SIZE; i++)
        s->pattern[i] = standin_pattern_byte(i);

    rc = parse_addr("listen", o->listen ? o->listen : "127.0.0.1:0", &s->addr, &s->addrlen, err);
    if (rc)
        goto fail;
    rc = parse_addr("control", o->control ? o->control : "127.0.0.1:0", &cs, &cslen, err);
    if (rc)
        goto fail;
    if (!addr_is_loopback(&cs)) {
        addr_str(&cs, cslen, a, sizeof(a));
        rc = err_set(err, CFDR_E_CONFIG,
                     "stand-in control address %s is not a loopback address: the control API "
                     "has no authentication, use 127.0.0.1 or [::1]",
                     a);
        goto fail;
    }

    evhttp_set_allowed_methods(s->http, methods);
    evhttp_set_max_body_size(s->http,
                             (ev_ssize_t)(o->max_body ? o->max_body : STANDIN_DEFAULT_MAX_BODY));
    evhttp_set_max_headers_size(s->http, MAX_HEADERS);
    evhttp_set_gencb(s->http, on_request, s);
    evhttp_set_allowed_methods(s->ctl, methods); /* so that on_control answers 405 itself */
    evhttp_set_max_body_size(s->ctl, CONTROL_MAX_BODY);
    evhttp_set_gencb(s->ctl, on_control, s);

    rc = bind_evhttp(s->http, "service", &s->addr, &s->addrlen, &s->bound, err);
    if (rc)
        goto fail;
    s->lkind = LK_NORMAL;
    s->port = addr_port(&s->addr);
    rc = bind_evhttp(s->ctl, "control", &cs, &cslen, &cbound, err);
    if (rc)
        goto fail;
    s->control_port = addr_port(&cs);

    if (o->mode != STANDIN_RUNNING) {
        rc = standin_set_mode(s, o->mode, 0, err);
        if (rc)
            goto fail;
    }
    addr_str(&s->addr, s->addrlen, a, sizeof(a));
    log_msg(s->log, CFDR_LOG_INFO, "stand-in %s (%s) on %s, control port %d, mode %s", s->service,
            s->region, a, s->control_port, mode_names[s->mode]);
    *out = s;
    return CFDR_OK;
fail:
    standin_free(s);
    return rc;
}

void standin_free(struct standin *s)
{
    if (!s)
        return;
    /* Frees the listener and every connection; their close callbacks free our sconns. */
    if (s->http)
        evhttp_free(s->http);
    while (s->conns)
        conn_unlink_free(s->conns);
    if (s->ctl)
        evhttp_free(s->ctl);
    blackhole_close(s);
    if (s->scratch)
        evbuffer_free(s->scratch);
    free(s->region);
    free(s->service);
    free(s);
}

static enum listener_kind listener_for(enum standin_mode m)
{
    if (m == STANDIN_REFUSE)
        return LK_NONE;
    if (m == STANDIN_BLACKHOLE)
        return LK_BLACKHOLE;
    return LK_NORMAL;
}

cfdr_code standin_set_mode(struct standin *s, enum standin_mode mode, unsigned slow_ms,
                           cfdr_err *err)
{
    enum standin_mode old = s->mode;
    enum listener_kind want;
    cfdr_code rc = CFDR_OK;

    if ((unsigned)mode >= STANDIN_MODE_COUNT)
        return err_set(err, CFDR_E_USAGE, "stand-in mode %d is not valid", (int)mode);
    if (slow_ms > STANDIN_MAX_SLOW_MS)
        return err_set(err, CFDR_E_USAGE, "slow_ms %u is above the maximum %u", slow_ms,
                       STANDIN_MAX_SLOW_MS);
    if (slow_ms)
        s->slow_ms = slow_ms;
    want = listener_for(mode);
    if (want != s->lkind) {
        listener_close(s);
        if (want == LK_NORMAL)
            rc = listener_open(s, err);
        else if (want == LK_BLACKHOLE)
            rc = blackhole_open(s, err);
        if (rc)
            mode = STANDIN_REFUSE; /* no listener is open: say so */
        else
            s->lkind = want;
    }
    s->mode = mode;
    if (mode == STANDIN_REFUSE)
        drop_conns(s, 0);
    else if (old == STANDIN_BLACKHOLE && mode != STANDIN_BLACKHOLE)
        drop_conns(s, 1);
    if (old != mode || slow_ms)
        log_msg(s->log, rc ? CFDR_LOG_ERROR : CFDR_LOG_INFO,
                "stand-in %s (%s) port %d: mode %s -> %s (slow_ms %u)", s->service, s->region,
                s->port, mode_names[old], mode_names[mode], s->slow_ms);
    return rc;
}

enum standin_mode standin_mode(const struct standin *s)
{
    return s->mode;
}

unsigned standin_slow_ms(const struct standin *s)
{
    return s->slow_ms;
}

int standin_port(const struct standin *s)
{
    return s->port;
}

int standin_control_port(const struct standin *s)
{
    return s->control_port;
}

const char *standin_region(const struct standin *s)
{
    return s->region;
}

const char *standin_service(const struct standin *s)
{
    return s->service;
}

void standin_stats(const struct standin *s, struct standin_stats *out)
{
    *out = s->st;
    out->open_connections = 0;
    for (const struct sconn *c = s->conns; c; c = c->next)
        out->open_connections++;
}

uint64_t standin_status_count(const struct standin *s, int status)
{
    if (status < STATUS_MIN || status >= STATUS_END)
        return 0;
    return s->by_status[status - STATUS_MIN];
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

cfdr_code standin_run_forever(const struct standin_options *o, cfdr_err *err)
{
    struct event_base *base = NULL;
    struct standin *s = NULL;
    struct event *sigint = NULL, *sigterm = NULL;
    struct sigaction sa;
    cfdr_code rc;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) < 0)
        return err_set(err, CFDR_E_IO, "stand-in: cannot ignore SIGPIPE: %s", strerror(errno));
    base = event_base_new();
    if (!base)
        return err_set(err, CFDR_E_NOMEM, "stand-in: cannot create an event base");
    rc = standin_new(o, base, &s, err);
    if (rc)
        goto out;
    sigint = evsignal_new(base, SIGINT, on_stop_signal, base);
    sigterm = evsignal_new(base, SIGTERM, on_stop_signal, base);
    if (!sigint || !sigterm || event_add(sigint, NULL) < 0 || event_add(sigterm, NULL) < 0) {
        rc = err_set(err, CFDR_E_IO, "stand-in: cannot handle SIGINT/SIGTERM");
        goto out;
    }
    if (o->on_ready)
        o->on_ready(s, o->ready_ud);
    if (event_base_dispatch(base) < 0) {
        rc = err_set(err, CFDR_E_INTERNAL, "stand-in %s: event loop failed", o->service);
        goto out;
    }
    log_msg(o->log, CFDR_LOG_INFO, "stand-in %s (%s): stopped by signal", o->service, o->region);
out:
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
    standin_free(s);
    event_base_free(base);
    return rc;
}
