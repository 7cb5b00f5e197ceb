/* Unit tests for cmd/config: loading, every validation rule with its exact message, defaults,
 * canonical JSON round trip, the starter file, atomic writes, JSON syntax positions, and
 * robustness against truncated and mutated documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "aws/buf.h"
#include "aws/err.h"
#include "cmd/config.h"

/* The required part, used by most cases. */
#define REQ                                                                                        \
    "\"project\":\"dr-demo\",\"primary\":{\"region\":\"us-east-1\",\"service\":\"dr-demo-east\"}," \
    "\"secondary\":{\"region\":\"us-west-2\",\"service\":\"dr-demo-west\"}"
#define DOC(extra) "{" REQ extra "}"
#define ORIGINS(p, s) "{\"project\":\"dr-demo\",\"primary\":" p ",\"secondary\":" s "}"

/* PRODUCT.md section 2's example, verbatim. */
static const char product_example[] =
    "{\n"
    "  \"project\": \"dr-demo\",\n"
    "  \"primary\":   { \"region\": \"us-east-1\", \"service\": \"dr-demo-east\" },\n"
    "  \"secondary\": { \"region\": \"us-west-2\", \"service\": \"dr-demo-west\" },\n"
    "  \"origin_group\": {\n"
    "    \"failover_status_codes\": [403, 404, 500, 502, 503, 504],\n"
    "    \"connection_timeout_s\": 10, \"connection_attempts\": 3, \"response_timeout_s\": 30\n"
    "  },\n"
    "  \"alarms\": { \"email\": [\"oncall@example.com\"], \"https\": "
    "[\"https://hooks.example.com/cfdr\"],\n"
    "              \"period_s\": 60, \"smtp\": \"smtp://127.0.0.1:2525\" },\n"
    "  \"drill\": { \"rate\": 10, \"duration_s\": 300, \"served_by_header\": \"x-region\" }\n"
    "}\n";

/* Every field away from its default, with comments of both kinds. */
static const char full_doc[] =
    "// a full configuration\n"
    "{\n"
    "  \"project\": \"shop-7\", /* inline */\n"
    "  \"primary\": {\"region\": \"eu-west-1\", \"service\": \"shop_primary\"},\n"
    "  \"secondary\": {\"region\": \"eu-central-1\", \"service\": \"shop-secondary\"},\n"
    "  \"origin_group\": {\"failover_status_codes\": [504, 400, 416],\n"
    "    \"connection_timeout_s\": 2, \"connection_attempts\": 1, \"response_timeout_s\": 7},\n"
    "  \"alarms\": {\"email\": [\"a.b+dr@example.co.uk\", \"ops@example.org\"],\n"
    "    \"https\": [\"http://127.0.0.1:8025/hook?x=1\", \"https://[::1]:8443/\"],\n"
    "    \"period_s\": 120, \"smtp\": \"smtps://mail.example.com:465\"},\n"
    "  \"drill\": {\"rate\": 250, \"duration_s\": 42, \"served_by_header\": \"X-Served-By\"}\n"
    "}\n";

static cfdr_code load(const char *json, struct cfdr_config *cfg, cfdr_err *err)
{
    err_clear(err);
    return config_load_string(json, "cfdr.json", cfg, err);
}

/* ---------------------------------------------------------------------------------------------
 * Defaults and successful loads.
 */

static void assert_default_tail(const struct cfdr_config *c)
{
    static const int codes[] = {403, 404, 500, 502, 503, 504};
    assert_int_equal(c->origin_group.n_failover_status_codes, 6);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(c->origin_group.failover_status_codes[i], codes[i]);
    assert_int_equal(c->origin_group.connection_timeout_s, 10);
    assert_int_equal(c->origin_group.connection_attempts, 3);
    assert_int_equal(c->origin_group.response_timeout_s, 30);
    assert_int_equal(c->alarms.n_email, 0);
    assert_null(c->alarms.email);
    assert_int_equal(c->alarms.n_https, 0);
    assert_null(c->alarms.https);
    assert_int_equal(c->alarms.period_s, 60);
    assert_null(c->alarms.smtp);
    assert_int_equal(c->drill.rate, 10);
    assert_int_equal(c->drill.duration_s, 300);
    assert_string_equal(c->drill.served_by_header, "x-region");
}

static void test_defaults(void **state)
{
    struct cfdr_config c;
    (void)state;
    memset(&c, 0x5a, sizeof(c));
    config_defaults(&c);
    assert_string_equal(c.project, "");
    assert_string_equal(c.primary.region, "");
    assert_string_equal(c.primary.service, "");
    assert_string_equal(c.secondary.region, "");
    assert_string_equal(c.secondary.service, "");
    assert_default_tail(&c);
    config_free(&c);
    config_free(NULL);
}

static void test_minimal_document_gets_defaults(void **state)
{
    struct cfdr_config c;
    cfdr_err e;
    (void)state;
    assert_int_equal(load(DOC(""), &c, &e), CFDR_OK);
    assert_string_equal(e.msg, "");
    assert_string_equal(c.project, "dr-demo");
    assert_string_equal(c.primary.region, "us-east-1");
    assert_string_equal(c.primary.service, "dr-demo-east");
    assert_string_equal(c.secondary.region, "us-west-2");
    assert_string_equal(c.secondary.service, "dr-demo-west");
    assert_default_tail(&c);
    config_free(&c);

    /* empty sections mean all their defaults */
    assert_int_equal(load(DOC(",\"origin_group\":{},\"alarms\":{},\"drill\":{}"), &c, &e), CFDR_OK);
    assert_default_tail(&c);
    config_free(&c);
}

static void test_product_example_loads(void **state)
{
    struct cfdr_config c;
    cfdr_err e;
    (void)state;
    assert_int_equal(load(product_example, &c, &e), CFDR_OK);
    assert_int_equal(c.alarms.n_email, 1);
    assert_string_equal(c.alarms.email[0], "oncall@example.com");
    assert_int_equal(c.alarms.n_https, 1);
    assert_string_equal(c.alarms.https[0], "https://hooks.example.com/cfdr");
    assert_string_equal(c.alarms.smtp, "smtp://127.0.0.1:2525");
    assert_int_equal(c.alarms.period_s, 60);
    config_free(&c);
    /* config_free leaves the defaults */
    assert_null(c.alarms.email);
    assert_null(c.alarms.smtp);
    assert_string_equal(c.project, "");
}

static void test_full_document_fields(void **state)
{
    struct cfdr_config c;
    cfdr_err e;
    (void)state;
    assert_int_equal(load(full_doc, &c, &e), CFDR_OK);
    assert_string_equal(c.project, "shop-7");
    assert_string_equal(c.primary.region, "eu-west-1");
    assert_string_equal(c.primary.service, "shop_primary");
    assert_string_equal(c.secondary.region, "eu-central-1");
    assert_string_equal(c.secondary.service, "shop-secondary");
    assert_int_equal(c.origin_group.n_failover_status_codes, 3);
    assert_int_equal(c.origin_group.failover_status_codes[0], 504);
    assert_int_equal(c.origin_group.failover_status_codes[1], 400);
    assert_int_equal(c.origin_group.failover_status_codes[2], 416);
    assert_int_equal(c.origin_group.connection_timeout_s, 2);
    assert_int_equal(c.origin_group.connection_attempts, 1);
    assert_int_equal(c.origin_group.response_timeout_s, 7);
    assert_int_equal(c.alarms.n_email, 2);
    assert_string_equal(c.alarms.email[0], "a.b+dr@example.co.uk");
    assert_string_equal(c.alarms.email[1], "ops@example.org");
    assert_int_equal(c.alarms.n_https, 2);
    assert_string_equal(c.alarms.https[0], "http://127.0.0.1:8025/hook?x=1");
    assert_string_equal(c.alarms.https[1], "https://[::1]:8443/");
    assert_int_equal(c.alarms.period_s, 120);
    assert_string_equal(c.alarms.smtp, "smtps://mail.example.com:465");
    assert_int_equal(c.drill.rate, 250);
    assert_int_equal(c.drill.duration_s, 42);
    assert_string_equal(c.drill.served_by_header, "X-Served-By");
    assert_int_equal(config_validate(&c, &e), CFDR_OK);
    config_free(&c);
}

