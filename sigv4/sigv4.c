/*
 * sigv4: see sigv4.h. The stages follow AWS's "Create a signed AWS API request" page and
 * aws-c-auth's signer; where the specification is vague, botocore's SigV4Auth decides (header
 * whitespace, repeated headers, the list of headers never signed), because
 * tests/unit/test_sigv4_botocore.c checks this file against it.
 */
#include "sigv4.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "uri.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"
#define SIGV4_DATE_LEN 16 /* YYYYMMDDTHHMMSSZ */

/* Headers the SDKs never sign: botocore's SIGNED_HEADERS_BLACKLIST plus Authorization, which
 * botocore deletes before signing. Proxies and clients may change them in flight. */
static const char *const s_unsigned_headers[] = {"authorization", "expect", "user-agent",
                                                 "x-amzn-trace-id"};

/* A header that goes into the canonical request. */
struct canon_header {
    const char *name; /* any case; written lowercased */
    const char *value;
    size_t index; /* position in the request, for a stable sort of repeated names */
};

void sigv4_result_init(struct sigv4_result *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->canonical_request, BUF_MAX_DOC);
    buf_init(&r->string_to_sign, BUF_MAX_SMALL);
    buf_init(&r->signed_headers, BUF_MAX_SMALL);
    buf_init(&r->signature, 2 * SHA256_DIGEST_LENGTH);
    buf_init(&r->authorization, BUF_MAX_SMALL);
}

void sigv4_result_free(struct sigv4_result *r)
{
    if (!r)
        return;
    buf_free(&r->canonical_request);
    buf_free(&r->string_to_sign);
    buf_free(&r->signed_headers);
    buf_free(&r->signature);
    buf_free(&r->authorization);
    r->payload_hash[0] = '\0';
    r->nadd_headers = 0;
}

static void s_hex(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

void sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    static const unsigned char empty = 0;
    SHA256(data ? data : &empty, data ? len : 0, md);
    s_hex(md, sizeof(md), out);
}

void sigv4_format_amz_date(long long unix_time, char out[17])
{
    struct tm tm;
    time_t t = (time_t)unix_time;
    if ((long long)t != unix_time || !gmtime_r(&t, &tm) ||
        strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != SIGV4_DATE_LEN) {
        /* Out of range for this platform or before year 1000 / after 9999: an impossible date
         * that AWS rejects, rather than a plausible wrong one. */
        memcpy(out, "00000000T000000Z", 17);
    }
}

static int s_ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static int s_name_cmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = s_ascii_lower((unsigned char)*a), cb = s_ascii_lower((unsigned char)*b);
        if (ca != cb || !ca)
            return ca - cb;
    }
}

static int s_is_tchar(unsigned char c)
{
    return sigv4_uri_is_unreserved(c) || (c && strchr("!#$%&'*+^`|", c));
}

static int s_is_token(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!s_is_tchar((unsigned char)*s))
            return 0;
    return 1;
}

static int s_is_unsigned_header(const char *name)
{
    for (size_t i = 0; i < sizeof(s_unsigned_headers) / sizeof(s_unsigned_headers[0]); i++)
        if (s_name_cmp(name, s_unsigned_headers[i]) == 0)
            return 1;
    return 0;
}

/* Checks a header value: no control characters except HTAB and obs-fold line breaks (CRLF or LF
 * followed by SP or HTAB), which count as whitespace. */
static cfdr_code s_check_value(const char *name, const char *v, cfdr_err *err)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '\r' && p[1] == '\n')
            p++;
        if (*p == '\n') {
            if (p[1] == ' ' || p[1] == '\t')
                continue;
            return err_set(err, CFDR_E_USAGE,
                           "header %s: a line break in the value must be followed by a space or "
                           "tab (a folded line); remove the line break",
                           name);
        }
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return err_set(err, CFDR_E_USAGE,
                           "header %s: the value holds control character 0x%02x; header values "
                           "may hold only visible characters, spaces and tabs",
                           name, *p);
    }
    return CFDR_OK;
}

