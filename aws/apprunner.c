/* apprunner: see apprunner.h. */
#include "aws/apprunner.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aws/buf.h"

/* Nesting json-c accepts in an answer; App Runner's are a few levels deep. */
#define APPRUNNER_JSON_DEPTH 64
#define APPRUNNER_IMAGE_PREFIX "public.ecr.aws/"

static void aerr_clear(struct aws_error *aerr)
{
    if (aerr)
        memset(aerr, 0, sizeof(*aerr));
}

static int empty(const char *s)
{
    return !s || !*s;
}

/* ---- requests ---- */

/* Adds key: v to o; takes v (released on failure). 0 on success. */
static int jset(json_object *o, const char *key, json_object *v)
{
    if (!o || !v || json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return -1;
    }
    return 0;
}

static int jset_str(json_object *o, const char *key, const char *s)
{
    return jset(o, key, json_object_new_string(s));
}

/* Parses an answer body into a JSON object (*out, the caller puts it). */
static cfdr_code parse_json(const struct aws_response *resp, json_object **out, cfdr_err *err)
{
    json_tokener *tok = json_tokener_new_ex(APPRUNNER_JSON_DEPTH);
    const char *body = buf_str(&resp->body);
    size_t len = buf_len(&resp->body);
    enum json_tokener_error jerr;
    json_object *o;

    *out = NULL;
    if (!tok)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    if (len > INT32_MAX) {
        json_tokener_free(tok);
        return err_set(err, CFDR_E_TOOBIG, "the answer is too large");
    }
    o = json_tokener_parse_ex(tok, body, (int)len);
    jerr = json_tokener_get_error(tok);
    if (!o || jerr != json_tokener_success || json_tokener_get_parse_end(tok) != len) {
        json_object_put(o);
        json_tokener_free(tok);
        return err_set(err, CFDR_E_PARSE, "the answer is not one JSON document: %s",
                       jerr == json_tokener_success ? "trailing data"
                                                    : json_tokener_error_desc(jerr));
    }
    json_tokener_free(tok);
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return err_set(err, CFDR_E_PARSE, "the answer is not a JSON object");
    }
    *out = o;
    return CFDR_OK;
}

/* Sends operation op with the JSON body req (borrowed) and parses the answer into *out (NULL in
 * dry-run, where nothing was sent). */
static cfdr_code call_json(struct transport *t, const char *region, const char *op,
                           json_object *req, json_object **out, struct aws_error *aerr,
                           cfdr_err *err)
{
    struct aws_request rq;
    struct aws_response resp;
    const char *body;
    cfdr_code rc;

    *out = NULL;
    body = json_object_to_json_string_ext(req,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!body)
        return err_set(err, CFDR_E_NOMEM, "App Runner %s: out of memory", op);
    memset(&rq, 0, sizeof(rq));
    rq.service = AWS_SVC_APPRUNNER;
    rq.protocol = AWS_PROTO_JSON;
    rq.region = region;
    rq.operation = op;
    rq.target_prefix = "AppRunner";
    rq.method = "POST";
    rq.path = "/";
    rq.body = body;
    rq.body_len = strlen(body);
    aws_response_init(&resp);
    rc = transport_call(t, &rq, &resp, err);
    if (rc) {
        if (aerr && (rc == CFDR_E_AWS || rc == CFDR_E_NET))
            *aerr = resp.error;
    } else if (!resp.dry_run) {
        rc = parse_json(&resp, out, err);
        if (rc)
            err_wrap(err, "App Runner %s: unexpected answer", op);
    }
    aws_response_free(&resp);
    return rc;
}

/* A request object {"ServiceArn": arn}. */
static cfdr_code arn_request(const char *arn, json_object **out, cfdr_err *err)
{
    *out = NULL;
    if (empty(arn) || strlen(arn) >= APPRUNNER_ARN_SIZE)
        return err_set(err, CFDR_E_USAGE, "'%.100s' is not an App Runner service ARN",
                       arn ? arn : "");
    *out = json_object_new_object();
    if (!*out || jset_str(*out, "ServiceArn", arn)) {
        json_object_put(*out);
        *out = NULL;
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    }
    return CFDR_OK;
}

/* ---- reading answers ---- */

