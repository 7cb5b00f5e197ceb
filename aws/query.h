/*
 * query: the AWS query protocol (CloudWatch, SNS) on the shared transport.
 *
 * A request is a form body "Action=<Op>&Version=<api version>&Name=value..." POSTed to "/",
 * values encoded as botocore's query serializer does (A-Z a-z 0-9 - _ . ~ kept, every other
 * byte %XX); lists are "Name.member.N" and structures in lists "Name.member.N.Field", N from 1.
 * The answer is <OpResponse><OpResult>...</OpResult><ResponseMetadata/></OpResponse>; errors are
 * parsed by the transport.
 *
 * struct query_req builds one request: query_init names the action, query_add* append
 * parameters (the first failure sticks and query_call reports it), query_call sends it and
 * hands back the parsed answer and its <OpResult> element (NULL when the operation has no
 * output, as DeleteAlarms). In dry-run nothing is sent and *doc is NULL.
 *
 * Ownership: struct query_req is the caller's (on the stack), released by query_free; the
 * document query_call returns is the caller's, released with xml_doc_free. aerr (may be NULL)
 * receives the transport's error on CFDR_E_AWS or CFDR_E_NET.
 */
#ifndef CFDR_QUERY_H
#define CFDR_QUERY_H

#include <stdarg.h>
#include <stddef.h>

#include "aws/buf.h"
#include "aws/err.h"
#include "aws/transport.h"
#include "aws/xml.h"

struct query_req {
    enum aws_service_id service;
    const char *action;
    struct buf body;
    cfdr_code failed; /* the first failure of a query_add* call */
};

void query_init(struct query_req *q, enum aws_service_id service, const char *action,
                const char *version);
void query_free(struct query_req *q);
/* &name=value. */
void query_add(struct query_req *q, const char *name, const char *value);
/* &<printf name>=value, for list members: query_addn(q, v, "Dimensions.member.%zu.Name", i). */
void query_addn(struct query_req *q, const char *value, const char *name_fmt, ...)
    __attribute__((format(printf, 3, 4)));
void query_add_int(struct query_req *q, const char *name, long long v);

/* Sends the request for region and parses the answer. *doc is the whole answer (NULL in
 * dry-run); *result its <ActionResult> element, NULL when absent. CFDR_E_PARSE when the answer
 * is not an <ActionResponse>. */
cfdr_code query_call(struct transport *t, const char *region, struct query_req *q,
                     struct xml_doc **doc, const struct xml_node **result, struct aws_error *aerr,
                     cfdr_err *err);

/* Copies the text of parent/name into dst (size bytes). Missing: "" when optional, else
 * CFDR_E_PARSE; longer than dst: CFDR_E_PARSE (never cut). */
cfdr_code query_text(const struct xml_node *parent, const char *name, char *dst, size_t size,
                     int required, cfdr_err *err);

/* After a page of a listing: replaces *token with the page's <NextToken> (emptied when there
 * is none, which ends the listing). A token equal to the one just sent is CFDR_E_PARSE (the
 * listing would never end). */
cfdr_code query_next_token(const struct xml_node *result, struct buf *token, cfdr_err *err);

#endif