static int s_is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Appends a value trimmed, with every run of whitespace inside made one space (the spec's
 * Trimall; folded lines become single spaces, as the suite's get-header-value-multiline shows). */
static cfdr_code s_append_trimall(struct buf *b, const char *v)
{
    const unsigned char *p = (const unsigned char *)v;
    int pending_space = 0, any = 0;

    for (; *p; p++) {
        if (s_is_ws(*p)) {
            pending_space = any;
            continue;
        }
        size_t run = 1;
        while (p[run] && !s_is_ws(p[run]))
            run++;
        if (pending_space)
            CFDR_TRY(buf_addc(b, ' '));
        CFDR_TRY(buf_add(b, p, run));
        p += run - 1;
        any = 1;
        pending_space = 0;
    }
    return CFDR_OK;
}

/* Nonzero when value, trimmed of whitespace, equals expected. */
static int s_trimmed_equal(const char *value, const char *expected)
{
    size_t len = strlen(value), elen = strlen(expected);
    while (len && s_is_ws((unsigned char)*value)) {
        value++;
        len--;
    }
    while (len && s_is_ws((unsigned char)value[len - 1]))
        len--;
    return len == elen && memcmp(value, expected, len) == 0;
}

static int s_canon_header_cmp(const void *lhs, const void *rhs)
{
    const struct canon_header *l = lhs, *r = rhs;
    int c = s_name_cmp(l->name, r->name);
    if (c)
        return c;
    return l->index < r->index ? -1 : l->index > r->index;
}

static int s_is_date(const char *d)
{
    if (!d || strlen(d) != SIGV4_DATE_LEN || d[8] != 'T' || d[15] != 'Z')
        return 0;
    for (int i = 0; i < SIGV4_DATE_LEN; i++)
        if (i != 8 && i != 15 && (d[i] < '0' || d[i] > '9'))
            return 0;
    return 1;
}

/* Scope parts and the access key id go into the Authorization header and the string to sign:
 * no control characters, no spaces, no '/' (the scope separator), no ',' (the header's). */
static int s_is_scope_part(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '/' || *s == ',')
            return 0;
    return 1;
}

static cfdr_code s_check_inputs(const struct sigv4_config *cfg, const struct sigv4_request *req,
                                cfdr_err *err)
{
    if (!cfg || !req)
        return err_set(err, CFDR_E_INTERNAL, "sigv4_sign: config and request are required");
    if (!s_is_scope_part(cfg->region))
        return err_set(err, CFDR_E_USAGE,
                       "signing region is missing or malformed; give a region such as us-east-1");
    if (!s_is_scope_part(cfg->service))
        return err_set(err, CFDR_E_USAGE,
                       "signing service name is missing or malformed; give "
                       "the service's signing name such as cloudfront");
    if (!s_is_date(cfg->amz_date))
        return err_set(err, CFDR_E_USAGE,
                       "signing date \"%.32s\" is not of the form YYYYMMDDTHHMMSSZ (UTC)",
                       cfg->amz_date ? cfg->amz_date : "");
    if (!s_is_scope_part(cfg->creds.access_key_id))
        return err_set(err, CFDR_E_CREDENTIALS,
                       "the access key id is missing or malformed; check the credentials");
    if (!cfg->creds.secret_access_key || !*cfg->creds.secret_access_key)
        return err_set(err, CFDR_E_CREDENTIALS,
                       "the secret access key is missing; check the credentials");
    if (strlen(cfg->creds.secret_access_key) > INT_MAX - 8)
        return err_set(err, CFDR_E_CREDENTIALS, "the secret access key is too long");
    if (!s_is_token(req->method))
        return err_set(err, CFDR_E_USAGE, "HTTP method is missing or not a valid token");
    if (!req->body && req->body_len)
        return err_set(err, CFDR_E_INTERNAL, "sigv4_sign: body is NULL but body_len is %zu",
                       req->body_len);
    if (req->nheaders && !req->headers)
        return err_set(err, CFDR_E_INTERNAL, "sigv4_sign: headers is NULL but nheaders is %zu",
                       req->nheaders);
    return CFDR_OK;
}

