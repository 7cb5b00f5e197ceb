/*
 * edge: the local edge proxy, an HTTP proxy that mirrors CloudFront's origin-group failover.
 *
 * Viewers talk HTTP/1.x to an evhttp listener; every request is routed by the first matching
 * cache behaviour to an origin or an origin group and forwarded on the same libevent loop: to
 * http:// origins with libevent's own HTTP client (evhttp_make_request() on connections kept
 * alive in a per-worker, per-origin pool of at most options.origin_keepalive idle ones), to
 * https:// origins with libcurl's multi interface (the pattern of curl's
 * docs/examples/hiperfifo.c), which brings TLS and certificate checks. After every attempt
 * the edge asks edge_failover_next() (edge/failover.h) what to do and does exactly that: deliver,
 * retry the same origin, fail over to the secondary, or answer 502/504 itself. Response bodies
 * stream with backpressure (the origin transfer pauses while the viewer's output buffer is above
 * a watermark), so memory stays flat whatever the size of the response.
 *
 * Threads: one worker = one event loop + one evhttp (its own SO_REUSEPORT socket on the shared
 * port) + its origin connection pools + one CURLM. Worker 0 runs on the caller's event_base;
 * workers 1..N-1 (options.workers > 1) run on their own threads and bases, created by edge_new()
 * and joined by edge_free(). Metrics are shared between workers with C11 atomics; the access-log
 * callback is serialised by a mutex.
 *
 * Ownership: edge_new() copies everything it needs from the options and the config (the caller
 * may free them afterwards); edge_free() stops listening, aborts every in-flight transfer, closes
 * every connection and frees everything. The caller keeps its event_base and frees it after
 * edge_free(). curl_global_init() is the caller's job (main() does it once), and so is ignoring
 * SIGPIPE: libevent writes to viewers with writev(), which raises it when a viewer has gone away
 * mid-reply (edge_new() logs a warning when SIGPIPE is still at its default action).
 *
 * Metrics (Prometheus text format 0.0.4, GET /metrics on the admin listener; GET /healthz):
 *   cfdr_edge_requests_total{outcome}     one per viewer request, outcome is one of
 *       ok             an origin response < 400 from the first origin tried
 *       failover_ok    an origin response < 400 from the secondary after a failover
 *       origin_status  an origin's 4xx/5xx response delivered as is
 *       error_502      the edge answered 502 (could not connect)
 *       error_504      the edge answered 504 (origin response timeout)
 *       forbidden      the edge answered 403 (method not allowed by the behaviour)
 *       bad_request    the edge answered 400 (unusable request target or too large a body)
 *       aborted        the viewer went away, or the origin died after the reply had started
 *   cfdr_edge_origin_attempts_total{origin="primary|secondary",origin_id,region,
 *                                   result="response|connect_failed|timed_out"}
 *   cfdr_edge_failovers_total{reason="status|connect|timeout"}
 *   cfdr_edge_origin_latency_seconds{origin,origin_id,region} histogram: attempt start to the
 *       complete response header block, for attempts that got a response (1 ms .. 60 s buckets)
 *   cfdr_edge_requests_in_flight, cfdr_edge_stream_buffer_high_water_bytes (gauges)
 * An origin that is the only target of a behaviour is labelled origin="primary".
 *
 * Access log: one JSON object per viewer request (no trailing newline) handed to
 * options.access_log: {"id","time","method","path","status","outcome","duration_ms",
 * "bytes","served_by","failover_reason","attempts":[{"origin","origin_id","region","attempt",
 * "result","status","ms"}]}.
 */
#ifndef CFDR_EDGE_H
#define CFDR_EDGE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/buf.h"
#include "aws/err.h"
#include "aws/log.h"
#include "edge/failover.h"

struct event_base;

#define EDGE_MAX_ORIGINS 25
#define EDGE_MAX_GROUPS 10
#define EDGE_MAX_BEHAVIORS 26 /* 25 cache behaviours + the default one */
#define EDGE_ID_MAX 128
#define EDGE_URL_MAX 512

/* CloudFront's three allowed-method sets. */
enum edge_methods {
    EDGE_METHODS_GET_HEAD = 0,     /* GET, HEAD */
    EDGE_METHODS_GET_HEAD_OPTIONS, /* GET, HEAD, OPTIONS */
    EDGE_METHODS_ALL,              /* GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE */
};

struct edge_origin {
    char id[EDGE_ID_MAX];
    char url[EDGE_URL_MAX];     /* http://host:port[/origin-path] (https:// works too) */
    char host_header[256];      /* Host sent to the origin; "" = the URL's host[:port] */
    char region[64];            /* label for metrics and logs; "" = unknown */
    int connection_attempts;    /* 1-3 (0 = CloudFront's default, 3) */
    long connection_timeout_ms; /* 1000-10000 (0 = 10000) */
    long response_timeout_ms;   /* 1000-120000 (0 = 30000) */
};