/* Copies o[key] (a string) into dst. Missing or null: "" when optional, else an error. */
static cfdr_code j_str(json_object *o, const char *key, char *dst, size_t size, int required,
                       cfdr_err *err)
{
    json_object *v = NULL;
    const char *s;

    dst[0] = '\0';
    if (!json_object_object_get_ex(o, key, &v) || !v) {
        if (!required)
            return CFDR_OK;
        return err_set(err, CFDR_E_PARSE, "\"%s\" is missing", key);
    }
    if (!json_object_is_type(v, json_type_string))
        return err_set(err, CFDR_E_PARSE, "\"%s\" is not a string", key);
    s = json_object_get_string(v);
    if ((size_t)json_object_get_string_len(v) >= size || strlen(s) >= size)
        return err_set(err, CFDR_E_PARSE, "\"%s\" is longer than %zu bytes", key, size - 1);
    memcpy(dst, s, strlen(s) + 1);
    return CFDR_OK;
}

/* awsJson timestamps: epoch seconds, integer or fractional. Missing or null: 0. */
static cfdr_code j_time(json_object *o, const char *key, double *out, cfdr_err *err)
{
    json_object *v = NULL;

    *out = 0;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return CFDR_OK;
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return err_set(err, CFDR_E_PARSE, "\"%s\" is not an epoch time", key);
    *out = json_object_get_double(v);
    return CFDR_OK;
}

static cfdr_code parse_service(json_object *o, struct apprunner_service *s, cfdr_err *err)
{
    if (!json_object_is_type(o, json_type_object))
        return err_set(err, CFDR_E_PARSE, "a service is not a JSON object");
    CFDR_TRY(j_str(o, "ServiceName", s->name, sizeof(s->name), 1, err));
    CFDR_TRY(j_str(o, "ServiceId", s->id, sizeof(s->id), 1, err));
    CFDR_TRY(j_str(o, "ServiceArn", s->arn, sizeof(s->arn), 1, err));
    CFDR_TRY(j_str(o, "ServiceUrl", s->url, sizeof(s->url), 0, err));
    CFDR_TRY(j_str(o, "Status", s->status, sizeof(s->status), 0, err));
    CFDR_TRY(j_time(o, "CreatedAt", &s->created_at, err));
    return j_time(o, "UpdatedAt", &s->updated_at, err);
}

/* {"Service": {...}, "OperationId": "..."} */
static cfdr_code parse_service_answer(json_object *o, struct apprunner_service *s, cfdr_err *err)
{
    json_object *svc = NULL;

    if (!json_object_object_get_ex(o, "Service", &svc) || !svc)
        return err_set(err, CFDR_E_PARSE, "\"Service\" is missing");
    CFDR_TRY(parse_service(svc, s, err));
    return j_str(o, "OperationId", s->operation_id, sizeof(s->operation_id), 0, err);
}

static cfdr_code parse_operation(json_object *o, struct apprunner_operation *op, cfdr_err *err)
{
    if (!json_object_is_type(o, json_type_object))
        return err_set(err, CFDR_E_PARSE, "an operation is not a JSON object");
    CFDR_TRY(j_str(o, "Id", op->id, sizeof(op->id), 1, err));
    CFDR_TRY(j_str(o, "Type", op->type, sizeof(op->type), 0, err));
    CFDR_TRY(j_str(o, "Status", op->status, sizeof(op->status), 0, err));
    CFDR_TRY(j_str(o, "TargetArn", op->target_arn, sizeof(op->target_arn), 0, err));
    CFDR_TRY(j_time(o, "StartedAt", &op->started_at, err));
    CFDR_TRY(j_time(o, "EndedAt", &op->ended_at, err));
    return j_time(o, "UpdatedAt", &op->updated_at, err);
}

/* The array o[key] (missing or null: none); CFDR_E_PARSE when it is something else. */
static cfdr_code j_array(json_object *o, const char *key, json_object **arr, size_t *n,
                         cfdr_err *err)
{
    *arr = NULL;
    *n = 0;
    if (!json_object_object_get_ex(o, key, arr) || !*arr)
        return CFDR_OK;
    if (!json_object_is_type(*arr, json_type_array))
        return err_set(err, CFDR_E_PARSE, "\"%s\" is not a list", key);
    *n = json_object_array_length(*arr);
    return CFDR_OK;
}

/* realloc of an array of `size`-byte items from n to n + more, the new ones zeroed. NULL when
 * out of memory (items untouched). */
static void *grow(void *items, size_t n, size_t more, size_t size)
{
    char *p;
    if (more > SIZE_MAX / size - n)
        return NULL;
    p = realloc(items, (n + more) * size);
    if (p)
        memset(p + n * size, 0, more * size);
    return p;
}

