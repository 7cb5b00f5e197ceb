/* cli: see cli.h. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const struct cli_option cli_global_options[] = {
    {"config", 'c', "FILE", 0, "configuration file (default ./cfdr.json)"},
    {"local", 0, NULL, 0, "run offline against local services and the local edge"},
    {"state-dir", 0, "DIR", 0, "where state and reports are kept (default ./.cfdr)"},
    {"profile", 0, "NAME", 0, "AWS profile from the shared config and credentials files"},
    {"json", 0, NULL, 0, "print one JSON document with the result on stdout"},
    {"verbose", 'v', NULL, 1, "more detail on stderr (AWS requests, secrets redacted)"},
    {"quiet", 'q', NULL, 0, "only errors on stderr"},
    {"no-color", 0, NULL, 0, "no colour (NO_COLOR is honoured too)"},
    {"dry-run", 0, NULL, 0, "AWS mode: print every request that would be sent, send nothing"},
    {"help", 'h', NULL, 0, "show help (for a command: cfdr COMMAND --help)"},
    {"version", 0, NULL, 0, "print the version"},
    {0},
};

static const struct cli_option *find_long(const struct cli_option *opts, const char *name,
                                          size_t len)
{
    if (!opts)
        return NULL;
    for (; opts->name; opts++)
        if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0)
            return opts;
    return NULL;
}

static const struct cli_option *find_short(const struct cli_option *opts, char c)
{
    if (!opts)
        return NULL;
    for (; opts->name; opts++)
        if (opts->short_name && opts->short_name == c)
            return opts;
    return NULL;
}

static const char *help_hint(const struct cli_command *cmd, char *tmp, size_t n)
{
    if (!cmd)
        return "see cfdr --help";
    snprintf(tmp, n, "see cfdr %s%s%s --help", cmd->name, cmd->sub ? " " : "",
             cmd->sub ? cmd->sub : "");
    return tmp;
}

static cfdr_code apply_global(struct cli_globals *g, const struct cli_option *o, const char *v)
{
    const char *n = o->name;
    if (!strcmp(n, "config"))
        g->config_path = v;
    else if (!strcmp(n, "local"))
        g->local = 1;
    else if (!strcmp(n, "state-dir"))
        g->state_dir = v;
    else if (!strcmp(n, "profile"))
        g->profile = v;
    else if (!strcmp(n, "json"))
        g->json = 1;
    else if (!strcmp(n, "verbose"))
        g->verbose++;
    else if (!strcmp(n, "quiet"))
        g->quiet = 1;
    else if (!strcmp(n, "no-color"))
        g->no_color = 1;
    else if (!strcmp(n, "dry-run"))
        g->dry_run = 1;
    else if (!strcmp(n, "help"))
        g->help = 1;
    else if (!strcmp(n, "version"))
        g->version = 1;
    else
        return CFDR_E_INTERNAL;
    return CFDR_OK;
}

static cfdr_code add_value(struct cli_invocation *inv, const struct cli_option *o, const char *v,
                           cfdr_err *err)
{
    struct cli_value *nv;
    char tmp[128];

    if (!o->repeatable) {
        for (size_t i = 0; i < inv->nvalues; i++)
            if (inv->values[i].opt == o)
                return err_set(err, CFDR_E_USAGE, "option --%s given twice (%s)", o->name,
                               help_hint(inv->cmd, tmp, sizeof(tmp)));
    }
    nv = realloc(inv->values, (inv->nvalues + 1) * sizeof(*nv));
    if (!nv)
        return err_set(err, CFDR_E_NOMEM, "out of memory parsing the command line");
    inv->values = nv;
    nv[inv->nvalues].opt = o;
    nv[inv->nvalues].value = v;
    inv->nvalues++;
    return CFDR_OK;
}

/* Handles one option word at argv[*i]. */
static cfdr_code parse_option(int argc, char **argv, int *i, struct cli_invocation *inv,
                              cfdr_err *err)
{
    const char *arg = argv[*i];
    const struct cli_option *opts = inv->cmd ? inv->cmd->options : NULL;
    const struct cli_option *o;
    const char *value = NULL;
    int is_global;
    char tmp[128];

    if (arg[1] == '-') {
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        is_global = 0;
        o = find_long(opts, name, len);
        if (!o) {
            o = find_long(cli_global_options, name, len);
            is_global = o != NULL;
        }
        if (!o)
            return err_set(err, CFDR_E_USAGE, "unknown option --%.*s (%s)", (int)len, name,
                           help_hint(inv->cmd, tmp, sizeof(tmp)));
        if (eq) {
            if (!o->metavar)
                return err_set(err, CFDR_E_USAGE, "option --%s takes no value (%s)", o->name,
                               help_hint(inv->cmd, tmp, sizeof(tmp)));
            value = eq + 1;
        }
    } else {
        /* Single-letter options; a value may follow attached (-cFILE) or as the next word.
         * Flags may be bundled (-vv, -qv). */
        for (const char *p = arg + 1; *p; p++) {
            is_global = 0;
            o = find_short(opts, *p);
            if (!o) {
                o = find_short(cli_global_options, *p);
                is_global = o != NULL;
            }
            if (!o)
                return err_set(err, CFDR_E_USAGE, "unknown option -%c (%s)", *p,
                               help_hint(inv->cmd, tmp, sizeof(tmp)));
            if (o->metavar) {
                if (p[1])
                    value = p + 1;
                else if (*i + 1 < argc)
                    value = argv[++*i];
                else
                    return err_set(err, CFDR_E_USAGE, "option -%c needs a value %s", *p,
                                   o->metavar);
                return is_global ? apply_global(&inv->g, o, value) : add_value(inv, o, value, err);
            }
            if (is_global)
                CFDR_TRY(apply_global(&inv->g, o, NULL));
            else
                CFDR_TRY(add_value(inv, o, NULL, err));
        }
        return CFDR_OK;
    }

    if (o->metavar && !value) {
        if (*i + 1 >= argc)
            return err_set(err, CFDR_E_USAGE, "option --%s needs a value %s (%s)", o->name,
                           o->metavar, help_hint(inv->cmd, tmp, sizeof(tmp)));
        value = argv[++*i];
    }
    if (is_global)
        return apply_global(&inv->g, o, value);
    return add_value(inv, o, value, err);
}

