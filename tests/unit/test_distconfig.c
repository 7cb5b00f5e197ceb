/* Unit tests for edge/distconfig: the realistic fixture from tests/data/aws maps to the edge
 * config the edge needs; every accepted document shape; path-pattern behaviours in order with
 * all three method sets and an S3 origin; a table of invalid documents, each with the exact
 * message (path first) of its error; the origin map (unmapped domains, unused and malformed
 * mappings); region labels; JSON syntax errors and truncated documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aws/err.h"
#include "edge/distconfig.h"
#include "edge/edge.h"

#define FIXTURE "aws/distribution-config-with-tags.json"
#define BEHAVIORS "distconfig/behaviors.json"
#define EAST_DOMAIN "abcdefghij.us-east-1.awsapprunner.com"
#define WEST_DOMAIN "klmnopqrst.us-west-2.awsapprunner.com"
#define B_EAST "eastservice1.us-east-1.awsapprunner.com"
#define B_WEST "westservice2.us-west-2.awsapprunner.com"
#define B_ASSETS "cfdr-assets.s3.eu-west-1.amazonaws.com"
#define ALLOWED_CODES "400, 403, 404, 416, 500, 502, 503, 504"

static const char *testdata_path(const char *rel, char *out, size_t outsz)
{
    const char *dir = getenv("CFDR_TESTDATA");
    const char *src = getenv("CFDR_SOURCE_DIR");
    if (dir)
        snprintf(out, outsz, "%s/%s", dir, rel);
    else
        snprintf(out, outsz, "%s/tests/data/%s", src ? src : ".", rel);
    return out;
}

/* The file's text (malloc'd, NUL-terminated). */
static char *slurp(const char *rel)
{
    char path[1024];
    FILE *f = fopen(testdata_path(rel, path, sizeof(path)), "rb");
    char *text;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    text = malloc((size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void map_add(struct distconfig_map *m, const char *arg)
{
    cfdr_err err;
    err_clear(&err);
    if (distconfig_map_add(m, arg, &err) != CFDR_OK)
        fail_msg("distconfig_map_add(%s): %s", arg, err.msg);
}

static void fixture_map(struct distconfig_map *m)
{
    memset(m, 0, sizeof(*m));
    map_add(m, EAST_DOMAIN "=127.0.0.1:8081");
    map_add(m, WEST_DOMAIN "=127.0.0.1:8082");
}

static void behaviors_map(struct distconfig_map *m)
{
    memset(m, 0, sizeof(*m));
    map_add(m, B_EAST "=127.0.0.1:9001");
    map_add(m, B_WEST "=localhost:9002");
    map_add(m, "CFDR-ASSETS.s3.eu-west-1.amazonaws.com=[::1]:9003");
}

static cfdr_code parse_str(const char *text, const struct distconfig_map *m, struct edge_config *c,
                           cfdr_err *err)
{
    err_clear(err);
    return distconfig_parse(text, strlen(text), m, c, err);
}

/* ---------------------------------------------------------------------------------------------
 * The fixture and the shapes.
 */

static void check_fixture_config(const struct edge_config *c)
{
    static const int codes[] = {403, 404, 500, 502, 503, 504};

    assert_int_equal(c->norigins, 2);
    assert_string_equal(c->origins[0].id, "primary-us-east-1");
    assert_string_equal(c->origins[0].url, "http://127.0.0.1:8081");
    assert_string_equal(c->origins[0].host_header, EAST_DOMAIN);
    assert_string_equal(c->origins[0].region, "us-east-1");
    assert_int_equal(c->origins[0].connection_attempts, 3);
    assert_int_equal(c->origins[0].connection_timeout_ms, 10000);
    assert_int_equal(c->origins[0].response_timeout_ms, 30000);
    assert_string_equal(c->origins[1].id, "secondary-us-west-2");
    assert_string_equal(c->origins[1].url, "http://127.0.0.1:8082");
    assert_string_equal(c->origins[1].host_header, WEST_DOMAIN);
    assert_string_equal(c->origins[1].region, "us-west-2");

    assert_int_equal(c->ngroups, 1);
    assert_string_equal(c->groups[0].id, "dr-demo-failover");
    assert_string_equal(c->groups[0].primary, "primary-us-east-1");
    assert_string_equal(c->groups[0].secondary, "secondary-us-west-2");
    assert_int_equal(c->groups[0].nfailover_codes, 6);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(c->groups[0].failover_codes[i], codes[i]);

    assert_int_equal(c->nbehaviors, 1);
    assert_string_equal(c->behaviors[0].target, "dr-demo-failover");
    assert_int_equal(c->behaviors[0].methods, EDGE_METHODS_GET_HEAD_OPTIONS);
    assert_int_equal(edge_config_validate(c, NULL), CFDR_OK);
}

static void test_fixture_maps(void **state)
{
    struct distconfig_map m;
    struct edge_config *c = calloc(1, sizeof(*c));
    char path[1024];
    cfdr_err err;

    (void)state;
    assert_non_null(c);
    fixture_map(&m);
    err_clear(&err);
    if (distconfig_load_file(testdata_path(FIXTURE, path, sizeof(path)), &m, c, &err))
        fail_msg("%s", err.msg);
    check_fixture_config(c);
    free(c);
}

/* The fixture's DistributionConfig wrapped in each shape the AWS CLI prints or reads. */
static void test_shapes(void **state)
{
    char *text = slurp(FIXTURE);
    struct json_object *root = json_tokener_parse(text), *dc;
    struct edge_config *c = calloc(1, sizeof(*c));
    struct distconfig_map m;
    const char *dcs;
    char *doc;
    size_t cap;
    cfdr_err err;
    const char *shapes[] = {
        "{\"ETag\": \"E2QWRUHAPOMQZL\", \"DistributionConfig\": %s}",
        "{\"DistributionConfigWithTags\": {\"DistributionConfig\": %s, \"Tags\": {\"Items\": "
        "[]}}}",
        "{\"ETag\": \"E2QWRUHAPOMQZL\", \"Distribution\": {\"Id\": \"EDFDVBD6EXAMPLE\", "
        "\"Status\": \"Deployed\", \"DistributionConfig\": %s}}",
        "%s",
    };

    (void)state;
    assert_non_null(root);
    assert_non_null(c);
    assert_true(json_object_object_get_ex(root, "DistributionConfig", &dc));
    dcs = json_object_to_json_string_ext(dc, JSON_C_TO_STRING_PLAIN);
    cap = strlen(dcs) + 256;
    doc = malloc(cap);
    assert_non_null(doc);
    fixture_map(&m);
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        snprintf(doc, cap, shapes[i], dcs);
        if (parse_str(doc, &m, c, &err))
            fail_msg("shape %zu: %s", i, err.msg);
        check_fixture_config(c);
    }
    /* Errors name the path from the document's root, whatever the shape. */
    {
        struct distconfig_map one;
        memset(&one, 0, sizeof(one));
        map_add(&one, EAST_DOMAIN "=127.0.0.1:1");
        snprintf(doc, cap, shapes[1], dcs);
        assert_int_equal(parse_str(doc, &one, c, &err), CFDR_E_USAGE);
        assert_string_equal(err.msg,
                            "DistributionConfigWithTags.DistributionConfig.Origins.Items[1]."
                            "DomainName: origin \"secondary-us-west-2\" has DomainName " WEST_DOMAIN
                            ", which no --origin-map points at a local address; add "
                            "--origin-map " WEST_DOMAIN "=HOST:PORT");
        snprintf(doc, cap, shapes[3], dcs);
        assert_int_equal(parse_str(doc, &one, c, &err), CFDR_E_USAGE);
        assert_true(strncmp(err.msg, "Origins.Items[1].DomainName: origin ", 36) == 0);
        /* A failed parse leaves nothing half-filled. */
        assert_int_equal(c->norigins, 0);
        assert_int_equal(c->nbehaviors, 0);
    }
    free(doc);
    free(c);
    json_object_put(root);
    free(text);
}

static void test_behaviors_in_order(void **state)
{
    struct distconfig_map m;
    struct edge_config *c = calloc(1, sizeof(*c));
    char path[1024];
    cfdr_err err;

    (void)state;
    assert_non_null(c);
    behaviors_map(&m);
    err_clear(&err);
    if (distconfig_load_file(testdata_path(BEHAVIORS, path, sizeof(path)), &m, c, &err))
        fail_msg("%s", err.msg);

    assert_int_equal(c->norigins, 3);
    assert_string_equal(c->origins[0].url, "http://127.0.0.1:9001");
    assert_int_equal(c->origins[0].connection_attempts, 2);
    assert_int_equal(c->origins[0].connection_timeout_ms, 3000);
    assert_int_equal(c->origins[0].response_timeout_ms, 7000);
    assert_string_equal(c->origins[1].url, "http://localhost:9002");
    assert_string_equal(c->origins[1].host_header, B_WEST);
    /* The S3 origin: mapped case-insensitively, OriginPath kept, default response timeout. */
    assert_string_equal(c->origins[2].id, "assets");
    assert_string_equal(c->origins[2].url, "http://[::1]:9003/static");
    assert_string_equal(c->origins[2].host_header, B_ASSETS);
    assert_string_equal(c->origins[2].region, "eu-west-1");
    assert_int_equal(c->origins[2].connection_attempts, 1);
    assert_int_equal(c->origins[2].connection_timeout_ms, 5000);
    assert_int_equal(c->origins[2].response_timeout_ms, 30000);

    /* CacheBehaviors in order, the default last; all three method sets. */
    assert_int_equal(c->nbehaviors, 4);
    assert_string_equal(c->behaviors[0].path_pattern, "/api/*");
    assert_string_equal(c->behaviors[0].target, "east");
    assert_int_equal(c->behaviors[0].methods, EDGE_METHODS_ALL);
    assert_string_equal(c->behaviors[1].path_pattern, "static/*.css");
    assert_string_equal(c->behaviors[1].target, "assets");
    assert_int_equal(c->behaviors[1].methods, EDGE_METHODS_GET_HEAD);
    assert_string_equal(c->behaviors[2].path_pattern, "/west/*");
    assert_string_equal(c->behaviors[2].target, "west");
    assert_int_equal(c->behaviors[2].methods, EDGE_METHODS_GET_HEAD); /* absent: CloudFront's */
    assert_string_equal(c->behaviors[3].target, "failover");
    assert_int_equal(c->behaviors[3].methods, EDGE_METHODS_GET_HEAD_OPTIONS);

    /* The patterns route the way CloudFront would, first match winning. */
    assert_true(edge_path_match(c->behaviors[0].path_pattern, "/api/orders"));
    assert_false(edge_path_match(c->behaviors[0].path_pattern, "/west/api/x"));
    assert_true(edge_path_match(c->behaviors[1].path_pattern, "/static/site.css"));
    assert_false(edge_path_match(c->behaviors[1].path_pattern, "/static/site.js"));
    assert_true(edge_path_match(c->behaviors[2].path_pattern, "/west/x"));
    free(c);
}

/* ---------------------------------------------------------------------------------------------
 * Invalid documents: the behaviours fixture with one or two edits, each with its exact message.
 */

/* Sets (or, with value NULL, removes) the member at a path written the way the messages write
 * it: "DistributionConfig.Origins.Items[0].Id". */
static void set_at(struct json_object *root, const char *path, const char *value)
{
    char buf[512], *save = NULL, *tok;
    struct json_object *cur = root, *parent = NULL;
    char last[128] = "";
    long last_idx = -1;

    snprintf(buf, sizeof(buf), "%s", path);
    for (tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
        char *br = strchr(tok, '[');
        long idx = -1;
        if (br) {
            idx = strtol(br + 1, NULL, 10);
            *br = '\0';
        }
        parent = cur;
        snprintf(last, sizeof(last), "%s", tok);
        last_idx = idx;
        if (!json_object_object_get_ex(parent, tok, &cur)) {
            cur = NULL;
            assert_null(strtok_r(NULL, ".", &save)); /* only the last member may be new */
            break;
        }
        if (idx >= 0) {
            parent = cur;
            cur = json_object_array_get_idx(parent, (size_t)idx);
        }
    }
    if (last_idx >= 0) {
        if (value)
            assert_int_equal(
                json_object_array_put_idx(parent, (size_t)last_idx, json_tokener_parse(value)), 0);
        else
            assert_int_equal(json_object_array_del_idx(parent, (size_t)last_idx, 1), 0);
    } else if (value) {
        struct json_object *v = json_tokener_parse(value);
        assert_true(v != NULL || strcmp(value, "null") == 0);
        assert_int_equal(json_object_object_add(parent, last, v), 0);
    } else {
        json_object_object_del(parent, last);
    }
}

struct bad_case {
    const char *path1, *value1; /* value NULL: remove the member */
    const char *path2, *value2; /* optional second edit */
    cfdr_code code;
    const char *message; /* exact */
};

#define DC "DistributionConfig."
#define ALL7 "[\"GET\",\"HEAD\",\"OPTIONS\",\"PUT\",\"PATCH\",\"POST\",\"DELETE\"]"

static const struct bad_case bad_cases[] = {
    /* The three examples of the issue. */
    {DC "OriginGroups.Items[0].FailoverCriteria.StatusCodes.Items[2]", "302", NULL, NULL,
     CFDR_E_CONFIG,
     DC "OriginGroups.Items[0].FailoverCriteria.StatusCodes.Items[2]: 302 is not allowed "
        "(allowed: " ALLOWED_CODES ")"},
    {DC "CacheBehaviors.Items[1].TargetOriginId", "\"x\"", NULL, NULL, CFDR_E_CONFIG,
     DC "CacheBehaviors.Items[1].TargetOriginId: \"x\" is neither an origin nor an origin "
        "group (known: \"east\", \"west\", \"assets\", \"failover\")"},
    {DC "DefaultCacheBehavior.AllowedMethods", "{\"Quantity\":7,\"Items\":" ALL7 "}", NULL, NULL,
     CFDR_E_CONFIG,
     DC "DefaultCacheBehavior.AllowedMethods: a behaviour whose target is an origin group may "
        "only allow GET, HEAD and OPTIONS (CloudFront rejects other methods there: only those "
        "fail over)"},
    /* A path-pattern behaviour on the group that allows POST. */
    {DC "CacheBehaviors.Items[0].TargetOriginId", "\"failover\"", NULL, NULL, CFDR_E_CONFIG,
     DC "CacheBehaviors.Items[0].AllowedMethods: a behaviour whose target is an origin group "
        "may only allow GET, HEAD and OPTIONS (CloudFront rejects other methods there: only "
        "those fail over)"},
    /* Quantity == len(Items) everywhere. */
    {DC "Origins.Quantity", "2", NULL, NULL, CFDR_E_CONFIG,
     DC "Origins: Quantity is 2 but Items has 3 entries (CloudFront rejects this as "
        "InconsistentQuantities: make Quantity the number of Items)"},
    {DC "OriginGroups.Items[0].FailoverCriteria.StatusCodes.Quantity", "5", NULL, NULL,
     CFDR_E_CONFIG,
     DC "OriginGroups.Items[0].FailoverCriteria.StatusCodes: Quantity is 5 but Items has 4 "
        "entries (CloudFront rejects this as InconsistentQuantities: make Quantity the number "
        "of Items)"},
    {DC "OriginGroups.Items[0].Members.Quantity", "3", NULL, NULL, CFDR_E_CONFIG,
     DC "OriginGroups.Items[0].Members: Quantity is 3 but Items has 2 entries (CloudFront "
        "rejects this as InconsistentQuantities: make Quantity the number of Items)"},
    {DC "CacheBehaviors.Items", NULL, NULL, NULL, CFDR_E_CONFIG,
     DC "CacheBehaviors: Quantity is 3 but Items has 0 entries (CloudFront rejects this as "
        "InconsistentQuantities: make Quantity the number of Items)"},
    {DC "DefaultCacheBehavior.AllowedMethods.Quantity", "2", NULL, NULL, CFDR_E_CONFIG,
     DC "DefaultCacheBehavior.AllowedMethods: Quantity is 2 but Items has 3 entries (CloudFront "
        "rejects this as InconsistentQuantities: make Quantity the number of Items)"},
    {DC "DefaultCacheBehavior.AllowedMethods.CachedMethods.Quantity", "3", NULL, NULL,
     CFDR_E_CONFIG,
     DC "DefaultCacheBehavior.AllowedMethods.CachedMethods: Quantity is 3 but Items has 2 "
        "entries (CloudFront rejects this as InconsistentQuantities: make Quantity the number "
        "of Items)"},
    {DC "OriginGroups.Quantity", NULL, NULL, NULL, CFDR_E_CONFIG,
     DC "OriginGroups.Quantity: is required but missing"},
    /* Origins. */
    {DC "Origins.Items[1].Id", "\"east\"", NULL, NULL, CFDR_E_CONFIG,
     DC "Origins.Items[1].Id: \"east\" is the Id of an earlier origin too"},
    {DC "Origins.Items[0].Id", "\"\"", NULL, NULL, CFDR_E_CONFIG,
     DC "Origins.Items[0].Id: must not be empty"},
    {DC "Origins.Items[0].DomainName", NULL, NULL, NULL, CFDR_E_CONFIG,
     DC "Origins.Items[0].DomainName: is required but missing"},
    {DC "Origins.Items[0].DomainName", "42", NULL, NULL, CFDR_E_CONFIG,
     DC "Origins.Items[0].DomainName: expected a string, got a whole number"},
    {DC "Origins.Items[0].ConnectionAttempts", "4", NULL, NULL, CFDR_E_CONFIG,
     DC "Origins.Items[0].ConnectionAttempts: 4 is out of range (1-3)"},
    {DC "Origins.Items[0].ConnectionTimeout", "0", NULL, NULL, CFDR_E_CONFIG,
     DC "Origins.Items[0].ConnectionTimeout: 0 is out of range (1-10)"},
    {DC "Origins.Items[0].ConnectionTimeout", "2.5", NULL, NULL, CFDR_E_CONFIG,
     DC "Origins.Items[0].ConnectionTimeout: expected a whole number, got a decimal number"},
    {DC "Origins.Items[0].CustomOriginConfig.OriginReadTimeout", "121", NULL, NULL, CFDR_E_CONFIG,
     DC "Origins.Items[0].CustomOriginConfig.OriginReadTimeout: 121 is out of range (1-120)"},
    {DC "Origins.Items[0].CustomOriginConfig.HTTPPort", "8", NULL, NULL, CFDR_E_CONFIG,
     DC "Origins.Items[0].CustomOriginConfig.HTTPPort: 8 is not allowed (allowed: 80, 443, "
        "1024-65535)"},
    {DC "Origins.Items[1].CustomOriginConfig.HTTPSPort", "70000", NULL, NULL, CFDR_E_CONFIG,
     DC "Origins.Items[1].CustomOriginConfig.HTTPSPort: 70000 is out of range (1-65535)"},
    {DC "Origins.Items[0].CustomOriginConfig.OriginProtocolPolicy", "\"https\"", NULL, NULL,
     CFDR_E_CONFIG,
     DC "Origins.Items[0].CustomOriginConfig.OriginProtocolPolicy: \"https\" is not allowed "
        "(allowed: http-only, match-viewer, https-only)"},
    {DC "Origins.Items[0].OriginPath", "\"/v1/\"", NULL, NULL, CFDR_E_CONFIG,
     DC "Origins.Items[0].OriginPath: \"/v1/\" must start with / and must not end with / (e.g. "
        "\"/production\"), or be empty"},
    {DC "Origins.Items[2].S3OriginConfig", NULL, NULL, NULL, CFDR_E_CONFIG,
     DC "Origins.Items[2]: needs CustomOriginConfig or S3OriginConfig (the local edge runs no "
        "other kind of origin)"},
    {DC "Origins.Items[2].CustomOriginConfig",
     "{\"HTTPPort\":80,\"HTTPSPort\":443,\"OriginProtocolPolicy\":\"http-only\"}", NULL, NULL,
     CFDR_E_CONFIG,
     DC "Origins.Items[2]: has both CustomOriginConfig and S3OriginConfig; an origin is one or "
        "the other"},
    {DC "Origins.Items[0]", "\"east\"", NULL, NULL, CFDR_E_CONFIG,
     DC "Origins.Items[0]: expected an object, got a string"},
    {DC "Origins", "{\"Quantity\":0}", NULL, NULL, CFDR_E_CONFIG,
     DC "Origins: a distribution needs at least one origin"},
    {DC "Origins", NULL, NULL, NULL, CFDR_E_CONFIG, DC "Origins: is required but missing"},
    /* Origin groups. */
    {DC "OriginGroups.Items[0].FailoverCriteria.StatusCodes.Items[2]", "404", NULL, NULL,
     CFDR_E_CONFIG,
     DC "OriginGroups.Items[0].FailoverCriteria.StatusCodes.Items[2]: 404 is listed twice"},
    {DC "OriginGroups.Items[0].FailoverCriteria.StatusCodes", "{\"Quantity\":0,\"Items\":[]}", NULL,
     NULL, CFDR_E_CONFIG,
     DC "OriginGroups.Items[0].FailoverCriteria.StatusCodes: at least one status code is needed "
        "(allowed: " ALLOWED_CODES ")"},
    {DC "OriginGroups.Items[0].FailoverCriteria.StatusCodes.Items[0]", "\"404\"", NULL, NULL,
     CFDR_E_CONFIG,
     DC "OriginGroups.Items[0].FailoverCriteria.StatusCodes.Items[0]: expected a whole number, "
        "got a string"},
    {DC "OriginGroups.Items[0].Members",
     "{\"Quantity\":3,\"Items\":[{\"OriginId\":\"east\"},{\"OriginId\":\"west\"},"
     "{\"OriginId\":\"assets\"}]}",
     NULL, NULL, CFDR_E_CONFIG,
     DC "OriginGroups.Items[0].Members: an origin group has exactly 2 members (primary, then "
        "secondary), not 3"},
    {DC "OriginGroups.Items[0].Members.Items[1].OriginId", "\"north\"", NULL, NULL, CFDR_E_CONFIG,
     DC "OriginGroups.Items[0].Members.Items[1].OriginId: \"north\" is not an origin (origins: "
        "\"east\", \"west\", \"assets\")"},
    {DC "OriginGroups.Items[0].Members.Items[1].OriginId", "\"east\"", NULL, NULL, CFDR_E_CONFIG,
     DC "OriginGroups.Items[0].Members.Items[1].OriginId: \"east\" is the first member too; the "
        "two members must be distinct origins"},
    {DC "OriginGroups.Items[0].Id", "\"west\"", NULL, NULL, CFDR_E_CONFIG,
     DC "OriginGroups.Items[0].Id: \"west\" is already the Id of an origin; origin and group "
        "Ids must differ"},
    {DC "OriginGroups.Items[0].FailoverCriteria", NULL, NULL, NULL, CFDR_E_CONFIG,
     DC "OriginGroups.Items[0].FailoverCriteria: is required but missing"},
    /* Behaviours. */
    {DC "DefaultCacheBehavior.AllowedMethods.Items[1]", "\"POST\"", NULL, NULL, CFDR_E_CONFIG,
     DC "DefaultCacheBehavior.AllowedMethods: [HEAD, OPTIONS, POST] is not one of the sets "
        "CloudFront accepts (allowed: [GET, HEAD], [GET, HEAD, OPTIONS] or [GET, HEAD, OPTIONS, "
        "PUT, PATCH, POST, DELETE])"},
    {DC "CacheBehaviors.Items[0].AllowedMethods.Items[5]", "\"CONNECT\"", NULL, NULL, CFDR_E_CONFIG,
     DC "CacheBehaviors.Items[0].AllowedMethods.Items[5]: \"CONNECT\" is not a method CloudFront "
        "knows (allowed: GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE)"},
    {DC "CacheBehaviors.Items[1].AllowedMethods.Items[1]", "\"GET\"", NULL, NULL, CFDR_E_CONFIG,
     DC "CacheBehaviors.Items[1].AllowedMethods.Items[1]: GET is listed twice"},
    {DC "CacheBehaviors.Items[1].AllowedMethods.CachedMethods",
     "{\"Quantity\":3,\"Items\":[\"GET\",\"HEAD\",\"OPTIONS\"]}", NULL, NULL, CFDR_E_CONFIG,
     DC "CacheBehaviors.Items[1].AllowedMethods.CachedMethods: [GET, HEAD, OPTIONS] is not "
        "allowed (allowed: [GET, HEAD] or [GET, HEAD, OPTIONS], within AllowedMethods)"},
    {DC "CacheBehaviors.Items[2].PathPattern", "\"\"", NULL, NULL, CFDR_E_CONFIG,
     DC "CacheBehaviors.Items[2].PathPattern: must not be empty"},
    {DC "DefaultCacheBehavior.TargetOriginId", "\"nowhere\"", NULL, NULL, CFDR_E_CONFIG,
     DC "DefaultCacheBehavior.TargetOriginId: \"nowhere\" is neither an origin nor an origin "
        "group (known: \"east\", \"west\", \"assets\", \"failover\")"},
    {DC "DefaultCacheBehavior", NULL, NULL, NULL, CFDR_E_CONFIG,
     DC "DefaultCacheBehavior: is required but missing"},
    /* Two edits: a group removed leaves its behaviour without a target. */
    {DC "OriginGroups", NULL, DC "CacheBehaviors.Items[2].TargetOriginId", "\"failover\"",
     CFDR_E_CONFIG,
     DC "CacheBehaviors.Items[2].TargetOriginId: \"failover\" is neither an origin nor an "
        "origin group (known: \"east\", \"west\", \"assets\")"},
    /* Not a distribution at all. */
    {"DistributionConfig", NULL, "Other", "{}", CFDR_E_CONFIG,
     "not a CloudFront DistributionConfig: expected a \"DistributionConfig\" member (as `aws "
     "cloudfront get-distribution-config` prints it), a \"DistributionConfigWithTags\" member, "
     "or a bare DistributionConfig with \"Origins\""},
    {"DistributionConfig", "[]", NULL, NULL, CFDR_E_CONFIG,
     "DistributionConfig: expected an object, got an array"},
};

static void test_invalid_documents(void **state)
{
    char *text = slurp(BEHAVIORS);
    struct edge_config *c = calloc(1, sizeof(*c));
    struct distconfig_map m;
    cfdr_err err;

    (void)state;
    assert_non_null(c);
    behaviors_map(&m);
    /* The unedited document is valid: each case fails because of its edit. */
    if (parse_str(text, &m, c, &err))
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *bc = &bad_cases[i];
        struct json_object *root = json_tokener_parse(text);
        const char *doc;
        cfdr_code rc;

        assert_non_null(root);
        set_at(root, bc->path1, bc->value1);
        if (bc->path2)
            set_at(root, bc->path2, bc->value2);
        doc = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
        rc = parse_str(doc, &m, c, &err);
        if (rc != bc->code || strcmp(err.msg, bc->message) != 0)
            fail_msg("case %zu (%s): got code %d, message\n  %s\nwant code %d, message\n  %s", i,
                     bc->path1, (int)rc, err.msg, (int)bc->code, bc->message);
        assert_int_equal(c->norigins, 0);
        json_object_put(root);
    }
    free(c);
    free(text);
}

/* ---------------------------------------------------------------------------------------------
 * The origin map.
 */

static void test_unmapped_domain(void **state)
{
    char *text = slurp(BEHAVIORS);
    struct edge_config *c = calloc(1, sizeof(*c));
    struct distconfig_map m;
    cfdr_err err;

    (void)state;
    assert_non_null(c);
    memset(&m, 0, sizeof(m));
    map_add(&m, B_EAST "=127.0.0.1:9001");
    map_add(&m, B_WEST "=127.0.0.1:9002");
    assert_int_equal(parse_str(text, &m, c, &err), CFDR_E_USAGE);
    assert_string_equal(err.msg, DC "Origins.Items[2].DomainName: origin \"assets\" has "
                                    "DomainName " B_ASSETS ", which no --origin-map points at a "
                                    "local address; add --origin-map " B_ASSETS "=HOST:PORT");
    /* No map at all: the first origin is named. */
    assert_int_equal(parse_str(text, NULL, c, &err), CFDR_E_USAGE);
    assert_true(strstr(err.msg, DC "Origins.Items[0].DomainName: origin \"east\"") == err.msg);
    assert_non_null(strstr(err.msg, "add --origin-map " B_EAST "=HOST:PORT"));
    /* A mapping no origin uses is a typo until proven otherwise. */
    behaviors_map(&m);
    map_add(&m, "eastservice1.us-east-2.awsapprunner.com=127.0.0.1:9004");
    assert_int_equal(parse_str(text, &m, c, &err), CFDR_E_USAGE);
    assert_string_equal(err.msg,
                        "--origin-map eastservice1.us-east-2.awsapprunner.com="
                        "127.0.0.1:9004: no origin has DomainName "
                        "eastservice1.us-east-2.awsapprunner.com (DomainNames: " B_EAST ", " B_WEST
                        ", " B_ASSETS "); check the spelling or drop the flag");
    /* A real mistake in the document is reported before any missing mapping. */
    {
        struct json_object *root = json_tokener_parse(text);
        set_at(root, DC "OriginGroups.Items[0].FailoverCriteria.StatusCodes.Items[0]", "302");
        assert_int_equal(parse_str(json_object_to_json_string(root), NULL, c, &err), CFDR_E_CONFIG);
        assert_non_null(strstr(err.msg, "302 is not allowed"));
        json_object_put(root);
    }
    free(c);
    free(text);
}

static void test_map_add(void **state)
{
    struct distconfig_map m;
    cfdr_err err;
    const char *bad[] = {"",
                         "nodomain",
                         "=127.0.0.1:80",
                         "a.example.com=",
                         "a.example.com=127.0.0.1",
                         "a.example.com=127.0.0.1:",
                         "a.example.com=127.0.0.1:0",
                         "a.example.com=127.0.0.1:65536",
                         "a.example.com=127.0.0.1:80x",
                         "a.example.com=127.0.0.1:+80",
                         "a.example.com=:80",
                         "a.example.com=http://127.0.0.1:80",
                         "a.exa mple.com=127.0.0.1:80",
                         "a.example.com=[::1:80",
                         "a.example.com=[zz]:80"};

    (void)state;
    memset(&m, 0, sizeof(m));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char want[512];
        err_clear(&err);
        if (distconfig_map_add(&m, bad[i], &err) != CFDR_E_USAGE)
            fail_msg("'%s' was accepted", bad[i]);
        snprintf(want, sizeof(want),
                 "--origin-map '%s': expected DOMAIN=HOST:PORT, e.g. --origin-map "
                 "abcdefghij.us-east-1.awsapprunner.com=127.0.0.1:8081",
                 bad[i]);
        assert_string_equal(err.msg, want);
    }
    assert_int_equal(m.n, 0);
    map_add(&m, "a.example.com=127.0.0.1:1");
    map_add(&m, "b.example.com=[::1]:65535");
    assert_int_equal(m.n, 2);
    assert_string_equal(m.entries[1].domain, "b.example.com");
    assert_string_equal(m.entries[1].host, "[::1]");
    assert_int_equal(m.entries[1].port, 65535);
    assert_int_equal(distconfig_map_add(&m, "A.EXAMPLE.COM=127.0.0.1:2", &err), CFDR_E_USAGE);
    assert_string_equal(err.msg, "--origin-map: A.EXAMPLE.COM is mapped twice");
    while (m.n < DISTCONFIG_MAP_MAX) {
        char arg[64];
        snprintf(arg, sizeof(arg), "o%zu.example.com=127.0.0.1:%zu", m.n, 1000 + m.n);
        map_add(&m, arg);
    }
    assert_int_equal(distconfig_map_add(&m, "last.example.com=127.0.0.1:3", &err), CFDR_E_USAGE);
    assert_string_equal(err.msg, "--origin-map: at most 25 (one per origin)");
}

