/*
 * Tests for aws/apprunner against the strict local AWS endpoint (tests/servers/aws_endpoint.py,
 * one per test, stopped by PID in the teardown), seeded with the services cfdr.json names
 * (dr-demo-east in us-east-1, dr-demo-west in us-west-2): ListServices over several pages and
 * finding a service by name per region; the asynchronous pause and resume (OPERATION_IN_PROGRESS,
 * then PAUSED / RUNNING after some DescribeService polls) with their InvalidStateException
 * refusals; create from the public sample image with tags, delete, and what the operations list
 * says; errors, dry run, and a throttling storm the transport's retries ride out. Every test ends
 * by checking the endpoint's request log: each request cfdr sent passed signature and model
 * validation, carried no member the model does not know, and only the refusals the test provoked
 * happened.
 */
#include "aws_endpoint_fixture.h"

#include "aws/apprunner.h"

#define POLLS_MAX 20

static int setup(void **state)
{
    static const char *const args[] = {"--seed-service",
                                       "us-east-1:dr-demo-east",
                                       "--seed-service",
                                       "us-west-2:dr-demo-west",
                                       "--service-polls",
                                       "3",
                                       NULL};
    return awsep_setup(state, args);
}

static int teardown(void **state)
{
    return awsep_teardown(state);
}

/* Polls DescribeService until the status is `want`; returns how many polls said
 * OPERATION_IN_PROGRESS before. */
static int wait_status(struct awsep_fx *fx, const char *region, const char *service_arn,
                       const char *want, struct apprunner_service *s)
{
    struct aws_error ae;
    char arn[APPRUNNER_ARN_SIZE];
    cfdr_err e;
    int in_progress = 0;

    snprintf(arn, sizeof(arn), "%s", service_arn); /* service_arn may point into *s */
    for (int i = 0; i < POLLS_MAX; i++) {
        CHECK_OK(apprunner_describe_service(fx->t, region, arn, s, &ae, &e));
        assert_string_equal(s->arn, arn);
        assert_string_equal(s->operation_id, "");
        if (strcmp(s->status, want) == 0)
            return in_progress;
        assert_string_equal(s->status, "OPERATION_IN_PROGRESS");
        in_progress++;
    }
    fail_msg("%s did not become %s after %d polls", arn, want, POLLS_MAX);
    return in_progress;
}

static void assert_service_shape(const struct apprunner_service *s, const char *name,
                                 const char *region)
{
    char prefix[128], host_tail[64];

    assert_string_equal(s->name, name);
    assert_int_equal(strlen(s->id), 32);
    snprintf(prefix, sizeof(prefix), "arn:aws:apprunner:%s:123456789012:service/%s/%s", region,
             name, s->id);
    assert_string_equal(s->arn, prefix);
    snprintf(host_tail, sizeof(host_tail), ".%s.awsapprunner.com", region);
    assert_true(strlen(s->url) > strlen(host_tail));
    assert_string_equal(s->url + strlen(s->url) - strlen(host_tail), host_tail);
    assert_true(s->created_at > 1600000000.0);
    assert_true(s->updated_at >= s->created_at);
}

