/* cmd_alarms: `cfdr alarms setup|status|test [NAME]` — the same logic for both modes, on the
 * provider's alarm operations (provider.h) — and `cfdr _alarmd`, the local alarm service in
 * the foreground (drills/alarmd.h), which `alarms setup --local` starts in the background.
 *
 * Human text goes to stderr, a short result to stdout; --json prints the provider's document.
 * setup and test are journalled (events "alarms_setup", "alarms_test") so that `cfdr report`
 * shows them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/atomicfile.h"
#include "cmd/commands.h"
#include "cmd/config.h"
#include "cmd/daemon.h"
#include "cmd/provider.h"
#include "cmd/state.h"
#include "drills/alarmd.h"

static const char *mode_name(const struct cfdr_app *app)
{
    return app->g.local ? "local" : "aws";
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

static json_object *jget(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static size_t jlen(json_object *o, const char *key)
{
    json_object *v = jget(o, key);
    return v && json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
}

/* Opens config, state (locked for `what` unless NULL) and provider. */
static cfdr_code open_all(struct cfdr_app *app, struct cfdr_config *cfg, struct cfdr_state *st,
                          struct provider *p, const char *what, cfdr_err *err)
{
    cfdr_code rc;
    if (app->g.dry_run && app->g.local && what)
        return err_set(err, CFDR_E_USAGE,
                       "--dry-run prints the AWS requests a command would send; --local sends "
                       "none, so there is nothing to print: run it without --dry-run");
    if ((rc = app_load_config(app, cfg, err)))
        return rc;
    rc = state_open(app->g.state_dir, cfg->project, mode_name(app), STATE_MUST_EXIST, st, err);
    if (rc == CFDR_E_NOTFOUND)
        rc = err_set(err, CFDR_E_NOTFOUND,
                     "nothing is recorded in %s: the alarms watch what create makes; run cfdr "
                     "%screate first",
                     app->g.state_dir, app->g.local ? "--local " : "");
    if (!rc && what)
        rc = state_lock(st, what, err);
    if (!rc)
        rc = provider_open(app, cfg, st, p, err);
    if (rc) {
        state_close(st);
        config_free(cfg);
    }
    return rc;
}

static void close_all(struct cfdr_config *cfg, struct cfdr_state *st, struct provider *p)
{
    provider_close(p);
    state_close(st);
    config_free(cfg);
}

static cfdr_code not_available(const struct provider *p, const char *what, cfdr_err *err)
{
    return err_set(err, CFDR_E_UNSUPPORTED,
                   "'cfdr alarms %s' is not available in %s mode yet in this version of cfdr; "
                   "nothing was done",
                   what, p->ops->mode);
}

cfdr_code cmd_alarms_setup(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err)
{
    struct cfdr_config cfg;
    struct cfdr_state st;
    struct provider p;
    json_object *out, *j, *alarms;
    cfdr_code rc;
    (void)inv;

    if ((rc = open_all(app, &cfg, &st, &p, "alarms setup", err)))
        return rc;
    if (!p.ops->alarms_setup) {
        rc = not_available(&p, "setup", err);
        goto out_all;
    }
    app_say(app, "setting up the alarms of %s (%s mode, period %d s)", cfg.project, mode_name(app),
            cfg.alarms.period_s);
    out = json_object_new_object();
    rc = p.ops->alarms_setup(&p, out, err);
    if (!rc && app->g.dry_run) {
        app_say(app, "dry run: nothing was created or recorded");
        json_object_put(out);
        goto out_all;
    }
    if (!rc) {
        static const char *const keep[] = {"alarms", "period_s", "webhooks",
                                           "emails", "changed",  NULL};
        j = json_object_new_object();
        for (const char *const *k = keep; *k; k++)
            if (jget(out, *k))
                json_object_object_add(j, *k, json_object_get(jget(out, *k)));
        json_object_object_add(j, "mode", json_object_new_string(mode_name(app)));
        rc = state_journal_add(&st, "alarms_setup", j, err);
    }
    if (!rc) {
        alarms = jget(out, "alarms");
        for (size_t i = 0; i < jlen(out, "alarms"); i++) {
            json_object *a = json_object_array_get_idx(alarms, i);
            const char *an = jstr(a, "name") ? jstr(a, "name") : "?";
            /* the AWS provider has said each alarm's line already, with what it did */
            if (app->g.local)
                app_say(app, "  alarm %s (%s): %s", an, jstr(a, "region") ? jstr(a, "region") : "?",
                        jstr(a, "metric") ? jstr(a, "metric") : "");
            if (!app->g.json)
                fprintf(app->out, "%s\n", an);
        }
        app_say(app, "notifications: %d webhook%s, %d e-mail address%s%s%s",
                json_object_get_int(jget(out, "webhooks")),
                json_object_get_int(jget(out, "webhooks")) == 1 ? "" : "s",
                json_object_get_int(jget(out, "emails")),
                json_object_get_int(jget(out, "emails")) == 1 ? "" : "es",
                jstr(out, "notifications_file") ? ", and every one appended to " : "",
                jstr(out, "notifications_file") ? jstr(out, "notifications_file") : "");
        app_say(app, "next: cfdr %salarms test (fires a real notification), cfdr %salarms status",
                app->g.local ? "--local " : "", app->g.local ? "--local " : "");
        if (app->g.json)
            app_set_result(app, json_object_get(out));
    }
    json_object_put(out);
out_all:
    close_all(&cfg, &st, &p);
    return rc;
}