static const struct cli_command *find_command(const char *name, const char *sub, int *needs_sub)
{
    const struct cli_command *c;
    *needs_sub = 0;
    for (c = cli_commands; c->name; c++) {
        if (strcmp(c->name, name) != 0)
            continue;
        if (!c->sub)
            return c;
        *needs_sub = 1;
        if (sub && strcmp(c->sub, sub) == 0)
            return c;
    }
    return NULL;
}

static void list_subcommands(const char *name, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        if (strcmp(c->name, name) != 0 || !c->sub)
            continue;
        int w = snprintf(out + used, n - used, "%s%s", used ? ", " : "", c->sub);
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
    }
}

cfdr_code cli_parse(int argc, char **argv, struct cli_invocation *inv, cfdr_err *err)
{
    int only_args = 0;
    size_t maxargs = (size_t)(argc > 0 ? argc : 1);
    char tmp[128];

    memset(inv, 0, sizeof(*inv));
    inv->g.config_path = "cfdr.json";
    inv->g.state_dir = ".cfdr";
    inv->args = calloc(maxargs, sizeof(*inv->args));
    if (!inv->args)
        return err_set(err, CFDR_E_NOMEM, "out of memory parsing the command line");

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_args && strcmp(a, "--") == 0) {
            only_args = 1;
            continue;
        }
        if (!only_args && a[0] == '-' && a[1] != '\0') {
            CFDR_TRY(parse_option(argc, argv, &i, inv, err));
            continue;
        }
        if (!inv->cmd) {
            int needs_sub = 0;
            const char *sub = i + 1 < argc ? argv[i + 1] : NULL;
            if (strcmp(a, "help") == 0) {
                /* `cfdr help [COMMAND [SUB]]` is `cfdr [COMMAND [SUB]] --help`. */
                inv->g.help = 1;
                if (i + 1 < argc) {
                    inv->cmd =
                        find_command(argv[i + 1], i + 2 < argc ? argv[i + 2] : NULL, &needs_sub);
                    if (!inv->cmd && !needs_sub)
                        return err_set(err, CFDR_E_USAGE, "unknown command '%s' (see cfdr --help)",
                                       argv[i + 1]);
                    if (!inv->cmd) {
                        list_subcommands(argv[i + 1], tmp, sizeof(tmp));
                        return err_set(err, CFDR_E_USAGE, "cfdr %s needs one of: %s", argv[i + 1],
                                       tmp);
                    }
                }
                return CFDR_OK;
            }
            inv->cmd = find_command(a, sub, &needs_sub);
            if (!inv->cmd && !needs_sub)
                return err_set(err, CFDR_E_USAGE, "unknown command '%s' (see cfdr --help)", a);
            if (!inv->cmd) {
                list_subcommands(a, tmp, sizeof(tmp));
                if (!sub || sub[0] == '-') {
                    /* `cfdr alarms --help` lists the subcommands. */
                    for (int j = i + 1; j < argc; j++)
                        if (!strcmp(argv[j], "--help") || !strcmp(argv[j], "-h"))
                            return err_set(err, CFDR_E_USAGE,
                                           "cfdr %s needs one of: %s (e.g. cfdr %s %.*s --help)", a,
                                           tmp, a, (int)strcspn(tmp, ","), tmp);
                    return err_set(err, CFDR_E_USAGE, "cfdr %s needs one of: %s", a, tmp);
                }
                return err_set(err, CFDR_E_USAGE, "unknown subcommand 'cfdr %s %s' (one of: %s)", a,
                               sub, tmp);
            }
            if (inv->cmd->sub)
                i++;
            continue;
        }
        inv->args[inv->nargs++] = a;
    }

    if (inv->cmd && !inv->g.help && !inv->g.version) {
        const struct cli_command *c = inv->cmd;
        if ((int)inv->nargs < c->min_args)
            return err_set(err, CFDR_E_USAGE, "cfdr %s%s%s needs %s (%s)", c->name,
                           c->sub ? " " : "", c->sub ? c->sub : "",
                           c->args_usage ? c->args_usage : "more arguments",
                           help_hint(c, tmp, sizeof(tmp)));
        if ((int)inv->nargs > c->max_args)
            return err_set(err, CFDR_E_USAGE, "unexpected argument '%s' (%s)",
                           inv->args[c->max_args], help_hint(c, tmp, sizeof(tmp)));
    } else if (!inv->cmd && inv->nargs) {
        return err_set(err, CFDR_E_USAGE, "unknown command '%s' (see cfdr --help)", inv->args[0]);
    }
    if (inv->g.quiet && inv->g.verbose)
        return err_set(err, CFDR_E_USAGE, "-q and -v contradict each other; give one");
    return CFDR_OK;
}

