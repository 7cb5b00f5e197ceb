/*
 * retry: the AWS SDKs' "standard" retry mode as pure logic (no clock, no network, no sleep).
 *
 * Follows botocore's retries/standard.py and retries/quota.py:
 *   - an attempt is retried when it is under max attempts AND it failed in a retryable way:
 *     a throttling error code, a transient error code (RequestTimeout, RequestTimeoutException,
 *     PriorRequestNotComplete), a transient HTTP status (500, 502, 503, 504), or a connection
 *     failure / timeout where no HTTP answer arrived;
 *   - AND the client's retry quota has capacity: 500 tokens, a retry costs 5 (10 after a
 *     timeout); a successful (2xx) call gives back what its last retry took, or 1 token when it
 *     needed no retry, never above 500;
 *   - the delay before the next attempt, after failed attempt number n (1-based), is
 *     min(rand[0,1) * 2^(n-1), 20) seconds ("full jitter").
 * Max attempts counts every attempt, the first included (AWS_MAX_ATTEMPTS, default 3).
 *
 * Ownership: everything here is plain values in caller-owned structs; nothing to free. The
 * quota belongs to one client (one struct transport) and is not thread-safe; guard it if it is
 * ever shared between threads.
 */
#ifndef CFDR_RETRY_H
#define CFDR_RETRY_H

#include "aws/err.h"

#define RETRY_DEFAULT_MAX_ATTEMPTS 3
/* Upper bound accepted for AWS_MAX_ATTEMPTS: the quota allows at most 100 retries anyway. */
#define RETRY_MAX_MAX_ATTEMPTS 100
#define RETRY_MAX_BACKOFF_MS 20000L
#define RETRY_QUOTA_INITIAL 500
#define RETRY_QUOTA_COST 5
#define RETRY_QUOTA_TIMEOUT_COST 10
#define RETRY_QUOTA_NO_RETRY_INCREMENT 1

/* How one attempt ended. */
struct retry_outcome {
    long http_status;       /* 0 when no HTTP answer arrived */
    const char *error_code; /* AWS error code of the answer, NULL or "" when none */
    int conn_error;         /* 1: connection failed, was dropped, or timed out */
    int timeout;            /* 1: (with conn_error) the failure was a connect or read timeout */
};

struct retry_quota {
    int max;
    int available;
};

/* The retry state of one API call (all its attempts). */
struct retry_call {
    int attempt;      /* 1-based number of the attempt that just ended */
    int max_attempts; /* total attempts allowed, first included */
    int quota_held;   /* tokens taken by this call's last retry; 0 when none */
};

enum retry_verdict {
    RETRY_NO_SUCCESS = 0,   /* the attempt succeeded (2xx): nothing to retry */
    RETRY_NO_NOT_RETRYABLE, /* a failure that retrying would not fix */
    RETRY_NO_MAX_ATTEMPTS,  /* retryable, but max attempts reached */
    RETRY_NO_QUOTA,         /* retryable, but the retry quota is exhausted */
    RETRY_YES               /* retry after *delay_ms */
};

/* Classification (botocore's fixed lists; exact, case-sensitive matches). */
int retry_is_throttling_code(const char *code);
int retry_is_transient_code(const char *code);
int retry_is_transient_status(long http_status);
/* 1 when the outcome is a failure that standard mode retries (ignoring attempts and quota). */
int retry_is_retryable(const struct retry_outcome *o);

/* Parses a max-attempts value ("1".."100", surrounding blanks allowed). `source` names where it
 * came from for the message (e.g. "AWS_MAX_ATTEMPTS"). CFDR_E_CONFIG when invalid. */
cfdr_code retry_parse_max_attempts(const char *s, const char *source, int *out, cfdr_err *err);
/* AWS_MAX_ATTEMPTS when set (and valid), else RETRY_DEFAULT_MAX_ATTEMPTS. */
cfdr_code retry_max_attempts_from_env(int *out, cfdr_err *err);

/* Delay in milliseconds before the retry that follows failed attempt `attempt` (1-based), given
 * r in [0,1): min(r * 2^(attempt-1) s, 20 s). */
long retry_backoff_ms(int attempt, double r);

void retry_quota_init(struct retry_quota *q);
/* Takes RETRY_QUOTA_COST (RETRY_QUOTA_TIMEOUT_COST when timeout) tokens; returns the number
 * taken, 0 when the quota lacks them (nothing is taken then). */
int retry_quota_acquire(struct retry_quota *q, int timeout);
/* Gives back up to `amount` tokens, never above q->max. */
void retry_quota_release(struct retry_quota *q, int amount);

void retry_call_init(struct retry_call *c, int max_attempts);
/* Decides what follows the attempt c->attempt that ended with o. On RETRY_YES it has taken the
 * quota and advanced c->attempt; the caller then waits retry_backoff_ms(c->attempt - 1, r) with
 * a fresh jitter draw r. On RETRY_NO_SUCCESS it has given the quota back as botocore does. */
enum retry_verdict retry_decide(struct retry_call *c, struct retry_quota *q,
                                const struct retry_outcome *o);
/* "success", "not retryable", "max attempts reached", "retry quota exhausted", "retry". */
const char *retry_verdict_name(enum retry_verdict v);

#endif