static void say_alarm(struct cfdr_app *app, json_object *a)
{
    json_object *pts = jget(a, "datapoints");
    char line[512] = "";
    size_t n = 0;
    fprintf(app->out, "  %-32s %-18s %-10s since %s\n", jstr(a, "name") ? jstr(a, "name") : "?",
            jstr(a, "state") ? jstr(a, "state") : "?", jstr(a, "region") ? jstr(a, "region") : "",
            jstr(a, "updated_at") ? jstr(a, "updated_at") : "?");
    if (jstr(a, "reason"))
        fprintf(app->out, "    %s\n", jstr(a, "reason"));
    for (size_t i = 0; pts && i < json_object_array_length(pts) && n < sizeof(line) - 64; i++) {
        json_object *pt = json_object_array_get_idx(pts, i);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%g at %s", i ? ", " : "",
                              json_object_get_double(jget(pt, "value")),
                              jstr(pt, "timestamp") ? jstr(pt, "timestamp") + 11 : "?");
    }
    if (n)
        fprintf(app->out, "    last datapoints (newest first): %s\n", line);
}

cfdr_code cmd_alarms_status(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err)
{
    struct cfdr_config cfg;
    struct cfdr_state st;
    struct provider p;
    json_object *out, *nt;
    cfdr_code rc;
    (void)inv;

    if ((rc = open_all(app, &cfg, &st, &p, NULL, err)))
        return rc;
    if (!p.ops->alarms_status) {
        rc = not_available(&p, "status", err);
        goto out_all;
    }
    out = json_object_new_object();
    rc = p.ops->alarms_status(&p, out, err);
    if (!rc && !app->g.json) {
        json_object *list = jget(out, "alarms"), *su = jget(out, "set_up"), *run;
        if (su && !json_object_get_boolean(su)) {
            app_say(app, "no alarms are set up: run cfdr %salarms setup",
                    app->g.local ? "--local " : "");
        } else {
            run = jget(out, "running");
            if (run && !json_object_get_boolean(run))
                app_warn(app,
                         "the alarm service is not running: these are its last known states; "
                         "run cfdr %salarms setup to start it again",
                         app->g.local ? "--local " : "");
            fprintf(app->out, "%s alarms (%s): %zu\n", cfg.project, mode_name(app),
                    jlen(out, "alarms"));
            for (size_t i = 0; i < jlen(out, "alarms"); i++)
                say_alarm(app, json_object_array_get_idx(list, i));
            if ((nt = jget(out, "notifications"))) {
                fprintf(app->out,
                        "  notifications: %d target%s, %d delivered, %d pending, %d failed "
                        "attempt%s%s\n",
                        (int)jlen(nt, "targets"), jlen(nt, "targets") == 1 ? "" : "s",
                        json_object_get_int(jget(nt, "delivered")),
                        json_object_get_int(jget(nt, "pending")),
                        json_object_get_int(jget(nt, "failed_attempts")),
                        json_object_get_int(jget(nt, "failed_attempts")) == 1 ? "" : "s",
                        json_object_get_int(jget(nt, "parked")) ? " (some targets parked: they "
                                                                  "retry on the next event)"
                                                                : "");
                if (jstr(nt, "last_error") && json_object_get_int(jget(nt, "pending")))
                    fprintf(app->out, "  last delivery error: %s\n", jstr(nt, "last_error"));
            }
            if (jget(out, "metrics") && jstr(jget(out, "metrics"), "last_error"))
                fprintf(app->out, "  metrics: %s\n", jstr(jget(out, "metrics"), "last_error"));
        }
    }
    if (!rc && app->g.json)
        app_set_result(app, json_object_get(out));
    json_object_put(out);
out_all:
    close_all(&cfg, &st, &p);
    return rc;
}

