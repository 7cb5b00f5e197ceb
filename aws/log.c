/* log: see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

int log_enabled(const struct cfdr_log *lg, enum cfdr_log_level level)
{
    return lg && lg->emit && level <= lg->level;
}

void log_msg(const struct cfdr_log *lg, enum cfdr_log_level level, const char *fmt, ...)
{
    char line[4096];
    va_list ap;

    if (!log_enabled(lg, level))
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    lg->emit(lg->ud, level, line);
}
