/* cmd_report: `cfdr report` — the journal of everything done so far (what was created, every
 * drill and failback with its timeline chart, what was destroyed) as one document: Markdown,
 * one self-contained HTML page, or JSON. Drill figures come from the report files the journal
 * points to (drills/report_load). */
#include <stdarg.h>
#include <string.h>

#include "aws/atomicfile.h"
#include "aws/buf.h"
#include "aws/clock.h"
#include "cmd/commands.h"
#include "cmd/config.h"
#include "cmd/state.h"
#include "drills/report.h"
#include "drills/report_load.h"

enum fmt { FMT_MD, FMT_HTML, FMT_JSON };

/* A writer that keeps the first error, so rendering stays readable and no failed append is
 * lost: the caller checks w.rc once at the end. */
struct pw {
    struct buf *b;
    cfdr_code rc;
};

static void pw_s(struct pw *w, const char *s)
{
    if (!w->rc)
        w->rc = buf_adds(w->b, s);
}

static void pw_c(struct pw *w, char c)
{
    if (!w->rc)
        w->rc = buf_addc(w->b, c);
}

static void pw_f(struct pw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pw_f(struct pw *w, const char *fmt, ...)
{
    va_list ap;
    if (w->rc)
        return;
    va_start(ap, fmt);
    w->rc = buf_vaddf(w->b, fmt, ap);
    va_end(ap);
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static int is_drill(const char *event)
{
    return strcmp(event, "drill") == 0 || strcmp(event, "failback") == 0;
}

/* One line saying what an event did. */
static void outcome(json_object *e, struct pw *out)
{
    const char *ev = jstr(e, "event");
    json_object *v;
    if (is_drill(ev)) {
        const char *res = jstr(e, "result");
        pw_f(out, "%s", res && strcmp(res, "pass") == 0 ? "PASS" : "FAIL");
        if (jstr(e, "verdict"))
            pw_f(out, ": %s", jstr(e, "verdict"));
    } else if (strcmp(ev, "create") == 0) {
        pw_f(out, "edge %s", jstr(e, "edge_url") ? jstr(e, "edge_url") : "?");
    } else if (strcmp(ev, "alarms_setup") == 0) {
        json_object *a = json_object_object_get_ex(e, "alarms", &v) ? v : NULL;
        size_t n = a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
        pw_f(out, "%zu alarm%s", n, n == 1 ? "" : "s");
        for (size_t i = 0; i < n; i++)
            pw_f(out, "%s%s", i ? ", " : " (",
                 jstr(json_object_array_get_idx(a, i), "name")
                     ? jstr(json_object_array_get_idx(a, i), "name")
                     : "?");
        if (n)
            pw_s(out, ")");
        if (json_object_object_get_ex(e, "period_s", &v))
            pw_f(out, ", period %d s", json_object_get_int(v));
        pw_f(out, ", %d webhook%s, %d e-mail",
             json_object_object_get_ex(e, "webhooks", &v) ? json_object_get_int(v) : 0,
             json_object_object_get_ex(e, "webhooks", &v) && json_object_get_int(v) == 1 ? "" : "s",
             json_object_object_get_ex(e, "emails", &v) ? json_object_get_int(v) : 0);
    } else if (strcmp(ev, "alarms_test") == 0) {
        json_object *t = json_object_object_get_ex(e, "tested", &v) ? v : NULL;
        size_t n = t && json_object_is_type(t, json_type_array) ? json_object_array_length(t) : 0;
        const char *mode = jstr(e, "mode");
        for (size_t i = 0; i < n; i++) {
            json_object *x = json_object_array_get_idx(t, i), *d, *pd, *nf;
            int got = json_object_object_get_ex(x, "delivered", &d) ? json_object_get_int(d) : 0;
            int pend = json_object_object_get_ex(x, "pending", &pd) ? json_object_get_int(pd) : 0;
            int notified = json_object_object_get_ex(x, "notified", &nf) && nf
                               ? json_object_get_boolean(nf)
                               : 1;
            pw_f(out, "%s%s: ", i ? "; " : "", jstr(x, "alarm") ? jstr(x, "alarm") : "?");
            /* Only local mode tracks deliveries; AWS mode knows SetAlarmState was taken (journal
             * entries older than "mode" show it as 0 delivered, 0 pending). */
            if (!notified)
                pw_f(out, "not notified: %s", jstr(x, "note") ? jstr(x, "note") : "no reason kept");
            else if ((mode && strcmp(mode, "aws") == 0) || (!mode && got + pend == 0))
                pw_s(out, "SetAlarmState sent (AWS does not report deliveries)");
            else
                pw_f(out, "received by %d of %d target%s", got, got + pend,
                     got + pend == 1 ? "" : "s");
        }
        if (!n)
            pw_s(out, "nothing tested");
    } else if (strcmp(ev, "destroy") == 0) {
        int removed = json_object_object_get_ex(e, "removed", &v) ? json_object_get_int(v) : 0;
        int gone = json_object_object_get_ex(e, "already_gone", &v) ? json_object_get_int(v) : 0;
        pw_f(out, "%d removed, %d already gone", removed, gone);
    } else {
        pw_s(out, "done");
    }
}

static const char *event_title(json_object *e)
{
    const char *ev = jstr(e, "event");
    if (strcmp(ev, "drill") == 0)
        return "drill outage";
    if (strcmp(ev, "failback") == 0)
        return "verify-failback";
    if (strcmp(ev, "alarms_setup") == 0)
        return "alarms setup";
    if (strcmp(ev, "alarms_test") == 0)
        return "alarms test";
    return ev;
}

static void html_text(struct pw *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            pw_s(b, "&lt;");
            break;
        case '>':
            pw_s(b, "&gt;");
            break;
        case '&':
            pw_s(b, "&amp;");
            break;
        case '"':
            pw_s(b, "&quot;");
            break;
        default:
            pw_c(b, *s);
        }
    }
}

