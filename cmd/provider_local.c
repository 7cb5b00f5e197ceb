/*
 * provider_local: offline mode. Two regional stand-ins (cfdr _standin) and the edge
 * (cfdr edge) run as background cfdr processes, tracked in the state file by PID and start
 * time (cmd/daemon.h), and driven over the stand-ins' loopback control API.
 *
 * Test knob (announced with a warning when set): CFDR_STANDIN_IDENTIFY=body|none starts the
 * stand-ins with `_standin --identify`, so that they send no x-region header (body: their
 * bodies still differ; none: identical bodies, like App Runner's sample image) and drills must
 * infer which origin served each probe from direct probes (PRODUCT.md section 4).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "aws/atomicfile.h"
#include "aws/buf.h"
#include "aws/clock.h"
#include "cmd/daemon.h"
#include "cmd/provider.h"
#include "drills/alarmd.h"
#include "drills/notify.h"

#define SPAWN_TIMEOUT_MS 10000
#define STOP_GRACE_MS 3000

static const char *const local_faults[] = {"pause", "error", "refuse", "blackhole", "slow", NULL};

static const char *standin_mode_for(const char *fault)
{
    return strcmp(fault, "pause") == 0 ? "paused" : fault;
}

static long json_long(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? (long)json_object_get_int64(v) : 0;
}

static const char *json_str(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static void id_of(json_object *r, struct daemon_id *id)
{
    json_object *v;
    id->pid = (pid_t)json_long(r, "pid");
    id->start_time = json_object_object_get_ex(r, "start_time", &v)
                         ? (unsigned long long)json_object_get_uint64(v)
                         : 0;
}

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
    struct buf *b = ud;
    if (b && buf_add(b, data, size * n) != CFDR_OK)
        return 0;
    return size * n;
}

/* One small HTTP exchange with a local control or admin port. Returns the status (0 when it
 * could not connect) and, if body is given, the answer. */
static long local_http(const char *method, int port, const char *path, const char *send,
                       struct buf *body)
{
    char url[128];
    long status = 0;
    CURL *c = curl_easy_init();
    if (!c)
        return 0;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 3000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
    if (send)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, send);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

static cfdr_code log_path(struct provider *p, const char *name, struct buf *out, cfdr_err *err)
{
    cfdr_code rc;
    buf_reset(out);
    if ((rc = buf_addf(out, "%s/logs", p->st->dir)))
        return err_set(err, rc, "state directory path too long");
    if ((rc = atomicfile_mkdirs(buf_str(out), 0700, err)))
        return rc;
    if ((rc = buf_addf(out, "/%s.log", name)))
        return err_set(err, rc, "state directory path too long");
    return CFDR_OK;
}

/* Spawns `cfdr argv...` in the background and records it as kind/id with its ready line's
 * fields (ports) merged in. */
static cfdr_code spawn_and_record(struct provider *p, const char *kind, const char *id,
                                  const char *role, const char *const *argv, json_object *extra,
                                  json_object **ready_out, cfdr_err *err)
{
    struct buf lp;
    struct daemon_id did;
    char *ready = NULL;
    json_object *rj = NULL, *fields;
    cfdr_code rc;

    *ready_out = NULL;
    buf_init(&lp, BUF_MAX_SMALL);
    if ((rc = log_path(p, strcmp(kind, "edge") == 0 ? "edge" : id, &lp, err)))
        goto out;
    if ((rc = daemon_spawn(NULL, argv, buf_str(&lp), SPAWN_TIMEOUT_MS, &did, &ready, err)))
        goto out;
    rj = json_tokener_parse(ready);
    if (!rj || !json_object_is_type(rj, json_type_object) || json_long(rj, "port") <= 0) {
        rc = err_set(err, CFDR_E_INTERNAL, "%s %s started but announced '%s'", kind, id, ready);
        goto out;
    }
    fields = json_object_new_object();
    json_object_object_add(fields, "pid", json_object_new_int64(did.pid));
    json_object_object_add(fields, "start_time", json_object_new_uint64(did.start_time));
    json_object_object_add(fields, "role", json_object_new_string(role));
    json_object_object_add(fields, "log", json_object_new_string(buf_str(&lp)));
    json_object_object_add(fields, "created_by_cfdr", json_object_new_boolean(1));
    json_object_object_foreach(rj, k, v) json_object_object_add(fields, k, json_object_get(v));
    if (extra) {
        json_object_object_foreach(extra, k2, v2)
            json_object_object_add(fields, k2, json_object_get(v2));
    }
    if ((rc = state_put_resource(p->st, kind, id, fields, err))) {
        /* Not recorded means cfdr could not clean it up later: stop it now. */
        daemon_stop(&did, role, STOP_GRACE_MS, NULL, NULL);
        goto out;
    }
    *ready_out = rj;
    rj = NULL;
out:
    json_object_put(rj);
    free(ready);
    buf_free(&lp);
    return rc;
}

static int standin_healthy(json_object *r)
{
    struct daemon_id id;
    id_of(r, &id);
    return daemon_check(&id, "_standin") == DAEMON_OURS &&
           local_http("GET", (int)json_long(r, "control_port"), "/health", NULL, NULL) == 200;
}

