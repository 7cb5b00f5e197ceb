/*
 * Tests for aws/transport against a real HTTP server on 127.0.0.1 (tests/servers/fault_server.py,
 * started per test with fork/exec and stopped by PID in the teardown, also when a test fails).
 * The server follows a per-test script (AWS error bodies of each protocol, throttling, 5xx,
 * dropped connections, hangs, oversize bodies) and records every request it receives, so the
 * tests assert what went over the wire: attempts, headers, fresh dates, bodies. Backoff delays
 * are observed through the sleep hook with an injected rand01; nothing here really sleeps.
 * The signature's value is not checked (sigv4 is verified on its own): only that signing
 * happened on every attempt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "aws/creds.h"
#include "aws/retry.h"
#include "aws/transport.h"
#include "sigv4/sigv4.h"

#define TEST_AKID "AKIDTRANSPORTTEST01"
#define TEST_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYTRANSPORTSECRET"
#define TEST_TOKEN "FwoGZXIvYXdzEXAMPLEtransportSESSIONtoken+/=="
#define NOW_BASE 1700000000LL
#define NOW_STEP 10
#define MAX_RECS 128

struct server {
    pid_t pid;
    int port;
    char script_path[64];
    char record_path[64];
};

struct fx {
    struct server srv;
    struct creds_provider *creds;
    struct transport *t;
    struct aws_response resp;
    cfdr_err err;
    long delays[256];
    int ndelays;
    double rands[8];
    int nrands, irand;
    int nnow;
    struct cfdr_log log;
    struct buf logs;
    struct buf dry;
    int ndry;
};

/* ---- the fault server ---- */

static const char *source_dir(char *out, size_t size)
{
    const char *env = getenv("CFDR_SOURCE_DIR");
    if (env && *env) {
        snprintf(out, size, "%s", env);
    } else {
        /* __FILE__ is <src>/tests/unit/test_transport.c in CMake builds */
        const char *f = __FILE__, *p = strstr(f, "/tests/unit/");
        snprintf(out, size, "%.*s", p ? (int)(p - f) : 1, p ? f : ".");
    }
    return out;
}

static void server_start(struct server *s, json_object *script)
{
    char dir[512], path[600];
    const char *py = getenv("PYTHON") ? getenv("PYTHON") : "/usr/bin/python3";
    const char *text = json_object_to_json_string_ext(script, JSON_C_TO_STRING_PLAIN);
    int fd, p[2];
    pid_t parent = getpid();
    char line[32];
    size_t n = 0;

    snprintf(path, sizeof(path), "%s/tests/servers/fault_server.py", source_dir(dir, sizeof(dir)));
    snprintf(s->script_path, sizeof(s->script_path), "/tmp/cfdr-fault-script-XXXXXX");
    snprintf(s->record_path, sizeof(s->record_path), "/tmp/cfdr-fault-record-XXXXXX");
    fd = mkstemp(s->script_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    fd = mkstemp(s->record_path);
    assert_true(fd >= 0);
    close(fd);
    json_object_put(script);

    assert_int_equal(pipe(p), 0);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        /* the server dies with the test, whatever happens to the test */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        execl(py, py, path, "--script", s->script_path, "--record", s->record_path, "--max-seconds",
              "120", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    /* the port line, within 10 s */
    while (n < sizeof(line) - 1) {
        struct pollfd pf = {p[0], POLLIN, 0};
        ssize_t r;
        assert_int_equal(poll(&pf, 1, 10000), 1);
        r = read(p[0], line + n, 1);
        assert_int_equal(r, 1);
        if (line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(p[0]);
    s->port = atoi(line);
    assert_true(s->port > 0 && s->port < 65536);
}

static void server_stop(struct server *s)
{
    if (s->pid > 0) {
        int status, i;
        kill(s->pid, SIGTERM);
        for (i = 0; i < 100 && waitpid(s->pid, &status, WNOHANG) == 0; i++)
            usleep(20000);
        if (i == 100) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
        }
        s->pid = 0;
    }
    if (s->script_path[0])
        unlink(s->script_path);
    if (s->record_path[0])
        unlink(s->record_path);
    s->script_path[0] = s->record_path[0] = '\0';
}

/* Script steps. */
static json_object *st_resp(int status, const char *body, const char *h1, const char *v1,
                            const char *h2, const char *v2)
{
    json_object *o = json_object_new_object(), *h = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_int(status));
    json_object_object_add(o, "body", json_object_new_string(body));
    if (h1)
        json_object_object_add(h, h1, json_object_new_string(v1));
    if (h2)
        json_object_object_add(h, h2, json_object_new_string(v2));
    json_object_object_add(o, "headers", h);
    return o;
}

static json_object *st_action(const char *action)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "action", json_object_new_string(action));
    return o;
}

static json_object *st_big(size_t size, int chunked)
{
    json_object *o = st_action("big");
    json_object_object_add(o, "size", json_object_new_int64((int64_t)size));
    json_object_object_add(o, "chunked", json_object_new_boolean(chunked));
    return o;
}

static json_object *script(int n, ...)
{
    json_object *a = json_object_new_array();
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        json_object_array_add(a, va_arg(ap, json_object *));
    va_end(ap);
    return a;
}

/* The requests the server recorded. */
struct recs {
    json_object *r[MAX_RECS];
    size_t n;
};

