/*
 * Unit tests for drills/alarmd: the local alarm service against a fake edge /metrics on
 * loopback, with 1 s periods and a JSON-lines target. Covers what the end-to-end test cannot
 * provoke (viewer 5xx through the edge), counter resets, the control API and reading the
 * deliveries back. Timing assertions are loose (a loaded machine runs ctest -j).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "aws/atomicfile.h"
#include "aws/buf.h"
#include "aws/clock.h"
#include "drills/alarmd.h"

/* ---- a fake edge: /metrics from counters the test sets ---- */

struct fake_edge {
    pthread_mutex_t mu;
    double secondary, requests, five;
    struct event_base *base;
    struct evhttp *http;
    struct event *tick;
    int port, stop;
    pthread_t thread;
};

/* libevent is not set up for threads here: the loop polls the stop flag itself. */
static void on_tick(evutil_socket_t fd, short what, void *ud)
{
    struct fake_edge *f = ud;
    int stop;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&f->mu);
    stop = f->stop;
    pthread_mutex_unlock(&f->mu);
    if (stop)
        event_base_loopbreak(f->base);
}

static void on_metrics(struct evhttp_request *req, void *ud)
{
    struct fake_edge *f = ud;
    struct evbuffer *b = evbuffer_new();
    const char *uri = evhttp_request_get_uri(req);
    /* two webhooks on the edge's host and port: one takes notifications, one fails */
    if (strncmp(uri, "/hook/good", 10) == 0 || strncmp(uri, "/hook/bad", 9) == 0) {
        int good = uri[6] == 'g';
        evbuffer_add_printf(b, "%s", good ? "ok" : "broken");
        evhttp_send_reply(req, good ? 200 : 500, good ? "OK" : "Internal Server Error", b);
        evbuffer_free(b);
        return;
    }
    pthread_mutex_lock(&f->mu);
    evbuffer_add_printf(
        b,
        "# TYPE cfdr_edge_requests_total counter\n"
        "cfdr_edge_requests_total{outcome=\"ok\"} %.0f\n"
        "cfdr_edge_requests_total{outcome=\"error_502\"} 0\n"
        "# TYPE cfdr_edge_responses_total counter\n"
        "cfdr_edge_responses_total{status_class=\"2xx\"} 0\n"
        "cfdr_edge_responses_total{status_class=\"5xx\"} %.0f\n"
        "cfdr_edge_origin_attempts_total{origin=\"primary\",origin_id=\"p\",region=\"us-east-1\","
        "result=\"response\"} 99\n"
        "cfdr_edge_origin_attempts_total{origin=\"secondary\",origin_id=\"s\",region=\"us-west-2\","
        "result=\"response\"} %.0f\n",
        f->requests, f->five, f->secondary);
    pthread_mutex_unlock(&f->mu);
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static void *edge_thread(void *ud)
{
    struct fake_edge *f = ud;
    event_base_dispatch(f->base);
    return NULL;
}

static void fake_edge_start(struct fake_edge *f)
{
    struct evhttp_bound_socket *bs;
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    f->base = event_base_new();
    f->http = evhttp_new(f->base);
    evhttp_set_gencb(f->http, on_metrics, f);
    bs = evhttp_bind_socket_with_handle(f->http, "127.0.0.1", 0);
    assert_non_null(bs);
    assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl), 0);
    f->port = ntohs(sa.sin_port);
    {
        struct timeval tv = {0, 50000};
        f->tick = event_new(f->base, -1, EV_PERSIST, on_tick, f);
        assert_int_equal(event_add(f->tick, &tv), 0);
    }
    assert_int_equal(pthread_create(&f->thread, NULL, edge_thread, f), 0);
}

static void fake_edge_set(struct fake_edge *f, double secondary, double requests, double five)
{
    pthread_mutex_lock(&f->mu);
    f->secondary = secondary;
    f->requests = requests;
    f->five = five;
    pthread_mutex_unlock(&f->mu);
}

static void fake_edge_stop(struct fake_edge *f)
{
    pthread_mutex_lock(&f->mu);
    f->stop = 1;
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    event_free(f->tick);
    evhttp_free(f->http);
    event_base_free(f->base);
    pthread_mutex_destroy(&f->mu);
}

/* ---- the service in a thread ---- */

struct svc {
    char dir[256], state[300], spool[300], file[300];
    struct alarmd_options o;
    pthread_mutex_t mu;
    int port;
    cfdr_code rc;
    cfdr_err err;
    pthread_t thread;
};

static void on_ready(void *ud, int port, size_t resumed)
{
    struct svc *s = ud;
    (void)resumed;
    pthread_mutex_lock(&s->mu);
    s->port = port;
    pthread_mutex_unlock(&s->mu);
}

