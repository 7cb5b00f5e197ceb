/* transport: see transport.h. */
#include "aws/transport.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#include "aws/awserror.h"
#include "aws/retry.h"
#include "sigv4/sigv4.h"

#ifndef CFDR_VERSION
#define CFDR_VERSION "0"
#endif

#define TRANSPORT_DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define TRANSPORT_DEFAULT_REQUEST_TIMEOUT_MS 60000L
/* Response headers kept per answer, and their total size. */
#define TRANSPORT_MAX_RESP_HEADERS 256
#define TRANSPORT_MAX_RESP_HEADER_BYTES BUF_MAX_SMALL
/* Bodies in debug log lines are cut to this many bytes (after redaction). */
#define TRANSPORT_LOG_BODY_MAX 2048
/* Headers the transport adds besides the caller's and sigv4's. */
#define TRANSPORT_OWN_HEADERS 8

static const char REDACTED[] = "REDACTED";
static const char PLACEHOLDER_AKID[] = "AKIDPLACEHOLDER00000";
static const char PLACEHOLDER_SECRET[] = "placeholder-secret-for-dry-run";

struct transport {
    struct transport_options o;
    int max_attempts;
    long connect_timeout_ms;
    long request_timeout_ms;
    CURL *curl; /* one easy handle, reused so connections are kept alive across calls */
    struct retry_quota quota;
    int curl_global; /* 1 once curl_global_init succeeded: transport_free undoes it */
};

/* What one transport_call builds; released by call_free. */
struct call {
    struct transport *t;
    const struct aws_request *rq;
    const char *svc; /* "CloudFront" */
    struct aws_endpoint ep;
    struct buf path;          /* endpoint base path + request path, as sent and signed */
    struct buf url;           /* scheme://host + path + ?query */
    struct buf target;        /* X-Amz-Target value (awsJson) */
    const char *content_type; /* NULL: none */
    char invocation_id[37];
    /* per attempt */
    char amz_date[17];
    char sdk_request[64];
    struct sigv4_result sig;
    struct sigv4_header *hdrs; /* every header sent, in order */
    size_t nhdrs;
    /* known secret strings of the attempt, scrubbed from every text that leaves the module */
    const char *secrets[3];
    char placeholder_note[CFDR_ERR_MSG_MAX + 128]; /* dry-run without credentials: why */
};

/* The raw result of one attempt on the wire. */
struct wire {
    CURLcode cc;
    long status;
    long duration_ms;
    int toobig; /* the body or headers exceeded their limit */
    int nomem;  /* a callback ran out of memory */
    char errbuf[CURL_ERROR_SIZE];
};

/* State of the curl callbacks during one attempt. */
struct sink {
    struct aws_response *resp;
    size_t header_bytes;
    int toobig;
    int nomem;
};

/* ---- small helpers ---- */

static long long now_unix(const struct transport *t)
{
    return t->o.now ? t->o.now(t->o.hook_ud) : (long long)time(NULL);
}

static long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)(ts.tv_sec * 1000L + ts.tv_nsec / 1000000L);
}

static void default_sleep_ms(long ms)
{
    struct timespec ts;
    if (ms <= 0)
        return;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    /* a signal cuts the backoff short on purpose: the caller's handler decides what follows */
    nanosleep(&ts, NULL);
}

static double draw01(const struct transport *t)
{
    uint64_t x;
    if (t->o.rand01)
        return t->o.rand01(t->o.hook_ud);
    /* jitter needs no secrecy; if the CSPRNG fails, half the window is as good as any */
    if (RAND_bytes((unsigned char *)&x, sizeof(x)) != 1)
        return 0.5;
    return (double)(x >> 11) * (1.0 / 9007199254740992.0); /* 53 bits -> [0,1) */
}

static cfdr_code make_uuid4(char out[37], cfdr_err *err)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        return err_set(err, CFDR_E_INTERNAL, "could not draw random bytes for a request id");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return CFDR_OK;
}

static int contains_ci(const char *s, size_t len, const char *word)
{
    size_t wl = strlen(word);
    for (size_t i = 0; i + wl <= len; i++)
        if (strncasecmp(s + i, word, wl) == 0)
            return 1;
    return 0;
}

/* Names whose values are secrets: X-Amz-Security-Token, x-amz-sso_bearer_token, Password,
 * SecretAccessKey, SessionToken... (also NextToken, which costs nothing to hide). Access key
 * ids are not secrets, but the ones STS, IAM Identity Center, container and instance metadata
 * answers hand out name live credentials in a log people paste into tickets: hidden too
 * (AccessKeyId, accessKeyId, access_key_id). */
static int secret_name(const char *name, size_t len)
{
    return contains_ci(name, len, "token") || contains_ci(name, len, "secret") ||
           contains_ci(name, len, "password") || contains_ci(name, len, "accesskeyid") ||
           contains_ci(name, len, "access_key_id");
}

/* Fields whose value is a URL that may carry a token in its path, query or user info (SNS
 * Subscribe's and ListSubscriptionsByTopic's Endpoint: webhook URLs): only scheme://host[:port]
 * is shown. E-mail endpoints have no "://" and are shown as they are. */
static int url_name(const char *name, size_t len)
{
    return len == 8 && strncmp(name, "Endpoint", 8) == 0;
}

/* Appends value (form-encoded when encoded) with everything after scheme://host[:port]
 * replaced by "/REDACTED" and any user info dropped. */
