/* cmd_drill: `cfdr drill outage` and `cfdr verify-failback` — the drills, written once for
 * both modes on a provider (provider.h), the choreography in drills/drill, the figures in
 * drills/analysis and the documents in drills/report. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/atomicfile.h"
#include "aws/buf.h"
#include "cmd/commands.h"
#include "aws/clock.h"
#include "cmd/config.h"
#include "cmd/daemon.h"
#include "cmd/provider.h"
#include "cmd/state.h"
#include "drills/alarmd.h"
#include "drills/drill.h"
#include "drills/report.h"

struct drill_ctx {
    struct cfdr_app *app;
    struct provider *p;
    const char *fault;
};

static cfdr_code hook_inject(void *ud, cfdr_err *err)
{
    struct drill_ctx *c = ud;
    return c->p->ops->inject(c->p, c->fault, err);
}

static cfdr_code hook_recover(void *ud, cfdr_err *err)
{
    struct drill_ctx *c = ud;
    return c->p->ops->recover(c->p, err);
}

static void hook_progress(void *ud, const struct drill_progress *pr)
{
    struct drill_ctx *c = ud;
    size_t served = pr->primary + pr->secondary;
    if (pr->primary_direct >= 0) {
        /* the origins do not say who answered: what the direct probes see */
        app_progress(c->app,
                     "[%6.1fs] %-10s %6zu probes  %4zu errors  primary %s (probed directly)",
                     pr->elapsed_s, pr->phase, pr->probes, pr->errors,
                     pr->primary_direct ? "serving" : "failing");
        return;
    }
    app_progress(c->app,
                 "[%6.1fs] %-10s %6zu probes  %4zu errors  primary %3.0f%%  secondary %3.0f%%",
                 pr->elapsed_s, pr->phase, pr->probes, pr->errors,
                 served ? 100.0 * (double)pr->primary / (double)served : 0.0,
                 served ? 100.0 * (double)pr->secondary / (double)served : 0.0);
}

/* The worst time CloudFront could take to answer through the group, plus a margin: a probe
 * slower than this is a viewer-visible error. */
static double probe_timeout_s(const struct cfdr_config *c)
{
    const struct config_origin_group *g = &c->origin_group;
    return 2.0 * g->connection_attempts * (g->connection_timeout_s + g->response_timeout_s) + 5;
}

static void plan_from(struct drill_plan *plan, const struct cfdr_app *app,
                      const struct cfdr_config *cfg, const struct provider_edge *edge)
{
    memset(plan, 0, sizeof(*plan));
    plan->url = edge->url;
    plan->rate = cfg->drill.rate;
    plan->baseline_s = 2;
    plan->duration_s = cfg->drill.duration_s;
    plan->timeout_s = 300;
    plan->confirm_s = 2;
    plan->probe_timeout_s = probe_timeout_s(cfg);
    plan->progress_interval_s = 0.25;
    plan->served_by_header = cfg->drill.served_by_header;
    plan->primary_value = edge->primary_value;
    plan->secondary_value = edge->secondary_value;
    /* Direct probes of the origins: who served what when they send no served_by_header, and
     * (AWS, where PauseService and ResumeService are asynchronous) when the primary really
     * stopped or started serving. */
    plan->primary_url = edge->primary_url;
    plan->secondary_url = edge->secondary_url;
    plan->origin_timeout_s = cfg->origin_group.response_timeout_s;
    plan->direct_timeout_s =
        cfg->origin_group.connection_timeout_s + cfg->origin_group.response_timeout_s + 1;
    plan->direct_connect_timeout_s = cfg->origin_group.connection_timeout_s;
    plan->event_from_direct = !app->g.local;
    plan->interrupted = app->interrupted;
    plan->log = &app->log;
}

static void labels(const struct cfdr_config *cfg, char *prim, char *sec, size_t n)
{
    snprintf(prim, n, "%s · %s", cfg->primary.region, cfg->primary.service);
    snprintf(sec, n, "%s · %s", cfg->secondary.region, cfg->secondary.service);
}