/* ---- pagination ---- */

/* What a list walk needs besides its items: the request template and the token. */
struct walk {
    const char *op;
    const char *list_key; /* "ServiceSummaryList" */
    int pages;
    struct buf token; /* NextToken of the last page; "" at the start and the end */
};

/* Sends one page of w->op with req (the token set or removed here) and hands back the answer
 * (NULL in dry-run) with the page's array; updates w->token. */
static cfdr_code walk_page(struct transport *t, const char *region, struct walk *w,
                           json_object *req, json_object **answer, json_object **arr, size_t *n,
                           struct aws_error *aerr, cfdr_err *err)
{
    json_object *next = NULL;
    cfdr_code rc;

    *arr = NULL;
    *n = 0;
    if (w->pages >= APPRUNNER_LIST_MAX_PAGES)
        return err_set(err, CFDR_E_TOOBIG, "App Runner %s: more than %d pages", w->op,
                       APPRUNNER_LIST_MAX_PAGES);
    w->pages++;
    json_object_object_del(req, "NextToken");
    if (buf_len(&w->token) && jset_str(req, "NextToken", buf_str(&w->token)))
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    CFDR_TRY(call_json(t, region, w->op, req, answer, aerr, err));
    if (!*answer) {
        buf_reset(&w->token); /* dry run: no further pages */
        return CFDR_OK;
    }
    rc = j_array(*answer, w->list_key, arr, n, err);
    if (!rc && json_object_object_get_ex(*answer, "NextToken", &next) && next &&
        !json_object_is_type(next, json_type_string))
        rc = err_set(err, CFDR_E_PARSE, "\"NextToken\" is not a string");
    if (!rc && next && json_object_get_string_len(next) &&
        strcmp(json_object_get_string(next), buf_str(&w->token)) == 0)
        rc = err_set(err, CFDR_E_PARSE, "the NextToken does not advance");
    if (!rc) {
        buf_reset(&w->token);
        if (next && buf_adds(&w->token, json_object_get_string(next)))
            rc = err_set(err, CFDR_E_PARSE, "the NextToken is longer than %zu bytes",
                         (size_t)w->token.max);
    }
    if (rc)
        return err_wrap(err, "App Runner %s: unexpected answer", w->op);
    return CFDR_OK;
}

/* Parses one list item into item (zeroed, of the list's item type). */
typedef cfdr_code (*parse_item_fn)(json_object *o, void *item, cfdr_err *err);

static cfdr_code parse_service_item(json_object *o, void *item, cfdr_err *err)
{
    return parse_service(o, item, err);
}

static cfdr_code parse_operation_item(json_object *o, void *item, cfdr_err *err)
{
    return parse_operation(o, item, err);
}

/* Every page of w->op from req: each item parsed by parse into a malloc'd array of `size`-byte
 * items (*items, *n; the caller frees it, also when it is partly filled after a failure). */
static cfdr_code walk_all(struct transport *t, const char *region, struct walk *w, json_object *req,
                          size_t size, parse_item_fn parse, void **items, size_t *n,
                          struct aws_error *aerr, cfdr_err *err)
{
    json_object *answer = NULL;
    cfdr_code rc = CFDR_OK;

    buf_init(&w->token, BUF_MAX_SMALL);
    while (!rc) {
        json_object *arr;
        size_t k;
        rc = walk_page(t, region, w, req, &answer, &arr, &k, aerr, err);
        if (!rc && k) {
            void *p = grow(*items, *n, k, size);
            if (p)
                *items = p;
            else
                rc = err_set(err, CFDR_E_NOMEM, "out of memory");
        }
        for (size_t i = 0; !rc && i < k; i++) {
            rc = parse(json_object_array_get_idx(arr, i), (char *)*items + *n * size, err);
            if (rc)
                err_wrap(err, "App Runner %s: unexpected answer", w->op);
            else
                (*n)++;
        }
        json_object_put(answer);
        answer = NULL;
        if (!buf_len(&w->token))
            break;
    }
    buf_free(&w->token);
    return rc;
}

static cfdr_code page_request(int page_size, json_object **req, cfdr_err *err)
{
    if (page_size < 0 || page_size > APPRUNNER_PAGE_MAX)
        return err_set(err, CFDR_E_USAGE, "App Runner lists take 1 to %d items per page",
                       APPRUNNER_PAGE_MAX);
    *req = json_object_new_object();
    if (!*req ||
        jset(*req, "MaxResults", json_object_new_int(page_size ? page_size : APPRUNNER_PAGE_MAX))) {
        json_object_put(*req);
        *req = NULL;
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    }
    return CFDR_OK;
}

