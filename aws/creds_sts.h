/*
 * creds_sts: STS AssumeRole for assume-role profiles, the AWS CLI cache key of such a request,
 * and the MFA code prompt on a terminal.
 *
 * creds_sts_assume_role sends AssumeRole (query protocol, Version 2011-06-15) through the
 * transport (endpoint https://sts.<region>.amazonaws.com or AWS_ENDPOINT_URL_STS, standard
 * retries, every error answer parsed), signed with the source credentials: it wraps them in a
 * static creds_provider (creds_provider_new_static) for a transport of its own, and frees
 * both before returning, so nothing outlives the call and the chain is never re-entered. The
 * parameters are sent as botocore's query serializer sends them (RoleArn, RoleSessionName,
 * DurationSeconds, ExternalId, SerialNumber, TokenCode, values percent-encoded except
 * A-Z a-z 0-9 - _ . ~).
 *
 * creds_sts_cache_key is botocore's BaseAssumeRoleCredentialFetcher._create_cache_key: the
 * SHA-1 of json.dumps(args, sort_keys=True) where args holds RoleArn and whichever of
 * DurationSeconds (a number), ExternalId, RoleSessionName (only when configured, not
 * generated) and SerialNumber are set.
 *
 * creds_sts_prompt_terminal is the terminal prompt (getpass-like: echo off while the code is
 * typed). It is the one place in the engine that writes to a terminal, and only when the
 * chain needs an MFA code and no prompt function was injected.
 *
 * Ownership: everything is borrowed for the call; out is filled with owned strings
 * (creds_free). cache_doc, when given, receives the AWS CLI cache entry text.
 */
#ifndef CFDR_CREDS_STS_H
#define CFDR_CREDS_STS_H

#include <stddef.h>

#include "aws/buf.h"
#include "aws/creds.h"
#include "aws/err.h"

/* The STS region when neither the environment nor the profile names one: the region the
 * global endpoint signs for. */
#define CREDS_STS_DEFAULT_REGION "us-east-1"

struct creds_sts_role {
    const char *role_arn;
    const char *session_name;    /* RoleSessionName, always sent */
    int session_name_configured; /* 1: from role_session_name (then it is part of the key) */
    const char *external_id;     /* NULL: not sent */
    const char *mfa_serial;      /* NULL: not sent */
    const char *token_code;      /* sent with mfa_serial; not part of the cache key */
    int has_duration;            /* 1: DurationSeconds sent */
    long duration_seconds;
    const char *region; /* region of the STS endpoint and signature */
};

/* 40 hex digits and a NUL. CFDR_E_CONFIG when a value is not valid UTF-8. */
cfdr_code creds_sts_cache_key(const struct creds_sts_role *role, char out[41], cfdr_err *err);

/* Calls AssumeRole signed with source. On success out holds the role's credentials (source
 * "assume-role", with their Expiration) and cache_doc (if not NULL) the cache entry. Errors are
 * the transport's (CFDR_E_AWS with AWS's code and message, CFDR_E_NET, ...) or CFDR_E_PARSE
 * for an answer without credentials. Uses o's log, clock and sleep hooks. */
cfdr_code creds_sts_assume_role(const struct creds_options *o, const struct creds_sts_role *role,
                                const struct aws_credentials *source, struct aws_credentials *out,
                                struct buf *cache_doc, cfdr_err *err);

/* Writes prompt to out_fd and reads one line from in_fd, a terminal, with echo turned off
 * (restored after), into code (codesz bytes, NUL-terminated, blanks trimmed). CFDR_E_CREDENTIALS
 * when in_fd is not a terminal, the line is empty or too long, or input ends; CFDR_E_INTERRUPTED
 * when a signal interrupts the read. */
cfdr_code creds_sts_prompt_terminal(int in_fd, int out_fd, const char *prompt, char *code,
                                    size_t codesz, cfdr_err *err);

#endif
