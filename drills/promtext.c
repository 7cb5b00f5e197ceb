/* promtext: see promtext.h. */
#include "promtext.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_MAX 256

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Reads a label value starting after its opening quote into out (unescaped, truncated to
 * LABEL_MAX - 1). Returns the position after the closing quote, or NULL when malformed. */
static const char *read_value(const char *p, const char *end, char out[LABEL_MAX])
{
    size_t n = 0;
    while (p < end && *p != '"') {
        char c = *p++;
        if (c == '\\') {
            if (p >= end)
                return NULL;
            c = *p++;
            if (c == 'n')
                c = '\n';
            else if (c != '\\' && c != '"')
                return NULL;
        }
        if (n < LABEL_MAX - 1)
            out[n++] = c;
    }
    if (p >= end)
        return NULL;
    out[n] = '\0';
    return p + 1;
}

/* Parses `{a="x",b="y"}` at p; *ok is set to 1 when every filter matched. Returns the position
 * after '}', or NULL when malformed. */
static const char *read_labels(const char *p, const char *end, const struct promtext_label *filters,
                               size_t nfilters, int *ok)
{
    int seen[16] = {0};
    char name[LABEL_MAX], value[LABEL_MAX];

    p++; /* '{' */
    for (;;) {
        size_t n = 0;
        while (p < end && is_space(*p))
            p++;
        if (p < end && *p == '}')
            break;
        while (p < end && (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                           (n && *p >= '0' && *p <= '9'))) {
            if (n < LABEL_MAX - 1)
                name[n++] = *p;
            p++;
        }
        name[n] = '\0';
        if (!n || p + 1 >= end || *p != '=' || p[1] != '"')
            return NULL;
        if (!(p = read_value(p + 2, end, value)))
            return NULL;
        for (size_t i = 0; i < nfilters && i < 16; i++)
            if (strcmp(filters[i].name, name) == 0 && strcmp(filters[i].value, value) == 0)
                seen[i] = 1;
        while (p < end && is_space(*p))
            p++;
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}')
            break;
        return NULL;
    }
    *ok = 1;
    for (size_t i = 0; i < nfilters; i++)
        if (i >= 16 || !seen[i])
            *ok = 0;
    return p + 1;
}

cfdr_code promtext_sum(const char *text, size_t len, const char *metric,
                       const struct promtext_label *filters, size_t nfilters, double *sum,
                       size_t *matched, cfdr_err *err)
{
    const char *p = text, *end = text + len;
    size_t mlen = strlen(metric), line_no = 0, count = 0;
    double total = 0;

    *sum = 0;
    if (matched)
        *matched = 0;
    if (nfilters > 16)
        return err_set(err, CFDR_E_USAGE, "promtext: at most 16 label filters");
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p)), *q;
        int ok = 1;
        char num[64], *numend;
        size_t n = 0;
        double v;

        if (!eol)
            eol = end;
        line_no++;
        q = p;
        p = eol < end ? eol + 1 : end;
        while (q < eol && is_space(*q))
            q++;
        if (q == eol || *q == '#')
            continue;
        if ((size_t)(eol - q) < mlen || memcmp(q, metric, mlen) != 0)
            continue;
        q += mlen;
        if (q < eol && *q != '{' && !is_space(*q))
            continue; /* another metric whose name starts with this one */
        if (q < eol && *q == '{') {
            ok = 0;
            if (!(q = read_labels(q, eol, filters, nfilters, &ok)))
                return err_set(err, CFDR_E_PARSE, "metrics line %zu: malformed labels of %s",
                               line_no, metric);
        } else if (nfilters) {
            ok = 0;
        }
        while (q < eol && is_space(*q))
            q++;
        while (q < eol && !is_space(*q) && n < sizeof(num) - 1)
            num[n++] = *q++;
        num[n] = '\0';
        if (!n)
            return err_set(err, CFDR_E_PARSE, "metrics line %zu: %s has no value", line_no, metric);
        v = strtod(num, &numend);
        if (*numend != '\0' || isnan(v))
            return err_set(err, CFDR_E_PARSE, "metrics line %zu: %s has the value '%s'", line_no,
                           metric, num);
        if (ok) {
            total += v;
            count++;
        }
    }
    *sum = total;
    if (matched)
        *matched = count;
    return CFDR_OK;
}

double promtext_delta(double before, double now)
{
    return now >= before ? now - before : now;
}
