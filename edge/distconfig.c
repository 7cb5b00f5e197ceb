/* distconfig: see distconfig.h.
 *
 * One pass over the document fills the edge_config and stops at the first problem, with the
 * JSON path of the field in the message. Only then are the origins mapped to local addresses,
 * so that a document with a real mistake reports the mistake rather than a missing
 * --origin-map. edge_config_validate() runs last, as a second opinion on what the edge gets.
 */
#include "distconfig.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "aws/buf.h"

#define PATH_MAX_LEN 512
#define ORIGIN_PATH_MAX 256 /* CloudFront: OriginPath up to 255 characters */
#define MAX_CACHE_BEHAVIORS (EDGE_MAX_BEHAVIORS - 1)

/* AllowedMethods as a bit set, in CloudFront's spelling. */
enum {
    M_GET = 1 << 0,
    M_HEAD = 1 << 1,
    M_OPTIONS = 1 << 2,
    M_PUT = 1 << 3,
    M_PATCH = 1 << 4,
    M_POST = 1 << 5,
    M_DELETE = 1 << 6,
};
static const char *const method_names[] = {"GET",   "HEAD", "OPTIONS", "PUT",
                                           "PATCH", "POST", "DELETE"};
#define NMETHODS (sizeof(method_names) / sizeof(method_names[0]))
#define SET_GH (M_GET | M_HEAD)
#define SET_GHO (M_GET | M_HEAD | M_OPTIONS)
#define SET_ALL (M_GET | M_HEAD | M_OPTIONS | M_PUT | M_PATCH | M_POST | M_DELETE)
#define METHOD_SETS_ALLOWED                                                                        \
    "allowed: [GET, HEAD], [GET, HEAD, OPTIONS] or [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]"

#define CODES_ALLOWED "400, 403, 404, 416, 500, 502, 503, 504"

struct dctx {
    struct edge_config *c;
    char prefix[PATH_MAX_LEN];                           /* path of the DistributionConfig */
    char origin_path[EDGE_MAX_ORIGINS][ORIGIN_PATH_MAX]; /* OriginPath of each origin */
    cfdr_err *err;
};

/* ---------------------------------------------------------------------------------------------
 * Paths and typed accessors. Every accessor names the field's full path in its errors.
 */

/* Paths only ever appear in messages: one too long for the buffer is cut and marked. */
static void path_cut(char *out, int k)
{
    if (k < 0 || k >= PATH_MAX_LEN)
        memcpy(out + PATH_MAX_LEN - 4, "...", 4);
}

/* "parent.key", or "key" at the root. */
static void path_key(char *out, const char *parent, const char *key)
{
    path_cut(out, snprintf(out, PATH_MAX_LEN, "%s%s%s", parent, *parent ? "." : "", key));
}

static void path_index(char *out, const char *parent, size_t i)
{
    path_cut(out, snprintf(out, PATH_MAX_LEN, "%s[%zu]", parent, i));
}

static const char *type_name(struct json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "true/false";
    case json_type_double:
        return "a decimal number";
    case json_type_int:
        return "a whole number";
    case json_type_object:
        return "an object";
    case json_type_array:
        return "an array";
    case json_type_string:
        return "a string";
    }
    return "an unknown value";
}

static cfdr_code type_error(const char *path, const char *want, struct json_object *v,
                            cfdr_err *err)
{
    return err_set(err, CFDR_E_CONFIG, "%s: expected %s, got %s", path, want, type_name(v));
}

/* The member key of obj (NULL when absent), with its path in path_out. A member whose value is
 * JSON null counts as absent, as the AWS CLI treats it. */
static struct json_object *member(struct json_object *obj, const char *parent, const char *key,
                                  char *path_out)
{
    struct json_object *v = NULL;
    path_key(path_out, parent, key);
    if (!json_object_object_get_ex(obj, key, &v))
        return NULL;
    return v;
}

static cfdr_code missing(const char *path, cfdr_err *err)
{
    return err_set(err, CFDR_E_CONFIG, "%s: is required but missing", path);
}

static cfdr_code get_object(struct json_object *obj, const char *parent, const char *key,
                            int required, struct json_object **out, char *path, cfdr_err *err)
{
    struct json_object *v = member(obj, parent, key, path);
    *out = NULL;
    if (!v)
        return required ? missing(path, err) : CFDR_OK;
    if (!json_object_is_type(v, json_type_object))
        return type_error(path, "an object", v, err);
    *out = v;
    return CFDR_OK;
}

