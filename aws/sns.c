/* sns: see sns.h. */
#include "aws/sns.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/query.h"
#include "aws/xml.h"

static int empty(const char *s)
{
    return !s || !*s;
}

static void aerr_clear(struct aws_error *aerr)
{
    if (aerr)
        memset(aerr, 0, sizeof(*aerr));
}

void sns_subscription_list_free(struct sns_subscription_list *l)
{
    if (!l)
        return;
    free(l->items);
    memset(l, 0, sizeof(*l));
}

static int topic_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 256)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
              (name[i] >= '0' && name[i] <= '9') || name[i] == '-' || name[i] == '_'))
            return 0;
    return 1;
}

/* Sends q and copies <Result>/<field> (when field is not NULL) into arn. */
static cfdr_code call_arn(struct transport *t, const char *region, struct query_req *q,
                          const char *field, char arn[SNS_ARN_SIZE], struct aws_error *aerr,
                          cfdr_err *err)
{
    struct xml_doc *doc = NULL;
    const struct xml_node *res;
    cfdr_code rc;

    if (arn)
        arn[0] = '\0';
    rc = query_call(t, region, q, &doc, &res, aerr, err);
    if (!rc && doc && field) {
        rc = query_text(res, field, arn, SNS_ARN_SIZE, 1, err);
        if (rc)
            err_wrap(err, "SNS %s: unexpected answer", q->action);
    }
    xml_doc_free(doc);
    query_free(q);
    return rc;
}

cfdr_code sns_create_topic(struct transport *t, const char *region, const char *name,
                           const struct sns_tag *tags, size_t ntags, char arn[SNS_ARN_SIZE],
                           struct aws_error *aerr, cfdr_err *err)
{
    struct query_req q;

    arn[0] = '\0';
    aerr_clear(aerr);
    if (!topic_name_ok(name))
        return err_set(err, CFDR_E_USAGE,
                       "'%.64s' is not an SNS topic name (1-256 letters, digits, '-' and '_')",
                       name ? name : "");
    if (ntags > SNS_MAX_TAGS || (ntags && !tags))
        return err_set(err, CFDR_E_USAGE, "an SNS topic takes at most %d tags", SNS_MAX_TAGS);
    for (size_t i = 0; i < ntags; i++)
        if (empty(tags[i].key))
            return err_set(err, CFDR_E_USAGE, "tag %zu of SNS topic %s has no key", i + 1, name);
    query_init(&q, AWS_SVC_SNS, "CreateTopic", SNS_API_VERSION);
    query_add(&q, "Name", name);
    for (size_t i = 0; i < ntags; i++) {
        query_addn(&q, tags[i].key, "Tags.member.%zu.Key", i + 1);
        query_addn(&q, tags[i].value ? tags[i].value : "", "Tags.member.%zu.Value", i + 1);
    }
    return call_arn(t, region, &q, "TopicArn", arn, aerr, err);
}

cfdr_code sns_subscribe(struct transport *t, const char *region, const char *topic_arn,
                        const char *protocol, const char *endpoint, char arn[SNS_ARN_SIZE],
                        struct aws_error *aerr, cfdr_err *err)
{
    struct query_req q;

    arn[0] = '\0';
    aerr_clear(aerr);
    if (empty(topic_arn) || empty(protocol) || empty(endpoint))
        return err_set(err, CFDR_E_USAGE,
                       "SNS Subscribe needs a topic, a protocol and an endpoint");
    query_init(&q, AWS_SVC_SNS, "Subscribe", SNS_API_VERSION);
    query_add(&q, "TopicArn", topic_arn);
    query_add(&q, "Protocol", protocol);
    query_add(&q, "Endpoint", endpoint);
    query_add(&q, "ReturnSubscriptionArn", "true");
    return call_arn(t, region, &q, "SubscriptionArn", arn, aerr, err);
}

static cfdr_code parse_subscription(const struct xml_node *m, struct sns_subscription *s,
                                    cfdr_err *err)
{
    CFDR_TRY(query_text(m, "SubscriptionArn", s->arn, sizeof(s->arn), 1, err));
    CFDR_TRY(query_text(m, "TopicArn", s->topic_arn, sizeof(s->topic_arn), 0, err));
    CFDR_TRY(query_text(m, "Protocol", s->protocol, sizeof(s->protocol), 1, err));
    CFDR_TRY(query_text(m, "Endpoint", s->endpoint, sizeof(s->endpoint), 0, err));
    CFDR_TRY(query_text(m, "Owner", s->owner, sizeof(s->owner), 0, err));
    s->pending = strcmp(s->arn, SNS_PENDING_ARN) == 0;
    return CFDR_OK;
}