static void test_list_and_find(void **state)
{
    struct awsep_fx *fx = *state;
    struct apprunner_service_list l = {0};
    struct apprunner_service east, west, none;
    struct aws_error ae;
    size_t before;
    cfdr_err e;

    /* four more services in us-east-1: five there, one in us-west-2 */
    for (int i = 1; i <= 4; i++) {
        char body[128];
        snprintf(body, sizeof(body), "{\"region\": \"us-east-1\", \"name\": \"extra-svc-%d\"}", i);
        awsep_control_do(&fx->ep, "POST", "/apprunner/services", body);
    }
    before = awsep_count(&fx->ep, "ListServices");
    CHECK_OK(apprunner_list_services(fx->t, "us-east-1", 2, &l, &ae, &e));
    assert_int_equal(awsep_count(&fx->ep, "ListServices") - before, 3);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.items[0].name, "dr-demo-east");
    for (size_t i = 0; i < l.n; i++) {
        char name[32];
        if (i)
            snprintf(name, sizeof(name), "extra-svc-%zu", i);
        assert_service_shape(&l.items[i], i ? name : "dr-demo-east", "us-east-1");
        assert_string_equal(l.items[i].status, "RUNNING");
        assert_string_equal(l.items[i].operation_id, "");
    }
    apprunner_service_list_free(&l);
    assert_null(l.items);
    CHECK_OK(apprunner_list_services(fx->t, "us-west-2", 0, &l, &ae, &e));
    assert_int_equal(l.n, 1);
    apprunner_service_list_free(&l);
    CHECK_OK(apprunner_list_services(fx->t, "eu-west-1", 0, &l, &ae, &e));
    assert_int_equal(l.n, 0);
    apprunner_service_list_free(&l);

    /* by name, per region */
    CHECK_OK(apprunner_find_service(fx->t, "us-east-1", "dr-demo-east", &east, &ae, &e));
    assert_service_shape(&east, "dr-demo-east", "us-east-1");
    assert_string_equal(east.status, "RUNNING");
    CHECK_OK(apprunner_find_service(fx->t, "us-west-2", "dr-demo-west", &west, &ae, &e));
    assert_service_shape(&west, "dr-demo-west", "us-west-2");
    assert_string_not_equal(west.url, east.url);
    assert_int_equal(apprunner_find_service(fx->t, "us-east-1", "dr-demo-west", &none, &ae, &e),
                     CFDR_E_NOTFOUND);
    assert_non_null(strstr(e.msg, "'dr-demo-west' in us-east-1"));
    assert_string_equal(none.arn, "");
    assert_string_equal(ae.code, "");

    /* a description says the same as the summary */
    CHECK_OK(apprunner_describe_service(fx->t, "us-west-2", west.arn, &none, &ae, &e));
    assert_string_equal(none.arn, west.arn);
    assert_string_equal(none.url, west.url);
    assert_string_equal(none.id, west.id);
    assert_string_equal(none.status, "RUNNING");

    /* page sizes App Runner does not take are refused before sending */
    before = awsep_count(&fx->ep, NULL);
    assert_int_equal(apprunner_list_services(fx->t, "us-east-1", 21, &l, &ae, &e), CFDR_E_USAGE);
    assert_int_equal(apprunner_list_services(fx->t, "us-east-1", -1, &l, &ae, &e), CFDR_E_USAGE);
    assert_int_equal(awsep_count(&fx->ep, NULL), before);
    awsep_check_log(fx, NULL, 0, 0);
}