static void *svc_thread(void *ud)
{
    struct svc *s = ud;
    s->rc = alarmd_run(&s->o, &s->err);
    return NULL;
}

static int svc_port(struct svc *s)
{
    int p;
    pthread_mutex_lock(&s->mu);
    p = s->port;
    pthread_mutex_unlock(&s->mu);
    return p;
}

static void svc_start_hooks(struct svc *s, int edge_port, const char *const *webhooks,
                            size_t nwebhooks)
{
    char doc[256];
    cfdr_err e;
    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/cfdr-test-alarmd-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->state, sizeof(s->state), "%s/state.json", s->dir);
    snprintf(s->spool, sizeof(s->spool), "%s/spool", s->dir);
    snprintf(s->file, sizeof(s->file), "%s/notifications.jsonl", s->dir);
    snprintf(doc, sizeof(doc),
             "{\"resources\":[{\"kind\":\"edge\",\"id\":\"edge\",\"admin_port\":%d}]}", edge_port);
    assert_int_equal(
        atomicfile_write(s->state, doc, strlen(doc), 0600, ATOMICFILE_REPLACE, NULL, &e), CFDR_OK);
    pthread_mutex_init(&s->mu, NULL);
    s->o.dir = s->dir;
    s->o.state_path = s->state;
    s->o.project = "t";
    s->o.period_s = 1;
    s->o.secondary_region = "us-west-2";
    s->o.secondary_service = "t-west";
    s->o.file_target = s->file;
    s->o.spool_dir = s->spool;
    s->o.on_ready = on_ready;
    s->o.ready_ud = s;
    s->o.webhooks = webhooks;
    s->o.nwebhooks = nwebhooks;
    assert_int_equal(pthread_create(&s->thread, NULL, svc_thread, s), 0);
    for (int i = 0; i < 100 && !svc_port(s); i++)
        clock_sleep_s(0.05);
    assert_true(svc_port(s) > 0);
}

static void svc_start(struct svc *s, int edge_port)
{
    svc_start_hooks(s, edge_port, NULL, 0);
}

static void svc_stop(struct svc *s)
{
    char cmd[300];
    /* alarmd_run ends on SIGTERM (libevent's handler: the process survives it) */
    raise(SIGTERM);
    pthread_join(s->thread, NULL);
    assert_int_equal(s->rc, CFDR_OK);
    pthread_mutex_destroy(&s->mu);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
    assert_int_equal(system(cmd), 0);
}

/* [(alarm, state)] of the JSON-lines target, in order. */
static size_t notifications(struct svc *s, char out[][2][64], size_t max)
{
    char *text = NULL, *line, *save = NULL;
    size_t len = 0, n = 0;
    if (atomicfile_read(s->file, 1u << 24, &text, &len, NULL) != CFDR_OK)
        return 0;
    for (line = strtok_r(text, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save)) {
        json_object *o = json_tokener_parse(line), *m, *msg, *a, *st;
        if (o && json_object_object_get_ex(o, "Message", &m) &&
            (msg = json_tokener_parse(json_object_get_string(m)))) {
            if (json_object_object_get_ex(msg, "AlarmName", &a) &&
                json_object_object_get_ex(msg, "NewStateValue", &st)) {
                snprintf(out[n][0], 64, "%s", json_object_get_string(a));
                snprintf(out[n][1], 64, "%s", json_object_get_string(st));
                n++;
            }
            json_object_put(msg);
        }
        json_object_put(o);
    }
    free(text);
    return n;
}

/* Waits (bounded) until the target got a notification of alarm entering state after the
 * first `skip` ones. */
static int wait_notification(struct svc *s, size_t skip, const char *alarm, const char *state,
                             double timeout)
{
    static char got[256][2][64];
    double until = clock_mono_s() + timeout;
    do {
        size_t n = notifications(s, got, 256);
        for (size_t i = skip; i < n; i++)
            if (strcmp(got[i][0], alarm) == 0 && strcmp(got[i][1], state) == 0)
                return 1;
        clock_sleep_s(0.05);
    } while (clock_mono_s() < until);
    return 0;
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    return buf_add(ud, p, size * n) == CFDR_OK ? size * n : 0;
}

