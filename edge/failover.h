/*
 * failover: CloudFront's origin-group failover decision as a pure function, apart from all I/O.
 *
 * The edge asks it one question after every attempt to reach an origin: given the policy, where
 * the request is (which origin, which attempt) and what the attempt produced, what next?
 *
 * CloudFront's rules (Developer Guide: "Optimize high availability with CloudFront origin
 * failover", "Request and response behavior for origin groups", origin ConnectionAttempts /
 * ConnectionTimeout / response timeout):
 *  - every request starts at the primary (no memory of earlier failures);
 *  - a status code in the group's failover set sends the same request to the secondary at once;
 *    any other status (2xx, 3xx, 4xx/5xx not in the set) is delivered;
 *  - a failed connection is retried up to ConnectionAttempts times, each bounded by
 *    ConnectionTimeout; when all fail, the request fails over;
 *  - a response timeout is retried the same way (ConnectionAttempts also counts response
 *    attempts for custom origins) for idempotent methods, then fails over;
 *  - only GET, HEAD and OPTIONS fail over (a behaviour on a group may allow nothing else);
 *  - on the secondary, or on a behaviour with a single origin, a status is always delivered,
 *    exhausted connection attempts give the viewer 502, exhausted response attempts 504.
 *
 * No allocation, no state: everything is in the arguments.
 */
#ifndef CFDR_EDGE_FAILOVER_H
#define CFDR_EDGE_FAILOVER_H

#include <stddef.h>

#include "aws/err.h"

/* The status codes CloudFront accepts in an origin group's failover criteria. */
#define EDGE_FAILOVER_ALLOWED_CODES                                                                \
    {                                                                                              \
        400, 403, 404, 416, 500, 502, 503, 504                                                     \
    }
#define EDGE_FAILOVER_NALLOWED 8

struct edge_failover_policy {
    unsigned char fail_on[600]; /* fail_on[status] != 0: this status fails over */
    int connection_attempts;    /* 1-3 */
    long connection_timeout_ms; /* 1000-10000 */
    long response_timeout_ms;   /* 1000-60000 (CloudFront allows up to 120 s on request) */
};

enum edge_attempt_kind {
    EDGE_ATTEMPT_RESPONSE,       /* the origin answered with a status */
    EDGE_ATTEMPT_CONNECT_FAILED, /* refused, reset before the request was sent, or timed out */
    EDGE_ATTEMPT_TIMED_OUT,      /* connected and sent, but no (complete) response in time */
};

struct edge_attempt {
    enum edge_attempt_kind kind;
    int status; /* for EDGE_ATTEMPT_RESPONSE */
};

struct edge_position {
    int on_secondary;  /* 0: primary (or the only origin), 1: the group's secondary */
    int has_secondary; /* the behaviour targets an origin group */
    int attempt;       /* 1-based attempt number on the current origin */
    int idempotent;    /* GET, HEAD or OPTIONS */
};

enum edge_step {
    EDGE_STEP_DELIVER,         /* stream this response to the viewer */
    EDGE_STEP_RETRY,           /* try the same origin again (attempt + 1) */
    EDGE_STEP_FAILOVER,        /* send the same request to the secondary, attempt 1 */
    EDGE_STEP_BAD_GATEWAY,     /* answer 502 */
    EDGE_STEP_GATEWAY_TIMEOUT, /* answer 504 */
};

enum edge_reason {
    EDGE_REASON_NONE = 0,
    EDGE_REASON_STATUS,  /* a configured failover status */
    EDGE_REASON_CONNECT, /* connection attempts exhausted */
    EDGE_REASON_TIMEOUT, /* response attempts exhausted */
};

/* Fills a policy with CloudFront's defaults (3 attempts, 10 s connect, 30 s response) and
 * the given failover codes; errors name the code and the allowed set. */
cfdr_code edge_failover_policy_init(struct edge_failover_policy *p, const int *codes, size_t ncodes,
                                    cfdr_err *err);

/* 1 when status is one CloudFront accepts in failover criteria. */
int edge_failover_code_allowed(int status);

/* The decision; *reason says why a failover or an error was chosen (NONE otherwise). */
enum edge_step edge_failover_next(const struct edge_failover_policy *p,
                                  const struct edge_position *pos, const struct edge_attempt *a,
                                  enum edge_reason *reason);

/* 1 for GET, HEAD and OPTIONS: the methods that fail over. */
int edge_failover_method_idempotent(const char *method);

/* Worst-case time a viewer waits before the secondary is tried, for the failover budget
 * (PRODUCT.md section 4): connection failures cost attempts x connection timeout, hung origins
 * attempts x response timeout. */
long edge_failover_budget_connect_ms(const struct edge_failover_policy *p);
long edge_failover_budget_timeout_ms(const struct edge_failover_policy *p);

const char *edge_failover_reason_name(enum edge_reason r);

#endif
