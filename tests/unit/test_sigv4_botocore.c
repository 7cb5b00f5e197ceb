/*
 * Cross-check of sigv4/ against botocore's SigV4Auth.
 *
 * tests/tools/botocore_sign.py (run with /usr/bin/python3, found through $CFDR_SOURCE_DIR)
 * generates random requests from a fixed seed, signs them with botocore at a fixed time each, and
 * prints one JSON line per request: the request as sigv4_sign receives it and botocore's canonical
 * request, string to sign, Authorization and final header list. The script's docstring says how
 * the requests are built so that the comparison is fair.
 *
 * "match" lines must agree in all three stages, the signing date must be what
 * sigv4_format_amz_date makes of the UNIX time, and the headers the caller would send (the
 * request's minus any Authorization, plus add_headers, plus Authorization) must be the headers
 * botocore sends. At least MIN_MATCHES must run.
 *
 * "differ" lines are documented divergences (see the script): the canonical requests must differ
 * in exactly the parts the line names. "rejects" lines are inputs botocore rewrites silently and
 * sigv4 refuses: sigv4_sign must fail with the named code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "aws/buf.h"
#include "aws/err.h"
#include "sigv4/sigv4.h"

#define SEED 20150830
#define COUNT 250
#define MIN_MATCHES 200
#define MAX_LINES 2000
#define MAX_HEADERS 64
#define PYTHON "/usr/bin/python3"

/* The parts of a canonical request, as pointer and length into it. */
enum part { P_METHOD, P_PATH, P_QUERY, P_HEADERS, P_SIGNED_HEADERS, P_PAYLOAD, P_COUNT };
static const char *const s_part_names[P_COUNT] = {"method",  "path",           "query",
                                                  "headers", "signed_headers", "payload"};

struct parts {
    const char *p[P_COUNT];
    size_t len[P_COUNT];
};

/* Splits "method\npath\nquery\n<header lines>\n\nsigned\npayload". Returns 0 if malformed. */
static int split_creq(const char *cr, struct parts *out)
{
    const char *s = cr;
    for (int i = P_METHOD; i <= P_QUERY; i++) {
        const char *nl = strchr(s, '\n');
        if (!nl)
            return 0;
        out->p[i] = s;
        out->len[i] = (size_t)(nl - s);
        s = nl + 1;
    }
    const char *blank = strstr(s, "\n\n");
    if (!blank)
        return 0;
    out->p[P_HEADERS] = s;
    out->len[P_HEADERS] = (size_t)(blank + 1 - s);
    s = blank + 2;
    const char *nl = strchr(s, '\n');
    if (!nl)
        return 0;
    out->p[P_SIGNED_HEADERS] = s;
    out->len[P_SIGNED_HEADERS] = (size_t)(nl - s);
    out->p[P_PAYLOAD] = nl + 1;
    out->len[P_PAYLOAD] = strlen(nl + 1);
    return 1;
}

