/* Unit tests for aws/retry: standard retry mode as botocore's retries/standard.py and quota.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "aws/retry.h"
#include "aws/transport.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_error_code_classes(void **state)
{
    static const struct {
        const char *code;
        int throttling, transient;
    } cases[] = {
        {"Throttling", 1, 0},
        {"ThrottlingException", 1, 0},
        {"ThrottledException", 1, 0},
        {"RequestThrottledException", 1, 0},
        {"TooManyRequestsException", 1, 0},
        {"ProvisionedThroughputExceededException", 1, 0},
        {"TransactionInProgressException", 1, 0},
        {"RequestLimitExceeded", 1, 0},
        {"BandwidthLimitExceeded", 1, 0},
        {"LimitExceededException", 1, 0},
        {"RequestThrottled", 1, 0},
        {"SlowDown", 1, 0},
        {"PriorRequestNotComplete", 1, 1},
        {"EC2ThrottledException", 1, 0},
        {"RequestTimeout", 0, 1},
        {"RequestTimeoutException", 0, 1},
        {"throttling", 0, 0}, /* botocore matches exactly */
        {"ValidationException", 0, 0},
        {"AccessDenied", 0, 0},
        {"DistributionAlreadyExists", 0, 0},
        {"InternalFailure", 0, 0}, /* retried through its 500 status, not its code */
        {"", 0, 0},
        {NULL, 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        if (retry_is_throttling_code(cases[i].code) != cases[i].throttling ||
            retry_is_transient_code(cases[i].code) != cases[i].transient)
            fail_msg("code %s", cases[i].code ? cases[i].code : "(null)");
        assert_int_equal(transport_is_throttling_code(cases[i].code), cases[i].throttling);
    }
}

static void test_retryable_outcomes(void **state)
{
    static const struct {
        struct retry_outcome o;
        int retryable;
    } cases[] = {
        {{200, NULL, 0, 0}, 0},
        {{204, NULL, 0, 0}, 0},
        {{500, "InternalFailure", 0, 0}, 1},
        {{502, NULL, 0, 0}, 1},
        {{503, "ServiceUnavailable", 0, 0}, 1},
        {{504, NULL, 0, 0}, 1},
        {{501, NULL, 0, 0}, 0},
        {{505, NULL, 0, 0}, 0},
        {{400, "Throttling", 0, 0}, 1},
        {{400, "ThrottlingException", 0, 0}, 1},
        {{429, "TooManyRequestsException", 0, 0}, 1},
        {{429, NULL, 0, 0}, 0}, /* 429 alone is not in botocore's lists */
        {{400, "RequestTimeout", 0, 0}, 1},
        {{400, "ValidationException", 0, 0}, 0},
        {{403, "AccessDenied", 0, 0}, 0},
        {{404, "NoSuchDistribution", 0, 0}, 0},
        {{409, "DistributionAlreadyExists", 0, 0}, 0},
        {{412, "PreconditionFailed", 0, 0}, 0},
        {{0, NULL, 1, 0}, 1}, /* connection refused / dropped */
        {{0, NULL, 1, 1}, 1}, /* timeout */
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        if (retry_is_retryable(&cases[i].o) != cases[i].retryable)
            fail_msg("case %zu: status %ld code %s", i, cases[i].o.http_status,
                     cases[i].o.error_code ? cases[i].o.error_code : "-");
        if (!cases[i].o.conn_error && cases[i].o.http_status >= 300)
            assert_int_equal(transport_is_transient(cases[i].o.http_status, cases[i].o.error_code),
                             retry_is_transient_status(cases[i].o.http_status) ||
                                 retry_is_transient_code(cases[i].o.error_code));
    }
    assert_true(transport_is_transient(503, NULL));
    assert_true(transport_is_transient(400, "RequestTimeoutException"));
    assert_false(transport_is_transient(400, "Throttling"));
}