static int s_has_token(const struct sigv4_config *cfg)
{
    return cfg->creds.session_token && *cfg->creds.session_token;
}

/*
 * Picks the headers to sign (the request's, minus the never-signed ones, plus X-Amz-Date and
 * X-Amz-Security-Token when sigv4 adds them), sorted by lowercase name, repeated names in request
 * order. Fills out->add_headers. *list is malloc'd; the caller frees it.
 */
static cfdr_code s_collect_headers(const struct sigv4_config *cfg, const struct sigv4_request *req,
                                   struct sigv4_result *out, struct canon_header **list, size_t *n,
                                   cfdr_err *err)
{
    struct canon_header *h;
    size_t count = 0;
    int has_host = 0, has_date = 0, has_token = 0;
    cfdr_code rc = CFDR_OK;

    *list = NULL;
    *n = 0;
    h = calloc(req->nheaders + SIGV4_MAX_ADD_HEADERS, sizeof(*h));
    if (!h)
        return err_set(err, CFDR_E_NOMEM, "out of memory while collecting headers to sign");

    for (size_t i = 0; i < req->nheaders; i++) {
        const struct sigv4_header *src = &req->headers[i];
        if (!s_is_token(src->name)) {
            rc = err_set(err, CFDR_E_USAGE,
                         "header #%zu: the name is empty or holds characters an HTTP header name "
                         "may not (spaces, ':', control characters)",
                         i + 1);
            goto fail;
        }
        if (!src->value) {
            rc = err_set(err, CFDR_E_INTERNAL, "header %s has a NULL value", src->name);
            goto fail;
        }
        if ((rc = s_check_value(src->name, src->value, err)))
            goto fail;
        if (s_name_cmp(src->name, "host") == 0)
            has_host = 1;
        if (s_name_cmp(src->name, "x-amz-date") == 0) {
            has_date = 1;
            if (!s_trimmed_equal(src->value, cfg->amz_date)) {
                rc = err_set(err, CFDR_E_USAGE,
                             "the request's X-Amz-Date header differs from the signing date %s; "
                             "drop the header and let sigv4 add it",
                             cfg->amz_date);
                goto fail;
            }
        }
        if (s_name_cmp(src->name, "x-amz-security-token") == 0) {
            has_token = 1;
            if (s_has_token(cfg) && !s_trimmed_equal(src->value, cfg->creds.session_token)) {
                rc = err_set(err, CFDR_E_CREDENTIALS,
                             "the request's X-Amz-Security-Token header differs from the "
                             "credentials' session token; drop the header and let sigv4 add it");
                goto fail;
            }
        }
        if (s_name_cmp(src->name, "x-amz-content-sha256") == 0 &&
            !s_trimmed_equal(src->value, out->payload_hash)) {
            /* botocore would sign the header's value instead of the body's hash (S3's
             * UNSIGNED-PAYLOAD); sigv4 signs bodies only, so a mismatch is a caller bug. */
            rc = err_set(err, CFDR_E_USAGE,
                         "the request's X-Amz-Content-SHA256 header is not the SHA-256 of the "
                         "body; sigv4 signs the body's hash, so fix or drop the header");
            goto fail;
        }
        if (s_is_unsigned_header(src->name))
            continue;
        h[count].name = src->name;
        h[count].value = src->value;
        h[count].index = i;
        count++;
    }
    if (!has_host) {
        rc = err_set(err, CFDR_E_USAGE,
                     "the request has no Host header; add it before signing (it is signed)");
        goto fail;
    }

    if (!has_date) {
        struct sigv4_header *add = &out->add_headers[out->nadd_headers++];
        add->name = "X-Amz-Date";
        add->value = cfg->amz_date;
        h[count].name = add->name;
        h[count].value = add->value;
        h[count].index = req->nheaders + count;
        count++;
    }
    if (s_has_token(cfg) && !has_token) {
        struct sigv4_header *add = &out->add_headers[out->nadd_headers++];
        add->name = "X-Amz-Security-Token";
        add->value = cfg->creds.session_token;
        if (cfg->sign_session_token) {
            h[count].name = add->name;
            h[count].value = add->value;
            h[count].index = req->nheaders + count;
            count++;
        }
    }

    qsort(h, count, sizeof(*h), s_canon_header_cmp);
    *list = h;
    *n = count;
    return CFDR_OK;

fail:
    free(h);
    return rc;
}

