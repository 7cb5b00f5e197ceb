/*
 * config: cfdr.json, the one configuration file (PRODUCT.md section 2).
 *
 * This module owns reading, validating, printing and writing the configuration:
 *   - config_load_file()/config_load_string() parse JSON with json-c and validate it exactly:
 *     every key is known (unknown keys are errors, with the allowed keys and a "did you mean"
 *     for near misses), every value has the right type and lies in the set CloudFront,
 *     CloudWatch, SNS and App Runner accept. All problems are reported at once (up to
 *     CONFIG_ERRORS_MAX, one per line, each "<source>: <json.path>: <what is wrong> (allowed:
 *     ...)"), so a user fixes the file in one pass. Invalid JSON is reported with its line and
 *     column.
 *   - Comments: JSON has none, but the starter file `cfdr init` writes explains every field, so
 *     cfdr.json may hold `//` line comments and C block comments outside strings. They are
 *     blanked out (offsets kept, so line/column stay right) before json-c parses the text in
 *     strict mode. Strict mode rejects what json-c would otherwise tolerate (trailing commas,
 *     trailing text, TRUE, leading zeros); single-quoted strings and raw control characters in
 *     strings, which strict json-c still accepts, are rejected by the same pre-pass. (json-c
 *     also accepts NaN and Infinity; no cfdr field takes a non-integer number, so they fail the
 *     type check.) A UTF-8 byte order mark is skipped.
 *   - Duplicate keys in one object are errors (json-c would silently keep the last one): a scan
 *     of the (valid) text finds them and reports both positions.
 *   - config_to_json() prints the canonical form (every key, defaults filled in, fixed order)
 *     for state files and reports; loading it gives back the same configuration.
 *   - config_starter_text()/config_write_starter() produce the commented starter file.
 *
 * Ownership: struct cfdr_config is the caller's (usually on the stack). Scalars and short names
 * live in fixed-size fields; the variable-length alarm lists and the SMTP URL are heap strings
 * owned by the struct and released by config_free(). A struct filled by config_defaults() owns
 * nothing. config_load_*() overwrite *out without freeing it: pass a fresh struct or one that
 * was config_free()d. On failure *out is left in its defaults state, owning nothing.
 */
#ifndef CFDR_CONFIG_H
#define CFDR_CONFIG_H

#include <stddef.h>

#include "aws/buf.h"
#include "aws/err.h"

struct json_object;

/* The file `cfdr` reads when no -c is given, and that `cfdr init` writes. */
#define CONFIG_DEFAULT_PATH "cfdr.json"

/* Field limits (characters, excluding the NUL terminator). */
#define CONFIG_PROJECT_MAX 32 /* see the project rule in config.c */
#define CONFIG_REGION_MAX 32  /* the longest AWS region name today is 14 */
#define CONFIG_SERVICE_MAX 40 /* App Runner ServiceName: 4-40 */
#define CONFIG_HEADER_MAX 64  /* drill.served_by_header */
#define CONFIG_EMAIL_MAX 254  /* RFC 5321 path limit */
#define CONFIG_URL_MAX 2048
#define CONFIG_LIST_MAX 100        /* entries in alarms.email, alarms.https */
#define CONFIG_STATUS_CODES_MAX 8  /* CloudFront allows 8 distinct failover codes */
#define CONFIG_FILE_MAX (1u << 20) /* a larger file is not a cfdr config */
#define CONFIG_ERRORS_MAX 20       /* problems collected per load */

/* Defaults: CloudFront's own where it has one, else PRODUCT.md's example. CloudFront has no
 * default set of failover codes (the console preselects none); cfdr uses PRODUCT.md's
 * {403, 404, 500, 502, 503, 504}: server errors plus the 403/404 an unhealthy or paused App
 * Runner service answers with. */
#define CONFIG_DEFAULT_CONNECTION_TIMEOUT_S 10
#define CONFIG_DEFAULT_CONNECTION_ATTEMPTS 3
#define CONFIG_DEFAULT_RESPONSE_TIMEOUT_S 30
#define CONFIG_DEFAULT_PERIOD_S 60
#define CONFIG_DEFAULT_RATE 10
#define CONFIG_DEFAULT_DURATION_S 300
/* The longest outage a drill probes: drill.duration_s and --duration alike (1-3600 s). */
#define CONFIG_DURATION_MAX_S 3600
#define CONFIG_DEFAULT_SERVED_BY_HEADER "x-region"

