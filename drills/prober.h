/*
 * prober: sends probes through the edge at a steady rate and records each one.
 *
 * The prober runs on its own thread with its own libevent loop and libcurl multi handle
 * (curl's hiperfifo pattern), so the drill's orchestration (which may block in AWS calls such
 * as PauseService while waiting for PAUSED) never disturbs the probe schedule. Probe i is due
 * at start + i / rate on the monotonic clock; sending it late is recorded as lateness, never
 * skipped, so the rate is honest.
 *
 * Which origin served a probe comes from the `served_by_header` response header (the local
 * stand-ins send x-region): its value is compared with the primary's and secondary's values.
 * A prober probing one origin directly (fixed_origin) attributes every answer to it. Every
 * record also carries a fingerprint of the answer (a hash of the body and one of the headers
 * that do not change per request), from which drills/servedby tells origins apart when they
 * send no such header.
 *
 * Thread safety: drill_prober_start/stop and drill_prober_snapshot may be called from any one
 * thread while the prober runs; the records are guarded by a mutex.
 *
 * Ownership: drill_prober_new allocates; drill_prober_free stops the thread if needed and
 * frees everything (NULL accepted). Option strings are copied.
 */
#ifndef CFDR_DRILL_PROBER_H
#define CFDR_DRILL_PROBER_H

#include <stddef.h>

#include "aws/err.h"
#include "aws/log.h"
#include "drills/analysis.h"

struct drill_prober_options {
    const char *url;              /* what to probe (the edge) */
    double rate;                  /* probes per second, > 0 */
    double timeout_s;             /* a probe without an answer by then is a viewer error */
    double connect_timeout_s;     /* a connect not done by then fails the probe; 0: timeout_s */
    const char *served_by_header; /* e.g. "x-region"; NULL: unknown origin */
    const char *primary_value;    /* header value meaning "primary", e.g. "us-east-1" */
    const char *secondary_value;
    /* Probing one origin directly: answers are attributed to it (served_by_header unused). */
    enum drill_origin fixed_origin;
    /* curl CURLOPT_CONNECT_TO entries ("HOST:PORT:CONNECT-HOST:CONNECT-PORT"), for pointing
     * a real distribution domain at a local edge in offline AWS-mode tests; may be NULL. */
    const char *const *connect_to;
    size_t nconnect_to;
    const struct cfdr_log *log;
};

/* A probe as recorded, with its scheduling. */
struct drill_probe_record {
    struct drill_probe probe; /* times relative to the prober's epoch */
    double lateness_s;        /* actual send time - due time */
    long curl_code;           /* CURLcode, 0 on success */
    /* The answer's fingerprint (FNV-1a, 64 bits): of the whole body, and of the response
     * headers that are the same on every answer (drill_prober_header_is_volatile() excludes the
     * others), combined independently of their order. 0 when there was no answer. */
    unsigned long long body_hash, header_hash;
};

/* 1 for a header (name, any case) that changes per request or that an edge adds or rewrites
 * (Date, Via, X-Amz-Cf-Id, Content-Length, ...): such headers are left out of header_hash. */
int drill_prober_header_is_volatile(const char *name, size_t len);

struct drill_prober;

cfdr_code drill_prober_new(const struct drill_prober_options *o, struct drill_prober **out,
                           cfdr_err *err);
/* Starts the thread; probes begin at once. The epoch (time 0 of every record) is now. */
cfdr_code drill_prober_start(struct drill_prober *p, cfdr_err *err);
/* Seconds since the epoch on the prober's clock (use it to stamp the outage start). */
double drill_prober_now(const struct drill_prober *p);
/* Stops sending, waits (bounded by timeout_s) for probes in flight, joins the thread. */
cfdr_code drill_prober_stop(struct drill_prober *p, cfdr_err *err);
/* Copies the completed records so far, ordered by send time. *out is malloc'd (free()). */
cfdr_code drill_prober_snapshot(struct drill_prober *p, struct drill_probe_record **out, size_t *n,
                                cfdr_err *err);
/* Counts so far, cheap, for progress lines. */
void drill_prober_counts(struct drill_prober *p, size_t *done, size_t *errors, size_t *primary,
                         size_t *secondary);
/* Landing time (seconds since the epoch) at which the current unbroken run of successful
 * probes served by the primary began, in completion order; -1 when the last completed probe
 * was an error or served by another origin. Drives "the primary serves again". */
double drill_prober_primary_streak_start(struct drill_prober *p);
/* Lateness of probe sends: the largest and the 99th percentile so far. */
void drill_prober_lateness(struct drill_prober *p, double *max_s, double *p99_s);
void drill_prober_free(struct drill_prober *p);

#endif