static cfdr_code ensure_standin(struct provider *p, const char *which,
                                const struct config_origin *o, int *respawned, cfdr_err *err)
{
    json_object *r = state_resource(p->st, "standin", which), *ready = NULL, *extra;
    const char *identify = getenv("CFDR_STANDIN_IDENTIFY");
    const char *argv[] = {"_standin",    "--region", o->region,     "--service",
                          o->service,    "--listen", "127.0.0.1:0", "--control",
                          "127.0.0.1:0", NULL,       NULL,          NULL};
    cfdr_code rc;

    if (identify && *identify) {
        argv[9] = "--identify";
        argv[10] = identify;
    }

    if (r && standin_healthy(r)) {
        app_say(p->app, "  %s stand-in (%s, %s) is running on port %ld: reused", which, o->region,
                o->service, json_long(r, "port"));
        return CFDR_OK;
    }
    if (r) {
        struct daemon_id id;
        id_of(r, &id);
        daemon_stop(&id, "_standin", STOP_GRACE_MS, NULL, NULL);
        app_say(p->app, "  %s stand-in recorded in state is gone: starting a new one", which);
    }
    extra = json_object_new_object();
    json_object_object_add(extra, "region", json_object_new_string(o->region));
    json_object_object_add(extra, "service", json_object_new_string(o->service));
    json_object_object_add(extra, "mode", json_object_new_string("running"));
    if (identify && *identify) {
        app_warn(p->app,
                 "CFDR_STANDIN_IDENTIFY=%s is set (a TEST HOOK): the %s stand-in sends "
                 "no x-region header",
                 identify, which);
        json_object_object_add(extra, "identify", json_object_new_string(identify));
    }
    rc = spawn_and_record(p, "standin", which, "_standin", argv, extra, &ready, err);
    json_object_put(extra);
    if (rc)
        return err_wrap(err, "starting the %s stand-in", which);
    app_say(p->app, "  %s stand-in (%s, %s) started on port %ld", which, o->region, o->service,
            json_long(ready, "port"));
    json_object_put(ready);
    *respawned = 1;
    return CFDR_OK;
}

static cfdr_code ensure_edge(struct provider *p, int restart, cfdr_err *err)
{
    const struct cfdr_config *c = p->cfg;
    json_object *r = state_resource(p->st, "edge", "edge"), *ready = NULL, *extra;
    json_object *pr = state_resource(p->st, "standin", "primary");
    json_object *sr = state_resource(p->st, "standin", "secondary");
    char purl[64], surl[64], codes[64] = "", cto[16], att[16], rto[16], url[64], settings[512];
    struct buf alog;
    struct daemon_id id;
    cfdr_code rc;

    snprintf(purl, sizeof(purl), "http://127.0.0.1:%ld", json_long(pr, "port"));
    snprintf(surl, sizeof(surl), "http://127.0.0.1:%ld", json_long(sr, "port"));
    for (size_t i = 0; i < c->origin_group.n_failover_status_codes; i++)
        snprintf(codes + strlen(codes), sizeof(codes) - strlen(codes), "%s%d", i ? "," : "",
                 c->origin_group.failover_status_codes[i]);
    snprintf(cto, sizeof(cto), "%d", c->origin_group.connection_timeout_s);
    snprintf(att, sizeof(att), "%d", c->origin_group.connection_attempts);
    snprintf(rto, sizeof(rto), "%d", c->origin_group.response_timeout_s);
    /* What the running edge was started with: a change in cfdr.json means a new edge. */
    snprintf(settings, sizeof(settings), "%s %s %s/%s codes=%s connect=%sx%ss response=%ss", purl,
             surl, c->primary.region, c->secondary.region, codes, att, cto, rto);
    if (r) {
        const char *was = json_str(r, "settings");
        id_of(r, &id);
        if (was && strcmp(was, settings) != 0) {
            restart = 1;
            app_say(p->app, "  origin settings changed: restarting the edge");
        }
        if (!restart && daemon_check(&id, "edge") == DAEMON_OURS &&
            local_http("GET", (int)json_long(r, "admin_port"), "/healthz", NULL, NULL) == 200) {
            app_say(p->app, "  edge is running on port %ld: reused", json_long(r, "port"));
            return CFDR_OK;
        }
        daemon_stop(&id, "edge", STOP_GRACE_MS, NULL, NULL);
    }
    buf_init(&alog, BUF_MAX_SMALL);
    if ((rc = log_path(p, "edge-access", &alog, err))) {
        buf_free(&alog);
        return rc;
    }
    {
        const char *argv[] = {"edge",
                              "--listen",
                              "127.0.0.1:0",
                              "--admin",
                              "127.0.0.1:0",
                              "--primary",
                              purl,
                              "--secondary",
                              surl,
                              "--primary-region",
                              c->primary.region,
                              "--secondary-region",
                              c->secondary.region,
                              "--failover-codes",
                              codes,
                              "--connection-timeout",
                              cto,
                              "--connection-attempts",
                              att,
                              "--response-timeout",
                              rto,
                              "--access-log",
                              buf_str(&alog),
                              NULL};
        rc = spawn_and_record(p, "edge", "edge", "edge", argv, NULL, &ready, err);
    }
    buf_free(&alog);
    if (rc)
        return err_wrap(err, "starting the edge");
    snprintf(url, sizeof(url), "http://127.0.0.1:%ld/", json_long(ready, "port"));
    extra = json_object_new_object();
    json_object_object_add(extra, "url", json_object_new_string(url));
    json_object_object_add(extra, "settings", json_object_new_string(settings));
    rc = state_put_resource(p->st, "edge", "edge", extra, err);
    app_say(p->app, "  edge started on port %ld (metrics on port %ld)", json_long(ready, "port"),
            json_long(ready, "admin_port"));
    json_object_put(ready);
    return rc;
}

static cfdr_code local_create(struct provider *p, int wait, int with_services, cfdr_err *err)
{
    int respawned = 0;
    (void)wait;
    (void)with_services; /* the stand-ins are always started */
    CFDR_TRY(ensure_standin(p, "primary", &p->cfg->primary, &respawned, err));
    CFDR_TRY(ensure_standin(p, "secondary", &p->cfg->secondary, &respawned, err));
    /* The edge knows the stand-ins' ports: a new stand-in means a new edge. */
    return ensure_edge(p, respawned, err);
}

