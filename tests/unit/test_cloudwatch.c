/*
 * Tests for aws/cloudwatch against the strict local AWS endpoint (one per test, stopped by PID
 * in the teardown): PutMetricAlarm read back field by field with DescribeAlarms and compared
 * with cw_alarm_differs; DescribeAlarms over several NextToken pages by name prefix; the
 * refusals CloudWatch gives (a period it does not take, an action in another region, deleting
 * or setting the state of an alarm that does not exist); SetAlarmState notifying the alarm's
 * SNS topic; local checks that send nothing; dry run. Every test ends by checking the
 * endpoint's request log: every request was signed, passed model validation, sent no unknown
 * member, and only the refusals the test provoked happened.
 */
#include "aws_endpoint_fixture.h"

#include "aws/cloudwatch.h"
#include "aws/sns.h"

#define REGION "us-west-2"
#define TOPIC "arn:aws:sns:us-west-2:123456789012:dr-demo-alarms"

static int setup(void **state)
{
    static const char *const args[] = {"--seed", "11", NULL};
    return awsep_setup(state, args);
}

static int teardown(void **state)
{
    return awsep_teardown(state);
}

/* The failover alarm of PRODUCT.md section 5, on heap memory (struct cw_alarm is large). */
static struct cw_alarm *failover_alarm(const char *name)
{
    struct cw_alarm *a = calloc(1, sizeof(*a));
    assert_non_null(a);
    snprintf(a->name, sizeof(a->name), "%s", name);
    snprintf(a->description, sizeof(a->description), "the secondary is serving traffic");
    snprintf(a->namespace_, sizeof(a->namespace_), "AWS/AppRunner");
    snprintf(a->metric, sizeof(a->metric), "Requests");
    snprintf(a->dimensions[0].name, sizeof(a->dimensions[0].name), "ServiceName");
    snprintf(a->dimensions[0].value, sizeof(a->dimensions[0].value), "dr-demo-west");
    snprintf(a->dimensions[1].name, sizeof(a->dimensions[1].name), "ServiceID");
    snprintf(a->dimensions[1].value, sizeof(a->dimensions[1].value),
             "0123456789abcdef0123456789abcdef");
    a->ndimensions = 2;
    snprintf(a->statistic, sizeof(a->statistic), "Sum");
    snprintf(a->comparison, sizeof(a->comparison), "GreaterThanOrEqualToThreshold");
    a->threshold = 1;
    a->period_s = 60;
    a->evaluation_periods = 1;
    a->datapoints_to_alarm = 1;
    snprintf(a->treat_missing, sizeof(a->treat_missing), "notBreaching");
    a->actions_enabled = 1;
    snprintf(a->alarm_actions[0], CW_ARN_SIZE, TOPIC);
    a->nalarm_actions = 1;
    snprintf(a->ok_actions[0], CW_ARN_SIZE, TOPIC);
    a->nok_actions = 1;
    return a;
}

static void make_topic(struct awsep_fx *fx)
{
    char arn[SNS_ARN_SIZE];
    struct aws_error ae;
    cfdr_err e;
    CHECK_OK(sns_create_topic(fx->t, REGION, "dr-demo-alarms", NULL, 0, arn, &ae, &e));
    assert_string_equal(arn, TOPIC);
}

