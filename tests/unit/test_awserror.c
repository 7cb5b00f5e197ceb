/* Unit tests for aws/awserror: AWS error answers of every protocol, and answers that are not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/awserror.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct hdr2 {
    const char *name, *value;
};

struct error_case {
    const char *what;
    enum aws_protocol proto;
    long status;
    struct hdr2 headers[3];
    const char *body;
    const char *code, *message, *request_id;
};

static const struct error_case cases[] = {
    {"cloudfront rest-xml ErrorResponse",
     AWS_PROTO_REST_XML,
     409,
     {{"x-amzn-RequestId", "abc-123"}, {"Content-Type", "text/xml"}},
     "<?xml version=\"1.0\"?>\n<ErrorResponse "
     "xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Error><Type>Sender</Type>"
     "<Code>DistributionAlreadyExists</Code><Message>The caller reference that you are using to "
     "create a distribution is associated with another distribution.</Message></Error>"
     "<RequestId>abc-123</RequestId></ErrorResponse>",
     "DistributionAlreadyExists",
     "The caller reference that you are using to create a distribution is associated with "
     "another distribution.",
     "abc-123"},
    {"cloudfront 412 with the request id only in the body",
     AWS_PROTO_REST_XML,
     412,
     {{NULL, NULL}},
     "<ErrorResponse><Error><Type>Sender</Type><Code>PreconditionFailed</Code><Message>The "
     "If-Match version is missing or not valid.</Message></Error><RequestId>r-412</RequestId>"
     "</ErrorResponse>",
     "PreconditionFailed",
     "The If-Match version is missing or not valid.",
     "r-412"},
    {"query protocol (CloudWatch) throttling, namespaced",
     AWS_PROTO_QUERY,
     400,
     {{NULL, NULL}},
     "<ErrorResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">\n  <Error>\n    "
     "<Type>Sender</Type>\n    <Code>Throttling</Code>\n    <Message>Rate exceeded</Message>\n  "
     "</Error>\n  <RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>\n</ErrorResponse>\n",
     "Throttling",
     "Rate exceeded",
     "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE"},
    {"bare <Error> (S3 style): the header request id wins",
     AWS_PROTO_REST_XML,
     403,
     {{"x-amz-request-id", "HDR-ID"}},
     "<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>BODY-ID"
     "</RequestId></Error>",
     "AccessDenied",
     "Access Denied",
     "HDR-ID"},
    {"<Response><Errors><Error> (EC2 style)",
     AWS_PROTO_QUERY,
     400,
     {{NULL, NULL}},
     "<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>Value (x) for "
     "parameter y is invalid</Message></Error></Errors><RequestID>ec2-req</RequestID></Response>",
     "InvalidParameterValue",
     "Value (x) for parameter y is invalid",
     "ec2-req"},
    {"awsJson: __type with a namespace, Message",
     AWS_PROTO_JSON,
     400,
     {{"x-amzn-RequestId", "json-req-1"}, {"Content-Type", "application/x-amz-json-1.0"}},
     "{\"__type\":\"com.amazonaws.apprunner#ResourceNotFoundException\",\"Message\":\"Service "
     "dr-demo-east not found\"}",
     "ResourceNotFoundException",
     "Service dr-demo-east not found",
     "json-req-1"},
    {"awsJson: bare __type, lower-case message",
     AWS_PROTO_JSON,
     400,
     {{NULL, NULL}},
     "  {\"message\": \"Rate exceeded\", \"__type\": \"ThrottlingException\"}\n",
     "ThrottlingException",
     "Rate exceeded",
     ""},
    {"awsJson: __type with a ':' suffix",
     AWS_PROTO_JSON,
     400,
     {{NULL, NULL}},
     "{\"__type\":\"com.amazon.coral.validate#ValidationException:http://internal.amazon.com/"
     "coral/com.amazon.coral.validate/\",\"message\":\"1 validation error\"}",
     "ValidationException",
     "1 validation error",
     ""},
    {"awsJson: code only in x-amzn-ErrorType",
     AWS_PROTO_JSON,
     403,
     {{"x-amzn-ErrorType",
       "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/"},
      {"X-Amzn-Requestid", "case-insensitive"}},
     "{\"Message\":\"User is not authorized\"}",
     "AccessDeniedException",
     "User is not authorized",
     "case-insensitive"},
    {"awsJson: x-amzn-query-error wins over __type",
     AWS_PROTO_JSON,
     400,
     {{"x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender"}},
     "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\",\"message\":\"no queue\"}",
     "AWS.SimpleQueueService.NonExistentQueue",
     "no queue",
     ""},
    {"awsJson: malformed x-amzn-query-error is ignored",
     AWS_PROTO_JSON,
     400,
     {{"x-amzn-query-error", ";Sender"}},
     "{\"__type\":\"Foo#Bar\"}",
     "Bar",
     "",
     ""},
    {"rest-json: x-amzn-ErrorType wins over the body",
     AWS_PROTO_REST_JSON,
     401,
     {{"x-amzn-ErrorType", "UnauthorizedException:"}, {"x-amzn-RequestId", "sso-1"}},
     "{\"__type\":\"Other\",\"message\":\"Session token not found or invalid\"}",
     "UnauthorizedException",
     "Session token not found or invalid",
     "sso-1"},
    {"rest-json: code in the body",
     AWS_PROTO_REST_JSON,
     400,
     {{NULL, NULL}},
     "{\"code\":\"BadRequestException\",\"message\":\"bad\"}",
     "BadRequestException",
     "bad",
     ""},
    {"rest-json: empty body, code from the header",
     AWS_PROTO_REST_JSON,
     404,
     {{"x-amzn-ErrorType", "ResourceNotFoundException"}},
     "",
     "ResourceNotFoundException",
     "",
     ""},
    {"HTML 502 from a proxy",
     AWS_PROTO_REST_XML,
     502,
     {{"Content-Type", "text/html"}},
     "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
     "Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
     "502",
     "Bad Gateway (the answer is not an AWS error response; a proxy, load balancer or gateway "
     "may have sent it)",
     ""},
    {"HTML with a doctype, for a JSON protocol",
     AWS_PROTO_JSON,
     503,
     {{NULL, NULL}},
     "\n<!DOCTYPE html><html><body>Service Unavailable</body></html>",
     "503",
     "Service Unavailable (the answer is not an AWS error response; a proxy, load balancer or "
     "gateway may have sent it)",
     ""},
    {"empty 503",
     AWS_PROTO_QUERY,
     503,
     {{"x-amz-request-id", "empty-1"}},
     "",
     "503",
     "Service Unavailable (empty response body)",
     "empty-1"},
    {"plain text 500",
     AWS_PROTO_REST_XML,
     500,
     {{NULL, NULL}},
     "upstream connect error or disconnect/reset before headers\n",
     "500",
     "Internal Server Error: upstream connect error or disconnect/reset before headers",
     ""},
    {"malformed XML 400",
     AWS_PROTO_REST_XML,
     400,
     {{NULL, NULL}},
     "<ErrorResponse><Error><Code>Oops",
     "400",
     "Bad Request (the answer is not an AWS error response; a proxy, load balancer or gateway "
     "may have sent it)",
     ""},
    {"malformed JSON 400",
     AWS_PROTO_JSON,
     400,
     {{NULL, NULL}},
     "{\"__type\": \"ThrottlingException\", ",
     "400",
     "Bad Request (the answer is not an AWS error response; a proxy, load balancer or gateway "
     "may have sent it)",
     ""},
    {"JSON that is not an object",
     AWS_PROTO_JSON,
     500,
     {{NULL, NULL}},
     "[\"__type\"]",
     "500",
     "Internal Server Error (the answer is not an AWS error response; a proxy, load balancer or "
     "gateway may have sent it)",
     ""},
    {"XML answer to a JSON protocol (gateway) is still understood",
     AWS_PROTO_JSON,
     400,
     {{NULL, NULL}},
     "<ErrorResponse><Error><Code>InvalidClientTokenId</Code><Message>The security token "
     "included in the request is invalid.</Message></Error><RequestId>x1</RequestId>"
     "</ErrorResponse>",
     "InvalidClientTokenId",
     "The security token included in the request is invalid.",
     "x1"},
    {"JSON answer to the query protocol is still understood",
     AWS_PROTO_QUERY,
     400,
     {{NULL, NULL}},
     "{\"__type\":\"com.amazonaws.sns#InvalidParameter\",\"message\":\"Invalid parameter: "
     "Endpoint\"}",
     "InvalidParameter",
     "Invalid parameter: Endpoint",
     ""},
    {"control characters become spaces, blanks trimmed",
     AWS_PROTO_REST_XML,
     400,
     {{"x-amzn-RequestId", " id\r\n"}},
     "<ErrorResponse><Error><Code> InvalidArgument\n</Code><Message>line one\nline two\tend  "
     "</Message></Error></ErrorResponse>",
     "InvalidArgument",
     "line one line two end",
     "id"},
    {"DOCTYPE'd XML is not parsed",
     AWS_PROTO_REST_XML,
     400,
     {{NULL, NULL}},
     "<!DOCTYPE e [<!ENTITY x \"boom\">]><Error><Code>&x;</Code></Error>",
     "400",
     "Bad Request (the answer is not an AWS error response; a proxy, load balancer or gateway "
     "may have sent it)",
     ""},
    {"byte order mark before the XML",
     AWS_PROTO_QUERY,
     400,
     {{NULL, NULL}},
     "\xEF\xBB\xBF<ErrorResponse><Error><Code>Throttling</Code><Message>m</Message></Error>"
     "</ErrorResponse>",
     "Throttling",
     "m",
     ""},
    {"a redirect with no body",
     AWS_PROTO_REST_XML,
     301,
     {{"Location", "https://elsewhere.example/"}},
     "",
     "301",
     "Moved Permanently (empty response body)",
     ""},
    {"an unknown status with no body",
     AWS_PROTO_REST_XML,
     599,
     {{NULL, NULL}},
     "",
     "599",
     "(empty response body)",
     ""},
};

static void test_error_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        const struct error_case *c = &cases[i];
        struct aws_header h[3];
        size_t nh = 0;
        struct aws_error e;

        for (size_t k = 0; k < 3 && c->headers[k].name; k++) {
            h[nh].name = (char *)c->headers[k].name;
            h[nh].value = (char *)c->headers[k].value;
            nh++;
        }
        memset(&e, 0x5a, sizeof(e)); /* everything must be overwritten */
        awserror_parse(c->proto, c->status, h, nh, c->body, strlen(c->body), &e);
        if (e.http_status != c->status || strcmp(e.code, c->code) != 0 ||
            strcmp(e.message, c->message) != 0 || strcmp(e.request_id, c->request_id) != 0)
            fail_msg("%s:\n  got  %ld [%s] [%s] [%s]\n  want %ld [%s] [%s] [%s]", c->what,
                     e.http_status, e.code, e.message, e.request_id, c->status, c->code, c->message,
                     c->request_id);
    }
}