static const char *jstr(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static unsigned char *b64_decode(const char *in, size_t *out_len)
{
    size_t n = strlen(in);
    unsigned char *out = malloc(n / 4 * 3 + 1);
    if (!out)
        return NULL;
    if (n == 0) {
        *out_len = 0;
        return out;
    }
    int got = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (got < 0 || n % 4) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes */
    size_t len = (size_t)got;
    if (in[n - 1] == '=')
        len--;
    if (in[n - 2] == '=')
        len--;
    *out_len = len;
    return out;
}

/* A (lowercase name, value) pair for comparing header lists as multisets. */
struct pair {
    char *name;
    const char *value;
};

static int cmp_pair(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *lower_dup(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    for (char *p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

struct tally {
    int matches, differs, rejects, failures;
};

static void report(struct tally *t, int id, const char *what, const char *got, const char *want)
{
    print_error("case %d: %s differs\n  sigv4:    %s\n  botocore: %s\n", id, what, got, want);
    t->failures++;
}

/* The headers the caller would send must be the headers botocore sends. */
static int same_final_headers(const struct sigv4_header *in, size_t nin,
                              const struct sigv4_result *res, struct json_object *final)
{
    size_t nfinal = json_object_array_length(final);
    size_t n = 0, m = 0;
    struct pair ours[MAX_HEADERS + SIGV4_MAX_ADD_HEADERS + 1], theirs[MAX_HEADERS * 2];
    int same;

    for (size_t i = 0; i < nin; i++)
        if (strcasecmp(in[i].name, "authorization") != 0)
            ours[n++] = (struct pair){lower_dup(in[i].name), in[i].value};
    for (size_t i = 0; i < res->nadd_headers; i++)
        ours[n++] = (struct pair){lower_dup(res->add_headers[i].name), res->add_headers[i].value};
    ours[n++] = (struct pair){lower_dup("Authorization"), buf_str(&res->authorization)};
    assert_true(nfinal <= sizeof(theirs) / sizeof(theirs[0]));
    for (size_t i = 0; i < nfinal; i++) {
        struct json_object *h = json_object_array_get_idx(final, i);
        theirs[m++] =
            (struct pair){lower_dup(json_object_get_string(json_object_array_get_idx(h, 0))),
                          json_object_get_string(json_object_array_get_idx(h, 1))};
    }
    qsort(ours, n, sizeof(ours[0]), cmp_pair);
    qsort(theirs, m, sizeof(theirs[0]), cmp_pair);
    same = n == m;
    for (size_t i = 0; same && i < n; i++)
        same = cmp_pair(&ours[i], &theirs[i]) == 0;
    for (size_t i = 0; i < n; i++)
        free(ours[i].name);
    for (size_t i = 0; i < m; i++)
        free(theirs[i].name);
    return same;
}

static void check_case(struct json_object *o, struct tally *t)
{
    struct json_object *jheaders, *jid, *jtime, *final;
    struct sigv4_header headers[MAX_HEADERS];
    struct sigv4_config cfg;
    struct sigv4_request req;
    struct sigv4_result res;
    cfdr_err err;
    char date[17];
    unsigned char *body;
    size_t body_len = 0, nheaders;
    const char *kind = jstr(o, "kind");
    int id;

    assert_true(json_object_object_get_ex(o, "id", &jid));
    id = json_object_get_int(jid);
    assert_non_null(kind);
    assert_true(json_object_object_get_ex(o, "headers", &jheaders));
    assert_true(json_object_object_get_ex(o, "final_headers", &final));
    assert_true(json_object_object_get_ex(o, "unix_time", &jtime));
    nheaders = json_object_array_length(jheaders);
    assert_true(nheaders <= MAX_HEADERS);
    for (size_t i = 0; i < nheaders; i++) {
        struct json_object *h = json_object_array_get_idx(jheaders, i);
        headers[i].name = json_object_get_string(json_object_array_get_idx(h, 0));
        headers[i].value = json_object_get_string(json_object_array_get_idx(h, 1));
        assert_non_null(headers[i].name);
        assert_non_null(headers[i].value);
    }
    body = b64_decode(jstr(o, "body_b64"), &body_len);
    assert_non_null(body);

    /* botocore's clock and sigv4_format_amz_date must agree on the date. */
    sigv4_format_amz_date((long long)json_object_get_int64(jtime), date);
    assert_string_equal(date, jstr(o, "amz_date"));

    memset(&cfg, 0, sizeof(cfg));
    cfg.region = jstr(o, "region");
    cfg.service = jstr(o, "service");
    cfg.amz_date = date;
    cfg.creds.access_key_id = jstr(o, "access_key");
    cfg.creds.secret_access_key = jstr(o, "secret_key");
    cfg.creds.session_token = jstr(o, "token");
    cfg.double_uri_encode = 1;
    cfg.normalize_uri_path = 1;
    cfg.sign_session_token = 1; /* botocore always signs the token */

    memset(&req, 0, sizeof(req));
    req.method = jstr(o, "method");
    req.path = jstr(o, "path");
    req.query = jstr(o, "query");
    req.headers = headers;
    req.nheaders = nheaders;
    req.body = body;
    req.body_len = body_len;

    sigv4_result_init(&res);
    err_clear(&err);
    cfdr_code rc = sigv4_sign(&cfg, &req, &res, &err);
    const char *want_creq = jstr(o, "canonical_request");
    const char *want_sts = jstr(o, "string_to_sign");
    const char *want_authz = jstr(o, "authorization");
    assert_non_null(want_creq);
    assert_non_null(want_sts);
    assert_non_null(want_authz);

    if (strcmp(kind, "match") == 0) {
        t->matches++;
        if (rc != CFDR_OK) {
            print_error("case %d: sigv4_sign failed: %s\n", id, err.msg);
            t->failures++;
        } else {
            if (strcmp(buf_str(&res.canonical_request), want_creq) != 0)
                report(t, id, "canonical request", buf_str(&res.canonical_request), want_creq);
            if (strcmp(buf_str(&res.string_to_sign), want_sts) != 0)
                report(t, id, "string to sign", buf_str(&res.string_to_sign), want_sts);
            if (strcmp(buf_str(&res.authorization), want_authz) != 0)
                report(t, id, "Authorization", buf_str(&res.authorization), want_authz);
            if (!same_final_headers(headers, nheaders, &res, final)) {
                print_error("case %d: the headers to send differ from botocore's\n", id);
                t->failures++;
            }
        }
    } else if (strcmp(kind, "differ") == 0) {
        struct json_object *differs;
        struct parts ours, theirs;
        t->differs++;
        assert_true(json_object_object_get_ex(o, "differs", &differs));
        if (rc != CFDR_OK) {
            print_error("probe %s: sigv4_sign failed: %s\n", jstr(o, "probe"), err.msg);
            t->failures++;
        } else {
            assert_true(split_creq(buf_str(&res.canonical_request), &ours));
            assert_true(split_creq(want_creq, &theirs));
            for (int p = 0; p < P_COUNT; p++) {
                int listed = 0;
                for (size_t i = 0; i < json_object_array_length(differs); i++)
                    listed |= strcmp(json_object_get_string(json_object_array_get_idx(differs, i)),
                                     s_part_names[p]) == 0;
                int differ = ours.len[p] != theirs.len[p] ||
                             memcmp(ours.p[p], theirs.p[p], ours.len[p]) != 0;
                if (differ != listed) {
                    print_error("probe %s: part %s %s, expected it to %s (%s)\n", jstr(o, "probe"),
                                s_part_names[p], differ ? "differs" : "matches",
                                listed ? "differ" : "match", jstr(o, "why"));
                    t->failures++;
                }
            }
            if (strcmp(buf_str(&res.authorization), want_authz) == 0) {
                print_error("probe %s: Authorization matches botocore's\n", jstr(o, "probe"));
                t->failures++;
            }
        }
    } else if (strcmp(kind, "rejects") == 0) {
        const char *code = jstr(o, "code");
        t->rejects++;
        assert_non_null(code);
        if (rc == CFDR_OK || strcmp(err_code_name(rc), code) != 0) {
            print_error("probe %s: expected error \"%s\", got \"%s\" (%s)\n", jstr(o, "probe"),
                        code, rc ? err_code_name(rc) : "ok", jstr(o, "why"));
            t->failures++;
        } else if (strstr(err.msg, cfg.creds.secret_access_key) ||
                   (cfg.creds.session_token && *cfg.creds.session_token &&
                    strstr(err.msg, cfg.creds.session_token))) {
            print_error("probe %s: the error message holds a secret\n", jstr(o, "probe"));
            t->failures++;
        }
    } else {
        fail_msg("case %d: unknown kind %s", id, kind);
    }
    sigv4_result_free(&res);
    free(body);
}

static void test_botocore_cross_check(void **state)
{
    const char *src = getenv("CFDR_SOURCE_DIR");
    char cmd[4096];
    struct tally t = {0, 0, 0, 0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lines = 0, status;
    FILE *p;
    (void)state;

    if (!src || !*src)
        fail_msg("CFDR_SOURCE_DIR is not set (run the test through ctest)");
    if (strchr(src, '\''))
        fail_msg("CFDR_SOURCE_DIR holds a quote: %s", src);
    assert_true((size_t)snprintf(cmd, sizeof(cmd),
                                 "'" PYTHON "' '%s/tests/tools/botocore_sign.py' --seed %d "
                                 "--count %d",
                                 src, SEED, COUNT) < sizeof(cmd));
    p = popen(cmd, "r");
    if (!p)
        fail_msg("cannot run %s", cmd);
    while (lines < MAX_LINES && (n = getline(&line, &cap, p)) > 0) {
        struct json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
        assert_non_null(tok);
        struct json_object *o = json_tokener_parse_ex(tok, line, (int)n);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        json_tokener_free(tok);
        if (!o || jerr != json_tokener_success) {
            free(line);
            pclose(p);
            fail_msg("line %d of the helper's output is not JSON", lines + 1);
        }
        check_case(o, &t);
        json_object_put(o);
        lines++;
    }
    free(line);
    status = pclose(p);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s failed (status %d); is python3-botocore installed?", cmd, status);

    print_message("botocore cross-check: %d requests matched botocore in all stages, %d "
                  "divergence probes and %d rejection probes held, %d failures\n",
                  t.matches, t.differs, t.rejects, t.failures);
    assert_int_equal(lines, t.matches + t.differs + t.rejects);
    assert_int_equal(t.failures, 0);
    assert_true(t.matches >= MIN_MATCHES);
    assert_int_equal(t.matches, COUNT);
    assert_true(t.differs >= 9);
    assert_true(t.rejects >= 5);
}

/* The splitter the probes rely on must itself work. */
static void test_split_creq(void **state)
{
    struct parts p;
    (void)state;
    assert_true(split_creq("GET\n/a\nq=1\nhost:h\nx-a:\n\nhost;x-a\nabc", &p));
    assert_int_equal(p.len[P_METHOD], 3);
    assert_memory_equal(p.p[P_PATH], "/a", 2);
    assert_memory_equal(p.p[P_QUERY], "q=1", 3);
    assert_int_equal(p.len[P_HEADERS], strlen("host:h\nx-a:\n"));
    assert_memory_equal(p.p[P_SIGNED_HEADERS], "host;x-a", 8);
    assert_string_equal(p.p[P_PAYLOAD], "abc");
    assert_false(split_creq("GET\n/\n", &p));
    assert_false(split_creq("GET\n/\n\nhost:h\n", &p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_creq),
        cmocka_unit_test(test_botocore_cross_check),
    };
    return cmocka_run_group_tests_name("sigv4_botocore", tests, NULL, NULL);
}
