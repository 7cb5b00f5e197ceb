/* Unit tests for aws/endpoint: default endpoints, AWS_ENDPOINT_URL* overrides, URL validation
 * and the aws partition's region pattern. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/endpoint.h"

static const char *const env_vars[] = {
    "AWS_ENDPOINT_URL",           "AWS_ENDPOINT_URL_CLOUDFRONT",
    "AWS_ENDPOINT_URL_APPRUNNER", "AWS_ENDPOINT_URL_CLOUDWATCH",
    "AWS_ENDPOINT_URL_SNS",       "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_SSO",       "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"};
#define NVARS (sizeof(env_vars) / sizeof(env_vars[0]))

struct saved_env {
    char *val[NVARS];
    int had[NVARS];
};

static int setup(void **state)
{
    struct saved_env *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    for (size_t i = 0; i < NVARS; i++) {
        const char *v = getenv(env_vars[i]);
        s->had[i] = v != NULL;
        s->val[i] = v ? strdup(v) : NULL;
        unsetenv(env_vars[i]);
    }
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct saved_env *s = *state;
    for (size_t i = 0; i < NVARS; i++) {
        if (s->had[i])
            setenv(env_vars[i], s->val[i], 1);
        else
            unsetenv(env_vars[i]);
        free(s->val[i]);
    }
    free(s);
    return 0;
}

static void resolve_ok(enum aws_service_id svc, const char *region, struct aws_endpoint *ep)
{
    cfdr_err e;
    err_clear(&e);
    if (endpoint_resolve(svc, region, ep, &e) != CFDR_OK)
        fail_msg("endpoint_resolve(%s, %s): %s", endpoint_service_name(svc),
                 region ? region : "NULL", e.msg);
}

static void test_defaults(void **state)
{
    static const struct {
        enum aws_service_id svc;
        const char *region;
        const char *url, *host, *sregion, *sname;
    } cases[] = {
        {AWS_SVC_CLOUDFRONT, "eu-west-1", "https://cloudfront.amazonaws.com",
         "cloudfront.amazonaws.com", "us-east-1", "cloudfront"},
        {AWS_SVC_CLOUDFRONT, NULL, "https://cloudfront.amazonaws.com", "cloudfront.amazonaws.com",
         "us-east-1", "cloudfront"},
        {AWS_SVC_CLOUDFRONT, "not a region", "https://cloudfront.amazonaws.com",
         "cloudfront.amazonaws.com", "us-east-1", "cloudfront"},
        {AWS_SVC_APPRUNNER, "eu-west-1", "https://apprunner.eu-west-1.amazonaws.com",
         "apprunner.eu-west-1.amazonaws.com", "eu-west-1", "apprunner"},
        {AWS_SVC_CLOUDWATCH, "us-west-2", "https://monitoring.us-west-2.amazonaws.com",
         "monitoring.us-west-2.amazonaws.com", "us-west-2", "monitoring"},
        {AWS_SVC_SNS, "ap-southeast-2", "https://sns.ap-southeast-2.amazonaws.com",
         "sns.ap-southeast-2.amazonaws.com", "ap-southeast-2", "sns"},
        {AWS_SVC_STS, "us-east-1", "https://sts.us-east-1.amazonaws.com",
         "sts.us-east-1.amazonaws.com", "us-east-1", "sts"},
        {AWS_SVC_SSO, "eu-central-1", "https://portal.sso.eu-central-1.amazonaws.com",
         "portal.sso.eu-central-1.amazonaws.com", "eu-central-1", "awsssoportal"},
        {AWS_SVC_SNS, "il-central-1", "https://sns.il-central-1.amazonaws.com",
         "sns.il-central-1.amazonaws.com", "il-central-1", "sns"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct aws_endpoint ep;
        resolve_ok(cases[i].svc, cases[i].region, &ep);
        assert_string_equal(ep.url, cases[i].url);
        assert_string_equal(ep.host, cases[i].host);
        assert_string_equal(ep.signing_region, cases[i].sregion);
        assert_string_equal(ep.signing_name, cases[i].sname);
        assert_int_equal(ep.overridden, 0);
    }
}

static void test_names(void **state)
{
    static const char *const names[] = {"CloudFront", "App Runner", "CloudWatch",
                                        "SNS",        "STS",        "SSO"};
    static const char *const envs[] = {"CLOUDFRONT", "APPRUNNER", "CLOUDWATCH",
                                       "SNS",        "STS",       "SSO"};
    (void)state;
    for (int i = 0; i < AWS_SVC_COUNT; i++) {
        assert_string_equal(endpoint_service_name((enum aws_service_id)i), names[i]);
        assert_string_equal(endpoint_service_env_suffix((enum aws_service_id)i), envs[i]);
    }
    struct aws_endpoint ep;
    cfdr_err e;
    assert_int_equal(endpoint_resolve(AWS_SVC_COUNT, "us-east-1", &ep, &e), CFDR_E_INTERNAL);
}

static void test_region_pattern(void **state)
{
    static const char *const good[] = {"us-east-1",      "eu-west-3",    "ap-northeast-1",
                                       "sa-east-1",      "ca-central-1", "me-south-1",
                                       "af-south-1",     "il-central-1", "mx-central-1",
                                       "ap-southeast-7", "us-east_y-10", "eu-central-12"};
    static const char *const bad[] = {
        "",          "us-east",    "useast1",     "cn-north-1",  "us-gov-west-1",
        "xx-east-1", "US-EAST-1",  "us-east-1 ",  " us-east-1",  "us-east-1\n",
        "us--1",     "us-east-1a", "us-east-1-1", "eu-west-one", "us-ea.st-1"};
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!endpoint_region_valid(good[i]))
            fail_msg("'%s' should be valid", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (endpoint_region_valid(bad[i]))
            fail_msg("'%s' should be invalid", bad[i]);
    assert_false(endpoint_region_valid(NULL));
}

static void test_bad_region_errors(void **state)
{
    struct aws_endpoint ep;
    cfdr_err e;
    (void)state;
    assert_int_equal(endpoint_resolve(AWS_SVC_SNS, "cn-north-1", &ep, &e), CFDR_E_CONFIG);
    assert_non_null(strstr(e.msg, "'cn-north-1'"));
    assert_non_null(strstr(e.msg, "SNS"));
    assert_int_equal(endpoint_resolve(AWS_SVC_APPRUNNER, NULL, &ep, &e), CFDR_E_CONFIG);
    assert_non_null(strstr(e.msg, "App Runner"));
    assert_int_equal(endpoint_resolve(AWS_SVC_STS, "", &ep, &e), CFDR_E_CONFIG);
    assert_int_equal(
        endpoint_resolve(AWS_SVC_STS, "us-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-1", &ep, &e),
        CFDR_E_CONFIG);
    /* an override does not excuse a bad region: the request is still signed for it */
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566", 1);
    assert_int_equal(endpoint_resolve(AWS_SVC_CLOUDWATCH, "moon-1", &ep, &e), CFDR_E_CONFIG);
}