static void recs_load(const struct server *s, struct recs *out)
{
    FILE *f = fopen(s->record_path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;

    memset(out, 0, sizeof(*out));
    assert_non_null(f);
    while ((len = getline(&line, &cap, f)) > 0) {
        json_object *o = json_tokener_parse(line);
        assert_non_null(o);
        assert_true(out->n < MAX_RECS);
        out->r[out->n++] = o;
    }
    free(line);
    fclose(f);
}

static void recs_free(struct recs *r)
{
    for (size_t i = 0; i < r->n; i++)
        json_object_put(r->r[i]);
    r->n = 0;
}

static const char *rec_str(const struct recs *r, size_t i, const char *key)
{
    json_object *v;
    assert_true(i < r->n);
    assert_true(json_object_object_get_ex(r->r[i], key, &v));
    return json_object_get_string(v);
}

static int rec_int(const struct recs *r, size_t i, const char *key)
{
    json_object *v;
    assert_true(i < r->n);
    assert_true(json_object_object_get_ex(r->r[i], key, &v));
    return json_object_get_int(v);
}

/* Case-insensitive header of recorded request i; NULL when absent. */
static const char *rec_header(const struct recs *r, size_t i, const char *name)
{
    json_object *h;
    assert_true(i < r->n);
    assert_true(json_object_object_get_ex(r->r[i], "headers", &h));
    for (size_t k = 0; k < json_object_array_length(h); k++) {
        json_object *pair = json_object_array_get_idx(h, k);
        if (strcasecmp(json_object_get_string(json_object_array_get_idx(pair, 0)), name) == 0)
            return json_object_get_string(json_object_array_get_idx(pair, 1));
    }
    return NULL;
}

/* ---- hooks and fixture ---- */

static void hook_sleep(void *ud, long ms)
{
    struct fx *fx = ud;
    assert_true(fx->ndelays < 256);
    fx->delays[fx->ndelays++] = ms;
}

static double hook_rand(void *ud)
{
    struct fx *fx = ud;
    if (!fx->nrands)
        return 0.5;
    return fx->rands[fx->irand++ % fx->nrands];
}

static long long hook_now(void *ud)
{
    struct fx *fx = ud;
    return NOW_BASE + NOW_STEP * (long long)fx->nnow++;
}

static void log_emit(void *ud, enum cfdr_log_level level, const char *line)
{
    struct fx *fx = ud;
    (void)level;
    assert_int_equal(buf_addf(&fx->logs, "%s\n", line), CFDR_OK);
}

static void dry_emit(void *ud, const char *text)
{
    struct fx *fx = ud;
    assert_int_equal(buf_adds(&fx->dry, text), CFDR_OK);
    fx->ndry++;
}

static void set_endpoints(const struct fx *fx)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", fx->srv.port);
    setenv("AWS_ENDPOINT_URL_CLOUDFRONT", url, 1);
    setenv("AWS_ENDPOINT_URL_APPRUNNER", url, 1);
    setenv("AWS_ENDPOINT_URL_CLOUDWATCH", url, 1);
    setenv("AWS_ENDPOINT_URL_SNS", url, 1);
    setenv("AWS_ENDPOINT_URL_STS", url, 1);
}

static int setup(void **state)
{
    static const char *const unset[] = {
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_CLOUDFRONT",
        "AWS_ENDPOINT_URL_APPRUNNER",
        "AWS_ENDPOINT_URL_CLOUDWATCH",
        "AWS_ENDPOINT_URL_SNS",
        "AWS_ENDPOINT_URL_STS",
        "AWS_MAX_ATTEMPTS",
        "AWS_PROFILE",
    };
    struct fx *fx = calloc(1, sizeof(*fx));
    struct creds_options co;
    cfdr_err e;

    assert_non_null(fx);
    for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
        unsetenv(unset[i]);
    /* credentials come from the environment only; never from files or instance metadata */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/cfdr-test-config", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/cfdr-test-credentials", 1);
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    setenv("AWS_ACCESS_KEY_ID", TEST_AKID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", TEST_SECRET, 1);
    setenv("AWS_SESSION_TOKEN", TEST_TOKEN, 1);
    memset(&co, 0, sizeof(co));
    assert_int_equal(creds_provider_new(&co, &fx->creds, &e), CFDR_OK);
    aws_response_init(&fx->resp);
    buf_init(&fx->logs, BUF_MAX_DOC);
    buf_init(&fx->dry, BUF_MAX_DOC);
    fx->log.level = CFDR_LOG_DEBUG;
    fx->log.emit = log_emit;
    fx->log.ud = fx;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    server_stop(&fx->srv);
    transport_free(fx->t);
    creds_provider_free(fx->creds);
    aws_response_free(&fx->resp);
    buf_free(&fx->logs);
    buf_free(&fx->dry);
    free(fx);
    return 0;
}

static void start(struct fx *fx, json_object *sc)
{
    server_start(&fx->srv, sc);
    set_endpoints(fx);
}

/* A transport with the test hooks; `tweak` may adjust the options first. */
static void make_transport(struct fx *fx, int max_attempts, long request_timeout_ms, int dry_run)
{
    struct transport_options o;
    cfdr_err e;
    memset(&o, 0, sizeof(o));
    o.creds = fx->creds;
    o.log = &fx->log;
    o.dry_run = dry_run;
    o.dry_run_emit = dry_emit;
    o.dry_run_ud = fx;
    o.max_attempts = max_attempts;
    o.connect_timeout_ms = 2000;
    o.request_timeout_ms = request_timeout_ms ? request_timeout_ms : 5000;
    o.sleep_ms = hook_sleep;
    o.rand01 = hook_rand;
    o.now = hook_now;
    o.hook_ud = fx;
    if (transport_new(&o, &fx->t, &e) != CFDR_OK)
        fail_msg("transport_new: %s", e.msg);
}

static struct aws_request cf_get(const char *path)
{
    struct aws_request rq;
    memset(&rq, 0, sizeof(rq));
    rq.service = AWS_SVC_CLOUDFRONT;
    rq.protocol = AWS_PROTO_REST_XML;
    rq.region = "us-east-1";
    rq.operation = "GetDistribution";
    rq.method = "GET";
    rq.path = path;
    return rq;
}