/* A string member copied to out; absent and optional leaves out "". */
static cfdr_code get_string(struct json_object *obj, const char *parent, const char *key,
                            int required, char *out, size_t outsz, cfdr_err *err)
{
    char path[PATH_MAX_LEN];
    struct json_object *v = member(obj, parent, key, path);
    const char *s;
    int len;

    out[0] = '\0';
    if (!v)
        return required ? missing(path, err) : CFDR_OK;
    if (!json_object_is_type(v, json_type_string))
        return type_error(path, "a string", v, err);
    s = json_object_get_string(v);
    len = json_object_get_string_len(v);
    if (memchr(s, '\0', (size_t)len))
        return err_set(err, CFDR_E_CONFIG, "%s: must not contain a NUL character", path);
    if ((size_t)len >= outsz)
        return err_set(err, CFDR_E_CONFIG, "%s: longer than %zu characters", path, outsz - 1);
    memcpy(out, s, (size_t)len + 1);
    if (required && out[0] == '\0')
        return err_set(err, CFDR_E_CONFIG, "%s: must not be empty", path);
    return CFDR_OK;
}

/* A whole-number member within [min, max]; absent and optional leaves *out unchanged. */
static cfdr_code get_long(struct json_object *obj, const char *parent, const char *key,
                          int required, long min, long max, long *out, cfdr_err *err)
{
    char path[PATH_MAX_LEN];
    struct json_object *v = member(obj, parent, key, path);
    int64_t n;

    if (!v)
        return required ? missing(path, err) : CFDR_OK;
    if (!json_object_is_type(v, json_type_int))
        return type_error(path, "a whole number", v, err);
    n = json_object_get_int64(v);
    if (n < min || n > max)
        return err_set(err, CFDR_E_CONFIG, "%s: %lld is out of range (%ld-%ld)", path, (long long)n,
                       min, max);
    *out = (long)n;
    return CFDR_OK;
}

/* A CloudFront list {"Quantity": N, "Items": [...]} at path (obj is the list object). Items may
 * be absent when Quantity is 0. *items is NULL when there are none. */
static cfdr_code get_list(struct json_object *obj, const char *path, size_t max, const char *what,
                          struct json_object **items, size_t *n, cfdr_err *err)
{
    char qpath[PATH_MAX_LEN], ipath[PATH_MAX_LEN];
    struct json_object *q = member(obj, path, "Quantity", qpath);
    struct json_object *it = member(obj, path, "Items", ipath);
    int64_t quantity;
    size_t len = 0;

    *items = NULL;
    *n = 0;
    if (!q)
        return missing(qpath, err);
    if (!json_object_is_type(q, json_type_int))
        return type_error(qpath, "a whole number", q, err);
    quantity = json_object_get_int64(q);
    if (it) {
        if (!json_object_is_type(it, json_type_array))
            return type_error(ipath, "an array", it, err);
        len = json_object_array_length(it);
    }
    if (quantity < 0 || (uint64_t)quantity != len)
        return err_set(err, CFDR_E_CONFIG,
                       "%s: Quantity is %lld but Items has %zu %s (CloudFront rejects this as "
                       "InconsistentQuantities: make Quantity the number of Items)",
                       path, (long long)quantity, len, len == 1 ? "entry" : "entries");
    if (len > max)
        return err_set(err, CFDR_E_CONFIG, "%s: %zu %s, at most %zu are allowed", ipath, len, what,
                       max);
    *items = len ? it : NULL;
    *n = len;
    return CFDR_OK;
}

/* A list member that may be absent (then empty). */
static cfdr_code get_member_list(struct json_object *obj, const char *parent, const char *key,
                                 int required, size_t max, const char *what, char *path,
                                 struct json_object **items, size_t *n, cfdr_err *err)
{
    struct json_object *l;
    *items = NULL;
    *n = 0;
    CFDR_TRY(get_object(obj, parent, key, required, &l, path, err));
    if (!l)
        return CFDR_OK;
    return get_list(l, path, max, what, items, n, err);
}