/* Values at the edges of every rule that must be accepted. */
static void test_accepted_values(void **state)
{
    static const char *const good[] = {
        "{\"project\":\"a\",\"primary\":{\"region\":\"us-east-1\",\"service\":\"abcd\"},"
        "\"secondary\":{\"region\":\"us-east-1\",\"service\":\"abce\"}}",
        "{\"project\":\"abcdefghijklmnopqrstuvwxyz012345\",\"primary\":{\"region\":\"il-central-"
        "1\","
        "\"service\":\"a234567890123456789012345678901234567890\"},\"secondary\":{\"region\":"
        "\"mx-central-1\",\"service\":\"a234567890123456789012345678901234567890\"}}",
        ORIGINS("{\"region\":\"ap-southeast-3\",\"service\":\"Svc_1-a\"}",
                "{\"region\":\"af-south-1\",\"service\":\"9svc\"}"),
        ORIGINS("{\"region\":\"ca-central-1\",\"service\":\"same\"}",
                "{\"region\":\"sa-east-1\",\"service\":\"same\"}"),
        ORIGINS("{\"region\":\"me-south-1\",\"service\":\"one1\"}",
                "{\"region\":\"me-south-1\",\"service\":\"two2\"}"),
        DOC(",\"origin_group\":{\"failover_status_codes\":[400,403,404,416,500,502,503,504]}"),
        DOC(",\"origin_group\":{\"failover_status_codes\":[503]}"),
        DOC(",\"origin_group\":{\"connection_timeout_s\":1,\"connection_attempts\":1,"
            "\"response_timeout_s\":1}"),
        DOC(",\"origin_group\":{\"connection_timeout_s\":10,\"connection_attempts\":3,"
            "\"response_timeout_s\":60}"),
        DOC(",\"alarms\":{\"period_s\":1}"),
        DOC(",\"alarms\":{\"period_s\":9}"),
        DOC(",\"alarms\":{\"period_s\":10}"),
        DOC(",\"alarms\":{\"period_s\":20}"),
        DOC(",\"alarms\":{\"period_s\":30}"),
        DOC(",\"alarms\":{\"period_s\":300}"),
        DOC(",\"alarms\":{\"period_s\":86400}"),
        DOC(",\"alarms\":{\"email\":[],\"https\":[]}"),
        DOC(",\"alarms\":{\"email\":[\"x@a.io\",\"first.last@sub.example.com\","
            "\"o'brien!#$%&*+/=?^_`{|}~-@example.museum\",\"u@xn--bcher-kva.example\"]}"),
        DOC(",\"alarms\":{\"https\":[\"HTTPS://Example.COM\",\"http://localhost\","
            "\"https://u:p@hooks.example.com/a/b?c=d#e\",\"http://10.0.0.1:65535\"]}"),
        DOC(",\"alarms\":{\"smtp\":\"smtp://localhost\"}"),
        DOC(",\"alarms\":{\"smtp\":\"smtp://[::1]:2525\"}"),
        DOC(",\"drill\":{\"rate\":1,\"duration_s\":1,\"served_by_header\":\"a\"}"),
        DOC(",\"drill\":{\"rate\":1000,\"duration_s\":3600,"
            "\"served_by_header\":\"!#$%&'*+-.^_`|~09azAZ\"}"),
        DOC(",\"drill\":{\"served_by_header\":"
            "\"h234567890123456789012345678901234567890123456789012345678901234\"}"),
        /* whitespace, a byte order mark, comments in odd places, escapes in strings */
        "\xEF\xBB\xBF" DOC(""),
        "  \n\t" DOC("") "\n\n  ",
        "/**/{//\n" REQ "/* } */}//end",
        "{\"pro\\u006aect\":\"dr-demo\",\"primary\":{\"region\":\"us-east-1\",\"service\":"
        "\"dr-demo-east\"},\"secondary\":{\"region\":\"us-west-2\",\"service\":\"dr-demo-west\"}}",
        DOC(",\"alarms\":{\"https\":[\"https://example.com/a//b\"]}"),
    };
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct cfdr_config c;
        cfdr_err e;
        cfdr_code rc = load(good[i], &c, &e);
        if (rc != CFDR_OK)
            fail_msg("good[%zu] rejected: %s\n%s", i, e.msg, good[i]);
        /* whatever loads also passes config_validate */
        rc = config_validate(&c, &e);
        if (rc != CFDR_OK)
            fail_msg("good[%zu] fails config_validate: %s", i, e.msg);
        config_free(&c);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Every rule: the exact message (path and allowed values).
 */

struct bad_case {
    const char *json;
    const char *want;   /* substring of the message */
    const char *want2;  /* another one, or NULL */
    const char *absent; /* must not appear, or NULL */
};

#define CODES "(allowed: 400, 403, 404, 416, 500, 502, 503, 504)"
#define TOP_KEYS "(allowed: project, primary, secondary, origin_group, alarms, drill)"
#define GROUP_KEYS                                                                                 \
    "(allowed: failover_status_codes, connection_timeout_s, connection_attempts, "                 \
    "response_timeout_s)"
#define PERIODS                                                                                    \
    "(allowed: in AWS mode a multiple of 60 up to 86400 (AWS/AppRunner and AWS/CloudFront "        \
    "metrics have one datapoint a minute); in --local mode also 1-10, 20 or 30)"
#define REGION_MSG "is not an AWS region name (expected e.g. us-east-1"
#define SERVICE_MSG                                                                                \
    "is not an App Runner service name (allowed: 4-40 letters, digits, hyphens and underscores, "  \
    "starting with a letter or digit)"
#define PROJECT_MSG                                                                                \
    "is not usable in resource names (allowed: 1-32 lowercase letters, digits and hyphens, "       \
    "starting and ending with a letter or digit, e.g. dr-demo)"
#define EMAIL_MSG "is not an email address (expected local@domain.tld, e.g. oncall@example.com)"
#define HOOK_MSG                                                                                   \
    "is not a webhook URL: %s (expected https:// or http://host[:port][/path], e.g. "              \
    "https://hooks.example.com/cfdr)"

static const struct bad_case bad_cases[] = {
    /* unknown keys at every level, allowed keys listed, near misses suggested */
    {DOC(",\"extra\":1"), "cfdr.json: extra: unknown key " TOP_KEYS, NULL, "did you mean"},
    {DOC(",\"drll\":{}"), "drll: unknown key " TOP_KEYS "; did you mean \"drill\"?", NULL, NULL},
    {DOC(",\"alarms\":{\"emial\":[]}"),
     "alarms.emial: unknown key (allowed: email, https, period_s, smtp); did you mean \"email\"?",
     NULL, NULL},
    {DOC(",\"origin_group\":{\"attempts\":3}"), "origin_group.attempts: unknown key " GROUP_KEYS,
     NULL, NULL},
    {DOC(",\"origin_group\":{\"connection_attempt\":3}"), "did you mean \"connection_attempts\"?",
     NULL, NULL},
    {DOC(",\"drill\":{\"zzzzzzzz\":1}"),
     "drill.zzzzzzzz: unknown key (allowed: rate, duration_s, served_by_header)", NULL,
     "did you mean"},
    {ORIGINS("{\"region\":\"us-east-1\",\"service\":\"dr-demo-east\",\"servce\":\"x\"}",
             "{\"region\":\"us-west-2\",\"service\":\"dr-demo-west\"}"),
     "primary.servce: unknown key (allowed: region, service); did you mean \"service\"?", NULL,
     NULL},
    {DOC(",\"drill\":{\"with space\":1}"), "drill[\"with space\"]: unknown key", NULL, NULL},
    {DOC(",\"Project\":1"), "Project: unknown key", "did you mean \"project\"?", NULL},
    /* the top level */
    {"[1,2]", "cfdr.json: expected a JSON object at the top level", "got an array", NULL},
    {"\"x\"", "expected a JSON object at the top level", "got a string", NULL},
    {"42", "expected a JSON object at the top level", "got an integer", NULL},
    {"null", "expected a JSON object at the top level", "got null", NULL},
    {DOC(",\"alarms\":null"), "alarms: expected an object with email", "got null", NULL},
    {ORIGINS("null", "{\"region\":\"us-west-2\",\"service\":\"dr-demo-west\"}"),
     "primary: expected an object with \"region\" and \"service\"", "got null", NULL},
    {"{\"project\":null}", "project: expected a project name", "got null", NULL},
    {DOC(",\"alarms\":{\"email\":[null]}"), "alarms.email[0]: expected an email address",
     "got null", NULL},
    {DOC(",\"origin_group\":{\"failover_status_codes\":null}"),
     "origin_group.failover_status_codes: expected an array of status codes", "got null", NULL},
    {DOC(",\"drill\":{\"served_by_header\":null}"),
     "drill.served_by_header: expected an HTTP header name", "got null", NULL},
    /* project */
    {"{\"primary\":{\"region\":\"us-east-1\",\"service\":\"dr-demo-east\"},\"secondary\":{"
     "\"region\":\"us-west-2\",\"service\":\"dr-demo-west\"}}",
     "cfdr.json: project: missing (required: a project name (1-32 lowercase", NULL, NULL},
    {"{\"project\":7}", "project: expected a project name", "got an integer", NULL},
    {"{\"project\":\"Dr-Demo\"}", "project: \"Dr-Demo\" " PROJECT_MSG, NULL, NULL},
    {"{\"project\":\"-dr\"}", "project: \"-dr\" " PROJECT_MSG, NULL, NULL},
    {"{\"project\":\"dr-\"}", "project: \"dr-\" " PROJECT_MSG, NULL, NULL},
    {"{\"project\":\"\"}", "project: \"\" " PROJECT_MSG, NULL, NULL},
    {"{\"project\":\"dr_demo\"}", "project: \"dr_demo\" " PROJECT_MSG, NULL, NULL},
    {"{\"project\":\"abcdefghijklmnopqrstuvwxyz0123456\"}", PROJECT_MSG, NULL, NULL},
    {"{\"project\":\"a\\u0000b\"}", "project: contains a NUL character", NULL, NULL},
    /* origins */
    {"{\"project\":\"p\",\"secondary\":{\"region\":\"us-west-2\",\"service\":\"dr-demo-west\"}}",
     "primary: missing (required: an object with \"region\" and \"service\"", NULL, NULL},
    {"{\"project\":\"p\",\"primary\":{\"region\":\"us-west-2\",\"service\":\"dr-demo-west\"}}",
     "secondary: missing (required: an object with \"region\" and \"service\"", NULL, NULL},
    {ORIGINS("\"us-east-1\"", "{\"region\":\"us-west-2\",\"service\":\"dr-demo-west\"}"),
     "primary: expected an object with \"region\" and \"service\"", "got a string", NULL},
    {ORIGINS("{\"service\":\"dr-demo-east\"}", "{\"region\":\"us-west-2\",\"service\":\"abcd\"}"),
     "primary.region: missing (required: an AWS region name such as us-east-1)", NULL, NULL},
    {ORIGINS("{\"region\":\"us-east-1\"}", "{\"region\":\"us-west-2\",\"service\":\"abcd\"}"),
     "primary.service: missing (required: the App Runner service name", NULL, NULL},
    {ORIGINS("{\"region\":\"us-east\",\"service\":\"dr-demo-east\"}",
             "{\"region\":\"us-west-2\",\"service\":\"abcd\"}"),
     "primary.region: \"us-east\" " REGION_MSG, NULL, NULL},
    {ORIGINS("{\"region\":\"us-east-1\",\"service\":\"dr-demo-east\"}",
             "{\"region\":\"US-WEST-2\",\"service\":\"abcd\"}"),
     "secondary.region: \"US-WEST-2\" " REGION_MSG, NULL, NULL},
    {ORIGINS("{\"region\":\"cn-north-1\",\"service\":\"dr-demo-east\"}",
             "{\"region\":\"us-west-2\",\"service\":\"abcd\"}"),
     "primary.region: \"cn-north-1\" " REGION_MSG, NULL, NULL},
    {ORIGINS("{\"region\":\"us-gov-west-1\",\"service\":\"dr-demo-east\"}",
             "{\"region\":\"us-west-2\",\"service\":\"abcd\"}"),
     "primary.region: \"us-gov-west-1\" " REGION_MSG, NULL, NULL},
    {ORIGINS("{\"region\":\"us-east-1 \",\"service\":\"dr-demo-east\"}",
             "{\"region\":\"us-west-2\",\"service\":\"abcd\"}"),
     "primary.region: \"us-east-1 \" " REGION_MSG, NULL, NULL},
    {ORIGINS("{\"region\":1,\"service\":\"dr-demo-east\"}",
             "{\"region\":\"us-west-2\",\"service\":\"abcd\"}"),
     "primary.region: expected an AWS region name such as us-east-1, got an integer", NULL, NULL},
    {ORIGINS("{\"region\":\"us-east-1\",\"service\":\"abc\"}",
             "{\"region\":\"us-west-2\",\"service\":\"abcd\"}"),
     "primary.service: \"abc\" " SERVICE_MSG, NULL, NULL},
    {ORIGINS("{\"region\":\"us-east-1\",\"service\":\"_abc\"}",
             "{\"region\":\"us-west-2\",\"service\":\"abcd\"}"),
     "primary.service: \"_abc\" " SERVICE_MSG, NULL, NULL},
    {ORIGINS("{\"region\":\"us-east-1\",\"service\":\"dr.demo\"}",
             "{\"region\":\"us-west-2\",\"service\":\"abcd\"}"),
     "primary.service: \"dr.demo\" " SERVICE_MSG, NULL, NULL},
    {ORIGINS("{\"region\":\"us-east-1\",\"service\":\"abcd\"}",
             "{\"region\":\"us-west-2\",\"service\":"
             "\"a2345678901234567890123456789012345678901\"}"),
     "secondary.service: \"a2345678901234567890123456789012345678901\" " SERVICE_MSG, NULL, NULL},
    /* two distinct origins */
    {ORIGINS("{\"region\":\"us-east-1\",\"service\":\"dr-demo\"}",
             "{\"region\":\"us-east-1\",\"service\":\"dr-demo\"}"),
     "cfdr.json: secondary: is the same origin as primary (service dr-demo in us-east-1); the two "
     "origins must differ in region or service name",
     NULL, NULL},
    /* failover status codes */
    {DOC(",\"origin_group\":{\"failover_status_codes\":[403,404,302]}"),
     "origin_group.failover_status_codes[2]: 302 is not allowed " CODES, NULL, NULL},
    {DOC(",\"origin_group\":{\"failover_status_codes\":[200]}"),
     "origin_group.failover_status_codes[0]: 200 is not allowed " CODES, NULL, NULL},
    {DOC(",\"origin_group\":{\"failover_status_codes\":[500,502,503,500]}"),
     "origin_group.failover_status_codes[3]: 500 is listed twice", NULL, NULL},
    {DOC(",\"origin_group\":{\"failover_status_codes\":[]}"),
     "origin_group.failover_status_codes: must list at least one status code " CODES, NULL, NULL},
    {DOC(",\"origin_group\":{\"failover_status_codes\":500}"),
     "origin_group.failover_status_codes: expected an array of status codes " CODES,
     "got an integer", NULL},
    {DOC(",\"origin_group\":{\"failover_status_codes\":[\"500\"]}"),
     "origin_group.failover_status_codes[0]: expected an integer status code " CODES,
     "got a string", NULL},
    {DOC(",\"origin_group\":{\"failover_status_codes\":[500.0]}"),
     "failover_status_codes[0]: expected an integer status code",
     "got a number that is not an "
     "integer",
     NULL},
    /* origin timeouts and attempts */
    {DOC(",\"origin_group\":{\"connection_attempts\":5}"),
     "cfdr.json: origin_group.connection_attempts: 5 is out of range 1-3", NULL, NULL},
    {DOC(",\"origin_group\":{\"connection_attempts\":0}"),
     "origin_group.connection_attempts: 0 is out of range 1-3", NULL, NULL},
    {DOC(",\"origin_group\":{\"connection_timeout_s\":11}"),
     "origin_group.connection_timeout_s: 11 is out of range 1-10", NULL, NULL},
    {DOC(",\"origin_group\":{\"connection_timeout_s\":-1}"),
     "origin_group.connection_timeout_s: -1 is out of range 1-10", NULL, NULL},
    {DOC(",\"origin_group\":{\"response_timeout_s\":61}"),
     "origin_group.response_timeout_s: 61 is out of range 1-60", NULL, NULL},
    {DOC(",\"origin_group\":{\"response_timeout_s\":30.5}"),
     "origin_group.response_timeout_s: expected an integer 1-60, got a number that is not an "
     "integer",
     NULL, NULL},
    {DOC(",\"origin_group\":{\"response_timeout_s\":\"30\"}"),
     "origin_group.response_timeout_s: expected an integer 1-60, got a string", NULL, NULL},
    {DOC(",\"origin_group\":{\"connection_attempts\":true}"),
     "origin_group.connection_attempts: expected an integer 1-3, got a boolean", NULL, NULL},
    {DOC(",\"origin_group\":{\"connection_attempts\":null}"),
     "origin_group.connection_attempts: expected an integer 1-3, got null", NULL, NULL},
    {DOC(",\"origin_group\":{\"connection_attempts\":99999999999999999999}"),
     "origin_group.connection_attempts: ", "is out of range 1-3", NULL},
    {DOC(",\"origin_group\":{\"connection_attempts\":-9223372036854775809}"),
     "origin_group.connection_attempts: ", "is out of range 1-3", NULL},
    {DOC(",\"origin_group\":[]"), "origin_group: expected an object with failover_status_codes",
     "got an array", NULL},
    /* alarm period */
    {DOC(",\"alarms\":{\"period_s\":45}"), "alarms.period_s: 45 is not allowed " PERIODS, NULL,
     NULL},
    {DOC(",\"alarms\":{\"period_s\":15}"), "alarms.period_s: 15 is not allowed", NULL, NULL},
    {DOC(",\"alarms\":{\"period_s\":40}"), "alarms.period_s: 40 is not allowed", NULL, NULL},
    {DOC(",\"alarms\":{\"period_s\":0}"), "alarms.period_s: 0 is not allowed", NULL, NULL},
    {DOC(",\"alarms\":{\"period_s\":-60}"), "alarms.period_s: -60 is not allowed", NULL, NULL},
    {DOC(",\"alarms\":{\"period_s\":86460}"), "alarms.period_s: 86460 is not allowed", NULL, NULL},
    {DOC(",\"alarms\":{\"period_s\":\"60\"}"),
     "alarms.period_s: expected an integer (allowed: in AWS mode a multiple of 60", "got a string",
     NULL},
    {DOC(",\"alarms\":[]"), "alarms: expected an object with email, https, period_s, smtp",
     "got an array", NULL},
    /* email */
    {DOC(",\"alarms\":{\"email\":[\"oncall\"]}"), "alarms.email[0]: \"oncall\" " EMAIL_MSG, NULL,
     NULL},
    {DOC(",\"alarms\":{\"email\":[\"ok@example.com\",\"a@localhost\"]}"),
     "alarms.email[1]: \"a@localhost\" " EMAIL_MSG, NULL, NULL},
    {DOC(",\"alarms\":{\"email\":[\"a..b@example.com\"]}"), "alarms.email[0]: \"a..b@example.com\"",
     EMAIL_MSG, NULL},
    {DOC(",\"alarms\":{\"email\":[\".a@example.com\"]}"), EMAIL_MSG, NULL, NULL},
    {DOC(",\"alarms\":{\"email\":[\"@example.com\"]}"), EMAIL_MSG, NULL, NULL},
    {DOC(",\"alarms\":{\"email\":[\"a@b@example.com\"]}"), EMAIL_MSG, NULL, NULL},
    {DOC(",\"alarms\":{\"email\":[\"a b@example.com\"]}"), EMAIL_MSG, NULL, NULL},
    {DOC(",\"alarms\":{\"email\":[\"a@-x.example.com\"]}"), EMAIL_MSG, NULL, NULL},
    {DOC(",\"alarms\":{\"email\":[\"a@example.c\"]}"), EMAIL_MSG, NULL, NULL},
    {DOC(",\"alarms\":{\"email\":[\"a@example.123\"]}"), EMAIL_MSG, NULL, NULL},
    {DOC(",\"alarms\":{\"email\":[\"a@example..com\"]}"), EMAIL_MSG, NULL, NULL},
    {DOC(",\"alarms\":{\"email\":[\"a@example.com.\"]}"), EMAIL_MSG, NULL, NULL},
    {DOC(",\"alarms\":{\"email\":[\"x@example.com\",\"X@EXAMPLE.com\"]}"),
     "alarms.email[1]: is listed twice (each entry may appear once)", NULL, NULL},
    {DOC(",\"alarms\":{\"email\":\"oncall@example.com\"}"),
     "alarms.email: expected an array of email addresses", "got a string", NULL},
    {DOC(",\"alarms\":{\"email\":[1]}"),
     "alarms.email[0]: expected an email address such as \"oncall@example.com\", got an integer",
     NULL, NULL},
    /* https */
    {DOC(",\"alarms\":{\"https\":[\"ftp://example.com/x\"]}"),
     "alarms.https[0]: \"ftp://example.com/...\"",
     "is not a webhook URL: wrong scheme (expected https:// or http://host", NULL},
    {DOC(",\"alarms\":{\"https\":[\"https://\"]}"), "alarms.https[0]: \"https://\"",
     "is not a webhook URL: no host", NULL},
    {DOC(",\"alarms\":{\"https\":[\"https:///path\"]}"), "is not a webhook URL: no host", NULL,
     NULL},
    {DOC(",\"alarms\":{\"https\":[\"https://example.com:0/\"]}"), "port must be 1-65535", NULL,
     NULL},
    {DOC(",\"alarms\":{\"https\":[\"https://example.com:65536\"]}"), "port must be 1-65535", NULL,
     NULL},
    {DOC(",\"alarms\":{\"https\":[\"https://example.com:/\"]}"), "port must be 1-65535", NULL,
     NULL},
    {DOC(",\"alarms\":{\"https\":[\"https://example.com:8x/\"]}"), "port must be 1-65535", NULL,
     NULL},
    {DOC(",\"alarms\":{\"https\":[\"https://exa mple.com/\"]}"),
     "spaces, control and non-ASCII characters must be percent-encoded", NULL, NULL},
    {DOC(",\"alarms\":{\"https\":[\"https://example.com/caf\xc3\xa9\"]}"),
     "spaces, control and non-ASCII characters must be percent-encoded", NULL, NULL},
    {DOC(",\"alarms\":{\"https\":[\"https://[::1/\"]}"), "bad IPv6 address", NULL, NULL},
    {DOC(",\"alarms\":{\"https\":[\"https://[zz::1]/\"]}"), "bad IPv6 address", NULL, NULL},
    {DOC(",\"alarms\":{\"https\":[\"https://ex_ample.com/\"]}"), "bad host name", NULL, NULL},
    {DOC(",\"alarms\":{\"https\":[\"https://-bad.com/\"]}"), "bad host name", NULL, NULL},
    {DOC(",\"alarms\":{\"https\":[\"hooks.example.com\"]}"), "wrong scheme", NULL, NULL},
    /* credentials and path tokens in a bad URL never reach the message */
    {DOC(",\"alarms\":{\"https\":[\"https://user:s3cr3tpw@bad_host/T123/tokentoken\"]}"),
     "alarms.https[0]: \"https://***@bad_host/...\" is not a webhook URL: bad host name", NULL,
     "s3cr3tpw"},
    {DOC(",\"alarms\":{\"https\":[\"https://hooks.example.com:0/services/tokentoken\"]}"),
     "\"https://hooks.example.com:0/...\"", NULL, "tokentoken"},
    {DOC(",\"alarms\":{\"https\":[\"user:s3cr3tpw@hooks.example.com/x\"]}"),
     "alarms.https[0]: \"user\" is not a webhook URL: wrong scheme", NULL, "s3cr3tpw"},
    {DOC(",\"alarms\":{\"https\":[\"u:s3cr3tpw@h://x\"]}"), "alarms.https[0]: \"u\"", NULL,
     "s3cr3tpw"},
    {DOC(",\"alarms\":{\"smtp\":\"smtp://me:s3cr3tpw@\"}"),
     "alarms.smtp: \"smtp://***@\" is not a mail server URL: no host", NULL, "s3cr3tpw"},
    {DOC(",\"alarms\":{\"https\":[\"https://a.example/x\",\"https://a.example/x\"]}"),
     "alarms.https[1]: is listed twice (each entry may appear once)", NULL, NULL},
    {DOC(",\"alarms\":{\"https\":{}}"), "alarms.https: expected an array of webhook URLs",
     "got an object", NULL},
    /* smtp */
    {DOC(",\"alarms\":{\"smtp\":\"http://127.0.0.1:2525\"}"),
     "alarms.smtp: \"http://127.0.0.1:2525\" is not a mail server URL: wrong scheme (expected "
     "smtp:// or smtps://host[:port], e.g. smtp://127.0.0.1:2525)",
     NULL, NULL},
    {DOC(",\"alarms\":{\"smtp\":\"smtp://:25\"}"), "alarms.smtp:", "no host", NULL},
    {DOC(",\"alarms\":{\"smtp\":[\"smtp://x\"]}"), "alarms.smtp: expected a mail server URL",
     "got an array", NULL},
    {DOC(",\"alarms\":{\"smtp\":null}"), "alarms.smtp: expected a mail server URL", "got null",
     NULL},
    /* drill */
    {DOC(",\"drill\":{\"rate\":0}"), "cfdr.json: drill.rate: 0 is out of range 1-1000", NULL, NULL},
    {DOC(",\"drill\":{\"rate\":1001}"), "drill.rate: 1001 is out of range 1-1000", NULL, NULL},
    {DOC(",\"drill\":{\"duration_s\":3601}"), "drill.duration_s: 3601 is out of range 1-3600", NULL,
     NULL},
    {DOC(",\"drill\":{\"duration_s\":0}"), "drill.duration_s: 0 is out of range 1-3600", NULL,
     NULL},
    {DOC(",\"drill\":{\"served_by_header\":\"x region\"}"),
     "drill.served_by_header: \"x region\" is not an HTTP header name (allowed: 1-64 letters, "
     "digits and !#$%&'*+-.^_`|~)",
     NULL, NULL},
    {DOC(",\"drill\":{\"served_by_header\":\"\"}"),
     "drill.served_by_header: \"\" is not an HTTP header name", NULL, NULL},
    {DOC(",\"drill\":{\"served_by_header\":\"x:region\"}"), "is not an HTTP header name", NULL,
     NULL},
    {DOC(",\"drill\":{\"served_by_header\":"
         "\"h2345678901234567890123456789012345678901234567890123456789012345\"}"),
     "is not an HTTP header name", NULL, NULL},
    {DOC(",\"drill\":{\"served_by_header\":1}"),
     "drill.served_by_header: expected an HTTP header name", "got an integer", NULL},
    /* json-c takes NaN and Infinity even in strict mode; they are not integers */
    {DOC(",\"drill\":{\"rate\":NaN}"),
     "drill.rate: expected an integer 1-1000, got a number that is not an integer", NULL, NULL},
    {DOC(",\"drill\":{\"duration_s\":-Infinity}"),
     "drill.duration_s: expected an integer 1-3600, got a number that is not an integer", NULL,
     NULL},
    {DOC(",\"drill\":1"), "drill: expected an object with rate, duration_s, served_by_header",
     "got an integer", NULL},
    /* duplicate keys (json-c alone would keep the last one silently) */
    {"{\n  \"project\": \"a\",\n  \"project\": \"b\"\n}",
     "cfdr.json: project: duplicate key at "
     "line 3, column 3 (first at line 2, "
     "column 3)",
     NULL, NULL},
    {DOC(",\"drill\":{\"rate\":10,\"rate\":11}"), "drill.rate: duplicate key at line 1", NULL,
     NULL},
    {"{\"pro\\u006aect\":\"a\"," REQ "}", "project: duplicate key at line 1, column ", NULL, NULL},
    {DOC(",\"alarms\":{\"email\":[],\"https\":[],\"email\":[]}"), "alarms.email: duplicate key",
     NULL, NULL},
    /* control characters and NULs are shown escaped */
    {DOC(",\"drill\":{\"served_by_header\":\"a\\tb\"}"), "\"a\\x09b\" is not an HTTP header name",
     NULL, NULL},
};

static void test_rules_and_messages(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *t = &bad_cases[i];
        struct cfdr_config c;
        cfdr_err e;
        cfdr_code rc = load(t->json, &c, &e);
        if (rc != CFDR_E_CONFIG)
            fail_msg("bad_cases[%zu]: rc %d, not CFDR_E_CONFIG (%s)\n%s", i, rc, e.msg, t->json);
        if (!strstr(e.msg, t->want))
            fail_msg("bad_cases[%zu]: message\n  %s\nlacks\n  %s", i, e.msg, t->want);
        if (t->want2 && !strstr(e.msg, t->want2))
            fail_msg("bad_cases[%zu]: message\n  %s\nlacks\n  %s", i, e.msg, t->want2);
        if (t->absent && strstr(e.msg, t->absent))
            fail_msg("bad_cases[%zu]: message\n  %s\nmust not contain\n  %s", i, e.msg, t->absent);
        /* a failed load owns nothing and is back at the defaults */
        assert_null(c.alarms.email);
        assert_null(c.alarms.https);
        assert_null(c.alarms.smtp);
        assert_string_equal(c.project, "");
        config_free(&c);
    }
}

