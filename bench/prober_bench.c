/* prober_bench: runs cfdr's drill prober (drills/prober) alone against a URL at a given rate
 * for a given time, then prints one JSON line: probes, errors, send lateness (p50/p99/max) and
 * the CPU the process used. Built and run by bench/drill.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "aws/clock.h"
#include "drills/prober.h"

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    struct drill_prober_options o = {0};
    struct drill_prober *p;
    struct drill_probe_record *recs;
    size_t n, errors = 0;
    double *late, cpu0, t0, wall;
    cfdr_err e;

    if (argc != 4) {
        fprintf(stderr, "usage: prober_bench URL RATE SECONDS\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    o.url = argv[1];
    o.rate = atof(argv[2]);
    o.timeout_s = 10;
    o.served_by_header = "x-region";
    o.primary_value = "us-east-1";
    o.secondary_value = "us-west-2";
    if (drill_prober_new(&o, &p, &e) != CFDR_OK) {
        fprintf(stderr, "prober_bench: %s\n", e.msg);
        return 2;
    }
    cpu0 = cpu_s();
    t0 = clock_mono_s();
    if (drill_prober_start(p, &e) != CFDR_OK) {
        fprintf(stderr, "prober_bench: %s\n", e.msg);
        return 2;
    }
    clock_sleep_s(atof(argv[3]));
    drill_prober_stop(p, &e);
    wall = clock_mono_s() - t0;
    if (drill_prober_snapshot(p, &recs, &n, &e) != CFDR_OK || n == 0) {
        fprintf(stderr, "prober_bench: no probes\n");
        return 2;
    }
    late = malloc(n * sizeof(*late));
    for (size_t i = 0; i < n; i++) {
        late[i] = recs[i].lateness_s;
        errors += drill_probe_is_error(&recs[i].probe);
    }
    qsort(late, n, sizeof(*late), cmp);
    printf("{\"client\":\"cfdr-prober\",\"probes\":%zu,\"errors\":%zu,\"lateness_p50_ms\":%.3f,"
           "\"lateness_p99_ms\":%.3f,\"lateness_max_ms\":%.3f,\"cpu_s\":%.3f,\"wall_s\":%.3f,"
           "\"cpu_pct_of_core\":%.1f}\n",
           n, errors, late[n / 2] * 1e3, late[(size_t)((double)n * 0.99)] * 1e3, late[n - 1] * 1e3,
           cpu_s() - cpu0, wall, 100.0 * (cpu_s() - cpu0) / wall);
    free(late);
    free(recs);
    drill_prober_free(p);
    curl_global_cleanup();
    return 0;
}
