/*
 * Tests for aws/sns against the strict local AWS endpoint (one per test, stopped by PID in the
 * teardown): CreateTopic with tags, idempotent by name; Subscribe for email, https and http
 * with the subscription ARN returned while confirmation is pending; ListSubscriptionsByTopic
 * over NextToken pages, pending and confirmed; Unsubscribe; DeleteTopic (idempotent, its
 * subscriptions go with it); SNS's refusals (a bad email address, an endpoint that does not
 * match its protocol, a topic of another region or that does not exist); local checks that
 * send nothing; dry run. Every test ends with the request-log check of aws_endpoint_fixture.h.
 */
#include "aws_endpoint_fixture.h"

#include "aws/query.h"
#include "aws/sns.h"

#define REGION "us-east-1"
#define TOPIC "arn:aws:sns:us-east-1:123456789012:dr-demo-alarms"

static int setup(void **state)
{
    static const char *const args[] = {"--seed", "5", NULL};
    return awsep_setup(state, args);
}

static int teardown(void **state)
{
    return awsep_teardown(state);
}

static json_object *topic_state(struct awsep_fx *fx, const char *arn, json_object **doc)
{
    *doc = awsep_control(&fx->ep, "GET", "/state", NULL);
    return json_object_object_get(
        json_object_object_get(
            json_object_object_get(json_object_object_get(*doc, "services"), "sns"), "topics"),
        arn);
}

static void test_topic_and_subscriptions(void **state)
{
    struct awsep_fx *fx = *state;
    const struct sns_tag tags[] = {{"cfdr:project", "dr-demo"}};
    struct sns_subscription_list l = {0};
    char arn[SNS_ARN_SIZE], again[SNS_ARN_SIZE], s1[SNS_ARN_SIZE], s2[SNS_ARN_SIZE],
        s3[SNS_ARN_SIZE], s4[SNS_ARN_SIZE];
    json_object *doc, *topic, *tag;
    struct aws_error ae;
    cfdr_err e;

    CHECK_OK(sns_create_topic(fx->t, REGION, "dr-demo-alarms", tags, 1, arn, &ae, &e));
    assert_string_equal(arn, TOPIC);
    CHECK_OK(sns_create_topic(fx->t, REGION, "dr-demo-alarms", tags, 1, again, &ae, &e));
    assert_string_equal(again, arn);
    topic = topic_state(fx, arn, &doc);
    assert_non_null(topic);
    tag = json_object_array_get_idx(json_object_object_get(topic, "tags"), 0);
    assert_string_equal(awsep_str(tag, "Key"), "cfdr:project");
    assert_string_equal(awsep_str(tag, "Value"), "dr-demo");
    json_object_put(doc);

    CHECK_OK(sns_subscribe(fx->t, REGION, arn, "email", "oncall@example.com", s1, &ae, &e));
    CHECK_OK(sns_subscribe(fx->t, REGION, arn, "https", "https://hooks.example.com/cfdr?x=1&y=2",
                           s2, &ae, &e));
    CHECK_OK(sns_subscribe(fx->t, REGION, arn, "http", "http://127.0.0.1:9/hook", s3, &ae, &e));
    /* ReturnSubscriptionArn: an ARN, not "pending confirmation" */
    assert_true(strncmp(s1, TOPIC ":", strlen(TOPIC ":")) == 0);
    assert_string_not_equal(s1, s2);
    /* the same endpoint again is the same subscription */
    CHECK_OK(sns_subscribe(fx->t, REGION, arn, "email", "oncall@example.com", s4, &ae, &e));
    assert_string_equal(s4, s1);

    CHECK_OK(sns_list_subscriptions(fx->t, REGION, arn, &l, &ae, &e));
    assert_int_equal(l.n, 3);
    assert_string_equal(l.items[0].protocol, "email");
    assert_string_equal(l.items[0].endpoint, "oncall@example.com");
    assert_string_equal(l.items[1].endpoint, "https://hooks.example.com/cfdr?x=1&y=2");
    assert_string_equal(l.items[2].protocol, "http");
    for (size_t i = 0; i < l.n; i++) {
        assert_int_equal(l.items[i].pending, 1);
        assert_string_equal(l.items[i].arn, SNS_PENDING_ARN);
        assert_string_equal(l.items[i].topic_arn, TOPIC);
    }
    sns_subscription_list_free(&l);

    /* the owners confirm: the ARNs show */
    awsep_control_do(&fx->ep, "POST", "/sns/confirm", "{}");
    CHECK_OK(sns_list_subscriptions(fx->t, REGION, arn, &l, &ae, &e));
    assert_int_equal(l.n, 3);
    assert_int_equal(l.items[0].pending, 0);
    assert_string_equal(l.items[0].arn, s1);
    assert_string_equal(l.items[2].arn, s3);
    sns_subscription_list_free(&l);

    CHECK_OK(sns_unsubscribe(fx->t, REGION, s3, &ae, &e));
    CHECK_OK(sns_list_subscriptions(fx->t, REGION, arn, &l, &ae, &e));
    assert_int_equal(l.n, 2);
    sns_subscription_list_free(&l);

    /* deleting the topic takes its subscriptions; deleting it again is fine */
    CHECK_OK(sns_delete_topic(fx->t, REGION, arn, &ae, &e));
    CHECK_OK(sns_delete_topic(fx->t, REGION, arn, &ae, &e));
    topic = topic_state(fx, arn, &doc);
    assert_null(topic);
    json_object_put(doc);
    sns_subscription_list_free(NULL);
    awsep_check_log(fx, NULL, 0, 0);
}

