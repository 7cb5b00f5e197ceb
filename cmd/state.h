/*
 * state: the state file, `<state-dir>/state.json` — what cfdr created and what it did.
 *
 * Everything cfdr creates is recorded here the moment it exists, with what is needed to find
 * and delete it later, so an interrupted run can always be resumed or destroyed. The file is
 * written atomically (atomicfile: temp file, fsync, rename), mode 0600, after every change.
 * A state directory belongs to one project and one mode (local or AWS); using it for another
 * is refused with a message that says what to do. Commands that change things take an
 * exclusive lock (flock on `<state-dir>/lock`), so two `cfdr create` runs cannot interleave;
 * the lock names the holder's PID and command.
 *
 * Document shape (version 1):
 *   { "version": 1, "project": "...", "mode": "local"|"aws", "created_at": "<ISO-8601>",
 *     "resources": [ { "kind": "...", "id": "...", "recorded_at": "...", ...fields } ],
 *     "journal":   [ { "at": "...", "event": "...", ...details } ] }
 * Secrets are never stored.
 *
 * Ownership: struct cfdr_state is the caller's; state_open fills it, state_close releases
 * everything (including the lock) and accepts a zeroed struct. JSON objects passed to
 * state_put_resource / state_journal_add are taken over (json-c reference); objects returned
 * by lookups are borrowed and valid until the next change.
 */
#ifndef CFDR_STATE_H
#define CFDR_STATE_H

#include <stddef.h>

#include <json-c/json.h>

#include "aws/err.h"

#define STATE_FILE_NAME "state.json"
#define STATE_LOCK_NAME "lock"
#define STATE_MAX_BYTES (16u * 1024u * 1024u)

struct cfdr_state {
    char *dir;
    char *path;
    json_object *doc;
    int lock_fd; /* -1 when not locked */
};

enum state_open_mode {
    STATE_MUST_EXIST, /* CFDR_E_NOTFOUND when there is no state */
    STATE_CREATE,     /* start an empty state when there is none */
};

/* Loads (or starts) the state in dir for project/mode ("local" or "aws"). */
cfdr_code state_open(const char *dir, const char *project, const char *mode,
                     enum state_open_mode how, struct cfdr_state *st, cfdr_err *err);
/* Takes the exclusive lock for `what` (e.g. "create"); fails at once if another cfdr holds it. */
cfdr_code state_lock(struct cfdr_state *st, const char *what, cfdr_err *err);
cfdr_code state_save(struct cfdr_state *st, cfdr_err *err);
void state_close(struct cfdr_state *st);

/* The resource of this kind and id, or NULL. */
json_object *state_resource(const struct cfdr_state *st, const char *kind, const char *id);
/* The n-th resource (in recording order), or NULL. */
json_object *state_resource_at(const struct cfdr_state *st, size_t n);
size_t state_resource_count(const struct cfdr_state *st);
/* Records (or updates, merging fields) a resource and saves. Takes fields. */
cfdr_code state_put_resource(struct cfdr_state *st, const char *kind, const char *id,
                             json_object *fields, cfdr_err *err);
/* Forgets a resource (it was deleted) and saves. Absent is not an error. */
cfdr_code state_remove_resource(struct cfdr_state *st, const char *kind, const char *id,
                                cfdr_err *err);
/* Appends an event to the journal and saves. Takes details (may be NULL). */
cfdr_code state_journal_add(struct cfdr_state *st, const char *event, json_object *details,
                            cfdr_err *err);
json_object *state_journal(const struct cfdr_state *st);

/* Current UTC time as ISO-8601 with milliseconds ("2026-11-25T15:17:03.123Z"). */
void state_now_iso(char out[32]);

#endif