static cfdr_code local_edge(struct provider *p, struct provider_edge *out, cfdr_err *err)
{
    json_object *r = state_resource(p->st, "edge", "edge");
    const char *url = r ? json_str(r, "url") : NULL;
    if (!url)
        return err_set(err, CFDR_E_NOTFOUND,
                       "no local edge is recorded in %s; run cfdr --local create first",
                       p->st->dir);
    snprintf(out->url, sizeof(out->url), "%s", url);
    snprintf(out->primary_value, sizeof(out->primary_value), "%s", p->cfg->primary.region);
    snprintf(out->secondary_value, sizeof(out->secondary_value), "%s", p->cfg->secondary.region);
    for (int i = 0; i < 2; i++) {
        json_object *s = state_resource(p->st, "standin", i == 0 ? "primary" : "secondary");
        long port = s ? json_long(s, "port") : 0;
        if (port > 0)
            snprintf(i == 0 ? out->primary_url : out->secondary_url, sizeof(out->primary_url),
                     "http://127.0.0.1:%ld/", port);
    }
    {
        struct daemon_id id;
        id_of(r, &id);
        if (daemon_check(&id, "edge") != DAEMON_OURS)
            return err_set(err, CFDR_E_NOTFOUND,
                           "the local edge (pid %ld) is not running; run cfdr --local create to "
                           "start it again",
                           (long)id.pid);
    }
    return CFDR_OK;
}

static cfdr_code set_primary_mode(struct provider *p, const char *mode, cfdr_err *err)
{
    json_object *r = state_resource(p->st, "standin", "primary"), *f;
    struct buf body;
    long status;
    if (!r)
        return err_set(err, CFDR_E_NOTFOUND,
                       "no primary stand-in is recorded in %s; run cfdr --local create first",
                       p->st->dir);
    buf_init(&body, BUF_MAX_SMALL);
    status = local_http("PUT", (int)json_long(r, "control_port"), "/mode", mode, &body);
    if (status != 200) {
        cfdr_code rc = err_set(
            err, CFDR_E_IO,
            "the primary stand-in did not switch to %s (control port %ld answered %ld%s%.200s); "
            "run cfdr --local status",
            mode, json_long(r, "control_port"), status, buf_len(&body) ? ": " : "", buf_str(&body));
        buf_free(&body);
        return rc;
    }
    buf_free(&body);
    f = json_object_new_object();
    json_object_object_add(f, "mode", json_object_new_string(mode));
    return state_put_resource(p->st, "standin", "primary", f, err);
}

static cfdr_code local_inject(struct provider *p, const char *fault, cfdr_err *err)
{
    return set_primary_mode(p, standin_mode_for(fault), err);
}

static cfdr_code local_recover(struct provider *p, cfdr_err *err)
{
    return set_primary_mode(p, "running", err);
}

/* Asks the primary stand-in its mode (GET /mode on its control port). */
static cfdr_code local_primary_down(struct provider *p, int *down, char *what, size_t n,
                                    cfdr_err *err)
{
    json_object *r = state_resource(p->st, "standin", "primary"), *ans = NULL, *m;
    struct buf body;
    long status;
    cfdr_code rc = CFDR_OK;

    *down = -1;
    if (n)
        what[0] = '\0';
    if (!r)
        return err_set(err, CFDR_E_NOTFOUND,
                       "no primary stand-in is recorded in %s; run cfdr --local create first",
                       p->st->dir);
    buf_init(&body, BUF_MAX_SMALL);
    status = local_http("GET", (int)json_long(r, "control_port"), "/mode", NULL, &body);
    if (status == 200)
        ans = json_tokener_parse(buf_str(&body));
    if (!ans || !json_object_object_get_ex(ans, "mode", &m) ||
        !json_object_is_type(m, json_type_string)) {
        rc = err_set(err, CFDR_E_IO,
                     "the primary stand-in did not say its mode (control port %ld answered %ld); "
                     "run cfdr --local status",
                     json_long(r, "control_port"), status);
    } else {
        snprintf(what, n, "%s", json_object_get_string(m));
        *down = strcmp(json_object_get_string(m), "running") != 0;
    }
    json_object_put(ans);
    buf_free(&body);
    return rc;
}

static cfdr_code local_status(struct provider *p, json_object *out, cfdr_err *err)
{
    json_object *list = json_object_new_array();
    (void)err;
    for (size_t i = 0; i < state_resource_count(p->st); i++) {
        json_object *r = state_resource_at(p->st, i), *o = json_object_new_object();
        const char *role = json_str(r, "role");
        struct daemon_id id;
        enum daemon_state ds;
        id_of(r, &id);
        ds = role ? daemon_check(&id, role) : DAEMON_GONE;
        json_object_object_foreach(r, k, v) json_object_object_add(o, k, json_object_get(v));
        json_object_object_add(o, "running", json_object_new_boolean(ds == DAEMON_OURS));
        if (ds == DAEMON_OURS && strcmp(json_str(r, "kind"), "standin") == 0) {
            /* The service's health, not the process's: a paused (or otherwise faulted)
             * stand-in is up but does not serve, as AWS mode reports a PAUSED service. */
            long st = local_http("GET", (int)json_long(r, "control_port"), "/health", NULL, NULL);
            const char *mode = json_str(r, "mode");
            json_object_object_add(
                o, "healthy",
                json_object_new_boolean(st == 200 && (!mode || strcmp(mode, "running") == 0)));
        } else if (ds == DAEMON_OURS && strcmp(json_str(r, "kind"), "alarmd") == 0) {
            long st = local_http("GET", (int)json_long(r, "port"), "/health", NULL, NULL);
            json_object_object_add(o, "healthy", json_object_new_boolean(st == 200));
        } else if (ds == DAEMON_OURS) {
            long st = local_http("GET", (int)json_long(r, "admin_port"), "/healthz", NULL, NULL);
            json_object_object_add(o, "healthy", json_object_new_boolean(st == 200));
        }
        json_object_array_add(list, o);
    }
    json_object_object_add(out, "resources", list);
    return CFDR_OK;
}

static void alarms_drain(struct provider *p, json_object *r);
static cfdr_code alarms_remove_kept(struct provider *p, cfdr_err *err);

