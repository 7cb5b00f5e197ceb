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
};

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