static void test_put_describe_and_compare(void **state)
{
    struct awsep_fx *fx = *state;
    struct cw_alarm *a = failover_alarm("dr-demo-failover-active"), *b;
    struct cw_alarm_list l = {0};
    const char *names[] = {"dr-demo-failover-active"};
    const struct cw_alarm *got;
    struct aws_error ae;
    json_object *p;
    char what[64];
    cfdr_err e;

    make_topic(fx);
    CHECK_OK(cw_put_metric_alarm(fx->t, REGION, a, &ae, &e));
    /* what the endpoint parsed is what cfdr meant */
    p = awsep_last_params(&fx->ep, "PutMetricAlarm");
    assert_string_equal(awsep_str(p, "Namespace"), "AWS/AppRunner");
    assert_string_equal(awsep_str(p, "TreatMissingData"), "notBreaching");
    assert_int_equal(json_object_array_length(json_object_object_get(p, "Dimensions")), 2);
    assert_true(json_object_get_double(json_object_object_get(p, "Threshold")) == 1.0);
    json_object_put(p);

    CHECK_OK(cw_describe_alarms(fx->t, REGION, names, 1, NULL, 0, &l, &ae, &e));
    assert_int_equal(l.n, 1);
    got = cw_alarm_list_find(&l, "dr-demo-failover-active");
    assert_non_null(got);
    assert_null(cw_alarm_list_find(&l, "other"));
    assert_string_equal(got->state, "INSUFFICIENT_DATA");
    assert_string_equal(got->arn,
                        "arn:aws:cloudwatch:us-west-2:123456789012:alarm:dr-demo-failover-active");
    assert_string_equal(got->dimensions[1].name, "ServiceID");
    assert_string_equal(got->alarm_actions[0], TOPIC);
    assert_string_equal(got->ok_actions[0], TOPIC);
    assert_true(got->state_updated[0] != '\0');
    assert_int_equal(cw_alarm_differs(a, got, what, sizeof(what)), 0);
    assert_string_equal(what, "");

    /* each change of the definition is seen; the state is not part of it */
    b = calloc(1, sizeof(*b));
    assert_non_null(b);
    *b = *got;
    snprintf(b->state, sizeof(b->state), "ALARM");
    assert_int_equal(cw_alarm_differs(a, b, what, sizeof(what)), 0);
    b->threshold = 2;
    assert_int_not_equal(cw_alarm_differs(a, b, what, sizeof(what)), 0);
    assert_string_equal(what, "Threshold");
    *b = *got;
    snprintf(b->dimensions[0].value, sizeof(b->dimensions[0].value), "dr-demo-east");
    assert_int_not_equal(cw_alarm_differs(a, b, what, sizeof(what)), 0);
    assert_string_equal(what, "Dimensions");
    *b = *got;
    b->nok_actions = 0;
    assert_int_not_equal(cw_alarm_differs(a, b, what, sizeof(what)), 0);
    assert_string_equal(what, "OKActions");
    *b = *got;
    b->treat_missing[0] = '\0';
    assert_int_not_equal(cw_alarm_differs(a, b, what, sizeof(what)), 0);
    assert_string_equal(what, "TreatMissingData");
    /* unset DatapointsToAlarm means EvaluationPeriods */
    *b = *got;
    b->datapoints_to_alarm = 0;
    assert_int_equal(cw_alarm_differs(a, b, NULL, 0), 0);

    /* PutMetricAlarm again replaces the definition and keeps the state */
    a->threshold = 5;
    CHECK_OK(cw_put_metric_alarm(fx->t, REGION, a, &ae, &e));
    cw_alarm_list_free(&l);
    CHECK_OK(cw_describe_alarms(fx->t, REGION, names, 1, NULL, 0, &l, &ae, &e));
    assert_int_equal(l.n, 1);
    assert_true(l.items[0].threshold == 5.0);
    assert_int_equal(cw_alarm_differs(a, &l.items[0], NULL, 0), 0);

    cw_alarm_list_free(&l);
    cw_alarm_list_free(&l); /* twice is fine */
    cw_alarm_list_free(NULL);
    free(a);
    free(b);
    awsep_check_log(fx, NULL, 0, 0);
}