static cfdr_code local_destroy(struct provider *p, int delete_services, size_t *removed,
                               size_t *gone, cfdr_err *err)
{
    (void)delete_services; /* every stand-in was started by cfdr */
    *removed = *gone = 0;
    /* Reverse order of creation: the alarm service, the edge, then the stand-ins. The alarm
     * service first gets a bounded moment to deliver what it has pending; what it kept
     * (configuration, status, spool) goes once it is stopped. */
    while (state_resource_count(p->st) > 0) {
        json_object *r = state_resource_at(p->st, state_resource_count(p->st) - 1);
        char kind[32], id[64];
        const char *role = json_str(r, "role");
        struct daemon_id did;
        enum daemon_state was = DAEMON_GONE;
        snprintf(kind, sizeof(kind), "%s", json_str(r, "kind") ? json_str(r, "kind") : "?");
        snprintf(id, sizeof(id), "%s", json_str(r, "id") ? json_str(r, "id") : "?");
        id_of(r, &did);
        if (strcmp(kind, "alarmd") == 0)
            alarms_drain(p, r);
        if (role)
            CFDR_TRY(daemon_stop(&did, role, STOP_GRACE_MS, &was, err));
        if (was == DAEMON_OURS) {
            (*removed)++;
            app_say(p->app, "  stopped %s %s (pid %ld)", kind, id, (long)did.pid);
        } else {
            (*gone)++;
            app_say(p->app, "  %s %s (pid %ld) was already gone%s", kind, id, (long)did.pid,
                    was == DAEMON_STRANGER ? "; its PID now belongs to another process, left "
                                             "alone"
                                           : "");
        }
        CFDR_TRY(state_remove_resource(p->st, kind, id, err));
    }
    return alarms_remove_kept(p, err);
}

/* ---- alarms (PRODUCT.md section 5): the local alarm service, cfdr _alarmd (drills/alarmd.h)
 *
 * `alarms setup` writes <state>/alarms/alarmd.json (the canonical configuration and the paths
 * the service uses; mode 0600: webhook URLs can hold tokens) and starts `cfdr _alarmd --dir
 * <state>/alarms` in the background, recorded as resource kind "alarmd" like the stand-ins,
 * so destroy stops it. The file's text is also the service's identity: a setup whose file
 * would be the same, with the service healthy, changes nothing; any difference restarts it.
 * The control channel is the service's loopback HTTP port (its ready line's "port"). */

#define ALARMS_TEST_WAIT_S 10.0
#define ALARMS_DRAIN_S 2.0 /* destroy: how long the service may take to deliver what is pending */

static cfdr_code alarms_dir(struct provider *p, char *out, size_t n, cfdr_err *err)
{
    char abs[PATH_MAX];
    if (!realpath(p->st->dir, abs))
        return err_set(err, CFDR_E_IO, "cannot resolve the state directory %s", p->st->dir);
    if ((size_t)snprintf(out, n, "%s/alarms", abs) >= n)
        return err_set(err, CFDR_E_IO, "state directory path too long");
    return atomicfile_mkdirs(out, 0700, err);
}

