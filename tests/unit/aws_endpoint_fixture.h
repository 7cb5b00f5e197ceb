/*
 * aws_endpoint_fixture: what the AWS service client tests share (included by
 * tests/unit/test_cloudfront.c, test_apprunner.c, test_cloudwatch.c, test_sns.c and
 * test_provider_alarms.c).
 *
 *   - the strict local AWS endpoint (tests/servers/aws_endpoint.py) as a child process: started
 *     with fork/exec, its port read from the first stdout line, stopped by PID (SIGTERM, then
 *     SIGKILL) in the teardown, also when a test fails; PR_SET_PDEATHSIG kills it should the
 *     test process die;
 *   - the environment pointing cfdr at it: AWS_ENDPOINT_URL and static credentials in
 *     AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, everything else that could redirect a request
 *     (proxies, per-service endpoints, profiles, session tokens) unset;
 *   - a transport whose backoff sleeps are recorded instead of slept, so retries cost no time;
 *   - the control API (/__control) over libcurl, and the request-log check every test ends
 *     with: every request cfdr sent was signed with the test key, passed signature
 *     verification, routing, parsing and model validation, sent no member the model does not
 *     know, and was refused only where the test expected it (or where it injected a fault).
 */
#ifndef CFDR_TEST_AWS_ENDPOINT_FIXTURE_H
#define CFDR_TEST_AWS_ENDPOINT_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aws/buf.h"
#include "aws/creds.h"
#include "aws/transport.h"

/* Checks for client calls in the tests that use this fixture; they read the caller's
 * `cfdr_err e` and `struct aws_error ae`. CHECK_OK: the call succeeds. CHECK_AWS: the call
 * fails with AWS's error `want`, and the message names it. */
#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        cfdr_code rc_ = (call);                                                                    \
        if (rc_ != CFDR_OK)                                                                        \
            fail_msg("%s: %s (%s)", #call, e.msg, err_code_name(rc_));                             \
    } while (0)

#define CHECK_AWS(call, want)                                                                      \
    do {                                                                                           \
        cfdr_code rc_ = (call);                                                                    \
        if (rc_ != CFDR_E_AWS || strcmp(ae.code, (want)) != 0)                                     \
            fail_msg("%s: wanted %s, got %s / '%s': %s", #call, (want), err_code_name(rc_),        \
                     ae.code, e.msg);                                                              \
        assert_non_null(strstr(e.msg, (want)));                                                    \
    } while (0)

#define AWSEP_AKID "AKIDCFDRCLIENTTEST01"
#define AWSEP_SECRET "cfdrClientTestSecret/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define AWSEP_MAX_ARGS 32
#define AWSEP_START_TIMEOUT_MS 20000

struct awsep {
    pid_t pid;
    int port;
    char url[64];
    char files[2][64]; /* a scripted server's script and record files, removed by awsep_stop */
};

/* A request the test expects the endpoint to refuse with `error`, `count` times: by the service
 * itself after model validation passed (stage NULL), or at the stage named (e.g. "validate",
 * for a value the test sends on purpose to see AWS refuse it). */
struct awsep_expect {
    const char *operation;
    const char *error;
    int count;
    const char *stage;
};

struct awsep_fx {
    struct awsep ep;
    struct creds_provider *creds;
    struct transport *t;
    int sleeps;     /* backoff sleeps the transport asked for */
    long slept_ms;  /* their total */
    int dry_runs;   /* dry-run texts received */
    struct buf dry; /* the last dry-run text */
    int faults;     /* requests refused by an injected fault, counted by awsep_check_log */
};

static inline const char *awsep_source_dir(char *out, size_t n)
{
    const char *src = getenv("CFDR_SOURCE_DIR");
    if (src && *src)
        snprintf(out, n, "%s", src);
    else /* this header lives in <src>/tests/unit */
        snprintf(out, n, "%.*s/../..",
                 (int)(strrchr(__FILE__, '/') ? strrchr(__FILE__, '/') - __FILE__ : 1),
                 strrchr(__FILE__, '/') ? __FILE__ : ".");
    return out;
}

static inline void awsep_stop(struct awsep *ep)
{
    int status, i;

    if (ep->pid > 0) {
        kill(ep->pid, SIGTERM);
        for (i = 0; i < 250 && waitpid(ep->pid, &status, WNOHANG) == 0; i++)
            usleep(20000);
        if (i == 250) {
            kill(ep->pid, SIGKILL);
            waitpid(ep->pid, &status, 0);
        }
        ep->pid = 0;
    }
    for (i = 0; i < 2; i++)
        if (ep->files[i][0]) {
            unlink(ep->files[i]);
            ep->files[i][0] = '\0';
        }
}

