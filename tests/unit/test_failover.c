/* Unit tests for edge/failover: CloudFront's origin-group failover decision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "edge/failover.h"

#define R(s)                                                                                       \
    {                                                                                              \
        EDGE_ATTEMPT_RESPONSE, (s)                                                                 \
    }
#define CF                                                                                         \
    {                                                                                              \
        EDGE_ATTEMPT_CONNECT_FAILED, 0                                                             \
    }
#define TO                                                                                         \
    {                                                                                              \
        EDGE_ATTEMPT_TIMED_OUT, 0                                                                  \
    }
#define END                                                                                        \
    {                                                                                              \
        -1, 0                                                                                      \
    }

struct scenario {
    const char *name;
    const char *method;
    int has_secondary;
    int attempts;                     /* connection attempts in the policy */
    struct edge_attempt primary[4];   /* what each primary attempt produces, END-terminated */
    struct edge_attempt secondary[4]; /* likewise for the secondary */
    /* expected */
    int want_status; /* delivered status, or 502/504 made by the edge */
    int want_primary_attempts;
    int want_secondary_attempts;
    enum edge_reason want_reason; /* reason of the failover (or of the error) */
};

/* Drives the decision function like the edge does and records what happened. */
static void run(const struct edge_failover_policy *p, const struct scenario *s, int *status,
                int *np, int *ns, enum edge_reason *failover_reason)
{
    struct edge_position pos = {0, s->has_secondary, 1, edge_failover_method_idempotent(s->method)};
    *np = *ns = 0;
    *failover_reason = EDGE_REASON_NONE;
    for (int steps = 0; steps < 16; steps++) {
        const struct edge_attempt *list = pos.on_secondary ? s->secondary : s->primary;
        const struct edge_attempt *a = &list[pos.attempt - 1];
        enum edge_reason why;
        assert_true(pos.attempt <= 4);
        assert_int_not_equal((int)a->kind, -1); /* the scenario ran out of outcomes */
        if (pos.on_secondary)
            (*ns)++;
        else
            (*np)++;
        switch (edge_failover_next(p, &pos, a, &why)) {
        case EDGE_STEP_DELIVER:
            assert_int_equal(why, EDGE_REASON_NONE);
            *status = a->status;
            return;
        case EDGE_STEP_RETRY:
            assert_int_equal(why, EDGE_REASON_NONE);
            pos.attempt++;
            break;
        case EDGE_STEP_FAILOVER:
            assert_false(pos.on_secondary);
            assert_int_not_equal(why, EDGE_REASON_NONE);
            *failover_reason = why;
            pos.on_secondary = 1;
            pos.attempt = 1;
            break;
        case EDGE_STEP_BAD_GATEWAY:
            assert_int_equal(why, EDGE_REASON_CONNECT);
            if (*failover_reason == EDGE_REASON_NONE)
                *failover_reason = why;
            *status = 502;
            return;
        case EDGE_STEP_GATEWAY_TIMEOUT:
            assert_int_equal(why, EDGE_REASON_TIMEOUT);
            if (*failover_reason == EDGE_REASON_NONE)
                *failover_reason = why;
            *status = 504;
            return;
        }
    }
    fail_msg("the decision loop did not terminate");
}

static const struct scenario scenarios[] = {
    {"healthy primary", "GET", 1, 3, {R(200), END}, {END}, 200, 1, 0, EDGE_REASON_NONE},
    {"redirect passes through", "GET", 1, 3, {R(301), END}, {END}, 301, 1, 0, EDGE_REASON_NONE},
    {"paused App Runner (404) fails over",
     "GET",
     1,
     3,
     {R(404), END},
     {R(200), END},
     200,
     1,
     1,
     EDGE_REASON_STATUS},
    {"503 fails over", "HEAD", 1, 3, {R(503), END}, {R(200), END}, 200, 1, 1, EDGE_REASON_STATUS},
    {"status not configured is delivered",
     "GET",
     1,
     3,
     {R(500), END},
     {END},
     500,
     1,
     0,
     EDGE_REASON_NONE},
    {"401 is never failover", "GET", 1, 3, {R(401), END}, {END}, 401, 1, 0, EDGE_REASON_NONE},
    {"status failover is immediate, no retry",
     "OPTIONS",
     1,
     3,
     {R(502), END},
     {R(204), END},
     204,
     1,
     1,
     EDGE_REASON_STATUS},
    {"secondary's failover status is delivered",
     "GET",
     1,
     3,
     {R(503), END},
     {R(503), END},
     503,
     1,
     1,
     EDGE_REASON_STATUS},
    {"refused x3 then secondary",
     "GET",
     1,
     3,
     {CF, CF, CF, END},
     {R(200), END},
     200,
     3,
     1,
     EDGE_REASON_CONNECT},
    {"refused once then primary recovers",
     "GET",
     1,
     3,
     {CF, R(200), END},
     {END},
     200,
     2,
     0,
     EDGE_REASON_NONE},
    {"one attempt configured",
     "GET",
     1,
     1,
     {CF, END},
     {R(200), END},
     200,
     1,
     1,
     EDGE_REASON_CONNECT},
    {"hung primary x3 then secondary",
     "GET",
     1,
     3,
     {TO, TO, TO, END},
     {R(200), END},
     200,
     3,
     1,
     EDGE_REASON_TIMEOUT},
    {"both unreachable: 502",
     "GET",
     1,
     2,
     {CF, CF, END},
     {CF, CF, END},
     502,
     2,
     2,
     EDGE_REASON_CONNECT},
    {"both hung: 504", "GET", 1, 2, {TO, TO, END}, {TO, TO, END}, 504, 2, 2, EDGE_REASON_TIMEOUT},
    {"primary refused, secondary hung: 504",
     "GET",
     1,
     1,
     {CF, END},
     {TO, END},
     504,
     1,
     1,
     EDGE_REASON_CONNECT},
    {"mixed failures end in the last kind",
     "GET",
     1,
     3,
     {CF, TO, CF, END},
     {CF, CF, TO, END},
     504,
     3,
     3,
     EDGE_REASON_CONNECT},
    {"single origin: 404 delivered",
     "GET",
     0,
     3,
     {R(404), END},
     {END},
     404,
     1,
     0,
     EDGE_REASON_NONE},
    {"single origin: refused gives 502",
     "GET",
     0,
     3,
     {CF, CF, CF, END},
     {END},
     502,
     3,
     0,
     EDGE_REASON_CONNECT},
    {"POST to single origin: connect retried (nothing sent)",
     "POST",
     0,
     3,
     {CF, R(201), END},
     {END},
     201,
     2,
     0,
     EDGE_REASON_NONE},
    {"POST to single origin: timeout not re-sent",
     "POST",
     0,
     3,
     {TO, END},
     {END},
     504,
     1,
     0,
     EDGE_REASON_TIMEOUT},
    {"POST never fails over on status",
     "POST",
     1,
     3,
     {R(503), END},
     {END},
     503,
     1,
     0,
     EDGE_REASON_NONE},
};

