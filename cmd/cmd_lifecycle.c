/* cmd_lifecycle: `cfdr create`, `cfdr status` and `cfdr destroy` — the same logic for both
 * modes, on a provider (provider.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/config.h"
#include "cmd/provider.h"
#include "cmd/state.h"
#include "edge/failover.h"

static const char *mode_name(const struct cfdr_app *app)
{
    return app->g.local ? "local" : "aws";
}

/* The failover budget (PRODUCT.md section 4): what each kind of outage costs a viewer. */
static void say_budget(struct cfdr_app *app, const struct cfdr_config *c)
{
    const struct config_origin_group *g = &c->origin_group;
    app_say(app, "failover budget (every request pays it; CloudFront keeps no memory):");
    app_say(app, "  paused or 5xx primary : one primary round trip, then the secondary");
    app_say(app, "  refused connection    : %d failed connect%s, then the secondary",
            g->connection_attempts, g->connection_attempts == 1 ? "" : "s");
    app_say(app, "  blackholed primary    : %d x %d s = %d s before the secondary",
            g->connection_attempts, g->connection_timeout_s,
            g->connection_attempts * g->connection_timeout_s);
    app_say(app, "  hung primary          : %d x %d s = %d s before the secondary",
            g->connection_attempts, g->response_timeout_s,
            g->connection_attempts * g->response_timeout_s);
}

static json_object *budget_json(const struct cfdr_config *c)
{
    const struct config_origin_group *g = &c->origin_group;
    json_object *b = json_object_new_object();
    json_object_object_add(b, "connection_attempts", json_object_new_int(g->connection_attempts));
    json_object_object_add(b, "connection_timeout_s", json_object_new_int(g->connection_timeout_s));
    json_object_object_add(b, "response_timeout_s", json_object_new_int(g->response_timeout_s));
    json_object_object_add(b, "blackhole_s",
                           json_object_new_int(g->connection_attempts * g->connection_timeout_s));
    json_object_object_add(b, "hung_s",
                           json_object_new_int(g->connection_attempts * g->response_timeout_s));
    return b;
}

cfdr_code cmd_create(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err)
{
    struct cfdr_config cfg;
    struct cfdr_state st;
    struct provider p;
    struct provider_edge edge;
    json_object *j;
    cfdr_code rc;

    if ((rc = app_load_config(app, &cfg, err)))
        return rc;
    if ((rc = state_open(app->g.state_dir, cfg.project, mode_name(app), STATE_CREATE, &st, err)))
        goto out_cfg;
    /* A dry run writes nothing at all: not even the lock file (or the directory it is in). */
    if ((!app->g.dry_run && (rc = state_lock(&st, "create", err))) ||
        (rc = provider_open(app, &cfg, &st, &p, err)))
        goto out_state;
    app_say(app, "creating %s failover for %s: primary %s (%s), secondary %s (%s)",
            app->g.local ? "offline" : "AWS", cfg.project, cfg.primary.region, cfg.primary.service,
            cfg.secondary.region, cfg.secondary.service);
    rc = p.ops->create(&p, !cli_has(inv, "no-wait"), cli_has(inv, "with-services"), err);
    if (!rc && app->g.dry_run) {
        /* Nothing exists, so there is no edge and nothing to journal. */
        app_say(app, "dry run: every request above was printed and none was sent; nothing was "
                     "created or recorded");
        goto out_provider;
    }
    if (!rc)
        rc = p.ops->edge(&p, &edge, err);
    if (!rc) {
        j = json_object_new_object();
        json_object_object_add(j, "edge_url", json_object_new_string(edge.url));
        json_object_object_add(j, "mode", json_object_new_string(mode_name(app)));
        rc = state_journal_add(&st, "create", j, err);
    }
    if (rc)
        goto out_provider;
    say_budget(app, &cfg);
    if (app->g.json) {
        j = json_object_new_object();
        json_object_object_add(j, "edge_url", json_object_new_string(edge.url));
        json_object_object_add(j, "project", json_object_new_string(cfg.project));
        json_object_object_add(j, "mode", json_object_new_string(mode_name(app)));
        json_object_object_add(j, "state_dir", json_object_new_string(st.dir));
        json_object_object_add(j, "failover_budget", budget_json(&cfg));
        app_set_result(app, j);
    } else {
        fprintf(app->out, "%s\n", edge.url);
    }
    app_say(app, "ready: %s (next: cfdr %sdrill outage)", edge.url, app->g.local ? "--local " : "");
out_provider:
    provider_close(&p);
out_state:
    state_close(&st);
out_cfg:
    config_free(&cfg);
    return rc;
}

