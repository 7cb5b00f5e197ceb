/* failover: see failover.h. */
#include "failover.h"

#include <string.h>

int edge_failover_code_allowed(int status)
{
    static const int allowed[] = EDGE_FAILOVER_ALLOWED_CODES;
    for (size_t i = 0; i < EDGE_FAILOVER_NALLOWED; i++)
        if (allowed[i] == status)
            return 1;
    return 0;
}

cfdr_code edge_failover_policy_init(struct edge_failover_policy *p, const int *codes, size_t ncodes,
                                    cfdr_err *err)
{
    memset(p, 0, sizeof(*p));
    p->connection_attempts = 3;
    p->connection_timeout_ms = 10000;
    p->response_timeout_ms = 30000;
    if (ncodes == 0)
        return err_set(err, CFDR_E_CONFIG,
                       "failover status codes: at least one is needed (allowed: 400, 403, 404, "
                       "416, 500, 502, 503, 504)");
    for (size_t i = 0; i < ncodes; i++) {
        if (!edge_failover_code_allowed(codes[i]))
            return err_set(err, CFDR_E_CONFIG,
                           "failover status codes: %d is not allowed (allowed: 400, 403, 404, "
                           "416, 500, 502, 503, 504)",
                           codes[i]);
        p->fail_on[codes[i]] = 1;
    }
    return CFDR_OK;
}

static enum edge_step exhausted(const struct edge_position *pos, enum edge_reason why,
                                enum edge_reason *reason)
{
    *reason = why;
    if (pos->has_secondary && !pos->on_secondary && pos->idempotent)
        return EDGE_STEP_FAILOVER;
    return why == EDGE_REASON_CONNECT ? EDGE_STEP_BAD_GATEWAY : EDGE_STEP_GATEWAY_TIMEOUT;
}

enum edge_step edge_failover_next(const struct edge_failover_policy *p,
                                  const struct edge_position *pos, const struct edge_attempt *a,
                                  enum edge_reason *reason)
{
    *reason = EDGE_REASON_NONE;
    switch (a->kind) {
    case EDGE_ATTEMPT_RESPONSE:
        if (pos->has_secondary && !pos->on_secondary && pos->idempotent && a->status > 0 &&
            a->status < (int)sizeof(p->fail_on) && p->fail_on[a->status]) {
            *reason = EDGE_REASON_STATUS;
            return EDGE_STEP_FAILOVER;
        }
        return EDGE_STEP_DELIVER;
    case EDGE_ATTEMPT_CONNECT_FAILED:
        /* Nothing reached the origin, so retrying is safe for every method. */
        if (pos->attempt < p->connection_attempts)
            return EDGE_STEP_RETRY;
        return exhausted(pos, EDGE_REASON_CONNECT, reason);
    case EDGE_ATTEMPT_TIMED_OUT:
        /* The origin may have acted on the request: only idempotent methods are re-sent. */
        if (pos->idempotent && pos->attempt < p->connection_attempts)
            return EDGE_STEP_RETRY;
        return exhausted(pos, EDGE_REASON_TIMEOUT, reason);
    }
    *reason = EDGE_REASON_CONNECT;
    return EDGE_STEP_BAD_GATEWAY;
}

int edge_failover_method_idempotent(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
           strcmp(method, "OPTIONS") == 0;
}

long edge_failover_budget_connect_ms(const struct edge_failover_policy *p)
{
    return (long)p->connection_attempts * p->connection_timeout_ms;
}

long edge_failover_budget_timeout_ms(const struct edge_failover_policy *p)
{
    return (long)p->connection_attempts * p->response_timeout_ms;
}

const char *edge_failover_reason_name(enum edge_reason r)
{
    switch (r) {
    case EDGE_REASON_NONE:
        return "none";
    case EDGE_REASON_STATUS:
        return "status";
    case EDGE_REASON_CONNECT:
        return "connect";
    case EDGE_REASON_TIMEOUT:
        return "timeout";
    }
    return "unknown";
}