/* PauseService and ResumeService as cfdr drill and cfdr verify-failback drive them. */
static void pause_resume(struct awsep_fx *fx, int check_errors)
{
    struct apprunner_service svc, s;
    struct apprunner_operation_list ops = {0};
    struct aws_error ae;
    char pause_op[APPRUNNER_ID_SIZE], resume_op[APPRUNNER_ID_SIZE];
    cfdr_err e;

    CHECK_OK(apprunner_find_service(fx->t, "us-east-1", "dr-demo-east", &svc, &ae, &e));

    CHECK_OK(apprunner_pause_service(fx->t, "us-east-1", svc.arn, &s, &ae, &e));
    assert_string_equal(s.status, "OPERATION_IN_PROGRESS");
    assert_string_equal(s.arn, svc.arn);
    assert_int_equal(strlen(s.operation_id), 36);
    snprintf(pause_op, sizeof(pause_op), "%s", s.operation_id);
    if (check_errors) /* a second pause while the first runs */
        CHECK_AWS(apprunner_pause_service(fx->t, "us-east-1", svc.arn, &s, &ae, &e),
                  APPRUNNER_ERR_INVALID_STATE);
    assert_true(wait_status(fx, "us-east-1", svc.arn, "PAUSED", &s) >= 1);
    if (check_errors) {
        CHECK_AWS(apprunner_pause_service(fx->t, "us-east-1", svc.arn, &s, &ae, &e),
                  APPRUNNER_ERR_INVALID_STATE);
        assert_int_equal(ae.http_status, 400);
        assert_string_equal(s.arn, "");
    }

    CHECK_OK(apprunner_resume_service(fx->t, "us-east-1", svc.arn, &s, &ae, &e));
    assert_string_equal(s.status, "OPERATION_IN_PROGRESS");
    snprintf(resume_op, sizeof(resume_op), "%s", s.operation_id);
    assert_string_not_equal(resume_op, pause_op);
    assert_true(wait_status(fx, "us-east-1", svc.arn, "RUNNING", &s) >= 1);
    if (check_errors)
        CHECK_AWS(apprunner_resume_service(fx->t, "us-east-1", svc.arn, &s, &ae, &e),
                  APPRUNNER_ERR_INVALID_STATE);

    /* newest first */
    CHECK_OK(apprunner_list_operations(fx->t, "us-east-1", svc.arn, &ops, &ae, &e));
    assert_int_equal(ops.n, 2);
    assert_string_equal(ops.items[0].id, resume_op);
    assert_string_equal(ops.items[0].type, "RESUME_SERVICE");
    assert_string_equal(ops.items[1].id, pause_op);
    assert_string_equal(ops.items[1].type, "PAUSE_SERVICE");
    for (size_t i = 0; i < ops.n; i++) {
        assert_string_equal(ops.items[i].status, "SUCCEEDED");
        assert_string_equal(ops.items[i].target_arn, svc.arn);
        assert_true(ops.items[i].started_at > 1600000000.0);
        assert_true(ops.items[i].ended_at >= ops.items[i].started_at);
        assert_true(ops.items[i].updated_at >= ops.items[i].started_at);
    }
    assert_true(ops.items[0].started_at >= ops.items[1].ended_at);
    apprunner_operation_list_free(&ops);
    assert_null(ops.items);
}

static void test_pause_resume(void **state)
{
    struct awsep_fx *fx = *state;
    static const struct awsep_expect expected[] = {
        {"PauseService", APPRUNNER_ERR_INVALID_STATE, 2, NULL},
        {"ResumeService", APPRUNNER_ERR_INVALID_STATE, 1, NULL},
    };
    pause_resume(fx, 1);
    assert_int_equal(fx->sleeps, 0);
    awsep_check_log(fx, expected, 2, 0);
}

