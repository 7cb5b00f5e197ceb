/*
 * edge_int: what edge.c, edge_route.c and edge_metrics.c share inside the edge module. Not part of
 * the module's contract; nothing outside edge/ includes it.
 *
 * edge_route owns the compiled routing table (struct edge_routes, plain data, no heap);
 * edge_metrics owns the counters (struct edge_metrics, plain data, no heap): one per worker,
 * written only by that worker, summed by readers with edge_metrics_sum().
 */
#ifndef CFDR_EDGE_INT_H
#define CFDR_EDGE_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include "aws/buf.h"
#include "edge/edge.h"
#include "edge/failover.h"

/* ---- routing ---- */

struct edge_route {
    const struct edge_behavior *behavior; /* points into edge_routes.cfg */
    int is_default;
    int has_secondary;
    int origin[2];                         /* indexes into cfg.origins; [1] = -1 alone */
    struct edge_failover_policy policy[2]; /* group codes + that origin's attempts/timeouts */
};

struct edge_routes {
    struct edge_config cfg; /* a copy of the caller's config */
    struct edge_route routes[EDGE_MAX_BEHAVIORS];
    size_t nroutes;
    char host[EDGE_MAX_ORIGINS][256];          /* effective Host header value per origin */
    char base[EDGE_MAX_ORIGINS][EDGE_URL_MAX]; /* URL without a trailing '/' */
};

/* Validates c and compiles it into r. */
cfdr_code edge_routes_build(struct edge_routes *r, const struct edge_config *c, cfdr_err *err);
/* The route for a path (without the query string); never NULL for a built table. */
const struct edge_route *edge_routes_match(const struct edge_routes *r, const char *path);

/* ---- metrics ---- */

#define EDGE_NBUCKETS 16

enum edge_outcome {
    EDGE_OUT_OK = 0,
    EDGE_OUT_FAILOVER_OK,
    EDGE_OUT_ORIGIN_STATUS,
    EDGE_OUT_502,
    EDGE_OUT_504,
    EDGE_OUT_FORBIDDEN,
    EDGE_OUT_BAD_REQUEST,
    EDGE_OUT_ABORTED,
    EDGE_OUT_N
};

enum edge_result { EDGE_RES_RESPONSE = 0, EDGE_RES_CONNECT_FAILED, EDGE_RES_TIMED_OUT, EDGE_RES_N };

struct edge_origin_metrics {
    int used; /* set once before the workers start; read-only afterwards */
    _Atomic uint64_t attempts[EDGE_RES_N];
    _Atomic uint64_t buckets[EDGE_NBUCKETS]; /* per bucket (not cumulative), +Inf last */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_us;
};

struct edge_metrics {
    _Atomic uint64_t outcomes[EDGE_OUT_N];
    /* Viewer responses by status class: [0] none sent (aborted), [1]..[5] 1xx..5xx. What
     * CloudFront's 4xxErrorRate / 5xxErrorRate count (the local alarms read the 5xx). */
    _Atomic uint64_t status_class[6];
    _Atomic uint64_t failovers[4]; /* indexed by enum edge_reason */
    _Atomic int64_t in_flight;
    _Atomic uint64_t high_water;
    struct edge_origin_metrics origin[2][EDGE_MAX_ORIGINS]; /* [role][origin index] */
};

void edge_metrics_init(struct edge_metrics *m, const struct edge_routes *r);
void edge_metrics_attempt(struct edge_metrics *m, int role, int origin, enum edge_result res,
                          double latency_s);
void edge_metrics_outcome(struct edge_metrics *m, enum edge_outcome o);
/* Counts the status the viewer got (0 or out of range: none). */
void edge_metrics_status(struct edge_metrics *m, int status);
void edge_metrics_failover(struct edge_metrics *m, enum edge_reason why);
void edge_metrics_high_water(struct edge_metrics *m, uint64_t bytes);
void edge_metrics_in_flight(struct edge_metrics *m, int delta);
/* Adds m's counters to sum's (in_flight summed, high water the larger, used flags or'ed). */
void edge_metrics_sum(struct edge_metrics *sum, const struct edge_metrics *m);
cfdr_code edge_metrics_write(const struct edge_metrics *m, const struct edge_routes *r,
                             struct buf *out);

const char *edge_outcome_name(enum edge_outcome o);
const char *edge_result_name(enum edge_result r);

/* JSON string literal (with quotes) of s, escaped. */
cfdr_code edge_json_str(struct buf *b, const char *s);

#endif