static cfdr_code add_url_origin(struct buf *b, const char *v, size_t len, int encoded)
{
    const char *sep = encoded ? "%3A%2F%2F" : "://";
    size_t seplen = strlen(sep), i, host, end;

    for (i = 0; i + seplen <= len && strncasecmp(v + i, sep, seplen) != 0; i++)
        if (!isalpha((unsigned char)v[i]))
            return buf_add(b, v, len); /* not a URL (an e-mail address): as it is */
    if (i + seplen > len)
        return buf_add(b, v, len);
    host = i + seplen;
    for (end = host; end < len; end++) {
        if (encoded ? (end + 3 <= len &&
                       (strncasecmp(v + end, "%2F", 3) == 0 ||
                        strncasecmp(v + end, "%3F", 3) == 0 || strncasecmp(v + end, "%23", 3) == 0))
                    : (v[end] == '/' || v[end] == '?' || v[end] == '#'))
            break;
    }
    /* user info: the authority's last '@' */
    for (size_t k = end; k > host; k--) {
        if (encoded ? (k - host >= 3 && strncasecmp(v + k - 3, "%40", 3) == 0) : v[k - 1] == '@') {
            CFDR_TRY(buf_add(b, v, host));
            CFDR_TRY(buf_adds(b, REDACTED));
            CFDR_TRY(buf_adds(b, encoded ? "%40" : "@"));
            host = k;
            goto rest;
        }
    }
    CFDR_TRY(buf_add(b, v, host));
rest:
    CFDR_TRY(buf_add(b, v + host, end - host));
    if (end < len) {
        CFDR_TRY(buf_adds(b, encoded ? "%2F" : "/"));
        CFDR_TRY(buf_adds(b, REDACTED));
    }
    return CFDR_OK;
}

/* Replaces every occurrence of each known secret in b by REDACTED. */
static cfdr_code scrub_buf(struct buf *b, const char *const *secrets, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        const char *s = secrets[k];
        size_t sl;
        struct buf out;
        const char *p, *hit;
        cfdr_code rc = CFDR_OK;

        if (!s || (sl = strlen(s)) < 4 || !strstr(buf_str(b), s))
            continue;
        buf_init(&out, b->max);
        p = buf_str(b);
        while (!rc && (hit = strstr(p, s))) {
            rc = buf_add(&out, p, (size_t)(hit - p));
            if (!rc)
                rc = buf_adds(&out, REDACTED);
            p = hit + sl;
        }
        if (!rc)
            rc = buf_adds(&out, p);
        if (rc) {
            /* never hand out an unscrubbed text: empty it */
            buf_free(&out);
            buf_reset(b);
            return rc;
        }
        buf_free(b);
        *b = out;
    }
    return CFDR_OK;
}

/* Same, on a fixed char array (error messages). */
static void scrub_str(char *s, size_t size, const char *const *secrets, size_t n)
{
    struct buf b;
    buf_init(&b, size - 1);
    if (buf_adds(&b, s) == CFDR_OK && scrub_buf(&b, secrets, n) == CFDR_OK)
        snprintf(s, size, "%s", buf_str(&b));
    else
        snprintf(s, size, "(message withheld: it could not be checked for secrets)");
    buf_free(&b);
}

/* Appends "prefix Name: value\n" with secret values redacted. */
static cfdr_code add_header_line(struct buf *b, const char *prefix, const char *name,
                                 const char *value)
{
    const char *sig;

    CFDR_TRY(buf_addf(b, "%s%s: ", prefix, name));
    if (strcasecmp(name, "Authorization") == 0 && (sig = strstr(value, "Signature="))) {
        const char *end = sig + strlen("Signature=");
        CFDR_TRY(buf_add(b, value, (size_t)(end - value)));
        CFDR_TRY(buf_adds(b, REDACTED));
        while (*end && *end != ',' && *end != ' ')
            end++;
        CFDR_TRY(buf_adds(b, end));
    } else if (strcasecmp(name, "Authorization") == 0 || secret_name(name, strlen(name))) {
        CFDR_TRY(buf_adds(b, REDACTED));
    } else {
        CFDR_TRY(buf_adds(b, value));
    }
    return buf_addc(b, '\n');
}

static int xml_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == ':';
}

/* <SecretAccessKey>v</SecretAccessKey> -> <SecretAccessKey>REDACTED</SecretAccessKey> */
static cfdr_code redact_xml(struct buf *b, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t start = i, nstart, nend;
        if (s[i] != '<' || i + 1 >= len || s[i + 1] == '/' || s[i + 1] == '!' || s[i + 1] == '?') {
            CFDR_TRY(buf_addc(b, s[i]));
            i++;
            continue;
        }
        nstart = i + 1;
        nend = nstart;
        while (nend < len && xml_name_char(s[nend]))
            nend++;
        while (i < len && s[i] != '>')
            i++;
        if (i >= len) { /* unterminated tag: copy the rest */
            return buf_add(b, s + start, len - start);
        }
        i++; /* past '>' */
        CFDR_TRY(buf_add(b, s + start, i - start));
        if (s[i - 2] != '/' && secret_name(s + nstart, nend - nstart)) {
            while (i < len && s[i] != '<')
                i++;
            CFDR_TRY(buf_adds(b, REDACTED));
        } else if (s[i - 2] != '/' && url_name(s + nstart, nend - nstart)) {
            size_t v = i;
            while (i < len && s[i] != '<')
                i++;
            CFDR_TRY(add_url_origin(b, s + v, i - v, 0));
        }
    }
    return CFDR_OK;
}

/* Skips a JSON string starting at s[i] == '"'; returns the index after the closing quote. */
static size_t json_skip_string(const char *s, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return len;
}