/* Markdown table cells: pipes and newlines would break the table. */
static void md_text(struct pw *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            pw_s(b, "\\|");
        else if (*s == '\n')
            pw_c(b, ' ');
        else
            pw_c(b, *s);
    }
}

static cfdr_code render(enum fmt fmt, const struct cfdr_state *st, const char *project,
                        const char *mode, struct buf *out, cfdr_err *err)
{
    json_object *journal = state_journal(st);
    size_t n = journal ? json_object_array_length(journal) : 0;
    struct buf lb;
    struct pw wo = {out, CFDR_OK}, *w = &wo, lo = {&lb, CFDR_OK}, *line = &lo;
    char now[32];
    cfdr_code rc = CFDR_OK;

    clock_iso_now(now);
    buf_init(&lb, BUF_MAX_SMALL);
    if (fmt == FMT_HTML) {
        pw_s(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
                "<title>cfdr report \xe2\x80\x94 ");
        html_text(w, project);
        pw_s(w, "</title>\n<style>\n");
        pw_s(w, drill_report_css());
        pw_s(w, "\n.journal{width:100%;border-collapse:collapse;margin:8px 0 24px}"
                ".journal td,.journal th{text-align:left;padding:6px 10px;"
                "border-bottom:1px solid #ddd;vertical-align:top}"
                "article.report{margin-top:48px;padding-top:24px;border-top:3px solid #333}"
                "\n</style>\n</head>\n<body>\n<main>\n<h1>cfdr report \xc2\xb7 ");
        html_text(w, project);
        pw_f(w, "</h1>\n<p>%s mode \xc2\xb7 generated %s \xc2\xb7 state in <code>", mode, now);
        html_text(w, st->dir);
        pw_s(w, "</code></p>\n<h2>What happened</h2>\n<table class=\"journal\"><tr><th>"
                "time (UTC)</th><th>event</th><th>outcome</th></tr>\n");
    } else {
        pw_f(w,
             "# cfdr report: %s\n\n%s mode \xc2\xb7 generated %s \xc2\xb7 state in `%s`\n\n"
             "## What happened\n\n| time (UTC) | event | outcome |\n|---|---|---|\n",
             project, mode, now, st->dir);
    }
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(journal, i);
        buf_reset(&lb);
        outcome(e, line);
        if (fmt == FMT_HTML) {
            pw_s(w, "<tr><td>");
            html_text(w, jstr(e, "at"));
            pw_s(w, "</td><td>");
            html_text(w, event_title(e));
            if (jstr(e, "fault")) {
                pw_s(w, " (");
                html_text(w, jstr(e, "fault"));
                pw_s(w, ")");
            }
            pw_s(w, "</td><td>");
            html_text(w, buf_str(&lb));
            pw_s(w, "</td></tr>\n");
        } else {
            pw_f(w, "| %s | %s%s%s%s | ", jstr(e, "at") ? jstr(e, "at") : "", event_title(e),
                 jstr(e, "fault") ? " (" : "", jstr(e, "fault") ? jstr(e, "fault") : "",
                 jstr(e, "fault") ? ")" : "");
            md_text(w, buf_str(&lb));
            pw_s(w, " |\n");
        }
    }
    if (n == 0)
        pw_s(w, fmt == FMT_HTML ? "<tr><td colspan=\"3\">nothing yet</td></tr>\n"
                                : "| | nothing yet | |\n");
    pw_f(w,
         fmt == FMT_HTML ? "</table>\n<h2>Resources now</h2>\n<ul>\n" : "\n## Resources now\n\n");
    for (size_t i = 0; i < state_resource_count(st); i++) {
        json_object *r = state_resource_at(st, i);
        buf_reset(&lb);
        pw_f(line, "%s %s", jstr(r, "kind"), jstr(r, "id"));
        if (jstr(r, "region"))
            pw_f(line, " (%s)", jstr(r, "region"));
        if (jstr(r, "url"))
            pw_f(line, " %s", jstr(r, "url"));
        if (fmt == FMT_HTML) {
            pw_s(w, "<li>");
            html_text(w, buf_str(&lb));
            pw_s(w, "</li>\n");
        } else {
            pw_f(w, "- %s\n", buf_str(&lb));
        }
    }
    if (state_resource_count(st) == 0)
        pw_s(w, fmt == FMT_HTML ? "<li>none: everything cfdr created was removed</li>\n"
                                : "- none: everything cfdr created was removed\n");
    if (fmt == FMT_HTML)
        pw_s(w, "</ul>\n");

    /* Every drill and failback, rendered again from its report file. */
    for (size_t i = 0; i < n && !rc && !w->rc; i++) {
        json_object *e = json_object_array_get_idx(journal, i);
        const char *path = jstr(e, "report");
        struct drill_report_doc d;
        cfdr_err lerr;
        if (!is_drill(jstr(e, "event")) || !path)
            continue;
        if (drill_report_load_file(path, &d, &lerr) != CFDR_OK) {
            if (fmt == FMT_HTML) {
                pw_s(w, "<p class=\"partial\">A report could not be read: ");
                html_text(w, lerr.msg);
                pw_s(w, "</p>\n");
            } else {
                pw_f(w, "\n---\n\nA report could not be read: %s\n", lerr.msg);
            }
            continue;
        }
        if (fmt == FMT_HTML) {
            rc = drill_report_html_article(&d.r, out, err);
        } else {
            pw_s(w, "\n---\n\n");
            rc = drill_report_markdown(&d.r, out, err);
        }
        drill_report_doc_free(&d);
    }
    if (fmt == FMT_HTML)
        pw_s(w, "</main>\n</body>\n</html>\n");
    if (!w->rc)
        w->rc = line->rc;
    if (!rc && w->rc)
        rc = err_set(err, w->rc, "the report is larger than %zu bytes (or memory ran out)",
                     out->max);
    buf_free(&lb);
    return rc;
}

