/* servedby: see servedby.h. */
#include "servedby.h"

#include <math.h>
#include <string.h>

static const char *const method_names[] = {"none", "header", "fingerprint", "primary-health"};

const char *drill_servedby_method_name(enum drill_servedby_method m)
{
    return (unsigned)m < sizeof(method_names) / sizeof(method_names[0]) ? method_names[m] : NULL;
}

int drill_servedby_method_from_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof(method_names) / sizeof(method_names[0]); i++)
        if (strcmp(name, method_names[i]) == 0)
            return (int)i;
    return -1;
}

int drill_servedby_healthy(int status, int error, double latency_s, double response_timeout_s)
{
    if (error != 0 || status < 200 || status >= 400)
        return 0;
    return !(response_timeout_s > 0 && latency_s > response_timeout_s);
}

static unsigned long long pick(const struct drill_print *p, int which)
{
    return which == 0 ? p->body_hash : p->header_hash;
}

/* The one value of fingerprint `which` that every healthy direct probe carries; 0 when there
 * are too few of them or they disagree. */
static int stable_print(const struct drill_direct *d, size_t n, int which, unsigned long long *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!d[i].healthy)
            continue;
        if (k++ == 0)
            *out = pick(&d[i].print, which);
        else if (pick(&d[i].print, which) != *out)
            return 0;
    }
    return k >= DRILL_SERVEDBY_MIN_SAMPLES;
}

static int edge_success(const struct drill_probe *p)
{
    return !drill_probe_is_error(p);
}

/* Tries fingerprint `which` (0 body, 1 headers): 1 when it tells the origins apart and every
 * successful edge answer carries one of the two; then the probes are attributed. */
static int by_fingerprint(struct drill_probe *probes, const struct drill_print *prints, size_t n,
                          const struct drill_direct *prim, size_t np,
                          const struct drill_direct *sec, size_t ns, int which,
                          struct drill_servedby_result *out)
{
    unsigned long long fp, fs;
    if (!prints || !stable_print(prim, np, which, &fp) || !stable_print(sec, ns, which, &fs) ||
        fp == fs)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned long long v = pick(&prints[i], which);
        if (edge_success(&probes[i]) && v != fp && v != fs)
            return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!edge_success(&probes[i]))
            continue;
        probes[i].served_by =
            pick(&prints[i], which) == fp ? DRILL_ORIGIN_PRIMARY : DRILL_ORIGIN_SECONDARY;
        out->attributed++;
    }
    out->method = DRILL_SERVEDBY_FINGERPRINT;
    out->fingerprint = which == 0 ? "body" : "headers";
    return 1;
}

/* Index of the first direct probe sent after t (n when none). */
static size_t first_after(const struct drill_direct *d, size_t n, double t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d[mid].sent_s <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void by_primary_health(struct drill_probe *probes, size_t n, const struct drill_direct *prim,
                              size_t np, double max_gap_s, struct drill_servedby_result *out)
{
    out->method = DRILL_SERVEDBY_PRIMARY_HEALTH;
    for (size_t i = 0; i < n; i++) {
        struct drill_probe *p = &probes[i];
        double t = p->sent_s;
        size_t nx = first_after(prim, np, t);
        const struct drill_direct *prev = nx > 0 ? &prim[nx - 1] : NULL;
        const struct drill_direct *next = nx < np ? &prim[nx] : NULL;
        const struct drill_direct *use;
        int sure;

        if (!edge_success(p) || (!prev && !next))
            continue;
        if (prev && next) {
            use = t - prev->sent_s <= next->sent_s - t ? prev : next;
            sure = prev->healthy == next->healthy && next->sent_s - prev->sent_s <= max_gap_s;
        } else {
            use = prev ? prev : next;
            sure = fabs(use->sent_s - t) <= max_gap_s;
        }
        p->served_by = use->healthy ? DRILL_ORIGIN_PRIMARY : DRILL_ORIGIN_SECONDARY;
        out->attributed++;
        if (!sure)
            out->uncertain++;
    }
}

void drill_servedby_attribute(struct drill_probe *probes, const struct drill_print *prints,
                              size_t n, const struct drill_direct *prim, size_t np,
                              const struct drill_direct *sec, size_t ns, double max_gap_s,
                              struct drill_servedby_result *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        if (edge_success(&probes[i]) && probes[i].served_by != DRILL_ORIGIN_UNKNOWN) {
            out->method = DRILL_SERVEDBY_HEADER;
            return;
        }
    }
    if (np == 0)
        return;
    if (by_fingerprint(probes, prints, n, prim, np, sec, ns, 0, out) ||
        by_fingerprint(probes, prints, n, prim, np, sec, ns, 1, out))
        return;
    /* A primary never seen answering directly may be out of the prober's reach (a firewall,
     * a proxy) rather than down: its health says nothing then. */
    for (size_t i = 0; i < np; i++)
        if (prim[i].healthy) {
            by_primary_health(probes, n, prim, np, max_gap_s, out);
            return;
        }
}

double drill_servedby_first(const struct drill_direct *d, size_t n, double from_s, int healthy)
{
    for (size_t i = 0; i < n; i++)
        if (d[i].sent_s >= from_s && (d[i].healthy != 0) == (healthy != 0))
            return d[i].sent_s;
    return -1;
}

double drill_servedby_first_run(const struct drill_direct *d, size_t n, double from_s,
                                double until_s, int healthy, size_t run)
{
    size_t have = 0;
    double first = -1;
    if (run == 0)
        run = 1;
    for (size_t i = 0; i < n; i++) {
        if (d[i].sent_s < from_s)
            continue;
        if (until_s >= 0 && d[i].sent_s >= until_s)
            break;
        if ((d[i].healthy != 0) != (healthy != 0)) {
            have = 0;
            continue;
        }
        if (have++ == 0)
            first = d[i].sent_s;
        if (have >= run)
            return first;
    }
    return -1;
}