/* {"secretAccessKey": "v"} -> {"secretAccessKey": "REDACTED"} */
static cfdr_code redact_json(struct buf *b, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t end, j;
        if (s[i] != '"') {
            CFDR_TRY(buf_addc(b, s[i]));
            i++;
            continue;
        }
        end = json_skip_string(s, len, i);
        CFDR_TRY(buf_add(b, s + i, end - i));
        j = end;
        while (j < len && isspace((unsigned char)s[j]))
            j++;
        if (j < len && s[j] == ':' && end - i >= 2 && secret_name(s + i + 1, end - i - 2)) {
            j++;
            while (j < len && isspace((unsigned char)s[j]))
                j++;
            if (j < len && s[j] == '"') {
                CFDR_TRY(buf_add(b, s + end, j - end));
                CFDR_TRY(buf_addf(b, "\"%s\"", REDACTED));
                end = json_skip_string(s, len, j);
            }
        }
        i = end;
    }
    return CFDR_OK;
}

/* a=1&Password=x -> a=1&Password=REDACTED */
static cfdr_code redact_form(struct buf *b, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t amp = i, eq;
        while (amp < len && s[amp] != '&')
            amp++;
        eq = i;
        while (eq < amp && s[eq] != '=')
            eq++;
        if (eq < amp && secret_name(s + i, eq - i)) {
            CFDR_TRY(buf_add(b, s + i, eq + 1 - i));
            CFDR_TRY(buf_adds(b, REDACTED));
        } else if (eq < amp && url_name(s + i, eq - i)) {
            CFDR_TRY(buf_add(b, s + i, eq + 1 - i));
            CFDR_TRY(add_url_origin(b, s + eq + 1, amp - eq - 1, 1));
        } else {
            CFDR_TRY(buf_add(b, s + i, amp - i));
        }
        if (amp < len)
            CFDR_TRY(buf_addc(b, '&'));
        i = amp + 1;
    }
    return CFDR_OK;
}

/* Appends body with the values of secret-named fields redacted, whatever its format. */
static cfdr_code add_body_redacted(struct buf *b, const char *body, size_t len, int form)
{
    size_t k = 0;
    if (!body || !len)
        return CFDR_OK;
    while (k < len && isspace((unsigned char)body[k]))
        k++;
    if (k < len && body[k] == '<')
        return redact_xml(b, body, len);
    if (k < len && (body[k] == '{' || body[k] == '['))
        return redact_json(b, body, len);
    if (form)
        return redact_form(b, body, len);
    return buf_add(b, body, len);
}

/* ---- response collection (curl callbacks) ---- */

static void free_headers(struct aws_response *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    r->headers = NULL;
    r->nheaders = 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;
    cfdr_code rc = buf_add(&s->resp->body, data, n);
    if (rc != CFDR_OK) {
        if (rc == CFDR_E_TOOBIG)
            s->toobig = 1;
        else
            s->nomem = 1;
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    struct aws_response *r = s->resp;
    size_t n = size * nmemb, nl, vs, ve;
    struct aws_header *h;
    const char *colon;

    s->header_bytes += n;
    if (s->header_bytes > TRANSPORT_MAX_RESP_HEADER_BYTES) {
        s->toobig = 1;
        return 0;
    }
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* a new response (after 100 Continue, say): keep only the final one's headers */
        free_headers(r);
        return n;
    }
    colon = memchr(data, ':', n);
    if (!colon || data[0] == ' ' || data[0] == '\t')
        return n; /* blank line or obsolete folding */
    if (r->nheaders >= TRANSPORT_MAX_RESP_HEADERS) {
        s->toobig = 1;
        return 0;
    }
    nl = (size_t)(colon - data);
    vs = nl + 1;
    ve = n;
    while (vs < ve && (data[vs] == ' ' || data[vs] == '\t'))
        vs++;
    while (ve > vs && (data[ve - 1] == '\r' || data[ve - 1] == '\n' || data[ve - 1] == ' ' ||
                       data[ve - 1] == '\t'))
        ve--;
    h = realloc(r->headers, (r->nheaders + 1) * sizeof(*h));
    if (!h) {
        s->nomem = 1;
        return 0;
    }
    r->headers = h;
    h = &r->headers[r->nheaders];
    h->name = strndup(data, nl);
    h->value = strndup(data + vs, ve - vs);
    if (!h->name || !h->value) {
        free(h->name);
        free(h->value);
        s->nomem = 1;
        return 0;
    }
    r->nheaders++;
    if (strcasecmp(h->name, "Content-Length") == 0) {
        /* refuse an announced oversize body before reading it */
        char *end;
        unsigned long long v = strtoull(h->value, &end, 10);
        if (end != h->value && v > r->body.max) {
            s->toobig = 1;
            return 0;
        }
    }
    return n;
}

/* ---- public small API ---- */

void aws_response_init(struct aws_response *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->body, BUF_MAX_DOC);
}

void aws_response_free(struct aws_response *r)
{
    if (!r)
        return;
    buf_free(&r->body);
    free_headers(r);
}

