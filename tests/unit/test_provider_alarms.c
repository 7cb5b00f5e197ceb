/*
 * Tests for the AWS provider's alarm operations (cmd/provider_aws.c: alarms_setup,
 * alarms_status, alarms_test, and what destroy does with alarms) against the strict local AWS
 * endpoint, through the provider interface the alarms commands call: create (the services are
 * seeded), alarms setup (topics in us-west-2 and us-east-1, email and https subscriptions, the
 * monitoring subscription, the two alarms of PRODUCT.md section 5 checked field by field in
 * the endpoint's state), a second setup that sends no mutating request, a period CloudWatch
 * cannot use refused before anything is sent, alarms test (SetAlarmState and one SNS
 * notification per topic), alarms status, a destroy that finds one alarm already gone and
 * leaves nothing, a destroy with nothing left to do, and alarms test while every subscription
 * is pending confirmation (nothing set, a note saying what to do). The request-log check of
 * aws_endpoint_fixture.h ends the test.
 */
#include "aws_endpoint_fixture.h"

#include <stdlib.h>

#include "aws/cloudwatch.h"
#include "cmd/app.h"
#include "cmd/config.h"
#include "cmd/provider.h"
#include "cmd/state.h"

#define TOPIC_W "arn:aws:sns:us-west-2:123456789012:dr-demo-alarms"
#define TOPIC_E "arn:aws:sns:us-east-1:123456789012:dr-demo-alarms"
#define WEBHOOK "https://hooks.example.com/cfdr/T0KEN-in-the-path"

static const char config_json[] =
    "{\"project\": \"dr-demo\","
    " \"primary\": {\"region\": \"us-east-1\", \"service\": \"dr-demo-east\"},"
    " \"secondary\": {\"region\": \"us-west-2\", \"service\": \"dr-demo-west\"},"
    " \"alarms\": {\"email\": [\"oncall@example.com\"], \"https\": [\"" WEBHOOK "\"],"
    "  \"period_s\": 60}}";

static const char *const mutating[] = {"CreateTopic",
                                       "Subscribe",
                                       "Unsubscribe",
                                       "DeleteTopic",
                                       "PutMetricAlarm",
                                       "DeleteAlarms",
                                       "SetAlarmState",
                                       "CreateMonitoringSubscription",
                                       "DeleteMonitoringSubscription",
                                       NULL};

struct world {
    char dir[64];
    FILE *out, *errs;
    struct cfdr_app app;
    struct cfdr_config cfg;
    struct cfdr_state st;
    struct provider p;
};

static int setup(void **state)
{
    static const char *const args[] = {"--seed-service",
                                       "us-east-1:dr-demo-east",
                                       "--seed-service",
                                       "us-west-2:dr-demo-west",
                                       "--deploy-polls",
                                       "1",
                                       NULL};
    setenv("CFDR_WAIT_SCALE", "0.01", 1);
    unsetenv("CFDR_EDGE_URL_OVERRIDE");
    return awsep_setup(state, args);
}

static int teardown(void **state)
{
    return awsep_teardown(state);
}