static void test_list_limit(void **state)
{
    struct buf b;
    struct cfdr_config c;
    cfdr_err e;
    (void)state;
    buf_init(&b, BUF_MAX_SMALL);
    assert_int_equal(buf_adds(&b, "{" REQ ",\"alarms\":{\"email\":["), CFDR_OK);
    for (int i = 0; i <= CONFIG_LIST_MAX; i++)
        assert_int_equal(buf_addf(&b, "%s\"u%d@example.com\"", i ? "," : "", i), CFDR_OK);
    assert_int_equal(buf_adds(&b, "]}}"), CFDR_OK);
    assert_int_equal(load(buf_str(&b), &c, &e), CFDR_E_CONFIG);
    assert_non_null(strstr(e.msg, "alarms.email: lists 101 entries (allowed: at most 100)"));
    config_free(&c);

    /* exactly the limit loads */
    buf_reset(&b);
    assert_int_equal(buf_adds(&b, "{" REQ ",\"alarms\":{\"email\":["), CFDR_OK);
    for (int i = 0; i < CONFIG_LIST_MAX; i++)
        assert_int_equal(buf_addf(&b, "%s\"u%d@example.com\"", i ? "," : "", i), CFDR_OK);
    assert_int_equal(buf_adds(&b, "]}}"), CFDR_OK);
    assert_int_equal(load(buf_str(&b), &c, &e), CFDR_OK);
    assert_int_equal(c.alarms.n_email, CONFIG_LIST_MAX);
    assert_string_equal(c.alarms.email[99], "u99@example.com");
    config_free(&c);
    buf_free(&b);
}