static void test_describe_pages(void **state)
{
    struct awsep_fx *fx = *state;
    struct cw_alarm *a = failover_alarm("x");
    struct cw_alarm_list l = {0};
    struct aws_error ae;
    size_t before;
    cfdr_err e;

    make_topic(fx);
    for (int i = 0; i < 7; i++) {
        snprintf(a->name, sizeof(a->name), "dr-demo-alarm-%d", i);
        CHECK_OK(cw_put_metric_alarm(fx->t, REGION, a, &ae, &e));
    }
    snprintf(a->name, sizeof(a->name), "another-project-alarm");
    CHECK_OK(cw_put_metric_alarm(fx->t, REGION, a, &ae, &e));
    before = awsep_count(&fx->ep, "DescribeAlarms");
    CHECK_OK(cw_describe_alarms(fx->t, REGION, NULL, 0, "dr-demo-", 3, &l, &ae, &e));
    assert_int_equal(awsep_count(&fx->ep, "DescribeAlarms") - before, 3);
    assert_int_equal(l.n, 7);
    for (size_t i = 0; i < l.n; i++) {
        char name[48];
        snprintf(name, sizeof(name), "dr-demo-alarm-%zu", i);
        assert_string_equal(l.items[i].name, name);
    }
    cw_alarm_list_free(&l);
    /* every alarm of the region, default page size; another region has none */
    CHECK_OK(cw_describe_alarms(fx->t, REGION, NULL, 0, NULL, 0, &l, &ae, &e));
    assert_int_equal(l.n, 8);
    cw_alarm_list_free(&l);
    CHECK_OK(cw_describe_alarms(fx->t, "eu-west-1", NULL, 0, NULL, 0, &l, &ae, &e));
    assert_int_equal(l.n, 0);
    free(a);
    awsep_check_log(fx, NULL, 0, 0);
}

static void test_refusals(void **state)
{
    struct awsep_fx *fx = *state;
    static const struct awsep_expect expected[] = {
        {"PutMetricAlarm", CW_ERR_VALIDATION, 2, NULL},
        {"DeleteAlarms", CW_ERR_RESOURCE_NOT_FOUND, 1, NULL},
        {"SetAlarmState", CW_ERR_RESOURCE_NOT_FOUND, 1, NULL},
    };
    struct cw_alarm *a = failover_alarm("dr-demo-edge-5xx");
    const char *missing[] = {"dr-demo-edge-5xx", "no-such-alarm"};
    struct cw_alarm_list l = {0};
    struct aws_error ae;
    size_t logged;
    cfdr_err e;

    make_topic(fx);
    /* standard-resolution metrics: CloudWatch takes 10, 30 or multiples of 60 */
    a->period_s = 45;
    CHECK_AWS(cw_put_metric_alarm(fx->t, REGION, a, &ae, &e), CW_ERR_VALIDATION);
    assert_int_equal(ae.http_status, 400);
    assert_non_null(strstr(e.msg, "PutMetricAlarm"));
    /* an alarm only notifies topics of its own region */
    a->period_s = 60;
    CHECK_AWS(cw_put_metric_alarm(fx->t, "us-east-1", a, &ae, &e), CW_ERR_VALIDATION);
    assert_non_null(strstr(ae.message, "us-west-2"));
    CHECK_OK(cw_put_metric_alarm(fx->t, REGION, a, &ae, &e));
    /* deleting a set with a missing name deletes nothing */
    CHECK_AWS(cw_delete_alarms(fx->t, REGION, missing, 2, &ae, &e), CW_ERR_RESOURCE_NOT_FOUND);
    CHECK_OK(cw_describe_alarms(fx->t, REGION, missing, 1, NULL, 0, &l, &ae, &e));
    assert_int_equal(l.n, 1);
    cw_alarm_list_free(&l);
    CHECK_AWS(cw_set_alarm_state(fx->t, REGION, "no-such-alarm", "ALARM", "test", NULL, &ae, &e),
              CW_ERR_RESOURCE_NOT_FOUND);
    CHECK_OK(cw_delete_alarms(fx->t, REGION, missing, 1, &ae, &e));
    CHECK_OK(cw_describe_alarms(fx->t, REGION, missing, 1, NULL, 0, &l, &ae, &e));
    assert_int_equal(l.n, 0);

    /* refused before anything is sent */
    logged = awsep_count(&fx->ep, NULL);
    a->name[0] = '\0';
    assert_int_equal(cw_put_metric_alarm(fx->t, REGION, a, &ae, &e), CFDR_E_USAGE);
    snprintf(a->name, sizeof(a->name), "x");
    a->evaluation_periods = 0;
    assert_int_equal(cw_put_metric_alarm(fx->t, REGION, a, &ae, &e), CFDR_E_USAGE);
    a->evaluation_periods = 1;
    a->ndimensions = CW_MAX_DIMENSIONS + 1;
    assert_int_equal(cw_put_metric_alarm(fx->t, REGION, a, &ae, &e), CFDR_E_USAGE);
    assert_int_equal(cw_delete_alarms(fx->t, REGION, missing, 0, &ae, &e), CFDR_E_USAGE);
    assert_int_equal(cw_set_alarm_state(fx->t, REGION, "x", "RED", "r", NULL, &ae, &e),
                     CFDR_E_USAGE);
    assert_int_equal(cw_set_alarm_state(fx->t, REGION, "x", "OK", "", NULL, &ae, &e), CFDR_E_USAGE);
    assert_int_equal(cw_describe_alarms(fx->t, REGION, NULL, 0, NULL, 101, &l, &ae, &e),
                     CFDR_E_USAGE);
    /* an endpoint override does not make a bad region acceptable */
    assert_int_not_equal(cw_delete_alarms(fx->t, "mars-1", missing, 1, &ae, &e), CFDR_OK);
    assert_int_equal(awsep_count(&fx->ep, NULL), logged);
    free(a);
    awsep_check_log(fx, expected, sizeof(expected) / sizeof(expected[0]), 0);
}