static long http(const char *method, int port, const char *path, struct buf *body)
{
    char url[128];
    long status = 0;
    CURL *c = curl_easy_init();
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

static void test_alarms_follow_the_edge(void **state)
{
    struct fake_edge f;
    struct svc s;
    static char got[256][2][64];
    size_t n;
    double t0, at;
    char kind[16];
    int found;
    cfdr_err e;
    (void)state;

    fake_edge_start(&f);
    fake_edge_set(&f, 0, 100, 0);
    svc_start(&s, f.port);
    /* new alarms: INSUFFICIENT_DATA -> OK, notified */
    assert_true(wait_notification(&s, 0, "t-failover-active", "OK", 5));
    assert_true(wait_notification(&s, 0, "t-edge-5xx", "OK", 5));
    n = notifications(&s, got, 256);

    /* the secondary serves and viewers get 5xx: both alarms fire */
    t0 = clock_wall_s();
    fake_edge_set(&f, 3, 110, 5);
    assert_true(wait_notification(&s, n, "t-failover-active", "ALARM", 5));
    assert_true(wait_notification(&s, n, "t-edge-5xx", "ALARM", 5));
    assert_int_equal(alarmd_first_delivery(s.dir, "t-failover-active", "ALARM", t0 - 0.001, &found,
                                           &at, kind, &e),
                     CFDR_OK);
    assert_true(found);
    assert_string_equal(kind, "file");
    assert_true(at >= t0 && at - t0 < 5);
    /* nothing published after the future */
    assert_int_equal(alarmd_first_delivery(s.dir, "t-failover-active", "ALARM", at + 3600, &found,
                                           &at, kind, &e),
                     CFDR_OK);
    assert_false(found);

    /* quiet again (and no requests: no 5xx datapoint, treated as not breaching): back to OK */
    n = notifications(&s, got, 256);
    assert_true(wait_notification(&s, n, "t-failover-active", "OK", 5));
    assert_true(wait_notification(&s, n, "t-edge-5xx", "OK", 5));

    /* the edge restarted: its counters went down, and the new value is the increase */
    n = notifications(&s, got, 256);
    fake_edge_set(&f, 2, 2, 0);
    assert_true(wait_notification(&s, n, "t-failover-active", "ALARM", 5));

    svc_stop(&s);
    fake_edge_stop(&f);
}

static void test_control_api(void **state)
{
    struct fake_edge f;
    struct svc s;
    struct buf b;
    json_object *o, *t, *v;
    static char got[256][2][64];
    size_t n;
    (void)state;

    fake_edge_start(&f);
    svc_start(&s, f.port);
    buf_init(&b, BUF_MAX_DOC);
    assert_int_equal(http("GET", svc_port(&s), "/health", &b), 200);
    buf_reset(&b);
    assert_int_equal(http("GET", svc_port(&s), "/status", &b), 200);
    o = json_tokener_parse(buf_str(&b));
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "alarms", &v));
    assert_int_equal(json_object_array_length(v), 2);
    assert_true(json_object_object_get_ex(o, "notifications", &v));
    json_object_put(o);

    /* wait for the first evaluation, so the test's ALARM is a change */
    assert_true(wait_notification(&s, 0, "t-edge-5xx", "OK", 5));
    n = notifications(&s, got, 256);
    buf_reset(&b);
    assert_int_equal(http("POST", svc_port(&s), "/test?alarm=t-edge-5xx", &b), 200);
    o = json_tokener_parse(buf_str(&b));
    assert_true(json_object_object_get_ex(o, "tested", &v));
    assert_int_equal(json_object_array_length(v), 1);
    t = json_object_array_get_idx(v, 0);
    assert_true(json_object_get_boolean(json_object_object_get(t, "notified")));
    assert_non_null(json_object_get_string(json_object_object_get(t, "message_id")));
    json_object_put(o);
    assert_true(wait_notification(&s, n, "t-edge-5xx", "ALARM", 5));
    /* the next evaluation puts it back */
    assert_true(wait_notification(&s, n, "t-edge-5xx", "OK", 5));

    buf_reset(&b);
    assert_int_equal(http("POST", svc_port(&s), "/test?alarm=nope", &b), 404);
    assert_non_null(strstr(buf_str(&b), "no alarm is named 'nope'"));
    buf_reset(&b);
    assert_int_equal(http("GET", svc_port(&s), "/test", &b), 405);
    buf_reset(&b);
    assert_int_equal(http("GET", svc_port(&s), "/other", &b), 404);
    buf_free(&b);
    svc_stop(&s);
    fake_edge_stop(&f);
}

/* Two webhooks on one host and port show the same scheme://host:port; the status lists each
 * with its own target id, and a delivery names the id of the target that took it, so a
 * delivery to one is never counted as a delivery to the other (cfdr alarms test). */
