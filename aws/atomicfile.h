/*
 * atomicfile: write a whole file so that readers see either the old contents or the new, never
 * a mix, even across a crash: a temporary file in the same directory, fsync, rename (or link,
 * when an existing file must not be replaced), then fsync of the directory.
 *
 * Used for everything cfdr writes that a person or a later run depends on: the starter
 * configuration, the state file, reports.
 *
 * Nothing is allocated that outlives a call. A failed write leaves no temporary file behind.
 */
#ifndef CFDR_ATOMICFILE_H
#define CFDR_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "aws/err.h"

enum atomicfile_mode {
    ATOMICFILE_REPLACE,   /* replace an existing file */
    ATOMICFILE_NO_REPLACE /* fail with CFDR_E_IO and *existed = 1 if the file exists */
};

/* Writes data to path with permissions perm (e.g. 0600). *existed (if given) is set to 1 when
 * NO_REPLACE found an existing file. Errors name the path and the system's reason. */
cfdr_code atomicfile_write(const char *path, const void *data, size_t len, mode_t perm,
                           enum atomicfile_mode mode, int *existed, cfdr_err *err);

/* Reads a whole file into *out (malloc'd, NUL-terminated; free() it) if it is at most max
 * bytes. CFDR_E_NOTFOUND when it does not exist; CFDR_E_TOOBIG when larger. */
cfdr_code atomicfile_read(const char *path, size_t max, char **out, size_t *len, cfdr_err *err);

/* Creates a directory and its parents with permissions perm when missing. */
cfdr_code atomicfile_mkdirs(const char *path, mode_t perm, cfdr_err *err);

#endif