/* Many problems: all reported, one per line, each with the source; the rest counted. */
static void test_all_problems_at_once(void **state)
{
    static const char doc[] =
        "{\"project\":\"Bad Name\",\"primary\":{\"region\":\"nowhere\",\"service\":\"ab\"},"
        "\"secondary\":{\"region\":\"us-west-2\",\"service\":\"dr-demo-west\"},"
        "\"origin_group\":{\"connection_attempts\":9}}";
    struct cfdr_config c;
    cfdr_err e;
    struct buf b;
    char *line, *save = NULL, *copy;
    int lines = 0;
    (void)state;

    assert_int_equal(load(doc, &c, &e), CFDR_E_CONFIG);
    assert_non_null(strstr(e.msg, "project: \"Bad Name\""));
    assert_non_null(strstr(e.msg, "primary.region: \"nowhere\""));
    assert_non_null(strstr(e.msg, "primary.service: \"ab\""));
    assert_non_null(strstr(e.msg, "origin_group.connection_attempts: 9 is out of range 1-3"));
    copy = strdup(e.msg);
    assert_non_null(copy);
    for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        assert_memory_equal(line, "cfdr.json: ", 11);
        lines++;
    }
    free(copy);
    assert_int_equal(lines, 4);
    config_free(&c);

    /* more problems than fit in one message: whole lines, then a count of the rest */
    buf_init(&b, BUF_MAX_SMALL);
    assert_int_equal(buf_adds(&b, "{" REQ ",\"origin_group\":{\"failover_status_codes\":["),
                     CFDR_OK);
    for (int i = 0; i < 40; i++)
        assert_int_equal(buf_addf(&b, "%s%d", i ? "," : "", 200 + i), CFDR_OK);
    assert_int_equal(buf_adds(&b, "]}}"), CFDR_OK);
    assert_int_equal(load(buf_str(&b), &c, &e), CFDR_E_CONFIG);
    assert_true(strlen(e.msg) < CFDR_ERR_MSG_MAX);
    assert_non_null(strstr(e.msg, "failover_status_codes[0]: 200 is not allowed"));
    assert_non_null(strstr(e.msg, "more problems"));
    {
        /* shown lines + the counted rest == 40 */
        int shown = 0, more = 0;
        const char *p = e.msg, *m;
        while ((p = strstr(p, "is not allowed")) != NULL) {
            shown++;
            p++;
        }
        m = strstr(e.msg, "... and ");
        assert_non_null(m);
        assert_int_equal(sscanf(m, "... and %d more problems", &more), 1);
        assert_int_equal(shown + more, 40);
        assert_true(shown >= 3);
    }
    config_free(&c);
    buf_free(&b);
}

