/*
 * analysis: what a drill's probe timeline means — pure statistics, no I/O.
 *
 * A drill sends probes through the edge at a steady rate and records each one (struct
 * drill_probe). This module turns that timeline into the figures PRODUCT.md section 4 names:
 * viewer-visible errors, which origin served how many probes, failover_seconds (outage start to
 * the first probe served by the secondary), steady_seconds (outage start to the first whole
 * second in which every probe was served by the secondary), failback_seconds, and latency
 * percentiles before and during the outage.
 *
 * Times are seconds relative to one origin (the drill's start) on a monotonic clock. A probe
 * "lands" when its answer arrives (sent + latency): that is when a viewer sees which origin
 * served it, so switch times are measured on landing times. A blackholed primary therefore
 * shows its true cost (attempts x connection timeout), not the instant the probe was sent.
 *
 * Ownership: the caller owns the probe array; results are plain structs, nothing to free.
 */
#ifndef CFDR_DRILL_ANALYSIS_H
#define CFDR_DRILL_ANALYSIS_H

#include <stddef.h>

enum drill_origin { DRILL_ORIGIN_UNKNOWN = 0, DRILL_ORIGIN_PRIMARY, DRILL_ORIGIN_SECONDARY };

struct drill_probe {
    double sent_s;    /* when the probe was sent */
    double latency_s; /* until the answer (or the error) */
    int status;       /* HTTP status, 0 when no answer */
    int error;        /* 0, or a transport error code (timeout, refused...) */
    enum drill_origin served_by;
};

/* A viewer-visible error: no 2xx/3xx answer in time. */
int drill_probe_is_error(const struct drill_probe *p);

struct drill_latency {
    size_t count;
    double p50_s, p99_s, max_s; /* 0 when count is 0 */
};

struct drill_outage_figures {
    size_t probes;
    size_t client_errors;
    size_t served_primary, served_secondary, served_unknown;
    int failed_over;         /* a probe sent after the outage started was served by the secondary */
    double failover_seconds; /* -1 when it did not fail over */
    double steady_seconds;   /* -1 when no whole second was all-secondary */
    struct drill_latency before, during;
};

struct drill_failback_figures {
    size_t probes;
    size_t client_errors;
    size_t served_primary, served_secondary, served_unknown;
    int failed_back;         /* a probe sent after resume_s was served by the primary */
    double failback_seconds; /* resume start to the first probe served by the primary; -1 */
    struct drill_latency latency;
};

/* Nearest-rank percentile (0 < q <= 1) of an array of values; sorts a copy. Returns 0 for
 * n == 0 and -1 when memory runs out. */
double drill_percentile(const double *values, size_t n, double q);

/* Figures of an outage drill whose fault was injected at outage_s. Returns 0, or -1 when
 * memory runs out. */
int drill_analyze_outage(const struct drill_probe *probes, size_t n, double outage_s,
                         struct drill_outage_figures *out);

/* Figures of a failback whose resume began at resume_s. Returns 0, or -1 on out of memory. */
int drill_analyze_failback(const struct drill_probe *probes, size_t n, double resume_s,
                           struct drill_failback_figures *out);

#endif
