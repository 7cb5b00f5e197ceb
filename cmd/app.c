/* app: see app.h. */
#include "app.h"

#include "cmd/config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

static void log_to_stderr(void *ud, enum cfdr_log_level level, const char *line)
{
    struct cfdr_app *app = ud;
    static const char *const names[] = {"error", "warning", "info", "debug"};
    fprintf(app->errs, "cfdr: %s: %s\n", names[level], line);
}

void app_init(struct cfdr_app *app, const struct cli_globals *g, FILE *out, FILE *errs)
{
    const char *no_color = getenv("NO_COLOR");
    app->g = *g;
    app->out = out;
    app->errs = errs;
    app->color = !g->no_color && !(no_color && no_color[0]) && isatty(fileno(errs));
    app->log.level = g->quiet ? CFDR_LOG_ERROR : g->verbose ? CFDR_LOG_DEBUG : CFDR_LOG_WARN;
    app->log.emit = log_to_stderr;
    app->log.ud = app;
    app->result = NULL;
    app->interrupted = NULL;
    app->progress_open = 0;
}

cfdr_code app_load_config(struct cfdr_app *app, struct cfdr_config *cfg, cfdr_err *err)
{
    cfdr_code rc = config_load_file(app->g.config_path, cfg, err);
    if (!rc)
        rc = config_check_mode(cfg, app->g.local, err);
    if (rc)
        config_free(cfg);
    return rc;
}

int app_interactive(const struct cfdr_app *app)
{
    return !app->g.quiet && isatty(fileno(app->errs));
}

void app_progress(struct cfdr_app *app, const char *fmt, ...)
{
    va_list ap;
    if (!app_interactive(app))
        return;
    fputs("\r\033[K", app->errs);
    va_start(ap, fmt);
    vfprintf(app->errs, fmt, ap);
    va_end(ap);
    fflush(app->errs);
    app->progress_open = 1;
}

void app_progress_end(struct cfdr_app *app)
{
    if (app->progress_open && app_interactive(app))
        fputs("\n", app->errs);
    app->progress_open = 0;
}

void app_free(struct cfdr_app *app)
{
    if (!app)
        return;
    json_object_put(app->result);
    app->result = NULL;
}

void app_say(struct cfdr_app *app, const char *fmt, ...)
{
    va_list ap;
    if (app->g.quiet)
        return;
    va_start(ap, fmt);
    vfprintf(app->errs, fmt, ap);
    va_end(ap);
    fputc('\n', app->errs);
}

void app_warn(struct cfdr_app *app, const char *fmt, ...)
{
    va_list ap;
    if (app->g.quiet)
        return;
    fputs(app->color ? "\033[33mcfdr: warning:\033[0m " : "cfdr: warning: ", app->errs);
    va_start(ap, fmt);
    vfprintf(app->errs, fmt, ap);
    va_end(ap);
    fputc('\n', app->errs);
}

void app_error(struct cfdr_app *app, const cfdr_err *err)
{
    fprintf(app->errs, "%s%s\n", app->color ? "\033[31mcfdr: error:\033[0m " : "cfdr: error: ",
            err->msg[0] ? err->msg : err_code_name(err->code));
}

void app_set_result(struct cfdr_app *app, json_object *result)
{
    json_object_put(app->result);
    app->result = result;
}

void app_print_json(struct cfdr_app *app, cfdr_code rc, const cfdr_err *err)
{
    json_object *doc;
    if (rc == CFDR_OK || rc == CFDR_E_CHECK) {
        /* A failed check still has a result (the drill report says why). */
        doc = app->result ? json_object_get(app->result) : json_object_new_object();
        json_object_object_add(doc, "ok", json_object_new_boolean(rc == CFDR_OK));
    } else {
        json_object *e = json_object_new_object();
        doc = json_object_new_object();
        json_object_object_add(doc, "ok", json_object_new_boolean(0));
        json_object_object_add(e, "code", json_object_new_string(err_code_name(rc)));
        json_object_object_add(e, "message", json_object_new_string(err->msg));
        json_object_object_add(e, "exit_status", json_object_new_int(err_exit_status(rc)));
        json_object_object_add(doc, "error", e);
    }
    fprintf(app->out, "%s\n",
            json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
                                                    JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(doc);
}