/* ---- the calls ---- */

void apprunner_service_list_free(struct apprunner_service_list *l)
{
    if (!l)
        return;
    free(l->items);
    memset(l, 0, sizeof(*l));
}

void apprunner_operation_list_free(struct apprunner_operation_list *l)
{
    if (!l)
        return;
    free(l->items);
    memset(l, 0, sizeof(*l));
}

cfdr_code apprunner_list_services(struct transport *t, const char *region, int page_size,
                                  struct apprunner_service_list *out, struct aws_error *aerr,
                                  cfdr_err *err)
{
    struct walk w = {"ListServices", "ServiceSummaryList", 0, {0}};
    json_object *req = NULL;
    void *items = NULL;
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    aerr_clear(aerr);
    rc = page_request(page_size, &req, err);
    if (!rc)
        rc = walk_all(t, region, &w, req, sizeof(*out->items), parse_service_item, &items, &out->n,
                      aerr, err);
    out->items = items;
    json_object_put(req);
    if (rc)
        apprunner_service_list_free(out);
    return rc;
}

cfdr_code apprunner_find_service(struct transport *t, const char *region, const char *name,
                                 struct apprunner_service *out, struct aws_error *aerr,
                                 cfdr_err *err)
{
    struct apprunner_service_list all;
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    if (empty(name))
        return err_set(err, CFDR_E_USAGE, "which App Runner service? No name was given");
    CFDR_TRY(apprunner_list_services(t, region, 0, &all, aerr, err));
    rc = CFDR_E_NOTFOUND;
    for (size_t i = 0; i < all.n && rc; i++)
        if (strcmp(all.items[i].name, name) == 0) {
            *out = all.items[i];
            rc = CFDR_OK;
        }
    apprunner_service_list_free(&all);
    if (rc)
        return err_set(err, rc,
                       "App Runner has no service named '%.64s' in %.32s; check the name and "
                       "region in cfdr.json, or let cfdr create it (cfdr create --with-services)",
                       name, region ? region : "");
    return CFDR_OK;
}

/* A call on one service ARN answered with {"Service", "OperationId"}. */
static cfdr_code service_call(struct transport *t, const char *region, const char *op,
                              const char *arn, struct apprunner_service *out,
                              struct aws_error *aerr, cfdr_err *err)
{
    json_object *req = NULL, *answer = NULL;
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    aerr_clear(aerr);
    rc = arn_request(arn, &req, err);
    if (rc) {
        err_wrap(err, "App Runner %s", op);
        goto out;
    }
    rc = call_json(t, region, op, req, &answer, aerr, err);
    if (rc || !answer)
        goto out;
    rc = parse_service_answer(answer, out, err);
    if (rc) {
        err_wrap(err, "App Runner %s: unexpected answer", op);
        memset(out, 0, sizeof(*out));
    }
out:
    json_object_put(answer);
    json_object_put(req);
    return rc;
}

cfdr_code apprunner_describe_service(struct transport *t, const char *region, const char *arn,
                                     struct apprunner_service *out, struct aws_error *aerr,
                                     cfdr_err *err)
{
    return service_call(t, region, "DescribeService", arn, out, aerr, err);
}

cfdr_code apprunner_pause_service(struct transport *t, const char *region, const char *arn,
                                  struct apprunner_service *out, struct aws_error *aerr,
                                  cfdr_err *err)
{
    return service_call(t, region, "PauseService", arn, out, aerr, err);
}

cfdr_code apprunner_resume_service(struct transport *t, const char *region, const char *arn,
                                   struct apprunner_service *out, struct aws_error *aerr,
                                   cfdr_err *err)
{
    return service_call(t, region, "ResumeService", arn, out, aerr, err);
}

cfdr_code apprunner_delete_service(struct transport *t, const char *region, const char *arn,
                                   struct apprunner_service *out, struct aws_error *aerr,
                                   cfdr_err *err)
{
    return service_call(t, region, "DeleteService", arn, out, aerr, err);
}