/* What both kinds of report share: the setting, the timeline and the budget. labels holds
 * the two origin labels (2 x 128 bytes). */
static void report_base(struct drill_report *r, enum drill_report_kind kind,
                        const struct provider *p, const struct cfdr_config *cfg,
                        const struct provider_edge *edge, const struct drill_plan *plan,
                        const struct drill_outcome *out, char labels_buf[2][128])
{
    memset(r, 0, sizeof(*r));
    labels(cfg, labels_buf[0], labels_buf[1], 128);
    r->kind = kind;
    r->mode = p->ops->mode;
    r->project = cfg->project;
    r->edge_url = edge->url;
    r->primary_label = labels_buf[0];
    r->secondary_label = labels_buf[1];
    r->started_at = out->started_at;
    r->rate = plan->rate;
    r->event_s = out->event_s;
    r->event_end_s = kind == DRILL_REPORT_OUTAGE ? out->event_end_s : -1;
    r->event_started_at = out->event_started_at;
    r->requested_s = out->requested_s;
    r->requested_at = out->requested_s >= 0 ? out->requested_at : NULL;
    r->served_by_method = drill_servedby_method_name(out->served_by.method);
    r->served_by_fingerprint = out->served_by.fingerprint;
    r->served_by_uncertain = out->served_by.uncertain;
    r->probes = out->probes;
    r->nprobes = out->nprobes;
    r->budget.connection_attempts = cfg->origin_group.connection_attempts;
    r->budget.connection_timeout_s = cfg->origin_group.connection_timeout_s;
    r->budget.response_timeout_s = cfg->origin_group.response_timeout_s;
    r->alert_seconds = -1;
    r->interrupted = out->interrupted;
}

/* "2026-11-25T15:17:03.123Z" -> wall seconds; -1 when malformed. */
static double iso_to_wall(const char *iso)
{
    struct tm tm;
    int y, mo, d, h, mi;
    double sec;
    if (!iso || sscanf(iso, "%d-%d-%dT%d:%d:%lfZ", &y, &mo, &d, &h, &mi, &sec) != 6)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (double)timegm(&tm) + sec;
}

/* alert_seconds (docs/ALARMS.md, Local mode): the event's start to the first delivery of the
 * failover-active notification it should cause — ALARM after an outage, OK after a failback —
 * to a webhook or e-mail target (the JSON-lines file only when there is neither: it gets every
 * notification milliseconds after it is published, receiver up or down), as the local alarm
 * service recorded it (alarmd_first_alert). The notification can trail the last probe by up to
 * a period, so this waits for it a little (bounded) when it has not arrived yet. */
/* The state `alarm` was in at since_wall, from the alarm service's published records (every
 * change of state to OK or ALARM publishes one): the last one before it, copied to out; "" when
 * there is none or the file cannot be read. */
static void alarm_state_at(const char *dir, const char *alarm, double since_wall, char *out,
                           size_t n)
{
    char path[PATH_MAX + 32], *text = NULL, *line, *save = NULL;
    size_t len = 0;
    double best = -1;
    cfdr_err e;

    out[0] = '\0';
    snprintf(path, sizeof(path), "%s/" ALARMD_PUBLISHED_FILE, dir);
    if (atomicfile_read(path, 64u * 1024u * 1024u, &text, &len, &e) != CFDR_OK)
        return;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_object *o = json_tokener_parse(line), *al, *stt, *at;
        if (o && json_object_object_get_ex(o, "alarm", &al) &&
            json_object_object_get_ex(o, "state", &stt) &&
            json_object_object_get_ex(o, "published_at", &at) &&
            strcmp(json_object_get_string(al), alarm) == 0 &&
            json_object_get_double(at) < since_wall && json_object_get_double(at) >= best) {
            best = json_object_get_double(at);
            snprintf(out, n, "%s", json_object_get_string(stt));
        }
        json_object_put(o);
    }
    free(text);
}

