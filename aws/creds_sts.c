/* creds_sts: see creds_sts.h. */
#include "aws/creds_sts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "aws/creds_cache.h"
#include "aws/transport.h"
#include "aws/xml.h"
#include "sigv4/uri.h"

/* Longest MFA code line read from a terminal. */
#define PROMPT_LINE_MAX 256

/* ---- cache key ---- */

cfdr_code creds_sts_cache_key(const struct creds_sts_role *role, char out[41], cfdr_err *err)
{
    struct buf b;
    cfdr_code rc = CFDR_OK;
    const char *bad = NULL;

    /* json.dumps(sort_keys=True) with the default separators ", " and ": "; the keys in
     * sorted order: DurationSeconds, ExternalId, RoleArn, RoleSessionName, SerialNumber. */
    buf_init(&b, BUF_MAX_SMALL);
    rc = buf_addc(&b, '{');
    if (!rc && role->has_duration)
        rc = buf_addf(&b, "\"DurationSeconds\": %ld, ", role->duration_seconds);
    if (!rc && role->external_id) {
        rc = buf_adds(&b, "\"ExternalId\": ");
        if (!rc && (rc = creds_cache_json_string(&b, role->external_id)) == CFDR_E_PARSE)
            bad = "external_id";
        if (!rc)
            rc = buf_adds(&b, ", ");
    }
    if (!rc)
        rc = buf_adds(&b, "\"RoleArn\": ");
    if (!rc && (rc = creds_cache_json_string(&b, role->role_arn)) == CFDR_E_PARSE)
        bad = "role_arn";
    if (!rc && role->session_name_configured) {
        rc = buf_adds(&b, ", \"RoleSessionName\": ");
        if (!rc && (rc = creds_cache_json_string(&b, role->session_name)) == CFDR_E_PARSE)
            bad = "role_session_name";
    }
    if (!rc && role->mfa_serial) {
        rc = buf_adds(&b, ", \"SerialNumber\": ");
        if (!rc && (rc = creds_cache_json_string(&b, role->mfa_serial)) == CFDR_E_PARSE)
            bad = "mfa_serial";
    }
    if (!rc)
        rc = buf_addc(&b, '}');
    if (rc == CFDR_OK)
        creds_cache_sha1_hex(buf_str(&b), buf_len(&b), out);
    buf_free(&b);
    if (bad)
        return err_set(err, CFDR_E_CONFIG, "the %s of the role is not valid UTF-8", bad);
    if (rc)
        return err_set(err, rc, "building the credential cache key");
    return CFDR_OK;
}

/* ---- AssumeRole ---- */

/* "&Name=value", the value encoded as botocore's query serializer does (A-Z a-z 0-9 - _ . ~
 * kept, every other byte %XX). */
static cfdr_code add_param(struct buf *b, const char *name, const char *value)
{
    CFDR_TRY(buf_addf(b, "&%s=", name));
    return sigv4_uri_encode(b, value, strlen(value), 0, NULL);
}

static cfdr_code build_body(const struct creds_sts_role *role, struct buf *b)
{
    char num[32];
    CFDR_TRY(buf_adds(b, "Action=AssumeRole&Version=2011-06-15"));
    CFDR_TRY(add_param(b, "RoleArn", role->role_arn));
    CFDR_TRY(add_param(b, "RoleSessionName", role->session_name));
    if (role->has_duration) {
        snprintf(num, sizeof(num), "%ld", role->duration_seconds);
        CFDR_TRY(add_param(b, "DurationSeconds", num));
    }
    if (role->external_id)
        CFDR_TRY(add_param(b, "ExternalId", role->external_id));
    if (role->mfa_serial) {
        CFDR_TRY(add_param(b, "SerialNumber", role->mfa_serial));
        CFDR_TRY(add_param(b, "TokenCode", role->token_code ? role->token_code : ""));
    }
    return CFDR_OK;
}

/* The transport's hooks, fed from the credential options. */
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

/* Copies element path's text into a new buf-backed string; CFDR_E_NOTFOUND when missing. */
static cfdr_code text_of(const struct xml_node *root, const char *path, struct buf *out)
{
    const struct xml_node *n = xml_path(root, path);
    if (!n)
        return CFDR_E_NOTFOUND;
    return xml_text(n, out);
}

