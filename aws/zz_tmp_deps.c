/*
 * ===========================================================================================
 *  TEMPORARY STAND-IN -- DELETE BEFORE MERGE.
 *
 *  Minimal versions of endpoint_resolve, the environment-only creds_provider and a
 *  DETERMINISTIC, NOT-AWS-COMPATIBLE sigv4_sign, so that aws/transport can be built and tested
 *  on the wip/transport branch while the real sigv4/, aws/creds.c and aws/endpoint.c are
 *  written in other worktrees. The signature computed here is NOT SigV4; nothing on this
 *  branch relies on its value. The last commit of wip/transport deletes this file.
 * ===========================================================================================
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/sha.h>

#include "aws/creds.h"
#include "aws/endpoint.h"
#include "sigv4/sigv4.h"

/* ---- endpoint ---- */

static const char *const tmp_names[AWS_SVC_COUNT] = {"CloudFront", "App Runner", "CloudWatch",
                                                     "SNS",        "STS",        "SSO"};
static const char *const tmp_suffix[AWS_SVC_COUNT] = {"CLOUDFRONT", "APPRUNNER", "CLOUDWATCH",
                                                      "SNS",        "STS",       "SSO"};
static const char *const tmp_prefix[AWS_SVC_COUNT] = {"cloudfront", "apprunner", "monitoring",
                                                      "sns",        "sts",       "portal.sso"};
static const char *const tmp_signing[AWS_SVC_COUNT] = {"cloudfront", "apprunner", "monitoring",
                                                       "sns",        "sts",       "awsssoportal"};

const char *endpoint_service_name(enum aws_service_id svc)
{
    return (unsigned)svc < AWS_SVC_COUNT ? tmp_names[svc] : "unknown";
}

const char *endpoint_service_env_suffix(enum aws_service_id svc)
{
    return (unsigned)svc < AWS_SVC_COUNT ? tmp_suffix[svc] : "UNKNOWN";
}

int endpoint_region_valid(const char *region)
{
    return region && *region && strlen(region) < 32;
}

cfdr_code endpoint_resolve(enum aws_service_id svc, const char *region, struct aws_endpoint *out,
                           cfdr_err *err)
{
    char var[64];
    const char *url, *host, *end;
    size_t n;

    if ((unsigned)svc >= AWS_SVC_COUNT)
        return err_set(err, CFDR_E_INTERNAL, "unknown service %d", (int)svc);
    memset(out, 0, sizeof(*out));
    if (svc == AWS_SVC_CLOUDFRONT)
        region = "us-east-1";
    if (!endpoint_region_valid(region))
        return err_set(err, CFDR_E_CONFIG, "region \"%s\" is not valid", region ? region : "");
    snprintf(out->signing_region, sizeof(out->signing_region), "%s", region);
    snprintf(out->signing_name, sizeof(out->signing_name), "%s", tmp_signing[svc]);
    snprintf(var, sizeof(var), "AWS_ENDPOINT_URL_%s", tmp_suffix[svc]);
    url = getenv(var);
    if (!url || !*url)
        url = getenv("AWS_ENDPOINT_URL");
    if (url && *url) {
        snprintf(out->url, sizeof(out->url), "%s", url);
        out->overridden = 1;
    } else if (svc == AWS_SVC_CLOUDFRONT) {
        snprintf(out->url, sizeof(out->url), "https://cloudfront.amazonaws.com");
    } else {
        snprintf(out->url, sizeof(out->url), "https://%s.%s.amazonaws.com", tmp_prefix[svc],
                 region);
    }
    n = strlen(out->url);
    while (n && out->url[n - 1] == '/')
        out->url[--n] = '\0';
    host = strstr(out->url, "://");
    if (!host)
        return err_set(err, CFDR_E_CONFIG, "%s: \"%s\" is not a URL", var, out->url);
    host += 3;
    end = strchr(host, '/');
    n = end ? (size_t)(end - host) : strlen(host);
    if (n == 0 || n >= sizeof(out->host))
        return err_set(err, CFDR_E_CONFIG, "%s: \"%s\" has no host", var, out->url);
    memcpy(out->host, host, n);
    out->host[n] = '\0';
    return CFDR_OK;
}

/* ---- creds: environment only ---- */

struct creds_provider {
    struct aws_credentials c;
};

