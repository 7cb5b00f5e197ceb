/* Unit tests for cmd/cmd_iam_policy: every operation the clients' sources can send
 * (aws/cloudfront.c, aws/apprunner.c: each string literal that names an operation of the
 * service's botocore model, plus any literal that looks like an API operation) maps to IAM
 * actions that the policy grants; the table has no operation the sources do not send; the
 * policy grants no action no operation needs, no wildcard action, and narrows App Runner to the
 * configured services. Adding an operation to a client without updating the table fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aws/err.h"
#include "cmd/cmd_iam_policy.h"
#include "cmd/config.h"

#define MAX_LITERALS 4096

struct client {
    const char *service; /* the table's service name */
    const char *source;  /* under CFDR_SOURCE_DIR */
    const char *model;   /* under the botocore data directory */
    size_t min_ops;      /* operations the scan must find at least (it sees the source at all) */
};

static const struct client clients[] = {
    {"cloudfront", "aws/cloudfront.c", "cloudfront/2020-05-31/service-2.json", 10},
    {"apprunner", "aws/apprunner.c", "apprunner/2020-05-15/service-2.json", 7},
    {"cloudwatch", "aws/cloudwatch.c", "cloudwatch/2010-08-01/service-2.json", 4},
    {"sns", "aws/sns.c", "sns/2010-03-31/service-2.json", 5},
};

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    text = malloc((size_t)n + 1);
    if (text && fread(text, 1, (size_t)n, f) != (size_t)n) {
        free(text);
        text = NULL;
    }
    if (text)
        text[n] = '\0';
    fclose(f);
    return text;
}

static char *source_text(const char *rel)
{
    const char *dir = getenv("CFDR_SOURCE_DIR");
    char path[4096];
    char *t;
    if (!dir || !*dir)
        fail_msg("CFDR_SOURCE_DIR is not set (ctest sets it to the source tree)");
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    t = slurp(path);
    if (!t)
        fail_msg("cannot read %s", path);
    return t;
}

static json_object *model_operations(const char *rel)
{
    const char *dir = getenv("CFDR_BOTOCORE_DATA");
    char path[4096];
    json_object *doc, *ops;
    snprintf(path, sizeof(path), "%s/%s",
             dir && *dir ? dir : "/usr/lib/python3/dist-packages/botocore/data", rel);
    doc = json_object_from_file(path);
    if (!doc)
        fail_msg("cannot read the botocore model %s (python3-botocore is a test dependency)", path);
    assert_true(json_object_object_get_ex(doc, "operations", &ops));
    json_object_get(ops);
    json_object_put(doc);
    return ops;
}

/* The C string literals of text (comments and character literals skipped, escapes kept as
 * written). Returns how many were stored in out (each malloc'd). */
static size_t literals(const char *text, char **out, size_t max)
{
    size_t n = 0;
    const char *p = text;
    while (*p) {
        if (p[0] == '/' && p[1] == '/') {
            p = strchr(p, '\n');
            if (!p)
                break;
        } else if (p[0] == '/' && p[1] == '*') {
            p = strstr(p + 2, "*/");
            if (!p)
                break;
            p += 2;
        } else if (*p == '\'') {
            for (p++; *p && *p != '\''; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (*p)
                p++;
        } else if (*p == '"') {
            const char *start = ++p;
            for (; *p && *p != '"'; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (n < max) {
                out[n] = strndup(start, (size_t)(p - start));
                assert_non_null(out[n]);
                n++;
            }
            if (*p)
                p++;
        } else {
            p++;
        }
    }
    return n;
}

/* A literal that reads like an API operation: a verb AWS uses, then more capitalised words. */
static int looks_like_operation(const char *s)
{
    static const char *const verbs[] = {
        "Create",      "Get",          "List",       "Update", "Delete", "Describe", "Pause",
        "Resume",      "Tag",          "Untag",      "Put",    "Start",  "Stop",     "Set",
        "Associate",   "Disassociate", "Invalidate", "Batch",  "Copy",   "Publish",  "Subscribe",
        "Unsubscribe", "Enable",       "Disable",    "Test",   NULL};
    for (const char *const *v = verbs; *v; v++) {
        size_t n = strlen(*v);
        if (strncmp(s, *v, n) == 0 && isupper((unsigned char)s[n])) {
            for (const char *c = s; *c; c++)
                if (!isalnum((unsigned char)*c))
                    return 0;
            return 1;
        }
    }
    return 0;
}

/* Every action the document grants, as one array (new reference). */
static json_object *granted(json_object *doc)
{
    json_object *stmts, *all = json_object_new_array();
    assert_true(json_object_object_get_ex(doc, "Statement", &stmts));
    for (size_t i = 0; i < json_object_array_length(stmts); i++) {
        json_object *a;
        assert_true(json_object_object_get_ex(json_object_array_get_idx(stmts, i), "Action", &a));
        for (size_t j = 0; j < json_object_array_length(a); j++)
            json_object_array_add(all, json_object_get(json_object_array_get_idx(a, j)));
    }
    return all;
}

static int has_string(json_object *arr, const char *s)
{
    for (size_t i = 0; i < json_object_array_length(arr); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), s) == 0)
            return 1;
    return 0;
}