/* Items[i] of a list, which must be an object. */
static cfdr_code item_object(struct json_object *items, const char *list_path, size_t i,
                             struct json_object **out, char *path, cfdr_err *err)
{
    char ipath[PATH_MAX_LEN];
    path_key(ipath, list_path, "Items");
    path_index(path, ipath, i);
    *out = json_object_array_get_idx(items, i);
    if (!json_object_is_type(*out, json_type_object))
        return type_error(path, "an object", *out, err);
    return CFDR_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Lookups in what has been read so far.
 */

static int find_origin(const struct edge_config *c, const char *id)
{
    for (size_t i = 0; i < c->norigins; i++)
        if (strcmp(c->origins[i].id, id) == 0)
            return (int)i;
    return -1;
}

static int find_group(const struct edge_config *c, const char *id)
{
    for (size_t i = 0; i < c->ngroups; i++)
        if (strcmp(c->groups[i].id, id) == 0)
            return (int)i;
    return -1;
}

/* "a, b, c" of the origin ids (and group ids) for messages; truncated quietly if very long. */
static void known_ids(const struct edge_config *c, int with_groups, char *out, size_t outsz)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < c->norigins + (with_groups ? c->ngroups : 0); i++) {
        const char *id = i < c->norigins ? c->origins[i].id : c->groups[i - c->norigins].id;
        int k = snprintf(out + used, outsz - used, "%s\"%s\"", used ? ", " : "", id);
        if (k < 0 || (size_t)k >= outsz - used)
            break;
        used += (size_t)k;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Origins.
 */

static cfdr_code read_custom_origin(struct json_object *coc, const char *path,
                                    struct edge_origin *o, cfdr_err *err)
{
    static const char *const policies[] = {"http-only", "match-viewer", "https-only"};
    char policy[32];
    long port = 0, read_timeout = 30;
    const char *ports[] = {"HTTPPort", "HTTPSPort"};
    size_t i;

    for (i = 0; i < 2; i++) {
        char ppath[PATH_MAX_LEN];
        CFDR_TRY(get_long(coc, path, ports[i], 1, 1, 65535, &port, err));
        path_key(ppath, path, ports[i]);
        if (port != 80 && port != 443 && port < 1024)
            return err_set(err, CFDR_E_CONFIG,
                           "%s: %ld is not allowed (allowed: 80, 443, 1024-65535)", ppath, port);
    }
    {
        char ppath[PATH_MAX_LEN];
        CFDR_TRY(get_string(coc, path, "OriginProtocolPolicy", 1, policy, sizeof(policy), err));
        path_key(ppath, path, "OriginProtocolPolicy");
        for (i = 0; i < 3 && strcmp(policy, policies[i]) != 0; i++)
            ;
        if (i == 3)
            return err_set(err, CFDR_E_CONFIG,
                           "%s: \"%s\" is not allowed (allowed: http-only, match-viewer, "
                           "https-only)",
                           ppath, policy);
    }
    CFDR_TRY(get_long(coc, path, "OriginReadTimeout", 0, 1, 120, &read_timeout, err));
    o->response_timeout_ms = read_timeout * 1000;
    return CFDR_OK;
}

static cfdr_code read_origin(struct dctx *x, struct json_object *item, const char *path, size_t i)
{
    struct edge_origin *o = &x->c->origins[i];
    struct json_object *coc, *s3;
    char cpath[PATH_MAX_LEN], spath[PATH_MAX_LEN], fpath[PATH_MAX_LEN];
    long attempts = 3, timeout = 10;
    cfdr_err *err = x->err;

    CFDR_TRY(get_string(item, path, "Id", 1, o->id, sizeof(o->id), err));
    if (find_origin(x->c, o->id) >= 0) {
        path_key(fpath, path, "Id");
        return err_set(err, CFDR_E_CONFIG, "%s: \"%s\" is the Id of an earlier origin too", fpath,
                       o->id);
    }
    CFDR_TRY(get_string(item, path, "DomainName", 1, o->host_header, DISTCONFIG_DOMAIN_MAX, err));
    CFDR_TRY(get_string(item, path, "OriginPath", 0, x->origin_path[i], ORIGIN_PATH_MAX, err));
    if (x->origin_path[i][0]) {
        size_t n = strlen(x->origin_path[i]);
        path_key(fpath, path, "OriginPath");
        if (x->origin_path[i][0] != '/' || x->origin_path[i][n - 1] == '/')
            return err_set(err, CFDR_E_CONFIG,
                           "%s: \"%s\" must start with / and must not end with / (e.g. "
                           "\"/production\"), or be empty",
                           fpath, x->origin_path[i]);
    }
    CFDR_TRY(get_long(item, path, "ConnectionAttempts", 0, 1, 3, &attempts, err));
    CFDR_TRY(get_long(item, path, "ConnectionTimeout", 0, 1, 10, &timeout, err));
    o->connection_attempts = (int)attempts;
    o->connection_timeout_ms = timeout * 1000;
    o->response_timeout_ms = 30000; /* CloudFront's default; CustomOriginConfig may change it */

    CFDR_TRY(get_object(item, path, "CustomOriginConfig", 0, &coc, cpath, err));
    CFDR_TRY(get_object(item, path, "S3OriginConfig", 0, &s3, spath, err));
    if (coc && s3)
        return err_set(err, CFDR_E_CONFIG,
                       "%s: has both CustomOriginConfig and S3OriginConfig; an origin is one or "
                       "the other",
                       path);
    if (!coc && !s3)
        return err_set(err, CFDR_E_CONFIG,
                       "%s: needs CustomOriginConfig or S3OriginConfig (the local edge runs no "
                       "other kind of origin)",
                       path);
    if (coc)
        CFDR_TRY(read_custom_origin(coc, cpath, o, err));
    distconfig_region_from_domain(o->host_header, o->region, sizeof(o->region));
    x->c->norigins = i + 1;
    return CFDR_OK;
}

static cfdr_code read_origins(struct dctx *x, struct json_object *dc)
{
    char path[PATH_MAX_LEN], ipath[PATH_MAX_LEN];
    struct json_object *items, *item;
    size_t n;

    CFDR_TRY(get_member_list(dc, x->prefix, "Origins", 1, EDGE_MAX_ORIGINS, "origins", path, &items,
                             &n, x->err));
    if (n == 0)
        return err_set(x->err, CFDR_E_CONFIG, "%s: a distribution needs at least one origin", path);
    for (size_t i = 0; i < n; i++) {
        CFDR_TRY(item_object(items, path, i, &item, ipath, x->err));
        CFDR_TRY(read_origin(x, item, ipath, i));
    }
    return CFDR_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Origin groups.
 */

static cfdr_code read_status_codes(struct dctx *x, struct json_object *group, const char *path,
                                   struct edge_origin_group *g)
{
    char fpath[PATH_MAX_LEN], lpath[PATH_MAX_LEN], ipath[PATH_MAX_LEN], cpath[PATH_MAX_LEN];
    struct json_object *fc, *items;
    size_t n;

    CFDR_TRY(get_object(group, path, "FailoverCriteria", 1, &fc, fpath, x->err));
    CFDR_TRY(get_member_list(fc, fpath, "StatusCodes", 1, EDGE_FAILOVER_NALLOWED, "status codes",
                             lpath, &items, &n, x->err));
    if (n == 0)
        return err_set(x->err, CFDR_E_CONFIG,
                       "%s: at least one status code is needed (allowed: " CODES_ALLOWED ")",
                       lpath);
    path_key(ipath, lpath, "Items");
    for (size_t i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(items, i);
        int64_t code;
        path_index(cpath, ipath, i);
        if (!json_object_is_type(v, json_type_int))
            return type_error(cpath, "a whole number", v, x->err);
        code = json_object_get_int64(v);
        if (code < 0 || code > INT_MAX || !edge_failover_code_allowed((int)code))
            return err_set(x->err, CFDR_E_CONFIG,
                           "%s: %lld is not allowed (allowed: " CODES_ALLOWED ")", cpath,
                           (long long)code);
        for (size_t j = 0; j < i; j++)
            if (g->failover_codes[j] == (int)code)
                return err_set(x->err, CFDR_E_CONFIG, "%s: %lld is listed twice", cpath,
                               (long long)code);
        g->failover_codes[i] = (int)code;
    }
    g->nfailover_codes = n;
    return CFDR_OK;
}

static cfdr_code read_members(struct dctx *x, struct json_object *group, const char *path,
                              struct edge_origin_group *g)
{
    char lpath[PATH_MAX_LEN], ipath[PATH_MAX_LEN], opath[PATH_MAX_LEN];
    struct json_object *items, *item;
    size_t n;

    CFDR_TRY(
        get_member_list(group, path, "Members", 1, SIZE_MAX, "members", lpath, &items, &n, x->err));
    if (n != 2)
        return err_set(x->err, CFDR_E_CONFIG,
                       "%s: an origin group has exactly 2 members (primary, then secondary), "
                       "not %zu",
                       lpath, n);
    for (size_t i = 0; i < 2; i++) {
        char *dst = i == 0 ? g->primary : g->secondary;
        char known[1024];
        CFDR_TRY(item_object(items, lpath, i, &item, ipath, x->err));
        CFDR_TRY(get_string(item, ipath, "OriginId", 1, dst, EDGE_ID_MAX, x->err));
        path_key(opath, ipath, "OriginId");
        if (find_origin(x->c, dst) < 0) {
            known_ids(x->c, 0, known, sizeof(known));
            return err_set(x->err, CFDR_E_CONFIG, "%s: \"%s\" is not an origin (origins: %s)",
                           opath, dst, known);
        }
        if (i == 1 && strcmp(g->primary, g->secondary) == 0)
            return err_set(x->err, CFDR_E_CONFIG,
                           "%s: \"%s\" is the first member too; the two members must be "
                           "distinct origins",
                           opath, dst);
    }
    return CFDR_OK;
}

static cfdr_code read_groups(struct dctx *x, struct json_object *dc)
{
    char path[PATH_MAX_LEN], ipath[PATH_MAX_LEN], fpath[PATH_MAX_LEN];
    struct json_object *items, *item;
    size_t n;

    CFDR_TRY(get_member_list(dc, x->prefix, "OriginGroups", 0, EDGE_MAX_GROUPS, "origin groups",
                             path, &items, &n, x->err));
    for (size_t i = 0; i < n; i++) {
        struct edge_origin_group *g = &x->c->groups[i];
        CFDR_TRY(item_object(items, path, i, &item, ipath, x->err));
        CFDR_TRY(get_string(item, ipath, "Id", 1, g->id, sizeof(g->id), x->err));
        path_key(fpath, ipath, "Id");
        if (find_origin(x->c, g->id) >= 0)
            return err_set(x->err, CFDR_E_CONFIG,
                           "%s: \"%s\" is already the Id of an origin; origin and group Ids "
                           "must differ",
                           fpath, g->id);
        if (find_group(x->c, g->id) >= 0)
            return err_set(x->err, CFDR_E_CONFIG, "%s: \"%s\" is the Id of an earlier group too",
                           fpath, g->id);
        CFDR_TRY(read_status_codes(x, item, ipath, g));
        CFDR_TRY(read_members(x, item, ipath, g));
        x->c->ngroups = i + 1;
    }
    return CFDR_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Cache behaviours.
 */

/* Items of a method list as a bit set; errors name the item. */
static cfdr_code read_method_set(struct dctx *x, struct json_object *list, const char *path,
                                 unsigned *set)
{
    char ipath[PATH_MAX_LEN], mpath[PATH_MAX_LEN];
    struct json_object *items;
    size_t n;

    *set = 0;
    CFDR_TRY(get_list(list, path, NMETHODS, "methods", &items, &n, x->err));
    path_key(ipath, path, "Items");
    for (size_t i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(items, i);
        const char *name;
        size_t m;
        path_index(mpath, ipath, i);
        if (!json_object_is_type(v, json_type_string))
            return type_error(mpath, "a string", v, x->err);
        name = json_object_get_string(v);
        for (m = 0; m < NMETHODS && strcmp(name, method_names[m]) != 0; m++)
            ;
        if (m == NMETHODS)
            return err_set(x->err, CFDR_E_CONFIG,
                           "%s: \"%s\" is not a method CloudFront knows (allowed: GET, HEAD, "
                           "OPTIONS, PUT, PATCH, POST, DELETE)",
                           mpath, name);
        if (*set & (1u << m))
            return err_set(x->err, CFDR_E_CONFIG, "%s: %s is listed twice", mpath, name);
        *set |= 1u << m;
    }
    return CFDR_OK;
}

static void method_list(unsigned set, char *out, size_t outsz)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t m = 0; m < NMETHODS; m++)
        if (set & (1u << m)) {
            int k = snprintf(out + used, outsz - used, "%s%s", used ? ", " : "", method_names[m]);
            if (k < 0 || (size_t)k >= outsz - used)
                break;
            used += (size_t)k;
        }
}

/* AllowedMethods (absent: GET, HEAD, CloudFront's default) and its CachedMethods. */
static cfdr_code read_methods(struct dctx *x, struct json_object *beh, const char *path,
                              int on_group, enum edge_methods *out)
{
    char apath[PATH_MAX_LEN], cpath[PATH_MAX_LEN], names[64];
    struct json_object *am, *cm;
    unsigned set, cached;

    *out = EDGE_METHODS_GET_HEAD;
    CFDR_TRY(get_object(beh, path, "AllowedMethods", 0, &am, apath, x->err));
    if (!am)
        return CFDR_OK;
    CFDR_TRY(read_method_set(x, am, apath, &set));
    if (set == SET_GH) {
        *out = EDGE_METHODS_GET_HEAD;
    } else if (set == SET_GHO) {
        *out = EDGE_METHODS_GET_HEAD_OPTIONS;
    } else if (set == SET_ALL) {
        *out = EDGE_METHODS_ALL;
    } else {
        method_list(set, names, sizeof(names));
        return err_set(x->err, CFDR_E_CONFIG,
                       "%s: [%s] is not one of the sets CloudFront accepts (" METHOD_SETS_ALLOWED
                       ")",
                       apath, names);
    }
    if (on_group && *out == EDGE_METHODS_ALL)
        return err_set(x->err, CFDR_E_CONFIG,
                       "%s: a behaviour whose target is an origin group may only allow GET, HEAD "
                       "and OPTIONS (CloudFront rejects other methods there: only those fail "
                       "over)",
                       apath);
    CFDR_TRY(get_object(am, apath, "CachedMethods", 0, &cm, cpath, x->err));
    if (!cm)
        return CFDR_OK;
    CFDR_TRY(read_method_set(x, cm, cpath, &cached));
    if ((cached != SET_GH && cached != SET_GHO) || (cached & ~set)) {
        method_list(cached, names, sizeof(names));
        return err_set(x->err, CFDR_E_CONFIG,
                       "%s: [%s] is not allowed (allowed: [GET, HEAD] or [GET, HEAD, OPTIONS], "
                       "within AllowedMethods)",
                       cpath, names);
    }
    return CFDR_OK;
}

static cfdr_code read_behavior(struct dctx *x, struct json_object *beh, const char *path,
                               int is_default, struct edge_behavior *b)
{
    char tpath[PATH_MAX_LEN], known[1024];
    int on_group;

    if (is_default) {
        snprintf(b->path_pattern, sizeof(b->path_pattern), "*");
    } else {
        CFDR_TRY(get_string(beh, path, "PathPattern", 1, b->path_pattern, sizeof(b->path_pattern),
                            x->err));
    }
    CFDR_TRY(get_string(beh, path, "TargetOriginId", 1, b->target, sizeof(b->target), x->err));
    path_key(tpath, path, "TargetOriginId");
    on_group = find_group(x->c, b->target) >= 0;
    if (!on_group && find_origin(x->c, b->target) < 0) {
        known_ids(x->c, 1, known, sizeof(known));
        return err_set(x->err, CFDR_E_CONFIG,
                       "%s: \"%s\" is neither an origin nor an origin group (known: %s)", tpath,
                       b->target, known);
    }
    return read_methods(x, beh, path, on_group, &b->methods);
}

static cfdr_code read_behaviors(struct dctx *x, struct json_object *dc)
{
    char path[PATH_MAX_LEN], ipath[PATH_MAX_LEN];
    struct json_object *items, *item, *def;
    size_t n;

    CFDR_TRY(get_member_list(dc, x->prefix, "CacheBehaviors", 0, MAX_CACHE_BEHAVIORS,
                             "cache behaviours", path, &items, &n, x->err));
    for (size_t i = 0; i < n; i++) {
        CFDR_TRY(item_object(items, path, i, &item, ipath, x->err));
        CFDR_TRY(read_behavior(x, item, ipath, 0, &x->c->behaviors[i]));
    }
    CFDR_TRY(get_object(dc, x->prefix, "DefaultCacheBehavior", 1, &def, path, x->err));
    CFDR_TRY(read_behavior(x, def, path, 1, &x->c->behaviors[n]));
    x->c->nbehaviors = n + 1;
    return CFDR_OK;
}

/* ---------------------------------------------------------------------------------------------
 * The document's shape, the origin map, and the whole.
 */

/* Finds the DistributionConfig object in any accepted shape and the path to it. */
static cfdr_code find_distribution_config(struct json_object *root, struct dctx *x,
                                          struct json_object **dc)
{
    char path[PATH_MAX_LEN];
    struct json_object *outer;

    if (!json_object_is_type(root, json_type_object))
        return err_set(x->err, CFDR_E_CONFIG,
                       "the document is %s, not a CloudFront DistributionConfig object",
                       type_name(root));
    if (json_object_object_get_ex(root, "DistributionConfigWithTags", NULL)) {
        CFDR_TRY(get_object(root, "", "DistributionConfigWithTags", 1, &outer, path, x->err));
        CFDR_TRY(get_object(outer, path, "DistributionConfig", 1, dc, x->prefix, x->err));
    } else if (json_object_object_get_ex(root, "DistributionConfig", NULL)) {
        CFDR_TRY(get_object(root, "", "DistributionConfig", 1, dc, x->prefix, x->err));
    } else if (json_object_object_get_ex(root, "Distribution", NULL)) {
        CFDR_TRY(get_object(root, "", "Distribution", 1, &outer, path, x->err));
        CFDR_TRY(get_object(outer, path, "DistributionConfig", 1, dc, x->prefix, x->err));
    } else if (json_object_object_get_ex(root, "Origins", NULL)) {
        x->prefix[0] = '\0';
        *dc = root;
    } else {
        return err_set(x->err, CFDR_E_CONFIG,
                       "not a CloudFront DistributionConfig: expected a \"DistributionConfig\" "
                       "member (as `aws cloudfront get-distribution-config` prints it), a "
                       "\"DistributionConfigWithTags\" member, or a bare DistributionConfig "
                       "with \"Origins\"");
    }
    return CFDR_OK;
}

static const struct distconfig_map_entry *map_find(const struct distconfig_map *m,
                                                   const char *domain, size_t *index)
{
    for (size_t i = 0; m && i < m->n; i++)
        if (strcasecmp(m->entries[i].domain, domain) == 0) {
            *index = i;
            return &m->entries[i];
        }
    return NULL;
}

/* Points every origin at its mapped address; every mapping must be used. */
static cfdr_code apply_map(struct dctx *x, const struct distconfig_map *m)
{
    int used[DISTCONFIG_MAP_MAX] = {0};
    char path[PATH_MAX_LEN], lpath[PATH_MAX_LEN], ipath[PATH_MAX_LEN];

    path_key(lpath, x->prefix, "Origins.Items");
    for (size_t i = 0; i < x->c->norigins; i++) {
        struct edge_origin *o = &x->c->origins[i];
        const struct distconfig_map_entry *e;
        size_t k = 0;
        int len;

        path_index(ipath, lpath, i);
        path_key(path, ipath, "DomainName");
        e = map_find(m, o->host_header, &k);
        if (!e)
            return err_set(x->err, CFDR_E_USAGE,
                           "%s: origin \"%s\" has DomainName %s, which no --origin-map points "
                           "at a local address; add --origin-map %s=HOST:PORT",
                           path, o->id, o->host_header, o->host_header);
        used[k] = 1;
        len =
            snprintf(o->url, sizeof(o->url), "http://%s:%d%s", e->host, e->port, x->origin_path[i]);
        if (len < 0 || (size_t)len >= sizeof(o->url))
            return err_set(x->err, CFDR_E_CONFIG,
                           "%s: the local URL for origin \"%s\" would be longer than %zu "
                           "characters",
                           path, o->id, sizeof(o->url) - 1);
    }
    for (size_t k = 0; m && k < m->n; k++)
        if (!used[k]) {
            char known[1024];
            size_t n = 0;
            known[0] = '\0';
            for (size_t i = 0; i < x->c->norigins; i++) {
                int w = snprintf(known + n, sizeof(known) - n, "%s%s", n ? ", " : "",
                                 x->c->origins[i].host_header);
                if (w < 0 || (size_t)w >= sizeof(known) - n)
                    break;
                n += (size_t)w;
            }
            return err_set(x->err, CFDR_E_USAGE,
                           "--origin-map %s=%s:%d: no origin has DomainName %s (DomainNames: "
                           "%s); check the spelling or drop the flag",
                           m->entries[k].domain, m->entries[k].host, m->entries[k].port,
                           m->entries[k].domain, known);
        }
    return CFDR_OK;
}

/* 1-based line and column of byte offset off in text. */
static void line_col(const char *text, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static cfdr_code parse_json(const char *text, size_t len, struct json_object **out, cfdr_err *err)
{
    struct json_tokener *tok;
    struct json_object *root;
    enum json_tokener_error jerr;
    size_t end, line, col;

    *out = NULL;
    if (len > INT_MAX)
        return err_set(err, CFDR_E_TOOBIG, "the document is too large (%zu bytes)", len);
    tok = json_tokener_new();
    if (!tok)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
                                    JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, text, (int)len);
    jerr = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!root) {
        if (jerr == json_tokener_continue || jerr == json_tokener_success) {
            for (end = 0; end < len && isspace((unsigned char)text[end]); end++)
                ;
            if (end == len)
                return err_set(err, CFDR_E_PARSE, "the document is empty, not JSON");
            return err_set(err, CFDR_E_PARSE,
                           "the JSON document ends early (a bracket or quote is not closed)");
        }
        line_col(text, end < len ? end : len, &line, &col);
        return err_set(err, CFDR_E_PARSE, "not valid JSON at line %zu, column %zu: %s", line, col,
                       json_tokener_error_desc(jerr));
    }
    while (end < len && isspace((unsigned char)text[end]))
        end++;
    if (end < len) {
        json_object_put(root);
        line_col(text, end, &line, &col);
        return err_set(err, CFDR_E_PARSE,
                       "not valid JSON at line %zu, column %zu: text after the end of the "
                       "document",
                       line, col);
    }
    *out = root;
    return CFDR_OK;
}