void cli_invocation_free(struct cli_invocation *inv)
{
    if (!inv)
        return;
    free(inv->values);
    free(inv->args);
    inv->values = NULL;
    inv->args = NULL;
    inv->nvalues = inv->nargs = 0;
}

const char *cli_get_nth(const struct cli_invocation *inv, const char *name, size_t n)
{
    for (size_t i = 0; i < inv->nvalues; i++) {
        if (strcmp(inv->values[i].opt->name, name) != 0)
            continue;
        if (n == 0)
            return inv->values[i].value ? inv->values[i].value : "";
        n--;
    }
    return NULL;
}

size_t cli_count(const struct cli_invocation *inv, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < inv->nvalues; i++)
        if (strcmp(inv->values[i].opt->name, name) == 0)
            n++;
    return n;
}

const char *cli_get(const struct cli_invocation *inv, const char *name)
{
    size_t n = cli_count(inv, name);
    return n ? cli_get_nth(inv, name, n - 1) : NULL;
}

int cli_has(const struct cli_invocation *inv, const char *name)
{
    return cli_count(inv, name) > 0;
}

cfdr_code cli_get_long(const struct cli_invocation *inv, const char *name, long min, long max,
                       long *out, cfdr_err *err)
{
    const char *v = cli_get(inv, name);
    char *end;
    long n;
    if (!v)
        return CFDR_OK;
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max)
        return err_set(err, CFDR_E_USAGE, "--%s: '%s' is not a whole number from %ld to %ld", name,
                       v, min, max);
    *out = n;
    return CFDR_OK;
}

cfdr_code cli_get_seconds(const struct cli_invocation *inv, const char *name, double min,
                          double max, double *out, cfdr_err *err)
{
    const char *v = cli_get(inv, name);
    char *end;
    double d;
    if (!v)
        return CFDR_OK;
    errno = 0;
    d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d) || d < min || d > max)
        return err_set(err, CFDR_E_USAGE, "--%s: '%s' is not a number of seconds from %g to %g",
                       name, v, min, max);
    *out = d;
    return CFDR_OK;
}

static void print_options(FILE *f, const struct cli_option *o)
{
    for (; o && o->name; o++) {
        char left[64];
        if (o->short_name)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name,
                     o->metavar ? " " : "", o->metavar ? o->metavar : "");
        else
            snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->metavar ? " " : "",
                     o->metavar ? o->metavar : "");
        fprintf(f, "  %-28s %s%s\n", left, o->help, o->repeatable ? " (repeatable)" : "");
    }
}

void cli_print_main_help(FILE *f)
{
    fputs("cfdr — build, drill and monitor instant multi-region failover with Amazon CloudFront\n"
          "origin groups, against AWS or entirely offline (--local).\n\n"
          "Usage: cfdr [options] COMMAND [args]\n\nCommands:\n",
          f);
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        char left[64];
        if (c->name[0] == '_')
            continue;
        snprintf(left, sizeof(left), "%s%s%s", c->name, c->sub ? " " : "", c->sub ? c->sub : "");
        fprintf(f, "  %-22s %s\n", left, c->summary);
    }
    fputs("\nOptions (accepted before or after the command):\n", f);
    print_options(f, cli_global_options);
    fputs("\nExit status: 0 success; 1 the thing checked did not hold; 2 usage or configuration\n"
          "error; 3 AWS or network error after retries; 130 interrupted.\n"
          "Run 'cfdr COMMAND --help' for a command's options.\n",
          f);
}

void cli_print_command_help(FILE *f, const struct cli_command *c)
{
    fprintf(f, "Usage: cfdr %s%s%s [options]%s%s\n\n%s\n", c->name, c->sub ? " " : "",
            c->sub ? c->sub : "", c->args_usage ? " " : "", c->args_usage ? c->args_usage : "",
            c->summary);
    if (c->description)
        fprintf(f, "\n%s\n", c->description);
    if (c->options && c->options->name) {
        fputs("\nOptions:\n", f);
        print_options(f, c->options);
    }
    fputs("\nGlobal options:\n", f);
    print_options(f, cli_global_options);
}