struct edge_origin_group {
    char id[EDGE_ID_MAX];
    char primary[EDGE_ID_MAX];   /* origin id */
    char secondary[EDGE_ID_MAX]; /* origin id, distinct from primary */
    int failover_codes[EDGE_FAILOVER_NALLOWED];
    size_t nfailover_codes;
};

struct edge_behavior {
    char path_pattern[256];   /* CloudFront wildcards: '*' any run, '?' one char; case-sensitive */
    char target[EDGE_ID_MAX]; /* origin id or origin-group id */
    enum edge_methods methods;
};

/* The general configuration. behaviors[] is searched in order, first match wins; the last entry
 * is the default cache behaviour and matches every path (its path_pattern is ignored). */
struct edge_config {
    struct edge_origin origins[EDGE_MAX_ORIGINS];
    size_t norigins;
    struct edge_origin_group groups[EDGE_MAX_GROUPS];
    size_t ngroups;
    struct edge_behavior behaviors[EDGE_MAX_BEHAVIORS];
    size_t nbehaviors;
};

/* The common case: origins "primary" and "secondary" (regions may be NULL) in group "group" with
 * the given failover codes and origin settings (both origins get the same), one default
 * behaviour on the group allowing GET, HEAD and OPTIONS. Validates like edge_config_validate(). */
cfdr_code edge_config_simple(struct edge_config *c, const char *primary_url,
                             const char *primary_region, const char *secondary_url,
                             const char *secondary_region, const int *codes, size_t ncodes,
                             int connection_attempts, long connection_timeout_ms,
                             long response_timeout_ms, cfdr_err *err);

/* Checks a config the way CloudFront would; every error names the field
 * ("behaviors[1].target: unknown origin or origin group \"x\"") and the allowed values. */
cfdr_code edge_config_validate(const struct edge_config *c, cfdr_err *err);

/* CloudFront path-pattern matching ('*' and '?', case-sensitive); a pattern without a leading
 * '/' matches as if it had one. Exposed for tests and for the config loader. */
int edge_path_match(const char *pattern, const char *path);

/* 1 when method is in the set. */
int edge_methods_allow(enum edge_methods m, const char *method);

struct edge_options {
    const struct edge_config *config; /* required; copied */
    const char *listen;               /* "HOST:PORT", port 0 = ephemeral; NULL = 127.0.0.1:0 */
    const char *admin_listen;         /* metrics and health; NULL = 127.0.0.1:0 */
    int workers;                      /* event loops; 0 = 1 */
    const char *node_id;              /* Via: 1.1 <node_id>.cfdr.local (cfdr-edge); NULL=local */
    size_t max_body_bytes;            /* request bodies kept for re-sending; 0 = 16 MiB */
    size_t stream_watermark;          /* pause the origin above this many queued bytes; 0=1MiB */
    size_t origin_keepalive; /* idle origin connections kept per worker and origin; 0 = 1024 */
    /* One JSON line per request (no newline). Called on worker threads, serialised. */
    void (*access_log)(void *ud, const char *json_line);
    void *access_log_ud;
    /* edge_run() only: called once, when both listeners are up. */
    void (*ready)(void *ud, int port, int admin_port);
    void *ready_ud;
    const struct cfdr_log *log; /* may be NULL */
};

struct edge;

/* Starts listening on base (worker 0) and, for workers > 1, on worker threads of its own. */
cfdr_code edge_new(struct event_base *base, const struct edge_options *o, struct edge **out,
                   cfdr_err *err);
/* The bound ports (useful with port 0). */
int edge_port(const struct edge *e);
int edge_admin_port(const struct edge *e);
/* Graceful stop: stops listening, aborts in-flight transfers, frees everything. Accepts NULL.
 * Call it from the thread that runs worker 0's base, outside event_base_dispatch or from one of
 * its callbacks. */
void edge_free(struct edge *e);

/* Creates its own base and workers, calls o->ready, and runs until *stop becomes nonzero or
 * SIGINT/SIGTERM arrives (returns CFDR_E_INTERRUPTED then; CFDR_OK when *stop was set). */
cfdr_code edge_run(const struct edge_options *o, volatile sig_atomic_t *stop, cfdr_err *err);

/* A consistent-enough snapshot of the counters, for tests and for local alarms. */
struct edge_stats {
    uint64_t requests; /* all viewer requests finished */
    uint64_t ok, failover_ok, origin_status, error_502, error_504, forbidden, bad_request, aborted;
    uint64_t attempts_primary, attempts_secondary;
    uint64_t connect_failed, timed_out; /* attempts */
    uint64_t failovers_status, failovers_connect, failovers_timeout;
    uint64_t in_flight;
    uint64_t stream_high_water; /* largest viewer output buffer seen while streaming, bytes */
};
void edge_stats(const struct edge *e, struct edge_stats *out);

/* The Prometheus text exposition, appended to out (what GET /metrics serves). */
cfdr_code edge_metrics_render(const struct edge *e, struct buf *out);

#endif
