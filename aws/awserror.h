/*
 * awserror: turns an AWS error answer of any protocol into one struct aws_error, as botocore's
 * parsers.py does.
 *
 *   XML (rest-xml, query): <ErrorResponse><Error><Type/><Code/><Message/></Error>
 *     <RequestId/></ErrorResponse>, the bare <Error><Code/><Message/><RequestId/></Error> (S3
 *     style), and <Response><Errors><Error>...</Error></Errors><RequestID/></Response> (EC2
 *     style), any namespace.
 *   JSON (awsJson, rest-json): {"__type": "com.amazonaws...#Code", "message"|"Message": ...};
 *     the code may also come from the x-amzn-query-error header ("Code;Sender"), the
 *     x-amzn-ErrorType header, or "code"/"Code" in the body (rest-json). Codes are cleaned as
 *     botocore and Smithy do: everything after the first ':' dropped, then everything up to
 *     the last '#'.
 *   The request id comes from the x-amzn-RequestId or x-amz-request-id header, else from the
 *     body (RequestId / RequestID).
 *   A body that is no AWS error at all (an HTML page from a proxy, an empty 5xx, plain text,
 *     malformed XML/JSON) still yields a useful error: code = the HTTP status as text
 *     ("502"), message = the reason phrase ("Bad Gateway") plus a note that the answer did not
 *     come from AWS, or the start of a plain-text body.
 * The body's format is recognised from its first non-blank character, so an answer in the
 * "wrong" format for the protocol (it happens behind gateways) is still understood.
 * Control characters in the code, message and request id are replaced by spaces; values too
 * long for their fields are cut.
 *
 * Pure: no allocation that outlives a call, no globals. Nothing to free.
 */
#ifndef CFDR_AWSERROR_H
#define CFDR_AWSERROR_H

#include <stddef.h>

#include "aws/transport.h"

/* Fills *out (fully overwritten) from an error answer. body may be NULL when body_len is 0;
 * it need not be NUL-terminated. headers are the response headers (names case-insensitive). */
void awserror_parse(enum aws_protocol proto, long http_status, const struct aws_header *headers,
                    size_t nheaders, const char *body, size_t body_len, struct aws_error *out);

/* Standard HTTP reason phrase ("Service Unavailable"), "" when unknown. */
const char *awserror_reason_phrase(long http_status);

#endif