static cfdr_code parse_page(const struct xml_node *res, struct sns_subscription_list *out,
                            cfdr_err *err)
{
    const struct xml_node *list = xml_child(res, "Subscriptions"), *m;
    size_t k = xml_count(list, "member");
    char *p;

    if (!k)
        return CFDR_OK;
    if (k > SIZE_MAX / sizeof(*out->items) - out->n)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    p = realloc(out->items, (out->n + k) * sizeof(*out->items));
    if (!p)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    memset(p + out->n * sizeof(*out->items), 0, k * sizeof(*out->items));
    out->items = (struct sns_subscription *)p;
    for (m = xml_child(list, "member"); m; m = xml_next(m, "member")) {
        CFDR_TRY(parse_subscription(m, &out->items[out->n], err));
        out->n++;
    }
    return CFDR_OK;
}

cfdr_code sns_list_subscriptions(struct transport *t, const char *region, const char *topic_arn,
                                 struct sns_subscription_list *out, struct aws_error *aerr,
                                 cfdr_err *err)
{
    struct buf token;
    cfdr_code rc = CFDR_OK;

    memset(out, 0, sizeof(*out));
    aerr_clear(aerr);
    if (empty(topic_arn))
        return err_set(err, CFDR_E_USAGE, "SNS ListSubscriptionsByTopic needs a topic ARN");
    buf_init(&token, BUF_MAX_SMALL);
    for (int page = 1; !rc; page++) {
        struct query_req q;
        struct xml_doc *doc = NULL;
        const struct xml_node *res = NULL;
        if (page > SNS_LIST_MAX_PAGES) {
            rc = err_set(err, CFDR_E_TOOBIG, "SNS ListSubscriptionsByTopic: more than %d pages",
                         SNS_LIST_MAX_PAGES);
            break;
        }
        query_init(&q, AWS_SVC_SNS, "ListSubscriptionsByTopic", SNS_API_VERSION);
        query_add(&q, "TopicArn", topic_arn);
        if (buf_len(&token))
            query_add(&q, "NextToken", buf_str(&token));
        rc = query_call(t, region, &q, &doc, &res, aerr, err);
        query_free(&q);
        if (!rc && doc) {
            rc = parse_page(res, out, err);
            if (!rc)
                rc = query_next_token(res, &token, err);
            if (rc)
                err_wrap(err, "SNS ListSubscriptionsByTopic: unexpected answer");
        }
        xml_doc_free(doc);
        if (!doc || !buf_len(&token))
            break;
    }
    buf_free(&token);
    if (rc)
        sns_subscription_list_free(out);
    return rc;
}

cfdr_code sns_unsubscribe(struct transport *t, const char *region, const char *subscription_arn,
                          struct aws_error *aerr, cfdr_err *err)
{
    struct query_req q;

    aerr_clear(aerr);
    if (empty(subscription_arn) || strcmp(subscription_arn, SNS_PENDING_ARN) == 0)
        return err_set(err, CFDR_E_USAGE,
                       "SNS Unsubscribe needs a subscription ARN (a pending subscription has "
                       "none to give: deleting its topic removes it)");
    query_init(&q, AWS_SVC_SNS, "Unsubscribe", SNS_API_VERSION);
    query_add(&q, "SubscriptionArn", subscription_arn);
    return call_arn(t, region, &q, NULL, NULL, aerr, err);
}

cfdr_code sns_delete_topic(struct transport *t, const char *region, const char *topic_arn,
                           struct aws_error *aerr, cfdr_err *err)
{
    struct query_req q;

    aerr_clear(aerr);
    if (empty(topic_arn))
        return err_set(err, CFDR_E_USAGE, "SNS DeleteTopic needs a topic ARN");
    query_init(&q, AWS_SVC_SNS, "DeleteTopic", SNS_API_VERSION);
    query_add(&q, "TopicArn", topic_arn);
    return call_arn(t, region, &q, NULL, NULL, aerr, err);
}