static void test_body_need_not_be_terminated(void **state)
{
    static const char body[] = "{\"__type\":\"ThrottlingException\",\"message\":\"slow\"}TRAILING";
    struct aws_error e;
    (void)state;
    awserror_parse(AWS_PROTO_JSON, 400, NULL, 0, body, strlen(body) - strlen("TRAILING"), &e);
    assert_string_equal(e.code, "ThrottlingException");
    assert_string_equal(e.message, "slow");
    /* with the trailing bytes it is not JSON any more */
    awserror_parse(AWS_PROTO_JSON, 400, NULL, 0, body, strlen(body), &e);
    assert_string_equal(e.code, "400");
    awserror_parse(AWS_PROTO_REST_XML, 500, NULL, 0, NULL, 0, &e);
    assert_string_equal(e.code, "500");
    assert_string_equal(e.message, "Internal Server Error (empty response body)");
}

static void test_long_values_are_cut_safely(void **state)
{
    struct aws_error e;
    char *body = malloc(10000);
    size_t n = 0;
    (void)state;
    assert_non_null(body);
    n += (size_t)sprintf(body + n, "{\"__type\":\"");
    for (int i = 0; i < 300; i++)
        body[n++] = 'C';
    n += (size_t)sprintf(body + n, "\",\"message\":\"");
    for (int i = 0; i < 1500; i++) {
        /* 2-byte UTF-8 characters, so a cut lands inside one unless handled */
        body[n++] = '\xc3';
        body[n++] = '\xa9';
    }
    n += (size_t)sprintf(body + n, "\"}");
    awserror_parse(AWS_PROTO_JSON, 400, NULL, 0, body, n, &e);
    assert_int_equal(strlen(e.code), sizeof(e.code) - 1);
    assert_true(strlen(e.message) <= sizeof(e.message) - 1);
    assert_int_equal(strlen(e.message) % 2, 0); /* whole characters only */
    free(body);

    /* plain text bodies are summarised, not copied whole */
    body = malloc(5000);
    assert_non_null(body);
    memset(body, 'x', 5000);
    awserror_parse(AWS_PROTO_REST_XML, 500, NULL, 0, body, 5000, &e);
    assert_int_equal(strlen(e.message), strlen("Internal Server Error: ") + 200 + 3);
    assert_string_equal(e.message + strlen(e.message) - 3, "...");
    free(body);
}