static void test_set_state_notifies_the_topic(void **state)
{
    struct awsep_fx *fx = *state;
    struct cw_alarm *a = failover_alarm("dr-demo-failover-active");
    const char *names[] = {"dr-demo-failover-active"};
    struct cw_alarm_list l = {0};
    json_object *st, *notes;
    struct aws_error ae;
    cfdr_err e;

    make_topic(fx);
    CHECK_OK(cw_put_metric_alarm(fx->t, REGION, a, &ae, &e));
    CHECK_OK(cw_set_alarm_state(fx->t, REGION, a->name, "ALARM",
                                "cfdr alarms test: a test notification", "{\"cfdr\": \"test\"}",
                                &ae, &e));
    CHECK_OK(cw_describe_alarms(fx->t, REGION, names, 1, NULL, 0, &l, &ae, &e));
    assert_string_equal(l.items[0].state, "ALARM");
    assert_string_equal(l.items[0].state_reason, "cfdr alarms test: a test notification");
    cw_alarm_list_free(&l);
    /* ALARM then OK: the alarm actions, then the OK actions, each notified the topic */
    CHECK_OK(cw_set_alarm_state(fx->t, REGION, a->name, "OK", "back", NULL, &ae, &e));
    st = awsep_control(&fx->ep, "GET", "/state", NULL);
    notes = json_object_object_get(
        json_object_object_get(json_object_object_get(st, "services"), "sns"), "notifications");
    assert_int_equal(json_object_array_length(notes), 2);
    assert_string_equal(awsep_str(json_object_array_get_idx(notes, 0), "topic"), TOPIC);
    assert_non_null(strstr(awsep_str(json_object_array_get_idx(notes, 0), "message"),
                           "\"NewStateValue\": \"ALARM\""));
    assert_non_null(strstr(awsep_str(json_object_array_get_idx(notes, 1), "message"),
                           "\"NewStateValue\": \"OK\""));
    json_object_put(st);
    free(a);
    awsep_check_log(fx, NULL, 0, 0);
}

/* Tags: PutMetricAlarm applies them when it creates the alarm, ignores them on an update;
 * ListTagsForResource reads them back; a missing alarm is ResourceNotFoundException. */
