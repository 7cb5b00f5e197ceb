/* cmd_iam_policy: see cmd_iam_policy.h. */
#include "cmd/cmd_iam_policy.h"

#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"

#define ACTIONS(...) ((const char *const[]){__VA_ARGS__, NULL})

const struct iam_policy_op iam_policy_ops[] = {
    {"cloudfront", "CreateDistributionWithTags",
     ACTIONS("cloudfront:CreateDistribution", "cloudfront:TagResource")},
    {"cloudfront", "GetDistribution", ACTIONS("cloudfront:GetDistribution")},
    {"cloudfront", "GetDistributionConfig", ACTIONS("cloudfront:GetDistributionConfig")},
    {"cloudfront", "UpdateDistribution", ACTIONS("cloudfront:UpdateDistribution")},
    {"cloudfront", "DeleteDistribution", ACTIONS("cloudfront:DeleteDistribution")},
    {"cloudfront", "ListDistributions", ACTIONS("cloudfront:ListDistributions")},
    {"cloudfront", "ListTagsForResource", ACTIONS("cloudfront:ListTagsForResource")},
    {"cloudfront", "CreateMonitoringSubscription",
     ACTIONS("cloudfront:CreateMonitoringSubscription")},
    {"cloudfront", "GetMonitoringSubscription", ACTIONS("cloudfront:GetMonitoringSubscription")},
    {"cloudfront", "DeleteMonitoringSubscription",
     ACTIONS("cloudfront:DeleteMonitoringSubscription")},
    {"apprunner", "ListServices", ACTIONS("apprunner:ListServices")},
    {"apprunner", "DescribeService", ACTIONS("apprunner:DescribeService")},
    {"apprunner", "PauseService", ACTIONS("apprunner:PauseService")},
    {"apprunner", "ResumeService", ACTIONS("apprunner:ResumeService")},
    {"apprunner", "CreateService",
     ACTIONS("apprunner:CreateService", "apprunner:TagResource", "iam:CreateServiceLinkedRole")},
    {"apprunner", "DeleteService", ACTIONS("apprunner:DeleteService")},
    {"apprunner", "ListOperations", ACTIONS("apprunner:ListOperations")},
    /* PutMetricAlarm with Tags needs TagResource too (the API reference) */
    {"cloudwatch", "PutMetricAlarm",
     ACTIONS("cloudwatch:PutMetricAlarm", "cloudwatch:TagResource")},
    {"cloudwatch", "DescribeAlarms", ACTIONS("cloudwatch:DescribeAlarms")},
    {"cloudwatch", "DeleteAlarms", ACTIONS("cloudwatch:DeleteAlarms")},
    {"cloudwatch", "SetAlarmState", ACTIONS("cloudwatch:SetAlarmState")},
    {"cloudwatch", "ListTagsForResource", ACTIONS("cloudwatch:ListTagsForResource")},
    {"sns", "CreateTopic", ACTIONS("sns:CreateTopic", "sns:TagResource")},
    {"sns", "Subscribe", ACTIONS("sns:Subscribe")},
    {"sns", "ListSubscriptionsByTopic", ACTIONS("sns:ListSubscriptionsByTopic")},
    {"sns", "Unsubscribe", ACTIONS("sns:Unsubscribe")},
    {"sns", "DeleteTopic", ACTIONS("sns:DeleteTopic")},
    {0},
};

enum scope {
    SCOPE_DISTRIBUTION,
    SCOPE_ANY,
    SCOPE_SERVICE,
    SCOPE_LINKED_ROLE,
    SCOPE_ALARM,
    SCOPE_TOPIC,
    SCOPE_COUNT
};