/* Alarm states (PRODUCT.md: status shows them), once `alarms setup` has run. A failure to read
 * them is a warning: the resources' status stands on its own. */
static void add_alarm_states(struct cfdr_app *app, struct provider *p, struct cfdr_state *st,
                             json_object *doc)
{
    json_object *journal = state_journal(st), *tmp, *v;
    int set_up = 0;
    cfdr_err e;
    for (size_t i = 0; journal && i < json_object_array_length(journal); i++) {
        json_object *ev = json_object_object_get(json_object_array_get_idx(journal, i), "event");
        if (ev && strcmp(json_object_get_string(ev), "alarms_setup") == 0)
            set_up = 1;
    }
    if (!set_up || !p->ops->alarms_status)
        return;
    tmp = json_object_new_object();
    if (p->ops->alarms_status(p, tmp, &e) != CFDR_OK)
        app_warn(app, "alarm states unavailable: %s", e.msg);
    else if (json_object_object_get_ex(tmp, "alarms", &v))
        json_object_object_add(doc, "alarms", json_object_get(v));
    json_object_put(tmp);
}

/* The resource r (kind "alarm", AWS mode) is among doc's alarm states: same name and region. */
static int alarm_listed(json_object *doc, json_object *r)
{
    json_object *list = json_object_object_get(doc, "alarms");
    const char *name = json_object_get_string(json_object_object_get(r, "name"));
    const char *region = json_object_get_string(json_object_object_get(r, "region"));
    for (size_t i = 0; list && name && region && i < json_object_array_length(list); i++) {
        json_object *a = json_object_array_get_idx(list, i);
        const char *an = json_object_get_string(json_object_object_get(a, "name"));
        const char *ar = json_object_get_string(json_object_object_get(a, "region"));
        if (an && ar && strcmp(an, name) == 0 && strcmp(ar, region) == 0)
            return 1;
    }
    return 0;
}

cfdr_code cmd_status(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err)
{
    struct cfdr_config cfg;
    struct cfdr_state st;
    struct provider p;
    json_object *doc, *list;
    cfdr_code rc;
    (void)inv;

    if ((rc = app_load_config(app, &cfg, err)))
        return rc;
    rc = state_open(app->g.state_dir, cfg.project, mode_name(app), STATE_MUST_EXIST, &st, err);
    if (rc == CFDR_E_NOTFOUND) {
        /* Nothing created yet is a state, not an error. */
        app_say(app, "nothing is recorded in %s: cfdr has created nothing here", app->g.state_dir);
        if (app->g.json) {
            doc = json_object_new_object();
            json_object_object_add(doc, "resources", json_object_new_array());
            app_set_result(app, doc);
        }
        config_free(&cfg);
        return CFDR_OK;
    }
    if (rc)
        goto out_cfg;
    if ((rc = provider_open(app, &cfg, &st, &p, err)))
        goto out_state;
    doc = json_object_new_object();
    json_object_object_add(doc, "project", json_object_new_string(cfg.project));
    json_object_object_add(doc, "mode", json_object_new_string(mode_name(app)));
    rc = p.ops->status(&p, doc, err);
    if (!rc)
        add_alarm_states(app, &p, &st, doc);
    if (!rc && !app->g.json) {
        list = json_object_object_get(doc, "resources");
        fprintf(app->out, "%s (%s): %zu resource%s\n", cfg.project, mode_name(app),
                json_object_array_length(list), json_object_array_length(list) == 1 ? "" : "s");
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            json_object *r = json_object_array_get_idx(list, i), *v;
            const char *kind = json_object_get_string(json_object_object_get(r, "kind"));
            const char *id = json_object_get_string(json_object_object_get(r, "id"));
            int running = json_object_get_boolean(json_object_object_get(r, "running"));
            int healthy = json_object_object_get_ex(r, "healthy", &v) && json_object_get_boolean(v);
            /* A resource that is the only one of its kind has its kind as id ("distribution
             * distribution"): show what names it instead (the distribution's id), or nothing. */
            if (kind && id && strcmp(kind, id) == 0)
                id = json_object_object_get_ex(r, "distribution_id", &v) ? json_object_get_string(v)
                                                                         : "";
            /* an alarm the alarm states below show (with its state and since when) once */
            if (kind && strcmp(kind, "alarm") == 0 && alarm_listed(doc, r))
                continue;
            fprintf(app->out, "  %-8s %-10s %-8s", kind, id,
                    running ? (healthy ? "healthy" : "unhealthy") : "gone");
            if (json_object_object_get_ex(r, "region", &v))
                fprintf(app->out, " %s", json_object_get_string(v));
            if (json_object_object_get_ex(r, "mode", &v))
                fprintf(app->out, " mode=%s", json_object_get_string(v));
            if (json_object_object_get_ex(r, "url", &v))
                fprintf(app->out, " %s", json_object_get_string(v));
            else if (json_object_object_get_ex(r, "port", &v))
                fprintf(app->out, " port=%d", json_object_get_int(v));
            fputc('\n', app->out);
        }
        list = json_object_object_get(doc, "alarms");
        for (size_t i = 0; list && i < json_object_array_length(list); i++) {
            json_object *a = json_object_array_get_idx(list, i);
            const char *name = json_object_get_string(json_object_object_get(a, "name"));
            const char *state = json_object_get_string(json_object_object_get(a, "state"));
            const char *since = json_object_get_string(json_object_object_get(a, "updated_at"));
            fprintf(app->out, "  alarm    %-32s %s%s%s\n", name ? name : "?", state ? state : "?",
                    since ? " since " : "", since ? since : "");
        }
    }
    if (!rc && app->g.json)
        app_set_result(app, json_object_get(doc));
    json_object_put(doc);
    provider_close(&p);
