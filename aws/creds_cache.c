/* creds_cache: see creds_cache.h. */
#include "aws/creds_cache.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/sha.h>

#include "aws/atomicfile.h"
#include "aws/awsconfig.h"

/* Largest cache entry read. */
#define CACHE_MAX_FILE BUF_MAX_SMALL

/* Decodes one UTF-8 sequence at s; returns its length (0 when invalid) and the code point. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
    uint32_t c = s[0];
    size_t n;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xe0) == 0xc0) {
        n = 2;
        c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3;
        c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4;
        c &= 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    /* overlong forms, surrogates and values past U+10FFFF are not UTF-8 */
    if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
        (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
        return 0;
    *cp = c;
    return n;
}

cfdr_code creds_cache_json_string(struct buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    CFDR_TRY(buf_addc(b, '"'));
    while (*p) {
        uint32_t cp;
        size_t n = utf8_decode(p, &cp);
        if (n == 0)
            return CFDR_E_PARSE;
        p += n;
        switch (cp) {
        case '"':
            CFDR_TRY(buf_adds(b, "\\\""));
            break;
        case '\\':
            CFDR_TRY(buf_adds(b, "\\\\"));
            break;
        case '\b':
            CFDR_TRY(buf_adds(b, "\\b"));
            break;
        case '\f':
            CFDR_TRY(buf_adds(b, "\\f"));
            break;
        case '\n':
            CFDR_TRY(buf_adds(b, "\\n"));
            break;
        case '\r':
            CFDR_TRY(buf_adds(b, "\\r"));
            break;
        case '\t':
            CFDR_TRY(buf_adds(b, "\\t"));
            break;
        default:
            if (cp >= 0x20 && cp <= 0x7e) {
                CFDR_TRY(buf_addc(b, (char)cp));
            } else if (cp <= 0xffff) {
                CFDR_TRY(buf_addf(b, "\\u%04x", (unsigned)cp));
            } else {
                uint32_t v = cp - 0x10000;
                CFDR_TRY(buf_addf(b, "\\u%04x\\u%04x", (unsigned)(0xd800 | (v >> 10)),
                                  (unsigned)(0xdc00 | (v & 0x3ff))));
            }
        }
    }
    return buf_addc(b, '"');
}

void creds_cache_sha1_hex(const void *data, size_t len, char out[41])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1(data, len, md);
    for (size_t i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

cfdr_code creds_cache_add_credentials(struct buf *b, const struct aws_credentials *c,
                                      enum creds_cache_time_style style)
{
    char when[40];
    struct tm tm;

    if (!gmtime_r(&c->expiration, &tm))
        return CFDR_E_PARSE;
    strftime(when, sizeof(when),
             style == CREDS_CACHE_TIME_ZULU ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H:%M:%S+00:00",
             &tm);
    CFDR_TRY(buf_adds(b, "\"Credentials\": {\"AccessKeyId\": "));
    CFDR_TRY(creds_cache_json_string(b, c->access_key_id));
    CFDR_TRY(buf_adds(b, ", \"SecretAccessKey\": "));
    CFDR_TRY(creds_cache_json_string(b, c->secret_access_key));
    CFDR_TRY(buf_adds(b, ", \"SessionToken\": "));
    CFDR_TRY(creds_cache_json_string(b, c->session_token ? c->session_token : ""));
    CFDR_TRY(buf_adds(b, ", \"Expiration\": "));
    CFDR_TRY(creds_cache_json_string(b, when));
    return buf_addc(b, '}');
}

static int key_ok(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > 128)
        return 0;
    for (const char *p = key; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              *p == '_' || *p == '-'))
            return 0;
    return 1;
}