static void test_pages(void **state)
{
    struct awsep_fx *fx = *state;
    struct sns_subscription_list l = {0};
    char arn[SNS_ARN_SIZE], sub[SNS_ARN_SIZE];
    struct aws_error ae;
    size_t before;
    cfdr_err e;

    CHECK_OK(sns_create_topic(fx->t, REGION, "dr-demo-alarms", NULL, 0, arn, &ae, &e));
    /* SNS lists 100 subscriptions a page */
    for (int i = 0; i < 130; i++) {
        char endpoint[64];
        snprintf(endpoint, sizeof(endpoint), "oncall-%03d@example.com", i);
        CHECK_OK(sns_subscribe(fx->t, REGION, arn, "email", endpoint, sub, &ae, &e));
    }
    before = awsep_count(&fx->ep, "ListSubscriptionsByTopic");
    CHECK_OK(sns_list_subscriptions(fx->t, REGION, arn, &l, &ae, &e));
    assert_int_equal(awsep_count(&fx->ep, "ListSubscriptionsByTopic") - before, 2);
    assert_int_equal(l.n, 130);
    assert_string_equal(l.items[0].endpoint, "oncall-000@example.com");
    assert_string_equal(l.items[129].endpoint, "oncall-129@example.com");
    sns_subscription_list_free(&l);
    awsep_check_log(fx, NULL, 0, 0);
}

