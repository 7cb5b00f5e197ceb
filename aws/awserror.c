/* awserror: see awserror.h. */
#include "aws/awserror.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "aws/xml.h"

/* How much of a plain-text (non-AWS) body goes into the message. */
#define AWSERROR_TEXT_SNIPPET 200
#define AWSERROR_JSON_DEPTH 32

static const char *header(const struct aws_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (h[i].name && strcasecmp(h[i].name, name) == 0)
            return h[i].value ? h[i].value : "";
    return NULL;
}

/* Copies at most len bytes of s into dst[size], control characters made spaces, cut at a UTF-8
 * boundary, surrounding blanks trimmed. */
static void copy_clean(char *dst, size_t size, const char *s, size_t len)
{
    size_t i = 0, o = 0;

    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    for (; i < len && s[i] && o + 1 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    if (i < len && s[i] && o > 0) /* cut: do not leave half a UTF-8 sequence */
        while (o > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) {
            o--;
            i--;
        }
    while (o > 0 && dst[o - 1] == ' ')
        o--;
    dst[o] = '\0';
}

static void set(char *dst, size_t size, const char *s)
{
    copy_clean(dst, size, s ? s : "", s ? strlen(s) : 0);
}

/* botocore / Smithy: "Foo:http://internal..." -> "Foo"; "com.amazonaws.x#Foo" -> "Foo". */
static void set_code(struct aws_error *e, const char *raw)
{
    const char *colon, *hash;
    size_t len;
    char tmp[sizeof(e->code)];

    if (!raw)
        return;
    colon = strchr(raw, ':');
    len = colon ? (size_t)(colon - raw) : strlen(raw);
    copy_clean(tmp, sizeof(tmp), raw, len);
    hash = strrchr(tmp, '#');
    set(e->code, sizeof(e->code), hash ? hash + 1 : tmp);
}

static void set_message_text(char *dst, size_t size, const struct xml_node *n)
{
    char tmp[1024];
    xml_text_copy(n, tmp, sizeof(tmp));
    set(dst, size, tmp);
}

/* Returns 1 when the document is an AWS XML error with a code. */
static int parse_xml(const char *body, size_t len, struct aws_error *e)
{
    struct xml_doc *doc = NULL;
    const struct xml_node *root, *el, *rid;
    int found = 0;

    if (xml_parse(body, len, len, &doc, NULL) != CFDR_OK)
        return 0;
    root = xml_root(doc);
    el = root;
    if (strcmp(xml_name(root), "ErrorResponse") == 0 && xml_child(root, "Error"))
        el = xml_child(root, "Error");
    else if (strcmp(xml_name(root), "Response") == 0 && xml_path(root, "Errors/Error"))
        el = xml_path(root, "Errors/Error");
    if (xml_child(el, "Code")) {
        set_message_text(e->code, sizeof(e->code), xml_child(el, "Code"));
        set_message_text(e->message, sizeof(e->message), xml_child(el, "Message"));
        found = e->code[0] != '\0';
    }
    if (!e->request_id[0]) {
        rid = xml_child(root, "RequestId");
        if (!rid)
            rid = xml_child(root, "RequestID");
        if (!rid)
            rid = xml_child(el, "RequestId");
        set_message_text(e->request_id, sizeof(e->request_id), rid);
    }
    xml_doc_free(doc);
    return found;
}

static const char *json_str(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static struct json_object *parse_json_object(const char *body, size_t len)
{
    struct json_tokener *tok = json_tokener_new_ex(AWSERROR_JSON_DEPTH);
    struct json_object *o = NULL;

    if (!tok || len > (size_t)0x7fffffff)
        goto out;
    o = json_tokener_parse_ex(tok, body, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success || !o) {
        json_object_put(o);
        o = NULL;
        goto out;
    }
    /* trailing bytes must be blank */
    for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
        if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r' && body[i] != '\n') {
            json_object_put(o);
            o = NULL;
            goto out;
        }
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
out:
    if (tok)
        json_tokener_free(tok);
    return o;
}

/* The code in an x-amzn-query-error header "Code;Sender", or NULL. */
static const char *query_error_code(const char *h, char *tmp, size_t size)
{
    const char *semi;
    if (!h || !(semi = strchr(h, ';')) || semi == h || strchr(semi + 1, ';') ||
        (size_t)(semi - h) >= size)
        return NULL;
    memcpy(tmp, h, (size_t)(semi - h));
    tmp[semi - h] = '\0';
    return tmp;
}

/* JSON protocols. Returns 1 when a code was found (in the body or the headers). */
static int parse_json(enum aws_protocol proto, const struct aws_header *h, size_t nh,
                      struct json_object *o, struct aws_error *e)
{
    char qbuf[sizeof(e->code)];
    const char *qcode = query_error_code(header(h, nh, "x-amzn-query-error"), qbuf, sizeof(qbuf));
    const char *etype = header(h, nh, "x-amzn-ErrorType");
    const char *type = o ? json_str(o, "__type") : NULL;
    const char *bcode = NULL;
    const char *order[4];

    if (o) {
        bcode = json_str(o, "code");
        if (!bcode)
            bcode = json_str(o, "Code");
    }
    if (proto == AWS_PROTO_REST_JSON) {
        order[0] = etype, order[1] = bcode, order[2] = qcode, order[3] = type;
    } else {
        order[0] = qcode, order[1] = type, order[2] = etype, order[3] = bcode;
    }
    for (size_t i = 0; i < 4 && !e->code[0]; i++)
        if (order[i] && *order[i])
            set_code(e, order[i]);
    if (o) {
        const char *m = json_str(o, "message");
        if (!m)
            m = json_str(o, "Message");
        set(e->message, sizeof(e->message), m);
        if (!e->request_id[0])
            set(e->request_id, sizeof(e->request_id), json_str(o, "RequestId"));
    }
    return e->code[0] != '\0';
}

static int starts_with_ci(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && strncasecmp(s, prefix, n) == 0;
}

void awserror_parse(enum aws_protocol proto, long http_status, const struct aws_header *headers,
                    size_t nheaders, const char *body, size_t body_len, struct aws_error *out)
{
    const char *rid, *p = body ? body : "";
    size_t len = body ? body_len : 0;
    int html, found = 0;

    memset(out, 0, sizeof(*out));
    out->http_status = http_status;
    rid = header(headers, nheaders, "x-amzn-RequestId");
    if (!rid || !*rid)
        rid = header(headers, nheaders, "x-amz-request-id");
    set(out->request_id, sizeof(out->request_id), rid);

    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) { /* UTF-8 byte order mark */
        p += 3;
        len -= 3;
    }
    while (len && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
        len--;
    }
    html = starts_with_ci(p, len, "<html") || starts_with_ci(p, len, "<!doctype html");
    if (len && *p == '<' && !html) {
        found = parse_xml(p, len, out);
    } else if (proto == AWS_PROTO_JSON || proto == AWS_PROTO_REST_JSON || (len && *p == '{')) {
        struct json_object *o = len && *p == '{' ? parse_json_object(p, len) : NULL;
        found = parse_json(proto, headers, nheaders, o, out);
        json_object_put(o);
    }
    if (!found) {
        /* the header may still carry a code when the body is unusable */
        const char *etype = header(headers, nheaders, "x-amzn-ErrorType");
        if (etype && *etype) {
            set_code(out, etype);
            found = out->code[0] != '\0';
        }
    }
    if (found)
        return;

    /* Not an AWS error answer: say what we know. */
    snprintf(out->code, sizeof(out->code), "%ld", http_status);
    if (!len) {
        snprintf(out->message, sizeof(out->message), "%s%s(empty response body)",
                 awserror_reason_phrase(http_status),
                 *awserror_reason_phrase(http_status) ? " " : "");
    } else if (html || *p == '<' || *p == '{' || *p == '[') {
        snprintf(out->message, sizeof(out->message),
                 "%s%s(the answer is not an AWS error response; a proxy, load balancer or "
                 "gateway may have sent it)",
                 awserror_reason_phrase(http_status),
                 *awserror_reason_phrase(http_status) ? " " : "");
    } else {
        char snippet[AWSERROR_TEXT_SNIPPET + 1];
        copy_clean(snippet, sizeof(snippet), p, len);
        snprintf(out->message, sizeof(out->message), "%s%s%s%s",
                 awserror_reason_phrase(http_status),
                 *awserror_reason_phrase(http_status) ? ": " : "", snippet,
                 len > AWSERROR_TEXT_SNIPPET ? "..." : "");
    }
}

const char *awserror_reason_phrase(long s)
{
    switch (s) {
    case 300:
        return "Multiple Choices";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "";
    }
}
