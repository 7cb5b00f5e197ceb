/*
 * cli: the command-line grammar of cfdr, as tables.
 *
 * `cfdr [global options] COMMAND [SUBCOMMAND] [options] [args]`. Global options are accepted
 * anywhere on the line. Each command is a struct cli_command with its own option table; the
 * parser fills a struct cli_invocation that commands query by long option name. Help texts are
 * generated from the same tables, so the parser and the help can never disagree.
 *
 * Ownership: the tables are static. A struct cli_invocation borrows argv strings (argv must
 * outlive it) and owns only its arrays; cli_invocation_free releases them (NULL accepted).
 */
#ifndef CFDR_CLI_H
#define CFDR_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "aws/err.h"

struct cfdr_app;
struct cli_invocation;

struct cli_option {
    const char *name;    /* long name without dashes, e.g. "duration" */
    char short_name;     /* 0 when none */
    const char *metavar; /* NULL for a flag; e.g. "S" for a value */
    int repeatable;      /* may be given more than once (values kept in order) */
    const char *help;
};

typedef cfdr_code (*cli_run_fn)(struct cfdr_app *app, const struct cli_invocation *inv,
                                cfdr_err *err);

struct cli_command {
    const char *name;                 /* "drill" */
    const char *sub;                  /* "outage", or NULL */
    const char *args_usage;           /* "[NAME]", "URL", or NULL */
    int min_args, max_args;           /* positional arguments after the (sub)command */
    const char *summary;              /* one line */
    const char *description;          /* paragraph(s) for --help, may be NULL */
    const struct cli_option *options; /* terminated by a zeroed entry; may be NULL */
    cli_run_fn run;
};

/* Commands whose name starts with '_' are internal (cfdr runs them itself, e.g. the background
 * stand-ins): accepted, never listed in help. */

struct cli_globals {
    const char *config_path; /* -c, --config (default ./cfdr.json) */
    const char *state_dir;   /* --state-dir (default ./.cfdr) */
    const char *profile;     /* --profile, or NULL */
    int local;
    int json;
    int verbose; /* count of -v */
    int quiet;
    int no_color;
    int dry_run;
    int help;
    int version;
};

struct cli_value {
    const struct cli_option *opt;
    const char *value; /* NULL for flags */
};

struct cli_invocation {
    struct cli_globals g;
    const struct cli_command *cmd; /* NULL when only global options were given */
    struct cli_value *values;
    size_t nvalues;
    const char **args;
    size_t nargs;
};

/* The command table (terminated by a zeroed entry) and the global option table. */
extern const struct cli_command cli_commands[];
extern const struct cli_option cli_global_options[];

/* Parses argv[1..argc-1]. On a usage error returns CFDR_E_USAGE with a message that says what
 * was wrong and which --help to read. */
cfdr_code cli_parse(int argc, char **argv, struct cli_invocation *inv, cfdr_err *err);
void cli_invocation_free(struct cli_invocation *inv);

/* Option queries by long name. cli_get returns the last value given (or NULL); cli_get_nth the
 * n-th of a repeatable option; cli_count how many times it was given. */
const char *cli_get(const struct cli_invocation *inv, const char *name);
const char *cli_get_nth(const struct cli_invocation *inv, const char *name, size_t n);
size_t cli_count(const struct cli_invocation *inv, const char *name);
int cli_has(const struct cli_invocation *inv, const char *name);

/* Parses a whole-number option within [min, max]; *out is unchanged when absent. Errors name
 * the option and the range. */
cfdr_code cli_get_long(const struct cli_invocation *inv, const char *name, long min, long max,
                       long *out, cfdr_err *err);
/* Parses a decimal number of seconds (e.g. "2.5") within [min, max]. */
cfdr_code cli_get_seconds(const struct cli_invocation *inv, const char *name, double min,
                          double max, double *out, cfdr_err *err);

/* Help texts. */
void cli_print_main_help(FILE *f);
void cli_print_command_help(FILE *f, const struct cli_command *cmd);

#endif