static cfdr_code render_json(const struct cfdr_state *st, const char *project, const char *mode,
                             json_object **out, cfdr_err *err)
{
    json_object *doc = json_object_new_object(), *entries = json_object_new_array();
    json_object *journal = state_journal(st), *resources = json_object_new_array();
    size_t n = journal ? json_object_array_length(journal) : 0;
    char now[32];

    clock_iso_now(now);
    json_object_object_add(doc, "project", json_object_new_string(project));
    json_object_object_add(doc, "mode", json_object_new_string(mode));
    json_object_object_add(doc, "generated_at", json_object_new_string(now));
    for (size_t i = 0; i < state_resource_count(st); i++)
        json_object_array_add(resources, json_object_get(state_resource_at(st, i)));
    json_object_object_add(doc, "resources", resources);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(journal, i), *copy = NULL;
        const char *path = jstr(e, "report");
        if (json_object_deep_copy(e, &copy, NULL) != 0) {
            json_object_put(doc);
            json_object_put(entries);
            return err_set(err, CFDR_E_NOMEM, "out of memory building the report");
        }
        if (is_drill(jstr(e, "event")) && path) {
            struct drill_report_doc d;
            cfdr_err lerr;
            if (drill_report_load_file(path, &d, &lerr) == CFDR_OK) {
                json_object_object_add(copy, "report_document", json_object_get(d.json));
                drill_report_doc_free(&d);
            } else {
                json_object_object_add(copy, "report_error", json_object_new_string(lerr.msg));
            }
        }
        json_object_array_add(entries, copy);
    }
    json_object_object_add(doc, "journal", entries);
    *out = doc;
    return CFDR_OK;
}