static void wipe_buf(struct buf *b)
{
    if (b->p)
        explicit_bzero(b->p, b->cap);
    buf_free(b);
}

static cfdr_code write_cache_doc(struct buf *doc, const struct aws_credentials *c,
                                 const struct buf *arn, const struct buf *role_id,
                                 const struct buf *request_id, int attempts)
{
    CFDR_TRY(buf_addc(doc, '{'));
    CFDR_TRY(creds_cache_add_credentials(doc, c, CREDS_CACHE_TIME_ISO_OFFSET));
    CFDR_TRY(buf_adds(doc, ", \"AssumedRoleUser\": {\"AssumedRoleId\": "));
    CFDR_TRY(creds_cache_json_string(doc, buf_str(role_id)));
    CFDR_TRY(buf_adds(doc, ", \"Arn\": "));
    CFDR_TRY(creds_cache_json_string(doc, buf_str(arn)));
    CFDR_TRY(buf_adds(doc, "}, \"ResponseMetadata\": {\"RequestId\": "));
    CFDR_TRY(creds_cache_json_string(doc, buf_str(request_id)));
    CFDR_TRY(buf_addf(doc, ", \"HTTPStatusCode\": 200, \"RetryAttempts\": %d}}",
                      attempts > 0 ? attempts - 1 : 0));
    return CFDR_OK;
}

cfdr_code creds_sts_assume_role(const struct creds_options *o, const struct creds_sts_role *role,
                                const struct aws_credentials *source, struct aws_credentials *out,
                                struct buf *cache_doc, cfdr_err *err)
{
    struct creds_provider *sp = NULL;
    struct transport *t = NULL;
    struct transport_options to;
    struct aws_request rq;
    struct aws_response resp;
    struct xml_doc *doc = NULL;
    const struct xml_node *root;
    struct buf body, ak, sk, st, ex, arn, role_id, request_id;
    time_t expiration;
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    aws_response_init(&resp);
    buf_init(&body, BUF_MAX_SMALL);
    buf_init(&ak, BUF_MAX_SMALL);
    buf_init(&sk, BUF_MAX_SMALL);
    buf_init(&st, BUF_MAX_SMALL);
    buf_init(&ex, BUF_MAX_SMALL);
    buf_init(&arn, BUF_MAX_SMALL);
    buf_init(&role_id, BUF_MAX_SMALL);
    buf_init(&request_id, BUF_MAX_SMALL);

    rc = build_body(role, &body);
    if (rc) {
        rc = err_set(err, rc, "building the AssumeRole request");
        goto out;
    }
    rc = creds_provider_new_static(source, &sp, err);
    if (rc)
        goto out;
    memset(&to, 0, sizeof(to));
    to.creds = sp;
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
    rq.service = AWS_SVC_STS;
    rq.protocol = AWS_PROTO_QUERY;
    rq.region = role->region;
    rq.operation = "AssumeRole";
    rq.method = "POST";
    rq.path = "/";
    rq.body = buf_str(&body);
    rq.body_len = buf_len(&body);
    rc = transport_call(t, &rq, &resp, err);
    if (rc)
        goto out;

