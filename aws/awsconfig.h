/*
 * awsconfig: the AWS shared config file (~/.aws/config) and shared credentials file
 * (~/.aws/credentials), read the way botocore reads them (configloader.py on top of Python's
 * configparser.RawConfigParser).
 *
 * File syntax, as botocore accepts it:
 *   - `[section]` headers; in the config file a profile is `[profile NAME]` (NAME split like a
 *     shell word, so `[profile "a b"]` is profile "a b") or `[default]`; in the credentials
 *     file a profile is `[NAME]`. A later section of the same profile replaces an earlier one.
 *   - `key = value` or `key: value`; keys are case-insensitive (stored lower-cased), values are
 *     trimmed. There are no inline comments: `region = x # y` has the value "x # y".
 *   - Lines whose first non-blank character is `#` or `;` are comments.
 *   - Lines indented deeper than the key line continue its value. When the key line's value is
 *     empty, the continuation lines form a nested sub-section (`s3 =` followed by indented
 *     `addressing_style = path`), each of which must be `key = value`.
 *   - A `[DEFAULT]` section supplies keys to every section that lacks them.
 * One deliberate difference: botocore rejects a key or section repeated within one file; here
 * the later one wins (the later key overrides, repeated sections merge).
 * A missing file is not an error (it loads as empty, `exists` 0); an unreadable or malformed
 * file is, and the message names the file and line. Messages never quote file contents (the
 * credentials file holds secrets).
 *
 * Paths: AWS_CONFIG_FILE (default ~/.aws/config) and AWS_SHARED_CREDENTIALS_FILE (default
 * ~/.aws/credentials), with `~` and `$VAR`/`${VAR}` expanded as botocore's
 * os.path.expanduser(os.path.expandvars(path)) does. An empty variable means "no file".
 *
 * Ownership: awsconfig_parse/awsconfig_file_load return a struct awsconfig_file the caller
 * releases with awsconfig_file_free; awsconfig_load returns a struct awsconfig released with
 * awsconfig_free (both accept NULL). Sections, properties and strings returned by the lookup
 * functions belong to the file and live until it is freed. awsconfig_shlex_split returns an
 * argv the caller releases with awsconfig_argv_free.
 */
#ifndef CFDR_AWSCONFIG_H
#define CFDR_AWSCONFIG_H

#include <stddef.h>

#include "aws/err.h"

/* Largest config or credentials file accepted. */
#define AWSCONFIG_MAX_FILE (4u * 1024u * 1024u)

struct awsconfig_prop {
    char *key;   /* lower-cased */
    char *value; /* trimmed; continuation lines joined with '\n'; "" for a sub-section */
    struct awsconfig_prop *sub; /* nested `key = value` lines, or NULL */
    size_t nsub;
    int line; /* line of the key in the file */
};

struct awsconfig_section {
    char *name; /* as written between the brackets */
    int line;
    struct awsconfig_prop *props;
    size_t nprops;
    size_t cap;
};

struct awsconfig_file {
    char *path; /* the (expanded) path it was read from, or the name given to awsconfig_parse */
    int exists; /* 0 when the file does not exist */
    struct awsconfig_section *sections;
    size_t nsections;
    size_t cap;
};

/* Parses text (len bytes, NUL bytes rejected). name is used in error messages. */
cfdr_code awsconfig_parse(const char *name, const char *text, size_t len,
                          struct awsconfig_file **out, cfdr_err *err);
/* Reads and parses path (expanded first). A missing file gives an empty file with exists 0;
 * path NULL or "" likewise. */
cfdr_code awsconfig_file_load(const char *path, struct awsconfig_file **out, cfdr_err *err);
void awsconfig_file_free(struct awsconfig_file *f);

const struct awsconfig_section *awsconfig_file_section(const struct awsconfig_file *f,
                                                       const char *name);
/* key is matched case-insensitively. NULL when absent (or s is NULL). */
const struct awsconfig_prop *awsconfig_section_prop(const struct awsconfig_section *s,
                                                    const char *key);
const char *awsconfig_section_get(const struct awsconfig_section *s, const char *key);
/* Value of a nested key (`s3 =` / `  addressing_style = path`), matched exactly. */
const char *awsconfig_prop_sub(const struct awsconfig_prop *p, const char *key);

/* The section of profile `name` in a config file: `[profile name]`, or `[default]` /
 * `[profile default]` for "default"; the last such section when there are several. */
const struct awsconfig_section *awsconfig_config_profile(const struct awsconfig_file *config,
                                                         const char *name);
/* The section of profile `name` in a credentials file: `[name]`. */
const struct awsconfig_section *awsconfig_credentials_profile(const struct awsconfig_file *creds,
                                                              const char *name);

/* Both files of the environment. */
struct awsconfig {
    struct awsconfig_file *config;      /* never NULL after awsconfig_load */
    struct awsconfig_file *credentials; /* never NULL after awsconfig_load */
};

/* Loads AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE (or their defaults). */
cfdr_code awsconfig_load(struct awsconfig **out, cfdr_err *err);
void awsconfig_free(struct awsconfig *c);

/* 1 when profile `name` has a section in either file. */
int awsconfig_profile_exists(const struct awsconfig *c, const char *name);
/* A key of profile `name` as botocore's session.full_config sees it: the credentials file's
 * section overrides the config file's. *from (if given) receives the file the value came
 * from. NULL when neither file has it. */
const struct awsconfig_prop *awsconfig_profile_prop(const struct awsconfig *c, const char *name,
                                                    const char *key,
                                                    const struct awsconfig_file **from);
const char *awsconfig_profile_get(const struct awsconfig *c, const char *name, const char *key,
                                  const struct awsconfig_file **from);

/* Expands `~`, `~user`, `$VAR` and `${VAR}` in path (unknown variables are left as written).
 * Returns a malloc'd string the caller frees, or NULL when out of memory. */
char *awsconfig_expand_path(const char *path);

/* Splits s into words as Python's shlex.split(s) (POSIX mode) does: blanks separate words;
 * single quotes are literal; in double quotes a backslash escapes only `"` and `\`; outside
 * quotes a backslash escapes any character. An unclosed quote or a trailing backslash is a
 * CFDR_E_CONFIG error. *argv_out receives a NULL-terminated malloc'd array (free it with
 * awsconfig_argv_free), *argc_out (if given) the number of words. */
cfdr_code awsconfig_shlex_split(const char *s, char ***argv_out, size_t *argc_out, cfdr_err *err);
void awsconfig_argv_free(char **argv);

#endif
