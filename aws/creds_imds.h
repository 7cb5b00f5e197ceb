/*
 * creds_imds: EC2 instance metadata credentials with IMDSv2, as botocore's
 * InstanceMetadataFetcher gets them.
 *
 *   1. PUT <base>/latest/api/token with x-aws-ec2-metadata-token-ttl-seconds: 21600;
 *   2. GET <base>/latest/meta-data/iam/security-credentials/ -> the role name;
 *   3. GET <base>/latest/meta-data/iam/security-credentials/<role> -> JSON with AccessKeyId,
 *      SecretAccessKey, Token, Expiration (all required);
 * steps 2 and 3 with x-aws-ec2-metadata-token when a token was obtained.
 *
 * Settings, as botocore reads them (environment first, then the profile's key):
 *   AWS_EC2_METADATA_DISABLED=true (case-insensitive): skip the service entirely, no packet sent;
 *   AWS_EC2_METADATA_SERVICE_ENDPOINT / ec2_metadata_service_endpoint: the base URL (tests point
 *     it at loopback), else AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE /
 *     ec2_metadata_service_endpoint_mode (IPv4 | IPv6) picks http://169.254.169.254/ or
 *     http://[fd00:ec2::254]/;
 *   AWS_METADATA_SERVICE_TIMEOUT / metadata_service_timeout: seconds per request (default 1);
 *   AWS_METADATA_SERVICE_NUM_ATTEMPTS / metadata_service_num_attempts: attempts (default 1).
 *
 * IMDSv1 fallback (botocore's, kept): when the token request is refused with 403, 404 or 405,
 * times out, or gets no answer after the attempts, steps 2 and 3 go without a token, so
 * instances that only serve IMDSv1 keep working; a 400 answer ends the lookup. With
 * AWS_EC2_METADATA_V1_DISABLED=true (or ec2_metadata_v1_disabled = true) there is no fallback:
 * no token, no credentials.
 *
 * The service not answering, having no role, or answering without credentials is not an error:
 * *found stays 0 and `why` says what happened, so the chain can report it (botocore moves on
 * silently). Only a malformed setting is an error (CFDR_E_CONFIG).
 *
 * Ownership: out receives owned strings (creds_free). The token and the answers are wiped and
 * never logged.
 */
#ifndef CFDR_CREDS_IMDS_H
#define CFDR_CREDS_IMDS_H

#include <stddef.h>

#include "aws/awsconfig.h"
#include "aws/creds.h"
#include "aws/err.h"

#define CREDS_IMDS_ENDPOINT "http://169.254.169.254/"
#define CREDS_IMDS_ENDPOINT_IPV6 "http://[fd00:ec2::254]/"
#define CREDS_IMDS_TOKEN_TTL "21600"

/* 1 when AWS_EC2_METADATA_DISABLED is "true" (any case). */
int creds_imds_disabled(void);

/* Settings are read from the environment and from `profile` in cfg (either may be NULL).
 * *found = 1 with out filled (source "iam-role"), or *found = 0 with why (whysz bytes) saying
 * why not. */
cfdr_code creds_imds_resolve(const struct creds_options *o, const struct awsconfig *cfg,
                             const char *profile, struct aws_credentials *out, int *found,
                             char *why, size_t whysz, cfdr_err *err);

#endif