static void test_refusals_and_dry_run(void **state)
{
    struct awsep_fx *fx = *state;
    static const struct awsep_expect expected[] = {
        {"Subscribe", SNS_ERR_INVALID_PARAMETER, 3, NULL},
        {"ListSubscriptionsByTopic", SNS_ERR_NOT_FOUND, 1, NULL},
        {"Unsubscribe", SNS_ERR_NOT_FOUND, 1, NULL},
        {"CreateTopic", SNS_ERR_INVALID_PARAMETER, 1, "validate"},
    };
    struct sns_subscription_list l = {0};
    char arn[SNS_ARN_SIZE], sub[SNS_ARN_SIZE];
    struct transport *dry;
    struct aws_error ae;
    size_t logged;
    cfdr_err e;

    CHECK_OK(sns_create_topic(fx->t, REGION, "dr-demo-alarms", NULL, 0, arn, &ae, &e));
    CHECK_AWS(sns_subscribe(fx->t, REGION, arn, "email", "not-an-address", sub, &ae, &e),
              SNS_ERR_INVALID_PARAMETER);
    assert_int_equal(ae.http_status, 400);
    CHECK_AWS(sns_subscribe(fx->t, REGION, arn, "https", "http://hooks.example.com/", sub, &ae, &e),
              SNS_ERR_INVALID_PARAMETER);
    /* the topic lives in us-east-1: another region cannot use it */
    CHECK_AWS(sns_subscribe(fx->t, "us-west-2", arn, "email", "a@example.com", sub, &ae, &e),
              SNS_ERR_INVALID_PARAMETER);
    CHECK_AWS(sns_list_subscriptions(fx->t, REGION, TOPIC "-gone", &l, &ae, &e), SNS_ERR_NOT_FOUND);
    CHECK_AWS(
        sns_unsubscribe(fx->t, REGION, TOPIC ":00000000-0000-4000-8000-000000000000", &ae, &e),
        SNS_ERR_NOT_FOUND);
    /* a name SNS's model refuses, sent on purpose (cfdr's own check is stricter: below) */
    {
        struct query_req q;
        struct xml_doc *doc = NULL;
        const struct xml_node *res;
        query_init(&q, AWS_SVC_SNS, "CreateTopic", SNS_API_VERSION);
        assert_int_equal(query_call(fx->t, REGION, &q, &doc, &res, &ae, &e), CFDR_E_AWS);
        assert_string_equal(ae.code, SNS_ERR_INVALID_PARAMETER);
        query_free(&q);
    }

    /* refused before anything is sent */
    logged = awsep_count(&fx->ep, NULL);
    assert_int_equal(sns_create_topic(fx->t, REGION, "dr demo", NULL, 0, arn, &ae, &e),
                     CFDR_E_USAGE);
    assert_non_null(strstr(e.msg, "not an SNS topic name"));
    assert_int_equal(sns_subscribe(fx->t, REGION, TOPIC, "email", "", sub, &ae, &e), CFDR_E_USAGE);
    assert_int_equal(sns_unsubscribe(fx->t, REGION, SNS_PENDING_ARN, &ae, &e), CFDR_E_USAGE);
    assert_int_equal(sns_delete_topic(fx->t, REGION, "", &ae, &e), CFDR_E_USAGE);
    assert_int_equal(awsep_count(&fx->ep, NULL), logged);

    dry = awsep_dry_transport(fx);
    CHECK_OK(sns_create_topic(dry, REGION, "dr-demo-alarms", NULL, 0, arn, &ae, &e));
    assert_string_equal(arn, "");
    assert_non_null(strstr(buf_str(&fx->dry), "Action=CreateTopic&Version=2010-03-31"));
    assert_non_null(strstr(buf_str(&fx->dry), "/us-east-1/sns/aws4_request"));
    CHECK_OK(sns_subscribe(dry, REGION, TOPIC, "email", "oncall@example.com", sub, &ae, &e));
    assert_non_null(strstr(buf_str(&fx->dry), "Endpoint=oncall%40example.com"));
    assert_non_null(strstr(buf_str(&fx->dry), "ReturnSubscriptionArn=true"));
    CHECK_OK(sns_list_subscriptions(dry, REGION, TOPIC, &l, &ae, &e));
    assert_int_equal(l.n, 0);
    CHECK_OK(sns_delete_topic(dry, REGION, TOPIC, &ae, &e));
    assert_int_equal(fx->dry_runs, 4);
    assert_null(strstr(buf_str(&fx->dry), AWSEP_SECRET));
    assert_int_equal(awsep_count(&fx->ep, NULL), logged);
    transport_free(dry);
    awsep_check_log(fx, expected, sizeof(expected) / sizeof(expected[0]), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_topic_and_subscriptions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_and_dry_run, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
