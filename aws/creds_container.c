/* creds_container: see creds_container.h. */
#include "aws/creds_container.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "aws/atomicfile.h"
#include "aws/buf.h"
#include "aws/creds_http.h"

#define ENV_RELATIVE "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
#define ENV_FULL "AWS_CONTAINER_CREDENTIALS_FULL_URI"
#define ENV_TOKEN "AWS_CONTAINER_AUTHORIZATION_TOKEN"
#define ENV_TOKEN_FILE "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
/* Largest token file read. */
#define TOKEN_FILE_MAX BUF_MAX_SMALL

int creds_container_configured(void)
{
    return getenv(ENV_RELATIVE) != NULL || getenv(ENV_FULL) != NULL;
}

int creds_container_host_allowed(const char *host)
{
    static const char *const allowed[] = {CREDS_CONTAINER_HOST, "169.254.170.23", "fd00:ec2::23",
                                          "localhost"};
    char h[256];
    size_t n = strlen(host);
    struct in_addr a4;
    struct in6_addr a6;

    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof(h))
        return 0;
    memcpy(h, host, n);
    h[n] = '\0';
    /* botocore compares urlparse's (lower-cased) hostname with its list, then asks
     * ipaddress whether it is a loopback address */
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (strcasecmp(h, allowed[i]) == 0)
            return 1;
    if (inet_pton(AF_INET, h, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, h, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

/* The host as written in uri, as Python's urlparse(uri).hostname finds it: after "//" and any
 * "user@", up to the port, path, query or fragment; an IPv6 address without its brackets.
 * "" when there is none. */
static void written_host(const char *uri, char *out, size_t outsz)
{
    const char *p = strstr(uri, "//"), *end, *at;
    size_t n;

    out[0] = '\0';
    if (!p)
        return;
    p += 2;
    end = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t)(end - p));
    while (at) { /* the last '@' of the authority ends the user information */
        p = at + 1;
        at = memchr(p, '@', (size_t)(end - p));
    }
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close)
            return;
        p++;
        end = close;
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (colon)
            end = colon;
    }
    n = (size_t)(end - p);
    if (n >= outsz)
        return;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* Checks a full URI's scheme and host. */
