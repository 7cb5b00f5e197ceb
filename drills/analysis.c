/* analysis: see analysis.h. */
#include "analysis.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int drill_probe_is_error(const struct drill_probe *p)
{
    return p->error != 0 || p->status < 200 || p->status >= 400;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double drill_percentile(const double *values, size_t n, double q)
{
    double *v, r;
    size_t rank;
    if (n == 0)
        return 0;
    v = malloc(n * sizeof(*v));
    if (!v)
        return -1;
    memcpy(v, values, n * sizeof(*v));
    qsort(v, n, sizeof(*v), cmp_double);
    rank = (size_t)ceil(q * (double)n); /* nearest rank: 1-based */
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    r = v[rank - 1];
    free(v);
    return r;
}

static double landed(const struct drill_probe *p)
{
    return p->sent_s + p->latency_s;
}

/* Latency of the probes whose send time is in [from, to). */
static int latency_between(const struct drill_probe *probes, size_t n, double from, double to,
                           struct drill_latency *out)
{
    double *v = malloc((n ? n : 1) * sizeof(*v));
    size_t k = 0;
    if (!v)
        return -1;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        if (probes[i].sent_s < from || probes[i].sent_s >= to)
            continue;
        v[k++] = probes[i].latency_s;
        if (probes[i].latency_s > out->max_s)
            out->max_s = probes[i].latency_s;
    }
    out->count = k;
    out->p50_s = drill_percentile(v, k, 0.50);
    out->p99_s = drill_percentile(v, k, 0.99);
    free(v);
    return (out->p50_s < 0 || out->p99_s < 0) ? -1 : 0;
}

static void count_origins(const struct drill_probe *p, size_t *prim, size_t *sec, size_t *unk)
{
    if (drill_probe_is_error(p))
        return;
    if (p->served_by == DRILL_ORIGIN_PRIMARY)
        (*prim)++;
    else if (p->served_by == DRILL_ORIGIN_SECONDARY)
        (*sec)++;
    else
        (*unk)++;
}

/* The first whole second after start (windows [start+k, start+k+1) of landing time) in which
 * at least one probe landed and every probe that landed was a success served by `want`. */
static double first_steady_second(const struct drill_probe *probes, size_t n, double start,
                                  enum drill_origin want)
{
    double last = start;
    for (size_t i = 0; i < n; i++)
        if (probes[i].sent_s >= start && landed(&probes[i]) > last)
            last = landed(&probes[i]);
    for (long k = 0; start + (double)k <= last; k++) {
        double lo = start + (double)k, hi = lo + 1.0;
        size_t in = 0, good = 0;
        for (size_t i = 0; i < n; i++) {
            const struct drill_probe *p = &probes[i];
            double t = landed(p);
            if (p->sent_s < start || t < lo || t >= hi)
                continue;
            in++;
            if (!drill_probe_is_error(p) && p->served_by == want)
                good++;
        }
        if (in > 0 && good == in)
            return (double)k;
    }
    return -1;
}

/* Time from start to the landing of the first probe sent at or after start that was served
 * successfully by `want`; -1 when none. */
static double first_served_by(const struct drill_probe *probes, size_t n, double start,
                              enum drill_origin want)
{
    double best = -1;
    for (size_t i = 0; i < n; i++) {
        const struct drill_probe *p = &probes[i];
        if (p->sent_s < start || drill_probe_is_error(p) || p->served_by != want)
            continue;
        if (best < 0 || landed(p) < best)
            best = landed(p);
    }
    return best < 0 ? -1 : best - start;
}

int drill_analyze_outage(const struct drill_probe *probes, size_t n, double outage_s,
                         struct drill_outage_figures *out)
{
    memset(out, 0, sizeof(*out));
    out->probes = n;
    for (size_t i = 0; i < n; i++) {
        if (drill_probe_is_error(&probes[i]))
            out->client_errors++;
        count_origins(&probes[i], &out->served_primary, &out->served_secondary,
                      &out->served_unknown);
    }
    out->failover_seconds = first_served_by(probes, n, outage_s, DRILL_ORIGIN_SECONDARY);
    out->failed_over = out->failover_seconds >= 0;
    out->steady_seconds = first_steady_second(probes, n, outage_s, DRILL_ORIGIN_SECONDARY);
    if (latency_between(probes, n, -INFINITY, outage_s, &out->before) ||
        latency_between(probes, n, outage_s, INFINITY, &out->during))
        return -1;
    return 0;
}

int drill_analyze_failback(const struct drill_probe *probes, size_t n, double resume_s,
                           struct drill_failback_figures *out)
{
    memset(out, 0, sizeof(*out));
    out->probes = n;
    for (size_t i = 0; i < n; i++) {
        if (drill_probe_is_error(&probes[i]))
            out->client_errors++;
        count_origins(&probes[i], &out->served_primary, &out->served_secondary,
                      &out->served_unknown);
    }
    out->failback_seconds = first_served_by(probes, n, resume_s, DRILL_ORIGIN_PRIMARY);
    out->failed_back = out->failback_seconds >= 0;
    return latency_between(probes, n, -INFINITY, INFINITY, &out->latency);
}