cfdr_code cmd_alarms_test(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err)
{
    struct cfdr_config cfg;
    struct cfdr_state st;
    struct provider p;
    json_object *out, *tested, *j, *sum;
    const char *name = inv->nargs ? inv->args[0] : NULL;
    size_t short_of = 0, not_notified = 0;
    const char *first_note = "";
    cfdr_code rc;

    if ((rc = open_all(app, &cfg, &st, &p, "alarms test", err)))
        return rc;
    if (!p.ops->alarms_test) {
        rc = not_available(&p, "test", err);
        goto out_all;
    }
    if (app->g.local)
        app_say(app, "firing %s the way SetAlarmState does, and waiting for the notifications",
                name ? name : "every alarm");
    else
        app_say(app,
                "setting %s to ALARM with SetAlarmState, once its SNS topic has a confirmed "
                "subscriber",
                name ? name : "every alarm");
    out = json_object_new_object();
    rc = p.ops->alarms_test(&p, name, out, err);
    if (rc || app->g.dry_run) {
        json_object_put(out);
        goto out_all;
    }
    tested = jget(out, "tested");
    sum = json_object_new_array();
    for (size_t i = 0; tested && i < json_object_array_length(tested); i++) {
        json_object *t = json_object_array_get_idx(tested, i), *s = json_object_new_object();
        json_object *got = jget(t, "deliveries"), *pend = jget(t, "pending");
        /* Local mode says who received it; AWS mode knows only that SetAlarmState was taken
         * (SNS delivers to the confirmed subscribers where cfdr cannot see). */
        int tracked = got || pend;
        int notified = jget(t, "notified") ? json_object_get_boolean(jget(t, "notified")) : 1;
        const char *alarm = jstr(t, "alarm") ? jstr(t, "alarm") : jstr(t, "name");
        size_t ngot = got ? json_object_array_length(got) : 0;
        size_t npend = pend ? json_object_array_length(pend) : 0;
        const char *note = jstr(t, "note") ? jstr(t, "note") : "not notified";
        app_say(app, "  %s: %s", alarm ? alarm : "?",
                !notified ? note
                : tracked ? "ALARM notification published"
                          : "set to ALARM with SetAlarmState (AWS does not report deliveries)");
        for (size_t k = 0; k < ngot; k++) {
            json_object *d = json_object_array_get_idx(got, k);
            app_say(app, "    received by %s %s%s%s%s (%.3f s after publishing)", jstr(d, "kind"),
                    jstr(d, "target"), jstr(d, "config") ? " (" : "",
                    jstr(d, "config") ? jstr(d, "config") : "", jstr(d, "config") ? ")" : "",
                    json_object_get_double(jget(d, "delivered_at")) -
                        json_object_get_double(jget(d, "published_at")));
        }
        for (size_t k = 0; k < npend; k++) {
            json_object *d = json_object_array_get_idx(pend, k);
            app_say(app, "    NOT yet received by %s %s%s%s%s (kept in the spool, retried)",
                    jstr(d, "kind"), jstr(d, "target"), jstr(d, "config") ? " (" : "",
                    jstr(d, "config") ? jstr(d, "config") : "", jstr(d, "config") ? ")" : "");
        }
        if (!notified && !not_notified++)
            first_note = note;
        short_of += npend;
        json_object_object_add(s, "alarm", json_object_new_string(alarm ? alarm : "?"));
        json_object_object_add(s, "notified", json_object_new_boolean(notified));
        if (!notified)
            json_object_object_add(s, "note", json_object_new_string(note));
        if (tracked) { /* AWS mode tracks no delivery: no figures rather than false zeros */
            json_object_object_add(s, "delivered", json_object_new_int((int)ngot));
            json_object_object_add(s, "pending", json_object_new_int((int)npend));
        }
        json_object_array_add(sum, s);
        if (!app->g.json && tracked)
            fprintf(app->out, "%s %s %zu/%zu\n", alarm ? alarm : "?",
                    notified ? "notified" : "not-notified", ngot, ngot + npend);
        else if (!app->g.json)
            fprintf(app->out, "%s %s\n", alarm ? alarm : "?",
                    notified ? "set-to-ALARM" : "not-notified");
    }
    j = json_object_new_object();
    json_object_object_add(j, "tested", sum);
    json_object_object_add(j, "mode", json_object_new_string(mode_name(app)));
    rc = state_journal_add(&st, "alarms_test", j, err);
    if (!rc && app->g.json)
        app_set_result(app, json_object_get(out));
    if (!rc && short_of)
        rc = err_set(err, CFDR_E_CHECK,
                     "%zu notification%s did not reach %s target within %.0f s%s%s; they stay in "
                     "the spool and are retried (cfdr %salarms status shows progress)",
                     short_of, short_of == 1 ? "" : "s", short_of == 1 ? "its" : "their",
                     json_object_get_double(jget(out, "waited_s")),
                     jstr(out, "last_error") ? "; last error: " : "",
                     jstr(out, "last_error") ? jstr(out, "last_error") : "",
                     app->g.local ? "--local " : "");
    else if (!rc && not_notified == 1)
        rc = err_set(err, CFDR_E_CHECK, "1 alarm sent no notification: %s", first_note);
    else if (!rc && not_notified)
        rc = err_set(err, CFDR_E_CHECK, "%zu alarms sent no notification (see above): %s",
                     not_notified, first_note);
    if (rc == CFDR_E_CHECK)
        app_error(app, err);
    json_object_put(out);
out_all:
    close_all(&cfg, &st, &p);
    return rc;
}