static const char CREATE_BODY[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DistributionConfigWithTags "
    "xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><DistributionConfig>"
    "<CallerReference>cfdr-1</CallerReference></DistributionConfig></DistributionConfigWithTags>";

static struct aws_request cf_create(void)
{
    struct aws_request rq;
    memset(&rq, 0, sizeof(rq));
    rq.service = AWS_SVC_CLOUDFRONT;
    rq.protocol = AWS_PROTO_REST_XML;
    rq.region = "us-east-1";
    rq.operation = "CreateDistributionWithTags";
    rq.method = "POST";
    rq.path = "/2020-05-31/distribution";
    rq.query = "WithTags";
    rq.body = CREATE_BODY;
    rq.body_len = strlen(CREATE_BODY);
    return rq;
}

static const char DESCRIBE_BODY[] = "{\"ServiceArn\":\"arn:aws:apprunner:us-east-1:123456789012:"
                                    "service/dr-demo-east/abc\"}";

static struct aws_request apprunner_describe(void)
{
    struct aws_request rq;
    memset(&rq, 0, sizeof(rq));
    rq.service = AWS_SVC_APPRUNNER;
    rq.protocol = AWS_PROTO_JSON;
    rq.region = "us-east-1";
    rq.operation = "DescribeService";
    rq.target_prefix = "AppRunner";
    rq.method = "POST";
    rq.path = "/";
    rq.body = DESCRIBE_BODY;
    rq.body_len = strlen(DESCRIBE_BODY);
    return rq;
}

static const char ALARM_BODY[] =
    "Action=PutMetricAlarm&Version=2010-08-01&AlarmName=dr-demo-failover-active";

static struct aws_request cloudwatch_put_alarm(void)
{
    struct aws_request rq;
    memset(&rq, 0, sizeof(rq));
    rq.service = AWS_SVC_CLOUDWATCH;
    rq.protocol = AWS_PROTO_QUERY;
    rq.region = "us-west-2";
    rq.operation = "PutMetricAlarm";
    rq.method = "POST";
    rq.path = "/";
    rq.body = ALARM_BODY;
    rq.body_len = strlen(ALARM_BODY);
    return rq;
}

static void assert_uuid4(const char *s)
{
    assert_non_null(s);
    assert_int_equal(strlen(s), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(s[i], '-');
        else
            assert_true(isxdigit((unsigned char)s[i]));
    }
    assert_int_equal(s[14], '4');
    assert_non_null(strchr("89ab", s[19]));
}

static void expect_date(const struct recs *r, size_t i, int nth_now)
{
    char want[17];
    sigv4_format_amz_date(NOW_BASE + NOW_STEP * nth_now, want);
    assert_string_equal(rec_header(r, i, "X-Amz-Date"), want);
}

/* Every attempt carries a signature, a date and the session token. */
static void expect_signed(const struct recs *r, size_t i)
{
    const char *a = rec_header(r, i, "Authorization");
    assert_non_null(a);
    assert_true(strncmp(a, "AWS4-HMAC-SHA256 Credential=" TEST_AKID "/",
                        strlen("AWS4-HMAC-SHA256 Credential=" TEST_AKID "/")) == 0);
    assert_non_null(strstr(a, "Signature="));
    assert_non_null(rec_header(r, i, "X-Amz-Date"));
    assert_string_equal(rec_header(r, i, "X-Amz-Security-Token"), TEST_TOKEN);
}

/* ---- tests ---- */

static void test_rest_xml_success_and_wire_headers(void **state)
{
    struct fx *fx = *state;
    struct aws_request get = cf_get("/2020-05-31/distribution/E2QWRUHAPOMQZL");
    struct aws_request create = cf_create();
    struct recs r;
    char host[64];

    start(fx, script(2,
                     st_resp(200, "<Distribution><Id>E2QWRUHAPOMQZL</Id></Distribution>",
                             "x-amzn-RequestId", "req-get", "ETag", "E2QWRUHAPOMQZL-etag"),
                     st_resp(201, "<Distribution><Id>ENEW</Id></Distribution>", "x-amzn-RequestId",
                             "req-create", NULL, NULL)));
    make_transport(fx, 0, 0, 0);

    assert_int_equal(transport_call(fx->t, &get, &fx->resp, &fx->err), CFDR_OK);
    assert_int_equal(fx->resp.status, 200);
    assert_int_equal(fx->resp.attempts, 1);
    assert_int_equal(fx->resp.dry_run, 0);
    assert_string_equal(buf_str(&fx->resp.body),
                        "<Distribution><Id>E2QWRUHAPOMQZL</Id></Distribution>");
    assert_string_equal(aws_response_header(&fx->resp, "etag"), "E2QWRUHAPOMQZL-etag");
    assert_string_equal(aws_response_header(&fx->resp, "X-AMZN-REQUESTID"), "req-get");
    assert_null(aws_response_header(&fx->resp, "x-nope"));

    /* the same response struct again: reset, not appended to */
    assert_int_equal(transport_call(fx->t, &create, &fx->resp, &fx->err), CFDR_OK);
    assert_int_equal(fx->resp.status, 201);
    assert_string_equal(buf_str(&fx->resp.body), "<Distribution><Id>ENEW</Id></Distribution>");
    assert_string_equal(aws_response_header(&fx->resp, "x-amzn-RequestId"), "req-create");
    assert_null(aws_response_header(&fx->resp, "ETag"));
    assert_int_equal(fx->ndelays, 0);

    recs_load(&fx->srv, &r);
    assert_int_equal(r.n, 2);
    snprintf(host, sizeof(host), "127.0.0.1:%d", fx->srv.port);
    assert_string_equal(rec_str(&r, 0, "method"), "GET");
    assert_string_equal(rec_str(&r, 0, "path"), "/2020-05-31/distribution/E2QWRUHAPOMQZL");
    assert_string_equal(rec_str(&r, 0, "body"), "");
    assert_null(rec_header(&r, 0, "Content-Type"));
    assert_string_equal(rec_str(&r, 1, "method"), "POST");
    assert_string_equal(rec_str(&r, 1, "path"), "/2020-05-31/distribution?WithTags");
    assert_string_equal(rec_str(&r, 1, "body"), CREATE_BODY);
    assert_string_equal(rec_header(&r, 1, "Content-Type"), "application/xml");
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(rec_header(&r, i, "Host"), host);
        assert_string_equal(rec_header(&r, i, "User-Agent"), "cfdr/" CFDR_VERSION);
        assert_string_equal(rec_header(&r, i, "amz-sdk-request"), "attempt=1; max=3");
        assert_uuid4(rec_header(&r, i, "amz-sdk-invocation-id"));
        assert_null(rec_header(&r, i, "Expect"));
        assert_null(rec_header(&r, i, "Accept"));
        assert_null(rec_header(&r, i, "X-Amz-Target"));
        expect_signed(&r, i);
        expect_date(&r, i, (int)i);
    }
    /* one invocation id per call */
    assert_string_not_equal(rec_header(&r, 0, "amz-sdk-invocation-id"),
                            rec_header(&r, 1, "amz-sdk-invocation-id"));
    /* the easy handle is reused: the second call rode the first call's connection */
    assert_int_equal(rec_int(&r, 0, "client_port"), rec_int(&r, 1, "client_port"));
    recs_free(&r);
}