/* Checks one client source text against the model and the policy: returns the number of
 * operations it sends that the policy does not cover (0 is what the real sources must give),
 * and fills found (operations sent, each once) when given. */
static size_t unmapped_operations(const char *service, const char *text, json_object *model_ops,
                                  json_object *actions, json_object *found)
{
    char *lit[MAX_LITERALS];
    size_t n = literals(text, lit, MAX_LITERALS), missing = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *ignored;
        int op = json_object_object_get_ex(model_ops, lit[i], &ignored);
        if (!op && looks_like_operation(lit[i])) {
            print_message("%s: \"%s\" reads like an operation but %s's model has none so named\n",
                          service, lit[i], service);
            missing++;
        }
        if (op) {
            const char *const *a = iam_policy_actions(service, lit[i]);
            if (!a) {
                print_message("%s sends %s, which the IAM policy table does not map\n", service,
                              lit[i]);
                missing++;
            }
            for (; a && *a; a++)
                if (!has_string(actions, *a)) {
                    print_message("%s %s needs %s, which the policy does not grant\n", service,
                                  lit[i], *a);
                    missing++;
                }
            if (found && !has_string(found, lit[i]))
                json_object_array_add(found, json_object_new_string(lit[i]));
        }
        free(lit[i]);
    }
    return missing;
}

static void test_every_operation_the_clients_send_is_granted(void **state)
{
    json_object *doc = NULL, *actions;
    cfdr_err err;
    (void)state;
    assert_int_equal(iam_policy_document(NULL, &doc, &err), CFDR_OK);
    actions = granted(doc);
    for (size_t c = 0; c < sizeof(clients) / sizeof(clients[0]); c++) {
        char *text = source_text(clients[c].source);
        json_object *ops = model_operations(clients[c].model), *found = json_object_new_array();
        assert_int_equal(unmapped_operations(clients[c].service, text, ops, actions, found), 0);
        /* The scan sees the clients' operations at all. */
        if (json_object_array_length(found) < clients[c].min_ops)
            fail_msg("%s: the scan found %zu operations, fewer than %zu", clients[c].source,
                     json_object_array_length(found), clients[c].min_ops);
        /* No stale entry: each table operation of this service is sent by its client. */
        for (const struct iam_policy_op *o = iam_policy_ops; o->service; o++)
            if (strcmp(o->service, clients[c].service) == 0 && !has_string(found, o->operation))
                fail_msg("the IAM table maps %s %s, which %s never sends", o->service, o->operation,
                         clients[c].source);
        json_object_put(found);
        json_object_put(ops);
        free(text);
    }
    json_object_put(actions);
    json_object_put(doc);
}

/* The check above can fail: a client that sent one more operation would be caught. */
static void test_a_new_operation_fails_the_check(void **state)
{
    json_object *doc = NULL, *actions, *ops = model_operations(clients[0].model);
    static const char fake[] = "/* \"CreateInvalidation\" in a comment does not count */\n"
                               "request_init(&rq, \"GetDistribution\", \"GET\", path, NULL);\n"
                               "request_init(&rq, \"CreateInvalidation\", \"POST\", path, NULL);\n"
                               "char c = '\"';\n";
    cfdr_err err;
    (void)state;
    assert_int_equal(iam_policy_document(NULL, &doc, &err), CFDR_OK);
    actions = granted(doc);
    assert_int_equal(unmapped_operations("cloudfront", fake, ops, actions, NULL), 1);
    assert_int_equal(
        unmapped_operations("cloudfront", "\"CreateDistributionWithTags\"", ops, actions, NULL), 0);
    /* A literal that reads like an operation the model does not have is flagged too. */
    assert_int_equal(unmapped_operations("cloudfront", "\"DeleteEverything\"", ops, actions, NULL),
                     1);
    json_object_put(actions);
    json_object_put(ops);
    json_object_put(doc);
}