/* cfdr create --with-services, then cfdr destroy --delete-services. */
static void create_delete(struct awsep_fx *fx, const char *name, int check_errors)
{
    static const struct apprunner_tag tags[] = {{"cfdr:project", "dr-demo"}, {"owner", "sre"}};
    struct apprunner_create_spec spec = {name, NULL, NULL, tags, 2};
    struct apprunner_service s, created, found;
    struct apprunner_operation_list ops = {0};
    struct aws_error ae;
    json_object *params, *src, *repo, *v;
    char create_op[APPRUNNER_ID_SIZE];
    cfdr_err e;

    CHECK_OK(apprunner_create_service(fx->t, "us-west-2", &spec, &created, &ae, &e));
    assert_service_shape(&created, name, "us-west-2");
    assert_string_equal(created.status, "OPERATION_IN_PROGRESS");
    snprintf(create_op, sizeof(create_op), "%s", created.operation_id);
    assert_int_equal(strlen(create_op), 36);

    /* what the endpoint parsed */
    params = awsep_last_params(&fx->ep, "CreateService");
    assert_string_equal(awsep_str(params, "ServiceName"), name);
    assert_true(json_object_object_get_ex(params, "SourceConfiguration", &src));
    assert_true(json_object_object_get_ex(src, "ImageRepository", &repo));
    assert_string_equal(awsep_str(repo, "ImageIdentifier"), APPRUNNER_SAMPLE_IMAGE);
    assert_string_equal(awsep_str(repo, "ImageRepositoryType"), "ECR_PUBLIC");
    assert_true(json_object_object_get_ex(repo, "ImageConfiguration", &v));
    assert_string_equal(awsep_str(v, "Port"), "8000");
    assert_true(json_object_object_get_ex(src, "AutoDeploymentsEnabled", &v));
    assert_true(json_object_is_type(v, json_type_boolean));
    assert_false(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(params, "Tags", &v));
    assert_int_equal(json_object_array_length(v), 2);
    assert_string_equal(awsep_str(json_object_array_get_idx(v, 0), "Key"), "cfdr:project");
    assert_string_equal(awsep_str(json_object_array_get_idx(v, 0), "Value"), "dr-demo");
    assert_string_equal(awsep_str(json_object_array_get_idx(v, 1), "Key"), "owner");
    json_object_put(params);

    if (check_errors) {
        /* the name is taken; and no delete while the create runs */
        CHECK_AWS(apprunner_create_service(fx->t, "us-west-2", &spec, &s, &ae, &e),
                  APPRUNNER_ERR_INVALID_REQUEST);
        CHECK_AWS(apprunner_delete_service(fx->t, "us-west-2", created.arn, &s, &ae, &e),
                  APPRUNNER_ERR_INVALID_STATE);
    }
    assert_true(wait_status(fx, "us-west-2", created.arn, "RUNNING", &s) >= 1);
    assert_string_equal(s.url, created.url);
    CHECK_OK(apprunner_find_service(fx->t, "us-west-2", name, &found, &ae, &e));
    assert_string_equal(found.arn, created.arn);

    CHECK_OK(apprunner_delete_service(fx->t, "us-west-2", created.arn, &s, &ae, &e));
    assert_string_equal(s.status, "OPERATION_IN_PROGRESS");
    assert_int_equal(strlen(s.operation_id), 36);
    assert_string_not_equal(s.operation_id, create_op);
    assert_true(wait_status(fx, "us-west-2", created.arn, "DELETED", &s) >= 1);
    /* described once as DELETED, then gone */
    if (check_errors) {
        CHECK_AWS(apprunner_describe_service(fx->t, "us-west-2", created.arn, &s, &ae, &e),
                  APPRUNNER_ERR_RESOURCE_NOT_FOUND);
        assert_int_equal(ae.http_status, 400);
        CHECK_AWS(apprunner_list_operations(fx->t, "us-west-2", created.arn, &ops, &ae, &e),
                  APPRUNNER_ERR_RESOURCE_NOT_FOUND);
        assert_null(ops.items);
    }
    assert_int_equal(apprunner_find_service(fx->t, "us-west-2", name, &found, &ae, &e),
                     CFDR_E_NOTFOUND);
}

static void test_create_delete(void **state)
{
    struct awsep_fx *fx = *state;
    static const struct awsep_expect expected[] = {
        {"CreateService", APPRUNNER_ERR_INVALID_REQUEST, 1, NULL},
        {"DeleteService", APPRUNNER_ERR_INVALID_STATE, 1, NULL},
        {"DescribeService", APPRUNNER_ERR_RESOURCE_NOT_FOUND, 1, NULL},
        {"ListOperations", APPRUNNER_ERR_RESOURCE_NOT_FOUND, 1, NULL},
    };
    struct apprunner_service created, s;
    struct apprunner_operation_list ops = {0};
    struct aws_error ae;
    cfdr_err e;

    create_delete(fx, "cfdr-created-west", 1);

    /* the operations of a service that still exists: create, then delete once it ran */
    {
        struct apprunner_create_spec spec = {"cfdr-ops-east", NULL, "8080", NULL, 0};
        CHECK_OK(apprunner_create_service(fx->t, "us-east-1", &spec, &created, &ae, &e));
        wait_status(fx, "us-east-1", created.arn, "RUNNING", &s);
        CHECK_OK(apprunner_delete_service(fx->t, "us-east-1", created.arn, &s, &ae, &e));
        CHECK_OK(apprunner_list_operations(fx->t, "us-east-1", created.arn, &ops, &ae, &e));
        assert_int_equal(ops.n, 2);
        assert_string_equal(ops.items[0].id, s.operation_id);
        assert_string_equal(ops.items[0].type, "DELETE_SERVICE");
        assert_string_equal(ops.items[0].status, "IN_PROGRESS");
        assert_true(ops.items[0].ended_at == 0);
        assert_string_equal(ops.items[1].id, created.operation_id);
        assert_string_equal(ops.items[1].type, "CREATE_SERVICE");
        assert_string_equal(ops.items[1].status, "SUCCEEDED");
        apprunner_operation_list_free(&ops);
        wait_status(fx, "us-east-1", created.arn, "DELETED", &s);
    }
    awsep_check_log(fx, expected, sizeof(expected) / sizeof(expected[0]), 0);
}