cfdr_code distconfig_parse(const char *text, size_t len, const struct distconfig_map *m,
                           struct edge_config *out, cfdr_err *err)
{
    struct dctx *x = NULL;
    struct json_object *root = NULL, *dc;
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    if ((rc = parse_json(text, len, &root, err)))
        goto out;
    x = calloc(1, sizeof(*x));
    if (!x) {
        rc = err_set(err, CFDR_E_NOMEM, "out of memory");
        goto out;
    }
    x->c = out;
    x->err = err;
    if ((rc = find_distribution_config(root, x, &dc)) || (rc = read_origins(x, dc)) ||
        (rc = read_groups(x, dc)) || (rc = read_behaviors(x, dc)) || (rc = apply_map(x, m)))
        goto out;
    if ((rc = edge_config_validate(out, err))) {
        err_wrap(err, "%s%sthe edge cannot run this configuration", x->prefix,
                 x->prefix[0] ? ": " : "");
        goto out;
    }
out:
    if (rc)
        memset(out, 0, sizeof(*out));
    json_object_put(root);
    free(x);
    return rc;
}

cfdr_code distconfig_load_file(const char *path, const struct distconfig_map *m,
                               struct edge_config *out, cfdr_err *err)
{
    struct buf b;
    char chunk[16384];
    FILE *f = NULL;
    size_t n;
    cfdr_code rc = CFDR_OK;