static void world_open(struct world *w)
{
    struct cli_globals g;
    cfdr_err e;

    memset(w, 0, sizeof(*w));
    snprintf(w->dir, sizeof(w->dir), "/tmp/cfdr-provider-alarms-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    w->out = tmpfile();
    w->errs = tmpfile();
    assert_non_null(w->out);
    assert_non_null(w->errs);
    memset(&g, 0, sizeof(g));
    g.config_path = "cfdr.json";
    g.state_dir = w->dir;
    g.no_color = 1;
    app_init(&w->app, &g, w->out, w->errs);
    CHECK_OK(config_load_string(config_json, "cfdr.json", &w->cfg, &e));
    CHECK_OK(state_open(w->dir, w->cfg.project, "aws", STATE_CREATE, &w->st, &e));
    CHECK_OK(provider_open(&w->app, &w->cfg, &w->st, &w->p, &e));
}

static void world_close(struct world *w)
{
    char cmd[160];
    provider_close(&w->p);
    state_close(&w->st);
    config_free(&w->cfg);
    app_free(&w->app);
    fclose(w->out);
    fclose(w->errs);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
    assert_int_equal(system(cmd), 0);
}

/* What the provider said on stderr so far. */
static char *said(struct world *w)
{
    long n;
    char *s;
    fflush(w->errs);
    n = ftell(w->errs);
    assert_true(n >= 0);
    s = calloc(1, (size_t)n + 1);
    assert_non_null(s);
    rewind(w->errs);
    assert_int_equal(fread(s, 1, (size_t)n, w->errs), (size_t)n);
    return s;
}

static size_t mutating_requests(struct awsep_fx *fx)
{
    size_t k = 0;
    for (const char *const *m = mutating; *m; m++)
        k += awsep_count(&fx->ep, *m);
    return k;
}

static json_object *jpath(json_object *o, const char *a, const char *b, const char *c)
{
    o = json_object_object_get(o, a);
    if (b)
        o = json_object_object_get(o, b);
    if (c)
        o = json_object_object_get(o, c);
    return o;
}

static size_t count_kind(const struct cfdr_state *st, const char *kind)
{
    size_t k = 0;
    for (size_t i = 0; i < state_resource_count(st); i++)
        if (strcmp(json_object_get_string(json_object_object_get(state_resource_at(st, i), "kind")),
                   kind) == 0)
            k++;
    return k;
}

/* The alarm's parameters as the endpoint stored them. */
static json_object *alarm_params(json_object *services, const char *region, const char *name)
{
    json_object *a = json_object_object_get(jpath(services, "monitoring", "alarms", region), name);
    assert_non_null(a);
    return json_object_object_get(a, "params");
}

static int has_dimension(json_object *params, const char *name, const char *value)
{
    json_object *dims = json_object_object_get(params, "Dimensions");
    for (size_t i = 0; i < json_object_array_length(dims); i++) {
        json_object *d = json_object_array_get_idx(dims, i);
        if (strcmp(awsep_str(d, "Name"), name) == 0 && strcmp(awsep_str(d, "Value"), value) == 0)
            return 1;
    }
    return 0;
}

/* The alarm was created with the tag cfdr:project=dr-demo. */
static int has_project_tag(json_object *params)
{
    json_object *tags = json_object_object_get(params, "Tags");
    for (size_t i = 0; i < json_object_array_length(tags); i++) {
        json_object *t = json_object_array_get_idx(tags, i);
        if (strcmp(awsep_str(t, "Key"), "cfdr:project") == 0 &&
            strcmp(awsep_str(t, "Value"), "dr-demo") == 0)
            return 1;
    }
    return 0;
}

static void check_alarms_in_endpoint(struct awsep_fx *fx, const char *service_id,
                                     const char *dist_id)
{
    json_object *doc = awsep_control(&fx->ep, "GET", "/state", NULL);
    json_object *sv = json_object_object_get(doc, "services"), *p, *topics, *t;

    p = alarm_params(sv, "us-west-2", "dr-demo-failover-active");
    assert_string_equal(awsep_str(p, "Namespace"), "AWS/AppRunner");
    assert_string_equal(awsep_str(p, "MetricName"), "Requests");
    assert_string_equal(awsep_str(p, "Statistic"), "Sum");
    assert_string_equal(awsep_str(p, "ComparisonOperator"), "GreaterThanOrEqualToThreshold");
    assert_true(json_object_get_double(json_object_object_get(p, "Threshold")) == 1.0);
    assert_int_equal(json_object_get_int(json_object_object_get(p, "Period")), 60);
    assert_int_equal(json_object_get_int(json_object_object_get(p, "EvaluationPeriods")), 1);
    assert_string_equal(awsep_str(p, "TreatMissingData"), "notBreaching");
    assert_true(has_dimension(p, "ServiceName", "dr-demo-west"));
    assert_true(has_dimension(p, "ServiceID", service_id));
    assert_true(has_project_tag(p));
    assert_string_equal(json_object_get_string(json_object_array_get_idx(
                            json_object_object_get(p, "AlarmActions"), 0)),
                        TOPIC_W);
    assert_string_equal(json_object_get_string(
                            json_object_array_get_idx(json_object_object_get(p, "OKActions"), 0)),
                        TOPIC_W);

    p = alarm_params(sv, "us-east-1", "dr-demo-edge-5xx");
    assert_string_equal(awsep_str(p, "Namespace"), "AWS/CloudFront");
    assert_string_equal(awsep_str(p, "MetricName"), "5xxErrorRate");
    assert_string_equal(awsep_str(p, "Statistic"), "Average");
    assert_true(json_object_get_double(json_object_object_get(p, "Threshold")) == 5.0);
    assert_true(has_dimension(p, "DistributionId", dist_id));
    assert_true(has_dimension(p, "Region", "Global"));
    assert_true(has_project_tag(p));
    assert_string_equal(json_object_get_string(
                            json_object_array_get_idx(json_object_object_get(p, "OKActions"), 0)),
                        TOPIC_E);

    topics = jpath(sv, "sns", "topics", NULL);
    for (int i = 0; i < 2; i++) {
        t = json_object_object_get(topics, i ? TOPIC_E : TOPIC_W);
        assert_non_null(t);
        assert_int_equal(json_object_array_length(json_object_object_get(t, "subscriptions")), 2);
        assert_string_equal(
            awsep_str(json_object_array_get_idx(json_object_object_get(t, "tags"), 0), "Value"),
            "dr-demo");
    }
    assert_string_equal(
        awsep_str(
            jpath(json_object_object_get(jpath(sv, "cloudfront", "distributions", NULL), dist_id),
                  "monitoring", "RealtimeMetricsSubscriptionConfig", NULL),
            "RealtimeMetricsSubscriptionStatus"),
        "Enabled");
    json_object_put(doc);
}

static void test_alarms_lifecycle(void **state)
{
    struct awsep_fx *fx = *state;
    struct world w;
    json_object *out, *doc, *notes;
    const char *names[] = {"dr-demo-edge-5xx"};
    char service_id[64], dist_id[64], *text;
    size_t removed = 0, gone = 0, before;
    long text_at;
    struct aws_error ae;
    cfdr_err e;

    world_open(&w);
    assert_non_null(w.p.ops->alarms_setup);
    CHECK_OK(w.p.ops->create(&w.p, 1, 0, &e));
    snprintf(service_id, sizeof(service_id), "%s",
             awsep_str(state_resource(&w.st, "service", "secondary"), "service_id"));
    snprintf(dist_id, sizeof(dist_id), "%s",
             awsep_str(state_resource(&w.st, "distribution", "distribution"), "distribution_id"));

    /* a period these metrics cannot use is refused before anything is sent */
    before = awsep_count(&fx->ep, NULL);
    w.cfg.alarms.period_s = 30;
    out = json_object_new_object();
    assert_int_equal(w.p.ops->alarms_setup(&w.p, out, &e), CFDR_E_CONFIG);
    assert_non_null(strstr(e.msg, "alarms.period_s"));
    assert_non_null(strstr(e.msg, "60 s"));
    json_object_put(out);
    assert_int_equal(awsep_count(&fx->ep, NULL), before);
    w.cfg.alarms.period_s = 60;

    out = json_object_new_object();
    CHECK_OK(w.p.ops->alarms_setup(&w.p, out, &e));
    assert_int_equal(json_object_array_length(json_object_object_get(out, "alarms")), 2);
    assert_int_equal(json_object_array_length(json_object_object_get(out, "subscriptions")), 4);
    assert_null(strstr(json_object_to_json_string(out), "T0KEN"));
    /* the figures cmd_alarms prints and the journal keeps, as the local provider gives them */
    assert_int_equal(json_object_get_int(json_object_object_get(out, "webhooks")), 1);
    assert_int_equal(json_object_get_int(json_object_object_get(out, "emails")), 1);
    assert_int_equal(json_object_get_int(json_object_object_get(out, "period_s")), 60);
    assert_true(json_object_get_boolean(jpath(out, "monitoring_subscription", "created", NULL)));
    json_object_put(out);
    check_alarms_in_endpoint(fx, service_id, dist_id);
    assert_int_equal(count_kind(&w.st, "alarm"), 2);
    assert_int_equal(count_kind(&w.st, "alarm_topic"), 2);
    assert_int_equal(count_kind(&w.st, "alarm_subscription"), 4);
    assert_int_equal(count_kind(&w.st, "monitoring_subscription"), 1);
    text = said(&w);
    assert_non_null(strstr(text, "confirmation mail"));
    assert_null(strstr(text, "T0KEN"));
    free(text);

    /* again: nothing changes, and the monitoring subscription was already enabled */
    before = mutating_requests(fx);
    out = json_object_new_object();
    CHECK_OK(w.p.ops->alarms_setup(&w.p, out, &e));
    assert_false(json_object_get_boolean(jpath(out, "monitoring_subscription", "created", NULL)));
    json_object_put(out);
    assert_int_equal(mutating_requests(fx), before);
    assert_int_equal(state_resource_count(&w.st), 3 + 2 + 2 + 4 + 1);
    /* the state lost the monitoring subscription: CloudFront says it exists, and it is
     * reported as already enabled, not as created (nor billed anew) */
    CHECK_OK(state_remove_resource(&w.st, "monitoring_subscription", dist_id, &e));
    fflush(w.errs);
    text_at = ftell(w.errs);
    out = json_object_new_object();
    CHECK_OK(w.p.ops->alarms_setup(&w.p, out, &e));
    assert_false(json_object_get_boolean(jpath(out, "monitoring_subscription", "created", NULL)));
    json_object_put(out);
    text = said(&w);
    assert_non_null(strstr(text + text_at, "additional metrics of distribution"));
    assert_non_null(strstr(text + text_at, "already enabled"));
    assert_null(strstr(text + text_at, "billed"));
    free(text);
    assert_int_equal(count_kind(&w.st, "monitoring_subscription"), 1);

    /* the webhook leaves cfdr.json: while pending it stays (SNS cannot remove it), once
     * confirmed the next setup unsubscribes it in both regions */
    w.cfg.alarms.n_https = 0;
    out = json_object_new_object();
    CHECK_OK(w.p.ops->alarms_setup(&w.p, out, &e));
    json_object_put(out);
    assert_int_equal(awsep_count(&fx->ep, "Unsubscribe"), 0);
    assert_int_equal(count_kind(&w.st, "alarm_subscription"), 4);
    awsep_control_do(&fx->ep, "POST", "/sns/confirm", "{}");
    out = json_object_new_object();
    CHECK_OK(w.p.ops->alarms_setup(&w.p, out, &e));
    json_object_put(out);
    assert_int_equal(awsep_count(&fx->ep, "Unsubscribe"), 2);
    assert_int_equal(count_kind(&w.st, "alarm_subscription"), 2);
    text = said(&w);
    assert_non_null(strstr(text, "no longer in cfdr.json"));
    free(text);
    /* and back: subscribed again */
    w.cfg.alarms.n_https = 1;
    before = awsep_count(&fx->ep, "Subscribe");
    out = json_object_new_object();
    CHECK_OK(w.p.ops->alarms_setup(&w.p, out, &e));
    json_object_put(out);
    assert_int_equal(awsep_count(&fx->ep, "Subscribe") - before, 2);
    assert_int_equal(count_kind(&w.st, "alarm_subscription"), 4);

    /* --dry-run: setup, test and status print their requests and send none; the state is
     * not touched */
    {
        struct cfdr_app dry_app;
        struct provider dry;
        struct cli_globals g = w.app.g;
        FILE *dry_out = tmpfile(), *dry_errs = tmpfile();
        size_t logged = awsep_count(&fx->ep, NULL), nres = state_resource_count(&w.st);
        char *printed;
        long n;

        assert_non_null(dry_out);
        assert_non_null(dry_errs);
        g.dry_run = 1;
        app_init(&dry_app, &g, dry_out, dry_errs);
        CHECK_OK(provider_open(&dry_app, &w.cfg, &w.st, &dry, &e));
        out = json_object_new_object();
        CHECK_OK(dry.ops->alarms_setup(&dry, out, &e));
        CHECK_OK(dry.ops->alarms_test(&dry, NULL, out, &e));
        CHECK_OK(dry.ops->alarms_status(&dry, out, &e));
        json_object_put(out);
        provider_close(&dry);
        app_free(&dry_app);
        assert_int_equal(awsep_count(&fx->ep, NULL), logged);
        assert_int_equal(state_resource_count(&w.st), nres);
        fflush(dry_out);
        n = ftell(dry_out);
        assert_true(n > 0);
        printed = calloc(1, (size_t)n + 1);
        assert_non_null(printed);
        rewind(dry_out);
        assert_int_equal(fread(printed, 1, (size_t)n, dry_out), (size_t)n);
        assert_non_null(strstr(printed, "Action=ListSubscriptionsByTopic"));
        assert_non_null(strstr(printed, "Action=DescribeAlarms"));
        assert_non_null(strstr(printed, "Action=SetAlarmState"));
        assert_non_null(strstr(printed, "/monitoring-subscription/"));
        assert_non_null(strstr(printed, "(dry run: not sent)"));
        assert_null(strstr(printed, AWSEP_SECRET));
        free(printed);
        fclose(dry_out);
        fclose(dry_errs);
    }

    /* test: every alarm to ALARM, one notification per topic */
    out = json_object_new_object();
    CHECK_OK(w.p.ops->alarms_test(&w.p, NULL, out, &e));
    assert_int_equal(json_object_array_length(json_object_object_get(out, "tested")), 2);
    json_object_put(out);
    doc = awsep_control(&fx->ep, "GET", "/state", NULL);
    notes = jpath(doc, "services", "sns", "notifications");
    assert_int_equal(json_object_array_length(notes), 2);
    assert_non_null(
        strstr(awsep_str(json_object_array_get_idx(notes, 0), "message"), "cfdr alarms test"));
    json_object_put(doc);
    out = json_object_new_object();
    assert_int_equal(w.p.ops->alarms_test(&w.p, "no-such-alarm", out, &e), CFDR_E_USAGE);
    assert_non_null(strstr(e.msg, "dr-demo-failover-active"));
    json_object_put(out);

    out = json_object_new_object();
    CHECK_OK(w.p.ops->alarms_status(&w.p, out, &e));
    {
        json_object *alarms = json_object_object_get(out, "alarms");
        assert_int_equal(json_object_array_length(alarms), 2);
        for (size_t i = 0; i < 2; i++) {
            json_object *a = json_object_array_get_idx(alarms, i);
            assert_string_equal(awsep_str(a, "state"), "ALARM");
            assert_non_null(strstr(awsep_str(a, "reason"), "cfdr alarms test"));
            assert_non_null(awsep_str(a, "updated_at"));
        }
        assert_int_equal(json_object_array_length(json_object_object_get(out, "subscriptions")), 4);
    }
    json_object_put(out);

    /* someone deleted one alarm already: destroy counts it as gone and removes the rest */
    CHECK_OK(cw_delete_alarms(fx->t, "us-east-1", names, 1, &ae, &e));
    CHECK_OK(w.p.ops->destroy(&w.p, 0, &removed, &gone, &e));
    /* 1 alarm, 2 topics, 4 subscriptions, the monitoring subscription, the distribution */
    assert_int_equal(removed, 9);
    assert_int_equal(gone, 1);
    assert_int_equal(state_resource_count(&w.st), 0);
    doc = awsep_control(&fx->ep, "GET", "/state", NULL);
    assert_int_equal(json_object_object_length(jpath(doc, "services", "sns", "topics")), 0);
    {
        json_object_object_foreach(jpath(doc, "services", "monitoring", "alarms"), region, list)
        {
            (void)region;
            assert_int_equal(json_object_object_length(list), 0);
        }
    }
    assert_int_equal(
        json_object_object_length(jpath(doc, "services", "cloudfront", "distributions")), 0);
    json_object_put(doc);
    CHECK_OK(w.p.ops->destroy(&w.p, 0, &removed, &gone, &e));
    assert_int_equal(removed + gone, 0);
    world_close(&w);
    {
        static const struct awsep_expect expected[] = {
            {"DeleteAlarms", CW_ERR_RESOURCE_NOT_FOUND, 1, NULL},
            /* the first setup reads before it creates */
            {"GetMonitoringSubscription", "NoSuchMonitoringSubscription", 1, NULL},
        };
        awsep_check_log(fx, expected, 2, 0);
    }
}

/* The secondary's region changes in cfdr.json after alarms setup: setup refuses (the failover
 * alarm watches the recorded service), and alarms and topics are recorded by region and name,
 * so an alarm of the same name in another region is never overwritten in the state and lost:
 * destroy removes every one. */
static void test_alarms_secondary_moved(void **state)
{
    struct awsep_fx *fx = *state;
    struct world w;
    json_object *out, *doc, *f;
    size_t removed = 0, gone = 0, before;
    cfdr_err e;

    world_open(&w);
    CHECK_OK(w.p.ops->create(&w.p, 1, 0, &e));
    out = json_object_new_object();
    CHECK_OK(w.p.ops->alarms_setup(&w.p, out, &e));
    json_object_put(out);
    assert_non_null(state_resource(&w.st, "alarm", "us-west-2:dr-demo-failover-active"));
    assert_non_null(state_resource(&w.st, "alarm", "us-east-1:dr-demo-edge-5xx"));
    assert_non_null(state_resource(&w.st, "alarm_topic", "us-west-2:dr-demo-alarms"));

    /* cfdr.json moves the secondary: refused before any request, and nothing recorded */
    snprintf(w.cfg.secondary.region, sizeof(w.cfg.secondary.region), "eu-west-1");
    before = awsep_count(&fx->ep, NULL);
    out = json_object_new_object();
    assert_int_equal(w.p.ops->alarms_setup(&w.p, out, &e), CFDR_E_CONFIG);
    json_object_put(out);
    assert_non_null(strstr(e.msg, "dr-demo-west (us-west-2) as the secondary service"));
    assert_non_null(strstr(e.msg, "cfdr.json says dr-demo-west (eu-west-1)"));
    assert_non_null(strstr(e.msg, "cfdr destroy"));
    assert_int_equal(awsep_count(&fx->ep, NULL), before);
    assert_int_equal(count_kind(&w.st, "alarm"), 2);

    /* a secondary recorded in the new region (as after a destroy of the services and a new
     * create): the new alarm and topic are recorded beside the old ones, not over them */
    f = json_object_new_object();
    json_object_object_add(f, "region", json_object_new_string("eu-west-1"));
    CHECK_OK(state_put_resource(&w.st, "service", "secondary", f, &e));
    out = json_object_new_object();
    CHECK_OK(w.p.ops->alarms_setup(&w.p, out, &e));
    json_object_put(out);
    assert_int_equal(count_kind(&w.st, "alarm"), 3);
    assert_int_equal(count_kind(&w.st, "alarm_topic"), 3);
    assert_non_null(state_resource(&w.st, "alarm", "us-west-2:dr-demo-failover-active"));
    assert_non_null(state_resource(&w.st, "alarm", "eu-west-1:dr-demo-failover-active"));

    /* destroy removes everything recorded, in every region */
    CHECK_OK(w.p.ops->destroy(&w.p, 0, &removed, &gone, &e));
    assert_int_equal(gone, 0);
    assert_int_equal(state_resource_count(&w.st), 0);
    doc = awsep_control(&fx->ep, "GET", "/state", NULL);
    assert_int_equal(json_object_object_length(jpath(doc, "services", "sns", "topics")), 0);
    {
        json_object_object_foreach(jpath(doc, "services", "monitoring", "alarms"), region, list)
        {
            if (json_object_object_length(list) != 0)
                fail_msg("alarms left in %s after destroy", region);
        }
    }
    json_object_put(doc);
    world_close(&w);
    {
        static const struct awsep_expect expected[] = {
            {"GetMonitoringSubscription", "NoSuchMonitoringSubscription", 1, NULL},
        };
        awsep_check_log(fx, expected, 1, 0);
    }
}

/* Someone else's alarm of the same name: PutMetricAlarm would silently replace it and destroy
 * would delete it. Setup refuses unless the alarm carries cfdr:project=<project> (cfdr made
 * it, and the state that recorded it was lost): then it is taken over. */
static void test_alarms_takeover(void **state)
{
    struct awsep_fx *fx = *state;
    struct world w;
    struct cw_alarm *a = calloc(1, sizeof(*a));
    const char *names[1] = {"dr-demo-failover-active"};
    size_t removed = 0, gone = 0, puts;
    json_object *out, *doc;
    struct aws_error ae;
    char *text;
    cfdr_err e;

    assert_non_null(a);
    world_open(&w);
    CHECK_OK(w.p.ops->create(&w.p, 1, 0, &e));
    snprintf(a->name, sizeof(a->name), "dr-demo-failover-active");
    snprintf(a->namespace_, sizeof(a->namespace_), "AWS/AppRunner");
    snprintf(a->metric, sizeof(a->metric), "Requests");
    snprintf(a->statistic, sizeof(a->statistic), "Sum");
    snprintf(a->comparison, sizeof(a->comparison), "GreaterThanOrEqualToThreshold");
    a->threshold = 7;
    a->period_s = 300;
    a->evaluation_periods = 1;
    CHECK_OK(cw_put_metric_alarm(fx->t, "us-west-2", a, &ae, &e));
    puts = awsep_count(&fx->ep, "PutMetricAlarm");

    out = json_object_new_object();
    assert_int_equal(w.p.ops->alarms_setup(&w.p, out, &e), CFDR_E_CONFIG);
    json_object_put(out);
    assert_non_null(strstr(e.msg, "already has an alarm dr-demo-failover-active in us-west-2"));
    assert_non_null(strstr(e.msg, "that cfdr did not create"));
    assert_non_null(strstr(e.msg, "no tag cfdr:project=dr-demo"));
    assert_non_null(strstr(e.msg, "aws cloudwatch delete-alarms --region us-west-2"));
    assert_int_equal(awsep_count(&fx->ep, "PutMetricAlarm"), puts); /* left as it was */
    doc = awsep_control(&fx->ep, "GET", "/state", NULL);
    assert_true(json_object_get_double(
                    json_object_object_get(alarm_params(json_object_object_get(doc, "services"),
                                                        "us-west-2", "dr-demo-failover-active"),
                                           "Threshold")) == 7.0);
    json_object_put(doc);
    assert_null(state_resource(&w.st, "alarm", "us-west-2:dr-demo-failover-active"));

    /* one that cfdr made (tagged) but the state forgot: taken over */
    CHECK_OK(cw_delete_alarms(fx->t, "us-west-2", names, 1, &ae, &e));
    snprintf(a->tags[0].key, sizeof(a->tags[0].key), "cfdr:project");
    snprintf(a->tags[0].value, sizeof(a->tags[0].value), "dr-demo");
    a->ntags = 1;
    CHECK_OK(cw_put_metric_alarm(fx->t, "us-west-2", a, &ae, &e));
    out = json_object_new_object();
    CHECK_OK(w.p.ops->alarms_setup(&w.p, out, &e));
    json_object_put(out);
    assert_non_null(state_resource(&w.st, "alarm", "us-west-2:dr-demo-failover-active"));
    text = said(&w);
    assert_non_null(strstr(text, "taken over"));
    free(text);
    doc = awsep_control(&fx->ep, "GET", "/state", NULL);
    assert_true(json_object_get_double(
                    json_object_object_get(alarm_params(json_object_object_get(doc, "services"),
                                                        "us-west-2", "dr-demo-failover-active"),
                                           "Threshold")) == 1.0); /* cfdr's definition now */
    json_object_put(doc);

    CHECK_OK(w.p.ops->destroy(&w.p, 0, &removed, &gone, &e));
    assert_int_equal(state_resource_count(&w.st), 0);
    world_close(&w);
    free(a);
    {
        static const struct awsep_expect expected[] = {
            {"GetMonitoringSubscription", "NoSuchMonitoringSubscription", 1, NULL},
        };
        awsep_check_log(fx, expected, 1, 0);
    }
}

/* alarms test right after a fresh setup: every subscription is pending confirmation, so a
 * notification would reach nobody. The test reads ListSubscriptionsByTopic first, sets no alarm
 * and says what to do (each alarm "notified": false with a note naming the confirmation mail
 * and the SubscribeURL); once the subscribers confirm, it sets both and counts them. */
static void test_alarms_test_unconfirmed(void **state)
{
    struct awsep_fx *fx = *state;
    struct world w;
    json_object *out, *tested;
    size_t removed = 0, gone = 0;
    cfdr_err e;

    world_open(&w);
    CHECK_OK(w.p.ops->create(&w.p, 1, 0, &e));
    out = json_object_new_object();
    CHECK_OK(w.p.ops->alarms_setup(&w.p, out, &e));
    json_object_put(out);

    out = json_object_new_object();
    CHECK_OK(w.p.ops->alarms_test(&w.p, NULL, out, &e));
    tested = json_object_object_get(out, "tested");
    assert_int_equal(json_object_array_length(tested), 2);
    for (size_t i = 0; i < 2; i++) {
        json_object *t = json_object_array_get_idx(tested, i);
        const char *note = awsep_str(t, "note");
        assert_false(json_object_get_boolean(json_object_object_get(t, "notified")));
        assert_non_null(note);
        assert_non_null(strstr(note, "nobody would receive it"));
        assert_non_null(strstr(note, "confirmation mail"));
        assert_non_null(strstr(note, "SubscribeURL"));
        assert_non_null(strstr(note, "the alarm was not set"));
        assert_null(strstr(note, "T0KEN"));
        assert_int_equal(json_object_get_int(json_object_object_get(t, "confirmed_subscriptions")),
                         0);
        assert_int_equal(json_object_get_int(json_object_object_get(t, "pending_subscriptions")),
                         2);
    }
    json_object_put(out);
    assert_int_equal(awsep_count(&fx->ep, "SetAlarmState"), 0);
    /* one alarm by name: the same, and not "no alarm named" */
    out = json_object_new_object();
    CHECK_OK(w.p.ops->alarms_test(&w.p, "dr-demo-edge-5xx", out, &e));
    assert_int_equal(json_object_array_length(json_object_object_get(out, "tested")), 1);
    json_object_put(out);
    assert_int_equal(awsep_count(&fx->ep, "SetAlarmState"), 0);

    /* the owners confirm: both are set, each to a topic with 2 confirmed subscribers */
    awsep_control_do(&fx->ep, "POST", "/sns/confirm", "{}");
    out = json_object_new_object();
    CHECK_OK(w.p.ops->alarms_test(&w.p, NULL, out, &e));
    tested = json_object_object_get(out, "tested");
    assert_int_equal(json_object_array_length(tested), 2);
    for (size_t i = 0; i < 2; i++) {
        json_object *t = json_object_array_get_idx(tested, i);
        assert_true(json_object_get_boolean(json_object_object_get(t, "notified")));
        assert_null(json_object_object_get(t, "note"));
        assert_int_equal(json_object_get_int(json_object_object_get(t, "confirmed_subscriptions")),
                         2);
    }
    json_object_put(out);
    assert_int_equal(awsep_count(&fx->ep, "SetAlarmState"), 2);

    CHECK_OK(w.p.ops->destroy(&w.p, 0, &removed, &gone, &e));
    assert_int_equal(state_resource_count(&w.st), 0);
    world_close(&w);
    {
        static const struct awsep_expect expected[] = {
            {"GetMonitoringSubscription", "NoSuchMonitoringSubscription", 1, NULL},
        };
        awsep_check_log(fx, expected, 1, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_alarms_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarms_secondary_moved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarms_takeover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarms_test_unconfirmed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