/* Where each action applies; the statements come out in enum order. */
static const struct {
    const char *action;
    enum scope scope;
} scopes[] = {
    {"cloudfront:CreateDistribution", SCOPE_DISTRIBUTION},
    {"cloudfront:TagResource", SCOPE_DISTRIBUTION},
    {"cloudfront:GetDistribution", SCOPE_DISTRIBUTION},
    {"cloudfront:GetDistributionConfig", SCOPE_DISTRIBUTION},
    {"cloudfront:UpdateDistribution", SCOPE_DISTRIBUTION},
    {"cloudfront:DeleteDistribution", SCOPE_DISTRIBUTION},
    {"cloudfront:ListTagsForResource", SCOPE_DISTRIBUTION},
    {"cloudfront:CreateMonitoringSubscription", SCOPE_DISTRIBUTION},
    {"cloudfront:GetMonitoringSubscription", SCOPE_DISTRIBUTION},
    {"cloudfront:DeleteMonitoringSubscription", SCOPE_DISTRIBUTION},
    {"cloudfront:ListDistributions", SCOPE_ANY},
    {"apprunner:ListServices", SCOPE_ANY},
    {"apprunner:CreateService", SCOPE_SERVICE},
    {"apprunner:TagResource", SCOPE_SERVICE},
    {"apprunner:DescribeService", SCOPE_SERVICE},
    {"apprunner:PauseService", SCOPE_SERVICE},
    {"apprunner:ResumeService", SCOPE_SERVICE},
    {"apprunner:DeleteService", SCOPE_SERVICE},
    {"apprunner:ListOperations", SCOPE_SERVICE},
    {"iam:CreateServiceLinkedRole", SCOPE_LINKED_ROLE},
    {"cloudwatch:PutMetricAlarm", SCOPE_ALARM},
    {"cloudwatch:DescribeAlarms", SCOPE_ALARM},
    {"cloudwatch:DeleteAlarms", SCOPE_ALARM},
    {"cloudwatch:SetAlarmState", SCOPE_ALARM},
    {"cloudwatch:TagResource", SCOPE_ALARM},
    {"cloudwatch:ListTagsForResource", SCOPE_ALARM},
    {"sns:CreateTopic", SCOPE_TOPIC},
    {"sns:TagResource", SCOPE_TOPIC},
    {"sns:Subscribe", SCOPE_TOPIC},
    {"sns:ListSubscriptionsByTopic", SCOPE_TOPIC},
    {"sns:Unsubscribe", SCOPE_TOPIC},
    {"sns:DeleteTopic", SCOPE_TOPIC},
};

static const char *const sids[SCOPE_COUNT] = {"CfdrDistributions",
                                              "CfdrListings",
                                              "CfdrAppRunnerServices",
                                              "CfdrAppRunnerServiceLinkedRole",
                                              "CfdrAlarms",
                                              "CfdrAlarmTopics"};

#define APPRUNNER_LINKED_ROLE                                                                      \
    "arn:aws:iam::*:role/aws-service-role/apprunner.amazonaws.com/AWSServiceRoleForAppRunner"

const char *const *iam_policy_actions(const char *service, const char *operation)
{
    for (const struct iam_policy_op *o = iam_policy_ops; o->service; o++)
        if (strcmp(o->service, service) == 0 && strcmp(o->operation, operation) == 0)
            return o->actions;
    return NULL;
}

static int scope_of(const char *action)
{
    for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
        if (strcmp(scopes[i].action, action) == 0)
            return (int)scopes[i].scope;
    return -1;
}

static int listed(json_object *arr, const char *s)
{
    for (size_t i = 0; i < json_object_array_length(arr); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), s) == 0)
            return 1;
    return 0;
}

static json_object *resources(enum scope sc, const struct cfdr_config *cfg)
{
    json_object *r;
    char arn[256];
    switch (sc) {
    case SCOPE_DISTRIBUTION:
        return json_object_new_string("arn:aws:cloudfront::*:distribution/*");
    case SCOPE_SERVICE:
        if (!cfg)
            return json_object_new_string("arn:aws:apprunner:*:*:service/*/*");
        r = json_object_new_array();
        snprintf(arn, sizeof(arn), "arn:aws:apprunner:%s:*:service/%s/*", cfg->primary.region,
                 cfg->primary.service);
        json_object_array_add(r, json_object_new_string(arn));
        snprintf(arn, sizeof(arn), "arn:aws:apprunner:%s:*:service/%s/*", cfg->secondary.region,
                 cfg->secondary.service);
        json_object_array_add(r, json_object_new_string(arn));
        return r;
    case SCOPE_LINKED_ROLE:
        return json_object_new_string(APPRUNNER_LINKED_ROLE);
    case SCOPE_ALARM: /* the alarms are <project>-failover-active and <project>-edge-5xx */
        snprintf(arn, sizeof(arn), "arn:aws:cloudwatch:*:*:alarm:%s-*", cfg ? cfg->project : "*");
        return json_object_new_string(arn);
    case SCOPE_TOPIC: /* one topic per alarm region: <project>-alarms */
        snprintf(arn, sizeof(arn), "arn:aws:sns:*:*:%s-alarms", cfg ? cfg->project : "*");
        return json_object_new_string(arn);
    default:
        return json_object_new_string("*");
    }
}

