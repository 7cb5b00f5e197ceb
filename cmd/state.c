/* state: see state.h. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "aws/atomicfile.h"
#include "aws/buf.h"
#include "aws/clock.h"

void state_now_iso(char out[32])
{
    clock_iso_now(out);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static const char *str_field(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static json_object *array_field(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
        return NULL;
    return v;
}

static cfdr_code check_loaded(struct cfdr_state *st, const char *project, const char *mode,
                              cfdr_err *err)
{
    json_object *v;
    const char *p = str_field(st->doc, "project"), *m = str_field(st->doc, "mode");
    if (!json_object_is_type(st->doc, json_type_object) ||
        !json_object_object_get_ex(st->doc, "version", &v) || json_object_get_int(v) != 1 || !p ||
        !m || !array_field(st->doc, "resources") || !array_field(st->doc, "journal"))
        return err_set(err, CFDR_E_CONFIG,
                       "%s is not a cfdr state file (version 1); it was left as it is: move it "
                       "away or use another --state-dir",
                       st->path);
    if (strcmp(p, project) != 0)
        return err_set(err, CFDR_E_CONFIG,
                       "%s belongs to project '%s', not '%s'; use another --state-dir, or run "
                       "cfdr destroy with the configuration of '%s' first",
                       st->path, p, project, p);
    if (strcmp(m, mode) != 0)
        return err_set(err, CFDR_E_CONFIG,
                       "%s records a %s run, and this is a %s run; %s, or use another "
                       "--state-dir",
                       st->path, strcmp(m, "local") == 0 ? "local (--local)" : "AWS",
                       strcmp(mode, "local") == 0 ? "local (--local)" : "AWS",
                       strcmp(m, "local") == 0 ? "add --local" : "drop --local");
    return CFDR_OK;
}

cfdr_code state_open(const char *dir, const char *project, const char *mode,
                     enum state_open_mode how, struct cfdr_state *st, cfdr_err *err)
{
    char *text = NULL;
    size_t len = 0;
    cfdr_code rc;

    memset(st, 0, sizeof(*st));
    st->lock_fd = -1;
    st->dir = strdup(dir);
    st->path = join(dir, STATE_FILE_NAME);
    if (!st->dir || !st->path) {
        state_close(st);
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    }
    rc = atomicfile_read(st->path, STATE_MAX_BYTES, &text, &len, err);
    if (rc == CFDR_E_NOTFOUND) {
        char now[32];
        if (how == STATE_MUST_EXIST) {
            state_close(st);
            return err_set(err, CFDR_E_NOTFOUND,
                           "nothing is recorded in %s; run cfdr %screate first (or pass the "
                           "--state-dir it used)",
                           dir, strcmp(mode, "local") == 0 ? "--local " : "");
        }
        state_now_iso(now);
        st->doc = json_object_new_object();
        json_object_object_add(st->doc, "version", json_object_new_int(1));
        json_object_object_add(st->doc, "project", json_object_new_string(project));
        json_object_object_add(st->doc, "mode", json_object_new_string(mode));
        json_object_object_add(st->doc, "created_at", json_object_new_string(now));
        json_object_object_add(st->doc, "resources", json_object_new_array());
        json_object_object_add(st->doc, "journal", json_object_new_array());
        return CFDR_OK;
    }
    if (rc) {
        state_close(st);
        return rc;
    }
    {
        json_tokener *tok = json_tokener_new();
        enum json_tokener_error je = json_tokener_success;
        if (tok) {
            json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
            st->doc = json_tokener_parse_ex(tok, text, (int)len);
            je = json_tokener_get_error(tok);
            json_tokener_free(tok);
        }
        free(text);
        if (!tok || je != json_tokener_success || !st->doc) {
            state_close(st);
            return err_set(err, CFDR_E_CONFIG,
                           "%s/%s is damaged (%s); it was left as it is: restore it from a "
                           "backup or move it away and clean up by hand",
                           dir, STATE_FILE_NAME,
                           tok ? json_tokener_error_desc(je) : "out of memory");
        }
    }
    rc = check_loaded(st, project, mode, err);
    if (rc)
        state_close(st);
    return rc;
}

cfdr_code state_lock(struct cfdr_state *st, const char *what, cfdr_err *err)
{
    char *lp;
    char holder[128], mine[128];
    ssize_t n;
    cfdr_code rc;

    if (st->lock_fd >= 0)
        return CFDR_OK;
    if ((rc = atomicfile_mkdirs(st->dir, 0700, err)))
        return rc;
    lp = join(st->dir, STATE_LOCK_NAME);
    if (!lp)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    st->lock_fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (st->lock_fd < 0) {
        rc = err_set(err, CFDR_E_IO, "cannot open the lock %s: %s", lp, strerror(errno));
        free(lp);
        return rc;
    }
    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        n = pread(st->lock_fd, holder, sizeof(holder) - 1, 0);
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        rc = err_set(err, CFDR_E_USAGE,
                     "another cfdr is working on %s (%s); wait for it to finish, or stop it "
                     "and run this again",
                     st->dir, holder[0] ? holder : "holder unknown");
        close(st->lock_fd);
        st->lock_fd = -1;
        free(lp);
        return rc;
    }
    free(lp);
    snprintf(mine, sizeof(mine), "pid %ld, cfdr %s\n", (long)getpid(), what);
    if (ftruncate(st->lock_fd, 0) != 0 || pwrite(st->lock_fd, mine, strlen(mine), 0) < 0) {
        /* The lock holds; only its note is missing. */
    }
    return CFDR_OK;
}