/* The service's configuration file, as text. */
static cfdr_code alarmd_config_text(struct provider *p, const char *dir, struct buf *out,
                                    cfdr_err *err)
{
    json_object *doc = json_object_new_object(), *cfg = NULL;
    char path[PATH_MAX + 64];
    cfdr_code rc = config_to_json_object(p->cfg, (struct json_object **)&cfg, err);
    if (rc) {
        json_object_put(doc);
        return rc;
    }
    json_object_object_add(doc, "config", cfg);
    snprintf(path, sizeof(path), "%.*s/" STATE_FILE_NAME, (int)(strlen(dir) - strlen("/alarms")),
             dir);
    json_object_object_add(doc, "state_file", json_object_new_string(path));
    snprintf(path, sizeof(path), "%.*s/notify-spool", (int)(strlen(dir) - strlen("/alarms")), dir);
    json_object_object_add(doc, "spool_dir", json_object_new_string(path));
    snprintf(path, sizeof(path), "%s/notifications.jsonl", dir);
    json_object_object_add(doc, "notifications_file", json_object_new_string(path));
    rc = buf_adds(out, json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(doc);
    if (rc)
        return err_set(err, rc, "the alarm service's configuration is too large");
    return CFDR_OK;
}

/* What the service depends on in its configuration file: the project, the secondary origin,
 * the alarms section and the paths. Other changes (drill settings, origin timeouts) leave a
 * running service alone. */
static int same_alarmd_config(const char *old, const char *now)
{
    static const char *const cfg_keys[] = {"project", "secondary", "alarms", NULL};
    static const char *const top_keys[] = {"state_file", "spool_dir", "notifications_file", NULL};
    json_object *a = old ? json_tokener_parse(old) : NULL, *b = json_tokener_parse(now);
    json_object *ca, *cb;
    int same = a && b && json_object_object_get_ex(a, "config", &ca) &&
               json_object_object_get_ex(b, "config", &cb);
    for (const char *const *k = cfg_keys; same && *k; k++)
        same = json_object_equal(json_object_object_get(ca, *k), json_object_object_get(cb, *k));
    for (const char *const *k = top_keys; same && *k; k++)
        same = json_object_equal(json_object_object_get(a, *k), json_object_object_get(b, *k));
    json_object_put(a);
    json_object_put(b);
    return same;
}

static int alarmd_healthy(json_object *r)
{
    struct daemon_id id;
    if (!r)
        return 0;
    id_of(r, &id);
    return daemon_check(&id, "_alarmd") == DAEMON_OURS &&
           local_http("GET", (int)json_long(r, "port"), "/health", NULL, NULL) == 200;
}

/* Notifications the running service still has to deliver; -1 when it does not answer. */
static long alarmd_pending(json_object *r)
{
    struct buf body;
    json_object *doc, *nt, *v;
    long pending = -1;

    buf_init(&body, BUF_MAX_DOC);
    if (local_http("GET", (int)json_long(r, "port"), "/status", NULL, &body) == 200 &&
        (doc = json_tokener_parse(buf_str(&body)))) {
        if (json_object_object_get_ex(doc, "notifications", &nt) &&
            json_object_object_get_ex(nt, "pending", &v))
            pending = (long)json_object_get_int64(v);
        json_object_put(doc);
    }
    buf_free(&body);
    return pending;
}

/* destroy: a bounded moment (ALARMS_DRAIN_S) for the service to deliver what is pending, so
 * that destroy discards only what its targets would not take. */
static void alarms_drain(struct provider *p, json_object *r)
{
    double until = clock_mono_s() + ALARMS_DRAIN_S;
    long pending;

    if (!alarmd_healthy(r) || (pending = alarmd_pending(r)) <= 0)
        return;
    app_say(p->app,
            "  alarm service: %ld notification%s pending; waiting up to %.0f s for delivery",
            pending, pending == 1 ? "" : "s", ALARMS_DRAIN_S);
    while (pending > 0 && clock_mono_s() < until &&
           !(p->app->interrupted && *p->app->interrupted)) {
        clock_sleep_s(0.1);
        pending = alarmd_pending(r);
    }
}

/* destroy, once the service is stopped: removes what it kept that would outlive the setup —
 * alarmd.json (webhook URLs that can hold tokens, the SMTP URL with its credentials),
 * status.json and the spool <state>/notify-spool — and says how many undelivered
 * notifications the spool still held (they are discarded: a later setup must not deliver a
 * destroyed setup's backlog). The records deliveries.jsonl, published.jsonl and
 * notifications.jsonl stay: they hold no URL or credential (redacted targets, target ids,
 * SNS-shaped messages) and drill reports and cfdr report read them. */
static cfdr_code alarms_remove_kept(struct provider *p, cfdr_err *err)
{
    static const char *const kept[] = {"alarms/alarmd.json", "alarms/" ALARMD_STATUS_FILE, NULL};
    char base[PATH_MAX], path[PATH_MAX + 300], spool[PATH_MAX + 32];
    size_t by_kind[3] = {0, 0, 0}, dropped = 0;
    int any = 0;
    DIR *dh;

    if (!realpath(p->st->dir, base))
        return CFDR_OK; /* no state directory: nothing was kept */
    snprintf(spool, sizeof(spool), "%s/notify-spool", base);
    dh = opendir(spool);
    if (!dh && errno != ENOENT)
        return err_set(err, CFDR_E_IO, "cannot read the notification spool %s: %s", spool,
                       strerror(errno));
    if (dh) {
        struct dirent *de;
        cfdr_code rc = CFDR_OK;
        any = 1;
        while (!rc && (de = readdir(dh))) {
            const char *nm = de->d_name;
            size_t len = strlen(nm);
            if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
                continue;
            /* "<seq>-<kind>-<id>.json" is a notification; anything else (a temporary file of
             * an interrupted write) is not one */
            if (nm[0] != '.' && len > 5 && strcmp(nm + len - 5, ".json") == 0) {
                dropped++;
                if (strstr(nm, "-webhook-"))
                    by_kind[NOTIFY_WEBHOOK]++;
                else if (strstr(nm, "-email-"))
                    by_kind[NOTIFY_EMAIL]++;
                else
                    by_kind[NOTIFY_FILE]++;
            }
            snprintf(path, sizeof(path), "%s/%s", spool, nm);
            if (unlink(path) != 0 && errno != ENOENT)
                rc = err_set(err, CFDR_E_IO, "cannot remove %s: %s", path, strerror(errno));
        }
        closedir(dh);
        if (rc)
            return rc;
        if (rmdir(spool) != 0 && errno != ENOENT)
            return err_set(err, CFDR_E_IO, "cannot remove %s: %s", spool, strerror(errno));
    }
    for (const char *const *k = kept; *k; k++) {
        snprintf(path, sizeof(path), "%s/%s", base, *k);
        if (unlink(path) == 0)
            any = 1;
        else if (errno != ENOENT)
            return err_set(err, CFDR_E_IO, "cannot remove %s: %s", path, strerror(errno));
    }
    if (dropped)
        app_say(p->app,
                "  discarded %zu undelivered notification%s (%zu to webhooks, %zu to e-mail, %zu "
                "to the file) that the alarm service still held: their targets did not accept "
                "them before destroy",
                dropped, dropped == 1 ? "" : "s", by_kind[NOTIFY_WEBHOOK], by_kind[NOTIFY_EMAIL],
                by_kind[NOTIFY_FILE]);
    if (any)
        app_say(p->app,
                "  removed the alarm service's configuration (webhook URLs, SMTP credentials), "
                "status and notification spool%s; kept its records (deliveries.jsonl, "
                "published.jsonl, notifications.jsonl: no URLs or credentials)",
                dropped ? "" : " (nothing was left undelivered)");
    return CFDR_OK;
}

static json_object *alarm_summary(const char *name, const char *region, const char *what)
{
    json_object *a = json_object_new_object();
    json_object_object_add(a, "name", json_object_new_string(name));
    json_object_object_add(a, "region", json_object_new_string(region));
    json_object_object_add(a, "metric", json_object_new_string(what));
    return a;
}

static cfdr_code local_alarms_setup(struct provider *p, json_object *out, cfdr_err *err)
{
    const struct cfdr_config *c = p->cfg;
    json_object *r = state_resource(p->st, "alarmd", "alarmd"), *ready = NULL, *list, *ev;
    char dir[PATH_MAX], cpath[PATH_MAX + 32], name[2][CONFIG_PROJECT_MAX + 32], what[128];
    struct buf text;
    char *old = NULL;
    size_t oldlen = 0;
    const char *how;
    int healthy;
    cfdr_code rc;

    if (!state_resource(p->st, "edge", "edge"))
        return err_set(err, CFDR_E_NOTFOUND,
                       "no local edge is recorded in %s: the alarms watch its metrics; run cfdr "
                       "--local create first",
                       p->st->dir);
    if (c->alarms.n_email && !c->alarms.smtp)
        return err_set(err, CFDR_E_CONFIG,
                       "alarms.email: in --local mode e-mail goes out through a mail server; set "
                       "alarms.smtp (e.g. \"smtp://127.0.0.1:2525\") or remove the addresses");
    CFDR_TRY(alarms_dir(p, dir, sizeof(dir), err));
    buf_init(&text, BUF_MAX_DOC);
    if ((rc = alarmd_config_text(p, dir, &text, err)))
        goto out;
    snprintf(cpath, sizeof(cpath), "%s/alarmd.json", dir);
    if (atomicfile_read(cpath, BUF_MAX_DOC, &old, &oldlen, NULL) != CFDR_OK)
        old = NULL;
    healthy = r && alarmd_healthy(r);
    if (healthy && same_alarmd_config(old, buf_str(&text))) {
        how = "reused";
        app_say(p->app, "  alarm service is running (pid %ld): reused, nothing changed",
                json_long(r, "pid"));
    } else {
        const char *argv[] = {"_alarmd", "--dir", dir, "-v", NULL};
        how = r ? "restarted" : "started";
        if (r) {
            struct daemon_id id;
            id_of(r, &id);
            if ((rc = daemon_stop(&id, "_alarmd", STOP_GRACE_MS, NULL, err)))
                goto out;
            app_say(p->app, "  %s: restarting the alarm service",
                    healthy ? "the alarms configuration changed"
                            : "the alarm service recorded in state is not running");
            if ((rc = state_remove_resource(p->st, "alarmd", "alarmd", err)))
                goto out;
        }
        if (!r) {
            /* New alarms start from INSUFFICIENT_DATA, as created ones do in CloudWatch; a
             * restarted service keeps its states (drills/alarmd.c, restore_states). */
            char sp[PATH_MAX + 32];
            snprintf(sp, sizeof(sp), "%s/" ALARMD_STATUS_FILE, dir);
            if (unlink(sp) != 0 && errno != ENOENT) {
                rc = err_set(err, CFDR_E_IO, "cannot remove %s: %s", sp, strerror(errno));
                goto out;
            }
        }
        if ((rc = atomicfile_write(cpath, buf_str(&text), buf_len(&text), 0600, ATOMICFILE_REPLACE,
                                   NULL, err)))
            goto out;
        if ((rc = spawn_and_record(p, "alarmd", "alarmd", "_alarmd", argv, NULL, &ready, err))) {
            err_wrap(err, "starting the alarm service");
            goto out;
        }
        r = state_resource(p->st, "alarmd", "alarmd");
        app_say(p->app, "  alarm service %s (pid %ld, control port %ld)", how, json_long(r, "pid"),
                json_long(ready, "port"));
        json_object_put(ready);
    }
    snprintf(name[0], sizeof(name[0]), "%s" ALARMD_FAILOVER_SUFFIX, c->project);
    snprintf(name[1], sizeof(name[1]), "%s" ALARMD_EDGE_5XX_SUFFIX, c->project);
    list = json_object_new_array();
    snprintf(what, sizeof(what), "AWS/AppRunner Requests (%s) Sum >= 1 per %d s",
             c->secondary.service, c->alarms.period_s);
    json_object_array_add(list, alarm_summary(name[0], c->secondary.region, what));
    snprintf(what, sizeof(what), "AWS/CloudFront 5xxErrorRate Average >= %g%% per %d s",
             ALARMD_5XX_THRESHOLD, c->alarms.period_s);
    json_object_array_add(list, alarm_summary(name[1], ALARMD_5XX_REGION, what));
    json_object_object_add(out, "alarms", list);
    json_object_object_add(out, "period_s", json_object_new_int(c->alarms.period_s));
    json_object_object_add(out, "webhooks", json_object_new_int((int)c->alarms.n_https));
    json_object_object_add(out, "emails", json_object_new_int((int)c->alarms.n_email));
    snprintf(cpath, sizeof(cpath), "%s/notifications.jsonl", dir);
    json_object_object_add(out, "notifications_file", json_object_new_string(cpath));
    ev = json_object_new_object();
    json_object_object_add(ev, "state", json_object_new_string(how));
    json_object_object_add(ev, "pid", json_object_new_int64(json_long(r, "pid")));
    json_object_object_add(ev, "control_port", json_object_new_int64(json_long(r, "port")));
    json_object_object_add(ev, "dir", json_object_new_string(dir));
    json_object_object_add(out, "evaluator", ev);
    json_object_object_add(out, "changed", json_object_new_boolean(strcmp(how, "reused") != 0));
out:
    free(old);
    buf_free(&text);
    return rc;
}

/* The service's status: live from its control port, else the last status.json it wrote. */
static cfdr_code local_alarms_status(struct provider *p, json_object *out, cfdr_err *err)
{
    json_object *r = state_resource(p->st, "alarmd", "alarmd"), *doc = NULL;
    struct buf body;
    int running = 0;
    char dir[PATH_MAX], path[PATH_MAX + 32];

    if (!r) {
        json_object_object_add(out, "alarms", json_object_new_array());
        json_object_object_add(out, "set_up", json_object_new_boolean(0));
        return CFDR_OK;
    }
    buf_init(&body, BUF_MAX_DOC);
    if (alarmd_healthy(r) &&
        local_http("GET", (int)json_long(r, "port"), "/status", NULL, &body) == 200) {
        doc = json_tokener_parse(buf_str(&body));
        running = doc != NULL;
    }
    buf_free(&body);
    if (!doc) {
        char *text = NULL;
        size_t len = 0;
        cfdr_code rc = alarms_dir(p, dir, sizeof(dir), err);
        if (rc)
            return rc;
        snprintf(path, sizeof(path), "%s/" ALARMD_STATUS_FILE, dir);
        if (atomicfile_read(path, BUF_MAX_DOC, &text, &len, NULL) == CFDR_OK)
            doc = json_tokener_parse(text);
        free(text);
    }
    json_object_object_add(out, "set_up", json_object_new_boolean(1));
    json_object_object_add(out, "running", json_object_new_boolean(running));
    json_object_object_add(out, "pid", json_object_new_int64(json_long(r, "pid")));
    if (doc) {
        json_object_object_foreach(doc, k, v)
        {
            if (strcmp(k, "pid") != 0)
                json_object_object_add(out, k, json_object_get(v));
        }
    }
    if (!json_object_object_get_ex(out, "alarms", NULL))
        json_object_object_add(out, "alarms", json_object_new_array());
    json_object_put(doc);
    return CFDR_OK;
}

/* Deliveries of message `id` recorded so far: adds each to `got` ([{kind, target,
 * delivered_at}]) once. */
static void deliveries_of(const char *dir, const char *id, json_object *got)
{
    char path[PATH_MAX + 32], *text = NULL, *line, *save = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/" ALARMD_DELIVERIES_FILE, dir);
    if (atomicfile_read(path, 64u * 1024u * 1024u, &text, &len, NULL) != CFDR_OK)
        return;
    json_object_array_del_idx(got, 0, json_object_array_length(got));
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_object *o = json_tokener_parse(line), *m;
        if (o && json_object_object_get_ex(o, "message_id", &m) &&
            strcmp(json_object_get_string(m), id) == 0)
            json_object_array_add(got, json_object_get(o));
        json_object_put(o);
    }
    free(text);
}

