/* creds_imds: see creds_imds.h. Follows botocore's IMDSFetcher / InstanceMetadataFetcher. */
#include "aws/creds_imds.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "aws/buf.h"
#include "aws/creds_http.h"

#define CREDS_PATH "latest/meta-data/iam/security-credentials/"
#define TOKEN_PATH "latest/api/token"

struct imds {
    char base[512];
    long timeout_ms;
    int attempts;
    int v1_disabled;
    char token[1024]; /* "" when none */
    char *why;
    size_t whysz;
};

int creds_imds_disabled(void)
{
    const char *v = getenv("AWS_EC2_METADATA_DISABLED");
    return v && strcasecmp(v, "true") == 0;
}

/* A setting: the environment variable, else the profile's key; NULL when neither. */
static const char *setting(const struct awsconfig *cfg, const char *profile, const char *env,
                           const char *key)
{
    const char *v = getenv(env);
    if (v && *v)
        return v;
    if (cfg && profile)
        return awsconfig_profile_get(cfg, profile, key, NULL);
    return NULL;
}

static cfdr_code int_setting(const struct awsconfig *cfg, const char *profile, const char *env,
                             const char *key, long def, long max, long *out, cfdr_err *err)
{
    const char *v = setting(cfg, profile, env, key);
    char *end;
    long n;

    *out = def;
    if (!v)
        return CFDR_OK;
    errno = 0;
    n = strtol(v, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    if (errno || end == v || *end || n < 1 || n > max)
        return err_set(err, CFDR_E_CONFIG,
                       "%s / %s '%.40s' is not a whole number from 1 to %ld; fix or unset it", env,
                       key, v, max);
    *out = n;
    return CFDR_OK;
}

static cfdr_code load_settings(struct imds *m, const struct awsconfig *cfg, const char *profile,
                               cfdr_err *err)
{
    const char *ep, *mode, *v1;
    long secs, attempts;
    CURLU *u;
    char *scheme = NULL;
    int ok;

    ep =
        setting(cfg, profile, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "ec2_metadata_service_endpoint");
    mode = setting(cfg, profile, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
                   "ec2_metadata_service_endpoint_mode");
    if (mode && strcasecmp(mode, "ipv4") != 0 && strcasecmp(mode, "ipv6") != 0)
        return err_set(
            err, CFDR_E_CONFIG,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE / ec2_metadata_service_endpoint_mode "
            "'%.40s' is neither IPv4 nor IPv6; fix or unset it",
            mode);
    if (!ep)
        ep = (mode && strcasecmp(mode, "ipv6") == 0) ? CREDS_IMDS_ENDPOINT_IPV6
                                                     : CREDS_IMDS_ENDPOINT;
    /* botocore's is_valid_uri: an http(s) URL */
    u = curl_url();
    if (!u)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    ok = curl_url_set(u, CURLUPART_URL, ep, 0) == CURLUE_OK &&
         curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
         (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0);
    curl_free(scheme);
    curl_url_cleanup(u);
    if (!ok || strlen(ep) + 2 > sizeof(m->base))
        return err_set(err, CFDR_E_CONFIG,
                       "the instance metadata endpoint '%.200s' (AWS_EC2_METADATA_SERVICE_ENDPOINT "
                       "or ec2_metadata_service_endpoint) is not an http(s) URL; fix or unset it",
                       ep);
    snprintf(m->base, sizeof(m->base), "%s%s", ep, ep[strlen(ep) - 1] == '/' ? "" : "/");
    CFDR_TRY(int_setting(cfg, profile, "AWS_METADATA_SERVICE_TIMEOUT", "metadata_service_timeout",
                         1, 3600, &secs, err));
    CFDR_TRY(int_setting(cfg, profile, "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
                         "metadata_service_num_attempts", 1, 10, &attempts, err));
    m->timeout_ms = secs * 1000;
    m->attempts = (int)attempts;
    v1 = setting(cfg, profile, "AWS_EC2_METADATA_V1_DISABLED", "ec2_metadata_v1_disabled");
    m->v1_disabled = v1 && strcasecmp(v1, "true") == 0;
    return CFDR_OK;
}

static void say(struct imds *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct imds *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->why, m->whysz, fmt, ap);
    va_end(ap);
}

