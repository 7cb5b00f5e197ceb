/*
 * transport: the one request path every AWS service client uses.
 *
 * transport_call() resolves the endpoint, builds the request, signs it with sigv4 (credentials
 * from a creds_provider; a transport made with unsigned_requests signs nothing), sends it with
 * libcurl, retries it in the SDKs' "standard" retry mode and turns an error answer of any
 * protocol (rest-xml, awsJson, query) into one struct aws_error. With dry_run set it sends
 * nothing: it hands the fully signed request, with secrets redacted, to the dry-run sink and
 * returns CFDR_OK with resp->dry_run = 1.
 *
 * Standard retry mode (as botocore's retries/standard.py): at most max_attempts attempts
 * (AWS_MAX_ATTEMPTS, default 3); retry on throttling error codes, transient errors (HTTP 500,
 * 502, 503, 504, RequestTimeout*, PriorRequestNotComplete, connection failures and timeouts),
 * never on other 4xx; delay before retry i is rand[0,1) * 2^i seconds capped at 20 s (full
 * jitter); a retry quota of 500 tokens (5 per retry, 10 per timeout retry, refunded on success).
 *
 * Logging: with the logger at DEBUG, each attempt is logged (method, URL, status, duration,
 * headers and body) with Authorization's signature, X-Amz-Security-Token and any secret value
 * redacted as "REDACTED".
 *
 * Ownership: struct transport is created by transport_new and released by transport_free
 * (NULL accepted); it borrows the creds_provider and logger, which must outlive it. Requests
 * are borrowed for the call. struct aws_response owns its body and headers:
 * aws_response_init before the call, aws_response_free after (both accept an initialised
 * response; calling transport_call again on the same response resets it first).
 *
 * libcurl's global state: transport_new calls curl_global_init(CURL_GLOBAL_DEFAULT) and
 * transport_free the matching curl_global_cleanup. libcurl counts these calls (only the last
 * cleanup tears anything down), so any number of transports may exist at once and main() need
 * not call curl_global_init itself; other libcurl users in cfdr should pair their own calls the
 * same way. Create and free transports from one thread unless libcurl is >= 7.84 (where global
 * init is thread-safe).
 *
 * Details of the contract:
 *   - one libcurl easy handle per transport, reused across calls so connections stay alive;
 *     only http and https, no redirects followed (a 3xx is an error answer);
 *   - every attempt is signed again (fresh X-Amz-Date, amz-sdk-request: attempt=N; max=M); one
 *     amz-sdk-invocation-id (a UUID v4) per call; User-Agent: cfdr/<CFDR_VERSION>;
 *   - an answer larger than BUF_MAX_DOC fails with CFDR_E_TOOBIG (never truncated, not retried);
 *   - on CFDR_E_NET, resp->error has http_status 0, code "Timeout" or "ConnectionError" and
 *     libcurl's description as message; resp->status is 0;
 *   - on CFDR_E_AWS, resp->body still holds the final error answer;
 *   - redaction (dry-run text, debug log, error messages): Authorization's Signature=, any
 *     header whose name contains "token", "secret" or "password" (X-Amz-Security-Token
 *     included), body fields so named (XML elements, JSON keys, form parameters, e.g.
 *     SecretAccessKey, sessionToken, TokenCode; NextToken too, which is harmless), and every
 *     occurrence of the secret key, session token and signature in use, wherever it appears
 *     (AWS echoes the canonical request in SignatureDoesNotMatch messages).
 */
#ifndef CFDR_TRANSPORT_H
#define CFDR_TRANSPORT_H

#include <stddef.h>

#include "aws/buf.h"
#include "aws/creds.h"
#include "aws/endpoint.h"
#include "aws/err.h"
#include "aws/log.h"

enum aws_protocol {
    AWS_PROTO_REST_XML,  /* CloudFront */
    AWS_PROTO_JSON,      /* awsJson1.0 with X-Amz-Target: App Runner */
    AWS_PROTO_QUERY,     /* Action=...&Version=... form bodies: CloudWatch, SNS, STS */
    AWS_PROTO_REST_JSON, /* IAM Identity Center portal */
};