static void find_alert(struct cfdr_app *app, struct cfdr_state *st, const struct cfdr_config *cfg,
                       struct drill_report *r, char *note, size_t n)
{
    json_object *res = state_resource(st, "alarmd", "alarmd"), *v;
    const char *state = r->kind == DRILL_REPORT_OUTAGE ? "ALARM" : "OK";
    char dir[PATH_MAX], alarm[CONFIG_PROJECT_MAX + 32], before[24];
    double since = iso_to_wall(r->event_started_at), until;
    double grace = cfg->alarms.period_s + 1.0 < 3.0 ? cfg->alarms.period_s + 1.0 : 3.0;
    struct daemon_id id;
    struct alarmd_alert a;
    cfdr_err e;

    memset(&a, 0, sizeof(a));
    r->alert_note = note;
    if (!app->g.local) {
        snprintf(note, n,
                 "not measured in AWS mode: SNS does not tell cfdr when a subscriber "
                 "received a notification");
        return;
    }
    if (!res) {
        snprintf(note, n, "no alarms are set up (cfdr --local alarms setup)");
        return;
    }
    if (since < 0 || !realpath(st->dir, dir) || strlen(dir) + 8 >= sizeof(dir)) {
        snprintf(note, n, "the %s start time or the state directory is unknown",
                 r->kind == DRILL_REPORT_OUTAGE ? "outage" : "resume");
        return;
    }
    strcat(dir, "/alarms");
    snprintf(alarm, sizeof(alarm), "%s" ALARMD_FAILOVER_SUFFIX, cfg->project);
    id.pid = json_object_object_get_ex(res, "pid", &v) ? (pid_t)json_object_get_int64(v) : 0;
    id.start_time = json_object_object_get_ex(res, "start_time", &v)
                        ? (unsigned long long)json_object_get_uint64(v)
                        : 0;
    until = clock_mono_s() + grace;
    for (;;) {
        if (alarmd_first_alert(dir, alarm, state, since, &a, &e)) {
            snprintf(note, n, "the alarm service's deliveries could not be read: %.200s", e.msg);
            return;
        }
        if (a.found || clock_mono_s() >= until || (app->interrupted && *app->interrupted) ||
            daemon_check(&id, "_alarmd") != DAEMON_OURS)
            break;
        clock_sleep_s(0.05);
    }
    before[0] = '\0';
    if (!a.found)
        alarm_state_at(dir, alarm, since, before, sizeof(before));
    if (a.found) {
        r->alert_seconds = a.delivered_at - since;
        r->alert_note = NULL;
        r->alert_target = strcmp(a.kind, "webhook") == 0 ? "webhook"
                          : strcmp(a.kind, "email") == 0 ? "email"
                                                         : "file";
        app_say(app, "  %s notification of %s received %.3f s after the %s started (%s)", state,
                alarm, r->alert_seconds, r->kind == DRILL_REPORT_OUTAGE ? "outage" : "resume",
                r->alert_target);
    } else if (daemon_check(&id, "_alarmd") != DAEMON_OURS) {
        snprintf(note, n, "the alarm service is not running (cfdr --local alarms setup starts it)");
    } else if (strcmp(before, state) == 0) {
        /* nothing was due: an alarm notifies only when it changes state */
        snprintf(note, n,
                 "no %s notification of %s was due: the alarm was in %s already when the %s "
                 "started, and an alarm notifies only on a change of state",
                 state, alarm, state, r->kind == DRILL_REPORT_OUTAGE ? "outage" : "resume");
    } else {
        snprintf(note, n, "no %s notification of %s was delivered to %s within the drill window",
                 state, alarm,
                 a.user_targets ? "a webhook or e-mail target (they stay spooled and are retried)"
                                : "any target");
    }
}