cfdr_code cmd_report(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err)
{
    struct cfdr_config cfg;
    struct cfdr_state st;
    struct buf out;
    const char *format = cli_get(inv, "format") ? cli_get(inv, "format") : "md";
    const char *file = cli_get(inv, "output");
    const char *mode = app->g.local ? "local" : "aws";
    enum fmt fmt;
    json_object *doc = NULL;
    cfdr_code rc;

    if (strcmp(format, "md") == 0)
        fmt = FMT_MD;
    else if (strcmp(format, "html") == 0)
        fmt = FMT_HTML;
    else if (strcmp(format, "json") == 0)
        fmt = FMT_JSON;
    else
        return err_set(err, CFDR_E_USAGE, "--format: '%s' is not one of md, html, json", format);
    if ((rc = app_load_config(app, &cfg, err)))
        return rc;
    if ((rc = state_open(app->g.state_dir, cfg.project, mode, STATE_MUST_EXIST, &st, err))) {
        config_free(&cfg);
        return rc;
    }
    buf_init(&out, BUF_MAX_LARGE);
    if (fmt == FMT_JSON) {
        rc = render_json(&st, cfg.project, mode, &doc, err);
        if (!rc &&
            (buf_adds(&out, json_object_to_json_string_ext(
                                doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)) ||
             buf_addc(&out, '\n')))
            rc = err_set(err, CFDR_E_TOOBIG, "the report is too large");
    } else {
        rc = render(fmt, &st, cfg.project, mode, &out, err);
    }
    if (!rc && file) {
        rc = atomicfile_write(file, buf_str(&out), buf_len(&out), 0644, ATOMICFILE_REPLACE, NULL,
                              err);
        if (!rc)
            app_say(app, "wrote %s", file);
    } else if (!rc && app->g.json && fmt == FMT_JSON) {
        app_set_result(app, json_object_get(doc));
    } else if (!rc) {
        fwrite(buf_str(&out), 1, buf_len(&out), app->out);
    }
    json_object_put(doc);
    buf_free(&out);
    state_close(&st);
    config_free(&cfg);
    return rc;
}