/* Runs argv (argv[0] the program) with its stdout on a pipe and returns the first line it
 * prints (within AWSEP_START_TIMEOUT_MS) in line. */
static inline void awsep_spawn(struct awsep *ep, const char *const *argv, char *line, size_t size)
{
    pid_t parent = getpid();
    size_t n = 0;
    int p[2];

    assert_int_equal(pipe(p), 0);
    ep->pid = fork();
    assert_true(ep->pid >= 0);
    if (ep->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    while (n < size - 1) {
        struct pollfd pf = {p[0], POLLIN, 0};
        if (poll(&pf, 1, AWSEP_START_TIMEOUT_MS) != 1 || read(p[0], line + n, 1) != 1 ||
            line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(p[0]);
}

static inline void awsep_started(struct awsep *ep, const char *what, const char *line)
{
    if (ep->port <= 0 || ep->port > 65535) {
        awsep_stop(ep);
        fail_msg("%s did not start (first line: '%s')", what, line);
    }
    snprintf(ep->url, sizeof(ep->url), "http://127.0.0.1:%d", ep->port);
}

/* Starts the endpoint with the test credentials and `extra` arguments (NULL-terminated). */
static inline void awsep_start(struct awsep *ep, const char *const *extra)
{
    char dir[512], script[640], line[256];
    const char *argv[AWSEP_MAX_ARGS];
    size_t argc = 0;

    awsep_source_dir(dir, sizeof(dir));
    snprintf(script, sizeof(script), "%s/tests/servers/aws_endpoint.py", dir);
    argv[argc++] = "/usr/bin/python3";
    argv[argc++] = script;
    argv[argc++] = "--credentials";
    argv[argc++] = AWSEP_AKID ":" AWSEP_SECRET;
    for (size_t i = 0; extra && extra[i]; i++) {
        assert_true(argc < AWSEP_MAX_ARGS - 1);
        argv[argc++] = extra[i];
    }
    argv[argc] = NULL;

    memset(ep, 0, sizeof(*ep));
    awsep_spawn(ep, argv, line, sizeof(line));
    { /* {"port": N, "control": "..."} */
        json_object *o = json_tokener_parse(line), *port = NULL;
        if (o && json_object_object_get_ex(o, "port", &port))
            ep->port = json_object_get_int(port);
        json_object_put(o);
    }
    awsep_started(ep, "the AWS endpoint", line);
}

/* Starts tests/servers/fault_server.py instead, answering each request with the next step of
 * script (a JSON array, see that file; the last step repeats): for answers no AWS service
 * would give. */
static inline void awsep_start_scripted(struct awsep *ep, const char *script)
{
    char dir[512], server[640], line[64];
    const char *argv[] = {"/usr/bin/python3", server,          "--script", ep->files[0], "--record",
                          ep->files[1],       "--max-seconds", "60",       NULL};
    int fd;

    memset(ep, 0, sizeof(*ep));
    snprintf(server, sizeof(server), "%s/tests/servers/fault_server.py",
             awsep_source_dir(dir, sizeof(dir)));
    for (int i = 0; i < 2; i++) {
        snprintf(ep->files[i], sizeof(ep->files[i]), "/tmp/cfdr-awsep-%s-XXXXXX",
                 i ? "record" : "script");
        fd = mkstemp(ep->files[i]);
        assert_true(fd >= 0);
        if (i == 0)
            assert_int_equal(write(fd, script, strlen(script)), (ssize_t)strlen(script));
        close(fd);
    }
    awsep_spawn(ep, argv, line, sizeof(line));
    ep->port = atoi(line);
    awsep_started(ep, "the scripted server", line);
}

static inline size_t awsep_collect(char *data, size_t size, size_t nmemb, void *ud)
{
    return buf_add(ud, data, size * nmemb) == CFDR_OK ? size * nmemb : 0;
}

/* One control API call; returns the parsed answer (the caller puts it). Fails the test unless
 * the answer is 200. */
static inline json_object *awsep_control(const struct awsep *ep, const char *method,
                                         const char *path, const char *body)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    char url[256];
    struct buf out;
    long status = 0;
    CURLcode cc;
    json_object *doc;

    assert_non_null(h);
    assert_non_null(hdrs);
    buf_init(&out, BUF_MAX_DOC);
    snprintf(url, sizeof(url), "%s/__control%s", ep->url, path);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, url), CURLE_OK);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_NOPROXY, "*"), CURLE_OK);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method), CURLE_OK);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs), CURLE_OK);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L), CURLE_OK);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, awsep_collect), CURLE_OK);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEDATA, &out), CURLE_OK);
    if (body) {
        assert_int_equal(curl_easy_setopt(h, CURLOPT_POSTFIELDS, body), CURLE_OK);
        assert_int_equal(curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body)), CURLE_OK);
    }
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (cc != CURLE_OK || status != 200)
        fail_msg("control %s %s: %s, HTTP %ld: %s", method, path, curl_easy_strerror(cc), status,
                 buf_str(&out));
    doc = json_tokener_parse(buf_str(&out));
    buf_free(&out);
    assert_non_null(doc);
    return doc;
}