static void test_json_throttled_then_success(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq = apprunner_describe();
    static const char throttled[] = "{\"__type\":\"com.amazonaws.apprunner#ThrottlingException\","
                                    "\"message\":\"Rate exceeded\"}";
    struct recs r;

    start(fx, script(3, st_resp(400, throttled, "x-amzn-RequestId", "t1", NULL, NULL),
                     st_resp(400, throttled, "x-amzn-RequestId", "t2", NULL, NULL),
                     st_resp(200, "{\"Service\":{\"Status\":\"RUNNING\"}}", "x-amzn-RequestId",
                             "ok", NULL, NULL)));
    fx->rands[0] = 0.5;
    fx->rands[1] = 0.25;
    fx->nrands = 2;
    make_transport(fx, 3, 0, 0);

    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_OK);
    assert_int_equal(fx->resp.attempts, 3);
    assert_int_equal(fx->resp.status, 200);
    assert_string_equal(buf_str(&fx->resp.body), "{\"Service\":{\"Status\":\"RUNNING\"}}");
    /* backoff: min(r * 2^(n-1), 20) s after failed attempt n */
    assert_int_equal(fx->ndelays, 2);
    assert_int_equal(fx->delays[0], 500); /* 0.5 * 1 s */
    assert_int_equal(fx->delays[1], 500); /* 0.25 * 2 s */

    recs_load(&fx->srv, &r);
    assert_int_equal(r.n, 3);
    for (size_t i = 0; i < 3; i++) {
        char want[32];
        assert_string_equal(rec_str(&r, i, "method"), "POST");
        assert_string_equal(rec_str(&r, i, "path"), "/");
        assert_string_equal(rec_str(&r, i, "body"), DESCRIBE_BODY);
        assert_string_equal(rec_header(&r, i, "X-Amz-Target"), "AppRunner.DescribeService");
        assert_string_equal(rec_header(&r, i, "Content-Type"), "application/x-amz-json-1.0");
        snprintf(want, sizeof(want), "attempt=%zu; max=3", i + 1);
        assert_string_equal(rec_header(&r, i, "amz-sdk-request"), want);
        /* signed again on every attempt, with a fresh date */
        expect_signed(&r, i);
        expect_date(&r, i, (int)i);
        /* one invocation id for all attempts of the call */
        assert_string_equal(rec_header(&r, i, "amz-sdk-invocation-id"),
                            rec_header(&r, 0, "amz-sdk-invocation-id"));
    }
    assert_string_not_equal(rec_header(&r, 0, "X-Amz-Date"), rec_header(&r, 1, "X-Amz-Date"));
    assert_string_not_equal(rec_header(&r, 0, "Authorization"), rec_header(&r, 1, "Authorization"));
    assert_string_not_equal(rec_header(&r, 1, "Authorization"), rec_header(&r, 2, "Authorization"));
    recs_free(&r);
}

static void test_query_throttling_exhausts_attempts(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq = cloudwatch_put_alarm();
    static const char throttled[] =
        "<ErrorResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><Error>"
        "<Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
        "<RequestId>q-1</RequestId></ErrorResponse>";
    char want_msg[256];
    struct recs r;

    start(fx, script(1, st_resp(400, throttled, "Content-Type", "text/xml", NULL, NULL)));
    setenv("AWS_MAX_ATTEMPTS", "4", 1); /* options say 0: the environment decides */
    fx->rands[0] = 0.9;
    fx->nrands = 1;
    make_transport(fx, 0, 0, 0);

    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_AWS);
    assert_int_equal(fx->err.code, CFDR_E_AWS);
    assert_int_equal(fx->resp.attempts, 4);
    assert_int_equal(fx->resp.status, 400);
    assert_int_equal(fx->resp.error.http_status, 400);
    assert_string_equal(fx->resp.error.code, "Throttling");
    assert_string_equal(fx->resp.error.message, "Rate exceeded");
    assert_string_equal(fx->resp.error.request_id, "q-1");
    snprintf(want_msg, sizeof(want_msg),
             "%s PutMetricAlarm failed: HTTP 400 Throttling: Rate exceeded (request id q-1); "
             "gave up after 4 attempts",
             endpoint_service_name(AWS_SVC_CLOUDWATCH));
    assert_string_equal(fx->err.msg, want_msg);
    assert_int_equal(fx->ndelays, 3);
    assert_int_equal(fx->delays[0], 900);
    assert_int_equal(fx->delays[1], 1800);
    assert_int_equal(fx->delays[2], 3600);

    recs_load(&fx->srv, &r);
    assert_int_equal(r.n, 4);
    for (size_t i = 0; i < 4; i++) {
        char want[32];
        assert_string_equal(rec_header(&r, i, "Content-Type"),
                            "application/x-www-form-urlencoded; charset=utf-8");
        assert_string_equal(rec_str(&r, i, "body"), ALARM_BODY);
        assert_null(rec_header(&r, i, "X-Amz-Target"));
        snprintf(want, sizeof(want), "attempt=%zu; max=4", i + 1);
        assert_string_equal(rec_header(&r, i, "amz-sdk-request"), want);
        expect_date(&r, i, (int)i);
    }
    recs_free(&r);
}

static void test_5xx_then_success(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq = cf_get("/2020-05-31/distribution");
    struct recs r;

    start(fx, script(3,
                     st_resp(500,
                             "<ErrorResponse><Error><Code>InternalError</Code>"
                             "</Error></ErrorResponse>",
                             NULL, NULL, NULL, NULL),
                     st_resp(503, "", NULL, NULL, NULL, NULL),
                     st_resp(200, "<DistributionList/>", NULL, NULL, NULL, NULL)));
    make_transport(fx, 3, 0, 0);
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_OK);
    assert_int_equal(fx->resp.attempts, 3);
    assert_int_equal(fx->resp.status, 200);
    assert_string_equal(fx->resp.error.code, ""); /* the earlier errors do not linger */
    assert_int_equal(fx->ndelays, 2);
    assert_int_equal(fx->delays[0], retry_backoff_ms(1, 0.5));
    assert_int_equal(fx->delays[1], retry_backoff_ms(2, 0.5));
    recs_load(&fx->srv, &r);
    assert_int_equal(r.n, 3);
    recs_free(&r);
}

static void test_retry_quota_spans_calls(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq = cf_get("/2020-05-31/distribution");
    json_object *sc = json_object_new_array();
    struct recs r;

    /* 103 answers of 503, then success */
    for (int i = 0; i < 103; i++)
        json_object_array_add(sc, st_resp(503, "", NULL, NULL, NULL, NULL));
    json_object_array_add(sc, st_resp(200, "<ok/>", NULL, NULL, NULL, NULL));
    start(fx, sc);
    make_transport(fx, 100, 0, 0);
    /* 99 retries take 495 of the 500 tokens */
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_AWS);
    assert_int_equal(fx->resp.attempts, 100);
    assert_int_equal(fx->ndelays, 99);
    assert_int_equal(fx->delays[98], RETRY_MAX_BACKOFF_MS); /* capped at 20 s */
    /* the next call may retry once more (5 tokens), then the quota is dry */
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_AWS);
    assert_int_equal(fx->resp.attempts, 2);
    assert_string_equal(fx->err.msg, "CloudFront GetDistribution failed: HTTP 503: Service "
                                     "Unavailable (empty response body); not retried: the retry "
                                     "quota is exhausted");
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_AWS);
    assert_int_equal(fx->resp.attempts, 1);
    assert_int_equal(fx->ndelays, 100);
    /* success still works without retries */
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_OK);
    recs_load(&fx->srv, &r);
    assert_int_equal(r.n, 104);
    recs_free(&r);
}