static cfdr_code check_full_uri(const char *uri, cfdr_err *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, written[256];
    cfdr_code rc = CFDR_OK;

    if (!u)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    if (curl_url_set(u, CURLUPART_URL, uri, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        rc = err_set(err, CFDR_E_CONFIG,
                     ENV_FULL " '%.200s' is not a URL (such as http://127.0.0.1:8080/creds); fix "
                              "or unset it",
                     uri);
        goto out;
    }
    if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
        rc = err_set(err, CFDR_E_CONFIG,
                     ENV_FULL " '%.200s' is not an http or https URL; fix or unset it", uri);
        goto out;
    }
    /* botocore judges the host as written; libcurl connects to its normalised form (127.1 is
     * 127.0.0.1 to it): both must be allowed */
    written_host(uri, written, sizeof(written));
    if (!creds_container_host_allowed(written) || !creds_container_host_allowed(host)) {
        rc = err_set(err, CFDR_E_CONFIG,
                     ENV_FULL " '%.200s' names host '%.100s', which may not serve credentials: "
                              "only a loopback address, localhost, " CREDS_CONTAINER_HOST
                              ", 169.254.170.23 or fd00:ec2::23 may (as in botocore); fix or "
                              "unset it",
                     uri, written[0] ? written : host);
        goto out;
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* The Authorization value, malloc'd (wipe and free), or NULL when there is none. */
static cfdr_code auth_token(char **out, cfdr_err *err)
{
    const char *file = getenv(ENV_TOKEN_FILE), *env = getenv(ENV_TOKEN);
    char *text = NULL;
    size_t len = 0;
    cfdr_code rc;

    *out = NULL;
    if (file) {
        rc = atomicfile_read(file, TOKEN_FILE_MAX, &text, &len, err);
        if (rc)
            return err_wrap(err, "reading the container authorization token (" ENV_TOKEN_FILE ")");
        if (memchr(text, '\0', len)) {
            explicit_bzero(text, len);
            free(text);
            return err_set(err, CFDR_E_CONFIG,
                           "the container authorization token file %s holds a NUL byte", file);
        }
    } else if (env) {
        text = strdup(env);
        if (!text)
            return err_set(err, CFDR_E_NOMEM, "out of memory");
    } else {
        return CFDR_OK;
    }
    if (strchr(text, '\r') || strchr(text, '\n')) {
        explicit_bzero(text, strlen(text));
        free(text);
        return err_set(err, CFDR_E_CONFIG,
                       "the container authorization token (%s) holds a line break, which an "
                       "HTTP header cannot carry; write it without one",
                       file ? ENV_TOKEN_FILE : ENV_TOKEN);
    }
    *out = text;
    return CFDR_OK;
}

static void pause_ms(const struct creds_options *o, long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    if (o && o->sleep_ms)
        o->sleep_ms(o->sleep_ud, ms);
    else
        nanosleep(&ts, NULL); /* a signal may cut it short; the next attempt follows anyway */
}

static const char *member_str(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* A short, printable excerpt of a non-200 answer for the message. */
static void excerpt(const struct buf *b, char *out, size_t outsz)
{
    size_t n = 0;
    for (size_t i = 0; i < buf_len(b) && n + 1 < outsz && n < 160; i++) {
        unsigned char c = (unsigned char)buf_str(b)[i];
        out[n++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    out[n] = '\0';
}

cfdr_code creds_container_resolve(const struct creds_options *o, struct aws_credentials *out,
                                  int *found, cfdr_err *err)
{
    const char *rel = getenv(ENV_RELATIVE), *full = getenv(ENV_FULL);
    const struct cfdr_log *log = o ? o->log : NULL;
    struct creds_http_answer ans;
    struct creds_http_header hdrs[2];
    struct json_object *doc = NULL;
    struct buf url;
    char *token = NULL, why[400] = "", text[200];
    size_t nh = 0;
    int attempt, net_failure = 0;
    cfdr_code rc = CFDR_OK;

    *found = 0;
    memset(out, 0, sizeof(*out));
    if (!rel && !full)
        return CFDR_OK;
    creds_http_answer_init(&ans);
    buf_init(&url, BUF_MAX_SMALL);
    if (rel) {
        rc = buf_addf(&url, "http://" CREDS_CONTAINER_HOST "%s", rel);
        if (rc) {
            rc = err_set(err, rc, ENV_RELATIVE " is too long");
            goto out;
        }
    } else {
        rc = check_full_uri(full, err);
        if (!rc && (rc = buf_adds(&url, full)) != CFDR_OK)
            rc = err_set(err, rc, ENV_FULL " is too long");
        if (rc)
            goto out;
    }
    hdrs[nh++] = (struct creds_http_header){"Accept", "application/json"};
    for (attempt = 1; attempt <= CREDS_CONTAINER_ATTEMPTS; attempt++) {
        cfdr_err e;
        const char *ak, *sk, *tok, *ex;
        time_t expiration;

        if (attempt > 1)
            pause_ms(o, CREDS_CONTAINER_PAUSE_MS);
        /* the token file is read again for every attempt: it may have been rotated */
        if (token) {
            explicit_bzero(token, strlen(token));
            free(token);
            token = NULL;
        }
        nh = 1;
        rc = auth_token(&token, err);
        if (rc)
            goto out;
        if (token)
            hdrs[nh++] = (struct creds_http_header){"Authorization", token};
        log_msg(log, CFDR_LOG_DEBUG, "credentials: container endpoint %s, attempt %d/%d%s",
                buf_str(&url), attempt, CREDS_CONTAINER_ATTEMPTS,
                token ? " (with an authorization token)" : "");
        err_clear(&e);
        rc = creds_http_send("GET", buf_str(&url), hdrs, nh, CREDS_CONTAINER_TIMEOUT_MS, &ans, &e);
        if (rc == CFDR_E_NET) {
            net_failure = 1;
            snprintf(why, sizeof(why), "no answer (%s)", ans.error);
            rc = CFDR_OK;
            continue;
        }
        if (rc) {
            if (err)
                *err = e;
            goto out;
        }
        net_failure = 0;
        if (ans.status != 200) {
            excerpt(&ans.body, text, sizeof(text));
            snprintf(why, sizeof(why), "HTTP %ld%s%s", ans.status, text[0] ? ": " : "", text);
            continue;
        }
        json_object_put(doc);
        doc = json_tokener_parse(buf_str(&ans.body));
        if (!doc || !json_object_is_type(doc, json_type_object)) {
            snprintf(why, sizeof(why), "the answer is not a JSON object");
            continue;
        }
        ak = member_str(doc, "AccessKeyId");
        sk = member_str(doc, "SecretAccessKey");
        tok = member_str(doc, "Token");
        ex = member_str(doc, "Expiration");
        if (!ak || !*ak || !sk || !*sk || !tok || !ex) {
            rc = err_set(err, CFDR_E_CREDENTIALS,
                         "container credentials from %s: the answer lacks %s", buf_str(&url),
                         !ak || !*ak   ? "AccessKeyId"
                         : !sk || !*sk ? "SecretAccessKey"
                         : !tok        ? "Token"
                                       : "Expiration");
            goto out;
        }
        if (creds_parse_time(ex, &expiration) != CFDR_OK) {
            rc = err_set(err, CFDR_E_CREDENTIALS,
                         "container credentials from %s: unreadable Expiration '%.64s'",
                         buf_str(&url), ex);
            goto out;
        }
        rc = creds_fill(out, ak, sk, tok, expiration, "container-role", err);
        if (!rc)
            *found = 1;
        goto out;
    }
    rc = err_set(err, net_failure ? CFDR_E_NET : CFDR_E_CREDENTIALS,
                 "container credentials from %s failed after %d attempts: %s; check %s",
                 buf_str(&url), CREDS_CONTAINER_ATTEMPTS, why, rel ? ENV_RELATIVE : ENV_FULL);
out:
    json_object_put(doc);
    if (token) {
        explicit_bzero(token, strlen(token));
        free(token);
    }
    creds_http_answer_free(&ans);
    buf_free(&url);
    return rc;
}