static inline void awsep_control_do(const struct awsep *ep, const char *method, const char *path,
                                    const char *body)
{
    json_object_put(awsep_control(ep, method, path, body));
}

/* The request log since the start (an array; the caller puts it). */
static inline json_object *awsep_requests(const struct awsep *ep)
{
    json_object *doc = awsep_control(ep, "GET", "/requests", NULL), *log = NULL;
    assert_true(json_object_object_get_ex(doc, "requests", &log));
    assert_true(json_object_is_type(log, json_type_array));
    json_object_get(log);
    json_object_put(doc);
    return log;
}

static inline const char *awsep_str(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !v || json_object_is_type(v, json_type_null))
        return NULL;
    return json_object_get_string(v);
}

/* Number of logged requests for `operation` (NULL: all). */
static inline size_t awsep_count(const struct awsep *ep, const char *operation)
{
    json_object *log = awsep_requests(ep);
    size_t k = 0;
    for (size_t i = 0; i < json_object_array_length(log); i++) {
        const char *op = awsep_str(json_object_array_get_idx(log, i), "operation");
        if (!operation || (op && strcmp(op, operation) == 0))
            k++;
    }
    json_object_put(log);
    return k;
}

/* The params (as the endpoint parsed them) of the last logged `operation` that succeeded; a new
 * reference the caller puts. */
static inline json_object *awsep_last_params(const struct awsep *ep, const char *operation)
{
    json_object *log = awsep_requests(ep), *found = NULL;
    for (size_t i = json_object_array_length(log); i-- > 0 && !found;) {
        json_object *e = json_object_array_get_idx(log, i), *params = NULL;
        const char *op = awsep_str(e, "operation");
        if (op && strcmp(op, operation) == 0 && !awsep_str(e, "error") &&
            json_object_object_get_ex(e, "params", &params))
            found = json_object_get(params);
    }
    json_object_put(log);
    if (!found)
        fail_msg("no successful %s in the endpoint's request log", operation);
    return found;
}

/* The request-log check (see the top comment). expected[] lists the refusals the test caused on
 * purpose; each must have happened exactly `count` times. Faults injected through the control
 * API are allowed when allow_faults is set (and counted in fx->faults). */
static inline void awsep_check_log(struct awsep_fx *fx, const struct awsep_expect *expected,
                                   size_t nexpected, int allow_faults)
{
    json_object *log = awsep_requests(&fx->ep);
    int seen[16] = {0};
    size_t n = json_object_array_length(log);

    assert_true(nexpected <= 16);
    assert_true(n > 0);
    fx->faults = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(log, i), *ignored = NULL;
        const char *op = awsep_str(e, "operation"), *error = awsep_str(e, "error");
        const char *stage = awsep_str(e, "stage"), *key = awsep_str(e, "access_key");
        const char *validation = awsep_str(e, "validation"), *fault = awsep_str(e, "fault");
        const char *what = json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN);

        if (!key || strcmp(key, AWSEP_AKID) != 0)
            fail_msg("request not signed with the test key: %s", what);
        if (json_object_object_get_ex(e, "ignored_members", &ignored) && ignored &&
            json_object_array_length(ignored) > 0)
            fail_msg("cfdr sent members the model does not know: %s", what);
        if (fault && error) {
            if (!allow_faults)
                fail_msg("an unexpected fault: %s", what);
            fx->faults++;
            continue;
        }
        if (error) {
            size_t k;
            for (k = 0; k < nexpected; k++)
                if (op && strcmp(op, expected[k].operation) == 0 &&
                    strcmp(error, expected[k].error) == 0 &&
                    strcmp(stage ? stage : "", expected[k].stage ? expected[k].stage : "state") ==
                        0)
                    break;
            if (k == nexpected)
                fail_msg("an unexpected refusal (%s stage): %s", stage ? stage : "?", what);
            seen[k]++;
            if (expected[k].stage)
                continue;
        }
        if (!validation || strcmp(validation, "ok") != 0)
            fail_msg("a request did not pass model validation: %s", what);
    }
    for (size_t k = 0; k < nexpected; k++)
        if (seen[k] != expected[k].count)
            fail_msg("expected %d %s refused with %s, saw %d", expected[k].count,
                     expected[k].operation, expected[k].error, seen[k]);
    json_object_put(log);
}