/* Step 1. Returns CFDR_OK with m->token set, or "" for the IMDSv1 fallback; *stop = 1 when
 * botocore gives up on the whole lookup (a 400 answer). */
static cfdr_code fetch_token(struct imds *m, struct creds_http_answer *a, int *stop, cfdr_err *err)
{
    struct creds_http_header h = {"x-aws-ec2-metadata-token-ttl-seconds", CREDS_IMDS_TOKEN_TTL};
    char url[600];
    cfdr_code rc;

    *stop = 0;
    m->token[0] = '\0';
    snprintf(url, sizeof(url), "%s" TOKEN_PATH, m->base);
    for (int i = 0; i < m->attempts; i++) {
        cfdr_err e;
        err_clear(&e);
        rc = creds_http_send("PUT", url, &h, 1, m->timeout_ms, a, &e);
        if (rc == CFDR_E_NET) {
            say(m, "token request to %s: no answer (%s)", url, a->error);
            if (a->timed_out)
                return CFDR_OK; /* botocore: a read timeout means no IMDSv2 here */
            continue;
        }
        if (rc) {
            if (err)
                *err = e;
            return rc;
        }
        if (a->status == 200 && buf_len(&a->body) > 0 && buf_len(&a->body) < sizeof(m->token) &&
            !memchr(buf_str(&a->body), '\r', buf_len(&a->body)) &&
            !memchr(buf_str(&a->body), '\n', buf_len(&a->body))) {
            snprintf(m->token, sizeof(m->token), "%s", buf_str(&a->body));
            return CFDR_OK;
        }
        say(m, "token request to %s: HTTP %ld", url, a->status);
        if (a->status == 403 || a->status == 404 || a->status == 405)
            return CFDR_OK;
        if (a->status == 400) {
            *stop = 1;
            return CFDR_OK;
        }
    }
    return CFDR_OK;
}

/* Steps 2 and 3: GET with retries while the answer is not 200 with a body (and, when
 * want_json, a JSON object). CFDR_OK with *got = 1 and the answer in a, or *got = 0. */
static cfdr_code get(struct imds *m, const char *path, int want_json, struct creds_http_answer *a,
                     int *got, cfdr_err *err)
{
    struct creds_http_header h = {"x-aws-ec2-metadata-token", m->token};
    char url[1200];
    cfdr_code rc;

    *got = 0;
    snprintf(url, sizeof(url), "%s%s", m->base, path);
    for (int i = 0; i < m->attempts; i++) {
        cfdr_err e;
        err_clear(&e);
        rc = creds_http_send("GET", url, &h, m->token[0] ? 1 : 0, m->timeout_ms, a, &e);
        if (rc == CFDR_E_NET) {
            say(m, "%s: no answer (%s)", url, a->error);
            continue;
        }
        if (rc) {
            if (err)
                *err = e;
            return rc;
        }
        if (a->status != 200) {
            say(m, "%s: HTTP %ld%s", url, a->status,
                a->status == 404 && !want_json ? " (no IAM role attached to the instance)" : "");
            continue;
        }
        if (buf_len(&a->body) == 0) {
            say(m, "%s: empty answer", url);
            continue;
        }
        if (want_json) {
            struct json_object *j = json_tokener_parse(buf_str(&a->body));
            int obj = j && json_object_is_type(j, json_type_object);
            json_object_put(j);
            if (!obj) {
                say(m, "%s: the answer is not a JSON object", url);
                continue;
            }
        }
        *got = 1;
        return CFDR_OK;
    }
    return CFDR_OK;
}