/* Writes the three documents and journals the drill; fills path with the JSON report's. */
static cfdr_code write_report(struct cfdr_app *app, struct cfdr_state *st,
                              const struct cli_invocation *inv, const struct drill_report *r,
                              const char *event, char *json_path, size_t n, cfdr_err *err)
{
    struct buf dir;
    char base[64], stamp[32];
    json_object *doc = NULL, *j;
    cfdr_code rc;

    buf_init(&dir, BUF_MAX_SMALL);
    if (cli_get(inv, "report"))
        rc = buf_adds(&dir, cli_get(inv, "report"));
    else
        rc = buf_addf(&dir, "%s/reports", st->dir);
    if (rc)
        return err_set(err, rc, "report directory path too long");
    /* 2026-11-25T15:17:03.123Z -> drill-20261125T151703Z */
    snprintf(stamp, sizeof(stamp), "%s", r->started_at);
    snprintf(base, sizeof(base), "%s-%.4s%.2s%.2sT%.2s%.2s%.2sZ", event, stamp, stamp + 5,
             stamp + 8, stamp + 11, stamp + 14, stamp + 17);
    rc = drill_report_write(r, buf_str(&dir), base, err);
    if (!rc)
        rc = drill_report_json(r, &doc, err);
    if (!rc) {
        snprintf(json_path, n, "%s/%s.json", buf_str(&dir), base);
        /* The journal keeps a summary and where the report is; the state file stays small
         * (the report with its timeline can be megabytes). */
        static const char *const keep[] = {"kind",
                                           "result",
                                           "verdict",
                                           "fault",
                                           "probes",
                                           "client_errors",
                                           "failover_seconds",
                                           "steady_seconds",
                                           "failback_seconds",
                                           "served_by_method",
                                           "alert_seconds",
                                           "interrupted",
                                           "started_at",
                                           NULL};
        j = json_object_new_object();
        json_object_object_add(j, "report", json_object_new_string(json_path));
        for (const char *const *k = keep; *k; k++) {
            json_object *v;
            if (json_object_object_get_ex(doc, *k, &v))
                json_object_object_add(j, *k, json_object_get(v));
        }
        rc = state_journal_add(st, event, j, err);
    }
    if (!rc && app->g.json)
        app_set_result(app, json_object_get(doc));
    json_object_put(doc);
    buf_free(&dir);
    return rc;
}

static void say_served_by(struct cfdr_app *app, const struct drill_report *r)
{
    if (r->served_by_method && strcmp(r->served_by_method, "header") != 0)
        app_say(app, "  origins told apart by: %s%s%s%s (%zu probe%s uncertain)",
                r->served_by_method, r->served_by_fingerprint ? " (" : "",
                r->served_by_fingerprint ? r->served_by_fingerprint : "",
                r->served_by_fingerprint ? ")" : "", r->served_by_uncertain,
                r->served_by_uncertain == 1 ? "" : "s");
    if (r->requested_at && r->event_started_at && strcmp(r->requested_at, r->event_started_at))
        app_say(app, "  %s requested at %s; the primary was seen %s at %s (%.3f s later)",
                r->kind == DRILL_REPORT_OUTAGE ? "fault" : "resume", r->requested_at,
                r->kind == DRILL_REPORT_OUTAGE ? "failing" : "serving again", r->event_started_at,
                r->event_s - r->requested_s);
}

static void say_outage(struct cfdr_app *app, const struct drill_report *r, const char *path)
{
    const struct drill_outage_figures *f = &r->outage;
    app_say(app, "%s: %s", r->passed ? "PASS" : "FAIL", r->verdict);
    if (f->failed_over && f->steady_seconds >= 0)
        app_say(app,
                "  failover after %.3f s; every probe served by the secondary from second %.0f",
                f->failover_seconds, f->steady_seconds);
    else if (f->failed_over)
        app_say(app, "  failover after %.3f s; never steadily on the secondary",
                f->failover_seconds);
    app_say(app, "  %zu probes, %zu viewer-visible errors, served: primary %zu, secondary %zu",
            f->probes, f->client_errors, f->served_primary, f->served_secondary);
    say_served_by(app, r);
    app_say(app, "  latency p50/p99 before %.1f/%.1f ms, during %.1f/%.1f ms",
            f->before.p50_s * 1e3, f->before.p99_s * 1e3, f->during.p50_s * 1e3,
            f->during.p99_s * 1e3);
    app_say(app, "report: %s (and .md, .html beside it)", path);
}