static void test_rest_xml_409_is_not_retried(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq = cf_create();
    struct recs r;

    start(fx, script(1, st_resp(409,
                                "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"http://cloudfront."
                                "amazonaws.com/doc/2020-05-31/\"><Error><Type>Sender</Type><Code>"
                                "DistributionAlreadyExists</Code><Message>The caller reference "
                                "that you are using to create a distribution is associated with "
                                "another distribution.</Message></Error><RequestId>abc</RequestId>"
                                "</ErrorResponse>",
                                "x-amzn-RequestId", "abc", NULL, NULL)));
    make_transport(fx, 3, 0, 0);
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_AWS);
    assert_int_equal(fx->resp.attempts, 1);
    assert_int_equal(fx->ndelays, 0);
    assert_string_equal(fx->err.msg,
                        "CloudFront CreateDistributionWithTags failed: HTTP 409 "
                        "DistributionAlreadyExists: The caller reference that you are using to "
                        "create a distribution is associated with another distribution. (request "
                        "id abc)");
    /* the error body stays available to the caller */
    assert_non_null(strstr(buf_str(&fx->resp.body), "DistributionAlreadyExists"));
    recs_load(&fx->srv, &r);
    assert_int_equal(r.n, 1);
    recs_free(&r);
}

static void test_json_400_is_not_retried(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq = apprunner_describe();
    struct recs r;

    start(fx, script(1, st_resp(400,
                                "{\"__type\":\"com.amazonaws.apprunner#ResourceNotFoundException\","
                                "\"Message\":\"Service not found\"}",
                                "x-amzn-RequestId", "rid-404", NULL, NULL)));
    make_transport(fx, 5, 0, 0);
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_AWS);
    assert_int_equal(fx->resp.attempts, 1);
    assert_int_equal(fx->ndelays, 0);
    assert_string_equal(fx->resp.error.code, "ResourceNotFoundException");
    assert_string_equal(fx->err.msg, "App Runner DescribeService failed: HTTP 400 "
                                     "ResourceNotFoundException: Service not found (request id "
                                     "rid-404)");
    recs_load(&fx->srv, &r);
    assert_int_equal(r.n, 1);
    recs_free(&r);
}

static void test_proxy_html_502_gives_a_useful_error(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq = cf_get("/2020-05-31/distribution");

    start(fx, script(1, st_resp(502,
                                "<html><head><title>502 Bad Gateway</title></head><body>nginx"
                                "</body></html>",
                                "Content-Type", "text/html", NULL, NULL)));
    make_transport(fx, 2, 0, 0);
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_AWS);
    assert_int_equal(fx->resp.attempts, 2); /* 502 is transient */
    assert_string_equal(fx->resp.error.code, "502");
    assert_string_equal(fx->err.msg,
                        "CloudFront GetDistribution failed: HTTP 502: Bad Gateway (the answer "
                        "is not an AWS error response; a proxy, load balancer or gateway may have "
                        "sent it); gave up after 2 attempts");
}

static void test_redirects_are_not_followed(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq = cf_get("/2020-05-31/distribution");
    char location[96];
    struct recs r;

    snprintf(location, sizeof(location), "http://127.0.0.1:%d/elsewhere", 1);
    start(fx, script(2, st_resp(301, "", "Location", location, NULL, NULL),
                     st_resp(200, "<followed/>", NULL, NULL, NULL, NULL)));
    make_transport(fx, 3, 0, 0);
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_AWS);
    assert_int_equal(fx->resp.status, 301);
    assert_int_equal(fx->resp.attempts, 1);
    assert_string_equal(fx->err.msg, "CloudFront GetDistribution failed: HTTP 301: Moved "
                                     "Permanently (empty response body)");
    recs_load(&fx->srv, &r);
    assert_int_equal(r.n, 1);
    recs_free(&r);
}

static void test_endpoint_with_another_scheme_is_refused(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq = cf_get("/2020-05-31/distribution");

    setenv("AWS_ENDPOINT_URL_CLOUDFRONT", "file:///etc", 1);
    make_transport(fx, 3, 0, 0);
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_CONFIG);
    assert_non_null(strstr(fx->err.msg, "AWS_ENDPOINT_URL_CLOUDFRONT"));
    assert_int_equal(fx->ndelays, 0); /* not retried */
}

static void test_dropped_connections_are_retried(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq = cf_get("/2020-05-31/distribution/E1");
    struct recs r;

    start(fx, script(3, st_action("drop"), st_action("drop_mid"),
                     st_resp(200, "<Distribution/>", NULL, NULL, NULL, NULL)));
    make_transport(fx, 3, 0, 0);
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_OK);
    assert_int_equal(fx->resp.attempts, 3);
    assert_string_equal(buf_str(&fx->resp.body), "<Distribution/>");
    assert_int_equal(fx->ndelays, 2);
    recs_load(&fx->srv, &r);
    assert_int_equal(r.n, 3);
    for (size_t i = 0; i < 3; i++)
        expect_date(&r, i, (int)i);
    recs_free(&r);
}

static void test_dropped_every_time_is_a_network_error(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq = cf_get("/2020-05-31/distribution/E1");
    char want[128];

    start(fx, script(1, st_action("drop_mid")));
    make_transport(fx, 2, 0, 0);
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_NET);
    assert_int_equal(fx->resp.attempts, 2);
    assert_int_equal(fx->resp.status, 0);
    assert_int_equal(fx->resp.error.http_status, 0);
    assert_string_equal(fx->resp.error.code, "ConnectionError");
    assert_int_equal(buf_len(&fx->resp.body), 0); /* the partial body is not an answer */
    assert_int_equal(fx->resp.nheaders, 0);
    snprintf(want, sizeof(want),
             "CloudFront GetDistribution failed: could not reach http://127.0.0.1:%d/2020-05-31/"
             "distribution/E1: ",
             fx->srv.port);
    assert_true(strncmp(fx->err.msg, want, strlen(want)) == 0);
    assert_non_null(strstr(fx->err.msg, " (2 attempts); check the network or "
                                        "AWS_ENDPOINT_URL_CLOUDFRONT"));
}

