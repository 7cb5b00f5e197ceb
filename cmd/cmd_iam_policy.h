/*
 * cmd_iam_policy: `cfdr iam-policy` — the least-privilege IAM policy for exactly the AWS API
 * operations cfdr's clients can send (aws/cloudfront.c, aws/apprunner.c).
 *
 * One table maps each operation to the IAM actions it needs (CreateDistributionWithTags needs
 * cloudfront:CreateDistribution and cloudfront:TagResource; CreateService with tags needs
 * apprunner:TagResource too, and iam:CreateServiceLinkedRole for App Runner's service-linked
 * role the first time a service is created in an account). The policy is built from that table
 * only, so it grants nothing no operation needs; tests/unit/test_iam_policy.c reads the
 * clients' sources and fails when they send an operation the table does not map.
 *
 * Resources: distributions by their ARN (any distribution of the account: a distribution's id
 * is not known before it exists); App Runner services by ARN, narrowed to the two configured
 * services (name and region) when a configuration is given; the List operations on every
 * resource (they take none); the service-linked role by its fixed ARN, for
 * apprunner.amazonaws.com only.
 *
 * Ownership: the table is static; iam_policy_document returns a new json-c reference the caller
 * releases with json_object_put().
 */
#ifndef CFDR_CMD_IAM_POLICY_H
#define CFDR_CMD_IAM_POLICY_H

#include <json-c/json.h>

#include "aws/err.h"
#include "cmd/config.h"

struct iam_policy_op {
    const char *service;        /* "cloudfront" or "apprunner" (the model's signing name) */
    const char *operation;      /* API operation, e.g. "CreateDistributionWithTags" */
    const char *const *actions; /* IAM actions it needs, NULL-terminated */
};

/* Every operation the clients send; terminated by a zeroed entry. */
extern const struct iam_policy_op iam_policy_ops[];

/* The actions `operation` of `service` needs (NULL-terminated), or NULL when it is not mapped. */
const char *const *iam_policy_actions(const char *service, const char *operation);

/* The policy document ({"Version": "2012-10-17", "Statement": [...]}). cfg may be NULL: App
 * Runner resources are then not narrowed to the configured services. */
cfdr_code iam_policy_document(const struct cfdr_config *cfg, json_object **out, cfdr_err *err);

#endif
