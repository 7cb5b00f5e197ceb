/*
 * creds: AWS credentials resolved the way the AWS CLI (botocore) does it.
 *
 * Chain, first match wins (botocore's create_credential_resolver()):
 *   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN); skipped
 *      when a profile was named explicitly with --profile, as botocore does
 *   2. assume role: the profile has role_arn (and no web_identity_token_file); the source
 *      credentials come from source_profile (resolved recursively, loops refused) or from
 *      credential_source = Environment | Ec2InstanceMetadata | EcsContainer; STS AssumeRole is
 *      called through the transport and the result cached like the AWS CLI does
 *      (aws/creds_sts.h, aws/creds_cache.h)
 *   3. IAM Identity Center: the profile has sso_account_id / sso_role_name, with sso_session
 *      or the legacy sso_start_url + sso_region (aws/creds_sso.h)
 *   4. shared credentials file (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials),
 *      section [<profile>]
 *   5. credential_process of the profile
 *   6. config file (AWS_CONFIG_FILE, default ~/.aws/config), section [profile <name>]
 *      ([default] for the default profile): static keys
 *   7. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI
 *      (aws/creds_container.h)
 *   8. EC2 instance metadata, IMDSv2 (aws/creds_imds.h); AWS_EC2_METADATA_DISABLED=true skips it
 * The profile is --profile, else AWS_PROFILE, else "default".
 *
 * Layering: this module owns the chain and the provider. The sources that talk to a server
 * live in their own modules (creds_sts, creds_sso, creds_container, creds_imds, with
 * creds_cache and creds_http under them). creds_sts and creds_sso call AWS through the
 * transport; the transport only ever asks a creds_provider for credentials, and the one
 * creds_sts hands it is a static provider around the source credentials
 * (creds_provider_new_static), so resolving never re-enters the chain. creds.h includes no
 * transport header.
 *
 * Ownership: struct aws_credentials owns its strings (creds_free releases them and wipes the
 * secret). struct creds_provider is opaque, created by creds_provider_new (the chain) or
 * creds_provider_new_static (fixed credentials) and released by creds_provider_free (NULL
 * accepted); the chain provider caches what it resolved and resolves again when the
 * credentials are within CREDS_REFRESH_WINDOW_S of expiring (assume-role, IAM Identity
 * Center, container, instance metadata and credential_process credentials all expire), so a
 * long wait keeps working. Pointers that creds_provider_get returns stay valid until the next
 * creds_provider_get or free.
 *
 * Secrets never go to the logger; only the source and the access key id's last 4 characters.
 *
 * Details (aws/creds.c follows botocore's credentials.py):
 *   - AWS_DEFAULT_PROFILE is read before AWS_PROFILE, as botocore does. A profile named by
 *     --profile or either variable (even "default") must exist in one of the two files; the
 *     implicit "default" need not.
 *   - As in botocore, a profile's credential_process (looked up in the profile merged from both
 *     files, the credentials file winning) is tried after the credentials file and BEFORE the
 *     config file's static keys.
 *   - A source_profile is resolved like botocore's _resolve_credentials_from_profile: when it
 *     has static keys or no role_arn, its own profile sources (3-6) are used; otherwise it
 *     assumes its own role. A profile may name itself as source_profile only when it has
 *     static keys. Source credentials are resolved only when AssumeRole must really be called
 *     (botocore resolves them first even when the cache answers).
 *   - mfa_serial: the code is asked with creds_options.mfa_prompt, or on the terminal
 *     (creds_sts_prompt_terminal) when stdin is one; without either the error says how to get
 *     a cached session instead. As in botocore, a refresh never asks again: once the first
 *     MFA session runs out, the provider reports that a new code is needed.
 *   - Profiles using web_identity_token_file (or the AWS_WEB_IDENTITY_TOKEN_FILE variable) fail
 *     with CFDR_E_UNSUPPORTED at the point of the chain where botocore would use them.
 *   - Credentials that have already expired (by the injected clock) are an error.
 *   - Failures of AWS calls keep the transport's code (CFDR_E_AWS with AWS's message, e.g.
 *     AccessDenied; CFDR_E_NET), wrapped with the profile and role.
 *   - creds_provider_new only copies the options; the first creds_provider_get resolves. When a
 *     refresh fails while the cached credentials still have more than CREDS_MANDATORY_REFRESH_S
 *     left, the cached ones are returned and a warning logged (botocore's advisory refresh).
 */