/* Before the baseline: a drill measures a change, so the primary must be up for an outage
 * drill and down for a failback check. want_down: what verify-failback needs. A primary whose
 * state is not sure (AWS: an operation in progress) is left to the drill's hooks. */
static cfdr_code check_primary(struct cfdr_app *app, struct provider *p, int want_down,
                               cfdr_err *err)
{
    const char *local = app->g.local ? "--local " : "";
    char what[64];
    int down;
    cfdr_code rc;

    if (!p->ops->primary_down)
        return CFDR_OK;
    if ((rc = p->ops->primary_down(p, &down, what, sizeof(what), err)))
        return err_wrap(err, "checking whether the primary is down");
    if (down == 1 && !want_down)
        return err_set(err, CFDR_E_USAGE,
                       "the primary is already down (%s, left so by an earlier drill): run cfdr "
                       "%sverify-failback first",
                       what, local);
    if (down == 0 && want_down)
        return err_set(err, CFDR_E_USAGE,
                       "the primary is already serving (%s): nothing to fail back (run cfdr "
                       "%sdrill outage first)",
                       what, local);
    return CFDR_OK;
}

static cfdr_code open_all(struct cfdr_app *app, struct cfdr_config *cfg, struct cfdr_state *st,
                          struct provider *p, struct provider_edge *edge, const char *what,
                          cfdr_err *err)
{
    cfdr_code rc;
    if ((rc = app_load_config(app, cfg, err)))
        return rc;
    rc = state_open(app->g.state_dir, cfg->project, app->g.local ? "local" : "aws",
                    STATE_MUST_EXIST, st, err);
    if (!rc)
        rc = state_lock(st, what, err);
    if (!rc)
        rc = provider_open(app, cfg, st, p, err);
    if (!rc && (rc = p->ops->edge(p, edge, err)))
        provider_close(p);
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

cfdr_code cmd_drill_outage(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err)
{
    struct cfdr_config cfg;
    struct cfdr_state st;
    struct provider p;
    struct provider_edge edge;
    struct drill_ctx ctx;
    struct drill_hooks hooks;
    struct drill_plan plan;
    struct drill_outcome out;
    struct drill_report r;
    char lab[2][128], verdict[256], path[1024], alert_note[256];
    const char *fault = cli_get(inv, "fault") ? cli_get(inv, "fault") : "pause";
    long rate = 0;
    double duration = 0;
    cfdr_code rc, run_rc;

    if ((rc = open_all(app, &cfg, &st, &p, &edge, "drill outage", err)))
        return rc;
    if (!provider_supports_fault(&p, fault)) {
        rc = err_set(err, CFDR_E_USAGE,
                     "there is no --fault %s in %s mode; the faults are: local mode (--local) "
                     "pause, error, refuse, blackhole, slow; AWS mode pause",
                     fault, p.ops->mode);
        goto out;
    }
    plan_from(&plan, app, &cfg, &edge);
    if ((rc = cli_get_long(inv, "rate", 1, 1000, &rate, err)) ||
        (rc = cli_get_seconds(inv, "duration", 1, CONFIG_DURATION_MAX_S, &duration, err)) ||
        (rc = check_primary(app, &p, 0, err)))
        goto out;
    if (rate)
        plan.rate = (double)rate;
    if (duration > 0)
        plan.duration_s = duration;
    plan.resume_at_end = cli_has(inv, "resume");

    ctx.app = app;
    ctx.p = &p;
    ctx.fault = fault;
    hooks.inject = hook_inject;
    hooks.recover = hook_recover;
    hooks.progress = hook_progress;
    hooks.ud = &ctx;
    app_say(app,
            "drill: %s fault on the primary (%s), probing %s at %.0f/s: 2 s baseline, "
            "%.0f s outage%s",
            fault, cfg.primary.region, edge.url, plan.rate, plan.duration_s,
            plan.resume_at_end ? ", then resume" : "");
    run_rc = drill_run_outage(&plan, &hooks, &out, err);
    app_progress_end(app);
    if (run_rc && run_rc != CFDR_E_INTERRUPTED && out.nprobes == 0) {
        rc = run_rc;
        goto out;
    }

    report_base(&r, DRILL_REPORT_OUTAGE, &p, &cfg, &edge, &plan, &out, lab);
    r.fault = fault;
    if (drill_analyze_outage(out.probes, out.nprobes, out.event_s >= 0 ? out.event_s : INFINITY,
                             &r.outage) != 0) {
        rc = err_set(err, CFDR_E_NOMEM, "out of memory analysing the drill");
        goto out_outcome;
    }
    r.passed =
        !out.interrupted && !out.hook_rc && r.outage.failed_over && r.outage.client_errors == 0;
    if (out.interrupted)
        snprintf(verdict, sizeof(verdict), "interrupted after %zu probes: a partial report",
                 out.nprobes);
    else if (out.hook_rc)
        snprintf(verdict, sizeof(verdict), "the outage could not be injected: %.200s",
                 out.hook_error);
    else if (!r.outage.failed_over)
        snprintf(verdict, sizeof(verdict), "traffic never moved to the secondary");
    else if (r.outage.client_errors)
        snprintf(verdict, sizeof(verdict), "failover happened, but %zu viewer%s saw an error",
                 r.outage.client_errors, r.outage.client_errors == 1 ? "" : "s");
    else
        snprintf(verdict, sizeof(verdict),
                 "traffic moved to the secondary in %.3f s with no viewer-visible error",
                 r.outage.failover_seconds);
    r.verdict = verdict;
    find_alert(app, &st, &cfg, &r, alert_note, sizeof(alert_note));
    if ((rc = write_report(app, &st, inv, &r, "drill", path, sizeof(path), err)))
        goto out_outcome;
    say_outage(app, &r, path);
    if (!app->g.json)
        fprintf(app->out, "%s\n", path);
    if (!out.recovered && !out.interrupted)
        app_say(app, "the primary stays down: run cfdr %sverify-failback to bring it back",
                app->g.local ? "--local " : "");
    if (run_rc)
        rc = run_rc == CFDR_E_INTERRUPTED
                 ? err_set(err, run_rc, "interrupted: %s; the partial report is kept: %s",
                           out.recovered ? "the primary was brought back"
                                         : "the primary could NOT be brought back (run cfdr "
                                           "verify-failback)",
                           path)
                 : run_rc;
    else if (!r.passed)
        rc = err_set(err, CFDR_E_CHECK, "%s", verdict);
out_outcome:
    drill_outcome_free(&out);
out:
    close_all(&cfg, &st, &p);
    return rc;
}

cfdr_code cmd_verify_failback(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err)
{
    struct cfdr_config cfg;
    struct cfdr_state st;
    struct provider p;
    struct provider_edge edge;
    struct drill_ctx ctx;
    struct drill_hooks hooks;
    struct drill_plan plan;
    struct drill_outcome out;
    struct drill_report r;
    char lab[2][128], verdict[256], path[1024], alert_note[256];
    double timeout = 0;
    cfdr_code rc, run_rc;

    if ((rc = open_all(app, &cfg, &st, &p, &edge, "verify-failback", err)))
        return rc;
    plan_from(&plan, app, &cfg, &edge);
    if ((rc = cli_get_seconds(inv, "timeout", 1, 86400, &timeout, err)) ||
        (rc = check_primary(app, &p, 1, err)))
        goto out;
    if (timeout > 0)
        plan.timeout_s = timeout;
    ctx.app = app;
    ctx.p = &p;
    ctx.fault = NULL;
    hooks.inject = hook_inject;
    hooks.recover = hook_recover;
    hooks.progress = hook_progress;
    hooks.ud = &ctx;
    app_say(app,
            "verify-failback: resuming the primary (%s), probing %s at %.0f/s until it "
            "serves again (at most %.0f s)",
            cfg.primary.region, edge.url, plan.rate, plan.timeout_s);
    run_rc = drill_run_failback(&plan, &hooks, &out, err);
    app_progress_end(app);
    if (run_rc && run_rc != CFDR_E_INTERRUPTED && out.nprobes == 0) {
        rc = run_rc;
        goto out;
    }
    report_base(&r, DRILL_REPORT_FAILBACK, &p, &cfg, &edge, &plan, &out, lab);
    if (drill_analyze_failback(out.probes, out.nprobes, out.event_s >= 0 ? out.event_s : INFINITY,
                               &r.failback) != 0) {
        rc = err_set(err, CFDR_E_NOMEM, "out of memory analysing the failback");
        goto out_outcome;
    }
    if (out.was_serving) /* no resume start to count from: no figure, never an invented one */
        r.failback.failback_seconds = -1;
    r.passed = !out.interrupted && !out.hook_rc && !out.was_serving && r.failback.failed_back &&
               r.failback.client_errors == 0;
    if (out.interrupted)
        snprintf(verdict, sizeof(verdict), "interrupted after %zu probes: a partial report",
                 out.nprobes);
    else if (out.hook_rc)
        snprintf(verdict, sizeof(verdict), "the primary could not be resumed: %.200s",
                 out.hook_error);
    else if (out.was_serving)
        snprintf(verdict, sizeof(verdict),
                 "the primary was already serving when the resume was requested: no failback "
                 "to measure (run cfdr drill outage first)");
    else if (!r.failback.failed_back)
        snprintf(verdict, sizeof(verdict), "the primary did not serve again within %.0f s",
                 plan.timeout_s);
    else if (r.failback.client_errors)
        snprintf(verdict, sizeof(verdict), "traffic came back, but %zu viewer%s saw an error",
                 r.failback.client_errors, r.failback.client_errors == 1 ? "" : "s");
    else
        snprintf(verdict, sizeof(verdict),
                 "traffic came back to the primary in %.3f s with no viewer-visible error",
                 r.failback.failback_seconds);
    r.verdict = verdict;
    find_alert(app, &st, &cfg, &r, alert_note, sizeof(alert_note));
    if ((rc = write_report(app, &st, inv, &r, "failback", path, sizeof(path), err)))
        goto out_outcome;
    app_say(app, "%s: %s", r.passed ? "PASS" : "FAIL", verdict);
    app_say(app, "  %zu probes, %zu viewer-visible errors, served: primary %zu, secondary %zu",
            r.failback.probes, r.failback.client_errors, r.failback.served_primary,
            r.failback.served_secondary);
    say_served_by(app, &r);
    app_say(app, "report: %s (and .md, .html beside it)", path);
    if (!app->g.json)
        fprintf(app->out, "%s\n", path);
    if (run_rc == CFDR_E_INTERRUPTED && !out.recovered)
        rc = err_set(err, run_rc,
                     "interrupted %s: run cfdr %sverify-failback again (the partial report is "
                     "kept: %s)",
                     out.requested_s < 0 ? "before the primary was resumed: it stays down"
                                         : "while the primary was resuming: it may not serve yet",
                     app->g.local ? "--local " : "", path);
    else if (run_rc)
        rc = run_rc;
    else if (!r.passed)
        rc = err_set(err, CFDR_E_CHECK, "%s", verdict);
out_outcome:
    drill_outcome_free(&out);
out:
    close_all(&cfg, &st, &p);
    return rc;
}
