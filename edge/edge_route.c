/* edge_route: config validation, CloudFront path patterns and the compiled routing table. */
#include "edge_int.h"

#include <stdio.h>
#include <string.h>

int edge_path_match(const char *pattern, const char *path)
{
    const char *p = pattern, *s = path;
    const char *star = NULL, *resume = NULL;

    /* CloudFront treats the patterns "images/x" and "/images/x" alike. */
    if (*p != '/' && *s == '/')
        s++;
    while (*s) {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p == '?' || *p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

int edge_methods_allow(enum edge_methods m, const char *method)
{
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return 1;
    if (strcmp(method, "OPTIONS") == 0)
        return m == EDGE_METHODS_GET_HEAD_OPTIONS || m == EDGE_METHODS_ALL;
    if (m != EDGE_METHODS_ALL)
        return 0;
    return strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0 ||
           strcmp(method, "POST") == 0 || strcmp(method, "DELETE") == 0;
}

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

/* The authority ("host[:port]") of an http(s) URL, or 0 when the URL is not usable. */
static int url_authority(const char *url, char *out, size_t outsz)
{
    const char *a, *end;
    size_t n;

    if (strncmp(url, "http://", 7) == 0)
        a = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        a = url + 8;
    else
        return 0;
    end = a + strcspn(a, "/?#");
    n = (size_t)(end - a);
    if (n == 0 || n >= outsz || memchr(a, '@', n) || *end == '?' || *end == '#')
        return 0;
    memcpy(out, a, n);
    out[n] = '\0';
    return 1;
}

static cfdr_code check_origin(const struct edge_config *c, size_t i, cfdr_err *err)
{
    const struct edge_origin *o = &c->origins[i];
    char auth[256];

    if (o->id[0] == '\0')
        return err_set(err, CFDR_E_CONFIG, "origins[%zu].id: must not be empty", i);
    for (size_t j = 0; j < i; j++)
        if (strcmp(c->origins[j].id, o->id) == 0)
            return err_set(err, CFDR_E_CONFIG, "origins[%zu].id: \"%s\" is used twice", i, o->id);
    if (!url_authority(o->url, auth, sizeof(auth)))
        return err_set(err, CFDR_E_CONFIG,
                       "origins[%zu].url: \"%s\" is not an http://host:port[/path] URL", i, o->url);
    if (o->connection_attempts != 0 && (o->connection_attempts < 1 || o->connection_attempts > 3))
        return err_set(err, CFDR_E_CONFIG,
                       "origins[%zu].connection_attempts: %d is out of range (1-3)", i,
                       o->connection_attempts);
    if (o->connection_timeout_ms != 0 &&
        (o->connection_timeout_ms < 1000 || o->connection_timeout_ms > 10000))
        return err_set(err, CFDR_E_CONFIG,
                       "origins[%zu].connection_timeout_ms: %ld is out of range (1000-10000)", i,
                       o->connection_timeout_ms);
    if (o->response_timeout_ms != 0 &&
        (o->response_timeout_ms < 1000 || o->response_timeout_ms > 120000))
        return err_set(err, CFDR_E_CONFIG,
                       "origins[%zu].response_timeout_ms: %ld is out of range (1000-120000)", i,
                       o->response_timeout_ms);
    return CFDR_OK;
}

static cfdr_code check_group(const struct edge_config *c, size_t i, cfdr_err *err)
{
    const struct edge_origin_group *g = &c->groups[i];
    struct edge_failover_policy p;

    if (g->id[0] == '\0')
        return err_set(err, CFDR_E_CONFIG, "origin_groups[%zu].id: must not be empty", i);
    if (find_origin(c, g->id) >= 0 || find_group(c, g->id) != (int)i)
        return err_set(err, CFDR_E_CONFIG,
                       "origin_groups[%zu].id: \"%s\" is already the id of an origin or group", i,
                       g->id);
    if (find_origin(c, g->primary) < 0)
        return err_set(err, CFDR_E_CONFIG, "origin_groups[%zu].primary: unknown origin \"%s\"", i,
                       g->primary);
    if (find_origin(c, g->secondary) < 0)
        return err_set(err, CFDR_E_CONFIG, "origin_groups[%zu].secondary: unknown origin \"%s\"", i,
                       g->secondary);
    if (strcmp(g->primary, g->secondary) == 0)
        return err_set(err, CFDR_E_CONFIG,
                       "origin_groups[%zu]: primary and secondary must be two distinct origins", i);
    if (g->nfailover_codes > EDGE_FAILOVER_NALLOWED ||
        edge_failover_policy_init(&p, g->failover_codes, g->nfailover_codes, err) != CFDR_OK) {
        if (g->nfailover_codes > EDGE_FAILOVER_NALLOWED)
            err_set(err, CFDR_E_CONFIG, "too many codes (at most %d)", EDGE_FAILOVER_NALLOWED);
        return err_wrap(err, "origin_groups[%zu].failover_codes", i);
    }
    return CFDR_OK;
}

static cfdr_code check_behavior(const struct edge_config *c, size_t i, cfdr_err *err)
{
    const struct edge_behavior *b = &c->behaviors[i];
    int is_default = i + 1 == c->nbehaviors;
    int g;

    if (!is_default && b->path_pattern[0] == '\0')
        return err_set(err, CFDR_E_CONFIG, "behaviors[%zu].path_pattern: must not be empty", i);
    if (b->methods != EDGE_METHODS_GET_HEAD && b->methods != EDGE_METHODS_GET_HEAD_OPTIONS &&
        b->methods != EDGE_METHODS_ALL)
        return err_set(err, CFDR_E_CONFIG,
                       "behaviors[%zu].methods: unknown set (allowed: GET+HEAD, "
                       "GET+HEAD+OPTIONS, all seven)",
                       i);
    g = find_group(c, b->target);
    if (g < 0 && find_origin(c, b->target) < 0)
        return err_set(err, CFDR_E_CONFIG,
                       "behaviors[%zu].target: unknown origin or origin group \"%s\"", i,
                       b->target);
    if (g >= 0 && b->methods == EDGE_METHODS_ALL)
        return err_set(err, CFDR_E_CONFIG,
                       "behaviors[%zu] (%s \"%s\"): a behaviour on origin group \"%s\" may only "
                       "allow GET, HEAD and OPTIONS, as in CloudFront (only those methods fail "
                       "over)",
                       i, is_default ? "default behaviour, path" : "path",
                       is_default ? "*" : b->path_pattern, b->target);
    return CFDR_OK;
}

cfdr_code edge_config_validate(const struct edge_config *c, cfdr_err *err)
{
    if (c->norigins == 0 || c->norigins > EDGE_MAX_ORIGINS)
        return err_set(err, CFDR_E_CONFIG, "origins: between 1 and %d origins are needed",
                       EDGE_MAX_ORIGINS);
    if (c->ngroups > EDGE_MAX_GROUPS)
        return err_set(err, CFDR_E_CONFIG, "origin_groups: at most %d groups", EDGE_MAX_GROUPS);
    if (c->nbehaviors == 0 || c->nbehaviors > EDGE_MAX_BEHAVIORS)
        return err_set(err, CFDR_E_CONFIG,
                       "behaviors: between 1 and %d behaviours are needed (the last one is the "
                       "default)",
                       EDGE_MAX_BEHAVIORS);
    for (size_t i = 0; i < c->norigins; i++)
        CFDR_TRY(check_origin(c, i, err));
    for (size_t i = 0; i < c->ngroups; i++)
        CFDR_TRY(check_group(c, i, err));
    for (size_t i = 0; i < c->nbehaviors; i++)
        CFDR_TRY(check_behavior(c, i, err));
    return CFDR_OK;
}

static void origin_policy(struct edge_failover_policy *p, const struct edge_origin *o,
                          const struct edge_origin_group *g)
{
    memset(p, 0, sizeof(*p));
    if (g)
        for (size_t i = 0; i < g->nfailover_codes; i++)
            p->fail_on[g->failover_codes[i]] = 1;
    p->connection_attempts = o->connection_attempts;
    p->connection_timeout_ms = o->connection_timeout_ms;
    p->response_timeout_ms = o->response_timeout_ms;
}

cfdr_code edge_routes_build(struct edge_routes *r, const struct edge_config *c, cfdr_err *err)
{
    CFDR_TRY(edge_config_validate(c, err));
    memset(r, 0, sizeof(*r));
    r->cfg = *c;
    for (size_t i = 0; i < r->cfg.norigins; i++) {
        struct edge_origin *o = &r->cfg.origins[i];
        size_t n;
        if (o->connection_attempts == 0)
            o->connection_attempts = 3;
        if (o->connection_timeout_ms == 0)
            o->connection_timeout_ms = 10000;
        if (o->response_timeout_ms == 0)
            o->response_timeout_ms = 30000;
        if (o->host_header[0])
            snprintf(r->host[i], sizeof(r->host[i]), "%s", o->host_header);
        else
            url_authority(o->url, r->host[i], sizeof(r->host[i]));
        snprintf(r->base[i], sizeof(r->base[i]), "%s", o->url);
        n = strlen(r->base[i]);
        while (n > 0 && r->base[i][n - 1] == '/')
            r->base[i][--n] = '\0';
    }
    for (size_t i = 0; i < r->cfg.nbehaviors; i++) {
        struct edge_route *rt = &r->routes[i];
        const struct edge_behavior *b = &r->cfg.behaviors[i];
        int g = find_group(&r->cfg, b->target);
        rt->behavior = b;
        rt->is_default = i + 1 == r->cfg.nbehaviors;
        if (g >= 0) {
            const struct edge_origin_group *grp = &r->cfg.groups[g];
            rt->has_secondary = 1;
            rt->origin[0] = find_origin(&r->cfg, grp->primary);
            rt->origin[1] = find_origin(&r->cfg, grp->secondary);
            origin_policy(&rt->policy[0], &r->cfg.origins[rt->origin[0]], grp);
            origin_policy(&rt->policy[1], &r->cfg.origins[rt->origin[1]], grp);
        } else {
            rt->origin[0] = find_origin(&r->cfg, b->target);
            rt->origin[1] = -1;
            origin_policy(&rt->policy[0], &r->cfg.origins[rt->origin[0]], NULL);
        }
    }
    r->nroutes = r->cfg.nbehaviors;
    return CFDR_OK;
}

const struct edge_route *edge_routes_match(const struct edge_routes *r, const char *path)
{
    for (size_t i = 0; i + 1 < r->nroutes; i++)
        if (edge_path_match(r->routes[i].behavior->path_pattern, path))
            return &r->routes[i];
    return &r->routes[r->nroutes - 1];
}

cfdr_code edge_config_simple(struct edge_config *c, const char *primary_url,
                             const char *primary_region, const char *secondary_url,
                             const char *secondary_region, const int *codes, size_t ncodes,
                             int connection_attempts, long connection_timeout_ms,
                             long response_timeout_ms, cfdr_err *err)
{
    const char *urls[2] = {primary_url, secondary_url};
    const char *regions[2] = {primary_region, secondary_region};
    const char *ids[2] = {"primary", "secondary"};

    memset(c, 0, sizeof(*c));
    if (ncodes > EDGE_FAILOVER_NALLOWED)
        return err_set(err, CFDR_E_CONFIG, "failover status codes: at most %d",
                       EDGE_FAILOVER_NALLOWED);
    for (int i = 0; i < 2; i++) {
        struct edge_origin *o = &c->origins[i];
        if (!urls[i] || snprintf(o->url, sizeof(o->url), "%s", urls[i]) >= (int)sizeof(o->url))
            return err_set(err, CFDR_E_CONFIG, "%s origin URL: missing or too long", ids[i]);
        snprintf(o->id, sizeof(o->id), "%s", ids[i]);
        snprintf(o->region, sizeof(o->region), "%s", regions[i] ? regions[i] : "");
        o->connection_attempts = connection_attempts;
        o->connection_timeout_ms = connection_timeout_ms;
        o->response_timeout_ms = response_timeout_ms;
    }
    c->norigins = 2;
    snprintf(c->groups[0].id, sizeof(c->groups[0].id), "group");
    snprintf(c->groups[0].primary, sizeof(c->groups[0].primary), "primary");
    snprintf(c->groups[0].secondary, sizeof(c->groups[0].secondary), "secondary");
    for (size_t i = 0; i < ncodes; i++)
        c->groups[0].failover_codes[i] = codes[i];
    c->groups[0].nfailover_codes = ncodes;
    c->ngroups = 1;
    snprintf(c->behaviors[0].path_pattern, sizeof(c->behaviors[0].path_pattern), "*");
    snprintf(c->behaviors[0].target, sizeof(c->behaviors[0].target), "group");
    c->behaviors[0].methods = EDGE_METHODS_GET_HEAD_OPTIONS;
    c->nbehaviors = 1;
    return edge_config_validate(c, err);
}