struct aws_header {
    char *name;
    char *value;
};

struct aws_error {
    long http_status;   /* 0 when no HTTP answer was received */
    char code[128];     /* AWS error code, e.g. "Throttling", "PreconditionFailed" */
    char message[1024]; /* AWS's message, or the network failure */
    char request_id[128];
};

struct aws_request {
    enum aws_service_id service;
    enum aws_protocol protocol;
    const char *region;        /* ignored for global services */
    const char *operation;     /* e.g. "CreateDistributionWithTags"; used for X-Amz-Target (json),
                                  logging and errors */
    const char *target_prefix; /* awsJson: X-Amz-Target prefix, e.g. "AppRunner" */
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* request path, "/" for query and json protocols */
    const char *query;         /* without '?', or NULL */
    const struct aws_header *headers; /* extra headers (If-Match, Content-Type override...) */
    size_t nheaders;
    const char *body; /* may be NULL */
    size_t body_len;
};

struct aws_response {
    long status;     /* HTTP status of the final attempt (0 in dry-run) */
    struct buf body; /* response body, bounded by BUF_MAX_DOC */
    struct aws_header *headers;
    size_t nheaders;
    struct aws_error error; /* filled when the call failed with CFDR_E_AWS or CFDR_E_NET */
    int attempts;           /* attempts made */
    int dry_run;            /* 1 when nothing was sent */
};

void aws_response_init(struct aws_response *r);
void aws_response_free(struct aws_response *r);
/* Case-insensitive header lookup in the response; NULL when absent. */
const char *aws_response_header(const struct aws_response *r, const char *name);

struct transport_options {
    struct creds_provider *creds; /* required unless dry_run (where missing creds sign with a
                                     placeholder key and say so) or unsigned_requests */
    const struct cfdr_log *log;   /* may be NULL */
    int dry_run;
    /* Dry-run sink: receives one complete, redacted request text per call. */
    void (*dry_run_emit)(void *ud, const char *text);
    void *dry_run_ud;
    /* 1: send every request without SigV4, as a botocore client configured with
     * signature_version=UNSIGNED: no Authorization, X-Amz-Date or X-Amz-Security-Token header,
     * and creds is neither required nor asked. For APIs that authenticate otherwise: IAM
     * Identity Center's GetRoleCredentials takes a bearer token in x-amz-sso_bearer_token
     * (redacted in logs like any header whose name contains "token"). Everything else (endpoint,
     * retries, error parsing, dry-run, redaction) is unchanged. */
    int unsigned_requests;
    int max_attempts;        /* 0: AWS_MAX_ATTEMPTS or 3 */
    long connect_timeout_ms; /* 0: 10000 */
    long request_timeout_ms; /* 0: 60000, whole attempt */
    /* Test hooks; NULL for the real thing. sleep_ms lets tests observe backoff without
     * waiting; rand01 returns a number in [0,1); now returns UNIX time for signing. */
    void (*sleep_ms)(void *ud, long ms);
    double (*rand01)(void *ud);
    long long (*now)(void *ud);
    void *hook_ud;
};

struct transport;

cfdr_code transport_new(const struct transport_options *o, struct transport **out, cfdr_err *err);
void transport_free(struct transport *t);

/* Sends rq (with retries) and fills resp. Returns CFDR_OK for a 2xx answer; CFDR_E_AWS with
 * resp->error filled for an AWS error answer after retries; CFDR_E_NET for a network failure
 * after retries; other codes for local failures. err's message names the service, operation,
 * code, message, HTTP status and request id. */
cfdr_code transport_call(struct transport *t, const struct aws_request *rq,
                         struct aws_response *resp, cfdr_err *err);

/* Classification used by the retry logic, exposed for unit tests. */
int transport_is_throttling_code(const char *code);
int transport_is_transient(long http_status, const char *code);

#endif