/* Whether target tg ({kind, target, id} of the service's status) is among the deliveries.
 * Matched on the notifier's target id: two webhooks on one host show the same
 * scheme://host[:port], and a delivery to one is not a delivery to the other. A target
 * without an id (a service older than the id) is matched on what is shown. */
static int target_delivered(json_object *got, json_object *tg)
{
    const char *id = json_str(tg, "id"), *kind = json_str(tg, "kind"),
               *shown = json_str(tg, "target");
    for (size_t i = 0; i < json_object_array_length(got); i++) {
        json_object *d = json_object_array_get_idx(got, i);
        const char *did = json_str(d, "target_id"), *dk = json_str(d, "kind"),
                   *dt = json_str(d, "target");
        if (id ? did && strcmp(did, id) == 0
               : kind && shown && dk && dt && strcmp(dk, kind) == 0 && strcmp(dt, shown) == 0)
            return 1;
    }
    return 0;
}

/* A tested alarm that published nothing because it is in ALARM already (CloudWatch notifies
 * only on a change of state): its entry gets "state" and a note that says what to do next,
 * from the service's status document. */
static void not_notified_next_step(struct provider *p, json_object *tested, json_object *status)
{
    json_object *alarms, *period;
    int period_s = json_object_object_get_ex(status, "period_s", &period)
                       ? json_object_get_int(period)
                       : p->cfg->alarms.period_s;
    if (!json_object_object_get_ex(status, "alarms", &alarms))
        return;
    for (size_t i = 0; i < json_object_array_length(tested); i++) {
        json_object *t = json_object_array_get_idx(tested, i), *v;
        const char *alarm = json_str(t, "alarm");
        char note[512];
        /* alarmd says "the alarm is in ALARM already" for this case, other words for others
         * (no action for ALARM, a spool error): those need no wait */
        if (!alarm || json_str(t, "message_id") ||
            (json_object_object_get_ex(t, "notified", &v) && json_object_get_boolean(v)) ||
            !json_str(t, "note") || !strstr(json_str(t, "note"), "in ALARM already"))
            continue;
        for (size_t k = 0; k < json_object_array_length(alarms); k++) {
            json_object *a = json_object_array_get_idx(alarms, k);
            if (!json_str(a, "name") || strcmp(json_str(a, "name"), alarm) != 0 ||
                !json_str(a, "state") || strcmp(json_str(a, "state"), "ALARM") != 0)
                continue;
            json_object_object_add(t, "state", json_object_new_string("ALARM"));
            snprintf(note, sizeof(note),
                     "%s: wait for the next evaluation (period_s %d s) to return it to OK, then "
                     "run cfdr --local alarms test again",
                     json_str(t, "note"), period_s);
            json_object_object_add(t, "note", json_object_new_string(note));
        }
    }
}

