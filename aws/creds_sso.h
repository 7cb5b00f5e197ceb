/*
 * creds_sso: credentials of IAM Identity Center (SSO) profiles, as botocore's SSOProvider and
 * SSOCredentialFetcher get them.
 *
 * A profile is an IAM Identity Center profile when it has sso_account_id or sso_role_name. Its
 * settings come from the profile (legacy: sso_start_url and sso_region in the profile) or
 * from the `[sso-session NAME]` section of the config file that sso_session names (a key set
 * in both must have the same value). Then, in botocore's order:
 *   1. the AWS CLI cache (~/.aws/cli/cache, aws/creds_cache.h) is asked for the role
 *      credentials, keyed by SHA-1 of {"accountId":..,"roleName":..,"sessionName"|"startUrl":..}
 *      (minified, sorted);
 *   2. else the token that `aws sso login` left in ~/.aws/sso/cache/<SHA-1 of the session
 *      name, or of the start URL for legacy profiles>.json (accessToken, expiresAt) is read;
 *      a missing or expired token is a CFDR_E_CREDENTIALS error that says to run
 *      `aws sso login --profile <p>`. cfdr never refreshes the token itself (the CLI's SSO
 *      OIDC refresh is not implemented): within its last minutes it is still used as is;
 *   3. the portal's GetRoleCredentials (GET /federation/credentials?role_name=..&account_id=..
 *      on https://portal.sso.<sso_region>.amazonaws.com or AWS_ENDPOINT_URL_SSO) is called
 *      through the transport, unsigned, with the token in x-amz-sso_bearer_token; an
 *      UnauthorizedException also says to run `aws sso login`;
 *   4. roleCredentials (expiration in epoch milliseconds) become the credentials (source
 *      "sso") and are written to the AWS CLI cache in botocore's shape ({"ProviderType": "sso",
 *      "Credentials": {...}}); a failure to write is logged as a warning.
 *
 * Ownership: everything is borrowed for the call; out receives owned strings (creds_free).
 */
#ifndef CFDR_CREDS_SSO_H
#define CFDR_CREDS_SSO_H

#include <time.h>

#include "aws/awsconfig.h"
#include "aws/creds.h"
#include "aws/err.h"

#define CREDS_SSO_TOKEN_DIR "~/.aws/sso/cache"

/* *found = 0 (and CFDR_OK) when `profile` is not an IAM Identity Center profile. */
cfdr_code creds_sso_resolve(const struct creds_options *o, const struct awsconfig *cfg,
                            const char *profile, time_t now, struct aws_credentials *out,
                            int *found, cfdr_err *err);

/* The `[sso-session name]` section of the config file (the section name split like a shell
 * line must be exactly those two words); the last one when there are several; NULL when none. */
const struct awsconfig_section *creds_sso_session_section(const struct awsconfig_file *config,
                                                          const char *name);

#endif
