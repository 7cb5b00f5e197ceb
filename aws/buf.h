/*
 * buf: cfdr's one growable byte buffer, with a hard maximum size (after curl's dynbuf).
 *
 * Every request, response, canonical string and report is built in a struct buf. The contents
 * are always NUL-terminated (the terminator is not counted in len), so buf_str() can be handed
 * to C string functions when the contents hold no NUL. Growth beyond `max` bytes fails with
 * CFDR_E_TOOBIG and leaves the buffer as it was, so a hostile peer cannot make cfdr allocate
 * without bound.
 *
 * Ownership: the struct is the caller's (usually on the stack); buf_free() releases the heap
 * memory and leaves an empty buffer that may be reused. buf_detach() hands the memory to the
 * caller, who frees it with free().
 */
#ifndef CFDR_BUF_H
#define CFDR_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "err.h"

/* Limits used across the project; pick the smallest that fits the use. */
#define BUF_MAX_SMALL (64u * 1024u)          /* headers, names, short strings */
#define BUF_MAX_DOC (16u * 1024u * 1024u)    /* API requests and responses, reports */
#define BUF_MAX_LARGE (256u * 1024u * 1024u) /* bulk data */

struct buf {
    char *p;    /* NULL until the first append */
    size_t len; /* bytes used, excluding the NUL terminator */
    size_t cap; /* bytes allocated */
    size_t max; /* hard limit on len */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/* Empties the buffer but keeps its memory. */
void buf_reset(struct buf *b);

cfdr_code buf_add(struct buf *b, const void *data, size_t n);
cfdr_code buf_adds(struct buf *b, const char *s);
cfdr_code buf_addc(struct buf *b, char c);
cfdr_code buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
cfdr_code buf_vaddf(struct buf *b, const char *fmt, va_list ap);

/* Contents as a NUL-terminated string; "" for an empty buffer (never NULL). */
const char *buf_str(const struct buf *b);
size_t buf_len(const struct buf *b);
/* Shortens to n bytes (n <= len). */
void buf_truncate(struct buf *b, size_t n);
/* Returns the malloc'd contents (NUL-terminated, never NULL unless out of memory) and leaves the
 * buffer empty. The caller frees the result. *len_out, if given, receives the length. */
char *buf_detach(struct buf *b, size_t *len_out);

#endif