static void test_errors_and_dry_run(void **state)
{
    struct awsep_fx *fx = *state;
    static const struct awsep_expect expected[] = {
        {"DescribeService", APPRUNNER_ERR_RESOURCE_NOT_FOUND, 2, NULL},
        {"CreateService", APPRUNNER_ERR_INVALID_REQUEST, 1, "validate"},
    };
    static const char *const missing =
        "arn:aws:apprunner:us-east-1:123456789012:service/nothing/0123456789abcdef0123456789abcdef";
    struct apprunner_service s, east;
    struct apprunner_service_list l = {0};
    struct apprunner_create_spec spec = {"x", NULL, NULL, NULL, 0};
    struct aws_error ae;
    struct transport *dry;
    size_t logged;
    cfdr_err e;

    CHECK_AWS(apprunner_describe_service(fx->t, "us-east-1", missing, &s, &ae, &e),
              APPRUNNER_ERR_RESOURCE_NOT_FOUND);
    assert_non_null(strstr(e.msg, "DescribeService"));
    assert_true(ae.request_id[0] != '\0');
    /* a service is found only in its own region */
    CHECK_OK(apprunner_find_service(fx->t, "us-east-1", "dr-demo-east", &east, &ae, &e));
    CHECK_AWS(apprunner_describe_service(fx->t, "us-west-2", east.arn, &s, &ae, &e),
              APPRUNNER_ERR_RESOURCE_NOT_FOUND);
    /* the model refuses a 1-character name; App Runner says so */
    CHECK_AWS(apprunner_create_service(fx->t, "us-east-1", &spec, &s, &ae, &e),
              APPRUNNER_ERR_INVALID_REQUEST);
    assert_non_null(strstr(e.msg, "serviceName"));

    /* refused before anything is sent */
    logged = awsep_count(&fx->ep, NULL);
    assert_int_equal(apprunner_describe_service(fx->t, "moon-1", east.arn, &s, &ae, &e),
                     CFDR_E_CONFIG);
    assert_non_null(strstr(e.msg, "moon-1"));
    assert_int_equal(apprunner_describe_service(fx->t, "us-east-1", "", &s, &ae, &e), CFDR_E_USAGE);
    assert_int_equal(apprunner_find_service(fx->t, "us-east-1", NULL, &s, &ae, &e), CFDR_E_USAGE);
    spec.name = "cfdr-private";
    spec.image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest";
    assert_int_equal(apprunner_create_service(fx->t, "us-east-1", &spec, &s, &ae, &e),
                     CFDR_E_USAGE);
    assert_non_null(strstr(e.msg, "public ECR image"));
    {
        static const struct apprunner_tag bad[] = {{"", "v"}};
        struct apprunner_create_spec tagged = {"cfdr-tagged", NULL, NULL, bad, 1};
        assert_int_equal(apprunner_create_service(fx->t, "us-east-1", &tagged, &s, &ae, &e),
                         CFDR_E_USAGE);
    }
    assert_int_equal(awsep_count(&fx->ep, NULL), logged);

    /* dry run: the signed request is shown, nothing is sent, the result is empty */
    dry = awsep_dry_transport(fx);
    CHECK_OK(apprunner_list_services(dry, "us-east-1", 0, &l, &ae, &e));
    assert_int_equal(l.n, 0);
    assert_int_equal(fx->dry_runs, 1);
    assert_non_null(strstr(buf_str(&fx->dry), "X-Amz-Target: AppRunner.ListServices"));
    assert_non_null(strstr(buf_str(&fx->dry), "{\"MaxResults\":20}"));
    spec.image = NULL;
    CHECK_OK(apprunner_create_service(dry, "us-east-1", &spec, &s, &ae, &e));
    assert_string_equal(s.arn, "");
    assert_non_null(strstr(buf_str(&fx->dry), APPRUNNER_SAMPLE_IMAGE));
    assert_null(strstr(buf_str(&fx->dry), AWSEP_SECRET));
    CHECK_OK(apprunner_pause_service(dry, "us-east-1", east.arn, &s, &ae, &e));
    assert_int_equal(fx->dry_runs, 3);
    assert_int_equal(apprunner_find_service(dry, "us-east-1", "dr-demo-east", &s, &ae, &e),
                     CFDR_E_NOTFOUND);
    assert_int_equal(awsep_count(&fx->ep, NULL), logged);
    transport_free(dry);

    awsep_check_log(fx, expected, sizeof(expected) / sizeof(expected[0]), 0);
}