/* Appends the name lowercased. */
static cfdr_code s_append_lower(struct buf *b, const char *name)
{
    for (const char *p = name; *p; p++)
        CFDR_TRY(buf_addc(b, (char)s_ascii_lower((unsigned char)*p)));
    return CFDR_OK;
}

/* Appends "name:value\n" lines to the canonical request and "name;name" to signed_headers. */
static cfdr_code s_append_headers(struct sigv4_result *out, const struct canon_header *h, size_t n)
{
    struct buf *cr = &out->canonical_request;

    for (size_t i = 0; i < n; i++) {
        if (i > 0 && s_name_cmp(h[i].name, h[i - 1].name) == 0) {
            CFDR_TRY(buf_addc(cr, ','));
        } else {
            if (i > 0) {
                CFDR_TRY(buf_addc(cr, '\n'));
                CFDR_TRY(buf_addc(&out->signed_headers, ';'));
            }
            CFDR_TRY(s_append_lower(&out->signed_headers, h[i].name));
            CFDR_TRY(s_append_lower(cr, h[i].name));
            CFDR_TRY(buf_addc(cr, ':'));
        }
        CFDR_TRY(s_append_trimall(cr, h[i].value));
    }
    return buf_addc(cr, '\n');
}

static cfdr_code s_canonical_request(const struct sigv4_config *cfg,
                                     const struct sigv4_request *req, struct sigv4_result *out,
                                     cfdr_err *err)
{
    struct buf *cr = &out->canonical_request;
    struct canon_header *headers = NULL;
    size_t nheaders = 0;
    cfdr_code rc;

    rc = s_collect_headers(cfg, req, out, &headers, &nheaders, err);
    if (rc)
        return rc;

    if ((rc = buf_adds(cr, req->method)) || (rc = buf_addc(cr, '\n')))
        goto too_big;
    rc = sigv4_uri_canonical_path(cr, req->path, cfg->normalize_uri_path, cfg->double_uri_encode,
                                  err);
    if (rc)
        goto out;
    if ((rc = buf_addc(cr, '\n')))
        goto too_big;
    rc = sigv4_uri_canonical_query(cr, req->query, err);
    if (rc)
        goto out;
    if ((rc = buf_addc(cr, '\n')) || (rc = s_append_headers(out, headers, nheaders)) ||
        (rc = buf_addc(cr, '\n')) ||
        (rc = buf_add(cr, buf_str(&out->signed_headers), buf_len(&out->signed_headers))) ||
        (rc = buf_addc(cr, '\n')) || (rc = buf_adds(cr, out->payload_hash)))
        goto too_big;
    goto out;

too_big:
    rc = err_set(err, rc,
                 rc == CFDR_E_NOMEM ? "out of memory while building the canonical request"
                                    : "the canonical request would exceed its size limit");
out:
    free(headers);
    return rc;
}

static cfdr_code s_hmac(const void *key, size_t key_len, const void *msg, size_t msg_len,
                        unsigned char out[SHA256_DIGEST_LENGTH], cfdr_err *err)
{
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &n) || n != SHA256_DIGEST_LENGTH)
        return err_set(err, CFDR_E_INTERNAL, "HMAC-SHA256 failed in OpenSSL");
    return CFDR_OK;
}

