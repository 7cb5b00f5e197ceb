/*
 * daemon: background cfdr processes for offline runs (the regional stand-ins and the edge).
 *
 * daemon_spawn re-executes this same binary (/proc/self/exe) with the given arguments in a new
 * session, stdin from /dev/null and stdout/stderr appended to a log file, and waits (bounded)
 * for the child to write one "ready" line on an inherited pipe, whose number it finds in the
 * CFDR_READY_FD environment variable. A child that dies first turns into an error quoting the
 * end of its log.
 *
 * A PID alone is not an identity: PIDs are reused. A struct daemon_id pairs the PID with the
 * process start time from /proc/<pid>/stat; daemon_owned checks both (and that the command
 * line names cfdr and the expected role) before cfdr ever signals a process, so a stale state
 * file can never make cfdr kill a stranger.
 *
 * Ownership: nothing allocated outlives a call except the ready line, which the caller frees.
 */
#ifndef CFDR_DAEMON_H
#define CFDR_DAEMON_H

#include <sys/types.h>

#include "aws/err.h"

#define DAEMON_READY_ENV "CFDR_READY_FD"

struct daemon_id {
    pid_t pid;
    unsigned long long start_time; /* clock ticks since boot, /proc/<pid>/stat field 22 */
};

/* Starts `exe argv...` in the background (exe NULL: this very binary; argv[0] is the first
 * argument after the program, NULL-terminated). On success *id identifies the child and *ready
 * holds its ready line (malloc'd, without the newline). */
cfdr_code daemon_spawn(const char *exe, const char *const *argv, const char *log_path,
                       long timeout_ms, struct daemon_id *id, char **ready, cfdr_err *err);

/* Called by the child once it serves: writes the line to the fd named by CFDR_READY_FD (if
 * set) and closes it. */
cfdr_code daemon_announce_ready(const char *line, cfdr_err *err);

/* Reads the identity of a running process; CFDR_E_NOTFOUND when there is none. */
cfdr_code daemon_identify(pid_t pid, struct daemon_id *out, cfdr_err *err);

enum daemon_state {
    DAEMON_GONE,     /* no such process (or a zombie) */
    DAEMON_OURS,     /* same pid, same start time, cfdr with the expected role */
    DAEMON_STRANGER, /* the pid now belongs to another process */
};

/* role: a word that must appear in the process's command line (e.g. "_standin", "edge"). */
enum daemon_state daemon_check(const struct daemon_id *id, const char *role);

/* Stops a process that daemon_check says is ours: SIGTERM, up to grace_ms for it to exit, then
 * SIGKILL (and up to 2 s more). Never signals a process that is not ours. *was (if given)
 * receives the state found before stopping. */
cfdr_code daemon_stop(const struct daemon_id *id, const char *role, long grace_ms,
                      enum daemon_state *was, cfdr_err *err);

#endif
