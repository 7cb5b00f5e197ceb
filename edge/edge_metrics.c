/* edge_metrics: the edge's counters and their Prometheus text exposition (format 0.0.4).
 *
 * Each worker owns one struct edge_metrics and is its only writer, so an update is a relaxed load
 * and store (no locked instruction, no cache line shared with another worker); readers on other
 * threads load the counters atomically and sum the workers' (edge_metrics_sum). */
#include "edge_int.h"

#include <stdio.h>
#include <string.h>

/* Upper bounds in seconds, 1 ms to 60 s; the last bucket is +Inf. */
static const double bucket_le[EDGE_NBUCKETS - 1] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

static const char *const role_name[2] = {"primary", "secondary"};

const char *edge_outcome_name(enum edge_outcome o)
{
    static const char *const names[EDGE_OUT_N] = {"ok",          "failover_ok", "origin_status",
                                                  "error_502",   "error_504",   "forbidden",
                                                  "bad_request", "aborted"};
    return (unsigned)o < EDGE_OUT_N ? names[o] : "unknown";
}

const char *edge_result_name(enum edge_result r)
{
    static const char *const names[EDGE_RES_N] = {"response", "connect_failed", "timed_out"};
    return (unsigned)r < EDGE_RES_N ? names[r] : "unknown";
}

void edge_metrics_init(struct edge_metrics *m, const struct edge_routes *r)
{
    memset(m, 0, sizeof(*m));
    for (size_t i = 0; i < r->nroutes; i++) {
        m->origin[0][r->routes[i].origin[0]].used = 1;
        if (r->routes[i].has_secondary)
            m->origin[1][r->routes[i].origin[1]].used = 1;
    }
}

static uint64_t ld(const _Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

/* v += n by the counter's only writer. */
static void bump(_Atomic uint64_t *v, uint64_t n)
{
    atomic_store_explicit(v, ld(v) + n, memory_order_relaxed);
}

void edge_metrics_attempt(struct edge_metrics *m, int role, int origin, enum edge_result res,
                          double latency_s)
{
    struct edge_origin_metrics *om = &m->origin[role ? 1 : 0][origin];
    size_t b = 0;

    bump(&om->attempts[res], 1);
    if (res != EDGE_RES_RESPONSE)
        return;
    while (b < EDGE_NBUCKETS - 1 && latency_s > bucket_le[b])
        b++;
    bump(&om->buckets[b], 1);
    bump(&om->count, 1);
    bump(&om->sum_us, (uint64_t)(latency_s * 1e6));
}

void edge_metrics_outcome(struct edge_metrics *m, enum edge_outcome o)
{
    bump(&m->outcomes[o], 1);
}

void edge_metrics_status(struct edge_metrics *m, int status)
{
    bump(&m->status_class[status >= 100 && status <= 599 ? status / 100 : 0], 1);
}

void edge_metrics_failover(struct edge_metrics *m, enum edge_reason why)
{
    bump(&m->failovers[why & 3], 1);
}

void edge_metrics_in_flight(struct edge_metrics *m, int delta)
{
    atomic_store_explicit(&m->in_flight,
                          atomic_load_explicit(&m->in_flight, memory_order_relaxed) + delta,
                          memory_order_relaxed);
}

void edge_metrics_high_water(struct edge_metrics *m, uint64_t bytes)
{
    if (bytes > ld(&m->high_water))
        atomic_store_explicit(&m->high_water, bytes, memory_order_relaxed);
}

void edge_metrics_sum(struct edge_metrics *sum, const struct edge_metrics *m)
{
    for (int i = 0; i < EDGE_OUT_N; i++)
        bump(&sum->outcomes[i], ld(&m->outcomes[i]));
    for (int i = 0; i < 6; i++)
        bump(&sum->status_class[i], ld(&m->status_class[i]));
    for (int i = 0; i < 4; i++)
        bump(&sum->failovers[i], ld(&m->failovers[i]));
    atomic_store_explicit(&sum->in_flight,
                          atomic_load_explicit(&sum->in_flight, memory_order_relaxed) +
                              atomic_load_explicit(&m->in_flight, memory_order_relaxed),
                          memory_order_relaxed);
    edge_metrics_high_water(sum, ld(&m->high_water));
    for (int role = 0; role < 2; role++)
        for (int o = 0; o < EDGE_MAX_ORIGINS; o++) {
            struct edge_origin_metrics *d = &sum->origin[role][o];
            const struct edge_origin_metrics *s = &m->origin[role][o];
            d->used |= s->used;
            for (int i = 0; i < EDGE_RES_N; i++)
                bump(&d->attempts[i], ld(&s->attempts[i]));
            for (int i = 0; i < EDGE_NBUCKETS; i++)
                bump(&d->buckets[i], ld(&s->buckets[i]));
            bump(&d->count, ld(&s->count));
            bump(&d->sum_us, ld(&s->sum_us));
        }
}

/* A label value as Prometheus wants it: backslash, quote and newline escaped. */
static cfdr_code label_value(struct buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            CFDR_TRY(buf_addc(b, '\\'));
        if (*s == '\n')
            CFDR_TRY(buf_adds(b, "\\n"));
        else
            CFDR_TRY(buf_addc(b, *s));
    }
    return CFDR_OK;
}

