/*
 * err: the one error convention of cfdr.
 *
 * Every fallible function returns a cfdr_code (CFDR_OK == 0) and, when it fails, fills a
 * struct cfdr_err that the caller owns (usually on the stack). The message says what failed
 * and, where there is one, what the user can do about it. Callers pass the code up unchanged
 * (`rc = step(..., err); if (rc) return rc;`), optionally prefixing context with err_wrap().
 *
 * The error holds no heap memory: nothing to free. Passing err == NULL is allowed and means
 * "the caller only wants the code".
 */
#ifndef CFDR_ERR_H
#define CFDR_ERR_H

#include <stdarg.h>

typedef enum cfdr_code {
    CFDR_OK = 0,
    CFDR_E_USAGE,       /* bad command line */
    CFDR_E_CONFIG,      /* bad configuration file or value */
    CFDR_E_CHECK,       /* the thing checked did not hold (drill failed) */
    CFDR_E_AWS,         /* AWS answered with an error (after retries) */
    CFDR_E_NET,         /* network failure (after retries) */
    CFDR_E_IO,          /* local file or process failure */
    CFDR_E_NOMEM,       /* out of memory */
    CFDR_E_TOOBIG,      /* a bounded buffer would exceed its limit */
    CFDR_E_PARSE,       /* malformed input from a peer (XML, JSON, HTTP) */
    CFDR_E_CREDENTIALS, /* no usable credentials */
    CFDR_E_INTERRUPTED, /* SIGINT/SIGTERM */
    CFDR_E_NOTFOUND,    /* something looked up does not exist */
    CFDR_E_UNSUPPORTED, /* a capability not built yet */
    CFDR_E_INTERNAL     /* a bug */
} cfdr_code;

#define CFDR_ERR_MSG_MAX 1024

typedef struct cfdr_err {
    cfdr_code code;
    char msg[CFDR_ERR_MSG_MAX];
} cfdr_err;

/* Resets err to "no error". Accepts NULL. */
void err_clear(cfdr_err *err);

/* Sets code and a printf-style message; returns code so that `return err_set(...)` works. */
cfdr_code err_set(cfdr_err *err, cfdr_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
cfdr_code err_vset(cfdr_err *err, cfdr_code code, const char *fmt, va_list ap);

/* Prefixes the existing message with printf-style context ("loading cfdr.json: <old msg>").
 * Returns err->code (or CFDR_E_INTERNAL if err holds no error). Accepts NULL (returns
 * CFDR_E_INTERNAL). */
cfdr_code err_wrap(cfdr_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Process exit status for a code, as PRODUCT.md section 1 specifies:
 * 0 ok, 1 check failed, 2 usage/config/local environment, 3 AWS or network, 130 interrupted. */
int err_exit_status(cfdr_code code);

/* Short stable name of a code ("config", "aws", ...) for JSON output. */
const char *err_code_name(cfdr_code code);

/* One-line guards in the style of s2n's safety macros. */
#define CFDR_TRY(expr)                                                                             \
    do {                                                                                           \
        cfdr_code cfdr_try_rc_ = (expr);                                                           \
        if (cfdr_try_rc_ != CFDR_OK)                                                               \
            return cfdr_try_rc_;                                                                   \
    } while (0)

#endif
