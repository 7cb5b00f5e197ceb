/*
 * sigv4: AWS Signature Version 4 for non-S3 services, after aws-c-auth's signer.
 *
 * Pure: no clock, no network, no globals. Everything that changes a signature is a field of
 * struct sigv4_config (the date comes in as a string), and the request to sign is an abstract
 * struct sigv4_request, not a curl handle, so every stage is testable byte for byte against
 * AWS's test suite and against botocore.
 *
 * Stages: canonical request -> string to sign -> signing key (HMAC chain) -> signature ->
 * Authorization header value. SHA-256 and HMAC come from OpenSSL.
 *
 * Ownership: the caller owns config and request (borrowed for the call). The result holds
 * struct buf members that sigv4_result_free() releases; init before use, free after, both
 * accept a zeroed/initialised result. Secrets are only read, never copied into the result.
 */
#ifndef CFDR_SIGV4_H
#define CFDR_SIGV4_H

#include <stddef.h>

#include "aws/buf.h"
#include "aws/err.h"

struct sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL or "" when the credentials are not temporary */
};

struct sigv4_header {
    const char *name;
    const char *value;
};

struct sigv4_request {
    const char *method;
    const char *path;  /* as on the wire, may hold %XX escapes; "" is treated as "/" */
    const char *query; /* raw query string without '?'; NULL or "" when none */
    const struct sigv4_header *headers; /* must include Host */
    size_t nheaders;
    const void *body; /* may be NULL when body_len is 0 */
    size_t body_len;
};

struct sigv4_config {
    const char *region;   /* e.g. "us-east-1" */
    const char *service;  /* signing name, e.g. "cloudfront", "apprunner", "monitoring" */
    const char *amz_date; /* "YYYYMMDDTHHMMSSZ" (UTC) */
    struct sigv4_credentials creds;
    int double_uri_encode;  /* 1 for every service but S3 */
    int normalize_uri_path; /* 1 for every service but S3 */
    /* 1: when creds carry a session token and the request has no X-Amz-Security-Token header,
     * add it before signing, so it is signed (what the SDKs do). 0: add it after signing,
     * unsigned (the suite's post-sts-header-after case). */
    int sign_session_token;
};

/* Maximum number of headers sigv4 may ask the caller to add to the wire request. */
#define SIGV4_MAX_ADD_HEADERS 2

struct sigv4_result {
    struct buf canonical_request;
    struct buf string_to_sign;
    struct buf signed_headers; /* "host;x-amz-date" */
    struct buf signature;      /* lowercase hex */
    struct buf authorization;  /* value of the Authorization header */
    char payload_hash[65];     /* lowercase hex SHA-256 of the body */
    /* Headers the caller must add to the wire request besides Authorization (X-Amz-Date when
     * the request had none, X-Amz-Security-Token when creds carry a token and the request had
     * none). Values point into config/creds memory: valid while those are. */
    struct sigv4_header add_headers[SIGV4_MAX_ADD_HEADERS];
    size_t nadd_headers;
};

void sigv4_result_init(struct sigv4_result *r);
void sigv4_result_free(struct sigv4_result *r);

/* Signs req under cfg, filling every stage of out. Headers that the SDKs never sign
 * (User-Agent, Expect, X-Amzn-Trace-Id, Authorization) are left out of the signature. */
/* Details (sigv4/sigv4.c and sigv4/uri.h say more):
 * - Header values are trimmed and every run of spaces, tabs and folded line breaks inside
 *   becomes one space; repeated names are joined with ',' in request order.
 * - The query is decoded and re-encoded pair by pair ('+' is a literal plus); the path is
 *   normalised as the SDKs do it and, with double_uri_encode, encoded again.
 * - out is reset first, so a result can be reused; after a failure it holds no signature.
 * Errors (err says what to fix and never holds the secret key or the session token):
 *   CFDR_E_USAGE: no Host header; a header name that is not an HTTP token; a control character
 *     or an unfolded line break in a header value; a malformed %-escape in the query; a bad
 *     method, region, service or date; an X-Amz-Date header other than cfg->amz_date; an
 *     X-Amz-Content-SHA256 header other than the body's hash.
 *   CFDR_E_CREDENTIALS: no access key id or secret; an X-Amz-Security-Token header other than
 *     the credentials' session token.
 *   CFDR_E_TOOBIG / CFDR_E_NOMEM: a stage would exceed its buffer's limit / no memory.
 *   CFDR_E_INTERNAL: NULL arguments that the contract forbids. */
cfdr_code sigv4_sign(const struct sigv4_config *cfg, const struct sigv4_request *req,
                     struct sigv4_result *out, cfdr_err *err);

/* Formats a UNIX time as "YYYYMMDDTHHMMSSZ" into out (at least 17 bytes). A time outside the
 * years 1000-9999 (or time_t) gives "00000000T000000Z", a date AWS rejects. */
void sigv4_format_amz_date(long long unix_time, char out[17]);

/* Lowercase hex SHA-256 of data into out (65 bytes with NUL). */
void sigv4_sha256_hex(const void *data, size_t len, char out[65]);

#endif