/* ---------------------------------------------------------------------------------------------
 * JSON syntax: positions and what strict JSON forbids.
 */

struct syntax_case {
    const char *json;
    const char *want;
};

static const struct syntax_case syntax_cases[] = {
    {"{\n  \"project\": \"x\",\n  \"primary\": {,}\n}",
     "cfdr.json: line 3, column 15: invalid JSON: "},
    {"{\"a\":1,}", "line 1, column 8: invalid JSON: "},
    {"{\n\"a\": [1,\n 2,,]}", "line 3, column 4: invalid JSON: "},
    {"{\"a\":1} x", "line 1, column 9: invalid JSON: "},
    {"{\"a\":1}{}", "line 1, column 8: invalid JSON: "},
    {"{\"a\":TRUE}", "line 1, column 6: invalid JSON: "},
    {"{\"a\":01}", "line 1, column 8: invalid JSON: "},
    {"{\"a\" 1}", "line 1, column 6: invalid JSON: expected ':' after a key"},
    {"{\"a\":1 \"b\":2}", "line 1, column 8: invalid JSON: expected ',' or '}' after a value"},
    {"{\"a\":[1 2]}", "line 1, column 9: invalid JSON: expected ',' or ']'"},
    {"{\"a\":1", "line 1, column 7: invalid JSON: the document ends too early"},
    {"{\"a\":\"abc", "line 1, column 10: invalid JSON: the document ends too early"},
    {"{\n  'project': 'x'\n}",
     "line 2, column 3: invalid JSON: single quote (JSON strings and keys use double quotes)"},
    {"{\"a\":\"x\ny\"}", "line 1, column 8: invalid JSON: line break inside a string"},
    {"{\"a\":\"x\ty\"}", "line 1, column 8: invalid JSON: control character inside a string"},
    {"{\"a\":1 /* never closed\n}", "line 1, column 8: invalid JSON: comment opened with /*"},
    {"{\"a\":\"\\x\"}", "line 1, column 8: invalid JSON: "},
    {"{\"a\":\"\xff\"}", "line 1, column 7: invalid JSON: "},
    /* columns count characters, not bytes */
    {"{\"\xc3\xa9\xc3\xa9\":1,}", "line 1, column 9: invalid JSON: "},
    {"", "cfdr.json: the file is empty (expected a JSON object; `cfdr init` writes a starter "
         "file)"},
    {"  \n\t ", "the file is empty"},
    {"// only a comment\n", "line 2, column 1: invalid JSON: the document ends too early"},
    {"#comment\n{}", "line 1, column 1: invalid JSON: "},
};