static void test_tags(void **state)
{
    struct awsep_fx *fx = *state;
    struct cw_alarm *a = failover_alarm("dr-demo-failover-active");
    const char *names[1] = {a->name};
    struct cw_alarm_list l = {0};
    struct cw_tag tags[CW_MAX_TAGS];
    char arn[CW_ARN_SIZE];
    struct aws_error ae;
    size_t n = 99;
    cfdr_err e;

    make_topic(fx);
    snprintf(a->tags[0].key, sizeof(a->tags[0].key), "cfdr:project");
    snprintf(a->tags[0].value, sizeof(a->tags[0].value), "dr-demo");
    snprintf(a->tags[1].key, sizeof(a->tags[1].key), "team");
    a->ntags = 2; /* an empty value is allowed */
    CHECK_OK(cw_put_metric_alarm(fx->t, REGION, a, &ae, &e));
    CHECK_OK(cw_describe_alarms(fx->t, REGION, names, 1, NULL, 0, &l, &ae, &e));
    assert_int_equal(l.n, 1);
    snprintf(arn, sizeof(arn), "%s", l.items[0].arn);
    cw_alarm_list_free(&l);
    CHECK_OK(cw_list_tags(fx->t, REGION, arn, tags, CW_MAX_TAGS, &n, &ae, &e));
    assert_int_equal(n, 2);
    assert_string_equal(cw_tag_value(tags, n, "cfdr:project"), "dr-demo");
    assert_string_equal(cw_tag_value(tags, n, "team"), "");
    assert_null(cw_tag_value(tags, n, "other"));
    /* an update does not change the tags */
    snprintf(a->tags[0].value, sizeof(a->tags[0].value), "someone-else");
    a->threshold = 2;
    CHECK_OK(cw_put_metric_alarm(fx->t, REGION, a, &ae, &e));
    CHECK_OK(cw_list_tags(fx->t, REGION, arn, tags, CW_MAX_TAGS, &n, &ae, &e));
    assert_string_equal(cw_tag_value(tags, n, "cfdr:project"), "dr-demo");
    /* more tags than the caller has room for is an error, not a cut */
    assert_int_equal(cw_list_tags(fx->t, REGION, arn, tags, 1, &n, &ae, &e), CFDR_E_PARSE);
    assert_int_equal(n, 0);
    /* an alarm without tags */
    CHECK_OK(cw_delete_alarms(fx->t, REGION, names, 1, &ae, &e));
    a->ntags = 0;
    CHECK_OK(cw_put_metric_alarm(fx->t, REGION, a, &ae, &e));
    CHECK_OK(cw_list_tags(fx->t, REGION, arn, tags, CW_MAX_TAGS, &n, &ae, &e));
    assert_int_equal(n, 0);
    CHECK_OK(cw_delete_alarms(fx->t, REGION, names, 1, &ae, &e));
    CHECK_AWS(cw_list_tags(fx->t, REGION, arn, tags, CW_MAX_TAGS, &n, &ae, &e),
              CW_ERR_RESOURCE_NOT_FOUND_EXCEPTION);
    free(a);
    {
        static const struct awsep_expect expected[] = {
            {"ListTagsForResource", "ResourceNotFoundException", 1, NULL},
        };
        awsep_check_log(fx, expected, 1, 0);
    }
}

static void test_dry_run(void **state)
{
    struct awsep_fx *fx = *state;
    struct cw_alarm *a = failover_alarm("dr-demo-failover-active");
    const char *names[] = {"dr-demo-failover-active"};
    struct cw_alarm_list l = {0};
    struct transport *dry = awsep_dry_transport(fx);
    struct aws_error ae;
    size_t logged = awsep_count(&fx->ep, NULL);
    cfdr_err e;

    CHECK_OK(cw_put_metric_alarm(dry, REGION, a, &ae, &e));
    assert_int_equal(fx->dry_runs, 1);
    assert_non_null(strstr(buf_str(&fx->dry), "POST http://127.0.0.1"));
    assert_non_null(strstr(buf_str(&fx->dry), "Action=PutMetricAlarm&Version=2010-08-01"));
    assert_non_null(strstr(buf_str(&fx->dry), "Dimensions.member.2.Name=ServiceID"));
    assert_non_null(strstr(buf_str(&fx->dry), "AlarmActions.member.1=arn%3Aaws%3Asns%3Aus-west-2"));
    assert_non_null(strstr(buf_str(&fx->dry), "/us-west-2/monitoring/aws4_request"));
    assert_null(strstr(buf_str(&fx->dry), AWSEP_SECRET));
    CHECK_OK(cw_describe_alarms(dry, REGION, names, 1, NULL, 0, &l, &ae, &e));
    assert_int_equal(l.n, 0);
    CHECK_OK(cw_set_alarm_state(dry, REGION, a->name, "ALARM", "r", NULL, &ae, &e));
    CHECK_OK(cw_delete_alarms(dry, REGION, names, 1, &ae, &e));
    assert_int_equal(fx->dry_runs, 4);
    assert_int_equal(awsep_count(&fx->ep, NULL), logged);
    transport_free(dry);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_describe_and_compare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_state_notifies_the_topic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
