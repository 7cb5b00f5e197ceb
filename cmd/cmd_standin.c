/* cmd_standin: `cfdr _standin` — one local App Runner stand-in in the foreground. Internal:
 * `cfdr create --local` starts two of these in the background (see daemon.h). */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/commands.h"
#include "cmd/daemon.h"
#include "edge/standin.h"

struct ready_ctx {
    cfdr_err *err;
    cfdr_code rc;
};

static void on_ready(struct standin *s, void *ud)
{
    struct ready_ctx *r = ud;
    char line[160];
    snprintf(line, sizeof(line), "{\"port\":%d,\"control_port\":%d,\"region\":\"%s\"}",
             standin_port(s), standin_control_port(s), standin_region(s));
    r->rc = daemon_announce_ready(line, r->err);
}

cfdr_code cmd_standin(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err)
{
    struct standin_options o = {0};
    struct ready_ctx ready = {err, CFDR_OK};
    long slow_ms = 0;
    cfdr_code rc;

    o.region = cli_get(inv, "region");
    o.service = cli_get(inv, "service");
    o.listen = cli_get(inv, "listen");
    o.control = cli_get(inv, "control");
    o.log = &app->log;
    o.on_ready = on_ready;
    o.ready_ud = &ready;
    if (!o.region || !o.service)
        return err_set(err, CFDR_E_USAGE, "cfdr _standin needs --region and --service");
    if (cli_get(inv, "mode") && (rc = standin_mode_from_name(cli_get(inv, "mode"), &o.mode, err)))
        return rc;
    if (cli_get(inv, "identify") &&
        (rc = standin_identify_from_name(cli_get(inv, "identify"), &o.identify, err)))
        return rc;
    if ((rc = cli_get_long(inv, "slow-ms", 1, 3600000, &slow_ms, err)))
        return rc;
    o.slow_ms = (unsigned)slow_ms;
    rc = standin_run_forever(&o, err);
    if (rc == CFDR_OK && ready.rc)
        rc = ready.rc;
    return rc;
}