static void test_json_syntax_positions(void **state)
{
    char deep[200];
    (void)state;
    for (size_t i = 0; i < sizeof(syntax_cases) / sizeof(syntax_cases[0]); i++) {
        struct cfdr_config c;
        cfdr_err e;
        cfdr_code rc = load(syntax_cases[i].json, &c, &e);
        if (rc != CFDR_E_CONFIG || !strstr(e.msg, syntax_cases[i].want))
            fail_msg("syntax_cases[%zu]: rc %d, message\n  %s\nlacks\n  %s", i, rc, e.msg,
                     syntax_cases[i].want);
        config_free(&c);
    }
    /* nesting deeper than json-c's limit is an error, not a crash */
    memset(deep, '[', 100);
    deep[100] = '\0';
    {
        struct cfdr_config c;
        cfdr_err e;
        assert_int_equal(load(deep, &c, &e), CFDR_E_CONFIG);
        assert_non_null(strstr(e.msg, "nested too deeply"));
        config_free(&c);
    }
}

/* ---------------------------------------------------------------------------------------------
 * config_validate and config_check_mode on structs.
 */

static void fill_valid(struct cfdr_config *c)
{
    config_defaults(c);
    strcpy(c->project, "dr-demo");
    strcpy(c->primary.region, "us-east-1");
    strcpy(c->primary.service, "dr-demo-east");
    strcpy(c->secondary.region, "us-west-2");
    strcpy(c->secondary.service, "dr-demo-west");
}

static void expect_invalid(const struct cfdr_config *c, const char *want)
{
    cfdr_err e;
    err_clear(&e);
    assert_int_equal(config_validate(c, &e), CFDR_E_CONFIG);
    if (!strstr(e.msg, want))
        fail_msg("config_validate message\n  %s\nlacks\n  %s", e.msg, want);
}

static void test_validate_struct(void **state)
{
    struct cfdr_config c;
    cfdr_err e;
    char *list[2];
    (void)state;

    fill_valid(&c);
    assert_int_equal(config_validate(&c, &e), CFDR_OK);

    config_defaults(&c); /* nothing required is set */
    expect_invalid(&c, "project: missing (required");
    expect_invalid(&c, "primary.region: missing (required");
    expect_invalid(&c, "secondary.service: missing (required");

    fill_valid(&c);
    c.origin_group.connection_attempts = 5;
    expect_invalid(&c, "origin_group.connection_attempts: 5 is out of range 1-3");
    fill_valid(&c);
    c.origin_group.connection_timeout_s = 0;
    expect_invalid(&c, "origin_group.connection_timeout_s: 0 is out of range 1-10");
    fill_valid(&c);
    c.origin_group.response_timeout_s = 61;
    expect_invalid(&c, "origin_group.response_timeout_s: 61 is out of range 1-60");
    fill_valid(&c);
    c.origin_group.n_failover_status_codes = 0;
    expect_invalid(&c, "origin_group.failover_status_codes: must list 1-8 distinct status codes "
                       "(allowed: 400, 403, 404, 416, 500, 502, 503, 504)");
    fill_valid(&c);
    c.origin_group.failover_status_codes[1] = 302;
    expect_invalid(&c, "origin_group.failover_status_codes[1]: 302 is not allowed (allowed: 400");
    fill_valid(&c);
    c.origin_group.failover_status_codes[2] = 403;
    expect_invalid(&c, "origin_group.failover_status_codes[2]: 403 is listed twice");
    fill_valid(&c);
    c.alarms.period_s = 45;
    expect_invalid(&c, "alarms.period_s: 45 is not allowed (allowed: in AWS mode a multiple of 60");
    fill_valid(&c);
    c.drill.rate = 0;
    expect_invalid(&c, "drill.rate: 0 is out of range 1-1000");
    fill_valid(&c);
    c.drill.duration_s = 4000;
    expect_invalid(&c, "drill.duration_s: 4000 is out of range 1-3600");
    fill_valid(&c);
    strcpy(c.drill.served_by_header, "a b");
    expect_invalid(&c, "drill.served_by_header: \"a b\" is not an HTTP header name");
    fill_valid(&c);
    strcpy(c.secondary.region, "us-east-1");
    strcpy(c.secondary.service, "dr-demo-east");
    expect_invalid(&c, "secondary: is the same origin as primary");
    fill_valid(&c);
    strcpy(c.primary.region, "mars-1");
    expect_invalid(&c, "primary.region: \"mars-1\" is not an AWS region name");

    /* lists owned by the caller here: validate reads, never frees */
    fill_valid(&c);
    list[0] = "a@example.com";
    list[1] = "A@example.COM";
    c.alarms.email = list;
    c.alarms.n_email = 2;
    expect_invalid(&c, "alarms.email[1]: is listed twice");
    list[1] = "nope";
    expect_invalid(&c, "alarms.email[1]: \"nope\" is not an email address");
    c.alarms.email = NULL;
    c.alarms.n_email = 0;
    list[0] = "https://ok.example.com/x";
    list[1] = "gopher://x";
    c.alarms.https = list;
    c.alarms.n_https = 2;
    expect_invalid(&c, "alarms.https[1]: \"gopher://x\" is not a webhook URL: wrong scheme");
    c.alarms.https = NULL;
    c.alarms.n_https = 0;
    c.alarms.smtp = "smtp://";
    expect_invalid(&c, "alarms.smtp: \"smtp://\" is not a mail server URL: no host");
    c.alarms.smtp = "smtps://127.0.0.1:465";
    assert_int_equal(config_validate(&c, &e), CFDR_OK);
}

static void test_check_mode(void **state)
{
    struct cfdr_config c;
    cfdr_err e;
    (void)state;
    fill_valid(&c);
    assert_int_equal(config_check_mode(&c, 0, &e), CFDR_OK);
    assert_int_equal(config_check_mode(&c, 1, &e), CFDR_OK);
    c.alarms.period_s = 1;
    assert_int_equal(config_check_mode(&c, 1, &e), CFDR_OK);
    err_clear(&e);
    assert_int_equal(config_check_mode(&c, 0, &e), CFDR_E_CONFIG);
    assert_string_equal(e.msg, "alarms.period_s: 1 s periods exist only in --local mode (AWS mode "
                               "needs a multiple of 60 up to 86400: AWS/AppRunner and "
                               "AWS/CloudFront metrics have one datapoint a minute)");
    c.alarms.period_s = 10;
    assert_int_equal(config_check_mode(&c, 0, &e), CFDR_OK);
}

/* ---------------------------------------------------------------------------------------------
 * Canonical JSON.
 */