const char *aws_response_header(const struct aws_response *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

int transport_is_throttling_code(const char *code)
{
    return retry_is_throttling_code(code);
}

int transport_is_transient(long http_status, const char *code)
{
    return retry_is_transient_status(http_status) || retry_is_transient_code(code);
}

cfdr_code transport_new(const struct transport_options *o, struct transport **out, cfdr_err *err)
{
    struct transport *t = NULL;
    cfdr_code rc;

    *out = NULL;
    if (!o->dry_run && !o->unsigned_requests && !o->creds)
        return err_set(err, CFDR_E_INTERNAL, "transport_new: a creds_provider is required");
    if (o->dry_run && !o->dry_run_emit)
        return err_set(err, CFDR_E_INTERNAL, "transport_new: dry-run needs a dry_run_emit sink");
    if (o->max_attempts < 0 || o->connect_timeout_ms < 0 || o->request_timeout_ms < 0)
        return err_set(err, CFDR_E_INTERNAL, "transport_new: negative option");
    t = calloc(1, sizeof(*t));
    if (!t)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    t->o = *o;
    if (o->max_attempts > 0) {
        t->max_attempts = o->max_attempts;
    } else {
        rc = retry_max_attempts_from_env(&t->max_attempts, err);
        if (rc)
            goto fail;
    }
    t->connect_timeout_ms =
        o->connect_timeout_ms ? o->connect_timeout_ms : TRANSPORT_DEFAULT_CONNECT_TIMEOUT_MS;
    t->request_timeout_ms =
        o->request_timeout_ms ? o->request_timeout_ms : TRANSPORT_DEFAULT_REQUEST_TIMEOUT_MS;
    retry_quota_init(&t->quota);
    /* Reference-counted by libcurl: every transport takes one reference, transport_free gives
     * it back, so several transports (and other curl users doing the same) can coexist. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rc = err_set(err, CFDR_E_INTERNAL, "libcurl could not be initialised");
        goto fail;
    }
    t->curl_global = 1;
    t->curl = curl_easy_init();
    if (!t->curl) {
        rc = err_set(err, CFDR_E_NOMEM, "libcurl could not create a handle");
        goto fail;
    }
    *out = t;
    return CFDR_OK;
fail:
    transport_free(t);
    return rc;
}

void transport_free(struct transport *t)
{
    if (!t)
        return;
    if (t->curl)
        curl_easy_cleanup(t->curl);
    if (t->curl_global)
        curl_global_cleanup();
    free(t);
}

/* ---- building a call ---- */

static void call_init(struct call *c, struct transport *t, const struct aws_request *rq)
{
    memset(c, 0, sizeof(*c));
    c->t = t;
    c->rq = rq;
    buf_init(&c->path, BUF_MAX_SMALL);
    buf_init(&c->url, BUF_MAX_SMALL);
    buf_init(&c->target, BUF_MAX_SMALL);
    sigv4_result_init(&c->sig);
}

static void call_free(struct call *c)
{
    buf_free(&c->path);
    buf_free(&c->url);
    buf_free(&c->target);
    sigv4_result_free(&c->sig);
    free(c->hdrs);
}

/* Headers libcurl adds by itself unless told not to. */
static const char *const curl_defaults[] = {"Accept", "Expect", "Content-Type"};

static int request_has_header(const struct aws_request *rq, const char *name)
{
    for (size_t k = 0; k < rq->nheaders; k++)
        if (strcasecmp(rq->headers[k].name, name) == 0)
            return 1;
    return 0;
}

/* Bytes a URL path or query may hold as given (already percent-encoded, no blanks). */
static int url_part_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == '#')
            return 0;
    return 1;
}

static int header_text_ok(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n' || *s == '\0')
            return 0;
    return 1;
}

static int method_ok(const char *m)
{
    if (!m || !*m)
        return 0;
    for (; *m; m++)
        if (*m < 'A' || *m > 'Z')
            return 0;
    return 1;
}

static cfdr_code call_prepare(struct call *c, cfdr_err *err)
{
    const struct aws_request *rq = c->rq;
    const char *scheme_end, *base, *path = rq->path && *rq->path ? rq->path : "/";

    c->svc = endpoint_service_name(rq->service);
    if (!rq->operation || !*rq->operation || !method_ok(rq->method))
        return err_set(err, CFDR_E_INTERNAL, "%s request without an operation or a method", c->svc);
    if (path[0] != '/' || !url_part_ok(path) || (rq->query && !url_part_ok(rq->query)))
        return err_set(err, CFDR_E_INTERNAL,
                       "%s %s: the request path and query must be percent-encoded and start "
                       "with '/'",
                       c->svc, rq->operation);
    if (rq->body_len && !rq->body)
        return err_set(err, CFDR_E_INTERNAL, "%s %s: body_len without a body", c->svc,
                       rq->operation);
    if (rq->body_len && (strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0))
        return err_set(err, CFDR_E_INTERNAL, "%s %s: a %s request cannot carry a body", c->svc,
                       rq->operation, rq->method);
    for (size_t i = 0; i < rq->nheaders; i++)
        if (!rq->headers[i].name || !rq->headers[i].value || !*rq->headers[i].name ||
            strchr(rq->headers[i].name, ':') || !header_text_ok(rq->headers[i].name) ||
            !header_text_ok(rq->headers[i].value))
            return err_set(err, CFDR_E_INTERNAL, "%s %s: extra header %zu is malformed", c->svc,
                           rq->operation, i);

    CFDR_TRY(endpoint_resolve(rq->service, rq->region, &c->ep, err));

    /* split scheme://host from the endpoint's base path */
    scheme_end = strstr(c->ep.url, "://");
    if (!scheme_end)
        return err_set(err, CFDR_E_CONFIG,
                       "%s endpoint \"%s\" is not a URL; check AWS_ENDPOINT_URL_%s", c->svc,
                       c->ep.url, endpoint_service_env_suffix(rq->service));
    base = strchr(scheme_end + 3, '/');
    if (!base)
        base = c->ep.url + strlen(c->ep.url);
    if (buf_adds(&c->path, base) || buf_adds(&c->path, path) ||
        buf_add(&c->url, c->ep.url, (size_t)(base - c->ep.url)) ||
        buf_add(&c->url, buf_str(&c->path), buf_len(&c->path)) ||
        (rq->query && *rq->query && buf_addf(&c->url, "?%s", rq->query)))
        return err_set(err, CFDR_E_TOOBIG, "%s %s: the request URL is too long", c->svc,
                       rq->operation);

    switch (rq->protocol) {
    case AWS_PROTO_REST_XML:
        c->content_type = rq->body_len ? "application/xml" : NULL;
        break;
    case AWS_PROTO_JSON:
        c->content_type = "application/x-amz-json-1.0";
        if (!rq->target_prefix || !*rq->target_prefix)
            return err_set(err, CFDR_E_INTERNAL, "%s %s: awsJson needs a target prefix", c->svc,
                           rq->operation);
        if (buf_addf(&c->target, "%s.%s", rq->target_prefix, rq->operation))
            return err_set(err, CFDR_E_TOOBIG, "%s: X-Amz-Target too long", c->svc);
        break;
    case AWS_PROTO_QUERY:
        c->content_type = "application/x-www-form-urlencoded; charset=utf-8";
        break;
    case AWS_PROTO_REST_JSON:
        c->content_type = rq->body_len ? "application/json" : NULL;
        break;
    default:
        return err_set(err, CFDR_E_INTERNAL, "%s %s: unknown protocol %d", c->svc, rq->operation,
                       (int)rq->protocol);
    }
    if (request_has_header(rq, "Content-Type"))
        c->content_type = NULL; /* the caller's wins */

    c->hdrs =
        calloc(rq->nheaders + TRANSPORT_OWN_HEADERS + SIGV4_MAX_ADD_HEADERS + 1, sizeof(*c->hdrs));
    if (!c->hdrs)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    return make_uuid4(c->invocation_id, err);
}

