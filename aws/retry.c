/* retry: see retry.h. */
#include "aws/retry.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* botocore retries/standard.py, ThrottledRetryableChecker._THROTTLED_ERROR_CODES */
static const char *const throttling_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
};

/* botocore retries/standard.py, TransientRetryableChecker._TRANSIENT_ERROR_CODES */
static const char *const transient_codes[] = {
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
};

static int in_list(const char *code, const char *const *list, size_t n)
{
    if (!code || !*code)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(code, list[i]) == 0)
            return 1;
    return 0;
}

int retry_is_throttling_code(const char *code)
{
    return in_list(code, throttling_codes, sizeof(throttling_codes) / sizeof(throttling_codes[0]));
}

int retry_is_transient_code(const char *code)
{
    return in_list(code, transient_codes, sizeof(transient_codes) / sizeof(transient_codes[0]));
}

int retry_is_transient_status(long http_status)
{
    return http_status == 500 || http_status == 502 || http_status == 503 || http_status == 504;
}

int retry_is_retryable(const struct retry_outcome *o)
{
    if (o->conn_error)
        return 1;
    if (o->http_status >= 200 && o->http_status < 300)
        return 0;
    return retry_is_transient_code(o->error_code) || retry_is_transient_status(o->http_status) ||
           retry_is_throttling_code(o->error_code);
}

cfdr_code retry_parse_max_attempts(const char *s, const char *source, int *out, cfdr_err *err)
{
    const char *p = s ? s : "";
    char *end;
    long v;

    while (isspace((unsigned char)*p))
        p++;
    if (!isdigit((unsigned char)*p))
        goto bad;
    errno = 0;
    v = strtol(p, &end, 10);
    if (errno)
        goto bad;
    while (isspace((unsigned char)*end))
        end++;
    if (*end || v < 1 || v > RETRY_MAX_MAX_ATTEMPTS)
        goto bad;
    *out = (int)v;
    return CFDR_OK;
bad:
    return err_set(err, CFDR_E_CONFIG,
                   "%s=\"%.64s\" is not valid: use a whole number from 1 to %d (the total number "
                   "of attempts, the first one included; default %d)",
                   source, s ? s : "", RETRY_MAX_MAX_ATTEMPTS, RETRY_DEFAULT_MAX_ATTEMPTS);
}

cfdr_code retry_max_attempts_from_env(int *out, cfdr_err *err)
{
    const char *v = getenv("AWS_MAX_ATTEMPTS");
    if (!v) {
        *out = RETRY_DEFAULT_MAX_ATTEMPTS;
        return CFDR_OK;
    }
    return retry_parse_max_attempts(v, "AWS_MAX_ATTEMPTS", out, err);
}

long retry_backoff_ms(int attempt, double r)
{
    double s;

    if (attempt < 1)
        attempt = 1;
    if (!(r >= 0.0)) /* also catches NaN */
        r = 0.0;
    if (r >= 1.0)
        r = nextafter(1.0, 0.0);
    /* 2^30 s is far past the cap; avoid computing huge powers */
    s = attempt > 31 ? (double)RETRY_MAX_BACKOFF_MS : r * ldexp(1.0, attempt - 1) * 1000.0;
    if (s > (double)RETRY_MAX_BACKOFF_MS)
        s = (double)RETRY_MAX_BACKOFF_MS;
    return (long)(s + 0.5); /* nearest millisecond: 0.99 * 16 s is 15840 ms, not 15839 */
}

void retry_quota_init(struct retry_quota *q)
{
    q->max = RETRY_QUOTA_INITIAL;
    q->available = RETRY_QUOTA_INITIAL;
}

int retry_quota_acquire(struct retry_quota *q, int timeout)
{
    int cost = timeout ? RETRY_QUOTA_TIMEOUT_COST : RETRY_QUOTA_COST;
    if (cost > q->available)
        return 0;
    q->available -= cost;
    return cost;
}

void retry_quota_release(struct retry_quota *q, int amount)
{
    int room = q->max - q->available;
    if (amount > room)
        amount = room;
    if (amount > 0)
        q->available += amount;
}

void retry_call_init(struct retry_call *c, int max_attempts)
{
    c->attempt = 1;
    c->max_attempts = max_attempts;
    c->quota_held = 0;
}

enum retry_verdict retry_decide(struct retry_call *c, struct retry_quota *q,
                                const struct retry_outcome *o)
{
    int taken;

    if (!o->conn_error && o->http_status >= 200 && o->http_status < 300) {
        /* botocore's release_retry_quota: give back the last acquisition, or 1 */
        retry_quota_release(q, c->quota_held ? c->quota_held : RETRY_QUOTA_NO_RETRY_INCREMENT);
        return RETRY_NO_SUCCESS;
    }
    /* botocore checks max attempts first, then the retry conditions, then the quota */
    if (c->attempt >= c->max_attempts)
        return retry_is_retryable(o) ? RETRY_NO_MAX_ATTEMPTS : RETRY_NO_NOT_RETRYABLE;
    if (!retry_is_retryable(o))
        return RETRY_NO_NOT_RETRYABLE;
    taken = retry_quota_acquire(q, o->conn_error && o->timeout);
    if (!taken)
        return RETRY_NO_QUOTA;
    c->quota_held = taken;
    c->attempt++;
    return RETRY_YES;
}

const char *retry_verdict_name(enum retry_verdict v)
{
    switch (v) {
    case RETRY_NO_SUCCESS:
        return "success";
    case RETRY_NO_NOT_RETRYABLE:
        return "not retryable";
    case RETRY_NO_MAX_ATTEMPTS:
        return "max attempts reached";
    case RETRY_NO_QUOTA:
        return "retry quota exhausted";
    case RETRY_YES:
        return "retry";
    }
    return "unknown";
}