static void test_region_from_domain(void **state)
{
    static const struct {
        const char *domain, *region;
    } cases[] = {
        {"abcdefghij.us-east-1.awsapprunner.com", "us-east-1"},
        {"X7K2.EU-CENTRAL-1.AWSAPPRUNNER.COM.", "eu-central-1"},
        {"bucket.s3.ap-southeast-2.amazonaws.com", "ap-southeast-2"},
        {"my.dotted.bucket.s3.us-gov-west-1.amazonaws.com", "us-gov-west-1"},
        {"awsapprunner.com", ""},
        {"a.b.us-east-1.awsapprunner.com", ""},
        {"abc.nowhere.awsapprunner.com", ""},
        {"abc.us_east_1.awsapprunner.com", ""},
        {"bucket.s3.amazonaws.com", ""},
        {"bucket.s3-website-us-east-1.amazonaws.com", ""},
        {"example.com", ""},
        {"", ""},
    };
    char out[64];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = distconfig_region_from_domain(cases[i].domain, out, sizeof(out));
        if (got != (cases[i].region[0] != '\0') || strcmp(out, cases[i].region) != 0)
            fail_msg("%s: got %d '%s', want '%s'", cases[i].domain, got, out, cases[i].region);
    }
    assert_int_equal(distconfig_region_from_domain("a.us-east-1.awsapprunner.com", out, 5), 0);
    assert_string_equal(out, "");
}

