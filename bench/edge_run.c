/*
 * edge_run: a minimal foreground driver of the edge engine for benchmarks (bench/edge.sh), until
 * the `cfdr edge` command exists. Not part of the product build; bench/edge.sh compiles it
 * against build/libcfdr_core.a.
 *
 *   edge_run LISTEN PRIMARY_URL SECONDARY_URL [WORKERS] [ADMIN]
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "edge/edge.h"

static void ready(void *ud, int port, int admin)
{
    (void)ud;
    printf("{\"port\": %d, \"admin\": %d}\n", port, admin);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static const int codes[] = {403, 404, 500, 502, 503, 504};
    static struct edge_config cfg;
    struct edge_options o = {0};
    volatile sig_atomic_t stop = 0;
    cfdr_err err;
    cfdr_code rc;

    if (argc < 4) {
        fprintf(stderr, "usage: edge_run LISTEN PRIMARY_URL SECONDARY_URL [WORKERS] [ADMIN]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (edge_config_simple(&cfg, argv[2], "primary", argv[3], "secondary", codes, 6, 3, 10000,
                           30000, &err) != CFDR_OK) {
        fprintf(stderr, "edge_run: %s\n", err.msg);
        return 2;
    }
    o.config = &cfg;
    o.listen = argv[1];
    o.workers = argc > 4 ? atoi(argv[4]) : 1;
    o.admin_listen = argc > 5 ? argv[5] : NULL;
    o.ready = ready;
    rc = edge_run(&o, &stop, &err);
    curl_global_cleanup();
    if (rc != CFDR_OK && rc != CFDR_E_INTERRUPTED) {
        fprintf(stderr, "edge_run: %s\n", err.msg);
        return 1;
    }
    return 0;
}