static void test_hanging_server_times_out(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq = apprunner_describe();
    struct timespec t0, t1;
    double secs;
    struct recs r;

    start(fx, script(1, st_action("hang")));
    fx->rands[0] = 0.75;
    fx->nrands = 1;
    make_transport(fx, 2, 300, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_NET);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(secs >= 0.55 && secs < 5.0); /* two attempts of 300 ms, no real sleep */
    assert_int_equal(fx->resp.attempts, 2);
    assert_string_equal(fx->resp.error.code, "Timeout");
    assert_non_null(strstr(fx->err.msg, "App Runner DescribeService failed: could not reach "
                                        "http://127.0.0.1:"));
    assert_non_null(strstr(fx->err.msg, "timed out"));
    assert_non_null(strstr(fx->err.msg, "AWS_ENDPOINT_URL_APPRUNNER"));
    assert_int_equal(fx->ndelays, 1);
    assert_int_equal(fx->delays[0], 750);
    recs_load(&fx->srv, &r);
    assert_int_equal(r.n, 2);
    recs_free(&r);
}

static void test_connection_refused(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq = cf_get("/2020-05-31/distribution");
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    char url[64], want[128];

    /* a port that was just free: nothing listens there */
    assert_true(s >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    close(s);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
    setenv("AWS_ENDPOINT_URL_CLOUDFRONT", url, 1);
    make_transport(fx, 0, 0, 0);
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_NET);
    assert_int_equal(fx->resp.attempts, 3);
    assert_int_equal(fx->ndelays, 2);
    snprintf(want, sizeof(want), "could not reach %s/2020-05-31/distribution: ", url);
    assert_non_null(strstr(fx->err.msg, want));
    assert_non_null(strstr(fx->err.msg, "check the network or AWS_ENDPOINT_URL_CLOUDFRONT"));
}

static void test_body_over_the_limit_is_an_error(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq = cf_get("/2020-05-31/distribution");
    struct recs r;

    start(fx, script(3, st_big(BUF_MAX_DOC + 1, 1), st_big(BUF_MAX_DOC + 1, 0),
                     st_big(BUF_MAX_DOC, 1)));
    make_transport(fx, 3, 0, 0);
    /* streamed without a length: stopped when the limit is crossed */
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_TOOBIG);
    assert_int_equal(fx->resp.attempts, 1); /* not retried */
    assert_non_null(strstr(fx->err.msg, "CloudFront GetDistribution failed: the answer from "
                                        "http://127.0.0.1:"));
    assert_non_null(strstr(fx->err.msg, "is larger than the 16777216-byte limit"));
    assert_int_equal(buf_len(&fx->resp.body), 0); /* no truncated answer is handed out */
    /* announced with Content-Length: refused before reading it */
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_TOOBIG);
    assert_int_equal(fx->resp.attempts, 1);
    /* exactly at the limit: whole, not truncated */
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_OK);
    assert_int_equal(buf_len(&fx->resp.body), BUF_MAX_DOC);
    assert_int_equal(fx->ndelays, 0);
    recs_load(&fx->srv, &r);
    assert_int_equal(r.n, 3);
    recs_free(&r);
}

static int has_hex_run(const char *s, int run)
{
    int n = 0;
    for (; *s; s++) {
        n = isxdigit((unsigned char)*s) ? n + 1 : 0;
        if (n >= run)
            return 1;
    }
    return 0;
}

static void test_dry_run_sends_nothing_and_redacts(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq = cf_create();
    struct aws_header extra[] = {{"If-Match", "E2QWRUHAPOMQZL"},
                                 {"x-amz-sso_bearer_token", "bearer-value-123"}};
    char want[128];
    struct recs r;

    rq.headers = extra;
    rq.nheaders = 2;
    start(fx, script(1, st_resp(200, "", NULL, NULL, NULL, NULL)));
    make_transport(fx, 0, 0, 1);
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_OK);
    assert_int_equal(fx->resp.dry_run, 1);
    assert_int_equal(fx->resp.attempts, 0);
    assert_int_equal(fx->resp.status, 0);
    assert_int_equal(fx->ndry, 1);
    recs_load(&fx->srv, &r);
    assert_int_equal(r.n, 0); /* the server received nothing */
    recs_free(&r);

    snprintf(want, sizeof(want), "POST http://127.0.0.1:%d/2020-05-31/distribution?WithTags\n",
             fx->srv.port);
    assert_non_null(strstr(buf_str(&fx->dry), want));
    assert_non_null(strstr(buf_str(&fx->dry), CREATE_BODY));
    assert_non_null(strstr(buf_str(&fx->dry), "\nContent-Type: application/xml\n"));
    assert_non_null(strstr(buf_str(&fx->dry), "\nIf-Match: E2QWRUHAPOMQZL\n"));
    assert_non_null(strstr(buf_str(&fx->dry), "\nx-amz-sso_bearer_token: REDACTED\n"));
    assert_non_null(strstr(buf_str(&fx->dry), "\nX-Amz-Security-Token: REDACTED\n"));
    assert_non_null(strstr(buf_str(&fx->dry), "Credential=" TEST_AKID "/"));
    assert_non_null(strstr(buf_str(&fx->dry), "Signature=REDACTED"));
    assert_non_null(strstr(buf_str(&fx->dry), "\nX-Amz-Date: "));
    assert_null(strstr(buf_str(&fx->dry), TEST_SECRET));
    assert_null(strstr(buf_str(&fx->dry), TEST_TOKEN));
    assert_null(strstr(buf_str(&fx->dry), "bearer-value-123"));
    assert_false(has_hex_run(buf_str(&fx->dry), 64)); /* no signature anywhere */
    assert_null(strstr(buf_str(&fx->dry), "placeholder"));
    assert_int_equal(fx->ndelays, 0);
}

/* Empties the credential environment and gives fx a fresh provider and transport. */
static void no_credentials(struct fx *fx, int dry)
{
    struct creds_options co;
    cfdr_err e;

    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    creds_provider_free(fx->creds);
    fx->creds = NULL;
    memset(&co, 0, sizeof(co));
    assert_int_equal(creds_provider_new(&co, &fx->creds, &e), CFDR_OK);
    transport_free(fx->t);
    fx->t = NULL;
    make_transport(fx, 0, 0, dry);
}

