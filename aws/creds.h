/*
 * creds: AWS credentials resolved the way the AWS CLI (botocore) does it.
 *
 * Chain, first match wins:
 *   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN); skipped
 *      when a profile was named explicitly with --profile, as botocore does
 *   2. shared credentials file (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials),
 *      section [<profile>]
 *   3. config file (AWS_CONFIG_FILE, default ~/.aws/config), section [profile <name>]
 *      ([default] for the default profile): static keys, then credential_process
 *   (later issues add role_arn/source_profile, IAM Identity Center, container and IMDSv2 on
 *   this same chain)
 * The profile is --profile, else AWS_PROFILE, else "default".
 *
 * Ownership: struct aws_credentials owns its strings (creds_free releases them and wipes the
 * secret). struct creds_provider is opaque, created by creds_provider_new and released by
 * creds_provider_free (NULL accepted); it caches what it resolved and resolves again when the
 * credentials are within CREDS_REFRESH_WINDOW_S of expiring. Pointers that
 * creds_provider_get returns stay valid until the next creds_provider_get or free.
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
 *   - Profiles using role_arn, credential_source, web_identity_token_file (or the
 *     AWS_WEB_IDENTITY_TOKEN_FILE variable) or sso_* keys fail with CFDR_E_UNSUPPORTED at the
 *     point of the chain where botocore would use them, naming the key and profile.
 *   - Credentials that have already expired (by the injected clock) are an error.
 *   - creds_provider_new only copies the options; the first creds_provider_get resolves. When a
 *     refresh fails while the cached credentials still have more than CREDS_MANDATORY_REFRESH_S
 *     left, the cached ones are returned and a warning logged (botocore's advisory refresh).
 */
#ifndef CFDR_CREDS_H
#define CFDR_CREDS_H

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
                            "credential_process", ... */
};

struct creds_options {
    const char *profile;        /* --profile, or NULL */
    const struct cfdr_log *log; /* may be NULL */
    /* Clock for expiry decisions; NULL means time(). Tests inject their own. */
    time_t (*now)(void *ud);
    void *now_ud;
    /* Time limit for credential_process in milliseconds; 0 means CREDS_PROCESS_TIMEOUT_MS. */
    int process_timeout_ms;
};

void creds_free(struct aws_credentials *c);

/* Resolves once, without caching. */
cfdr_code creds_resolve(const struct creds_options *o, struct aws_credentials *out, cfdr_err *err);

struct creds_provider;

cfdr_code creds_provider_new(const struct creds_options *o, struct creds_provider **out,
                             cfdr_err *err);
cfdr_code creds_provider_get(struct creds_provider *p, const struct aws_credentials **out,
                             cfdr_err *err);
void creds_provider_free(struct creds_provider *p);

/* The profile name in force for these options (--profile, AWS_PROFILE, "default"). */
const char *creds_profile_name(const struct creds_options *o);

/* Parses an ISO-8601 / RFC 3339 date-time with a time zone ("2030-01-02T03:04:05Z",
 * "...05.123+01:00", "...05+0100"; 'T', 't' or a space between date and time; seconds
 * optional) into *out. Returns CFDR_E_PARSE (with no message) when s is not one. */
cfdr_code creds_parse_time(const char *s, time_t *out);

#endif