/* Every second App Runner request is throttled: the transport retries, cfdr notices nothing. */
static void test_throttling_storm(void **state)
{
    struct awsep_fx *fx = *state;

    awsep_control_do(&fx->ep, "POST", "/faults",
                     "{\"kind\": \"throttle\", \"service\": \"apprunner\", \"every\": 2, "
                     "\"count\": 1000}");
    pause_resume(fx, 0);
    create_delete(fx, "cfdr-storm-west", 0);
    awsep_check_log(fx, NULL, 0, 1);
    assert_true(fx->faults >= 10);
    assert_int_equal(fx->sleeps, fx->faults);
    assert_true(fx->slept_ms > 0);
}

/* ---- answers no App Runner would give (a scripted server) ---- */

static int setup_scripted(void **state)
{
    return awsep_setup(state, NULL);
}

#define SVC_OK                                                                                     \
    "{\"ServiceName\": \"dr-demo-east\", \"ServiceId\": \"0123456789abcdef0123456789abcdef\", "    \
    "\"ServiceArn\": \"arn:aws:apprunner:us-east-1:123456789012:service/dr-demo-east/"             \
    "0123456789abcdef0123456789abcdef\", \"ServiceUrl\": "                                         \
    "\"abcdefghij.us-east-1.awsapprunner.com\", "                                                  \
    "\"Status\": \"RUNNING\", \"CreatedAt\": 1714557600.25, \"UpdatedAt\": 1714557601}"

static void add_step(json_object *script, const char *body)
{
    json_object *step = json_object_new_object(), *h = json_object_new_object();
    json_object_object_add(step, "status", json_object_new_int(200));
    json_object_object_add(step, "body", json_object_new_string(body));
    json_object_object_add(h, "Content-Type", json_object_new_string("application/x-amz-json-1.0"));
    json_object_object_add(step, "headers", h);
    json_object_array_add(script, step);
}