/* ---------------------------------------------------------------------------------------------
 * Not JSON, or not all of it.
 */

static void test_syntax_errors(void **state)
{
    struct edge_config *c = calloc(1, sizeof(*c));
    struct distconfig_map m;
    char *text = slurp(BEHAVIORS);
    size_t len = strlen(text);
    char path[1024];
    cfdr_err err;

    (void)state;
    assert_non_null(c);
    behaviors_map(&m);
    assert_int_equal(parse_str("", &m, c, &err), CFDR_E_PARSE);
    assert_string_equal(err.msg, "the document is empty, not JSON");
    assert_int_equal(parse_str(" \n ", &m, c, &err), CFDR_E_PARSE);
    assert_int_equal(parse_str("{\n  \"ETag\": 'x'\n}", &m, c, &err), CFDR_E_PARSE);
    assert_true(strncmp(err.msg, "not valid JSON at line 2, column 11: ", 37) == 0);
    assert_int_equal(parse_str("{\"Origins\": {}} {}", &m, c, &err), CFDR_E_PARSE);
    assert_string_equal(err.msg,
                        "not valid JSON at line 1, column 17: text after the end of the document");
    assert_int_equal(parse_str("[1, 2]", &m, c, &err), CFDR_E_CONFIG);
    assert_string_equal(err.msg,
                        "the document is an array, not a CloudFront DistributionConfig object");
    /* Every prefix that cuts the document short is an error, never a crash or a half config. */
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
        len--;
    for (size_t n = 0; n < len; n++) {
        err_clear(&err);
        assert_int_not_equal(distconfig_parse(text, n, &m, c, &err), CFDR_OK);
        assert_true(err.msg[0] != '\0');
        assert_int_equal(c->norigins, 0);
    }
    assert_int_equal(distconfig_parse(text, len, &m, c, &err), CFDR_OK);
    /* Files: the path prefixes the message. */
    err_clear(&err);
    assert_int_equal(distconfig_load_file("/nonexistent/dc.json", &m, c, &err), CFDR_E_IO);
    assert_string_equal(err.msg,
                        "--distribution-config: cannot open /nonexistent/dc.json: No such file or "
                        "directory");
    testdata_path("distconfig/group-allows-post.json", path, sizeof(path));
    fixture_map(&m);
    assert_int_equal(distconfig_load_file(path, &m, c, &err), CFDR_E_CONFIG);
    assert_true(strncmp(err.msg, path, strlen(path)) == 0);
    assert_non_null(strstr(err.msg, ": " DC "DefaultCacheBehavior.AllowedMethods: a behaviour "
                                    "whose target is an origin group may only allow GET, HEAD "
                                    "and OPTIONS"));
    free(text);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_maps),       cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_behaviors_in_order), cmocka_unit_test(test_invalid_documents),
        cmocka_unit_test(test_unmapped_domain),    cmocka_unit_test(test_map_add),
        cmocka_unit_test(test_region_from_domain), cmocka_unit_test(test_syntax_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
