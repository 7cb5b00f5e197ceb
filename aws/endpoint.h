/*
 * endpoint: where a service's API lives for a region, and how requests to it are signed.
 *
 * Defaults follow AWS's endpoint rules for the `aws` partition: CloudFront is global
 * (https://cloudfront.amazonaws.com, signed for us-east-1); App Runner, CloudWatch
 * (monitoring), SNS and STS are regional (https://<prefix>.<region>.amazonaws.com); IAM Identity
 * Center's portal is https://portal.sso.<region>.amazonaws.com (signing name awsssoportal).
 * Overrides, as the AWS CLI reads them: AWS_ENDPOINT_URL_<SERVICE> (service id upper-cased,
 * spaces to underscores: CLOUDFRONT, APPRUNNER, CLOUDWATCH, SNS, STS, SSO) wins over
 * AWS_ENDPOINT_URL; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true disables both. An overridden
 * endpoint keeps the default signing region and name.
 * Details: an empty variable counts as unset (as in botocore); an override must be
 * http(s)://host[:port][/path] with a valid host name or [IPv6] address, no user information,
 * query or fragment; trailing slashes are dropped, and `host` omits the scheme's default port.
 * Regional services validate the region even when overridden (it is still signed for).
 *
 * Pure apart from getenv. No allocation: the result is a fixed-size struct.
 */
#ifndef CFDR_ENDPOINT_H
#define CFDR_ENDPOINT_H

#include "aws/err.h"

enum aws_service_id {
    AWS_SVC_CLOUDFRONT = 0,
    AWS_SVC_APPRUNNER,
    AWS_SVC_CLOUDWATCH,
    AWS_SVC_SNS,
    AWS_SVC_STS,
    AWS_SVC_SSO,
    AWS_SVC_COUNT
};

struct aws_endpoint {
    char url[512];           /* scheme://host[:port][/base], no trailing slash */
    char host[256];          /* host[:port] for the Host header */
    char signing_region[32]; /* region the request is signed for */
    char signing_name[32];   /* SigV4 service name */
    int overridden;          /* 1 when it came from an AWS_ENDPOINT_URL* variable */
};

/* Validates the region against the aws partition's pattern (^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$)
 * and fills out. Errors name the variable or region that was wrong. */
cfdr_code endpoint_resolve(enum aws_service_id svc, const char *region, struct aws_endpoint *out,
                           cfdr_err *err);

/* "CloudFront", "App Runner", ... for messages; "CLOUDFRONT", "APPRUNNER", ... for env vars. */
const char *endpoint_service_name(enum aws_service_id svc);
const char *endpoint_service_env_suffix(enum aws_service_id svc);

/* 1 if region is a valid region name of the aws partition. */
int endpoint_region_valid(const char *region);

#endif