/* Gets credentials (a placeholder in dry-run when there are none), builds the header list for
 * attempt `attempt` with a fresh date and signs it. */
static cfdr_code call_sign(struct call *c, int attempt, struct aws_credentials *placeholder,
                           cfdr_err *err)
{
    struct transport *t = c->t;
    const struct aws_request *rq = c->rq;
    const struct aws_credentials *cr = NULL;
    struct sigv4_config cfg;
    struct sigv4_request sr;
    size_t n = 0;
    cfdr_err cerr;
    cfdr_code rc;

    err_clear(&cerr);
    if (t->o.unsigned_requests)
        rc = CFDR_OK; /* no credentials wanted */
    else if (t->o.creds)
        rc = creds_provider_get(t->o.creds, &cr, &cerr);
    else
        rc = err_set(&cerr, CFDR_E_CREDENTIALS, "no credentials provider");
    if (rc) {
        if (!t->o.dry_run) {
            if (err)
                *err = cerr;
            return err_wrap(err, "%s %s", c->svc, rq->operation);
        }
        snprintf(c->placeholder_note, sizeof(c->placeholder_note),
                 "no usable AWS credentials (%s); signed with a placeholder key", cerr.msg);
        cr = placeholder;
    }

    sigv4_format_amz_date(now_unix(t), c->amz_date);
    snprintf(c->sdk_request, sizeof(c->sdk_request), "attempt=%d; max=%d", attempt,
             t->max_attempts);

    c->hdrs[n++] = (struct sigv4_header){"Host", c->ep.host};
    if (c->content_type)
        c->hdrs[n++] = (struct sigv4_header){"Content-Type", c->content_type};
    if (rq->protocol == AWS_PROTO_JSON)
        c->hdrs[n++] = (struct sigv4_header){"X-Amz-Target", buf_str(&c->target)};
    for (size_t i = 0; i < rq->nheaders; i++)
        c->hdrs[n++] = (struct sigv4_header){rq->headers[i].name, rq->headers[i].value};
    c->hdrs[n++] = (struct sigv4_header){"User-Agent", "cfdr/" CFDR_VERSION};
    c->hdrs[n++] = (struct sigv4_header){"amz-sdk-invocation-id", c->invocation_id};
    c->hdrs[n++] = (struct sigv4_header){"amz-sdk-request", c->sdk_request};
    if (t->o.unsigned_requests) {
        c->nhdrs = n;
        c->secrets[0] = c->secrets[1] = c->secrets[2] = NULL;
        return CFDR_OK;
    }

    memset(&cfg, 0, sizeof(cfg));
    cfg.region = c->ep.signing_region;
    cfg.service = c->ep.signing_name;
    cfg.amz_date = c->amz_date;
    cfg.creds.access_key_id = cr->access_key_id;
    cfg.creds.secret_access_key = cr->secret_access_key;
    cfg.creds.session_token = cr->session_token;
    cfg.double_uri_encode = 1;
    cfg.normalize_uri_path = 1;
    cfg.sign_session_token = 1;
    memset(&sr, 0, sizeof(sr));
    sr.method = rq->method;
    sr.path = buf_str(&c->path);
    sr.query = rq->query;
    sr.headers = c->hdrs;
    sr.nheaders = n;
    sr.body = rq->body;
    sr.body_len = rq->body_len;
    sigv4_result_free(&c->sig);
    sigv4_result_init(&c->sig);
    rc = sigv4_sign(&cfg, &sr, &c->sig, err);
    if (rc)
        return err_wrap(err, "%s %s: signing the request", c->svc, rq->operation);
    for (size_t i = 0; i < c->sig.nadd_headers && i < SIGV4_MAX_ADD_HEADERS; i++)
        c->hdrs[n++] = c->sig.add_headers[i];
    c->hdrs[n++] = (struct sigv4_header){"Authorization", buf_str(&c->sig.authorization)};
    c->nhdrs = n;
    c->secrets[0] = cr->secret_access_key;
    c->secrets[1] = cr->session_token;
    c->secrets[2] = buf_len(&c->sig.signature) ? buf_str(&c->sig.signature) : NULL;
    return CFDR_OK;
}