cfdr_code state_save(struct cfdr_state *st, cfdr_err *err)
{
    const char *text;
    cfdr_code rc;
    if ((rc = atomicfile_mkdirs(st->dir, 0700, err)))
        return rc;
    text = json_object_to_json_string_ext(st->doc,
                                          JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!text)
        return err_set(err, CFDR_E_NOMEM, "out of memory writing %s", st->path);
    rc = atomicfile_write(st->path, text, strlen(text), 0600, ATOMICFILE_REPLACE, NULL, err);
    if (rc)
        return err_wrap(err, "recording state (nothing was lost: the previous %s is intact)",
                        STATE_FILE_NAME);
    return CFDR_OK;
}

void state_close(struct cfdr_state *st)
{
    if (!st)
        return;
    if (st->lock_fd >= 0) {
        flock(st->lock_fd, LOCK_UN);
        close(st->lock_fd);
    }
    json_object_put(st->doc);
    free(st->dir);
    free(st->path);
    memset(st, 0, sizeof(*st));
    st->lock_fd = -1;
}

static json_object *resources(const struct cfdr_state *st)
{
    return array_field(st->doc, "resources");
}

static long find(const struct cfdr_state *st, const char *kind, const char *id)
{
    json_object *a = resources(st);
    size_t n = a ? json_object_array_length(a) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *r = json_object_array_get_idx(a, i);
        const char *k = str_field(r, "kind"), *d = str_field(r, "id");
        if (k && d && strcmp(k, kind) == 0 && strcmp(d, id) == 0)
            return (long)i;
    }
    return -1;
}

json_object *state_resource(const struct cfdr_state *st, const char *kind, const char *id)
{
    long i = find(st, kind, id);
    return i < 0 ? NULL : json_object_array_get_idx(resources(st), (size_t)i);
}

json_object *state_resource_at(const struct cfdr_state *st, size_t n)
{
    json_object *a = resources(st);
    return a && n < json_object_array_length(a) ? json_object_array_get_idx(a, n) : NULL;
}

size_t state_resource_count(const struct cfdr_state *st)
{
    json_object *a = resources(st);
    return a ? json_object_array_length(a) : 0;
}

cfdr_code state_put_resource(struct cfdr_state *st, const char *kind, const char *id,
                             json_object *fields, cfdr_err *err)
{
    json_object *r = state_resource(st, kind, id);
    char now[32];
    if (!r) {
        r = json_object_new_object();
        if (!r) {
            json_object_put(fields);
            return err_set(err, CFDR_E_NOMEM, "out of memory");
        }
        state_now_iso(now);
        json_object_object_add(r, "kind", json_object_new_string(kind));
        json_object_object_add(r, "id", json_object_new_string(id));
        json_object_object_add(r, "recorded_at", json_object_new_string(now));
        json_object_array_add(resources(st), r);
    }
    if (fields) {
        json_object_object_foreach(fields, key, val)
        {
            if (strcmp(key, "kind") != 0 && strcmp(key, "id") != 0)
                json_object_object_add(r, key, json_object_get(val));
        }
        json_object_put(fields);
    }
    return state_save(st, err);
}

cfdr_code state_remove_resource(struct cfdr_state *st, const char *kind, const char *id,
                                cfdr_err *err)
{
    long i = find(st, kind, id);
    if (i < 0)
        return CFDR_OK;
    json_object_array_del_idx(resources(st), (size_t)i, 1);
    return state_save(st, err);
}

cfdr_code state_journal_add(struct cfdr_state *st, const char *event, json_object *details,
                            cfdr_err *err)
{
    json_object *e = json_object_new_object();
    char now[32];
    if (!e) {
        json_object_put(details);
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    }
    state_now_iso(now);
    json_object_object_add(e, "at", json_object_new_string(now));
    json_object_object_add(e, "event", json_object_new_string(event));
    if (details) {
        json_object_object_foreach(details, key, val)
        {
            if (strcmp(key, "at") != 0 && strcmp(key, "event") != 0)
                json_object_object_add(e, key, json_object_get(val));
        }
        json_object_put(details);
    }
    json_object_array_add(array_field(st->doc, "journal"), e);
    return state_save(st, err);
}

json_object *state_journal(const struct cfdr_state *st)
{
    return array_field(st->doc, "journal");
}
