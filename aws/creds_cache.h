/*
 * creds_cache: the AWS CLI's credential cache, shared with it: ~/.aws/cli/cache/<key>.json.
 *
 * The AWS CLI keeps assumed-role credentials (and IAM Identity Center role credentials) there,
 * keyed by the SHA-1 of a JSON text of the request's arguments (botocore's
 * CachedCredentialFetcher._create_cache_key). cfdr computes the same keys, reads the same
 * files and writes the same shape, so a role assumed by either tool is reused by the other
 * (an MFA prompt answered in `aws` serves cfdr too).
 *
 * Key texts are built with creds_cache_json_string, which escapes a string exactly as Python's
 * json.dumps does by default (ensure_ascii: '"', '\\', \b \f \n \r \t, other characters
 * outside ' '..'~' as \uXXXX in lowercase hex, surrogate pairs above U+FFFF); callers emit
 * the members in sorted key order with botocore's separators.
 *
 * Files (as botocore's JSONFileCache): {"Credentials": {"AccessKeyId": ..., "SecretAccessKey":
 * ..., "SessionToken": ..., "Expiration": ...}, ...}. An entry is used only while it is valid
 * for more than CREDS_CACHE_EXPIRY_WINDOW_S seconds (botocore's 15-minute window; botocore
 * also takes exactly 15 minutes, cfdr not, because its provider refreshes at that point). A
 * missing, unreadable or malformed entry is a miss (logged at DEBUG), as in botocore. Entries
 * are written atomically with mode 0600 in a directory created 0700; a failure to write is
 * returned, and callers treat it as a warning (the credentials are good, only the sharing is
 * lost).
 *
 * The directory is $HOME/.aws/cli/cache (botocore: os.path.expanduser). Nothing here logs a
 * secret; text read from a file is wiped before it is freed.
 */
#ifndef CFDR_CREDS_CACHE_H
#define CFDR_CREDS_CACHE_H

#include <stddef.h>
#include <time.h>

#include "aws/buf.h"
#include "aws/creds.h"
#include "aws/err.h"
#include "aws/log.h"

#define CREDS_CACHE_DIR "~/.aws/cli/cache"
#define CREDS_CACHE_EXPIRY_WINDOW_S (15 * 60)

/* How an entry's Expiration is written: botocore's datetime.isoformat() for AssumeRole
 * ("2030-01-02T03:04:05+00:00"), its "%Y-%m-%dT%H:%M:%SZ" for IAM Identity Center. */
enum creds_cache_time_style { CREDS_CACHE_TIME_ISO_OFFSET, CREDS_CACHE_TIME_ZULU };

/* Appends s as a JSON string (with quotes) the way Python's json.dumps writes it.
 * CFDR_E_PARSE (no message) when s is not valid UTF-8; CFDR_E_TOOBIG / CFDR_E_NOMEM. */
cfdr_code creds_cache_json_string(struct buf *b, const char *s);

/* Lowercase hex SHA-1 of len bytes. */
void creds_cache_sha1_hex(const void *data, size_t len, char out[41]);

/* Appends `"Credentials": {...}` (no braces around it) for c. */
cfdr_code creds_cache_add_credentials(struct buf *b, const struct aws_credentials *c,
                                      enum creds_cache_time_style style);

/* The file of entry key: <dir>/<key>.json, malloc'd (free it). dir NULL means
 * CREDS_CACHE_DIR. key must be 1-128 characters of [0-9A-Za-z_-]. */
cfdr_code creds_cache_path(const char *dir, const char *key, char **out, cfdr_err *err);

/* Reads entry key. *found = 1 and out filled (source `source`) when it holds credentials still
 * valid for more than CREDS_CACHE_EXPIRY_WINDOW_S at now; *found = 0 otherwise (miss). Errors only
 * for local failures (memory). */
cfdr_code creds_cache_load(const char *key, time_t now, const char *source,
                           const struct cfdr_log *log, struct aws_credentials *out, int *found,
                           cfdr_err *err);

/* Writes the JSON document text as entry key (atomically, 0600, directory 0700). */
cfdr_code creds_cache_store(const char *key, const struct buf *doc, cfdr_err *err);

#endif