/* The request as text: "METHOD URL\nName: value\n...\n\nbody", secrets redacted. */
static cfdr_code format_request(const struct call *c, struct buf *out, const char *prefix,
                                int with_body)
{
    const struct aws_request *rq = c->rq;
    const char *q = strchr(buf_str(&c->url), '?');
    size_t head = q ? (size_t)(q - buf_str(&c->url)) : buf_len(&c->url);

    CFDR_TRY(buf_addf(out, "%s%s ", prefix, rq->method));
    CFDR_TRY(buf_add(out, buf_str(&c->url), head));
    if (q) {
        CFDR_TRY(buf_addc(out, '?'));
        CFDR_TRY(redact_form(out, q + 1, strlen(q + 1)));
    }
    CFDR_TRY(buf_addc(out, '\n'));
    for (size_t i = 0; i < c->nhdrs; i++)
        CFDR_TRY(add_header_line(out, prefix, c->hdrs[i].name, c->hdrs[i].value));
    if (with_body && rq->body_len) {
        CFDR_TRY(buf_addc(out, '\n'));
        CFDR_TRY(add_body_redacted(out, rq->body, rq->body_len, rq->protocol == AWS_PROTO_QUERY));
        CFDR_TRY(buf_addc(out, '\n'));
    }
    return scrub_buf(out, c->secrets, 3);
}

/* Logs text at DEBUG after scrubbing, cut to a readable length. */
static void log_text(const struct call *c, struct buf *text, size_t cut)
{
    const struct cfdr_log *lg = c->t->o.log;
    size_t full = buf_len(text);

    if (scrub_buf(text, c->secrets, 3) != CFDR_OK)
        return;
    while (buf_len(text) && text->p[buf_len(text) - 1] == '\n')
        buf_truncate(text, buf_len(text) - 1);
    if (buf_len(text) == 0)
        return;
    if (buf_len(text) > cut) {
        buf_truncate(text, cut);
        /* keep the cut from ending inside a UTF-8 sequence */
        while (buf_len(text) && ((unsigned char)text->p[buf_len(text) - 1] & 0x80))
            buf_truncate(text, buf_len(text) - 1);
        log_msg(lg, CFDR_LOG_DEBUG, "%s... (%zu bytes in all)", buf_str(text), full);
    } else {
        log_msg(lg, CFDR_LOG_DEBUG, "%s", buf_str(text));
    }
}

static void log_request(const struct call *c, int attempt)
{
    struct buf b;
    const struct aws_request *rq = c->rq;

    if (!log_enabled(c->t->o.log, CFDR_LOG_DEBUG))
        return;
    buf_init(&b, BUF_MAX_DOC);
    if (buf_addf(&b, "%s %s attempt %d/%d:\n", c->svc, rq->operation, attempt,
                 c->t->max_attempts) == CFDR_OK &&
        format_request(c, &b, "> ", 0) == CFDR_OK)
        log_text(c, &b, 4000);
    buf_reset(&b);
    if (rq->body_len && buf_addf(&b, "> body (%zu bytes): ", rq->body_len) == CFDR_OK &&
        add_body_redacted(&b, rq->body, rq->body_len, rq->protocol == AWS_PROTO_QUERY) == CFDR_OK)
        log_text(c, &b, TRANSPORT_LOG_BODY_MAX);
    buf_free(&b);
}

static void log_response(const struct call *c, const struct aws_response *resp,
                         const struct wire *w)
{
    struct buf b;
    cfdr_code rc;

    if (!log_enabled(c->t->o.log, CFDR_LOG_DEBUG))
        return;
    buf_init(&b, BUF_MAX_DOC);
    if (w->cc != CURLE_OK)
        rc = buf_addf(&b, "< %s %s: no answer after %ld ms: %s", c->svc, c->rq->operation,
                      w->duration_ms, w->errbuf[0] ? w->errbuf : curl_easy_strerror(w->cc));
    else
        rc = buf_addf(&b, "< %s %s: HTTP %ld in %ld ms\n", c->svc, c->rq->operation, w->status,
                      w->duration_ms);
    for (size_t i = 0; !rc && w->cc == CURLE_OK && i < resp->nheaders; i++)
        rc = add_header_line(&b, "< ", resp->headers[i].name, resp->headers[i].value);
    if (!rc)
        log_text(c, &b, 4000);
    buf_reset(&b);
    if (buf_len(&resp->body) &&
        buf_addf(&b, "< body (%zu bytes): ", buf_len(&resp->body)) == CFDR_OK &&
        add_body_redacted(&b, buf_str(&resp->body), buf_len(&resp->body), 0) == CFDR_OK)
        log_text(c, &b, TRANSPORT_LOG_BODY_MAX);
    buf_free(&b);
}

/* ---- the wire ---- */

