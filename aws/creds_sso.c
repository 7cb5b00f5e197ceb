/* creds_sso: see creds_sso.h. Follows botocore's SSOProvider._load_sso_config,
 * SSOCredentialFetcher and SSOTokenLoader. */
#include "aws/creds_sso.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aws/atomicfile.h"
#include "aws/buf.h"
#include "aws/creds_cache.h"
#include "aws/transport.h"
#include "sigv4/uri.h"

/* Largest token file read. */
#define TOKEN_MAX_FILE BUF_MAX_SMALL

struct sso_config {
    const char *profile;
    const char *session;   /* sso_session, or NULL for a legacy profile */
    const char *start_url; /* sso_start_url */
    const char *region;    /* sso_region */
    const char *role_name; /* sso_role_name */
    const char *account;   /* sso_account_id */
};

const struct awsconfig_section *creds_sso_session_section(const struct awsconfig_file *config,
                                                          const char *name)
{
    const struct awsconfig_section *found = NULL;
    for (size_t i = 0; config && name && i < config->nsections; i++) {
        const char *sn = config->sections[i].name;
        char **argv = NULL;
        size_t argc = 0;
        /* botocore's build_profile_map: key.startswith("sso-session"), shlex.split, 2 words */
        if (strncmp(sn, "sso-session", 11) != 0)
            continue;
        if (awsconfig_shlex_split(sn, &argv, &argc, NULL) == CFDR_OK && argc == 2 &&
            strcmp(argv[1], name) == 0)
            found = &config->sections[i];
        awsconfig_argv_free(argv);
    }
    return found;
}

static cfdr_code load_config(const struct awsconfig *cfg, const char *profile,
                             struct sso_config *sc, int *is_sso, cfdr_err *err)
{
    const struct awsconfig_section *ss = NULL;
    const char *missing[5];
    size_t nmissing = 0;
    struct buf list;
    cfdr_code rc;

    memset(sc, 0, sizeof(*sc));
    sc->profile = profile;
    sc->role_name = awsconfig_profile_get(cfg, profile, "sso_role_name", NULL);
    sc->account = awsconfig_profile_get(cfg, profile, "sso_account_id", NULL);
    *is_sso = sc->role_name || sc->account;
    if (!*is_sso)
        return CFDR_OK;
    sc->session = awsconfig_profile_get(cfg, profile, "sso_session", NULL);
    sc->start_url = awsconfig_profile_get(cfg, profile, "sso_start_url", NULL);
    sc->region = awsconfig_profile_get(cfg, profile, "sso_region", NULL);
    if (sc->session) {
        ss = creds_sso_session_section(cfg->config, sc->session);
        if (!ss)
            return err_set(err, CFDR_E_CONFIG,
                           "profile '%s' uses sso_session '%s', but %s has no [sso-session %s] "
                           "section; add it (aws configure sso) or fix the name",
                           profile, sc->session, cfg->config->path ? cfg->config->path : "?",
                           sc->session);
        /* every key of the session section: the profile may repeat it, not contradict it */
        for (size_t i = 0; i < ss->nprops; i++) {
            const struct awsconfig_prop *sp = &ss->props[i];
            const char *pv = awsconfig_profile_get(cfg, profile, sp->key, NULL);
            if (pv && strcmp(pv, sp->value) != 0)
                return err_set(err, CFDR_E_CONFIG,
                               "the value of %s differs between profile '%s' (%s) and "
                               "[sso-session %s] (%s) in %s; keep one",
                               sp->key, profile, pv, sc->session, sp->value,
                               cfg->config->path ? cfg->config->path : "?");
            if (strcmp(sp->key, "sso_start_url") == 0)
                sc->start_url = sp->value;
            else if (strcmp(sp->key, "sso_region") == 0)
                sc->region = sp->value;
            else if (strcmp(sp->key, "sso_role_name") == 0)
                sc->role_name = sp->value;
            else if (strcmp(sp->key, "sso_account_id") == 0)
                sc->account = sp->value;
        }
    }
    if (!sc->role_name)
        missing[nmissing++] = "sso_role_name";
    if (!sc->account)
        missing[nmissing++] = "sso_account_id";
    if (!sc->start_url)
        missing[nmissing++] = "sso_start_url";
    if (!sc->region)
        missing[nmissing++] = "sso_region";
    if (!nmissing)
        return CFDR_OK;
    buf_init(&list, BUF_MAX_SMALL);
    rc = CFDR_OK;
    for (size_t i = 0; i < nmissing && !rc; i++)
        rc = buf_addf(&list, "%s%s", i ? ", " : "", missing[i]);
    rc = err_set(err, CFDR_E_CONFIG,
                 "profile '%s' is configured for IAM Identity Center but is missing required "
                 "configuration: %s; set it%s%s%s or run 'aws configure sso --profile %s'",
                 profile, buf_str(&list), sc->session ? " in [sso-session " : "",
                 sc->session ? sc->session : "", sc->session ? "] or the profile" : "", profile);
    buf_free(&list);
    return rc;
}

