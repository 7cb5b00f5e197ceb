/* query: see query.h. */
#include "aws/query.h"

#include <stdio.h>
#include <string.h>

#include "sigv4/uri.h"

void query_init(struct query_req *q, enum aws_service_id service, const char *action,
                const char *version)
{
    memset(q, 0, sizeof(*q));
    q->service = service;
    q->action = action;
    buf_init(&q->body, BUF_MAX_DOC);
    q->failed = buf_addf(&q->body, "Action=%s&Version=%s", action, version);
}

void query_free(struct query_req *q)
{
    if (q)
        buf_free(&q->body);
}

static void add_value(struct query_req *q, const char *value)
{
    if (!q->failed)
        q->failed = sigv4_uri_encode(&q->body, value, strlen(value), 0, NULL);
}

void query_add(struct query_req *q, const char *name, const char *value)
{
    if (!q->failed)
        q->failed = buf_addf(&q->body, "&%s=", name);
    add_value(q, value ? value : "");
}

void query_addn(struct query_req *q, const char *value, const char *name_fmt, ...)
{
    char name[256];
    va_list ap;
    int n;

    va_start(ap, name_fmt);
    n = vsnprintf(name, sizeof(name), name_fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(name)) {
        if (!q->failed)
            q->failed = CFDR_E_TOOBIG;
        return;
    }
    query_add(q, name, value);
}

void query_add_int(struct query_req *q, const char *name, long long v)
{
    char num[32];
    snprintf(num, sizeof(num), "%lld", v);
    query_add(q, name, num);
}

cfdr_code query_call(struct transport *t, const char *region, struct query_req *q,
                     struct xml_doc **doc, const struct xml_node **result, struct aws_error *aerr,
                     cfdr_err *err)
{
    const char *svc = endpoint_service_name(q->service);
    struct aws_request rq;
    struct aws_response resp;
    char name[128];
    cfdr_code rc;

    *doc = NULL;
    *result = NULL;
    if (aerr)
        memset(aerr, 0, sizeof(*aerr));
    if (q->failed)
        return err_set(err, q->failed, "%s %s: the request does not fit (%s)", svc, q->action,
                       err_code_name(q->failed));
    memset(&rq, 0, sizeof(rq));
    rq.service = q->service;
    rq.protocol = AWS_PROTO_QUERY;
    rq.region = region;
    rq.operation = q->action;
    rq.method = "POST";
    rq.path = "/";
    rq.body = buf_str(&q->body);
    rq.body_len = buf_len(&q->body);
    aws_response_init(&resp);
    rc = transport_call(t, &rq, &resp, err);
    if (rc) {
        if (aerr && (rc == CFDR_E_AWS || rc == CFDR_E_NET))
            *aerr = resp.error;
        goto out;
    }
    if (resp.dry_run)
        goto out;
    rc = xml_parse(buf_str(&resp.body), buf_len(&resp.body), BUF_MAX_DOC, doc, err);
    if (rc) {
        err_wrap(err, "%s %s: unexpected answer", svc, q->action);
        goto out;
    }
    snprintf(name, sizeof(name), "%sResponse", q->action);
    if (strcmp(xml_name(xml_root(*doc)), name) != 0) {
        rc = err_set(err, CFDR_E_PARSE, "%s %s: the answer is a <%.64s>, not a <%s>", svc,
                     q->action, xml_name(xml_root(*doc)), name);
        xml_doc_free(*doc);
        *doc = NULL;
        goto out;
    }
    snprintf(name, sizeof(name), "%sResult", q->action);
    *result = xml_child(xml_root(*doc), name);
out:
    aws_response_free(&resp);
    return rc;
}

cfdr_code query_text(const struct xml_node *parent, const char *name, char *dst, size_t size,
                     int required, cfdr_err *err)
{
    const struct xml_node *n = xml_child(parent, name);
    if (!n) {
        dst[0] = '\0';
        if (!required)
            return CFDR_OK;
        return err_set(err, CFDR_E_PARSE, "<%s> has no <%s>", parent ? xml_name(parent) : "?",
                       name);
    }
    if (!xml_text_copy(n, dst, size))
        return err_set(err, CFDR_E_PARSE, "<%s> in <%s> is longer than %zu bytes", name,
                       xml_name(parent), size - 1);
    return CFDR_OK;
}

cfdr_code query_next_token(const struct xml_node *result, struct buf *token, cfdr_err *err)
{
    char next[2048];

    CFDR_TRY(query_text(result, "NextToken", next, sizeof(next), 0, err));
    if (next[0] && strcmp(next, buf_str(token)) == 0)
        return err_set(err, CFDR_E_PARSE, "the NextToken does not advance");
    buf_reset(token);
    if (next[0] && buf_adds(token, next))
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    return CFDR_OK;
}
