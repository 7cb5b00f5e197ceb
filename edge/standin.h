/*
 * standin: a local stand-in for one App Runner service in one region, with fault injection.
 *
 * In offline mode cfdr runs two of these (primary and secondary) behind the local edge; edge and
 * drill tests use them as origins. A stand-in is one libevent HTTP server (evhttp) on a caller's
 * event_base: no threads, every wait is a timer, large bodies stream with backpressure.
 *
 * Service port (mode running):
 *   any GET/HEAD/POST/PUT/PATCH/DELETE/OPTIONS path answers 200, `content-type: text/plain` and a
 *   one-line body naming service and region. Every answer of the service carries
 *   `x-region: <region>` and `x-service: <service>`. Test paths:
 *   /echo          any method: JSON {"method","path","query" (raw, null when absent),
 *                  "headers": [[name, value], ...] in the order received (Host included),
 *                  "body_length", "body_sha256" (hex), "body_read", "region", "service"}.
 *                  libevent reads request bodies of POST, PUT and PATCH only; another method
 *                  sent with a body gets body_read=false and `connection: close`.
 *   /bytes/<N>     N bytes (N <= 2^36), `content-length: N`, `content-type:
 *                  application/octet-stream`; byte k of the body is standin_pattern_byte(k).
 *                  Streamed from one shared 64 KiB block, queued 256 KiB at a time as the
 *                  socket drains: memory stays flat whatever N.
 *   /status/<NNN>  answers status NNN (200..599).
 *   /delay/<ms>    answers 200 after ms milliseconds (a timer; ms <= 600000).
 *   Request bodies are limited to max_body bytes (413 beyond), request line and headers to
 *   64 KiB (400 beyond). JSON strings carry non-ASCII bytes as received.
 *
 * Modes (standin_set_mode or the control API), each as the failure looks on the wire:
 *   running    normal service.
 *   paused     every request: 404, `server: envoy`, body "404 Not Found". (No public source says
 *              what App Runner's front proxy returns for a paused service beyond a 404 from
 *              Envoy; this is the plain form.) x-region/x-service are kept so drills can tell
 *              who answered.
 *   error      every request: 503 with a short body.
 *   refuse     the listening socket is closed (connect() gets ECONNREFUSED) and every open
 *              connection is closed, as when the process dies.
 *   blackhole  the listening socket is replaced by one with backlog 0 that is never accepted and
 *              whose accept queue the stand-in fills with its own dummy connection, so the
 *              kernel drops further SYNs: connect() times out. Requests arriving on connections
 *              opened before are never answered; streams stop. Leaving blackhole closes those
 *              connections.
 *   slow       every response waits slow_ms first (default 35000, above CloudFront's default 30 s
 *              response timeout).
 * Leaving refuse or blackhole reopens the same port (SO_REUSEADDR). If another process took the
 * port meanwhile, standin_set_mode fails with CFDR_E_IO and the stand-in stays in refuse.
 * Switching into blackhole blocks the loop for about 0.1 s while the accept queue is filled.
 *
 * Control port (loopback only), JSON answers:
 *   GET  /health  {"status":"ok",...}
 *   GET  /mode    {"mode","region","service","requests_served","port","control_port","slow_ms"}
 *   PUT  /mode    body: a mode name ("paused"), or JSON {"mode":"slow","slow_ms":1500};
 *                 `?slow_ms=N` also sets slow_ms. Answers like GET /mode, 400 on bad input,
 *                 500 when the mode could not be applied. POST is accepted too.
 *   GET  /stats   request counts per mode and per status, streaming figures.
 *
 * Writing to a peer that went away raises SIGPIPE: the process must ignore it (cfdr's main and
 * standin_run_forever do).
 *
 * Ownership: standin_new returns a stand-in the caller frees with standin_free (accepts NULL),
 * before freeing the event_base and never while the base's loop runs in another thread. Strings
 * in the options are copied. The stand-in keeps no global state.
 */
#ifndef CFDR_EDGE_STANDIN_H
#define CFDR_EDGE_STANDIN_H

#include <stddef.h>
#include <stdint.h>

#include "aws/err.h"
#include "aws/log.h"

struct event_base;
struct standin;

enum standin_mode {
    STANDIN_RUNNING = 0,
    STANDIN_PAUSED,
    STANDIN_ERROR,
    STANDIN_REFUSE,
    STANDIN_BLACKHOLE,
    STANDIN_SLOW,
    STANDIN_MODE_COUNT
};