static void test_two_webhooks_one_host(void **state)
{
    struct fake_edge f;
    struct svc s;
    struct buf b;
    static char good[128], bad[128];
    static const char *hooks[2] = {good, bad};
    char good_id[40] = "", bad_id[40] = "", *text = NULL, *line, *save = NULL;
    json_object *o, *nt, *tl;
    size_t len = 0, to_good = 0, to_bad = 0, to_file = 0;
    (void)state;

    fake_edge_start(&f);
    snprintf(good, sizeof(good), "http://127.0.0.1:%d/hook/good?token=secret", f.port);
    snprintf(bad, sizeof(bad), "http://127.0.0.1:%d/hook/bad?token=secret", f.port);
    svc_start_hooks(&s, f.port, hooks, 2);
    /* the first evaluation's OKs reach the file (and the good webhook) */
    assert_true(wait_notification(&s, 0, "t-failover-active", "OK", 5));
    assert_true(wait_notification(&s, 0, "t-edge-5xx", "OK", 5));
    buf_init(&b, BUF_MAX_DOC);
    assert_int_equal(http("GET", svc_port(&s), "/status", &b), 200);
    o = json_tokener_parse(buf_str(&b));
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "notifications", &nt));
    assert_true(json_object_object_get_ex(nt, "targets", &tl));
    assert_int_equal(json_object_array_length(tl), 3);
    {
        json_object *t0 = json_object_array_get_idx(tl, 0), *t1 = json_object_array_get_idx(tl, 1);
        /* the same shown form, different ids */
        assert_string_equal(json_object_get_string(json_object_object_get(t0, "target")),
                            json_object_get_string(json_object_object_get(t1, "target")));
        snprintf(good_id, sizeof(good_id), "%s",
                 json_object_get_string(json_object_object_get(t0, "id")));
        snprintf(bad_id, sizeof(bad_id), "%s",
                 json_object_get_string(json_object_object_get(t1, "id")));
        assert_int_equal(strlen(good_id), 32);
        assert_int_equal(strlen(bad_id), 32);
        assert_string_not_equal(good_id, bad_id);
    }
    assert_null(strstr(buf_str(&b), "secret"));
    json_object_put(o);
    buf_free(&b);
    /* the good webhook's deliveries are journalled with its id; the bad one has none */
    for (int i = 0; i < 100 && to_good < 2; i++) {
        char path[400];
        to_good = to_bad = to_file = 0;
        snprintf(path, sizeof(path), "%s/" ALARMD_DELIVERIES_FILE, s.dir);
        free(text);
        text = NULL;
        if (atomicfile_read(path, 1u << 24, &text, &len, NULL) == CFDR_OK) {
            save = NULL;
            for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                json_object *d = json_tokener_parse(line), *id, *k;
                assert_non_null(d);
                assert_true(json_object_object_get_ex(d, "target_id", &id));
                assert_true(json_object_object_get_ex(d, "kind", &k));
                if (strcmp(json_object_get_string(id), good_id) == 0)
                    to_good++;
                else if (strcmp(json_object_get_string(id), bad_id) == 0)
                    to_bad++;
                else if (strcmp(json_object_get_string(k), "file") == 0)
                    to_file++;
                json_object_put(d);
            }
        }
        clock_sleep_s(0.05);
    }
    free(text);
    assert_true(to_good >= 2);
    assert_true(to_file >= 2);
    assert_int_equal(to_bad, 0);
    svc_stop(&s);
    fake_edge_stop(&f);
}

/* alert_seconds measures a person's target: a webhook's or e-mail's delivery, never the
 * JSON-lines file's (which gets everything at once) unless there is neither. */
static void write_text(const char *dir, const char *name, const char *text)
{
    char path[400];
    cfdr_err e;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(atomicfile_write(path, text, strlen(text), 0600, ATOMICFILE_REPLACE, NULL, &e),
                     CFDR_OK);
}