static void test_least_privilege(void **state)
{
    json_object *doc = NULL, *actions;
    cfdr_err err;
    (void)state;
    assert_int_equal(iam_policy_document(NULL, &doc, &err), CFDR_OK);
    assert_string_equal(json_object_get_string(json_object_object_get(doc, "Version")),
                        "2012-10-17");
    actions = granted(doc);
    for (size_t i = 0; i < json_object_array_length(actions); i++) {
        const char *a = json_object_get_string(json_object_array_get_idx(actions, i));
        int needed = 0;
        assert_null(strchr(a, '*'));
        for (const struct iam_policy_op *o = iam_policy_ops; o->service && !needed; o++)
            for (const char *const *x = o->actions; *x; x++)
                needed |= strcmp(*x, a) == 0;
        if (!needed)
            fail_msg("the policy grants %s, which no operation needs", a);
        for (size_t j = i + 1; j < json_object_array_length(actions); j++)
            assert_string_not_equal(a,
                                    json_object_get_string(json_object_array_get_idx(actions, j)));
    }
    /* The operations this brief names, and the dependent actions. */
    assert_true(has_string(actions, "cloudfront:CreateDistribution"));
    assert_true(has_string(actions, "cloudfront:TagResource"));
    assert_true(has_string(actions, "apprunner:TagResource"));
    assert_true(has_string(actions, "iam:CreateServiceLinkedRole"));
    assert_null(iam_policy_actions("cloudfront", "CreateInvalidation"));
    assert_null(iam_policy_actions("apprunner", "GetDistribution"));
    /* alarms (PRODUCT.md section 5): CreateTopic with tags needs sns:TagResource */
    assert_true(has_string(actions, "cloudwatch:PutMetricAlarm"));
    assert_true(has_string(actions, "cloudwatch:SetAlarmState"));
    assert_true(has_string(actions, "sns:TagResource"));
    assert_true(has_string(actions, "cloudfront:CreateMonitoringSubscription"));
    json_object_put(actions);
    json_object_put(doc);
}

static json_object *statement(json_object *doc, const char *sid)
{
    json_object *stmts = json_object_object_get(doc, "Statement");
    for (size_t i = 0; i < json_object_array_length(stmts); i++) {
        json_object *s = json_object_array_get_idx(stmts, i);
        assert_string_equal(json_object_get_string(json_object_object_get(s, "Effect")), "Allow");
        assert_non_null(json_object_object_get(s, "Resource"));
        if (strcmp(json_object_get_string(json_object_object_get(s, "Sid")), sid) == 0)
            return s;
    }
    fail_msg("no statement %s", sid);
    return NULL;
}

static void test_resources(void **state)
{
    struct cfdr_config cfg;
    json_object *doc = NULL, *s, *r;
    cfdr_err err;
    (void)state;
    config_defaults(&cfg);
    snprintf(cfg.project, sizeof(cfg.project), "dr-demo");
    snprintf(cfg.primary.region, sizeof(cfg.primary.region), "us-east-1");
    snprintf(cfg.primary.service, sizeof(cfg.primary.service), "dr-demo-east");
    snprintf(cfg.secondary.region, sizeof(cfg.secondary.region), "eu-west-1");
    snprintf(cfg.secondary.service, sizeof(cfg.secondary.service), "dr-demo-west");
    assert_int_equal(iam_policy_document(&cfg, &doc, &err), CFDR_OK);
    s = statement(doc, "CfdrAppRunnerServices");
    r = json_object_object_get(s, "Resource");
    assert_true(json_object_is_type(r, json_type_array));
    assert_int_equal(json_object_array_length(r), 2);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(r, 0)),
                        "arn:aws:apprunner:us-east-1:*:service/dr-demo-east/*");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(r, 1)),
                        "arn:aws:apprunner:eu-west-1:*:service/dr-demo-west/*");
    assert_false(has_string(json_object_object_get(s, "Action"), "apprunner:ListServices"));
    s = statement(doc, "CfdrListings");
    assert_string_equal(json_object_get_string(json_object_object_get(s, "Resource")), "*");
    assert_true(has_string(json_object_object_get(s, "Action"), "apprunner:ListServices"));
    assert_true(has_string(json_object_object_get(s, "Action"), "cloudfront:ListDistributions"));
    s = statement(doc, "CfdrDistributions");
    assert_string_equal(json_object_get_string(json_object_object_get(s, "Resource")),
                        "arn:aws:cloudfront::*:distribution/*");
    s = statement(doc, "CfdrAppRunnerServiceLinkedRole");
    assert_string_equal(
        json_object_get_string(json_object_object_get(
            json_object_object_get(json_object_object_get(s, "Condition"), "StringLike"),
            "iam:AWSServiceName")),
        "apprunner.amazonaws.com");
    s = statement(doc, "CfdrAlarms");
    assert_string_equal(json_object_get_string(json_object_object_get(s, "Resource")),
                        "arn:aws:cloudwatch:*:*:alarm:dr-demo-*");
    assert_true(has_string(json_object_object_get(s, "Action"), "cloudwatch:DescribeAlarms"));
    s = statement(doc, "CfdrAlarmTopics");
    assert_string_equal(json_object_get_string(json_object_object_get(s, "Resource")),
                        "arn:aws:sns:*:*:dr-demo-alarms");
    assert_true(has_string(json_object_object_get(s, "Action"), "sns:Subscribe"));
    json_object_put(doc);
    assert_int_equal(iam_policy_document(NULL, &doc, &err), CFDR_OK);
    assert_string_equal(json_object_get_string(json_object_object_get(
                            statement(doc, "CfdrAppRunnerServices"), "Resource")),
                        "arn:aws:apprunner:*:*:service/*/*");
    json_object_put(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_operation_the_clients_send_is_granted),
        cmocka_unit_test(test_a_new_operation_fails_the_check),
        cmocka_unit_test(test_least_privilege),
        cmocka_unit_test(test_resources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