static cfdr_code send_attempt(struct call *c, struct aws_response *resp, struct wire *w,
                              cfdr_err *err)
{
    struct transport *t = c->t;
    const struct aws_request *rq = c->rq;
    CURL *h = t->curl;
    struct curl_slist *list = NULL, *tmp;
    struct sink s = {resp, 0, 0, 0};
    struct buf line;
    cfdr_code rc = CFDR_OK;
    CURLcode sc = CURLE_OK;
    long t0;

    memset(w, 0, sizeof(*w));
    buf_init(&line, BUF_MAX_SMALL);
    for (size_t i = 0; i < c->nhdrs && !rc; i++) {
        buf_reset(&line);
        /* curl drops "Name:" (empty value); "Name;" sends it empty */
        rc = *c->hdrs[i].value ? buf_addf(&line, "%s: %s", c->hdrs[i].name, c->hdrs[i].value)
                               : buf_addf(&line, "%s;", c->hdrs[i].name);
        if (!rc) {
            tmp = curl_slist_append(list, buf_str(&line));
            if (!tmp)
                rc = CFDR_E_NOMEM;
            else
                list = tmp;
        }
    }
    /* headers curl would add on its own; none of them is signed, none is wanted */
    for (size_t i = 0; i < sizeof(curl_defaults) / sizeof(curl_defaults[0]) && !rc; i++) {
        char off[32];
        if (strcasecmp(curl_defaults[i], "Content-Type") == 0 && c->content_type)
            continue;
        if (request_has_header(rq, curl_defaults[i]))
            continue;
        snprintf(off, sizeof(off), "%s:", curl_defaults[i]); /* "Name:" removes it */
        tmp = curl_slist_append(list, off);
        if (!tmp)
            rc = CFDR_E_NOMEM;
        else
            list = tmp;
    }
    buf_free(&line);
    if (rc) {
        curl_slist_free_all(list);
        return err_set(err, rc, "%s %s: building the request headers", c->svc, rq->operation);
    }

    curl_easy_reset(h); /* keeps the connection cache */
#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (sc == CURLE_OK)                                                                        \
            sc = curl_easy_setopt(h, opt, val);                                                    \
    } while (0)
    SETOPT(CURLOPT_URL, buf_str(&c->url));
#if LIBCURL_VERSION_NUM >= 0x075500
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    SETOPT(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, t->connect_timeout_ms);
    SETOPT(CURLOPT_TIMEOUT_MS, t->request_timeout_ms);
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)resp->body.max);
    SETOPT(CURLOPT_HTTPHEADER, list);
    SETOPT(CURLOPT_ERRORBUFFER, w->errbuf);
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_WRITEDATA, &s);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, &s);
    if (strcmp(rq->method, "GET") == 0) {
        SETOPT(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(rq->method, "HEAD") == 0) {
        SETOPT(CURLOPT_NOBODY, 1L);
    } else {
        SETOPT(CURLOPT_POSTFIELDS, rq->body_len ? rq->body : "");
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        SETOPT(CURLOPT_CUSTOMREQUEST, rq->method);
    }
#undef SETOPT
    if (sc != CURLE_OK) {
        rc = err_set(err, sc == CURLE_OUT_OF_MEMORY ? CFDR_E_NOMEM : CFDR_E_INTERNAL,
                     "%s %s: libcurl refused an option: %s", c->svc, rq->operation,
                     curl_easy_strerror(sc));
        goto out;
    }

    t0 = mono_ms();
    w->cc = curl_easy_perform(h);
    w->duration_ms = mono_ms() - t0;
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &w->status) != CURLE_OK)
        w->status = 0;
    w->toobig = s.toobig || w->cc == CURLE_FILESIZE_EXCEEDED;
    w->nomem = s.nomem;
out:
    /* the handle must not keep pointers to this attempt's memory */
    curl_easy_reset(h);
    curl_slist_free_all(list);
    return rc;
}

/* curl failures that retrying cannot fix, mapped to cfdr codes; 0 for network failures. */
static cfdr_code local_failure(CURLcode cc)
{
    switch (cc) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return CFDR_E_CONFIG;
    case CURLE_OUT_OF_MEMORY:
        return CFDR_E_NOMEM;
    case CURLE_FAILED_INIT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_WRITE_ERROR: /* only our callbacks refuse data, and they say why */
        return CFDR_E_INTERNAL;
    default:
        return CFDR_OK;
    }
}

static cfdr_code finish_aws_error(struct call *c, struct aws_response *resp, int attempts,
                                  enum retry_verdict v, cfdr_err *err)
{
    const struct aws_error *e = &resp->error;
    char tail[128] = "", status[24];

    if (v == RETRY_NO_MAX_ATTEMPTS && attempts > 1)
        snprintf(tail, sizeof(tail), "; gave up after %d attempts", attempts);
    else if (v == RETRY_NO_QUOTA)
        snprintf(tail, sizeof(tail), "; not retried: the retry quota is exhausted");
    /* a non-AWS answer's code is its status: say it once */
    snprintf(status, sizeof(status), "%ld", e->http_status);
    err_set(err, CFDR_E_AWS, "%s %s failed: HTTP %ld%s%s%s%s%s%s%s%s", c->svc, c->rq->operation,
            e->http_status, strcmp(e->code, status) ? " " : "",
            strcmp(e->code, status) ? e->code : "", e->message[0] ? ": " : "", e->message,
            e->request_id[0] ? " (request id " : "", e->request_id, e->request_id[0] ? ")" : "",
            tail);
    if (err)
        scrub_str(err->msg, sizeof(err->msg), c->secrets, 3);
    return CFDR_E_AWS;
}

static cfdr_code finish_net_error(struct call *c, struct aws_response *resp, const struct wire *w,
                                  int attempts, enum retry_verdict v, cfdr_err *err)
{
    const char *why = w->errbuf[0] ? w->errbuf : curl_easy_strerror(w->cc);
    const char *q = strchr(buf_str(&c->url), '?');
    int urllen = q ? (int)(q - buf_str(&c->url)) : (int)buf_len(&c->url);
    char tail[96] = "";

    /* whatever arrived before the connection broke is not an answer */
    buf_free(&resp->body);
    free_headers(resp);
    resp->status = 0;
    memset(&resp->error, 0, sizeof(resp->error));
    snprintf(resp->error.code, sizeof(resp->error.code), "%s",
             w->cc == CURLE_OPERATION_TIMEDOUT ? "Timeout" : "ConnectionError");
    snprintf(resp->error.message, sizeof(resp->error.message), "%s", why);
    if (v == RETRY_NO_QUOTA)
        snprintf(tail, sizeof(tail), " (%d attempts; the retry quota is exhausted)", attempts);
    else if (attempts > 1)
        snprintf(tail, sizeof(tail), " (%d attempts)", attempts);
    err_set(err, CFDR_E_NET,
            "%s %s failed: could not reach %.*s: %s%s; check the network or AWS_ENDPOINT_URL_%s",
            c->svc, c->rq->operation, urllen, buf_str(&c->url), why, tail,
            endpoint_service_env_suffix(c->rq->service));
    if (err)
        scrub_str(err->msg, sizeof(err->msg), c->secrets, 3);
    return CFDR_E_NET;
}