static void test_overrides(void **state)
{
    struct aws_endpoint ep;
    (void)state;

    /* global override applies to every service and keeps the signing scope */
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/", 1);
    resolve_ok(AWS_SVC_CLOUDFRONT, "eu-west-1", &ep);
    assert_string_equal(ep.url, "http://127.0.0.1:4566");
    assert_string_equal(ep.host, "127.0.0.1:4566");
    assert_string_equal(ep.signing_region, "us-east-1");
    assert_string_equal(ep.signing_name, "cloudfront");
    assert_int_equal(ep.overridden, 1);
    resolve_ok(AWS_SVC_SSO, "eu-west-1", &ep);
    assert_string_equal(ep.url, "http://127.0.0.1:4566");
    assert_string_equal(ep.signing_region, "eu-west-1");
    assert_string_equal(ep.signing_name, "awsssoportal");
    assert_int_equal(ep.overridden, 1);

    /* the service variable wins over the global one, only for its service */
    setenv("AWS_ENDPOINT_URL_APPRUNNER", "https://localhost:8443/base//", 1);
    resolve_ok(AWS_SVC_APPRUNNER, "us-east-2", &ep);
    assert_string_equal(ep.url, "https://localhost:8443/base");
    assert_string_equal(ep.host, "localhost:8443");
    assert_string_equal(ep.signing_region, "us-east-2");
    assert_string_equal(ep.signing_name, "apprunner");
    resolve_ok(AWS_SVC_CLOUDWATCH, "us-east-2", &ep);
    assert_string_equal(ep.url, "http://127.0.0.1:4566");

    /* every service has its own variable */
    static const struct {
        enum aws_service_id svc;
        const char *var;
    } per[] = {{AWS_SVC_CLOUDFRONT, "AWS_ENDPOINT_URL_CLOUDFRONT"},
               {AWS_SVC_APPRUNNER, "AWS_ENDPOINT_URL_APPRUNNER"},
               {AWS_SVC_CLOUDWATCH, "AWS_ENDPOINT_URL_CLOUDWATCH"},
               {AWS_SVC_SNS, "AWS_ENDPOINT_URL_SNS"},
               {AWS_SVC_STS, "AWS_ENDPOINT_URL_STS"},
               {AWS_SVC_SSO, "AWS_ENDPOINT_URL_SSO"}};
    for (size_t i = 0; i < sizeof(per) / sizeof(per[0]); i++) {
        char url[64];
        snprintf(url, sizeof(url), "http://127.0.0.1:%zu", 5000 + i);
        setenv(per[i].var, url, 1);
    }
    for (size_t i = 0; i < sizeof(per) / sizeof(per[0]); i++) {
        char url[64];
        snprintf(url, sizeof(url), "http://127.0.0.1:%zu", 5000 + i);
        resolve_ok(per[i].svc, "us-east-1", &ep);
        assert_string_equal(ep.url, url);
    }

    /* an empty service variable falls through to the global one */
    setenv("AWS_ENDPOINT_URL_SNS", "", 1);
    resolve_ok(AWS_SVC_SNS, "us-east-1", &ep);
    assert_string_equal(ep.url, "http://127.0.0.1:4566");

    /* AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true (any case) disables both */
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE", 1);
    resolve_ok(AWS_SVC_SNS, "us-east-1", &ep);
    assert_string_equal(ep.url, "https://sns.us-east-1.amazonaws.com");
    assert_int_equal(ep.overridden, 0);
    resolve_ok(AWS_SVC_STS, "us-east-1", &ep);
    assert_string_equal(ep.url, "https://sts.us-east-1.amazonaws.com");
    /* ... and any other value does not */
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "1", 1);
    resolve_ok(AWS_SVC_STS, "us-east-1", &ep);
    assert_string_equal(ep.url, "http://127.0.0.1:5004");
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false", 1);
    resolve_ok(AWS_SVC_STS, "us-east-1", &ep);
    assert_int_equal(ep.overridden, 1);
}