#ifndef CFDR_CREDS_H
#define CFDR_CREDS_H

#include <stddef.h>
#include <time.h>

#include "aws/err.h"
#include "aws/log.h"

#define CREDS_REFRESH_WINDOW_S (15 * 60)
/* Below this much validity a failed refresh is an error (botocore's mandatory refresh). */
#define CREDS_MANDATORY_REFRESH_S (10 * 60)
/* Default time limit for a credential_process run. */
#define CREDS_PROCESS_TIMEOUT_MS (60 * 1000)

struct aws_credentials {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL when none */
    time_t expiration;   /* 0 when the credentials do not expire */
    char source[64];     /* "environment", "shared-credentials-file", "config-file",
                            "credential_process", "assume-role", "sso", "container-role",
                            "iam-role" (the last four are botocore's method names) */
};

struct creds_options {
    const char *profile;        /* --profile, or NULL */
    const struct cfdr_log *log; /* may be NULL */
    /* Clock for expiry decisions; NULL means time(). Tests inject their own. */
    time_t (*now)(void *ud);
    void *now_ud;
    /* Time limit for credential_process in milliseconds; 0 means CREDS_PROCESS_TIMEOUT_MS. */
    int process_timeout_ms;
    /* Asks the user for the code of MFA device `serial` (assume-role profiles with mfa_serial);
     * prompt is botocore's "Enter MFA code for <serial>: ". Writes a NUL-terminated code into
     * code (codesz bytes) and returns CFDR_OK, or fails with err set. NULL: the terminal (see
     * creds_sts_prompt_terminal) when stdin is one, else a CFDR_E_CREDENTIALS error. */
    cfdr_code (*mfa_prompt)(void *ud, const char *serial, const char *prompt, char *code,
                            size_t codesz, cfdr_err *err);
    void *mfa_prompt_ud;
    /* Pauses (container endpoint retries, STS/SSO transport retries); NULL: a real sleep. */
    void (*sleep_ms)(void *ud, long ms);
    void *sleep_ud;
};

void creds_free(struct aws_credentials *c);

/* Fills *out with copies of the strings (token NULL or "" means none); on failure *out is
 * empty. For the source modules. */
cfdr_code creds_fill(struct aws_credentials *out, const char *akid, const char *secret,
                     const char *token, time_t expiration, const char *source, cfdr_err *err);

/* Resolves once, without caching. */
cfdr_code creds_resolve(const struct creds_options *o, struct aws_credentials *out, cfdr_err *err);

struct creds_provider;

cfdr_code creds_provider_new(const struct creds_options *o, struct creds_provider **out,
                             cfdr_err *err);
cfdr_code creds_provider_get(struct creds_provider *p, const struct aws_credentials **out,
                             cfdr_err *err);
void creds_provider_free(struct creds_provider *p);

/* A provider that always returns a copy of c (never refreshed, never expired by itself): how a
 * transport signs with credentials already in hand (AssumeRole with source credentials). */
cfdr_code creds_provider_new_static(const struct aws_credentials *c, struct creds_provider **out,
                                    cfdr_err *err);

/* The profile name in force for these options (--profile, AWS_PROFILE, "default"). */
const char *creds_profile_name(const struct creds_options *o);

/* Parses an ISO-8601 / RFC 3339 date-time with a time zone ("2030-01-02T03:04:05Z",
 * "...05.123+01:00", "...05+0100"; 'T', 't' or a space between date and time; seconds
 * optional) into *out. Returns CFDR_E_PARSE (with no message) when s is not one. */
cfdr_code creds_parse_time(const char *s, time_t *out);

/* "2030-01-02T03:04:05Z" for t (UTC); out holds at least 32 bytes. */
void creds_format_time(time_t t, char out[32]);

#endif