/* ---- cfdr _alarmd ---- */

struct alarmd_ready {
    cfdr_err *err;
    cfdr_code rc;
};

static void on_alarmd_ready(void *ud, int port, size_t resumed)
{
    struct alarmd_ready *r = ud;
    char line[96];
    snprintf(line, sizeof(line), "{\"port\":%d,\"resumed\":%zu}", port, resumed);
    r->rc = daemon_announce_ready(line, r->err);
}

static const char *file_str(json_object *doc, const char *key)
{
    const char *s = jstr(doc, key);
    return s && *s ? s : NULL;
}

cfdr_code cmd_alarmd(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err)
{
    const char *dir = cli_get(inv, "dir");
    struct cfdr_config cfg;
    struct alarmd_options o;
    struct alarmd_ready ready = {err, CFDR_OK};
    char path[4096], *text = NULL;
    size_t len = 0;
    json_object *doc = NULL, *c;
    cfdr_code rc;

    config_defaults(&cfg);
    if (!dir)
        return err_set(err, CFDR_E_USAGE, "cfdr _alarmd needs --dir");
    snprintf(path, sizeof(path), "%s/alarmd.json", dir);
    if ((rc = atomicfile_read(path, BUF_MAX_DOC, &text, &len, err)))
        return rc;
    doc = json_tokener_parse(text);
    free(text);
    if (!doc || !(c = jget(doc, "config")) || !file_str(doc, "state_file") ||
        !file_str(doc, "spool_dir")) {
        json_object_put(doc);
        return err_set(err, CFDR_E_CONFIG, "%s: not an alarm service configuration", path);
    }
    if ((rc = config_load_string(json_object_to_json_string(c), path, &cfg, err)))
        goto out;
    memset(&o, 0, sizeof(o));
    o.dir = dir;
    o.state_path = file_str(doc, "state_file");
    o.spool_dir = file_str(doc, "spool_dir");
    o.file_target = file_str(doc, "notifications_file");
    o.project = cfg.project;
    o.period_s = cfg.alarms.period_s;
    o.secondary_region = cfg.secondary.region;
    o.secondary_service = cfg.secondary.service;
    o.webhooks = (const char *const *)cfg.alarms.https;
    o.nwebhooks = cfg.alarms.n_https;
    o.emails = (const char *const *)cfg.alarms.email;
    o.nemails = cfg.alarms.n_email;
    o.smtp_url = cfg.alarms.smtp;
    o.log = &app->log;
    o.on_ready = on_alarmd_ready;
    o.ready_ud = &ready;
    rc = alarmd_run(&o, err);
    if (!rc && ready.rc)
        rc = ready.rc;
out:
    config_free(&cfg);
    json_object_put(doc);
    return rc;
}