static void test_url_forms(void **state)
{
    static const struct {
        const char *in, *url, *host;
    } cases[] = {
        {"http://localhost", "http://localhost", "localhost"},
        {"HTTP://Example.COM:8080", "http://Example.COM:8080", "Example.COM:8080"},
        {"https://host:443/", "https://host:443", "host"},
        {"http://host:80", "http://host:80", "host"},
        {"http://host:443", "http://host:443", "host:443"},
        {"http://[::1]:4566/", "http://[::1]:4566", "[::1]:4566"},
        {"http://[::1]", "http://[::1]", "[::1]"},
        {"http://a.b-c.example.:1/p/q/", "http://a.b-c.example.:1/p/q", "a.b-c.example.:1"},
        {"https://10.0.0.1:65535///", "https://10.0.0.1:65535", "10.0.0.1:65535"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct aws_endpoint ep;
        setenv("AWS_ENDPOINT_URL_STS", cases[i].in, 1);
        resolve_ok(AWS_SVC_STS, "us-east-1", &ep);
        assert_string_equal(ep.url, cases[i].url);
        assert_string_equal(ep.host, cases[i].host);
    }
}

static void test_bad_urls_name_the_variable(void **state)
{
    static const char *const bad[] = {
        "ftp://127.0.0.1",  "127.0.0.1:4566",    "http://",
        "http:///path",     "http://:4566",      "http://host:",
        "http://host:0",    "http://host:65536", "http://host:12a",
        "http://ho st",     "http://host\n",     "http://-host",
        "http://host-.com", "http://ho_st",      "http://a..b",
        "http://host?x=1",  "http://host/#frag", "http://[::1",
        "http://[zz::1]",   "http://[::1]x",     "http://user:secretpass@host",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct aws_endpoint ep;
        cfdr_err e;
        setenv("AWS_ENDPOINT_URL_CLOUDWATCH", bad[i], 1);
        if (endpoint_resolve(AWS_SVC_CLOUDWATCH, "us-east-1", &ep, &e) != CFDR_E_CONFIG)
            fail_msg("'%s' was accepted", bad[i]);
        if (!strstr(e.msg, "AWS_ENDPOINT_URL_CLOUDWATCH"))
            fail_msg("message for '%s' does not name the variable: %s", bad[i], e.msg);
        assert_null(strstr(e.msg, "secretpass"));
    }
    unsetenv("AWS_ENDPOINT_URL_CLOUDWATCH");
    setenv("AWS_ENDPOINT_URL", "localhost:4566", 1);
    struct aws_endpoint ep;
    cfdr_err e;
    assert_int_equal(endpoint_resolve(AWS_SVC_CLOUDWATCH, "us-east-1", &ep, &e), CFDR_E_CONFIG);
    assert_non_null(strstr(e.msg, "AWS_ENDPOINT_URL="));
    assert_non_null(strstr(e.msg, "http://"));

    /* too long for the struct */
    char longurl[700];
    memset(longurl, 'a', sizeof(longurl));
    memcpy(longurl, "http://h/", 9);
    longurl[sizeof(longurl) - 1] = '\0';
    setenv("AWS_ENDPOINT_URL", longurl, 1);
    assert_int_equal(endpoint_resolve(AWS_SVC_SNS, "us-east-1", &ep, &e), CFDR_E_CONFIG);
    assert_non_null(strstr(e.msg, "longer"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_region_pattern, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_region_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_urls_name_the_variable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