    buf_init(&b, BUF_MAX_DOC);
    memset(out, 0, sizeof(*out));
    f = fopen(path, "rb");
    if (!f) {
        rc = err_set(err, CFDR_E_IO, "--distribution-config: cannot open %s: %s", path,
                     strerror(errno));
        goto out;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if ((rc = buf_add(&b, chunk, n))) {
            if (rc == CFDR_E_TOOBIG)
                err_set(err, rc, "%s: larger than %u bytes; not a DistributionConfig", path,
                        BUF_MAX_DOC);
            else
                err_set(err, rc, "out of memory reading %s", path);
            goto out;
        }
    if (ferror(f)) {
        rc = err_set(err, CFDR_E_IO, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    if ((rc = distconfig_parse(buf_str(&b), buf_len(&b), m, out, err)))
        err_wrap(err, "%s", path);
out:
    if (f)
        fclose(f);
    buf_free(&b);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * --origin-map and regions.
 */

static int host_ok(const char *h, size_t n)
{
    if (n == 0)
        return 0;
    if (h[0] == '[') {
        if (n < 3 || h[n - 1] != ']')
            return 0;
        for (size_t i = 1; i + 1 < n; i++)
            if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
                return 0;
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.')
            return 0;
    return 1;
}

cfdr_code distconfig_map_add(struct distconfig_map *m, const char *arg, cfdr_err *err)
{
    struct distconfig_map_entry e;
    const char *eq = strchr(arg, '='), *colon;
    size_t dlen, hlen;
    char *end;
    long port;

    memset(&e, 0, sizeof(e));
    if (!eq)
        goto bad;
    dlen = (size_t)(eq - arg);
    colon = strrchr(eq + 1, ':');
    if (dlen == 0 || dlen >= sizeof(e.domain) || !colon ||
        !host_ok(eq + 1, (size_t)(colon - eq - 1)))
        goto bad;
    for (size_t i = 0; i < dlen; i++)
        if (!isalnum((unsigned char)arg[i]) && arg[i] != '-' && arg[i] != '.')
            goto bad;
    hlen = (size_t)(colon - eq - 1);
    if (hlen >= sizeof(e.host))
        goto bad;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 1 || port > 65535 ||
        !isdigit((unsigned char)colon[1]))
        goto bad;
    memcpy(e.domain, arg, dlen);
    memcpy(e.host, eq + 1, hlen);
    e.port = (int)port;
    for (size_t i = 0; i < m->n; i++)
        if (strcasecmp(m->entries[i].domain, e.domain) == 0)
            return err_set(err, CFDR_E_USAGE, "--origin-map: %s is mapped twice", e.domain);
    if (m->n == DISTCONFIG_MAP_MAX)
        return err_set(err, CFDR_E_USAGE, "--origin-map: at most %d (one per origin)",
                       DISTCONFIG_MAP_MAX);
    m->entries[m->n++] = e;
    return CFDR_OK;
bad:
    return err_set(err, CFDR_E_USAGE,
                   "--origin-map '%s': expected DOMAIN=HOST:PORT, e.g. "
                   "--origin-map abcdefghij.us-east-1.awsapprunner.com=127.0.0.1:8081",
                   arg);
}

/* A plausible AWS region name: lowercase letters and digits in hyphenated parts, ending in a
 * number ("us-east-1", "ap-southeast-2", "us-gov-west-1"). */
static int region_ok(const char *s, size_t n)
{
    size_t parts = 1;
    if (n < 4 || n > 32 || !islower((unsigned char)s[0]) || !isdigit((unsigned char)s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '-') {
            if (i == 0 || s[i - 1] == '-')
                return 0;
            parts++;
        } else if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return parts >= 3;
}

int distconfig_region_from_domain(const char *domain, char *out, size_t outsz)
{
    char d[DISTCONFIG_DOMAIN_MAX];
    char *labels[8];
    size_t n = 0, len = strlen(domain);
    const char *region = NULL;

    if (outsz)
        out[0] = '\0';
    if (len == 0 || len >= sizeof(d))
        return 0;
    for (size_t i = 0; i <= len; i++)
        d[i] = (char)tolower((unsigned char)domain[i]);
    if (d[len - 1] == '.')
        d[--len] = '\0';
    /* The last labels are what matter; keep up to 8, from the end. */
    for (size_t i = len; n < 8; i--) {
        if (i == 0 || d[i - 1] == '.') {
            labels[n++] = d + i;
            if (i > 0)
                d[i - 1] = '\0';
        }
        if (i == 0)
            break;
    }
    /* labels[0] is the last label (the TLD). */
    if (n == 4 && strcmp(labels[0], "com") == 0 && strcmp(labels[1], "awsapprunner") == 0)
        region = labels[2];
    else if (n >= 5 && strcmp(labels[0], "com") == 0 && strcmp(labels[1], "amazonaws") == 0 &&
             strcmp(labels[3], "s3") == 0)
        region = labels[2];
    if (!region || !region_ok(region, strlen(region)) || strlen(region) >= outsz)
        return 0;
    memcpy(out, region, strlen(region) + 1);
    return 1;
}