static void test_canonical_json(void **state)
{
    struct cfdr_config c;
    cfdr_err e;
    struct buf b;
    (void)state;
    buf_init(&b, BUF_MAX_SMALL);
    assert_int_equal(load(DOC(""), &c, &e), CFDR_OK);
    assert_int_equal(config_to_json(&c, &b), CFDR_OK);
    assert_string_equal(
        buf_str(&b),
        "{\"project\":\"dr-demo\",\"primary\":{\"region\":\"us-east-1\",\"service\":"
        "\"dr-demo-east\"},\"secondary\":{\"region\":\"us-west-2\",\"service\":\"dr-demo-west\"},"
        "\"origin_group\":{\"failover_status_codes\":[403,404,500,502,503,504],"
        "\"connection_timeout_s\":10,\"connection_attempts\":3,\"response_timeout_s\":30},"
        "\"alarms\":{\"email\":[],\"https\":[],\"period_s\":60},"
        "\"drill\":{\"rate\":10,\"duration_s\":300,\"served_by_header\":\"x-region\"}}");
    config_free(&c);
    buf_free(&b);
}

static void roundtrip(const char *doc)
{
    struct cfdr_config a, b;
    cfdr_err e;
    struct buf j1, j2;
    buf_init(&j1, BUF_MAX_SMALL);
    buf_init(&j2, BUF_MAX_SMALL);
    assert_int_equal(load(doc, &a, &e), CFDR_OK);
    assert_int_equal(config_to_json(&a, &j1), CFDR_OK);
    assert_int_equal(load(buf_str(&j1), &b, &e), CFDR_OK);
    assert_int_equal(config_to_json(&b, &j2), CFDR_OK);
    assert_string_equal(buf_str(&j1), buf_str(&j2));
    /* field by field: scalars and fixed fields compare as memory, lists as strings */
    assert_memory_equal(a.project, b.project, sizeof(a.project));
    assert_memory_equal(&a.primary, &b.primary, sizeof(a.primary));
    assert_memory_equal(&a.secondary, &b.secondary, sizeof(a.secondary));
    assert_memory_equal(&a.origin_group, &b.origin_group, sizeof(a.origin_group));
    assert_memory_equal(&a.drill, &b.drill, sizeof(a.drill));
    assert_int_equal(a.alarms.period_s, b.alarms.period_s);
    assert_int_equal(a.alarms.n_email, b.alarms.n_email);
    for (size_t i = 0; i < a.alarms.n_email; i++)
        assert_string_equal(a.alarms.email[i], b.alarms.email[i]);
    assert_int_equal(a.alarms.n_https, b.alarms.n_https);
    for (size_t i = 0; i < a.alarms.n_https; i++)
        assert_string_equal(a.alarms.https[i], b.alarms.https[i]);
    if (a.alarms.smtp)
        assert_string_equal(a.alarms.smtp, b.alarms.smtp);
    else
        assert_null(b.alarms.smtp);
    config_free(&a);
    config_free(&b);
    buf_free(&j1);
    buf_free(&j2);
}

static void test_roundtrip(void **state)
{
    (void)state;
    roundtrip(DOC(""));
    roundtrip(product_example);
    roundtrip(full_doc);
    roundtrip(DOC(",\"alarms\":{\"https\":[\"https://h.example/a/b\"],\"period_s\":5}"));
}

static void test_to_json_object(void **state)
{
    struct cfdr_config c;
    struct json_object *o = NULL, *v = NULL;
    cfdr_err e;
    (void)state;
    assert_int_equal(load(full_doc, &c, &e), CFDR_OK);
    assert_int_equal(config_to_json_object(&c, &o, &e), CFDR_OK);
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "alarms", &v));
    assert_true(json_object_object_get_ex(v, "smtp", &v));
    assert_string_equal(json_object_get_string(v), "smtps://mail.example.com:465");
    json_object_put(o);
    config_free(&c);
}

/* ---------------------------------------------------------------------------------------------
 * The starter file.
 */