void creds_free(struct aws_credentials *c)
{
    if (!c)
        return;
    free(c->access_key_id);
    if (c->secret_access_key)
        memset(c->secret_access_key, 0, strlen(c->secret_access_key));
    free(c->secret_access_key);
    free(c->session_token);
    memset(c, 0, sizeof(*c));
}

cfdr_code creds_provider_new(const struct creds_options *o, struct creds_provider **out,
                             cfdr_err *err)
{
    (void)o;
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    return CFDR_OK;
}

cfdr_code creds_provider_get(struct creds_provider *p, const struct aws_credentials **out,
                             cfdr_err *err)
{
    const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
    const char *tok = getenv("AWS_SESSION_TOKEN");

    creds_free(&p->c);
    if (!ak || !*ak || !sk || !*sk)
        return err_set(err, CFDR_E_CREDENTIALS, "no AWS credentials in the environment");
    p->c.access_key_id = strdup(ak);
    p->c.secret_access_key = strdup(sk);
    p->c.session_token = tok && *tok ? strdup(tok) : NULL;
    if (!p->c.access_key_id || !p->c.secret_access_key || (tok && *tok && !p->c.session_token)) {
        creds_free(&p->c);
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    }
    snprintf(p->c.source, sizeof(p->c.source), "environment");
    *out = &p->c;
    return CFDR_OK;
}

void creds_provider_free(struct creds_provider *p)
{
    if (!p)
        return;
    creds_free(&p->c);
    free(p);
}

/* ---- sigv4: deterministic placeholder, NOT SigV4 ---- */

void sigv4_result_init(struct sigv4_result *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->canonical_request, BUF_MAX_DOC);
    buf_init(&r->string_to_sign, BUF_MAX_SMALL);
    buf_init(&r->signed_headers, BUF_MAX_SMALL);
    buf_init(&r->signature, BUF_MAX_SMALL);
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
}

void sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    for (size_t i = 0; i < sizeof(md); i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void sigv4_format_amz_date(long long unix_time, char out[17])
{
    time_t t = (time_t)unix_time;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int tmp_has_header(const struct sigv4_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return 1;
    return 0;
}

cfdr_code sigv4_sign(const struct sigv4_config *cfg, const struct sigv4_request *req,
                     struct sigv4_result *out, cfdr_err *err)
{
    char date8[9], hex[65];
    cfdr_code rc;

    snprintf(date8, sizeof(date8), "%.8s", cfg->amz_date);
    out->nadd_headers = 0;
    if (!tmp_has_header(req, "X-Amz-Date"))
        out->add_headers[out->nadd_headers++] = (struct sigv4_header){"X-Amz-Date", cfg->amz_date};
    if (cfg->creds.session_token && *cfg->creds.session_token &&
        !tmp_has_header(req, "X-Amz-Security-Token"))
        out->add_headers[out->nadd_headers++] =
            (struct sigv4_header){"X-Amz-Security-Token", cfg->creds.session_token};
    buf_reset(&out->canonical_request);
    rc = buf_addf(&out->canonical_request, "%s\n%s\n%s\n%s\n%s\n%s", req->method, req->path,
                  req->query ? req->query : "", cfg->amz_date, cfg->creds.secret_access_key,
                  cfg->creds.session_token ? cfg->creds.session_token : "");
    if (!rc)
        rc = buf_add(&out->canonical_request, req->body ? req->body : "", req->body_len);
    if (rc)
        return err_set(err, rc, "tmp signer: buffer");
    sigv4_sha256_hex(buf_str(&out->canonical_request), buf_len(&out->canonical_request), hex);
    /* the canonical request above holds the secret only for hashing; do not keep it */
    memset(out->canonical_request.p, 0, out->canonical_request.len);
    buf_reset(&out->canonical_request);
    buf_reset(&out->signature);
    buf_reset(&out->signed_headers);
    buf_reset(&out->authorization);
    rc = buf_adds(&out->signature, hex);
    if (!rc)
        rc = buf_adds(&out->signed_headers, "host;x-amz-date");
    if (!rc)
        rc = buf_addf(&out->authorization,
                      "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
                      "SignedHeaders=%s, Signature=%s",
                      cfg->creds.access_key_id, date8, cfg->region, cfg->service,
                      buf_str(&out->signed_headers), hex);
    if (rc)
        return err_set(err, rc, "tmp signer: buffer");
    sigv4_sha256_hex(req->body ? req->body : "", req->body_len, out->payload_hash);
    return CFDR_OK;
}