static cfdr_code dry_run(struct call *c, struct aws_response *resp, struct aws_credentials *ph,
                         cfdr_err *err)
{
    struct buf text;
    cfdr_code rc;

    rc = call_sign(c, 1, ph, err);
    if (rc)
        return rc;
    buf_init(&text, BUF_MAX_DOC + BUF_MAX_SMALL);
    rc = buf_addf(&text, "# %s %s (dry run: not sent)\n", c->svc, c->rq->operation);
    if (!rc && c->placeholder_note[0])
        rc = buf_addf(&text, "# %s\n", c->placeholder_note);
    if (!rc)
        rc = format_request(c, &text, "", 1);
    if (rc) {
        buf_free(&text);
        return err_set(err, rc, "%s %s: formatting the dry-run request", c->svc, c->rq->operation);
    }
    c->t->o.dry_run_emit(c->t->o.dry_run_ud, buf_str(&text));
    buf_free(&text);
    resp->dry_run = 1;
    return CFDR_OK;
}

cfdr_code transport_call(struct transport *t, const struct aws_request *rq,
                         struct aws_response *resp, cfdr_err *err)
{
    struct call c;
    struct retry_call rcall;
    struct aws_credentials ph = {0};
    cfdr_code rc;

    ph.access_key_id = (char *)PLACEHOLDER_AKID;
    ph.secret_access_key = (char *)PLACEHOLDER_SECRET;
    aws_response_free(resp);
    aws_response_init(resp);
    call_init(&c, t, rq);
    rc = call_prepare(&c, err);
    if (rc)
        goto out;
    if (t->o.dry_run) {
        rc = dry_run(&c, resp, &ph, err);
        goto out;
    }

    retry_call_init(&rcall, t->max_attempts);
    for (;;) {
        struct wire w;
        struct retry_outcome o = {0};
        enum retry_verdict v;
        long delay = 0;
        cfdr_code local;

        buf_reset(&resp->body);
        free_headers(resp);
        memset(&resp->error, 0, sizeof(resp->error));
        resp->status = 0;
        resp->attempts = rcall.attempt;
        rc = call_sign(&c, rcall.attempt, &ph, err);
        if (rc)
            goto out;
        log_request(&c, rcall.attempt);
        rc = send_attempt(&c, resp, &w, err);
        if (rc)
            goto out;
        log_response(&c, resp, &w);

        if (w.nomem) {
            rc = err_set(err, CFDR_E_NOMEM, "%s %s: out of memory reading the answer", c.svc,
                         rq->operation);
            goto out;
        }
        if (w.toobig) {
            /* never hand out a truncated answer */
            buf_free(&resp->body);
            free_headers(resp);
            rc = err_set(err, CFDR_E_TOOBIG,
                         "%s %s failed: the answer from %s is larger than the %zu-byte limit",
                         c.svc, rq->operation, c.ep.url, (size_t)resp->body.max);
            goto out;
        }
        if (w.cc != CURLE_OK && (local = local_failure(w.cc)) != CFDR_OK) {
            rc = err_set(err, local, "%s %s: cannot send to %s: %s; check AWS_ENDPOINT_URL_%s",
                         c.svc, rq->operation, c.ep.url,
                         w.errbuf[0] ? w.errbuf : curl_easy_strerror(w.cc),
                         endpoint_service_env_suffix(rq->service));
            goto out;
        }
        if (w.cc != CURLE_OK || w.status < 100) {
            o.conn_error = 1;
            o.timeout = w.cc == CURLE_OPERATION_TIMEDOUT;
        } else {
            resp->status = w.status;
            o.http_status = w.status;
            if (w.status < 200 || w.status >= 300) {
                awserror_parse(rq->protocol, w.status, resp->headers, resp->nheaders,
                               buf_str(&resp->body), buf_len(&resp->body), &resp->error);
                scrub_str(resp->error.message, sizeof(resp->error.message), c.secrets, 3);
                o.error_code = resp->error.code;
            }
        }
        v = retry_decide(&rcall, &t->quota, &o);
        if (v == RETRY_NO_SUCCESS) {
            rc = CFDR_OK;
            goto out;
        }
        if (v != RETRY_YES) {
            rc = o.conn_error ? finish_net_error(&c, resp, &w, resp->attempts, v, err)
                              : finish_aws_error(&c, resp, resp->attempts, v, err);
            goto out;
        }
        delay = retry_backoff_ms(rcall.attempt - 1, draw01(t));
        log_msg(t->o.log, CFDR_LOG_DEBUG, "%s %s: attempt %d failed (%s); retrying in %ld ms",
                c.svc, rq->operation, resp->attempts,
                o.conn_error ? (o.timeout ? "timeout" : "connection error") : resp->error.code,
                delay);
        if (t->o.sleep_ms)
            t->o.sleep_ms(t->o.hook_ud, delay);
        else
            default_sleep_ms(delay);
    }
out:
    call_free(&c);
    return rc;
}