static void test_scenarios(void **state)
{
    static const int codes[] = {403, 404, 502, 503, 504};
    (void)state;
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
        const struct scenario *s = &scenarios[i];
        struct edge_failover_policy p;
        int status = 0, np, ns;
        enum edge_reason why;
        assert_int_equal(edge_failover_policy_init(&p, codes, 5, NULL), CFDR_OK);
        p.connection_attempts = s->attempts;
        print_message("scenario: %s\n", s->name);
        run(&p, s, &status, &np, &ns, &why);
        assert_int_equal(status, s->want_status);
        assert_int_equal(np, s->want_primary_attempts);
        assert_int_equal(ns, s->want_secondary_attempts);
        assert_int_equal(why, s->want_reason);
    }
}

static void test_policy_validation(void **state)
{
    struct edge_failover_policy p;
    cfdr_err e;
    static const int good[] = {400, 403, 404, 416, 500, 502, 503, 504};
    static const int bad[] = {404, 302};
    (void)state;
    assert_int_equal(edge_failover_policy_init(&p, good, 8, &e), CFDR_OK);
    assert_int_equal(p.connection_attempts, 3);
    assert_int_equal(p.connection_timeout_ms, 10000);
    assert_int_equal(p.response_timeout_ms, 30000);
    for (int s = 100; s < 600; s++) {
        int expect = 0;
        for (int i = 0; i < 8; i++)
            expect |= good[i] == s;
        assert_int_equal(p.fail_on[s] != 0, expect);
        assert_int_equal(edge_failover_code_allowed(s), expect);
    }
    assert_int_equal(edge_failover_policy_init(&p, bad, 2, &e), CFDR_E_CONFIG);
    assert_non_null(strstr(e.msg, "302 is not allowed"));
    assert_non_null(strstr(e.msg, "416"));
    assert_int_equal(edge_failover_policy_init(&p, good, 0, &e), CFDR_E_CONFIG);
}

static void test_methods_and_budget(void **state)
{
    struct edge_failover_policy p;
    static const int codes[] = {503};
    (void)state;
    assert_true(edge_failover_method_idempotent("GET"));
    assert_true(edge_failover_method_idempotent("HEAD"));
    assert_true(edge_failover_method_idempotent("OPTIONS"));
    assert_false(edge_failover_method_idempotent("POST"));
    assert_false(edge_failover_method_idempotent("get"));
    assert_false(edge_failover_method_idempotent("DELETE"));
    assert_int_equal(edge_failover_policy_init(&p, codes, 1, NULL), CFDR_OK);
    /* CloudFront's defaults: a blackholed primary costs 30 s, a hung one 90 s. */
    assert_int_equal(edge_failover_budget_connect_ms(&p), 30000);
    assert_int_equal(edge_failover_budget_timeout_ms(&p), 90000);
    p.connection_attempts = 2;
    p.connection_timeout_ms = 1000;
    assert_int_equal(edge_failover_budget_connect_ms(&p), 2000);
    assert_string_equal(edge_failover_reason_name(EDGE_REASON_STATUS), "status");
    assert_string_equal(edge_failover_reason_name(EDGE_REASON_TIMEOUT), "timeout");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenarios),
        cmocka_unit_test(test_policy_validation),
        cmocka_unit_test(test_methods_and_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