/* signature = hex(HMAC(kSigning, string_to_sign)), with the key chain
 * kDate = HMAC("AWS4" + secret, date), kRegion, kService, kSigning = HMAC(kService,
 * "aws4_request"). Every intermediate key is wiped before return. */
static cfdr_code s_signature(const struct sigv4_config *cfg, struct sigv4_result *out,
                             cfdr_err *err)
{
    const char *secret = cfg->creds.secret_access_key;
    size_t secret_len = strlen(secret);
    unsigned char k1[SHA256_DIGEST_LENGTH], k2[SHA256_DIGEST_LENGTH], sig[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    char *ksecret = malloc(secret_len + 4);
    cfdr_code rc;

    if (!ksecret)
        return err_set(err, CFDR_E_NOMEM, "out of memory while deriving the signing key");
    memcpy(ksecret, "AWS4", 4);
    memcpy(ksecret + 4, secret, secret_len);

    rc = s_hmac(ksecret, secret_len + 4, cfg->amz_date, 8, k1, err); /* kDate */
    if (!rc)
        rc = s_hmac(k1, sizeof(k1), cfg->region, strlen(cfg->region), k2, err); /* kRegion */
    if (!rc)
        rc = s_hmac(k2, sizeof(k2), cfg->service, strlen(cfg->service), k1, err); /* kService */
    if (!rc)
        rc = s_hmac(k1, sizeof(k1), SIGV4_TERMINATOR, strlen(SIGV4_TERMINATOR), k2,
                    err); /* kSigning */
    if (!rc)
        rc = s_hmac(k2, sizeof(k2), buf_str(&out->string_to_sign), buf_len(&out->string_to_sign),
                    sig, err);
    if (!rc) {
        s_hex(sig, sizeof(sig), hex);
        rc = buf_adds(&out->signature, hex);
        if (rc)
            rc = err_set(err, rc, "could not store the signature");
    }
    OPENSSL_cleanse(ksecret, secret_len + 4);
    OPENSSL_cleanse(k1, sizeof(k1));
    OPENSSL_cleanse(k2, sizeof(k2));
    free(ksecret);
    return rc;
}

cfdr_code sigv4_sign(const struct sigv4_config *cfg, const struct sigv4_request *req,
                     struct sigv4_result *out, cfdr_err *err)
{
    char creq_hash[2 * SHA256_DIGEST_LENGTH + 1];
    cfdr_code rc;

    if (!out)
        return err_set(err, CFDR_E_INTERNAL, "sigv4_sign: result is required");
    buf_reset(&out->canonical_request);
    buf_reset(&out->string_to_sign);
    buf_reset(&out->signed_headers);
    buf_reset(&out->signature);
    buf_reset(&out->authorization);
    out->payload_hash[0] = '\0';
    out->nadd_headers = 0;

    CFDR_TRY(s_check_inputs(cfg, req, err));
    sigv4_sha256_hex(req->body, req->body_len, out->payload_hash);
    CFDR_TRY(s_canonical_request(cfg, req, out, err));

    sigv4_sha256_hex(buf_str(&out->canonical_request), buf_len(&out->canonical_request), creq_hash);
    rc = buf_addf(&out->string_to_sign, "%s\n%s\n%.8s/%s/%s/%s\n%s", SIGV4_ALGORITHM, cfg->amz_date,
                  cfg->amz_date, cfg->region, cfg->service, SIGV4_TERMINATOR, creq_hash);
    if (rc)
        return err_set(err, rc, "the string to sign would exceed its size limit");

    CFDR_TRY(s_signature(cfg, out, err));

    rc = buf_addf(&out->authorization,
                  "%s Credential=%s/%.8s/%s/%s/%s, SignedHeaders=%s, Signature=%s", SIGV4_ALGORITHM,
                  cfg->creds.access_key_id, cfg->amz_date, cfg->region, cfg->service,
                  SIGV4_TERMINATOR, buf_str(&out->signed_headers), buf_str(&out->signature));
    if (rc)
        return err_set(err, rc, "the Authorization header would exceed its size limit");
    return CFDR_OK;
}
