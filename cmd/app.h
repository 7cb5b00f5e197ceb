/*
 * app: the tool's per-run context — parsed global options, where human text and results go,
 * colour, and the logger handed to engine modules. Created in main() and passed to every
 * command; nothing in it is global.
 *
 * Human text (progress, warnings, errors) goes to stderr; results go to stdout. With --json,
 * stdout carries exactly one JSON document: the command's result, or {"ok":false,"error":{...}}.
 *
 * Ownership: struct cfdr_app is main()'s; app_init borrows the globals, app_free releases
 * what app_init made (NULL accepted).
 */
#ifndef CFDR_APP_H
#define CFDR_APP_H

#include <signal.h>
#include <stdio.h>

#include <json-c/json.h>

#include "aws/err.h"
#include "aws/log.h"
#include "cmd/cli.h"

struct cfdr_app {
    struct cli_globals g;
    FILE *out;  /* results */
    FILE *errs; /* human text */
    int color;  /* colour on errs */
    struct cfdr_log log;
    /* With --json: the command's result document, printed by main (owned; NULL when none). */
    json_object *result;
    /* Set by main's SIGINT/SIGTERM handler; long-running commands poll it. */
    volatile sig_atomic_t *interrupted;
    int progress_open; /* a progress line is on the terminal, waiting for its newline */
};

struct cfdr_config;

/* Loads and validates -c FILE for this mode (local or AWS). */
cfdr_code app_load_config(struct cfdr_app *app, struct cfdr_config *cfg, cfdr_err *err);
/* 1 when stderr is a terminal and -q was not given: live progress lines are welcome. */
int app_interactive(const struct cfdr_app *app);
/* A progress line that rewrites itself on a terminal (no newline); app_progress_end ends it. */
void app_progress(struct cfdr_app *app, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void app_progress_end(struct cfdr_app *app);

void app_init(struct cfdr_app *app, const struct cli_globals *g, FILE *out, FILE *errs);
void app_free(struct cfdr_app *app);

/* Progress and information for people (stderr; silent with -q). */
void app_say(struct cfdr_app *app, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A warning (stderr; silent with -q). */
void app_warn(struct cfdr_app *app, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A fatal error as the user sees it, with what to do; always printed. */
void app_error(struct cfdr_app *app, const cfdr_err *err);

/* Sets the --json result document (takes ownership; replaces an earlier one). */
void app_set_result(struct cfdr_app *app, json_object *result);
/* Prints the --json document: the result with "ok":true, or the error. */
void app_print_json(struct cfdr_app *app, cfdr_code rc, const cfdr_err *err);

#endif