cfdr_code iam_policy_document(const struct cfdr_config *cfg, json_object **out, cfdr_err *err)
{
    json_object *actions[SCOPE_COUNT], *doc, *stmts;

    *out = NULL;
    for (int i = 0; i < SCOPE_COUNT; i++)
        actions[i] = json_object_new_array();
    for (const struct iam_policy_op *o = iam_policy_ops; o->service; o++) {
        for (const char *const *a = o->actions; *a; a++) {
            int sc = scope_of(*a);
            if (sc < 0) {
                for (int i = 0; i < SCOPE_COUNT; i++)
                    json_object_put(actions[i]);
                return err_set(err, CFDR_E_INTERNAL,
                               "iam-policy: action %s (for %s) has no resource scope", *a,
                               o->operation);
            }
            if (!listed(actions[sc], *a))
                json_object_array_add(actions[sc], json_object_new_string(*a));
        }
    }
    doc = json_object_new_object();
    stmts = json_object_new_array();
    json_object_object_add(doc, "Version", json_object_new_string("2012-10-17"));
    for (int i = 0; i < SCOPE_COUNT; i++) {
        json_object *s;
        if (json_object_array_length(actions[i]) == 0) {
            json_object_put(actions[i]);
            continue;
        }
        s = json_object_new_object();
        json_object_object_add(s, "Sid", json_object_new_string(sids[i]));
        json_object_object_add(s, "Effect", json_object_new_string("Allow"));
        json_object_object_add(s, "Action", actions[i]);
        json_object_object_add(s, "Resource", resources((enum scope)i, cfg));
        if (i == SCOPE_LINKED_ROLE) {
            json_object *c = json_object_new_object(), *like = json_object_new_object();
            json_object_object_add(like, "iam:AWSServiceName",
                                   json_object_new_string("apprunner.amazonaws.com"));
            json_object_object_add(c, "StringLike", like);
            json_object_object_add(s, "Condition", c);
        }
        json_object_array_add(stmts, s);
    }
    json_object_object_add(doc, "Statement", stmts);
    *out = doc;
    return CFDR_OK;
}

cfdr_code cmd_iam_policy(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err)
{
    struct cfdr_config cfg;
    json_object *doc = NULL;
    int have_cfg = 0;
    cfdr_code rc;
    (void)inv;

    /* With a configuration the App Runner actions name its two services; without one the
     * policy still works, for any service. */
    rc = config_load_file(app->g.config_path, &cfg, err);
    if (rc == CFDR_E_NOTFOUND) {
        app_say(app,
                "no %s: App Runner actions apply to any service (run cfdr init, or pass -c, "
                "to narrow them to yours)",
                app->g.config_path);
        err_clear(err);
    } else if (rc) {
        return rc;
    } else {
        have_cfg = 1;
    }
    rc = iam_policy_document(have_cfg ? &cfg : NULL, &doc, err);
    if (!rc) {
        if (app->g.json) {
            json_object *r = json_object_new_object();
            json_object_object_add(r, "policy", json_object_get(doc));
            app_set_result(app, r);
        } else {
            fprintf(app->out, "%s\n",
                    json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
                                                            JSON_C_TO_STRING_SPACED |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE));
        }
    }
    json_object_put(doc);
    if (have_cfg)
        config_free(&cfg);
    return rc;
}