/* STANDIN_IDENTIFY_HEADER (zero, the default): x-region/x-service headers and a body naming
 * service and region. BODY: no such headers, the body still names them. NONE: no such headers
 * and the same body in every region, like App Runner's sample image; paused answers then lack
 * x-region/x-service too. */
enum standin_identify { STANDIN_IDENTIFY_HEADER = 0, STANDIN_IDENTIFY_BODY, STANDIN_IDENTIFY_NONE };

/* "header", "body", "none" -> *out; CFDR_E_USAGE naming the allowed values otherwise. */
cfdr_code standin_identify_from_name(const char *name, enum standin_identify *out, cfdr_err *err);

#define STANDIN_DEFAULT_SLOW_MS 35000u
#define STANDIN_MAX_SLOW_MS 3600000u
#define STANDIN_DEFAULT_MAX_BODY (64u * 1024u * 1024u)

struct standin_options {
    const char *region;         /* required, e.g. "us-east-1" */
    const char *service;        /* required, e.g. "dr-demo-east" */
    const char *listen;         /* numeric "host:port" or "[v6]:port"; NULL = "127.0.0.1:0" (0 picks
                                   a free port) */
    const char *control;        /* same syntax, loopback only; NULL = "127.0.0.1:0" */
    enum standin_mode mode;     /* initial mode (zero = running) */
    unsigned slow_ms;           /* delay in mode slow; 0 = STANDIN_DEFAULT_SLOW_MS */
    size_t max_body;            /* request body limit; 0 = STANDIN_DEFAULT_MAX_BODY */
    const struct cfdr_log *log; /* may be NULL; must outlive the stand-in */
    /* standin_run_forever only: called once the ports are open, before serving. */
    void (*on_ready)(struct standin *s, void *ud);
    void *ready_ud;
    /* How its answers name it (for drills against origins that do not say who they are). */
    enum standin_identify identify;
};

struct standin_stats {
    uint64_t requests;                    /* requests received on the service port */
    uint64_t by_mode[STANDIN_MODE_COUNT]; /* requests by the mode they arrived in */
    uint64_t responses;                   /* responses sent (status line written) */
    uint64_t connections_dropped;         /* closed by refuse, or after blackhole */
    uint64_t requests_held;               /* requests left unanswered in blackhole */
    uint64_t stream_bytes;                /* /bytes payload handed to the socket */
    size_t stream_queue_max;   /* most bytes ever queued on a connection while streaming */
    uint64_t open_connections; /* service connections that have sent a request and are open */
};

/* Opens the service and control listeners on base and applies o->mode. On failure *out is NULL
 * and err says what could not be opened or what option is wrong. */
cfdr_code standin_new(const struct standin_options *o, struct event_base *base,
                      struct standin **out, cfdr_err *err);
/* Closes both listeners and every connection. Accepts NULL. */
void standin_free(struct standin *s);

/* Switches mode. slow_ms > 0 also sets the slow delay (it is kept for later slow periods);
 * 0 keeps the current one. */
cfdr_code standin_set_mode(struct standin *s, enum standin_mode mode, unsigned slow_ms,
                           cfdr_err *err);
enum standin_mode standin_mode(const struct standin *s);
unsigned standin_slow_ms(const struct standin *s);

/* Ports actually bound (useful with port 0). The service port stays the same across modes. */
int standin_port(const struct standin *s);
int standin_control_port(const struct standin *s);
const char *standin_region(const struct standin *s);
const char *standin_service(const struct standin *s);

void standin_stats(const struct standin *s, struct standin_stats *out);
/* Responses sent with this status (0 for codes outside 100..599). */
uint64_t standin_status_count(const struct standin *s, int status);

/* "running", "paused", "error", "refuse", "blackhole", "slow"; "?" for an invalid value. */
const char *standin_mode_name(enum standin_mode mode);
/* Parses a mode name (case-sensitive). CFDR_E_USAGE with the allowed names when unknown. */
cfdr_code standin_mode_from_name(const char *name, enum standin_mode *out, cfdr_err *err);

/* Byte k of every /bytes body. Depends only on k % 65536. */
unsigned char standin_pattern_byte(uint64_t k);

/* Runs a stand-in on its own event_base until SIGINT or SIGTERM, then closes everything and
 * returns CFDR_OK. Ignores SIGPIPE for the process. For the `cfdr` subcommand that runs a
 * stand-in in the background: o->on_ready reports the ports. */
cfdr_code standin_run_forever(const struct standin_options *o, cfdr_err *err);

#endif