static cfdr_code origin_labels(struct buf *b, const struct edge_routes *r, int role, int i)
{
    CFDR_TRY(buf_addf(b, "origin=\"%s\",origin_id=\"", role_name[role]));
    CFDR_TRY(label_value(b, r->cfg.origins[i].id));
    CFDR_TRY(buf_adds(b, "\",region=\""));
    CFDR_TRY(label_value(b, r->cfg.origins[i].region));
    return buf_addc(b, '"');
}

static cfdr_code write_attempts(const struct edge_metrics *m, const struct edge_routes *r,
                                struct buf *out)
{
    CFDR_TRY(buf_adds(out, "# HELP cfdr_edge_origin_attempts_total Attempts to reach an origin, "
                           "by origin role and result.\n"
                           "# TYPE cfdr_edge_origin_attempts_total counter\n"));
    for (int role = 0; role < 2; role++)
        for (size_t i = 0; i < r->cfg.norigins; i++) {
            const struct edge_origin_metrics *om = &m->origin[role][i];
            if (!om->used)
                continue;
            for (int res = 0; res < EDGE_RES_N; res++) {
                CFDR_TRY(buf_adds(out, "cfdr_edge_origin_attempts_total{"));
                CFDR_TRY(origin_labels(out, r, role, (int)i));
                CFDR_TRY(buf_addf(out, ",result=\"%s\"} %llu\n",
                                  edge_result_name((enum edge_result)res),
                                  (unsigned long long)ld(&om->attempts[res])));
            }
        }
    return CFDR_OK;
}

static cfdr_code write_latency(const struct edge_metrics *m, const struct edge_routes *r,
                               struct buf *out)
{
    CFDR_TRY(buf_adds(out, "# HELP cfdr_edge_origin_latency_seconds Time from the start of an "
                           "attempt to the origin's complete response header block.\n"
                           "# TYPE cfdr_edge_origin_latency_seconds histogram\n"));
    for (int role = 0; role < 2; role++)
        for (size_t i = 0; i < r->cfg.norigins; i++) {
            const struct edge_origin_metrics *om = &m->origin[role][i];
            uint64_t cum = 0;
            if (!om->used)
                continue;
            for (int b = 0; b < EDGE_NBUCKETS; b++) {
                cum += ld(&om->buckets[b]);
                CFDR_TRY(buf_adds(out, "cfdr_edge_origin_latency_seconds_bucket{"));
                CFDR_TRY(origin_labels(out, r, role, (int)i));
                if (b < EDGE_NBUCKETS - 1)
                    CFDR_TRY(
                        buf_addf(out, ",le=\"%g\"} %llu\n", bucket_le[b], (unsigned long long)cum));
                else
                    CFDR_TRY(buf_addf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum));
            }
            CFDR_TRY(buf_adds(out, "cfdr_edge_origin_latency_seconds_sum{"));
            CFDR_TRY(origin_labels(out, r, role, (int)i));
            CFDR_TRY(buf_addf(out, "} %.6f\n", (double)ld(&om->sum_us) / 1e6));
            CFDR_TRY(buf_adds(out, "cfdr_edge_origin_latency_seconds_count{"));
            CFDR_TRY(origin_labels(out, r, role, (int)i));
            /* count equals the +Inf bucket, which is what Prometheus requires */
            CFDR_TRY(buf_addf(out, "} %llu\n", (unsigned long long)cum));
        }
    return CFDR_OK;
}