/* botocore's SSOCredentialFetcher._create_cache_key: minified, sorted JSON. */
static cfdr_code role_cache_key(const struct sso_config *sc, char out[41], cfdr_err *err)
{
    struct buf b;
    cfdr_code rc;

    buf_init(&b, BUF_MAX_SMALL);
    rc = buf_adds(&b, "{\"accountId\":");
    if (!rc)
        rc = creds_cache_json_string(&b, sc->account);
    if (!rc)
        rc = buf_adds(&b, ",\"roleName\":");
    if (!rc)
        rc = creds_cache_json_string(&b, sc->role_name);
    if (!rc)
        rc = buf_adds(&b, sc->session ? ",\"sessionName\":" : ",\"startUrl\":");
    if (!rc)
        rc = creds_cache_json_string(&b, sc->session ? sc->session : sc->start_url);
    if (!rc)
        rc = buf_addc(&b, '}');
    if (!rc)
        creds_cache_sha1_hex(buf_str(&b), buf_len(&b), out);
    buf_free(&b);
    if (rc == CFDR_E_PARSE)
        return err_set(err, CFDR_E_CONFIG,
                       "the IAM Identity Center settings of profile '%s' are not valid UTF-8",
                       sc->profile);
    if (rc)
        return err_set(err, rc, "building the credential cache key");
    return CFDR_OK;
}