struct config_origin {
    char region[CONFIG_REGION_MAX + 1];   /* e.g. "us-east-1"; required */
    char service[CONFIG_SERVICE_MAX + 1]; /* App Runner service name; required */
};

struct config_origin_group {
    int failover_status_codes[CONFIG_STATUS_CODES_MAX]; /* in the order given, distinct */
    size_t n_failover_status_codes;                     /* 1..CONFIG_STATUS_CODES_MAX */
    int connection_timeout_s;                           /* 1-10 */
    int connection_attempts;                            /* 1-3 */
    int response_timeout_s;                             /* 1-60 */
};

struct config_alarms {
    char **email; /* n_email heap strings (array NULL when empty), owned */
    size_t n_email;
    char **https; /* n_https webhook URLs (array NULL when empty), owned */
    size_t n_https;
    int period_s; /* AWS mode: a multiple of 60 up to 86400; local mode also 1-10, 20, 30 */
    char *smtp;   /* smtp:// or smtps:// URL, owned; NULL when not set */
};

struct config_drill {
    int rate;                                     /* probes per second, 1-1000 */
    int duration_s;                               /* outage duration, 1-3600 */
    char served_by_header[CONFIG_HEADER_MAX + 1]; /* HTTP header naming the origin */
};

struct cfdr_config {
    char project[CONFIG_PROJECT_MAX + 1]; /* required */
    struct config_origin primary;
    struct config_origin secondary;
    struct config_origin_group origin_group;
    struct config_alarms alarms;
    struct config_drill drill;
};

/* Fills every field with its default; project, regions and services become "" (they have no
 * default and must come from the file). Frees nothing and allocates nothing. */
void config_defaults(struct cfdr_config *cfg);

/* Releases what cfg owns and leaves it in its config_defaults() state. Accepts NULL. */
void config_free(struct cfdr_config *cfg);

/* Reads and validates the file at path. A missing file is CFDR_E_NOTFOUND with a message that
 * says to run `cfdr init`; an unreadable one CFDR_E_IO; anything wrong with its contents
 * CFDR_E_CONFIG, the message naming every problem (see the top comment). */
cfdr_code config_load_file(const char *path, struct cfdr_config *out, cfdr_err *err);

/* Same for a NUL-terminated document; source_name prefixes each message line (NULL: "config"). */
cfdr_code config_load_string(const char *json, const char *source_name, struct cfdr_config *out,
                             cfdr_err *err);

/* Validates a struct filled by other means (command-line flags) with the same rules and
 * messages as the loader (messages name the JSON path of the offending field). */
cfdr_code config_validate(const struct cfdr_config *cfg, cfdr_err *err);

/* Checks what depends on the mode: alarm periods of 1-9 s exist only in local mode (AWS mode
 * needs a multiple of 60, which `alarms setup` checks). CFDR_E_CONFIG with a message otherwise. */
cfdr_code config_check_mode(const struct cfdr_config *cfg, int local, cfdr_err *err);

/* The canonical JSON object (every key, in the documented order). New reference; the caller
 * releases it with json_object_put(). */
cfdr_code config_to_json_object(const struct cfdr_config *cfg, struct json_object **out,
                                cfdr_err *err);

/* Appends the canonical JSON text (compact, one line, no trailing newline) to out.
 * Alarm URLs appear in full here, and they can hold secrets (https://user:password@host/, a
 * token in a webhook path): fine for the 0600 state file, not for a report meant for sharing.
 * Error messages from this module never show more of a URL than its scheme and host. */
cfdr_code config_to_json(const struct cfdr_config *cfg, struct buf *out);

/* Appends the commented starter cfdr.json (AWS mode, or local mode when local != 0) to out. It
 * loads cleanly with config_load_string()/config_load_file(). */
cfdr_code config_starter_text(int local, struct buf *out);

/* Writes the starter file to path, atomically (temporary file in the same directory, fsync,
 * rename), mode 0644. Without force an existing path is left alone and the call fails with
 * CFDR_E_CONFIG: "<path> already exists; use --force to overwrite". */
cfdr_code config_write_starter(const char *path, int local, int force, cfdr_err *err);

#endif