cfdr_code edge_metrics_write(const struct edge_metrics *m, const struct edge_routes *r,
                             struct buf *out)
{
    static const enum edge_reason reasons[3] = {EDGE_REASON_STATUS, EDGE_REASON_CONNECT,
                                                EDGE_REASON_TIMEOUT};

    CFDR_TRY(buf_adds(out, "# HELP cfdr_edge_requests_total Viewer requests by outcome.\n"
                           "# TYPE cfdr_edge_requests_total counter\n"));
    for (int o = 0; o < EDGE_OUT_N; o++)
        CFDR_TRY(buf_addf(out, "cfdr_edge_requests_total{outcome=\"%s\"} %llu\n",
                          edge_outcome_name((enum edge_outcome)o),
                          (unsigned long long)ld(&m->outcomes[o])));
    CFDR_TRY(buf_adds(out, "# HELP cfdr_edge_responses_total Viewer requests by the status "
                           "class of the response (none: no response was sent).\n"
                           "# TYPE cfdr_edge_responses_total counter\n"));
    for (int c = 0; c < 6; c++) {
        char cls[8];
        snprintf(cls, sizeof(cls), c ? "%dxx" : "none", c);
        CFDR_TRY(buf_addf(out, "cfdr_edge_responses_total{status_class=\"%s\"} %llu\n", cls,
                          (unsigned long long)ld(&m->status_class[c])));
    }
    CFDR_TRY(write_attempts(m, r, out));
    CFDR_TRY(buf_adds(out, "# HELP cfdr_edge_failovers_total Requests sent to the secondary, by "
                           "reason.\n"
                           "# TYPE cfdr_edge_failovers_total counter\n"));
    for (int i = 0; i < 3; i++)
        CFDR_TRY(buf_addf(out, "cfdr_edge_failovers_total{reason=\"%s\"} %llu\n",
                          edge_failover_reason_name(reasons[i]),
                          (unsigned long long)ld(&m->failovers[reasons[i]])));
    CFDR_TRY(write_latency(m, r, out));
    CFDR_TRY(buf_addf(out,
                      "# HELP cfdr_edge_requests_in_flight Viewer requests being served.\n"
                      "# TYPE cfdr_edge_requests_in_flight gauge\n"
                      "cfdr_edge_requests_in_flight %lld\n"
                      "# HELP cfdr_edge_stream_buffer_high_water_bytes Largest viewer output "
                      "buffer seen while streaming.\n"
                      "# TYPE cfdr_edge_stream_buffer_high_water_bytes gauge\n"
                      "cfdr_edge_stream_buffer_high_water_bytes %llu\n",
                      (long long)atomic_load_explicit(&m->in_flight, memory_order_relaxed),
                      (unsigned long long)ld(&m->high_water)));
    return CFDR_OK;
}

cfdr_code edge_json_str(struct buf *b, const char *s)
{
    CFDR_TRY(buf_addc(b, '"'));
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            CFDR_TRY(buf_addc(b, '\\'));
            CFDR_TRY(buf_addc(b, (char)*p));
        } else if (*p < 0x20 || *p >= 0x7f) {
            /* bytes >= 0x80 too: a raw path is not guaranteed to be UTF-8 */
            CFDR_TRY(buf_addf(b, "\\u%04x", *p));
        } else {
            CFDR_TRY(buf_addc(b, (char)*p));
        }
    }
    return buf_addc(b, '"');
}