static const char *json_member_str(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* "2030-01-02T03:04:05UTC" (older CLIs) is read as Z. */
static cfdr_code parse_expiry(const char *s, time_t *out)
{
    char tmp[64];
    size_t n = strlen(s);
    if (creds_parse_time(s, out) == CFDR_OK)
        return CFDR_OK;
    if (n > 3 && n < sizeof(tmp) && strcmp(s + n - 3, "UTC") == 0) {
        snprintf(tmp, sizeof(tmp), "%.*sZ", (int)(n - 3), s);
        return creds_parse_time(tmp, out);
    }
    return CFDR_E_PARSE;
}

/* Reads the token `aws sso login` cached; *token receives a malloc'd copy (wipe and free). */
static cfdr_code load_token(const struct sso_config *sc, time_t now, char **token, cfdr_err *err)
{
    const char *name = sc->session ? sc->session : sc->start_url;
    char hash[41], when[32];
    char *dir = NULL, *text = NULL;
    const char *tok, *exp;
    size_t len = 0;
    struct json_object *doc = NULL;
    struct buf path;
    time_t expires;
    cfdr_err e;
    cfdr_code rc;

    *token = NULL;
    buf_init(&path, BUF_MAX_SMALL);
    creds_cache_sha1_hex(name, strlen(name), hash);
    dir = awsconfig_expand_path(CREDS_SSO_TOKEN_DIR);
    if (!dir) {
        rc = err_set(err, CFDR_E_NOMEM, "out of memory");
        goto out;
    }
    rc = buf_addf(&path, "%s/%s.json", dir, hash);
    if (rc) {
        rc = err_set(err, rc, "the IAM Identity Center token path is too long");
        goto out;
    }
    err_clear(&e);
    rc = atomicfile_read(buf_str(&path), TOKEN_MAX_FILE, &text, &len, &e);
    if (rc == CFDR_E_NOTFOUND) {
        rc = err_set(err, CFDR_E_CREDENTIALS,
                     "there is no IAM Identity Center token for %s (%s does not exist); run: aws "
                     "sso login --profile %s",
                     name, buf_str(&path), sc->profile);
        goto out;
    }
    if (rc) {
        if (err)
            *err = e;
        err_wrap(err, "reading the IAM Identity Center token for %s", name);
        goto out;
    }
    doc = json_tokener_parse(text);
    tok = doc ? json_member_str(doc, "accessToken") : NULL;
    exp = doc ? json_member_str(doc, "expiresAt") : NULL;
    if (!tok || !*tok || !exp) {
        rc = err_set(err, CFDR_E_CREDENTIALS,
                     "%s is not a valid IAM Identity Center token file (it needs accessToken and "
                     "expiresAt); run: aws sso login --profile %s",
                     buf_str(&path), sc->profile);
        goto out;
    }
    if (parse_expiry(exp, &expires) != CFDR_OK) {
        rc = err_set(err, CFDR_E_CREDENTIALS,
                     "%s has an unreadable expiresAt '%.64s'; run: aws sso login --profile %s",
                     buf_str(&path), exp, sc->profile);
        goto out;
    }
    if (expires <= now) {
        creds_format_time(expires, when);
        rc = err_set(err, CFDR_E_CREDENTIALS,
                     "the IAM Identity Center token for %s has expired (at %s); run: aws sso "
                     "login --profile %s",
                     name, when, sc->profile);
        goto out;
    }
    *token = strdup(tok);
    if (!*token)
        rc = err_set(err, CFDR_E_NOMEM, "out of memory");
out:
    json_object_put(doc);
    if (text) {
        explicit_bzero(text, len);
        free(text);
    }
    free(dir);
    buf_free(&path);
    return rc;
}

static long long hook_now(void *ud)
{
    const struct creds_options *o = ud;
    return (long long)o->now(o->now_ud);
}

static void hook_sleep(void *ud, long ms)
{
    const struct creds_options *o = ud;
    o->sleep_ms(o->sleep_ud, ms);
}

/* roleCredentials of a GetRoleCredentials answer. */
static cfdr_code parse_role_credentials(const struct buf *body, struct aws_credentials *out,
                                        cfdr_err *err)
{
    struct json_object *doc = json_tokener_parse(buf_str(body)), *rc_obj = NULL, *ex = NULL;
    const char *ak, *sk, *st;
    int64_t ms;
    cfdr_code rc;

    if (!doc || !json_object_object_get_ex(doc, "roleCredentials", &rc_obj) ||
        !json_object_is_type(rc_obj, json_type_object)) {
        rc = err_set(err, CFDR_E_PARSE,
                     "IAM Identity Center GetRoleCredentials answered without "
                     "roleCredentials");
        goto out;
    }
    ak = json_member_str(rc_obj, "accessKeyId");
    sk = json_member_str(rc_obj, "secretAccessKey");
    st = json_member_str(rc_obj, "sessionToken");
    if (!ak || !*ak || !sk || !*sk || !st || !*st ||
        !json_object_object_get_ex(rc_obj, "expiration", &ex) ||
        !(json_object_is_type(ex, json_type_int) || json_object_is_type(ex, json_type_double))) {
        rc = err_set(err, CFDR_E_PARSE,
                     "IAM Identity Center GetRoleCredentials answered with incomplete "
                     "roleCredentials (accessKeyId, secretAccessKey, sessionToken, expiration)");
        goto out;
    }
    ms = json_object_is_type(ex, json_type_int) ? json_object_get_int64(ex)
                                                : (int64_t)json_object_get_double(ex);
    if (ms <= 0) {
        rc = err_set(err, CFDR_E_PARSE,
                     "IAM Identity Center GetRoleCredentials answered with expiration %lld",
                     (long long)ms);
        goto out;
    }
    rc = creds_fill(out, ak, sk, st, (time_t)(ms / 1000), "sso", err);
out:
    json_object_put(doc);
    return rc;
}

static cfdr_code get_role_credentials(const struct creds_options *o, const struct sso_config *sc,
                                      const char *token, struct aws_credentials *out, cfdr_err *err)
{
    struct transport *t = NULL;
    struct transport_options to;
    struct aws_request rq;
    struct aws_response resp;
    struct aws_header hdr = {"x-amz-sso_bearer_token", (char *)token};
    struct buf query;
    cfdr_code rc;

    aws_response_init(&resp);
    buf_init(&query, BUF_MAX_SMALL);
    /* botocore's rest-json serializer: roleName then accountId */
    rc = buf_adds(&query, "role_name=");
    if (!rc)
        rc = sigv4_uri_encode(&query, sc->role_name, strlen(sc->role_name), 0, err);
    if (!rc)
        rc = buf_adds(&query, "&account_id=");
    if (!rc)
        rc = sigv4_uri_encode(&query, sc->account, strlen(sc->account), 0, err);
    if (rc) {
        rc = err_set(err, rc, "building the GetRoleCredentials request");
        goto out;
    }
    memset(&to, 0, sizeof(to));
    to.unsigned_requests = 1; /* the bearer token authenticates, as botocore's UNSIGNED client */
    to.log = o ? o->log : NULL;
    if (o && o->now) {
        to.now = hook_now;
        to.hook_ud = (void *)o;
    }
    if (o && o->sleep_ms) {
        to.sleep_ms = hook_sleep;
        to.hook_ud = (void *)o;
    }
    rc = transport_new(&to, &t, err);
    if (rc)
        goto out;
    memset(&rq, 0, sizeof(rq));
    rq.service = AWS_SVC_SSO;
    rq.protocol = AWS_PROTO_REST_JSON;
    rq.region = sc->region;
    rq.operation = "GetRoleCredentials";
    rq.method = "GET";
    rq.path = "/federation/credentials";
    rq.query = buf_str(&query);
    rq.headers = &hdr;
    rq.nheaders = 1;
    rc = transport_call(t, &rq, &resp, err);
    if (rc == CFDR_E_AWS && strcmp(resp.error.code, "UnauthorizedException") == 0) {
        rc = err_set(err, CFDR_E_CREDENTIALS,
                     "the IAM Identity Center session for %s has expired or is otherwise "
                     "invalid (GetRoleCredentials: UnauthorizedException%s%s); run: aws sso "
                     "login --profile %s",
                     sc->session ? sc->session : sc->start_url, resp.error.message[0] ? ": " : "",
                     resp.error.message, sc->profile);
        goto out;
    }
    if (rc)
        goto out;
    rc = parse_role_credentials(&resp.body, out, err);
out:
    if (resp.body.p)
        explicit_bzero(resp.body.p, resp.body.cap);
    aws_response_free(&resp);
    transport_free(t);
    buf_free(&query);
    return rc;
}

cfdr_code creds_sso_resolve(const struct creds_options *o, const struct awsconfig *cfg,
                            const char *profile, time_t now, struct aws_credentials *out,
                            int *found, cfdr_err *err)
{
    const struct cfdr_log *log = o ? o->log : NULL;
    struct sso_config sc;
    struct buf doc;
    char key[41];
    char *token = NULL;
    int is_sso = 0;
    cfdr_err we;
    cfdr_code rc;

    *found = 0;
    memset(out, 0, sizeof(*out));
    buf_init(&doc, BUF_MAX_SMALL);
    rc = load_config(cfg, profile, &sc, &is_sso, err);
    if (rc || !is_sso)
        goto out;
    rc = role_cache_key(&sc, key, err);
    if (!rc)
        rc = creds_cache_load(key, now, "sso", log, out, found, err);
    if (rc || *found)
        goto out;
    rc = load_token(&sc, now, &token, err);
    if (!rc)
        rc = get_role_credentials(o, &sc, token, out, err);
    if (rc) {
        err_wrap(err, "profile '%s' (IAM Identity Center, account %s, role %s)", profile,
                 sc.account, sc.role_name);
        goto out;
    }
    *found = 1;
    rc = buf_adds(&doc, "{\"ProviderType\": \"sso\", ");
    if (!rc)
        rc = creds_cache_add_credentials(&doc, out, CREDS_CACHE_TIME_ZULU);
    if (!rc)
        rc = buf_addc(&doc, '}');
    err_clear(&we);
    if (rc)
        log_msg(log, CFDR_LOG_WARN,
                "credentials: the IAM Identity Center role credentials cannot be written to "
                "the AWS CLI cache");
    else if (creds_cache_store(key, &doc, &we) != CFDR_OK)
        log_msg(log, CFDR_LOG_WARN, "credentials: not cached for the AWS CLI: %s", we.msg);
    rc = CFDR_OK;
out:
    if (token) {
        explicit_bzero(token, strlen(token));
        free(token);
    }
    if (doc.p)
        explicit_bzero(doc.p, doc.cap);
    buf_free(&doc);
    if (rc)
        creds_free(out);
    return rc;
}