static void test_first_alert_prefers_a_person(void **state)
{
    char dir[64] = "/tmp/cfdr-test-alarmd-XXXXXX", cmd[128];
    const char *status_hook =
        "{\"notifications\":{\"targets\":[{\"kind\":\"webhook\",\"target\":"
        "\"http://127.0.0.1:1\",\"id\":\"a\"},{\"kind\":\"file\",\"target\":\"/x\","
        "\"id\":\"b\"}]}}";
    const char *status_file = "{\"notifications\":{\"targets\":[{\"kind\":\"file\","
                              "\"target\":\"/x\",\"id\":\"b\"}]}}";
    const char *file_line = "{\"alarm\":\"t-failover-active\",\"state\":\"ALARM\","
                            "\"kind\":\"file\",\"published_at\":100.0,"
                            "\"delivered_at\":100.01}\n";
    const char *hook_line = "{\"alarm\":\"t-failover-active\",\"state\":\"ALARM\","
                            "\"kind\":\"webhook\",\"published_at\":100.0,"
                            "\"delivered_at\":101.5}\n";
    char both[512];
    struct alarmd_alert a;
    cfdr_err e;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(both, sizeof(both), "%s%s", file_line, hook_line);
    /* a webhook is configured and got it 1.5 s after the file: the webhook's time counts */
    write_text(dir, ALARMD_STATUS_FILE, status_hook);
    write_text(dir, ALARMD_DELIVERIES_FILE, both);
    assert_int_equal(alarmd_first_alert(dir, "t-failover-active", "ALARM", 99, &a, &e), CFDR_OK);
    assert_true(a.found);
    assert_true(a.user_targets);
    assert_string_equal(a.kind, "webhook");
    assert_true(fabs(a.delivered_at - 101.5) < 1e-6);
    /* the webhook did not get it (down): no figure, however early the file got it */
    write_text(dir, ALARMD_DELIVERIES_FILE, file_line);
    assert_int_equal(alarmd_first_alert(dir, "t-failover-active", "ALARM", 99, &a, &e), CFDR_OK);
    assert_false(a.found);
    assert_true(a.user_targets);
    /* only the file is configured: the file's time, said to be the file's */
    write_text(dir, ALARMD_STATUS_FILE, status_file);
    assert_int_equal(alarmd_first_alert(dir, "t-failover-active", "ALARM", 99, &a, &e), CFDR_OK);
    assert_true(a.found);
    assert_false(a.user_targets);
    assert_string_equal(a.kind, "file");
    assert_true(fabs(a.delivered_at - 100.01) < 1e-6);
    /* published before the event: not this event's alert */
    assert_int_equal(alarmd_first_alert(dir, "t-failover-active", "ALARM", 100.5, &a, &e), CFDR_OK);
    assert_false(a.found);
    /* alarmd_first_delivery still takes any target */
    {
        int found = 0;
        double at = 0;
        char kind[16];
        write_text(dir, ALARMD_DELIVERIES_FILE, both);
        assert_int_equal(
            alarmd_first_delivery(dir, "t-failover-active", "ALARM", 99, &found, &at, kind, &e),
            CFDR_OK);
        assert_true(found);
        assert_string_equal(kind, "file");
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* No edge recorded: the service still runs, and says why it has no datapoints. */
static void test_no_edge(void **state)
{
    struct svc s;
    struct buf b;
    (void)state;
    svc_start(&s, 1); /* port 1: nothing listens there */
    clock_sleep_s(1.2);
    buf_init(&b, BUF_MAX_DOC);
    assert_int_equal(http("GET", svc_port(&s), "/status", &b), 200);
    assert_non_null(strstr(buf_str(&b), "could not be read"));
    buf_free(&b);
    svc_stop(&s);
}

static void test_bad_options(void **state)
{
    struct alarmd_options o;
    const char *emails[] = {"oncall@example.com"};
    cfdr_err e;
    (void)state;
    memset(&o, 0, sizeof(o));
    assert_int_equal(alarmd_run(&o, &e), CFDR_E_INTERNAL);
    o.dir = o.state_path = o.spool_dir = "/tmp";
    o.project = "t";
    o.secondary_region = "us-west-2";
    o.secondary_service = "t-west";
    o.period_s = 1;
    o.emails = emails;
    o.nemails = 1;
    assert_int_equal(alarmd_run(&o, &e), CFDR_E_CONFIG);
    assert_non_null(strstr(e.msg, "alarms.smtp"));
    o.nemails = 0;
    o.period_s = 15; /* CloudWatch would not take it */
    assert_int_equal(alarmd_run(&o, &e), CFDR_E_CONFIG);
    assert_non_null(strstr(e.msg, "period 15 s"));
    o.period_s = 1;
    {
        /* the control API has no authentication: loopback only */
        char dir[64] = "/tmp/cfdr-test-alarmd-XXXXXX", cmd[128];
        assert_non_null(mkdtemp(dir));
        o.dir = o.state_path = o.spool_dir = dir;
        o.listen = "0.0.0.0:0";
        assert_int_equal(alarmd_run(&o, &e), CFDR_E_CONFIG);
        assert_non_null(strstr(e.msg, "not loopback"));
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_alarms_follow_the_edge),
        cmocka_unit_test(test_control_api),
        cmocka_unit_test(test_no_edge),
        cmocka_unit_test(test_two_webhooks_one_host),
        cmocka_unit_test(test_first_alert_prefers_a_person),
    };
    int rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
