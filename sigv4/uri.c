/* sigv4/uri: see uri.h. */
#include "uri.h"

#include <stdlib.h>
#include <string.h>

static const char s_hex_upper[] = "0123456789ABCDEF";

static cfdr_code s_too_big(cfdr_err *err, cfdr_code rc, const char *what, const struct buf *b)
{
    if (rc == CFDR_E_NOMEM)
        return err_set(err, rc, "out of memory while building the %s", what);
    return err_set(err, rc, "the %s would exceed %zu bytes", what, b->max);
}

int sigv4_uri_is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

cfdr_code sigv4_uri_encode(struct buf *out, const void *data, size_t len, int keep_slash,
                           cfdr_err *err)
{
    const unsigned char *p = data;
    size_t i = 0;

    while (i < len) {
        /* Copy runs of characters that stay as they are in one append. */
        size_t run = i;
        while (run < len && (sigv4_uri_is_unreserved(p[run]) || (keep_slash && p[run] == '/')))
            run++;
        if (run > i) {
            cfdr_code rc = buf_add(out, p + i, run - i);
            if (rc)
                return s_too_big(err, rc, "URI encoding", out);
            i = run;
            continue;
        }
        char esc[3] = {'%', s_hex_upper[p[i] >> 4], s_hex_upper[p[i] & 0x0f]};
        cfdr_code rc = buf_add(out, esc, sizeof(esc));
        if (rc)
            return s_too_big(err, rc, "URI encoding", out);
        i++;
    }
    return CFDR_OK;
}

static int s_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

cfdr_code sigv4_uri_decode(struct buf *out, const char *s, size_t len, cfdr_err *err)
{
    size_t i = 0;

    while (i < len) {
        const char *pct = memchr(s + i, '%', len - i);
        size_t plain = pct ? (size_t)(pct - (s + i)) : len - i;
        if (plain) {
            cfdr_code rc = buf_add(out, s + i, plain);
            if (rc)
                return s_too_big(err, rc, "URI decoding", out);
            i += plain;
        }
        if (i >= len)
            break;
        /* s[i] == '%' */
        int hi = i + 1 < len ? s_hex_value(s[i + 1]) : -1;
        int lo = i + 2 < len ? s_hex_value(s[i + 2]) : -1;
        if (hi < 0 || lo < 0)
            return err_set(err, CFDR_E_USAGE,
                           "malformed percent-escape in the query string: '%%' must be followed "
                           "by two hex digits (write a literal '%%' as %%25)");
        cfdr_code rc = buf_addc(out, (char)(hi << 4 | lo));
        if (rc)
            return s_too_big(err, rc, "URI decoding", out);
        i += 3;
    }
    return CFDR_OK;
}

struct segment {
    const char *p;
    size_t len;
};

cfdr_code sigv4_uri_normalize_path(struct buf *out, const char *path, size_t len, cfdr_err *err)
{
    struct segment *stack = NULL;
    size_t nstack = 0, nslash = 0;
    int trailing_slash = len > 0 && path[len - 1] == '/';
    cfdr_code rc = CFDR_OK;

    for (size_t i = 0; i < len; i++)
        nslash += path[i] == '/';
    stack = malloc((nslash + 1) * sizeof(*stack));
    if (!stack)
        return err_set(err, CFDR_E_NOMEM, "out of memory while normalising the URI path");

    for (size_t start = 0; start <= len;) {
        const char *slash = memchr(path + start, '/', len - start);
        size_t end = slash ? (size_t)(slash - path) : len;
        struct segment seg = {path + start, end - start};

        if (seg.len == 0 || (seg.len == 1 && seg.p[0] == '.')) {
            /* empty and "." segments add nothing */
        } else if (seg.len == 2 && seg.p[0] == '.' && seg.p[1] == '.') {
            if (nstack)
                nstack--;
        } else {
            stack[nstack++] = seg;
        }
        start = end + 1;
    }

    rc = buf_addc(out, '/');
    for (size_t i = 0; rc == CFDR_OK && i < nstack; i++) {
        rc = buf_add(out, stack[i].p, stack[i].len);
        if (rc == CFDR_OK && (i + 1 < nstack || trailing_slash))
            rc = buf_addc(out, '/');
    }
    free(stack);
    if (rc)
        return s_too_big(err, rc, "canonical URI path", out);
    return CFDR_OK;
}

