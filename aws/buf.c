/* buf: see buf.h. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_free(struct buf *b)
{
    if (!b)
        return;
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

static cfdr_code buf_reserve(struct buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > b->max || b->len > b->max - extra)
        return CFDR_E_TOOBIG;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return CFDR_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > (size_t)-1 / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    p = realloc(b->p, cap);
    if (!p)
        return CFDR_E_NOMEM;
    b->p = p;
    b->cap = cap;
    return CFDR_OK;
}

cfdr_code buf_add(struct buf *b, const void *data, size_t n)
{
    cfdr_code rc = buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return CFDR_OK;
}

cfdr_code buf_adds(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

cfdr_code buf_addc(struct buf *b, char c)
{
    return buf_add(b, &c, 1);
}

cfdr_code buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    cfdr_code rc;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return CFDR_E_INTERNAL;
    rc = buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return CFDR_OK;
}

cfdr_code buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    cfdr_code rc;
    va_start(ap, fmt);
    rc = buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *buf_str(const struct buf *b)
{
    return b->p ? b->p : "";
}

size_t buf_len(const struct buf *b)
{
    return b->len;
}

void buf_truncate(struct buf *b, size_t n)
{
    if (n < b->len) {
        b->len = n;
        b->p[n] = '\0';
    }
}

char *buf_detach(struct buf *b, size_t *len_out)
{
    char *p = b->p;
    if (!p)
        p = calloc(1, 1);
    if (len_out)
        *len_out = b->len;
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