/* Bounded, deterministic mutation run over the table's bodies: whatever the bytes, the result
 * is a terminated error with a code (ASan/UBSan watch the parsers). */
static void test_mutated_bodies_always_yield_an_error(void **state)
{
    uint32_t seed = 12345;
    char body[2048];
    (void)state;
    for (int round = 0; round < 4000; round++) {
        const struct error_case *c = &cases[(size_t)round % N(cases)];
        size_t len = strlen(c->body);
        struct aws_error e;
        if (len >= sizeof(body))
            len = sizeof(body) - 1;
        memcpy(body, c->body, len);
        for (int k = 0; k < 1 + round % 8 && len; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % len;
            switch ((seed >> 4) % 3) {
            case 0: /* flip a byte */
                body[at] = (char)(seed >> 16);
                break;
            case 1: /* cut */
                len = at;
                break;
            default: /* duplicate a tail */
                if (len + (len - at) < sizeof(body)) {
                    memmove(body + len, body + at, len - at);
                    len += len - at;
                }
                break;
            }
        }
        awserror_parse((enum aws_protocol)(round % 4), c->status, NULL, 0, body, len, &e);
        assert_int_equal(e.http_status, c->status);
        assert_true(e.code[0] != '\0');
        assert_true(strlen(e.code) < sizeof(e.code));
        assert_true(strlen(e.message) < sizeof(e.message));
        assert_true(strlen(e.request_id) < sizeof(e.request_id));
        for (const char *p = e.message; *p; p++)
            assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
    }
}

static void test_reason_phrases(void **state)
{
    (void)state;
    assert_string_equal(awserror_reason_phrase(404), "Not Found");
    assert_string_equal(awserror_reason_phrase(429), "Too Many Requests");
    assert_string_equal(awserror_reason_phrase(504), "Gateway Timeout");
    assert_string_equal(awserror_reason_phrase(799), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_body_need_not_be_terminated),
        cmocka_unit_test(test_long_values_are_cut_safely),
        cmocka_unit_test(test_mutated_bodies_always_yield_an_error),
        cmocka_unit_test(test_reason_phrases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