static void test_dry_run_without_credentials_says_so(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq = apprunner_describe();
    struct transport_options o;
    cfdr_err e;

    setenv("AWS_ENDPOINT_URL_APPRUNNER", "http://127.0.0.1:9", 1);
    memset(&o, 0, sizeof(o));
    o.dry_run = 1;
    o.dry_run_emit = dry_emit;
    o.dry_run_ud = fx;
    assert_int_equal(transport_new(&o, &fx->t, &e), CFDR_OK);
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_OK);
    assert_int_equal(fx->resp.dry_run, 1);
    assert_non_null(strstr(buf_str(&fx->dry), "signed with a placeholder key"));
    assert_non_null(strstr(buf_str(&fx->dry), "POST http://127.0.0.1:9/\n"));
    assert_non_null(strstr(buf_str(&fx->dry), "\nX-Amz-Target: AppRunner.DescribeService\n"));
    assert_non_null(strstr(buf_str(&fx->dry), DESCRIBE_BODY));
    assert_false(has_hex_run(buf_str(&fx->dry), 64));

    /* a provider that finds nothing: the same placeholder */
    buf_reset(&fx->dry);
    no_credentials(fx, 1);
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_OK);
    assert_int_equal(fx->resp.dry_run, 1);
    assert_non_null(strstr(buf_str(&fx->dry), "# no usable AWS credentials ("));
    assert_non_null(strstr(buf_str(&fx->dry), "signed with a placeholder key"));
    assert_non_null(strstr(buf_str(&fx->dry), "Signature=REDACTED"));

    /* not in dry-run, no provider is a programming error */
    o.dry_run = 0;
    transport_free(fx->t);
    fx->t = NULL;
    assert_int_equal(transport_new(&o, &fx->t, &e), CFDR_E_INTERNAL);
    assert_null(fx->t);
}

/* Webhook URLs carry tokens: SNS's Endpoint shows scheme://host only, in requests (form) and
 * answers (XML); e-mail endpoints stay readable. */
static void test_logs_show_webhook_endpoints_by_host_only(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq;
    static const char body[] =
        "Action=Subscribe&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At"
        "&Protocol=https&Endpoint=https%3A%2F%2Fhooks.example.com%3A8443%2Fcfdr%3Ftoken%3DHOOKTOK1"
        "&ReturnSubscriptionArn=true";
    const char *logs;

    start(fx, script(1, st_resp(200,
                                "<ListSubscriptionsByTopicResponse><ListSubscriptionsByTopicResult>"
                                "<Subscriptions><member><Endpoint>https://bob:PASSW0RDx@hooks."
                                "example.com/p/HOOKTOK2</Endpoint></member><member><Endpoint>"
                                "oncall@example.com</Endpoint></member><member><Endpoint>"
                                "http://h2.example.com</Endpoint></member></Subscriptions>"
                                "</ListSubscriptionsByTopicResult>"
                                "</ListSubscriptionsByTopicResponse>",
                                "x-amzn-RequestId", "ls-1", NULL, NULL)));
    make_transport(fx, 1, 0, 0);
    memset(&rq, 0, sizeof(rq));
    rq.service = AWS_SVC_SNS;
    rq.protocol = AWS_PROTO_QUERY;
    rq.region = "us-east-1";
    rq.operation = "Subscribe";
    rq.method = "POST";
    rq.path = "/";
    rq.body = body;
    rq.body_len = strlen(body);
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_OK);
    /* the caller gets the real answer */
    assert_non_null(strstr(buf_str(&fx->resp.body), "HOOKTOK2"));
    logs = buf_str(&fx->logs);
    assert_non_null(strstr(logs, "Endpoint=https%3A%2F%2Fhooks.example.com%3A8443%2FREDACTED&"));
    assert_non_null(
        strstr(logs, "<Endpoint>https://REDACTED@hooks.example.com/REDACTED</Endpoint>"));
    assert_non_null(strstr(logs, "<Endpoint>oncall@example.com</Endpoint>"));
    assert_non_null(strstr(logs, "<Endpoint>http://h2.example.com</Endpoint>"));
    assert_non_null(strstr(logs, "ReturnSubscriptionArn=true"));
    assert_null(strstr(logs, "HOOKTOK1"));
    assert_null(strstr(logs, "HOOKTOK2"));
    assert_null(strstr(logs, "PASSW0RDx"));
    assert_null(strstr(logs, "bob"));
}

