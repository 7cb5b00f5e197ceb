/* err: see err.h. */
#include "err.h"

#include <stdio.h>
#include <string.h>

void err_clear(cfdr_err *err)
{
    if (!err)
        return;
    err->code = CFDR_OK;
    err->msg[0] = '\0';
}

cfdr_code err_vset(cfdr_err *err, cfdr_code code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    }
    return code;
}

cfdr_code err_set(cfdr_err *err, cfdr_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

cfdr_code err_wrap(cfdr_err *err, const char *fmt, ...)
{
    char prefix[CFDR_ERR_MSG_MAX];
    char old[CFDR_ERR_MSG_MAX];
    va_list ap;

    if (!err)
        return CFDR_E_INTERNAL;
    if (err->code == CFDR_OK)
        err->code = CFDR_E_INTERNAL;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* The result is cut at CFDR_ERR_MSG_MAX - 1 bytes; the prefix comes first on purpose. */
    size_t n = strlen(prefix);
    memcpy(err->msg, prefix, n + 1);
    if (n + 2 < sizeof(err->msg)) {
        memcpy(err->msg + n, ": ", 3);
        n += 2;
        size_t room = sizeof(err->msg) - 1 - n;
        size_t olen = strlen(old);
        if (olen > room)
            olen = room;
        memcpy(err->msg + n, old, olen);
        err->msg[n + olen] = '\0';
    }
    return err->code;
}

int err_exit_status(cfdr_code code)
{
    switch (code) {
    case CFDR_OK:
        return 0;
    case CFDR_E_CHECK:
        return 1;
    case CFDR_E_AWS:
    case CFDR_E_NET:
    case CFDR_E_PARSE:
        return 3;
    case CFDR_E_INTERRUPTED:
        return 130;
    case CFDR_E_USAGE:
    case CFDR_E_CONFIG:
    case CFDR_E_CREDENTIALS: /* missing or unusable credentials are configuration to fix */
    case CFDR_E_IO:
    case CFDR_E_NOMEM:
    case CFDR_E_TOOBIG:
    case CFDR_E_NOTFOUND:
    case CFDR_E_UNSUPPORTED:
    case CFDR_E_INTERNAL:
        return 2;
    }
    return 2;
}

const char *err_code_name(cfdr_code code)
{
    static const char *const names[] = {
        [CFDR_OK] = "ok",
        [CFDR_E_USAGE] = "usage",
        [CFDR_E_CONFIG] = "config",
        [CFDR_E_CHECK] = "check_failed",
        [CFDR_E_AWS] = "aws",
        [CFDR_E_NET] = "network",
        [CFDR_E_IO] = "io",
        [CFDR_E_NOMEM] = "nomem",
        [CFDR_E_TOOBIG] = "too_big",
        [CFDR_E_PARSE] = "parse",
        [CFDR_E_CREDENTIALS] = "credentials",
        [CFDR_E_INTERRUPTED] = "interrupted",
        [CFDR_E_NOTFOUND] = "not_found",
        [CFDR_E_UNSUPPORTED] = "unsupported",
        [CFDR_E_INTERNAL] = "internal",
    };
    if ((unsigned)code < sizeof(names) / sizeof(names[0]) && names[code])
        return names[code];
    return "unknown";
}