    rc = xml_parse(buf_str(&resp.body), buf_len(&resp.body), BUF_MAX_DOC, &doc, err);
    if (rc) {
        err_wrap(err, "STS AssumeRole answered with unreadable XML");
        goto out;
    }
    root = xml_root(doc);
    if (strcmp(xml_name(root), "AssumeRoleResponse") != 0 ||
        text_of(root, "AssumeRoleResult/Credentials/AccessKeyId", &ak) ||
        text_of(root, "AssumeRoleResult/Credentials/SecretAccessKey", &sk) ||
        text_of(root, "AssumeRoleResult/Credentials/SessionToken", &st) ||
        text_of(root, "AssumeRoleResult/Credentials/Expiration", &ex) || !buf_len(&ak) ||
        !buf_len(&sk) || !buf_len(&st)) {
        rc = err_set(err, CFDR_E_PARSE,
                     "STS AssumeRole answered without complete Credentials (AccessKeyId, "
                     "SecretAccessKey, SessionToken, Expiration)");
        goto out;
    }
    if (creds_parse_time(buf_str(&ex), &expiration) != CFDR_OK) {
        rc = err_set(err, CFDR_E_PARSE,
                     "STS AssumeRole answered with an unreadable Expiration '%.64s'", buf_str(&ex));
        goto out;
    }
    /* optional parts, for the cache entry only */
    (void)text_of(root, "AssumeRoleResult/AssumedRoleUser/Arn", &arn);
    (void)text_of(root, "AssumeRoleResult/AssumedRoleUser/AssumedRoleId", &role_id);
    (void)text_of(root, "ResponseMetadata/RequestId", &request_id);
    rc = creds_fill(out, buf_str(&ak), buf_str(&sk), buf_str(&st), expiration, "assume-role", err);
    if (rc)
        goto out;
    if (cache_doc) {
        rc = write_cache_doc(cache_doc, out, &arn, &role_id, &request_id, resp.attempts);
        if (rc) {
            /* values that cannot be written as JSON: no cache entry, the credentials stand */
            wipe_buf(cache_doc);
            rc = CFDR_OK;
        }
    }
out:
    if (rc)
        creds_free(out);
    xml_doc_free(doc);
    if (resp.body.p)
        explicit_bzero(resp.body.p, resp.body.cap);
    aws_response_free(&resp);
    transport_free(t);
    creds_provider_free(sp);
    wipe_buf(&body);
    buf_free(&ak);
    wipe_buf(&sk);
    wipe_buf(&st);
    buf_free(&ex);
    buf_free(&arn);
    buf_free(&role_id);
    buf_free(&request_id);
    return rc;
}

/* ---- the terminal prompt ---- */

static cfdr_code write_all(int fd, const char *s, cfdr_err *err)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return err_set(err, CFDR_E_IO, "cannot write the MFA prompt: %s", strerror(errno));
        s += w;
        n -= (size_t)w;
    }
    return CFDR_OK;
}

cfdr_code creds_sts_prompt_terminal(int in_fd, int out_fd, const char *prompt, char *code,
                                    size_t codesz, cfdr_err *err)
{
    struct termios saved, quiet;
    int restore = 0;
    char line[PROMPT_LINE_MAX];
    size_t n = 0, start = 0;
    cfdr_code rc = CFDR_OK;

    if (codesz)
        code[0] = '\0';
    if (!isatty(in_fd))
        return err_set(err, CFDR_E_CREDENTIALS, "standard input is not a terminal");
    if (tcgetattr(in_fd, &saved) == 0) {
        quiet = saved;
        quiet.c_lflag &= (tcflag_t)~ECHO;
        quiet.c_lflag |= ECHONL; /* the Enter still moves to the next line */
        /* TCSANOW, not TCSAFLUSH: a code typed ahead is kept */
        if (tcsetattr(in_fd, TCSANOW, &quiet) == 0)
            restore = 1;
    }
    rc = write_all(out_fd, prompt, err);
    while (!rc) {
        char c;
        ssize_t r = read(in_fd, &c, 1);
        if (r < 0 && errno == EINTR) {
            rc = err_set(err, CFDR_E_INTERRUPTED, "interrupted while reading the MFA code");
            break;
        }
        if (r < 0) {
            rc = err_set(err, CFDR_E_IO, "cannot read the MFA code: %s", strerror(errno));
            break;
        }
        if (r == 0) {
            rc = err_set(err, CFDR_E_CREDENTIALS, "no MFA code entered (input ended)");
            break;
        }
        if (c == '\n')
            break;
        if (n + 1 >= sizeof(line)) {
            rc = err_set(err, CFDR_E_CREDENTIALS, "the MFA code entered is too long");
            break;
        }
        line[n++] = c;
    }
    if (restore && tcsetattr(in_fd, TCSANOW, &saved) != 0 && !rc)
        rc = err_set(err, CFDR_E_IO,
                     "cannot turn the terminal's echo back on: %s (run 'stty "
                     "echo')",
                     strerror(errno));
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    while (start < n && (line[start] == ' ' || line[start] == '\t'))
        start++;
    if (!rc && start == n)
        rc = err_set(err, CFDR_E_CREDENTIALS, "no MFA code entered");
    if (!rc && n - start + 1 > codesz)
        rc = err_set(err, CFDR_E_CREDENTIALS, "the MFA code entered is too long");
    if (!rc) {
        memcpy(code, line + start, n - start);
        code[n - start] = '\0';
    }
    explicit_bzero(line, sizeof(line));
    return rc;
}
