/* main: the cfdr executable — parse, dispatch, map the result to an exit status. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "aws/err.h"
#include "cmd/app.h"
#include "cmd/cli.h"

/* The one piece of process-wide state: set by SIGINT/SIGTERM, polled by long commands. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = 1;
    /* A second Ctrl-C while cfdr cleans up ends it at once. */
    signal(sig, SIG_DFL);
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    struct cli_invocation inv;
    struct cfdr_app app;
    cfdr_err err;
    cfdr_code rc;
    int status;

    err_clear(&err);
    /* A peer that closes its socket must cost an EPIPE error, not the process. */
    signal(SIGPIPE, SIG_IGN);
    /* libcurl's global state is set up once here, before any thread exists. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fputs("cfdr: error: libcurl could not initialise\n", stderr);
        return 2;
    }
    rc = cli_parse(argc, argv, &inv, &err);
    app_init(&app, &inv.g, stdout, stderr);
    app.interrupted = &interrupted;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocking wait returns EINTR and the command notices at once. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (rc != CFDR_OK) {
        if (app.g.json)
            app_print_json(&app, rc, &err);
        app_error(&app, &err);
    } else if (inv.g.version) {
        printf("cfdr %s\n", CFDR_VERSION);
    } else if (inv.g.help || !inv.cmd) {
        if (inv.cmd)
            cli_print_command_help(stdout, inv.cmd);
        else
            cli_print_main_help(inv.g.help ? stdout : stderr);
        if (!inv.cmd && !inv.g.help) {
            err_set(&err, CFDR_E_USAGE, "no command given (see the list above)");
            rc = CFDR_E_USAGE;
            app_error(&app, &err);
        }
    } else {
        rc = inv.cmd->run(&app, &inv, &err);
        if (app.g.json)
            app_print_json(&app, rc, &err);
        if (rc != CFDR_OK && rc != CFDR_E_CHECK)
            app_error(&app, &err);
    }
    status = err_exit_status(rc);
    app_free(&app);
    cli_invocation_free(&inv);
    curl_global_cleanup();
    return status;
}
