/*
 * creds_container: container credentials (ECS task roles, EKS Pod Identity), as botocore's
 * ContainerProvider and ContainerMetadataFetcher get them.
 *
 * Used only when AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or AWS_CONTAINER_CREDENTIALS_FULL_URI
 * is present in the environment (botocore tests presence, so an empty value counts):
 *   - RELATIVE_URI wins: the URL is http://169.254.170.2 followed by it;
 *   - FULL_URI must be an http(s) URL whose host is a loopback address (127.0.0.0/8, ::1),
 *     localhost, 169.254.170.2 (ECS), 169.254.170.23 or fd00:ec2::23 (EKS Pod Identity);
 *     anything else is a CFDR_E_CONFIG error, before any connection.
 * The Authorization header is the content of the file AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
 * names (read verbatim at every fetch, so a rotated token is picked up), else
 * AWS_CONTAINER_AUTHORIZATION_TOKEN; a value holding CR or LF is refused. Accept:
 * application/json. Each attempt has CREDS_CONTAINER_TIMEOUT_MS; a failed attempt (no answer,
 * a status other than 200, a body that is not JSON) is retried up to CREDS_CONTAINER_ATTEMPTS
 * attempts in all, CREDS_CONTAINER_PAUSE_MS apart (botocore's 2 s, 3, 1 s). The answer's
 * AccessKeyId, SecretAccessKey, Token and Expiration are all required.
 * Once the variables are set, a failure is an error: the chain does not go on to the instance
 * metadata service (botocore's _retrieve_or_fail).
 *
 * Ownership: out receives owned strings (creds_free). Nothing is logged but the URL and the
 * outcome; never the token or the answer.
 */
#ifndef CFDR_CREDS_CONTAINER_H
#define CFDR_CREDS_CONTAINER_H

#include "aws/creds.h"
#include "aws/err.h"

#define CREDS_CONTAINER_HOST "169.254.170.2"
#define CREDS_CONTAINER_TIMEOUT_MS 2000L
#define CREDS_CONTAINER_ATTEMPTS 3
#define CREDS_CONTAINER_PAUSE_MS 1000L

/* 1 when a variable selects container credentials. */
int creds_container_configured(void);

/* *found = 0 (CFDR_OK) when neither variable is set; else the credentials or an error. */
cfdr_code creds_container_resolve(const struct creds_options *o, struct aws_credentials *out,
                                  int *found, cfdr_err *err);

/* 1 when host (as in a URL, IPv6 with or without brackets) may serve container credentials. */
int creds_container_host_allowed(const char *host);

#endif