static cfdr_code local_alarms_test(struct provider *p, const char *name, json_object *out,
                                   cfdr_err *err)
{
    json_object *r = state_resource(p->st, "alarmd", "alarmd"), *ans = NULL, *tested, *status;
    json_object *targets = NULL, *st;
    struct buf body, path;
    char dir[PATH_MAX], *esc = NULL;
    const char *wait_env = getenv("CFDR_ALARMS_TEST_WAIT_S");
    double wait_s = wait_env && atof(wait_env) > 0 ? atof(wait_env) : ALARMS_TEST_WAIT_S;
    double started, until;
    size_t short_of = 0;
    long code;
    cfdr_code rc = CFDR_OK;

    if (!r)
        return err_set(err, CFDR_E_NOTFOUND,
                       "no alarms are set up in %s; run cfdr --local alarms setup first",
                       p->st->dir);
    if (!alarmd_healthy(r))
        return err_set(err, CFDR_E_NOTFOUND,
                       "the alarm service (pid %ld) is not running; run cfdr --local alarms setup "
                       "to start it again (spooled notifications are kept)",
                       json_long(r, "pid"));
    CFDR_TRY(alarms_dir(p, dir, sizeof(dir), err));
    buf_init(&body, BUF_MAX_DOC);
    buf_init(&path, BUF_MAX_SMALL);
    if (name) {
        CURL *c = curl_easy_init();
        esc = c ? curl_easy_escape(c, name, 0) : NULL;
        if (c)
            curl_easy_cleanup(c);
        if (!esc) {
            rc = err_set(err, CFDR_E_NOMEM, "out of memory");
            goto out;
        }
    }
    if ((rc = buf_addf(&path, "/test%s%s", esc ? "?alarm=" : "", esc ? esc : ""))) {
        rc = err_set(err, rc, "alarm name too long");
        goto out;
    }
    code = local_http("POST", (int)json_long(r, "port"), buf_str(&path), "", &body);
    ans = json_tokener_parse(buf_str(&body));
    if (code == 404 && ans && json_str(ans, "error")) {
        rc = err_set(err, CFDR_E_USAGE, "%s", json_str(ans, "error"));
        goto out;
    }
    if (code != 200 || !ans || !json_object_object_get_ex(ans, "tested", &tested)) {
        rc = err_set(err, CFDR_E_IO, "the alarm service did not take the test (answer %ld)", code);
        goto out;
    }
    /* The targets every notification goes to. */
    buf_reset(&body);
    if (local_http("GET", (int)json_long(r, "port"), "/status", NULL, &body) == 200 &&
        (status = json_tokener_parse(buf_str(&body)))) {
        json_object *nt;
        if (json_object_object_get_ex(status, "notifications", &nt) &&
            json_object_object_get_ex(nt, "targets", &targets))
            json_object_get(targets);
        not_notified_next_step(p, tested, status);
        json_object_put(status);
    }
    if (!targets) {
        rc = err_set(err, CFDR_E_IO, "the alarm service did not say where it notifies");
        goto out;
    }
    /* Webhooks on one host look alike (scheme://host:port): name each by its place in
     * alarms.https (the service adds them in that order). */
    for (size_t k = 0, nw = 0; k < json_object_array_length(targets); k++) {
        json_object *tg = json_object_array_get_idx(targets, k);
        char label[48];
        if (!json_str(tg, "kind") || strcmp(json_str(tg, "kind"), "webhook") != 0)
            continue;
        snprintf(label, sizeof(label), "alarms.https[%zu]", nw++);
        json_object_object_add(tg, "config", json_object_new_string(label));
    }
    started = clock_mono_s();
    until = started + wait_s;
    for (;;) {
        short_of = 0;
        for (size_t i = 0; i < json_object_array_length(tested); i++) {
            json_object *t = json_object_array_get_idx(tested, i), *got;
            const char *id = json_str(t, "message_id");
            if (!id)
                continue;
            if (!json_object_object_get_ex(t, "deliveries", &got)) {
                got = json_object_new_array();
                json_object_object_add(t, "deliveries", got);
            }
            deliveries_of(dir, id, got);
            for (size_t k = 0; k < json_object_array_length(targets); k++) {
                json_object *tg = json_object_array_get_idx(targets, k);
                if (!target_delivered(got, tg))
                    short_of++;
            }
        }
        if (!short_of || clock_mono_s() >= until || (p->app->interrupted && *p->app->interrupted))
            break;
        clock_sleep_s(0.1);
    }
    /* Which targets are still waiting, per alarm. */
    for (size_t i = 0; i < json_object_array_length(tested); i++) {
        json_object *t = json_object_array_get_idx(tested, i), *got, *pend;
        if (!json_str(t, "message_id") || !json_object_object_get_ex(t, "deliveries", &got))
            continue;
        pend = json_object_new_array();
        for (size_t k = 0; k < json_object_array_length(targets); k++) {
            json_object *tg = json_object_array_get_idx(targets, k);
            if (!target_delivered(got, tg))
                json_object_array_add(pend, json_object_get(tg));
        }
        /* which configured webhook each delivery reached */
        for (size_t g = 0; g < json_object_array_length(got); g++) {
            json_object *d = json_object_array_get_idx(got, g);
            for (size_t k = 0; json_str(d, "target_id") && k < json_object_array_length(targets);
                 k++) {
                json_object *tg = json_object_array_get_idx(targets, k);
                if (json_str(tg, "id") && json_str(tg, "config") &&
                    strcmp(json_str(tg, "id"), json_str(d, "target_id")) == 0)
                    json_object_object_add(d, "config",
                                           json_object_new_string(json_str(tg, "config")));
            }
        }
        json_object_object_add(t, "pending", pend);
    }
    json_object_object_add(out, "tested", json_object_get(tested));
    /* the time it waited for deliveries (none when nothing was published), and its limit */
    json_object_object_add(out, "waited_s", json_object_new_double(clock_mono_s() - started));
    json_object_object_add(out, "wait_limit_s", json_object_new_double(wait_s));
    if (short_of) {
        const char *last = NULL;
        buf_reset(&body);
        if (local_http("GET", (int)json_long(r, "port"), "/status", NULL, &body) == 200 &&
            (st = json_tokener_parse(buf_str(&body)))) {
            json_object *nt, *le;
            if (json_object_object_get_ex(st, "notifications", &nt) &&
                json_object_object_get_ex(nt, "last_error", &le) && le)
                last = json_object_get_string(le);
            json_object_object_add(out, "last_error", last ? json_object_new_string(last) : NULL);
            json_object_put(st);
        }
    }
out:
    curl_free(esc);
    json_object_put(targets);
    json_object_put(ans);
    buf_free(&path);
    buf_free(&body);
    return rc;
}

static void local_close(struct provider *p)
{
    (void)p;
}

const struct provider_ops provider_local_ops = {
    .mode = "local",
    .faults = local_faults,
    .open = NULL,
    .create = local_create,
    .status = local_status,
    .edge = local_edge,
    .inject = local_inject,
    .recover = local_recover,
    .primary_down = local_primary_down,
    .destroy = local_destroy,
    .alarms_setup = local_alarms_setup,
    .alarms_status = local_alarms_status,
    .alarms_test = local_alarms_test,
    .close = local_close,
};