static void test_backoff_formula(void **state)
{
    /* t_i = min(rand * 2^(attempt-1), 20) seconds */
    static const struct {
        int attempt;
        double r;
        long ms;
    } cases[] = {
        {1, 0.0, 0},      {1, 0.5, 500},   {1, 0.999, 999},  {2, 0.5, 1000},   {2, 0.25, 500},
        {3, 0.9, 3600},   {4, 0.5, 4000},  {5, 0.99, 15840}, {5, 0.5, 8000},   {6, 0.5, 16000},
        {6, 0.99, 20000}, {7, 0.3, 19200}, {7, 0.4, 20000},  {40, 0.5, 20000}, {1000, 0.1, 20000},
        {0, 0.5, 500},    {1, -1.0, 0},    {2, 1.0, 2000},
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        long got = retry_backoff_ms(cases[i].attempt, cases[i].r);
        if (got != cases[i].ms)
            fail_msg("attempt %d r %.3f: got %ld ms, want %ld", cases[i].attempt, cases[i].r, got,
                     cases[i].ms);
    }
}

static void test_parse_max_attempts(void **state)
{
    static const struct {
        const char *s;
        int ok, value;
    } cases[] = {
        {"1", 1, 1},     {"3", 1, 3},   {" 5 ", 1, 5},  {"100", 1, 100},
        {"10\n", 1, 10}, {"0", 0, 0},   {"-1", 0, 0},   {"+2", 0, 0},
        {"", 0, 0},      {"  ", 0, 0},  {"abc", 0, 0},  {"3x", 0, 0},
        {"1.5", 0, 0},   {"101", 0, 0}, {"0x10", 0, 0}, {"99999999999999999999999", 0, 0},
        {NULL, 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        cfdr_err e;
        int v = -7;
        cfdr_code rc;
        err_clear(&e);
        rc = retry_parse_max_attempts(cases[i].s, "AWS_MAX_ATTEMPTS", &v, &e);
        if (cases[i].ok) {
            if (rc != CFDR_OK || v != cases[i].value)
                fail_msg("\"%s\": rc %d value %d", cases[i].s, rc, v);
        } else {
            if (rc != CFDR_E_CONFIG || v != -7)
                fail_msg("\"%s\" should be refused (rc %d)", cases[i].s ? cases[i].s : "(null)",
                         rc);
            assert_non_null(strstr(e.msg, "AWS_MAX_ATTEMPTS"));
            assert_non_null(strstr(e.msg, "1 to 100"));
        }
    }
}

static void test_max_attempts_from_env(void **state)
{
    cfdr_err e;
    int v = 0;
    (void)state;
    unsetenv("AWS_MAX_ATTEMPTS");
    assert_int_equal(retry_max_attempts_from_env(&v, &e), CFDR_OK);
    assert_int_equal(v, RETRY_DEFAULT_MAX_ATTEMPTS);
    setenv("AWS_MAX_ATTEMPTS", "7", 1);
    assert_int_equal(retry_max_attempts_from_env(&v, &e), CFDR_OK);
    assert_int_equal(v, 7);
    setenv("AWS_MAX_ATTEMPTS", "seven", 1);
    assert_int_equal(retry_max_attempts_from_env(&v, &e), CFDR_E_CONFIG);
    assert_string_equal(e.msg, "AWS_MAX_ATTEMPTS=\"seven\" is not valid: use a whole number from 1 "
                               "to 100 (the total number of attempts, the first one included; "
                               "default 3)");
    unsetenv("AWS_MAX_ATTEMPTS");
}

/* Runs a sequence of attempt outcomes through retry_decide and checks each verdict. */
struct step {
    struct retry_outcome o;
    enum retry_verdict want;
    int quota_after;
};

static void run_steps(const char *name, int max_attempts, int quota_start, const struct step *s,
                      size_t n)
{
    struct retry_quota q;
    struct retry_call c;
    retry_quota_init(&q);
    q.available = quota_start;
    retry_call_init(&c, max_attempts);
    for (size_t i = 0; i < n; i++) {
        int attempt = c.attempt;
        enum retry_verdict v = retry_decide(&c, &q, &s[i].o);
        if (v != s[i].want || q.available != s[i].quota_after)
            fail_msg("%s step %zu: verdict %s (want %s), quota %d (want %d)", name, i,
                     retry_verdict_name(v), retry_verdict_name(s[i].want), q.available,
                     s[i].quota_after);
        assert_int_equal(c.attempt, v == RETRY_YES ? attempt + 1 : attempt);
    }
}

static void test_decide_sequences(void **state)
{
    static const struct retry_outcome ok = {200, NULL, 0, 0};
    static const struct retry_outcome thr = {400, "Throttling", 0, 0};
    static const struct retry_outcome e503 = {503, NULL, 0, 0};
    static const struct retry_outcome bad = {400, "ValidationException", 0, 0};
    static const struct retry_outcome tmo = {0, NULL, 1, 1};
    static const struct retry_outcome conn = {0, NULL, 1, 0};
    (void)state;
    {
        const struct step s[] = {{ok, RETRY_NO_SUCCESS, 500}};
        run_steps("first try succeeds at full quota", 3, 500, s, N(s));
    }
    {
        const struct step s[] = {{ok, RETRY_NO_SUCCESS, 491}};
        run_steps("success without retry gives back 1", 3, 490, s, N(s));
    }
    {
        const struct step s[] = {
            {thr, RETRY_YES, 495}, {thr, RETRY_YES, 490}, {ok, RETRY_NO_SUCCESS, 495}};
        run_steps("throttled twice then ok: last acquisition refunded", 3, 500, s, N(s));
    }
    {
        const struct step s[] = {
            {thr, RETRY_YES, 495}, {e503, RETRY_YES, 490}, {thr, RETRY_NO_MAX_ATTEMPTS, 490}};
        run_steps("max attempts reached", 3, 500, s, N(s));
    }
    {
        const struct step s[] = {{bad, RETRY_NO_NOT_RETRYABLE, 500}};
        run_steps("4xx is not retried", 3, 500, s, N(s));
    }
    {
        const struct step s[] = {{bad, RETRY_NO_NOT_RETRYABLE, 500}};
        run_steps("4xx at the last attempt is still 'not retryable'", 1, 500, s, N(s));
    }
    {
        const struct step s[] = {
            {tmo, RETRY_YES, 490}, {conn, RETRY_YES, 485}, {ok, RETRY_NO_SUCCESS, 490}};
        run_steps("timeout costs 10, connection error 5", 5, 500, s, N(s));
    }
    {
        const struct step s[] = {{thr, RETRY_NO_QUOTA, 4}};
        run_steps("quota too low for a retry", 3, 4, s, N(s));
    }
    {
        const struct step s[] = {{conn, RETRY_YES, 4}, {tmo, RETRY_NO_QUOTA, 4}};
        run_steps("quota enough for 5 but not for a timeout's 10", 3, 9, s, N(s));
    }
    {
        const struct step s[] = {{thr, RETRY_NO_MAX_ATTEMPTS, 500}};
        run_steps("max_attempts 1 never retries", 1, 500, s, N(s));
    }
}

static void test_quota_drains_and_refills(void **state)
{
    struct retry_quota q;
    int retries = 0;
    (void)state;
    retry_quota_init(&q);
    assert_int_equal(q.available, RETRY_QUOTA_INITIAL);
    while (retry_quota_acquire(&q, 0) == RETRY_QUOTA_COST)
        retries++;
    assert_int_equal(retries, 100); /* 500 / 5 */
    assert_int_equal(q.available, 0);
    assert_int_equal(retry_quota_acquire(&q, 1), 0);
    retry_quota_release(&q, 10);
    assert_int_equal(retry_quota_acquire(&q, 1), RETRY_QUOTA_TIMEOUT_COST);
    assert_int_equal(q.available, 0);
    retry_quota_release(&q, 1000); /* never above the initial capacity */
    assert_int_equal(q.available, RETRY_QUOTA_INITIAL);
    retry_quota_release(&q, -5);
    assert_int_equal(q.available, RETRY_QUOTA_INITIAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_code_classes),       cmocka_unit_test(test_retryable_outcomes),
        cmocka_unit_test(test_backoff_formula),          cmocka_unit_test(test_parse_max_attempts),
        cmocka_unit_test(test_max_attempts_from_env),    cmocka_unit_test(test_decide_sequences),
        cmocka_unit_test(test_quota_drains_and_refills),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
