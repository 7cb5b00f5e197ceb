/*
 * log: how engine modules (aws/, sigv4/, drills/, edge/) report progress without touching the
 * terminal. The tool (cmd/) owns a struct cfdr_log whose emit callback decides where lines go;
 * engine code only calls log_msg(). A NULL logger or NULL emit drops everything.
 *
 * Secrets must never reach a logger: callers redact before logging (see transport).
 */
#ifndef CFDR_LOG_H
#define CFDR_LOG_H

enum cfdr_log_level { CFDR_LOG_ERROR = 0, CFDR_LOG_WARN, CFDR_LOG_INFO, CFDR_LOG_DEBUG };

struct cfdr_log {
    enum cfdr_log_level level; /* lines above this level are dropped */
    void (*emit)(void *ud, enum cfdr_log_level level, const char *line);
    void *ud;
};

void log_msg(const struct cfdr_log *lg, enum cfdr_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Nonzero when a line at this level would be emitted (to skip building expensive lines). */
int log_enabled(const struct cfdr_log *lg, enum cfdr_log_level level);

#endif