static const char *member_str(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* The role name from the listing: its first line, blanks trimmed; "" when unusable. */
static void role_name(const struct buf *b, char *out, size_t outsz)
{
    const char *s = buf_str(b);
    size_t n = strcspn(s, "\r\n");
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    out[0] = '\0';
    if (n == 0 || n >= outsz)
        return;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        /* the name goes into a URL path: IAM role names are [\w+=,.@-]+ */
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("_+=,.@-", c)))
            return;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

cfdr_code creds_imds_resolve(const struct creds_options *o, const struct awsconfig *cfg,
                             const char *profile, struct aws_credentials *out, int *found,
                             char *why, size_t whysz, cfdr_err *err)
{
    const struct cfdr_log *log = o ? o->log : NULL;
    struct imds m;
    struct creds_http_answer a;
    struct json_object *doc = NULL;
    char role[256], path[400];
    const char *ak, *sk, *tok, *ex;
    time_t expiration;
    int stop = 0, got = 0;
    cfdr_code rc;

    *found = 0;
    memset(out, 0, sizeof(*out));
    memset(&m, 0, sizeof(m));
    m.why = why;
    m.whysz = whysz;
    if (whysz)
        why[0] = '\0';
    if (creds_imds_disabled()) {
        say(&m, "disabled by AWS_EC2_METADATA_DISABLED");
        return CFDR_OK;
    }
    creds_http_answer_init(&a);
    rc = load_settings(&m, cfg, profile, err);
    if (rc)
        goto out;
    log_msg(log, CFDR_LOG_DEBUG, "credentials: asking the instance metadata service at %s", m.base);
    rc = fetch_token(&m, &a, &stop, err);
    if (rc || stop)
        goto out;
    if (!m.token[0]) {
        if (m.v1_disabled) {
            char before[300];
            snprintf(before, sizeof(before), "%s", why);
            say(&m, "no IMDSv2 token (%s) and IMDSv1 is disabled (AWS_EC2_METADATA_V1_DISABLED)",
                before[0] ? before : "none given");
            goto out;
        }
        log_msg(log, CFDR_LOG_DEBUG, "credentials: no IMDSv2 token (%s); trying IMDSv1", why);
    }
    rc = get(&m, CREDS_PATH, 0, &a, &got, err);
    if (rc || !got)
        goto out;
    role_name(&a.body, role, sizeof(role));
    if (!role[0]) {
        say(&m, "%s" CREDS_PATH ": no usable IAM role name in the answer", m.base);
        goto out;
    }
    snprintf(path, sizeof(path), CREDS_PATH "%s", role);
    rc = get(&m, path, 1, &a, &got, err);
    if (rc || !got)
        goto out;
    doc = json_tokener_parse(buf_str(&a.body));
    ak = member_str(doc, "AccessKeyId");
    sk = member_str(doc, "SecretAccessKey");
    tok = member_str(doc, "Token");
    ex = member_str(doc, "Expiration");
    if (!ak || !*ak || !sk || !*sk || !tok || !ex) {
        const char *code = member_str(doc, "Code"), *msg = member_str(doc, "Message");
        say(&m, "role %s: the answer has no credentials%s%.100s%s%.200s%s", role, code ? " (" : "",
            code ? code : "", code && msg ? ": " : "", code && msg ? msg : "", code ? ")" : "");
        goto out;
    }
    if (creds_parse_time(ex, &expiration) != CFDR_OK) {
        say(&m, "role %s: unreadable Expiration '%.64s'", role, ex);
        goto out;
    }
    rc = creds_fill(out, ak, sk, tok, expiration, "iam-role", err);
    if (!rc) {
        *found = 1;
        log_msg(log, CFDR_LOG_DEBUG, "credentials: instance metadata role %s (IMDSv%d)", role,
                m.token[0] ? 2 : 1);
    }
out:
    json_object_put(doc);
    explicit_bzero(m.token, sizeof(m.token));
    creds_http_answer_free(&a);
    return rc;
}