/* ---- the transport's hooks ---- */

static inline void awsep_sleep(void *ud, long ms)
{
    struct awsep_fx *fx = ud;
    fx->sleeps++;
    fx->slept_ms += ms;
}

static inline void awsep_dry(void *ud, const char *text)
{
    struct awsep_fx *fx = ud;
    fx->dry_runs++;
    buf_reset(&fx->dry);
    assert_int_equal(buf_adds(&fx->dry, text), CFDR_OK);
}

/* A second transport on the same endpoint that sends nothing (dry run). */
static inline struct transport *awsep_dry_transport(struct awsep_fx *fx)
{
    struct transport_options o;
    struct transport *t = NULL;
    cfdr_err e;

    memset(&o, 0, sizeof(o));
    o.creds = fx->creds;
    o.dry_run = 1;
    o.dry_run_emit = awsep_dry;
    o.dry_run_ud = fx;
    if (transport_new(&o, &t, &e) != CFDR_OK)
        fail_msg("transport_new (dry run): %s", e.msg);
    return t;
}

/* ---- setup and teardown ---- */

static inline void awsep_env(const struct awsep *ep)
{
    static const char *const unset[] = {
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "AWS_ENDPOINT_URL_CLOUDFRONT",
        "AWS_ENDPOINT_URL_APPRUNNER",
        "AWS_ENDPOINT_URL_CLOUDWATCH",
        "AWS_ENDPOINT_URL_SNS",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_MAX_ATTEMPTS",
    };
    for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
        unsetenv(unset[i]);
    setenv("AWS_ENDPOINT_URL", ep->url, 1);
    setenv("AWS_ACCESS_KEY_ID", AWSEP_AKID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", AWSEP_SECRET, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/cfdr-test-config", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/cfdr-test-credentials", 1);
}

/* Starts the endpoint with `extra` arguments (none at all when extra is NULL: the test starts a
 * scripted server itself) and builds the transport. */
static inline int awsep_setup(void **state, const char *const *extra)
{
    struct awsep_fx *fx = calloc(1, sizeof(*fx));
    struct creds_options co;
    struct transport_options o;
    cfdr_err e;

    assert_non_null(fx);
    *state = fx;
    buf_init(&fx->dry, BUF_MAX_DOC);
    if (extra) {
        awsep_start(&fx->ep, extra);
        awsep_env(&fx->ep);
    }
    memset(&co, 0, sizeof(co));
    if (creds_provider_new(&co, &fx->creds, &e) != CFDR_OK) {
        awsep_stop(&fx->ep); /* cmocka runs no teardown after a failed setup */
        fail_msg("creds_provider_new: %s", e.msg);
    }
    memset(&o, 0, sizeof(o));
    o.creds = fx->creds;
    o.max_attempts = 3;
    o.connect_timeout_ms = 5000;
    o.request_timeout_ms = 15000;
    o.sleep_ms = awsep_sleep;
    o.hook_ud = fx;
    if (transport_new(&o, &fx->t, &e) != CFDR_OK) {
        awsep_stop(&fx->ep);
        fail_msg("transport_new: %s", e.msg);
    }
    return 0;
}

static inline int awsep_teardown(void **state)
{
    struct awsep_fx *fx = *state;
    if (!fx)
        return 0;
    awsep_stop(&fx->ep);
    transport_free(fx->t);
    creds_provider_free(fx->creds);
    buf_free(&fx->dry);
    free(fx);
    *state = NULL;
    return 0;
}

#endif