static void test_starter_loads_and_documents(void **state)
{
    static const char *const keys[] = {"project",
                                       "primary",
                                       "secondary",
                                       "region",
                                       "service",
                                       "origin_group",
                                       "failover_status_codes",
                                       "connection_timeout_s",
                                       "connection_attempts",
                                       "response_timeout_s",
                                       "alarms",
                                       "email",
                                       "https",
                                       "smtp",
                                       "period_s",
                                       "drill",
                                       "rate",
                                       "duration_s",
                                       "served_by_header"};
    (void)state;
    for (int local = 0; local <= 1; local++) {
        struct buf text, want, got;
        struct cfdr_config c, d;
        cfdr_err e;
        buf_init(&text, BUF_MAX_SMALL);
        buf_init(&want, BUF_MAX_SMALL);
        buf_init(&got, BUF_MAX_SMALL);
        assert_int_equal(config_starter_text(local, &text), CFDR_OK);
        assert_int_equal(load(buf_str(&text), &c, &e), CFDR_OK);
        /* comments are there and every key is explained (mentioned in the text) */
        assert_non_null(strstr(buf_str(&text), "// "));
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            char quoted[64];
            snprintf(quoted, sizeof(quoted), "\"%s\"", keys[i]);
            if (!strstr(buf_str(&text), quoted))
                fail_msg("starter (local=%d) does not show %s", local, quoted);
        }
        /* it writes out exactly the defaults, plus the example origins */
        fill_valid(&d);
        if (local)
            d.alarms.period_s = 1;
        assert_int_equal(config_to_json(&c, &got), CFDR_OK);
        assert_int_equal(config_to_json(&d, &want), CFDR_OK);
        assert_string_equal(buf_str(&got), buf_str(&want));
        /* the period advice: AWS mode a multiple of 60 (standard-resolution metrics), never
         * CloudWatch's high-resolution 10, 20, 30, which `alarms setup` refuses in AWS mode */
        assert_non_null(strstr(buf_str(&text), "multiple of 60"));
        assert_non_null(strstr(buf_str(&text), "one datapoint"));
        assert_null(strstr(buf_str(&text), "10, 20, 30"));
        assert_null(strstr(buf_str(&text), "10, 30"));
        /* the mode check agrees with the file's purpose */
        assert_int_equal(config_check_mode(&c, local, &e), CFDR_OK);
        if (local)
            assert_int_equal(config_check_mode(&c, 0, &e), CFDR_E_CONFIG);
        /* no line wider than 100 columns */
        {
            const char *p = buf_str(&text);
            while (*p) {
                size_t n = strcspn(p, "\n");
                assert_true(n <= 100);
                p += n + (p[n] == '\n');
            }
        }
        config_free(&c);
        buf_free(&text);
        buf_free(&want);
        buf_free(&got);
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        s = malloc((size_t)n + 1);
        if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
            free(s);
            s = NULL;
        } else if (s) {
            s[n] = '\0';
        }
    }
    fclose(f);
    return s;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    if (fputs(text, f) < 0) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void test_write_starter(void **state)
{
    char dir[] = "/tmp/cfdr-config-test-XXXXXX";
    char path[256], sub[256], missing[256];
    struct stat st;
    struct cfdr_config c;
    cfdr_err e;
    struct buf want;
    char *got;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/cfdr.json", dir);
    buf_init(&want, BUF_MAX_SMALL);

    /* a fresh write: the starter text, mode 0644, loadable, no temporary left behind */
    err_clear(&e);
    assert_int_equal(config_write_starter(path, 0, 0, &e), CFDR_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(config_starter_text(0, &want), CFDR_OK);
    got = slurp(path);
    assert_non_null(got);
    assert_string_equal(got, buf_str(&want));
    free(got);
    assert_int_equal(config_load_file(path, &c, &e), CFDR_OK);
    assert_string_equal(c.project, "dr-demo");
    config_free(&c);
    assert_int_equal(count_entries(dir), 1);

    /* refuses to overwrite without force, and leaves the file alone */
    assert_int_equal(write_text(path, "{\"mine\": true}\n"), 0);
    err_clear(&e);
    assert_int_equal(config_write_starter(path, 1, 0, &e), CFDR_E_CONFIG);
    assert_non_null(strstr(e.msg, "cfdr.json already exists; use --force to overwrite"));
    got = slurp(path);
    assert_non_null(got);
    assert_string_equal(got, "{\"mine\": true}\n");
    free(got);
    assert_int_equal(count_entries(dir), 1);

    /* force replaces it (local flavour this time) */
    assert_int_equal(config_write_starter(path, 1, 1, &e), CFDR_OK);
    buf_reset(&want);
    assert_int_equal(config_starter_text(1, &want), CFDR_OK);
    got = slurp(path);
    assert_non_null(got);
    assert_string_equal(got, buf_str(&want));
    free(got);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(count_entries(dir), 1);
    assert_int_equal(config_load_file(path, &c, &e), CFDR_OK);
    assert_int_equal(c.alarms.period_s, 1);
    config_free(&c);

    /* a relative path (no directory part) works from the current directory */
    {
        char cwd[512];
        assert_non_null(getcwd(cwd, sizeof(cwd)));
        assert_int_equal(chdir(dir), 0);
        assert_int_equal(config_write_starter("rel.json", 0, 0, &e), CFDR_OK);
        assert_int_equal(config_write_starter("rel.json", 0, 0, &e), CFDR_E_CONFIG);
        assert_non_null(strstr(e.msg, "rel.json already exists; use --force to overwrite"));
        assert_int_equal(config_load_file("rel.json", &c, &e), CFDR_OK);
        config_free(&c);
        assert_int_equal(unlink("rel.json"), 0);
        assert_int_equal(chdir(cwd), 0);
    }

    /* a directory that does not exist: an I/O error naming the path */
    snprintf(missing, sizeof(missing), "%s/no/such/dir/cfdr.json", dir);
    err_clear(&e);
    assert_int_equal(config_write_starter(missing, 0, 0, &e), CFDR_E_IO);
    assert_non_null(strstr(e.msg, missing));

    /* a directory in the way without force: refused as existing */
    snprintf(sub, sizeof(sub), "%s/adir", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(config_write_starter(sub, 0, 0, &e), CFDR_E_CONFIG);
    assert_int_equal(config_write_starter(sub, 0, 1, &e), CFDR_E_IO);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(count_entries(dir), 1);

    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
    buf_free(&want);
}

static void test_load_file_errors(void **state)
{
    char dir[] = "/tmp/cfdr-config-test-XXXXXX";
    char path[256];
    struct cfdr_config c;
    cfdr_err e;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/cfdr.json", dir);

    err_clear(&e);
    assert_int_equal(config_load_file(path, &c, &e), CFDR_E_NOTFOUND);
    assert_non_null(strstr(e.msg, path));
    assert_non_null(strstr(e.msg, "not found; run `cfdr init`"));
    config_free(&c);

    assert_int_equal(config_load_file(dir, &c, &e), CFDR_E_IO);
    assert_non_null(strstr(e.msg, "is a directory"));

    /* a NUL byte: position reported */
    {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite("{\n  \"a\0", 1, 7, f), 7);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(config_load_file(path, &c, &e), CFDR_E_CONFIG);
        assert_non_null(strstr(e.msg, "line 2, column 5: NUL byte"));
    }

    /* too big */
    {
        FILE *f = fopen(path, "wb");
        char chunk[4096];
        assert_non_null(f);
        memset(chunk, ' ', sizeof(chunk));
        for (unsigned i = 0; i <= CONFIG_FILE_MAX / sizeof(chunk); i++)
            assert_int_equal(fwrite(chunk, 1, sizeof(chunk), f), sizeof(chunk));
        assert_int_equal(fclose(f), 0);
        assert_int_equal(config_load_file(path, &c, &e), CFDR_E_CONFIG);
        assert_non_null(strstr(e.msg, "is larger than"));
    }

    /* syntax errors in a file carry its path */
    assert_int_equal(write_text(path, "{\n  \"project\": \"x\",\n}\n"), 0);
    assert_int_equal(config_load_file(path, &c, &e), CFDR_E_CONFIG);
    assert_non_null(strstr(e.msg, path));
    assert_non_null(strstr(e.msg, "line 3, column 1: invalid JSON"));

    /* and a good one loads */
    assert_int_equal(write_text(path, product_example), 0);
    assert_int_equal(config_load_file(path, &c, &e), CFDR_OK);
    assert_string_equal(c.alarms.email[0], "oncall@example.com");
    config_free(&c);

    /* an unreadable file (skipped as root, who reads anything) */
    if (geteuid() != 0) {
        assert_int_equal(chmod(path, 0), 0);
        assert_int_equal(config_load_file(path, &c, &e), CFDR_E_IO);
        assert_non_null(strstr(e.msg, "cannot open"));
    }
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void test_load_string_source_name(void **state)
{
    struct cfdr_config c;
    cfdr_err e;
    (void)state;
    assert_int_equal(config_load_string("{\"project\":1}", NULL, &c, &e), CFDR_E_CONFIG);
    assert_memory_equal(e.msg, "config: ", 8);
    assert_int_equal(config_load_string("{\"project\":1}", "x/y.json", &c, &e), CFDR_E_CONFIG);
    assert_memory_equal(e.msg, "x/y.json: ", 10);
}

/* ---------------------------------------------------------------------------------------------
 * Robustness: truncations and random mutations never crash, leak or return anything but OK or
 * a configuration error with a message; whatever loads round-trips.
 */

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: deterministic, local state */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* Returns 1 when doc loaded, 0 when it was rejected (properly). */
static int check_outcome(const char *doc, size_t case_no)
{
    struct cfdr_config c;
    cfdr_err e;
    cfdr_code rc = load(doc, &c, &e);
    if (rc == CFDR_OK) {
        struct buf j;
        struct cfdr_config again;
        buf_init(&j, BUF_MAX_SMALL);
        assert_int_equal(config_to_json(&c, &j), CFDR_OK);
        if (load(buf_str(&j), &again, &e) != CFDR_OK)
            fail_msg("case %zu: accepted, but its canonical JSON is not: %s", case_no, e.msg);
        assert_int_equal(config_validate(&again, &e), CFDR_OK);
        config_free(&again);
        buf_free(&j);
        config_free(&c);
        return 1;
    } else {
        if (rc != CFDR_E_CONFIG)
            fail_msg("case %zu: rc %d (%s)", case_no, rc, e.msg);
        assert_true(e.msg[0] != '\0');
        assert_true(strlen(e.msg) < CFDR_ERR_MSG_MAX);
        assert_memory_equal(e.msg, "cfdr.json", 9);
    }
    config_free(&c);
    return 0;
}

static void test_truncated_prefixes(void **state)
{
    const char *docs[] = {full_doc, product_example};
    (void)state;
    for (size_t d = 0; d < 2; d++) {
        size_t n = strlen(docs[d]), accepted = 0;
        char *buf = malloc(n + 1);
        assert_non_null(buf);
        for (size_t len = 0; len <= n; len++) {
            memcpy(buf, docs[d], len);
            buf[len] = '\0';
            accepted += (size_t)check_outcome(buf, len);
        }
        /* only the whole document (and it without its final newline) is a configuration */
        assert_int_equal(accepted, 2);
        free(buf);
    }
}

static void test_random_mutations(void **state)
{
    static const char alphabet[] =
        "{}[]:,\"\\/*'0123456789-+.eE \n\tabcnrtuxyz@\x01\x7f\xc3\xa9\xff";
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    size_t n = strlen(full_doc);
    char *buf = malloc(n * 2 + 16);
    time_t start = time(NULL);
    size_t accepted = 0, rejected = 0;
    (void)state;
    assert_non_null(buf);
    for (size_t iter = 0; iter < 4000 && time(NULL) - start < 120; iter++) {
        size_t len = n;
        int edits = 1 + (int)(rng_next(&seed) % 4);
        memcpy(buf, full_doc, n + 1);
        for (int k = 0; k < edits && len > 1; k++) {
            size_t at = (size_t)(rng_next(&seed) % len);
            uint64_t op = rng_next(&seed) % 4;
            char ch = alphabet[rng_next(&seed) % (sizeof(alphabet) - 1)];
            if (op == 0) { /* replace */
                buf[at] = ch;
            } else if (op == 1) { /* delete */
                memmove(buf + at, buf + at + 1, len - at);
                len--;
            } else if (op == 2 && len < n * 2) { /* insert */
                memmove(buf + at + 1, buf + at, len - at + 1);
                buf[at] = ch;
                len++;
            } else { /* a random byte, never NUL */
                buf[at] = (char)(1 + rng_next(&seed) % 255);
            }
        }
        buf[len] = '\0';
        if (check_outcome(buf, iter))
            accepted++;
        else
            rejected++;
    }
    free(buf);
    /* both paths were exercised (mutations inside comments or values can leave it valid) */
    assert_true(accepted > 0);
    assert_true(rejected > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_minimal_document_gets_defaults),
        cmocka_unit_test(test_product_example_loads),
        cmocka_unit_test(test_full_document_fields),
        cmocka_unit_test(test_accepted_values),
        cmocka_unit_test(test_rules_and_messages),
        cmocka_unit_test(test_list_limit),
        cmocka_unit_test(test_all_problems_at_once),
        cmocka_unit_test(test_json_syntax_positions),
        cmocka_unit_test(test_validate_struct),
        cmocka_unit_test(test_check_mode),
        cmocka_unit_test(test_canonical_json),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_to_json_object),
        cmocka_unit_test(test_starter_loads_and_documents),
        cmocka_unit_test(test_write_starter),
        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_load_string_source_name),
        cmocka_unit_test(test_truncated_prefixes),
        cmocka_unit_test(test_random_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