static cfdr_code create_request(const struct apprunner_create_spec *spec, json_object **out,
                                cfdr_err *err)
{
    const char *image = empty(spec->image) ? APPRUNNER_SAMPLE_IMAGE : spec->image;
    const char *port = empty(spec->port) ? APPRUNNER_SAMPLE_PORT : spec->port;
    json_object *req, *src, *repo, *conf, *tags = NULL;
    int bad = 0;

    *out = NULL;
    if (empty(spec->name))
        return err_set(err, CFDR_E_USAGE, "the App Runner service needs a name");
    if (strncmp(image, APPRUNNER_IMAGE_PREFIX, strlen(APPRUNNER_IMAGE_PREFIX)) != 0)
        return err_set(err, CFDR_E_USAGE,
                       "'%.200s' is not a public ECR image (%s...): cfdr creates services from "
                       "public images only",
                       image, APPRUNNER_IMAGE_PREFIX);
    if (spec->ntags > APPRUNNER_MAX_TAGS || (spec->ntags && !spec->tags))
        return err_set(err, CFDR_E_USAGE, "an App Runner service takes at most %d tags",
                       APPRUNNER_MAX_TAGS);
    for (size_t i = 0; i < spec->ntags; i++)
        if (empty(spec->tags[i].key))
            return err_set(err, CFDR_E_USAGE, "tag %zu of the App Runner service has no key",
                           i + 1);

    req = json_object_new_object();
    src = json_object_new_object();
    repo = json_object_new_object();
    conf = json_object_new_object();
    /* each jset takes its value, also on failure, so nothing leaks whatever fails */
    bad |= jset_str(conf, "Port", port);
    bad |= jset_str(repo, "ImageIdentifier", image);
    bad |= jset(repo, "ImageConfiguration", conf);
    bad |= jset_str(repo, "ImageRepositoryType", "ECR_PUBLIC");
    bad |= jset(src, "ImageRepository", repo);
    /* ECR_PUBLIC images cannot be deployed automatically */
    bad |= jset(src, "AutoDeploymentsEnabled", json_object_new_boolean(0));
    bad |= jset_str(req, "ServiceName", spec->name);
    bad |= jset(req, "SourceConfiguration", src);
    if (spec->ntags) {
        tags = json_object_new_array();
        for (size_t i = 0; i < spec->ntags && tags; i++) {
            json_object *tag = json_object_new_object();
            bad |= jset_str(tag, "Key", spec->tags[i].key);
            bad |= jset_str(tag, "Value", spec->tags[i].value ? spec->tags[i].value : "");
            if (!tag || json_object_array_add(tags, tag) != 0) {
                json_object_put(tag);
                bad = 1;
            }
        }
        bad |= jset(req, "Tags", tags);
    }
    if (bad) {
        json_object_put(req);
        return err_set(err, CFDR_E_NOMEM, "out of memory building the CreateService request");
    }
    *out = req;
    return CFDR_OK;
}

cfdr_code apprunner_create_service(struct transport *t, const char *region,
                                   const struct apprunner_create_spec *spec,
                                   struct apprunner_service *out, struct aws_error *aerr,
                                   cfdr_err *err)
{
    json_object *req = NULL, *answer = NULL;
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    aerr_clear(aerr);
    rc = create_request(spec, &req, err);
    if (rc) {
        err_wrap(err, "App Runner CreateService");
        goto out;
    }
    rc = call_json(t, region, "CreateService", req, &answer, aerr, err);
    if (rc || !answer)
        goto out;
    rc = parse_service_answer(answer, out, err);
    if (rc) {
        err_wrap(err, "App Runner CreateService: unexpected answer");
        memset(out, 0, sizeof(*out));
    }
out:
    json_object_put(answer);
    json_object_put(req);
    return rc;
}

cfdr_code apprunner_list_operations(struct transport *t, const char *region, const char *arn,
                                    struct apprunner_operation_list *out, struct aws_error *aerr,
                                    cfdr_err *err)
{
    struct walk w = {"ListOperations", "OperationSummaryList", 0, {0}};
    json_object *req = NULL;
    void *items = NULL;
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    aerr_clear(aerr);
    rc = arn_request(arn, &req, err);
    if (!rc && jset(req, "MaxResults", json_object_new_int(APPRUNNER_PAGE_MAX)))
        rc = err_set(err, CFDR_E_NOMEM, "out of memory");
    if (rc)
        err_wrap(err, "App Runner ListOperations");
    else
        rc = walk_all(t, region, &w, req, sizeof(*out->items), parse_operation_item, &items,
                      &out->n, aerr, err);
    out->items = items;
    json_object_put(req);
    if (rc)
        apprunner_operation_list_free(out);
    return rc;
}