static void test_debug_log_never_shows_secrets(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq;
    static const char body[] =
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx"
        "&RoleSessionName=cfdr&TokenCode=MFA7q9z";
    char mismatch[1024], sig[128];
    const char *logs, *a;
    struct recs r;

    /* AWS's SignatureDoesNotMatch message echoes the canonical request, token included */
    snprintf(mismatch, sizeof(mismatch),
             "<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>"
             "The request signature we calculated does not match. The Canonical String for this "
             "request should have been 'x-amz-security-token:%s' and the key was %s</Message>"
             "</Error><RequestId>sdm-1</RequestId></ErrorResponse>",
             TEST_TOKEN, TEST_SECRET);
    start(fx, script(3, st_resp(403, mismatch, NULL, NULL, NULL, NULL),
                     st_resp(200,
                             "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>"
                             "ASIANEWKEY</AccessKeyId><SecretAccessKey>NEWSECRETvalue"
                             "</SecretAccessKey><SessionToken>NEWTOKENvalue</SessionToken>"
                             "</Credentials></AssumeRoleResult></AssumeRoleResponse>",
                             "x-amz-secret-thing", "NEWHDRSECRET", "x-amzn-RequestId", "ar-1"),
                     /* an IAM Identity Center GetRoleCredentials answer */
                     st_resp(200,
                             "{\"roleCredentials\": {\"accessKeyId\": \"ASIASSOKEY42\", "
                             "\"secretAccessKey\": \"SSOSECRETvalue\", \"sessionToken\": "
                             "\"SSOTOKENvalue\", \"expiration\": 1700000000000}}",
                             "x-amzn-RequestId", "sso-1", NULL, NULL)));
    make_transport(fx, 3, 0, 0);
    memset(&rq, 0, sizeof(rq));
    rq.service = AWS_SVC_STS;
    rq.protocol = AWS_PROTO_QUERY;
    rq.region = "us-east-1";
    rq.operation = "AssumeRole";
    rq.method = "POST";
    rq.path = "/";
    rq.body = body;
    rq.body_len = strlen(body);

    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_AWS);
    assert_string_equal(fx->resp.error.code, "SignatureDoesNotMatch");
    assert_null(strstr(fx->err.msg, TEST_TOKEN));
    assert_null(strstr(fx->err.msg, TEST_SECRET));
    assert_null(strstr(fx->resp.error.message, TEST_TOKEN));
    assert_non_null(strstr(fx->err.msg, "x-amz-security-token:REDACTED"));
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_OK);
    /* the caller still gets the real body */
    assert_non_null(strstr(buf_str(&fx->resp.body), "NEWSECRETvalue"));
    assert_non_null(strstr(buf_str(&fx->resp.body), "ASIANEWKEY"));
    {
        struct aws_request sso = apprunner_describe();
        aws_response_free(&fx->resp);
        aws_response_init(&fx->resp);
        assert_int_equal(transport_call(fx->t, &sso, &fx->resp, &fx->err), CFDR_OK);
        assert_non_null(strstr(buf_str(&fx->resp.body), "ASIASSOKEY42"));
    }

    logs = buf_str(&fx->logs);
    /* the log says what happened... */
    snprintf(mismatch, sizeof(mismatch),
             "%s AssumeRole attempt 1/3:", endpoint_service_name(AWS_SVC_STS));
    assert_non_null(strstr(logs, mismatch));
    assert_non_null(strstr(logs, "> POST http://127.0.0.1:"));
    assert_non_null(strstr(logs, "HTTP 403 in "));
    assert_non_null(strstr(logs, "HTTP 200 in "));
    assert_non_null(strstr(logs, "> X-Amz-Security-Token: REDACTED"));
    assert_non_null(strstr(logs, "Signature=REDACTED"));
    assert_non_null(strstr(logs, "TokenCode=REDACTED"));
    assert_non_null(strstr(logs, "RoleSessionName=cfdr"));
    assert_non_null(strstr(logs, "<SecretAccessKey>REDACTED</SecretAccessKey>"));
    assert_non_null(strstr(logs, "<AccessKeyId>REDACTED</AccessKeyId>"));
    assert_non_null(strstr(logs, "\"accessKeyId\": \"REDACTED\""));
    assert_non_null(strstr(logs, "\"expiration\": 1700000000000"));
    assert_null(strstr(logs, "ASIANEWKEY"));
    assert_null(strstr(logs, "ASIASSOKEY42"));
    assert_null(strstr(logs, "SSOSECRETvalue"));
    assert_null(strstr(logs, "SSOTOKENvalue"));
    assert_non_null(strstr(logs, "< x-amz-secret-thing: REDACTED"));
    assert_non_null(strstr(logs, "< x-amzn-RequestId: ar-1"));
    /* ...and no line carries a secret */
    assert_null(strstr(logs, TEST_SECRET));
    assert_null(strstr(logs, TEST_TOKEN));
    assert_null(strstr(logs, "NEWSECRETvalue"));
    assert_null(strstr(logs, "NEWTOKENvalue"));
    assert_null(strstr(logs, "NEWHDRSECRET"));
    assert_null(strstr(logs, "MFA7q9z"));
    recs_load(&fx->srv, &r);
    assert_int_equal(r.n, 3);
    for (size_t i = 0; i < r.n; i++) {
        a = strstr(rec_header(&r, i, "Authorization"), "Signature=");
        assert_non_null(a);
        snprintf(sig, sizeof(sig), "%s", a + strlen("Signature="));
        assert_true(strlen(sig) >= 16);
        assert_null(strstr(logs, sig));
    }
    recs_free(&r);
}

static void test_endpoint_base_path_and_invalid_requests(void **state)
{
    struct fx *fx = *state;
    struct aws_request rq = cf_get("/2020-05-31/distribution");
    struct aws_header bad[] = {{"X-Evil", "a\r\nInjected: yes"}};
    char url[64];
    struct recs r;

    start(fx, script(1, st_resp(200, "<ok/>", NULL, NULL, NULL, NULL)));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/base", fx->srv.port);
    setenv("AWS_ENDPOINT_URL_CLOUDFRONT", url, 1);
    make_transport(fx, 0, 0, 0);
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_OK);

    /* refused before anything is sent */
    rq.path = "no-slash";
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_INTERNAL);
    rq.path = "/a b";
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_INTERNAL);
    rq.path = "/ok";
    rq.headers = bad;
    rq.nheaders = 1;
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_INTERNAL);
    rq.headers = NULL;
    rq.nheaders = 0;
    rq.body = "x";
    rq.body_len = 1;
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_INTERNAL);
    rq = apprunner_describe();
    rq.target_prefix = NULL;
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_INTERNAL);
    /* no credentials: nothing is sent either (a fresh provider: providers cache) */
    no_credentials(fx, 0);
    rq = cf_get("/2020-05-31/distribution");
    assert_int_equal(transport_call(fx->t, &rq, &fx->resp, &fx->err), CFDR_E_CREDENTIALS);
    assert_non_null(strstr(fx->err.msg, "CloudFront GetDistribution"));

    recs_load(&fx->srv, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(rec_str(&r, 0, "path"), "/base/2020-05-31/distribution");
    recs_free(&r);
}

static void test_new_checks_options_and_coexists(void **state)
{
    struct fx *fx = *state;
    struct transport_options o;
    struct transport *a = NULL, *b = NULL;
    cfdr_err e;

    memset(&o, 0, sizeof(o));
    o.creds = fx->creds;
    setenv("AWS_MAX_ATTEMPTS", "lots", 1);
    assert_int_equal(transport_new(&o, &a, &e), CFDR_E_CONFIG);
    assert_null(a);
    assert_non_null(strstr(e.msg, "AWS_MAX_ATTEMPTS=\"lots\" is not valid"));
    o.max_attempts = 2; /* an explicit option wins over the environment */
    assert_int_equal(transport_new(&o, &a, &e), CFDR_OK);
    unsetenv("AWS_MAX_ATTEMPTS");
    o.max_attempts = 0;
    o.dry_run = 1; /* dry-run without a sink */
    assert_int_equal(transport_new(&o, &b, &e), CFDR_E_INTERNAL);
    o.dry_run = 0;
    /* several transports at once (each takes a libcurl global reference) */
    assert_int_equal(transport_new(&o, &b, &e), CFDR_OK);
    transport_free(a);
    transport_free(b);
    transport_free(NULL);
    assert_int_equal(transport_new(&o, &a, &e), CFDR_OK);
    transport_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rest_xml_success_and_wire_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_throttled_then_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_throttling_exhausts_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_5xx_then_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_quota_spans_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rest_xml_409_is_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_400_is_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_html_502_gives_a_useful_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirects_are_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_endpoint_with_another_scheme_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dropped_connections_are_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_every_time_is_a_network_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hanging_server_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_over_the_limit_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run_sends_nothing_and_redacts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run_without_credentials_says_so, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debug_log_never_shows_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logs_show_webhook_endpoints_by_host_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_endpoint_base_path_and_invalid_requests, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_new_checks_options_and_coexists, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
