/*
 * commands: the handlers behind cli_commands[] (defined in commands.c). One file per command
 * (cmd_<name>.c) holds its handler.
 */
#ifndef CFDR_COMMANDS_H
#define CFDR_COMMANDS_H

#include "cmd/app.h"
#include "cmd/cli.h"

cfdr_code cmd_init(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err);
cfdr_code cmd_create(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err);
cfdr_code cmd_status(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err);
cfdr_code cmd_destroy(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err);
cfdr_code cmd_drill_outage(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err);
cfdr_code cmd_verify_failback(struct cfdr_app *app, const struct cli_invocation *inv,
                              cfdr_err *err);
cfdr_code cmd_edge(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err);
cfdr_code cmd_report(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err);
cfdr_code cmd_standin(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err);
cfdr_code cmd_sign(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err);
cfdr_code cmd_alarms_setup(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err);
cfdr_code cmd_alarms_status(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err);
cfdr_code cmd_alarms_test(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err);
cfdr_code cmd_alarmd(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err);
cfdr_code cmd_iam_policy(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err);

#endif
