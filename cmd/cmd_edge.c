/* cmd_edge: `cfdr edge` — the local edge in the foreground. Origins and failover settings come
 * from a CloudFront DistributionConfig file (--distribution-config, with --origin-map for each
 * origin), or from the flags, else from cfdr.json's origin_group, else CloudFront's defaults.
 * The JSON access log goes to stdout, to --access-log FILE, or nowhere with --access-log off. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/config.h"
#include "cmd/daemon.h"
#include "edge/distconfig.h"
#include "edge/edge.h"

struct edge_cli {
    struct cfdr_app *app;
    FILE *access;
    cfdr_err *err;
    cfdr_code ready_rc;
};

static void on_access(void *ud, const char *line)
{
    struct edge_cli *c = ud;
    fputs(line, c->access);
    fputc('\n', c->access);
    fflush(c->access);
}

static void on_ready(void *ud, int port, int admin_port)
{
    struct edge_cli *c = ud;
    char line[96];
    snprintf(line, sizeof(line), "{\"port\":%d,\"admin_port\":%d}", port, admin_port);
    app_say(c->app, "edge listening on http://127.0.0.1:%d/ (metrics: http://127.0.0.1:%d/metrics)",
            port, admin_port);
    c->ready_rc = daemon_announce_ready(line, c->err);
}

/* "403,404,500" -> codes; every code must be one CloudFront accepts. */
static cfdr_code parse_codes(const char *list, int *codes, size_t *n, cfdr_err *err)
{
    const char *p = list;
    *n = 0;
    while (*p) {
        char *end;
        long v;
        errno = 0;
        v = strtol(p, &end, 10);
        if (errno || end == p || (*end && *end != ',') || !edge_failover_code_allowed((int)v))
            return err_set(err, CFDR_E_USAGE,
                           "--failover-codes: '%s' is not a list of allowed codes (allowed: 400, "
                           "403, 404, 416, 500, 502, 503, 504), e.g. 403,404,500,502,503,504",
                           list);
        for (size_t i = 0; i < *n; i++)
            if (codes[i] == (int)v)
                return err_set(err, CFDR_E_USAGE, "--failover-codes: %ld is listed twice", v);
        if (*n == EDGE_FAILOVER_NALLOWED)
            return err_set(err, CFDR_E_USAGE, "--failover-codes: too many codes");
        codes[(*n)++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (*n == 0)
        return err_set(err, CFDR_E_USAGE, "--failover-codes: at least one code is needed");
    return CFDR_OK;
}

/* Flags that set what a DistributionConfig file sets, and where the file sets it. */
static const struct {
    const char *flag;
    const char *field;
} file_fields[] = {
    {"failover-codes", "OriginGroups.Items[].FailoverCriteria.StatusCodes"},
    {"connection-timeout", "Origins.Items[].ConnectionTimeout"},
    {"connection-attempts", "Origins.Items[].ConnectionAttempts"},
    {"response-timeout", "Origins.Items[].CustomOriginConfig.OriginReadTimeout"},
    {"primary-region", "Origins.Items[].DomainName (<id>.<region>.awsapprunner.com)"},
    {"secondary-region", "Origins.Items[].DomainName (<id>.<region>.awsapprunner.com)"},
};

/* --distribution-config FILE with its --origin-map flags. */
static cfdr_code config_from_distribution(const struct cli_invocation *inv, struct edge_config *ec,
                                          cfdr_err *err)
{
    struct distconfig_map *map;
    cfdr_code rc = CFDR_OK;

    if (cli_has(inv, "primary") || cli_has(inv, "secondary"))
        return err_set(err, CFDR_E_USAGE,
                       "--distribution-config and --primary/--secondary are mutually exclusive: "
                       "the origins come from the file (point them at local addresses with "
                       "--origin-map DOMAIN=HOST:PORT), or from --primary and --secondary");
    for (size_t i = 0; i < sizeof(file_fields) / sizeof(file_fields[0]); i++)
        if (cli_has(inv, file_fields[i].flag))
            return err_set(err, CFDR_E_USAGE,
                           "--%s conflicts with --distribution-config: the file sets this "
                           "(%s); change it there, or drop --%s",
                           file_fields[i].flag, file_fields[i].field, file_fields[i].flag);
    map = calloc(1, sizeof(*map));
    if (!map)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    for (size_t i = 0; i < cli_count(inv, "origin-map") && !rc; i++)
        rc = distconfig_map_add(map, cli_get_nth(inv, "origin-map", i), err);
    if (!rc)
        rc = distconfig_load_file(cli_get(inv, "distribution-config"), map, ec, err);
    free(map);
    return rc;
}

/* --primary and --secondary; defaults from cfdr.json's origin group when there is one, else
 * CloudFront's. */
static cfdr_code config_from_flags(struct cfdr_app *app, const struct cli_invocation *inv,
                                   struct edge_config *ec, cfdr_err *err)
{
    struct cfdr_config cfg;
    int codes[EDGE_FAILOVER_NALLOWED];
    size_t ncodes = 0;
    long cto, att, rto;
    const char *primary = cli_get(inv, "primary"), *secondary = cli_get(inv, "secondary");
    const char *preg = cli_get(inv, "primary-region"), *sreg = cli_get(inv, "secondary-region");
    cfdr_code rc;

    config_defaults(&cfg);
    if (cli_has(inv, "origin-map"))
        return err_set(err, CFDR_E_USAGE,
                       "--origin-map only applies with --distribution-config FILE; with "
                       "--primary and --secondary give the local URLs directly");
    if (access(app->g.config_path, F_OK) == 0) {
        if ((rc = config_load_file(app->g.config_path, &cfg, err)))
            return rc;
        if (!preg)
            preg = cfg.primary.region;
        if (!sreg)
            sreg = cfg.secondary.region;
    }
    cto = cfg.origin_group.connection_timeout_s;
    att = cfg.origin_group.connection_attempts;
    rto = cfg.origin_group.response_timeout_s;
    for (size_t i = 0; i < cfg.origin_group.n_failover_status_codes; i++)
        codes[ncodes++] = cfg.origin_group.failover_status_codes[i];
    if (!primary || !secondary) {
        rc = err_set(err, CFDR_E_USAGE,
                     "cfdr edge needs --primary URL and --secondary URL (e.g. "
                     "--primary http://127.0.0.1:8081 --secondary http://127.0.0.1:8082), or "
                     "--distribution-config FILE with --origin-map DOMAIN=HOST:PORT");
        goto out;
    }
    if ((rc = cli_get_long(inv, "connection-timeout", 1, 10, &cto, err)) ||
        (rc = cli_get_long(inv, "connection-attempts", 1, 3, &att, err)) ||
        (rc = cli_get_long(inv, "response-timeout", 1, 60, &rto, err)))
        goto out;
    if (cli_get(inv, "failover-codes") &&
        (rc = parse_codes(cli_get(inv, "failover-codes"), codes, &ncodes, err)))
        goto out;
    rc = edge_config_simple(ec, primary, preg, secondary, sreg, codes, ncodes, (int)att, cto * 1000,
                            rto * 1000, err);
out:
    config_free(&cfg);
    return rc;
}

cfdr_code cmd_edge(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err)
{
    struct edge_config *ec = NULL;
    struct edge_options o;
    struct edge_cli ctx = {app, stdout, err, CFDR_OK};
    long workers = 1;
    cfdr_code rc;

    ec = calloc(1, sizeof(*ec));
    if (!ec)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    if (cli_has(inv, "distribution-config"))
        rc = config_from_distribution(inv, ec, err);
    else
        rc = config_from_flags(app, inv, ec, err);
    if (rc || (rc = cli_get_long(inv, "workers", 1, 64, &workers, err)))
        goto out;
    /* "off": no access log at all, so the edge does not even build the lines */
    if (cli_get(inv, "access-log") && strcmp(cli_get(inv, "access-log"), "off") == 0) {
        ctx.access = NULL;
    } else if (cli_get(inv, "access-log") && strcmp(cli_get(inv, "access-log"), "-") != 0) {
        ctx.access = fopen(cli_get(inv, "access-log"), "a");
        if (!ctx.access) {
            rc = err_set(err, CFDR_E_IO, "--access-log: cannot open %s: %s",
                         cli_get(inv, "access-log"), strerror(errno));
            goto out;
        }
    }
    memset(&o, 0, sizeof(o));
    o.config = ec;
    o.listen = cli_get(inv, "listen") ? cli_get(inv, "listen") : "127.0.0.1:8080";
    o.admin_listen = cli_get(inv, "admin");
    o.workers = (int)workers;
    o.access_log = ctx.access ? on_access : NULL;
    o.access_log_ud = &ctx;
    o.ready = on_ready;
    o.ready_ud = &ctx;
    o.log = &app->log;
    rc = edge_run(&o, app->interrupted, err);
    if (rc == CFDR_E_INTERRUPTED || (rc == CFDR_OK && ctx.ready_rc == CFDR_OK)) {
        /* Stopping on a signal is how a foreground edge ends: not an error. */
        app_say(app, "edge stopped");
        rc = CFDR_OK;
    } else if (rc == CFDR_OK) {
        rc = ctx.ready_rc;
    }
out:
    if (ctx.access && ctx.access != stdout)
        fclose(ctx.access);
    free(ec);
    return rc;
}