out_state:
    state_close(&st);
out_cfg:
    config_free(&cfg);
    return rc;
}

static int confirm(struct cfdr_app *app, const struct cfdr_state *st)
{
    char answer[16];
    if (!isatty(fileno(stdin)))
        return 1; /* not a person at a terminal: --yes is implied only for non-TTY stdin */
    fprintf(app->errs, "destroy the %zu resource%s recorded in %s? [y/N] ",
            state_resource_count(st), state_resource_count(st) == 1 ? "" : "s", st->dir);
    fflush(app->errs);
    if (!fgets(answer, sizeof(answer), stdin))
        return 0;
    return answer[0] == 'y' || answer[0] == 'Y';
}

cfdr_code cmd_destroy(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err)
{
    struct cfdr_config cfg;
    struct cfdr_state st;
    struct provider p;
    size_t removed = 0, gone = 0;
    json_object *j;
    cfdr_code rc;

    if ((rc = app_load_config(app, &cfg, err)))
        return rc;
    rc = state_open(app->g.state_dir, cfg.project, mode_name(app), STATE_MUST_EXIST, &st, err);
    if (rc == CFDR_E_NOTFOUND || (!rc && state_resource_count(&st) == 0)) {
        app_say(app, "nothing to destroy: no resource is recorded in %s", app->g.state_dir);
        if (app->g.json) {
            j = json_object_new_object();
            json_object_object_add(j, "removed", json_object_new_int(0));
            json_object_object_add(j, "already_gone", json_object_new_int(0));
            app_set_result(app, j);
        }
        if (!rc)
            state_close(&st);
        config_free(&cfg);
        return CFDR_OK;
    }
    if (rc)
        goto out_cfg;
    if ((!app->g.dry_run && (rc = state_lock(&st, "destroy", err))) ||
        (rc = provider_open(app, &cfg, &st, &p, err)))
        goto out_state;
    if (!app->g.dry_run && !cli_has(inv, "yes") && !confirm(app, &st)) {
        rc = err_set(err, CFDR_E_USAGE, "not confirmed; nothing was destroyed (use --yes)");
        goto out_provider;
    }
    app_say(app, "destroying what cfdr recorded in %s", st.dir);
    rc = p.ops->destroy(&p, cli_has(inv, "delete-services"), &removed, &gone, err);
    if (!rc && app->g.dry_run) {
        app_say(app, "dry run: every request above was printed and none was sent; nothing was "
                     "deleted and the state is unchanged");
        goto out_provider;
    }
    j = json_object_new_object();
    json_object_object_add(j, "removed", json_object_new_int((int)removed));
    json_object_object_add(j, "already_gone", json_object_new_int((int)gone));
    json_object_object_add(j, "complete", json_object_new_boolean(rc == CFDR_OK));
    {
        /* Journal even a partial destroy; its own failure matters only if all else went well. */
        cfdr_code jrc = state_journal_add(&st, "destroy", json_object_get(j), rc ? NULL : err);
        if (!rc)
            rc = jrc;
    }
    if (!rc) {
        app_say(app, "destroyed: %zu removed, %zu already gone; nothing cfdr created is left",
                removed, gone);
        if (app->g.json)
            app_set_result(app, json_object_get(j));
        else
            fprintf(app->out, "%zu removed, %zu already gone\n", removed, gone);
    }
    json_object_put(j);
out_provider:
    provider_close(&p);
out_state:
    state_close(&st);
out_cfg:
    config_free(&cfg);
    return rc;
}