cfdr_code creds_cache_path(const char *dir, const char *key, char **out, cfdr_err *err)
{
    char *d;
    struct buf b;
    cfdr_code rc;

    *out = NULL;
    if (!key_ok(key))
        return err_set(err, CFDR_E_INTERNAL, "credential cache key '%.140s' is not file-safe", key);
    d = awsconfig_expand_path(dir ? dir : CREDS_CACHE_DIR);
    if (!d)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    buf_init(&b, BUF_MAX_SMALL);
    rc = buf_addf(&b, "%s/%s.json", d, key);
    free(d);
    if (rc) {
        buf_free(&b);
        return err_set(err, rc, "the credential cache path is too long");
    }
    *out = buf_detach(&b, NULL);
    if (!*out)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    return CFDR_OK;
}

static const char *member_str(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* "2030-01-02T03:04:05UTC", as older AWS CLIs wrote expiry times, is read as Z. */
static cfdr_code parse_cache_time(const char *s, time_t *out)
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

cfdr_code creds_cache_load(const char *key, time_t now, const char *source,
                           const struct cfdr_log *log, struct aws_credentials *out, int *found,
                           cfdr_err *err)
{
    char *path = NULL, *text = NULL;
    size_t len = 0;
    struct json_object *doc = NULL, *cr = NULL;
    const char *ak, *sk, *st, *ex;
    time_t expiration;
    cfdr_err e;
    cfdr_code rc;

    *found = 0;
    memset(out, 0, sizeof(*out));
    rc = creds_cache_path(NULL, key, &path, err);
    if (rc)
        return rc;
    err_clear(&e);
    rc = atomicfile_read(path, CACHE_MAX_FILE, &text, &len, &e);
    if (rc == CFDR_E_NOMEM) {
        free(path);
        return err_set(err, rc, "out of memory reading the credential cache");
    }
    if (rc) {
        if (rc != CFDR_E_NOTFOUND)
            log_msg(log, CFDR_LOG_DEBUG, "credentials: cache entry unusable: %s", e.msg);
        rc = CFDR_OK;
        goto out;
    }
    doc = json_tokener_parse(text);
    if (!doc || !json_object_object_get_ex(doc, "Credentials", &cr) ||
        !json_object_is_type(cr, json_type_object)) {
        log_msg(log, CFDR_LOG_DEBUG, "credentials: cache entry %s is not a credentials entry",
                path);
        goto out;
    }
    ak = member_str(cr, "AccessKeyId");
    sk = member_str(cr, "SecretAccessKey");
    st = member_str(cr, "SessionToken");
    ex = member_str(cr, "Expiration");
    if (!ak || !*ak || !sk || !*sk || !ex || parse_cache_time(ex, &expiration) != CFDR_OK) {
        log_msg(log, CFDR_LOG_DEBUG,
                "credentials: cache entry %s lacks a key, secret or readable Expiration", path);
        goto out;
    }
    /* strictly more than the window (botocore accepts exactly 15 minutes too): the provider
     * refreshes at 15 minutes, and must not be handed the same credentials back */
    if (expiration - now <= CREDS_CACHE_EXPIRY_WINDOW_S) {
        log_msg(log, CFDR_LOG_DEBUG, "credentials: cache entry %s expires too soon (%s)", path, ex);
        goto out;
    }
    rc = creds_fill(out, ak, sk, st, expiration, source, err);
    if (rc == CFDR_OK) {
        *found = 1;
        log_msg(log, CFDR_LOG_DEBUG, "credentials: using the cached entry %s (expires %s)", path,
                ex);
    }
out:
    json_object_put(doc); /* json-c keeps no other copy of the strings */
    if (text) {
        explicit_bzero(text, len);
        free(text);
    }
    free(path);
    return rc;
}

cfdr_code creds_cache_store(const char *key, const struct buf *doc, cfdr_err *err)
{
    char *path = NULL, *dir = NULL;
    cfdr_code rc;

    rc = creds_cache_path(NULL, key, &path, err);
    if (rc)
        return rc;
    dir = awsconfig_expand_path(CREDS_CACHE_DIR);
    if (!dir) {
        free(path);
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    }
    rc = atomicfile_mkdirs(dir, 0700, err);
    if (!rc)
        rc =
            atomicfile_write(path, buf_str(doc), buf_len(doc), 0600, ATOMICFILE_REPLACE, NULL, err);
    free(dir);
    free(path);
    return rc;
}
