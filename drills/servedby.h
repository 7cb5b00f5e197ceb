/*
 * servedby: which origin served each probe through the edge when the origins do not say so —
 * pure logic, no I/O (PRODUCT.md section 4).
 *
 * The local stand-ins name their region in a response header (drill.served_by_header, e.g.
 * x-region); App Runner's public sample image does not. A drill then also probes both origins
 * directly (drills/prober with a fixed origin) and attributes each successful edge probe:
 *
 *   header          the edge's answers carried the header: nothing to infer.
 *   fingerprint     the two origins' direct answers differ in a stable way: every successful
 *                   direct answer of the primary has one body hash (or one hash of its stable
 *                   headers), every one of the secondary another. An edge answer is
 *                   attributed to the origin whose fingerprint it carries. Used only when every
 *                   successful edge answer carries one of the two (an edge that rewrites the
 *                   answer would make the fingerprint unreliable).
 *   primary-health  else, by the primary's directly observed health when the edge probe was
 *                   sent: an origin group always tries the primary first, so a primary that
 *                   answers 2xx/3xx in time served the probe, and a failing primary means the
 *                   edge's success came from the secondary. Exact except near a change of the
 *                   primary's health: a probe whose neighbouring direct probes of the primary
 *                   disagree (or lie more than max_gap_s apart) is attributed to the nearer one
 *                   and counted as uncertain. Not used when no direct probe of the primary
 *                   ever succeeded (it may be out of the prober's reach rather than down).
 *
 * The direct probes of the primary also say when it really stopped or started serving
 * (drill_servedby_first): App Runner's PauseService and ResumeService are asynchronous.
 *
 * Ownership: every array is the caller's; results are plain structs.
 */
#ifndef CFDR_DRILL_SERVEDBY_H
#define CFDR_DRILL_SERVEDBY_H

#include <stddef.h>

#include "drills/analysis.h"

enum drill_servedby_method {
    DRILL_SERVEDBY_NONE = 0, /* nothing to go on (no header, no usable direct probes) */
    DRILL_SERVEDBY_HEADER,
    DRILL_SERVEDBY_FINGERPRINT,
    DRILL_SERVEDBY_PRIMARY_HEALTH
};

/* At least this many successful direct answers of each origin make a fingerprint. */
#define DRILL_SERVEDBY_MIN_SAMPLES 3

/* An answer's fingerprint (drills/prober's body_hash and header_hash). */
struct drill_print {
    unsigned long long body_hash, header_hash;
};

/* A direct probe of one origin, ordered by sent_s in arrays. */
struct drill_direct {
    double sent_s;
    int healthy; /* drill_servedby_healthy() of its answer */
    struct drill_print print;
};

struct drill_servedby_result {
    enum drill_servedby_method method;
    const char *fingerprint; /* "body" or "headers" with DRILL_SERVEDBY_FINGERPRINT, else NULL */
    size_t attributed;       /* edge probes this call attributed */
    size_t uncertain;        /* of those, attributed near a change of the primary's health */
};

/* "header", "fingerprint", "primary-health", "none"; NULL when out of range. */
const char *drill_servedby_method_name(enum drill_servedby_method m);
/* The inverse; -1 for an unknown name. */
int drill_servedby_method_from_name(const char *name);

/* A direct answer that shows the origin serving: 2xx/3xx, no transport error, and (when
 * response_timeout_s > 0) no slower than the response timeout, after which CloudFront gives up
 * on it. 2xx/3xx are never failover codes (CloudFront allows only 4xx/5xx there). */
int drill_servedby_healthy(int status, int error, double latency_s, double response_timeout_s);

/* Attributes the successful edge probes (prints[i] is probes[i]'s fingerprint) whose served_by
 * is unknown. If any successful edge probe already has an origin, the method is header and
 * nothing changes. prim/sec are the direct probes of each origin, sorted by sent_s (sec may be
 * empty: then no fingerprint). */
void drill_servedby_attribute(struct drill_probe *probes, const struct drill_print *prints,
                              size_t n, const struct drill_direct *prim, size_t np,
                              const struct drill_direct *sec, size_t ns, double max_gap_s,
                              struct drill_servedby_result *out);

/* Send time of the first direct probe sent at or after from_s whose health is `healthy` (0 or
 * 1); -1 when there is none. */
double drill_servedby_first(const struct drill_direct *d, size_t n, double from_s, int healthy);

/* Consecutive direct probes of one health that make a change of the primary's health (the
 * outage start, the failback start): one failed probe after a PauseService request may be a
 * transient error while the service still runs. */
#define DRILL_SERVEDBY_CHANGE_RUN 3

/* Send time of the first of `run` consecutive direct probes of health `healthy`, all sent in
 * [from_s, until_s) (until_s < 0: no upper bound); -1 when there is no such run. A run cut
 * short by until_s or by the end of the probes does not count. */
double drill_servedby_first_run(const struct drill_direct *d, size_t n, double from_s,
                                double until_s, int healthy, size_t run);

#endif