static void test_unexpected_answers(void **state)
{
    struct awsep_fx *fx = *state;
    static const char *const arn = "arn:aws:apprunner:us-east-1:123456789012:service/dr-demo-east/"
                                   "0123456789abcdef0123456789abcdef";
    static const struct {
        const char *body;
        const char *what; /* in the error message; NULL: fine */
    } cases[] = {
        {"{\"Service\": " SVC_OK ", \"OperationId\": null}", NULL},
        {"not json", "not one JSON document"},
        {"{\"Service\": " SVC_OK "} {}", "trailing data"},
        {"[]", "not a JSON object"},
        {"{}", "\"Service\" is missing"},
        {"{\"Service\": 7}", "a service is not a JSON object"},
        {"{\"Service\": {\"ServiceName\": \"a\", \"ServiceId\": \"b\", \"ServiceArn\": 5}}",
         "\"ServiceArn\" is not a string"},
        {"{\"Service\": {\"ServiceName\": \"a\", \"ServiceId\": \"b\"}}",
         "\"ServiceArn\" is missing"},
        {"{\"Service\": {\"ServiceName\": \"a\", \"ServiceId\": \"b\", \"ServiceArn\": \"c\", "
         "\"CreatedAt\": \"yesterday\"}}",
         "\"CreatedAt\" is not an epoch time"},
        {"{\"Service\": {\"ServiceName\": "
         "\"a-name-that-is-much-longer-than-anything-app-runner-allows-for-a-service\", "
         "\"ServiceId\": \"b\", \"ServiceArn\": \"c\"}}",
         "\"ServiceName\" is longer than 63 bytes"},
    };
    json_object *script = json_object_new_array();
    struct apprunner_service s;
    struct apprunner_service_list l = {0};
    struct apprunner_operation_list ops = {0};
    struct aws_error ae;
    cfdr_err e;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        add_step(script, cases[i].body);
    /* ListServices: a list that is no list; a token that does not advance */
    add_step(script, "{\"ServiceSummaryList\": {}}");
    add_step(script, "{\"ServiceSummaryList\": [" SVC_OK "], \"NextToken\": \"t1\"}");
    add_step(script, "{\"ServiceSummaryList\": [], \"NextToken\": \"t1\"}");
    /* ListOperations: an operation without its id, then a token that is no string */
    add_step(script, "{\"OperationSummaryList\": [{\"Type\": \"PAUSE_SERVICE\"}]}");
    add_step(script, "{\"OperationSummaryList\": [], \"NextToken\": 12}");
    awsep_start_scripted(&fx->ep, json_object_to_json_string(script));
    json_object_put(script);
    awsep_env(&fx->ep);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cfdr_code rc = apprunner_describe_service(fx->t, "us-east-1", arn, &s, &ae, &e);
        if (!cases[i].what) {
            if (rc != CFDR_OK)
                fail_msg("answer %zu: %s", i, e.msg);
            assert_string_equal(s.arn, arn);
            assert_string_equal(s.status, "RUNNING");
            assert_true(s.created_at == 1714557600.25);
            assert_true(s.updated_at == 1714557601.0);
            assert_string_equal(s.operation_id, "");
            continue;
        }
        if (rc != CFDR_E_PARSE || !strstr(e.msg, cases[i].what))
            fail_msg("answer %zu: wanted a parse error with \"%s\", got %s: %s", i, cases[i].what,
                     err_code_name(rc), e.msg);
        assert_non_null(strstr(e.msg, "App Runner DescribeService: unexpected answer"));
        assert_string_equal(s.arn, "");
    }
    assert_int_equal(apprunner_list_services(fx->t, "us-east-1", 0, &l, &ae, &e), CFDR_E_PARSE);
    assert_non_null(strstr(e.msg, "\"ServiceSummaryList\" is not a list"));
    assert_int_equal(apprunner_list_services(fx->t, "us-east-1", 0, &l, &ae, &e), CFDR_E_PARSE);
    assert_non_null(strstr(e.msg, "does not advance"));
    assert_null(l.items);
    assert_int_equal(apprunner_list_operations(fx->t, "us-east-1", arn, &ops, &ae, &e),
                     CFDR_E_PARSE);
    assert_non_null(strstr(e.msg, "\"Id\" is missing"));
    assert_int_equal(apprunner_list_operations(fx->t, "us-east-1", arn, &ops, &ae, &e),
                     CFDR_E_PARSE);
    assert_non_null(strstr(e.msg, "\"NextToken\" is not a string"));
    assert_null(ops.items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_and_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_and_dry_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttling_storm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unexpected_answers, setup_scripted, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