cfdr_code sigv4_uri_canonical_path(struct buf *out, const char *path, int normalize,
                                   int double_encode, cfdr_err *err)
{
    struct buf normalized;
    const char *p = path ? path : "";
    size_t len = strlen(p);
    cfdr_code rc = CFDR_OK;

    buf_init(&normalized, out->max);
    if (len == 0) {
        p = "/";
        len = 1;
    }
    if (normalize) {
        rc = sigv4_uri_normalize_path(&normalized, p, len, err);
        if (rc)
            goto out;
        p = buf_str(&normalized);
        len = buf_len(&normalized);
    }
    if (double_encode) {
        rc = sigv4_uri_encode(out, p, len, 1, err);
    } else {
        rc = buf_add(out, p, len);
        if (rc)
            rc = s_too_big(err, rc, "canonical URI path", out);
    }
out:
    buf_free(&normalized);
    return rc;
}

/* One query parameter after canonical encoding: name and value point into a scratch buffer. */
struct query_param {
    size_t name_off, name_len, value_off, value_len;
    const char *name, *value;
};

static int s_bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int s_query_param_cmp(const void *lhs, const void *rhs)
{
    const struct query_param *l = lhs, *r = rhs;
    int c = s_bytes_cmp(l->name, l->name_len, r->name, r->name_len);
    return c ? c : s_bytes_cmp(l->value, l->value_len, r->value, r->value_len);
}

/* Decodes s[0..len) into tmp, then appends its canonical encoding to scratch. */
static cfdr_code s_recode(struct buf *scratch, struct buf *tmp, const char *s, size_t len,
                          cfdr_err *err)
{
    buf_reset(tmp);
    CFDR_TRY(sigv4_uri_decode(tmp, s, len, err));
    return sigv4_uri_encode(scratch, buf_str(tmp), buf_len(tmp), 0, err);
}

cfdr_code sigv4_uri_canonical_query(struct buf *out, const char *query, cfdr_err *err)
{
    struct buf scratch, tmp;
    struct query_param *params = NULL;
    size_t nparams = 0, cap = 1, qlen;
    cfdr_code rc = CFDR_OK;

    if (!query || !*query)
        return CFDR_OK;
    qlen = strlen(query);
    for (size_t i = 0; i < qlen; i++)
        cap += query[i] == '&';

    buf_init(&scratch, out->max);
    buf_init(&tmp, out->max);
    params = calloc(cap, sizeof(*params));
    if (!params) {
        rc = err_set(err, CFDR_E_NOMEM, "out of memory while building the canonical query");
        goto out;
    }

    for (size_t start = 0; start <= qlen;) {
        const char *amp = memchr(query + start, '&', qlen - start);
        size_t end = amp ? (size_t)(amp - query) : qlen;
        const char *piece = query + start;
        size_t plen = end - start;
        start = end + 1;
        if (plen == 0)
            continue;

        const char *eq = memchr(piece, '=', plen);
        size_t nlen = eq ? (size_t)(eq - piece) : plen;
        struct query_param *qp = &params[nparams++];

        qp->name_off = buf_len(&scratch);
        rc = s_recode(&scratch, &tmp, piece, nlen, err);
        if (rc)
            goto out;
        qp->name_len = buf_len(&scratch) - qp->name_off;
        qp->value_off = buf_len(&scratch);
        if (eq) {
            rc = s_recode(&scratch, &tmp, eq + 1, plen - nlen - 1, err);
            if (rc)
                goto out;
        }
        qp->value_len = buf_len(&scratch) - qp->value_off;
    }

    /* scratch no longer moves: turn offsets into pointers for the comparator. */
    for (size_t i = 0; i < nparams; i++) {
        params[i].name = buf_str(&scratch) + params[i].name_off;
        params[i].value = buf_str(&scratch) + params[i].value_off;
    }
    qsort(params, nparams, sizeof(*params), s_query_param_cmp);

    for (size_t i = 0; i < nparams; i++) {
        if ((i && (rc = buf_addc(out, '&'))) ||
            (rc = buf_add(out, params[i].name, params[i].name_len)) || (rc = buf_addc(out, '=')) ||
            (rc = buf_add(out, params[i].value, params[i].value_len))) {
            rc = s_too_big(err, rc, "canonical query string", out);
            goto out;
        }
    }
out:
    free(params);
    buf_free(&scratch);
    buf_free(&tmp);
    return rc;
}
