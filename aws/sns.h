/*
 * sns: the SNS calls cfdr makes for alarm notifications, on the shared transport (query
 * protocol, API version 2010-03-31). SNS is regional: a topic lives in one region, and a
 * CloudWatch alarm can only notify topics of its own region.
 *
 *   CreateTopic               sns_create_topic (idempotent by name, as AWS documents it:
 *                             the existing topic's ARN comes back)
 *   Subscribe                 sns_subscribe (email, http, https; ReturnSubscriptionArn=true,
 *                             so the ARN comes back even while confirmation is pending)
 *   ListSubscriptionsByTopic  sns_list_subscriptions (every page)
 *   Unsubscribe               sns_unsubscribe
 *   DeleteTopic               sns_delete_topic (deletes its subscriptions too; a topic that
 *                             does not exist is not an error at AWS)
 *
 * Email, http and https subscriptions stay "pending confirmation" until the endpoint owner
 * confirms (the link in the email, or the SubscribeURL SNS posts to the webhook); until then
 * ListSubscriptionsByTopic shows their SubscriptionArn as "PendingConfirmation" and nothing is
 * delivered to them.
 *
 * Errors, dry-run and ownership as in cloudwatch.h: aerr (may be NULL) receives AWS's code
 * (SNS_ERR_*); in dry-run every call succeeds with an empty result ("" ARNs, empty lists);
 * sns_subscription_list owns its array (sns_subscription_list_free, NULL accepted).
 */
#ifndef CFDR_SNS_H
#define CFDR_SNS_H

#include <stddef.h>

#include "aws/err.h"
#include "aws/transport.h"

#define SNS_API_VERSION "2010-03-31"

#define SNS_ERR_NOT_FOUND "NotFound"
#define SNS_ERR_INVALID_PARAMETER "InvalidParameter"

#define SNS_PENDING_ARN "PendingConfirmation" /* how ListSubscriptionsByTopic shows them */
#define SNS_MAX_TAGS 50
#define SNS_LIST_MAX_PAGES 500

#define SNS_ARN_SIZE 1024
#define SNS_ENDPOINT_SIZE 2048
#define SNS_WORD_SIZE 64

struct sns_tag {
    const char *key;
    const char *value;
};

struct sns_subscription {
    char arn[SNS_ARN_SIZE]; /* SNS_PENDING_ARN while unconfirmed */
    char topic_arn[SNS_ARN_SIZE];
    char protocol[SNS_WORD_SIZE];
    char endpoint[SNS_ENDPOINT_SIZE];
    char owner[SNS_WORD_SIZE];
    int pending; /* 1 while confirmation is pending */
};

struct sns_subscription_list {
    struct sns_subscription *items; /* n, owned */
    size_t n;
};

void sns_subscription_list_free(struct sns_subscription_list *l);

/* CreateTopic `name` (1-256 letters, digits, '-', '_') with tags; arn receives its ARN ("" in
 * dry-run). */
cfdr_code sns_create_topic(struct transport *t, const char *region, const char *name,
                           const struct sns_tag *tags, size_t ntags, char arn[SNS_ARN_SIZE],
                           struct aws_error *aerr, cfdr_err *err);

/* Subscribe endpoint over protocol ("email", "http", "https") to topic_arn; arn receives the
 * subscription's ARN. Subscribing the same endpoint again returns the same subscription. */
cfdr_code sns_subscribe(struct transport *t, const char *region, const char *topic_arn,
                        const char *protocol, const char *endpoint, char arn[SNS_ARN_SIZE],
                        struct aws_error *aerr, cfdr_err *err);

/* Every subscription of the topic (NextToken pages, at most SNS_LIST_MAX_PAGES). A topic that
 * does not exist is SNS_ERR_NOT_FOUND. *out is overwritten. */
cfdr_code sns_list_subscriptions(struct transport *t, const char *region, const char *topic_arn,
                                 struct sns_subscription_list *out, struct aws_error *aerr,
                                 cfdr_err *err);

cfdr_code sns_unsubscribe(struct transport *t, const char *region, const char *subscription_arn,
                          struct aws_error *aerr, cfdr_err *err);

cfdr_code sns_delete_topic(struct transport *t, const char *region, const char *topic_arn,
                           struct aws_error *aerr, cfdr_err *err);

#endif
