/*
 * Unit tests for drills/notify, with real sockets on 127.0.0.1:
 *   - a webhook receiver (libevent evhttp on its own thread) that is down (connections
 *     refused) and comes up later, answers 503 for a while, or answers slowly;
 *   - a real SMTP server: tests/servers/smtp_sink.py (Debian's python3-aiosmtpd), started per
 *     test with fork/exec and stopped by PID, also when a test fails;
 *   - JSON-lines files and the spool in a temporary directory per test.
 * Time is scaled down (backoff of 0.1-0.4 s, retry windows of about a second) but the
 * mechanism is the one cfdr runs with.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <json-c/json.h>

#include "aws/buf.h"
#include "aws/clock.h"
#include "drills/alarm.h"
#include "drills/notify.h"

#define TOPIC "arn:aws:sns:us-west-2:000000000000:dr-demo-alarms"
#define MAX_RECS 64

/* ---- fixture: temporary directory, log capture, delivery callback ---- */

struct fx {
    char dir[256];
    char spool[300];
    pthread_mutex_t mu;
    struct buf log;
    struct cfdr_log lg;
    char delivered[MAX_RECS][64];
    int ndelivered;
    pid_t smtp_pid;
    int smtp_port;
    char smtp_record[320];
};

static void capture(void *ud, enum cfdr_log_level level, const char *line)
{
    struct fx *fx = ud;
    (void)level;
    pthread_mutex_lock(&fx->mu);
    buf_addf(&fx->log, "%s\n", line);
    pthread_mutex_unlock(&fx->mu);
}

static void on_delivered(void *ud, const struct notify_delivery *d)
{
    struct fx *fx = ud;
    pthread_mutex_lock(&fx->mu);
    if (fx->ndelivered < MAX_RECS)
        snprintf(fx->delivered[fx->ndelivered++], 64, "%s", d->message_id);
    pthread_mutex_unlock(&fx->mu);
    assert_true(d->delivered_at >= d->published_at);
    assert_true(d->attempts >= 1);
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/cfdr-notify-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->spool, sizeof(fx->spool), "%s/notify-spool", fx->dir);
    pthread_mutex_init(&fx->mu, NULL);
    buf_init(&fx->log, BUF_MAX_DOC);
    fx->lg.level = CFDR_LOG_DEBUG;
    fx->lg.emit = capture;
    fx->lg.ud = fx;
    *state = fx;
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void smtp_stop(struct fx *fx);

static int teardown(void **state)
{
    struct fx *fx = *state;
    smtp_stop(fx);
    nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    buf_free(&fx->log);
    pthread_mutex_destroy(&fx->mu);
    free(fx);
    return 0;
}

static struct notify_options options(struct fx *fx)
{
    struct notify_options o;
    memset(&o, 0, sizeof(o));
    o.spool_dir = fx->spool;
    o.connect_timeout_s = 1;
    o.attempt_timeout_s = 5;
    o.backoff_initial_s = 0.1;
    o.backoff_max_s = 0.4;
    o.retry_window_s = 30;
    o.log = &fx->lg;
    o.delivered = on_delivered;
    o.ud = fx;
    return o;
}

static struct notify *make(struct notify_options *o)
{
    struct notify *n = NULL;
    cfdr_err err;
    err_clear(&err);
    if (notify_new(o, &n, &err) != CFDR_OK)
        fail_msg("notify_new: %s", err.msg);
    return n;
}

static void publish(struct notify *n, const char *subject, const char *message, char id[37])
{
    struct notify_message m = {TOPIC, subject, message, NULL};
    cfdr_err err;
    err_clear(&err);
    if (notify_publish(n, &m, id, &err) != CFDR_OK)
        fail_msg("notify_publish: %s", err.msg);
}

static size_t spool_files(const struct fx *fx)
{
    DIR *d = opendir(fx->spool);
    struct dirent *de;
    size_t k = 0;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            k++;
    closedir(d);
    return k;
}

static void assert_log_lacks(struct fx *fx, const char *needle)
{
    pthread_mutex_lock(&fx->mu);
    if (strstr(buf_str(&fx->log), needle)) {
        pthread_mutex_unlock(&fx->mu);
        fail_msg("the log shows \"%s\":\n%s", needle, buf_str(&fx->log));
    }
    pthread_mutex_unlock(&fx->mu);
}

static int log_has(struct fx *fx, const char *needle)
{
    int r;
    pthread_mutex_lock(&fx->mu);
    r = strstr(buf_str(&fx->log), needle) != NULL;
    pthread_mutex_unlock(&fx->mu);
    return r;
}

static void assert_matches(const char *s, const char *re)
{
    regex_t rx;
    assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB | REG_NEWLINE), 0);
    if (regexec(&rx, s, 0, NULL, 0) != 0)
        fail_msg("no line of:\n%s\nmatches %s", s, re);
    regfree(&rx);
}

/* ---- the webhook receiver ---- */

struct rec {
    char *body;
    char content_type[128], message_type[64], message_id[64], topic_arn[128], sub_arn[200];
    char path[256];
    int status;
    double at; /* wall clock */
};

struct rx {
    int port;
    int fd; /* the reserved socket until the receiver comes up (then evhttp owns it) */
    struct event_base *base;
    struct evhttp *http;
    pthread_t thread;
    int running;
    pthread_mutex_t mu;
    int fail_first; /* answer 503 to this many requests */
    double delay_s; /* answer this late */
    struct rec recs[MAX_RECS];
    int nrec;
};

/* A port nothing listens on (yet): the socket stays bound but does not listen, so connecting
 * is refused and no other test can take the port meanwhile. Returns the socket; *port gets
 * its number. */
static int reserve_port(int *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return s;
}

static void copy_header(struct evhttp_request *req, const char *name, char *out, size_t n)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);
    snprintf(out, n, "%s", v ? v : "");
}

static void reply_later(evutil_socket_t fd, short what, void *arg)
{
    struct evhttp_request *req = arg;
    (void)fd;
    (void)what;
    evhttp_send_reply(req, 200, "OK", NULL);
}

static void rx_handle(struct evhttp_request *req, void *arg)
{
    struct rx *rx = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    struct rec *r;
    int status;
    double delay;

    pthread_mutex_lock(&rx->mu);
    status = rx->nrec < rx->fail_first ? 503 : 200;
    delay = rx->delay_s;
    if (rx->nrec < MAX_RECS) {
        r = &rx->recs[rx->nrec++];
        r->body = calloc(1, len + 1);
        if (r->body)
            evbuffer_copyout(in, r->body, len);
        copy_header(req, "Content-Type", r->content_type, sizeof(r->content_type));
        copy_header(req, "x-amz-sns-message-type", r->message_type, sizeof(r->message_type));
        copy_header(req, "x-amz-sns-message-id", r->message_id, sizeof(r->message_id));
        copy_header(req, "x-amz-sns-topic-arn", r->topic_arn, sizeof(r->topic_arn));
        copy_header(req, "x-amz-sns-subscription-arn", r->sub_arn, sizeof(r->sub_arn));
        snprintf(r->path, sizeof(r->path), "%s", evhttp_request_get_uri(req));
        r->at = clock_wall_s();
        r->status = evhttp_request_get_command(req) == EVHTTP_REQ_POST ? status : 405;
    }
    pthread_mutex_unlock(&rx->mu);
    if (status == 200 && delay > 0) {
        struct timeval tv = {(time_t)delay, (suseconds_t)((delay - (double)(time_t)delay) * 1e6)};
        event_base_once(rx->base, -1, EV_TIMEOUT, reply_later, req, &tv);
        return;
    }
    evhttp_send_reply(req, status, status == 200 ? "OK" : "Service Unavailable", NULL);
}

static void *rx_run(void *arg)
{
    struct rx *rx = arg;
    event_base_dispatch(rx->base);
    return NULL;
}

static void rx_init(struct rx *rx)
{
    memset(rx, 0, sizeof(*rx));
    pthread_mutex_init(&rx->mu, NULL);
    rx->fd = reserve_port(&rx->port);
}

static void rx_start(struct rx *rx)
{
    rx->base = event_base_new();
    assert_non_null(rx->base);
    rx->http = evhttp_new(rx->base);
    assert_non_null(rx->http);
    /* Up on the very socket that refused connections so far. */
    assert_int_equal(listen(rx->fd, 64), 0);
    assert_int_equal(evutil_make_socket_nonblocking(rx->fd), 0);
    assert_non_null(evhttp_accept_socket_with_handle(rx->http, rx->fd));
    rx->fd = -1; /* closed by evhttp_free */
    evhttp_set_gencb(rx->http, rx_handle, rx);
    assert_int_equal(pthread_create(&rx->thread, NULL, rx_run, rx), 0);
    rx->running = 1;
}

static void rx_stop(struct rx *rx)
{
    if (rx->running) {
        event_base_loopbreak(rx->base);
        pthread_join(rx->thread, NULL);
        rx->running = 0;
    }
    if (rx->http)
        evhttp_free(rx->http);
    if (rx->fd >= 0)
        close(rx->fd);
    rx->fd = -1;
    if (rx->base)
        event_base_free(rx->base);
    rx->http = NULL;
    rx->base = NULL;
}

static void rx_free(struct rx *rx)
{
    rx_stop(rx);
    for (int i = 0; i < rx->nrec; i++)
        free(rx->recs[i].body);
    pthread_mutex_destroy(&rx->mu);
}

static int rx_count(struct rx *rx, int status)
{
    int k = 0;
    pthread_mutex_lock(&rx->mu);
    for (int i = 0; i < rx->nrec; i++)
        k += rx->recs[i].status == status;
    pthread_mutex_unlock(&rx->mu);
    return k;
}

/* The message ids the receiver accepted (answered 200), in arrival order. */
static int rx_accepted(struct rx *rx, char ids[][64], int max)
{
    int k = 0;
    pthread_mutex_lock(&rx->mu);
    for (int i = 0; i < rx->nrec && k < max; i++)
        if (rx->recs[i].status == 200)
            snprintf(ids[k++], 64, "%s", rx->recs[i].message_id);
    pthread_mutex_unlock(&rx->mu);
    return k;
}

static json_object *jget(json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, k, &v))
        fail_msg("no key %s", k);
    return v;
}

static void webhook_url(const struct rx *rx, char *out, size_t n)
{
    snprintf(out, n, "http://127.0.0.1:%d/hook/SECRET-PATH?token=SECRET-TOKEN", rx->port);
}

/* ---- the SMTP server ---- */

static const char *source_dir(char *out, size_t size)
{
    const char *env = getenv("CFDR_SOURCE_DIR");
    if (env && *env) {
        snprintf(out, size, "%s", env);
    } else {
        const char *f = __FILE__, *p = strstr(f, "/tests/unit/");
        snprintf(out, size, "%.*s", p ? (int)(p - f) : 1, p ? f : ".");
    }
    return out;
}

static void smtp_start(struct fx *fx, int reject)
{
    char script[600], line[32], src[512];
    pid_t parent = getpid();
    int p[2];
    size_t n = 0;

    snprintf(script, sizeof(script), "%s/tests/servers/smtp_sink.py", source_dir(src, sizeof(src)));
    snprintf(fx->smtp_record, sizeof(fx->smtp_record), "%s/smtp.jsonl", fx->dir);
    assert_int_equal(pipe(p), 0);
    fx->smtp_pid = fork();
    assert_true(fx->smtp_pid >= 0);
    if (fx->smtp_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        if (reject)
            execl("/usr/bin/python3", "python3", script, "--record", fx->smtp_record,
                  "--reject-rcpt", "--max-seconds", "100", (char *)NULL);
        else
            execl("/usr/bin/python3", "python3", script, "--record", fx->smtp_record,
                  "--max-seconds", "100", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    while (n < sizeof(line) - 1) {
        struct pollfd pf = {p[0], POLLIN, 0};
        assert_int_equal(poll(&pf, 1, 15000), 1);
        assert_int_equal(read(p[0], line + n, 1), 1);
        if (line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(p[0]);
    fx->smtp_port = atoi(line);
    assert_true(fx->smtp_port > 0 && fx->smtp_port < 65536);
}

static void smtp_stop(struct fx *fx)
{
    int status, i;
    if (fx->smtp_pid <= 0)
        return;
    kill(fx->smtp_pid, SIGTERM);
    for (i = 0; i < 100 && waitpid(fx->smtp_pid, &status, WNOHANG) == 0; i++)
        usleep(20000);
    if (i == 100) {
        kill(fx->smtp_pid, SIGKILL);
        waitpid(fx->smtp_pid, &status, 0);
    }
    fx->smtp_pid = 0;
}

/* The SMTP sink's records of one event kind, as a JSON array (json_object_put it). */
static json_object *smtp_records(struct fx *fx, const char *event)
{
    json_object *arr = json_object_new_array();
    FILE *f = fopen(fx->smtp_record, "r");
    char *line = NULL;
    size_t cap = 0;
    if (!f)
        return arr;
    while (getline(&line, &cap, f) > 0) {
        json_object *o = json_tokener_parse(line);
        assert_non_null(o);
        if (strcmp(json_object_get_string(jget(o, "event")), event) == 0)
            json_object_array_add(arr, o);
        else
            json_object_put(o);
    }
    free(line);
    fclose(f);
    return arr;
}

/* ---- tests: validation ---- */

static void test_bad_targets_rejected(void **state)
{
    struct fx *fx = *state;
    struct notify_options o = options(fx);
    struct notify *n;
    cfdr_err err;
    static const char *const bad_urls[] = {
        "ftp://user:SECRET-PASS@files.example.com/drop?token=SECRET-TOKEN",
        "hooks.example.com/cfdr",
        "http://",
        "https://hooks.example.com/a b",
        "https://hooks.example.com:99999/x",
        "not a url at all",
    };
    static const char *const bad_addresses[] = {
        "not-an-email",        "a@b",
        "two@@example.com",    "sp ace@example.com",
        ".dot@example.com",    "oncall@example..com",
        "oncall@-example.com", "",
    };

    o.smtp_url = "http://mail.example.com";
    assert_int_equal(notify_new(&o, &n, &err), CFDR_E_CONFIG);
    assert_null(n);
    assert_non_null(strstr(err.msg, "is not a mail server URL: wrong scheme"));
    o.smtp_url = "smtp://user:SECRET-PASS@127.0.0.1:25";
    o.mail_from = "no sender";
    assert_int_equal(notify_new(&o, &n, &err), CFDR_E_CONFIG);
    assert_non_null(strstr(err.msg, "is not a sender address"));
    o.mail_from = NULL;
    o.smtp_url = NULL;
    o.spool_dir = NULL;
    assert_int_equal(notify_new(&o, &n, &err), CFDR_E_CONFIG);

    o = options(fx);
    n = make(&o);
    for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
        err_clear(&err);
        assert_int_equal(notify_add_webhook(n, bad_urls[i], &err), CFDR_E_CONFIG);
        assert_non_null(strstr(err.msg, "is not a webhook URL"));
        assert_null(strstr(err.msg, "SECRET"));
    }
    assert_non_null(strstr(err.msg, "(expected https:// or http://host[:port][/path]"));
    for (size_t i = 0; i < sizeof(bad_addresses) / sizeof(bad_addresses[0]); i++) {
        err_clear(&err);
        assert_int_equal(notify_add_email(n, bad_addresses[i], &err), CFDR_E_CONFIG);
        if (!strstr(err.msg, "is not an email address (expected local@domain.tld"))
            fail_msg("%s: %s", bad_addresses[i], err.msg);
    }
    /* A valid address, but no mail server configured. */
    assert_int_equal(notify_add_email(n, "oncall@example.com", &err), CFDR_E_CONFIG);
    assert_non_null(strstr(err.msg, "needs a mail server: set alarms.smtp"));
    assert_int_equal(notify_add_file(n, "", &err), CFDR_E_CONFIG);
    assert_int_equal(notify_add_webhook(n, "https://hooks.example.com/cfdr", &err), CFDR_OK);
    assert_int_equal(notify_add_webhook(n, "https://hooks.example.com/cfdr", &err), CFDR_E_CONFIG);
    assert_non_null(strstr(err.msg, "webhook https://hooks.example.com is listed twice"));
    notify_free(n);
    notify_free(NULL);
}

static void test_bad_messages_rejected(void **state)
{
    struct fx *fx = *state;
    struct notify_options o = options(fx);
    struct notify *n = make(&o);
    char longsub[120];
    cfdr_err err;
    struct notify_message m;

    memset(longsub, 's', sizeof(longsub) - 1);
    longsub[sizeof(longsub) - 1] = '\0';
    m = (struct notify_message){TOPIC, "line\nbreak", "hello", NULL};
    assert_int_equal(notify_publish(n, &m, NULL, &err), CFDR_E_USAGE);
    assert_non_null(strstr(err.msg, "printable ASCII without line breaks"));
    m = (struct notify_message){TOPIC, longsub, "hello", NULL};
    assert_int_equal(notify_publish(n, &m, NULL, &err), CFDR_E_USAGE);
    m = (struct notify_message){TOPIC, "", "hello", NULL};
    assert_int_equal(notify_publish(n, &m, NULL, &err), CFDR_E_USAGE);
    m = (struct notify_message){NULL, "s", "hello", NULL};
    assert_int_equal(notify_publish(n, &m, NULL, &err), CFDR_E_USAGE);
    m = (struct notify_message){"my-topic", "s", "hello", NULL};
    assert_int_equal(notify_publish(n, &m, NULL, &err), CFDR_E_USAGE);
    m = (struct notify_message){TOPIC, "s", "", NULL};
    assert_int_equal(notify_publish(n, &m, NULL, &err), CFDR_E_USAGE);
    m = (struct notify_message){TOPIC, "s", "caf\xc3", NULL};
    assert_int_equal(notify_publish(n, &m, NULL, &err), CFDR_E_USAGE);
    assert_non_null(strstr(err.msg, "UTF-8"));
    m = (struct notify_message){TOPIC, "s", "ok", "\xed\xa0\x80 surrogate"};
    assert_int_equal(notify_publish(n, &m, NULL, &err), CFDR_E_USAGE);
    /* No targets: nothing to do, and nothing spooled. */
    m = (struct notify_message){TOPIC, NULL, "hello", NULL};
    assert_int_equal(notify_publish(n, &m, NULL, &err), CFDR_OK);
    assert_int_equal(spool_files(fx), 0);
    assert_int_equal(notify_flush(n, 0.1, &err), CFDR_OK);
    notify_free(n);
}

/* ---- tests: webhooks ---- */

/* PRODUCT.md: "a receiver down for 20 s still gets every notification once it is back, in
 * order". Scaled: the receiver refuses connections for about 3 s, then answers 503 twice,
 * then accepts. Every notification arrives once, in publication order. */
static void test_webhook_down_then_up(void **state)
{
    struct fx *fx = *state;
    struct notify_options o = options(fx);
    struct notify *n;
    struct rx rx;
    char url[256], ids[5][37], got[MAX_RECS][64], msg[64];
    cfdr_err err;
    double t0;
    int k;

    rx_init(&rx);
    rx.fail_first = 2;
    n = make(&o);
    webhook_url(&rx, url, sizeof(url));
    assert_int_equal(notify_add_webhook(n, url, &err), CFDR_OK);
    t0 = clock_mono_s();
    for (int i = 0; i < 5; i++) {
        snprintf(msg, sizeof(msg), "{\"n\":%d,\"quote\":\"\\\"/\"}", i);
        publish(n, i == 4 ? NULL : "ALARM: \"dr-demo-failover-active\" in US West (Oregon)", msg,
                ids[i]);
    }
    /* Publishing only spools (a few fsyncs): it never waits for the receiver. */
    assert_true(clock_mono_s() - t0 < 2.0);
    assert_int_equal(spool_files(fx), 5);
    clock_sleep_s(3.0);
    assert_int_equal(rx_count(&rx, 200), 0);
    rx_start(&rx);
    if (notify_flush(n, 15, &err) != CFDR_OK)
        fail_msg("flush: %s\nlog:\n%s", err.msg, buf_str(&fx->log));
    assert_int_equal(spool_files(fx), 0);

    /* Exactly once, in order; the two 503s were retried. */
    assert_int_equal(rx_count(&rx, 503), 2);
    k = rx_accepted(&rx, got, MAX_RECS);
    assert_int_equal(k, 5);
    for (int i = 0; i < 5; i++) {
        assert_string_equal(got[i], ids[i]);
        assert_string_equal(fx->delivered[i], ids[i]);
    }
    assert_int_equal(fx->ndelivered, 5);

    /* What SNS sends. */
    for (int i = 0; i < rx.nrec; i++) {
        struct rec *r = &rx.recs[i];
        json_object *doc = json_tokener_parse(r->body);
        assert_non_null(doc);
        assert_string_equal(r->path, "/hook/SECRET-PATH?token=SECRET-TOKEN");
        assert_string_equal(r->content_type, "text/plain; charset=UTF-8");
        assert_string_equal(r->message_type, "Notification");
        assert_string_equal(r->topic_arn, TOPIC);
        assert_matches(r->sub_arn, "^arn:aws:sns:us-west-2:000000000000:dr-demo-alarms:[0-9a-f]{8}"
                                   "-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
        assert_string_equal(json_object_get_string(jget(doc, "Type")), "Notification");
        assert_string_equal(json_object_get_string(jget(doc, "MessageId")), r->message_id);
        assert_string_equal(json_object_get_string(jget(doc, "TopicArn")), TOPIC);
        assert_matches(json_object_get_string(jget(doc, "Timestamp")),
                       "^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$");
        assert_string_equal(json_object_get_string(jget(doc, "SignatureVersion")), "1");
        assert_string_equal(json_object_get_string(jget(doc, "Signature")), "");
        assert_string_equal(json_object_get_string(jget(doc, "SigningCertURL")), "");
        assert_string_equal(json_object_get_string(jget(doc, "UnsubscribeURL")), "");
        json_object_put(doc);
    }
    {
        /* The last accepted one: no Subject key at all, as SNS does without a subject; the
         * message comes back byte for byte; SNS's layout. */
        struct rec *last = &rx.recs[rx.nrec - 1];
        json_object *doc = json_tokener_parse(last->body), *v;
        assert_false(json_object_object_get_ex(doc, "Subject", &v));
        assert_string_equal(json_object_get_string(jget(doc, "Message")),
                            "{\"n\":4,\"quote\":\"\\\"/\"}");
        static const char head[] = "{\n  \"Type\" : \"Notification\",\n  \"MessageId\" : \"";
        assert_true(strncmp(last->body, head, strlen(head)) == 0);
        assert_non_null(strstr(last->body, "\",\n  \"UnsubscribeURL\" : \"\"\n}"));
        json_object_put(doc);
        doc = json_tokener_parse(rx.recs[rx.nrec - 2].body);
        assert_string_equal(json_object_get_string(jget(doc, "Subject")),
                            "ALARM: \"dr-demo-failover-active\" in US West (Oregon)");
        json_object_put(doc);
    }
    /* Retries were logged with scheme://host:port only. */
    snprintf(msg, sizeof(msg), "webhook http://127.0.0.1:%d: attempt 1", rx.port);
    assert_true(log_has(fx, msg));
    assert_log_lacks(fx, "SECRET");
    notify_free(n);
    rx_free(&rx);
}

/* A receiver that never comes up: retries stop after the window, the notifications stay in
 * the spool, the error says so (without the URL's secrets); the next publication tries again
 * and, with the receiver up, delivers everything in order. */
static void test_webhook_parks_and_keeps_spool(void **state)
{
    struct fx *fx = *state;
    struct notify_options o = options(fx);
    struct notify_stats st;
    struct notify *n;
    struct rx rx;
    char url[256], ids[3][37], got[MAX_RECS][64], want[128];
    cfdr_err err;

    rx_init(&rx);
    o.retry_window_s = 0.8;
    n = make(&o);
    webhook_url(&rx, url, sizeof(url));
    assert_int_equal(notify_add_webhook(n, url, &err), CFDR_OK);
    publish(n, "first", "one", ids[0]);
    publish(n, "second", "two", ids[1]);
    assert_int_equal(notify_flush(n, 3, &err), CFDR_E_NET);
    snprintf(want, sizeof(want),
             "2 notification(s) not delivered yet (last error: webhook "
             "http://127.0.0.1:%d: ",
             rx.port);
    if (!strstr(err.msg, want))
        fail_msg("%s", err.msg);
    assert_non_null(strstr(err.msg, "they stay in"));
    assert_null(strstr(err.msg, "SECRET"));
    notify_stats(n, &st);
    assert_int_equal(st.parked, 1);
    assert_int_equal(st.pending, 2);
    assert_true(st.failed_attempts >= 3);
    assert_int_equal(spool_files(fx), 2);
    /* The thread logs just after it parks the target. */
    for (int i = 0; i < 100 && !log_has(fx, "it stays in"); i++)
        clock_sleep_s(0.01);
    assert_true(log_has(fx, "it stays in"));
    /* Parked: nothing is tried any more. */
    {
        size_t before = st.failed_attempts;
        clock_sleep_s(0.6);
        notify_stats(n, &st);
        assert_int_equal(st.failed_attempts, before);
    }

    rx_start(&rx);
    publish(n, "third", "three", ids[2]);
    assert_int_equal(notify_flush(n, 10, &err), CFDR_OK);
    assert_int_equal(rx_accepted(&rx, got, MAX_RECS), 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(got[i], ids[i]);
    assert_int_equal(spool_files(fx), 0);
    notify_stats(n, &st);
    assert_int_equal(st.parked, 0);
    assert_int_equal(st.delivered, 3);
    assert_log_lacks(fx, "SECRET");
    notify_free(n);
    rx_free(&rx);
}

/* Stopping with pending notifications loses nothing: the next start resumes them, each
 * delivered once. Files of a target no longer configured are left alone. */
static void test_spool_survives_restart(void **state)
{
    struct fx *fx = *state;
    struct notify_options o = options(fx);
    struct notify_stats st;
    struct notify *n;
    struct rx rx;
    char url[256], other[64], ids[3][37], got[MAX_RECS][64], late[37];
    size_t resumed = 0;
    int held, port;
    cfdr_err err;

    rx_init(&rx);
    webhook_url(&rx, url, sizeof(url));
    held = reserve_port(&port);
    snprintf(other, sizeof(other), "http://127.0.0.1:%d/gone", port);
    o.backoff_initial_s = 5; /* nothing is retried before the "stop" */
    o.backoff_max_s = 5;
    n = make(&o);
    assert_int_equal(notify_add_webhook(n, url, &err), CFDR_OK);
    assert_int_equal(notify_add_webhook(n, other, &err), CFDR_OK);
    for (int i = 0; i < 3; i++)
        publish(n, "pending", i == 0 ? "a" : i == 1 ? "b" : "c", ids[i]);
    assert_int_equal(notify_flush(n, 0.3, &err), CFDR_E_NET);
    notify_free(n); /* "cfdr is stopped" */
    assert_int_equal(spool_files(fx), 6);

    rx_start(&rx);
    o = options(fx);
    n = make(&o);
    assert_int_equal(notify_add_webhook(n, url, &err), CFDR_OK);
    /* Published after the restart but before the resume: still sent after the older ones. */
    publish(n, "later", "d", late);
    assert_int_equal(notify_resume(n, &resumed, &err), CFDR_OK);
    assert_int_equal(resumed, 3);
    assert_int_equal(notify_resume(n, &resumed, &err), CFDR_OK); /* twice: nothing doubles */
    assert_int_equal(resumed, 0);
    assert_int_equal(notify_flush(n, 10, &err), CFDR_OK);
    assert_int_equal(rx_accepted(&rx, got, MAX_RECS), 4);
    for (int i = 0; i < 3; i++)
        assert_string_equal(got[i], ids[i]);
    assert_string_equal(got[3], late);
    notify_stats(n, &st);
    assert_int_equal(st.orphaned, 3);
    assert_int_equal(spool_files(fx), 3); /* the other target's, kept */
    assert_true(log_has(fx, "3 notification(s) in"));
    notify_free(n);
    rx_free(&rx);
    close(held);
}

/* Two notifiers on one spool (two cfdr processes) deliver each notification once, in order:
 * a file being delivered is locked, and one the other removed counts as delivered. */
static void test_shared_spool_delivers_once(void **state)
{
    struct fx *fx = *state;
    struct notify_options o = options(fx);
    struct notify *a, *b;
    struct rx rx;
    char url[256], ids[4][37], got[MAX_RECS][64];
    cfdr_err err;

    rx_init(&rx);
    webhook_url(&rx, url, sizeof(url));
    a = make(&o);
    assert_int_equal(notify_add_webhook(a, url, &err), CFDR_OK);
    for (int i = 0; i < 4; i++)
        publish(a, "shared", "x", ids[i]);
    b = make(&o);
    assert_int_equal(notify_add_webhook(b, url, &err), CFDR_OK); /* queues the same 4 */
    rx_start(&rx);
    assert_int_equal(notify_flush(a, 10, &err), CFDR_OK);
    assert_int_equal(notify_flush(b, 10, &err), CFDR_OK);
    assert_int_equal(rx_accepted(&rx, got, MAX_RECS), 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(got[i], ids[i]);
    assert_int_equal(fx->ndelivered, 4);
    assert_int_equal(spool_files(fx), 0);
    notify_free(a);
    notify_free(b);
    rx_free(&rx);
}

/* A slow receiver holds up neither the publisher nor the other targets. */
static void test_slow_webhook_does_not_block(void **state)
{
    struct fx *fx = *state;
    struct notify_options o = options(fx);
    struct notify *n;
    struct rx rx;
    char url[256], path[320], id[37];
    struct stat st;
    cfdr_err err;
    double t0;

    rx_init(&rx);
    rx.delay_s = 2.5;
    rx_start(&rx);
    webhook_url(&rx, url, sizeof(url));
    snprintf(path, sizeof(path), "%s/alarms.jsonl", fx->dir);
    n = make(&o);
    assert_int_equal(notify_add_webhook(n, url, &err), CFDR_OK);
    assert_int_equal(notify_add_file(n, path, &err), CFDR_OK);
    t0 = clock_mono_s();
    publish(n, "slow", "x", id);
    assert_true(clock_mono_s() - t0 < 1.0);
    /* The file gets its line long before the webhook answers. */
    for (int i = 0; i < 200 && spool_files(fx) != 1; i++)
        clock_sleep_s(0.01);
    assert_int_equal(spool_files(fx), 1); /* the webhook's, still in flight */
    assert_true(clock_mono_s() - t0 < 2.0);
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 0);
    assert_int_equal(notify_flush(n, 10, &err), CFDR_OK);
    assert_true(clock_mono_s() - t0 >= 2.4);
    assert_int_equal(rx_count(&rx, 200), 1);
    notify_free(n);
    rx_free(&rx);
}

/* PRODUCT.md section 5's goal, end to end on loopback: with a 1 s period, the webhook has the
 * ALARM notification within 2 s of the first failed-over request. The evaluation runs where
 * cfdr will run it: at the period boundary, plus a little for late samples. */
static void test_alarm_to_webhook_within_two_seconds(void **state)
{
    struct fx *fx = *state;
    struct notify_options o = options(fx);
    struct alarm_def d;
    struct alarm_result r;
    struct alarm *a = NULL;
    struct notify *n;
    struct rx rx;
    struct buf json, text;
    char url[256], subject[ALARM_SUBJECT_MAX + 1], id[37];
    struct notify_message m;
    json_object *doc, *alarm_doc;
    double request_at;
    cfdr_err err;

    rx_init(&rx);
    rx_start(&rx);
    n = make(&o);
    webhook_url(&rx, url, sizeof(url));
    assert_int_equal(notify_add_webhook(n, url, &err), CFDR_OK);

    memset(&d, 0, sizeof(d));
    d.name = "dr-demo-failover-active";
    d.metric_namespace = "AWS/AppRunner";
    d.metric_name = "Requests";
    d.dimensions[0].name = "ServiceName";
    d.dimensions[0].value = "dr-demo-west";
    d.ndimensions = 1;
    d.statistic = ALARM_STAT_SUM;
    d.period_s = 1;
    d.local = 1;
    d.evaluation_periods = 1;
    d.threshold = 1;
    d.comparison = ALARM_CMP_GREATER_OR_EQUAL;
    d.treat_missing_data = ALARM_MISSING_NOT_BREACHING;
    d.region = "us-west-2";
    d.actions_enabled = 1;
    d.alarm_actions[0] = TOPIC;
    d.nalarm_actions = 1;
    assert_int_equal(alarm_new(&d, clock_wall_s(), &a, &err), CFDR_OK);

    request_at = clock_wall_s(); /* the first request the secondary served */
    assert_int_equal(alarm_add_sample(a, request_at, 1, &err), CFDR_OK);
    clock_sleep_s(alarm_next_evaluation(a, request_at) + 0.05 - clock_wall_s());
    alarm_evaluate(a, clock_wall_s(), &r);
    assert_int_equal(r.new_state, ALARM_STATE_ALARM);
    assert_true(r.fire);
    buf_init(&json, BUF_MAX_SMALL);
    buf_init(&text, BUF_MAX_SMALL);
    assert_int_equal(alarm_message_json(a, &r, &json, &err), CFDR_OK);
    assert_int_equal(alarm_email_text(a, &r, &text, &err), CFDR_OK);
    alarm_subject(a, &r, subject);
    m.topic_arn = d.alarm_actions[0];
    m.subject = subject;
    m.message = buf_str(&json);
    m.email_message = buf_str(&text);
    assert_int_equal(notify_publish(n, &m, id, &err), CFDR_OK);
    assert_int_equal(notify_flush(n, 5, &err), CFDR_OK);

    assert_int_equal(rx_count(&rx, 200), 1);
    assert_true(rx.recs[0].at - request_at < 2.0);
    doc = json_tokener_parse(rx.recs[0].body);
    assert_non_null(doc);
    assert_string_equal(json_object_get_string(jget(doc, "Subject")),
                        "ALARM: \"dr-demo-failover-active\" in US West (Oregon)");
    alarm_doc = json_tokener_parse(json_object_get_string(jget(doc, "Message")));
    assert_non_null(alarm_doc);
    assert_string_equal(json_object_get_string(jget(alarm_doc, "NewStateValue")), "ALARM");
    assert_string_equal(json_object_get_string(jget(alarm_doc, "OldStateValue")),
                        "INSUFFICIENT_DATA");
    assert_string_equal(json_object_get_string(jget(alarm_doc, "AWSAccountId")), "000000000000");
    json_object_put(alarm_doc);
    json_object_put(doc);
    buf_free(&json);
    buf_free(&text);
    alarm_free(a);
    notify_free(n);
    rx_free(&rx);
}

/* ---- tests: e-mail ---- */

static const char *rec_data(json_object *arr, size_t i)
{
    return json_object_get_string(jget(json_object_array_get_idx(arr, i), "data"));
}

/* Undoes quoted-printable. */
static void qp_decode(const char *s, struct buf *out)
{
    for (; *s; s++) {
        if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
            s += 2;
        } else if (s[0] == '=' && s[1] && s[2]) {
            char hex[3] = {s[1], s[2], 0};
            buf_addc(out, (char)strtol(hex, NULL, 16));
            s += 2;
        } else {
            buf_addc(out, *s);
        }
    }
}

static void test_email_over_smtp(void **state)
{
    struct fx *fx = *state;
    struct notify_options o = options(fx);
    struct notify *n;
    char smtp[64], id[37], id2[37], re[200];
    struct notify_message m;
    json_object *msgs;
    struct buf longmsg, decoded;
    const char *body;
    cfdr_err err;

    smtp_start(fx, 0);
    snprintf(smtp, sizeof(smtp), "smtp://127.0.0.1:%d", fx->smtp_port);
    o.smtp_url = smtp;
    n = make(&o);
    assert_int_equal(notify_add_email(n, "oncall@example.com", &err), CFDR_OK);
    assert_int_equal(notify_add_email(n, "ops.team+dr@mail.example.org", &err), CFDR_OK);
    m.topic_arn = TOPIC;
    m.subject = "ALARM: \"dr-demo-failover-active\" in US West (Oregon)";
    m.message = "{\"AlarmName\":\"dr-demo-failover-active\"}";
    m.email_message = "You are receiving this email because your Amazon CloudWatch Alarm "
                      "\"dr-demo-failover-active\" entered ALARM.\n.a line that starts with a "
                      "dot\nUTF-8: caf\xc3\xa9\n";
    assert_int_equal(notify_publish(n, &m, id, &err), CFDR_OK);

    /* A message with a line longer than SMTP allows goes quoted-printable. */
    buf_init(&longmsg, BUF_MAX_SMALL);
    for (int i = 0; i < 150; i++)
        buf_addf(&longmsg, "{\"k%d\":\"v=%d\"}", i, i);
    m.subject = NULL;
    m.message = buf_str(&longmsg);
    m.email_message = NULL;
    assert_int_equal(notify_publish(n, &m, id2, &err), CFDR_OK);
    if (notify_flush(n, 15, &err) != CFDR_OK)
        fail_msg("flush: %s\nlog:\n%s", err.msg, buf_str(&fx->log));
    assert_int_equal(spool_files(fx), 0);

    msgs = smtp_records(fx, "message");
    assert_int_equal(json_object_array_length(msgs), 4);
    for (size_t i = 0; i < 4; i++) {
        json_object *r = json_object_array_get_idx(msgs, i);
        const char *to = json_object_get_string(json_object_array_get_idx(jget(r, "rcpt_tos"), 0));
        const char *data = rec_data(msgs, i);
        assert_string_equal(json_object_get_string(jget(r, "mail_from")), "cfdr@localhost");
        assert_int_equal(json_object_array_length(jget(r, "rcpt_tos")), 1);
        snprintf(re, sizeof(re), "\r\nTo: <%s>\r\n", to);
        assert_non_null(strstr(data, re));
        assert_matches(data, "^From: cfdr local alarms <cfdr@localhost>\r$");
        assert_matches(data, "^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-3][0-9] [A-Z][a-z]{2} "
                             "20[0-9]{2} [0-2][0-9]:[0-5][0-9]:[0-6][0-9] \\+0000\r$");
        assert_matches(data, "^MIME-Version: 1\\.0\r$");
        assert_matches(data, "^Content-Type: text/plain; charset=UTF-8\r$");
        snprintf(re, sizeof(re), "^Message-ID: <(%s|%s)@cfdr\\.local>\r$", id, id2);
        assert_matches(data, re);
    }
    /* Each address got each notification once, in order. */
    for (int a = 0; a < 2; a++) {
        const char *addr = a ? "ops.team+dr@mail.example.org" : "oncall@example.com";
        int seen = 0;
        for (size_t i = 0; i < 4; i++) {
            json_object *r = json_object_array_get_idx(msgs, i);
            if (strcmp(json_object_get_string(json_object_array_get_idx(jget(r, "rcpt_tos"), 0)),
                       addr) != 0)
                continue;
            assert_non_null(strstr(rec_data(msgs, i), seen == 0 ? id : id2));
            seen++;
        }
        assert_int_equal(seen, 2);
    }
    for (size_t i = 0; i < 4; i++) {
        const char *data = rec_data(msgs, i);
        if (!strstr(data, id))
            continue;
        assert_matches(data, "^Subject: ALARM: \"dr-demo-failover-active\" in US West "
                             "\\(Oregon\\)\r$");
        assert_matches(data, "^Content-Transfer-Encoding: 8bit\r$");
        body = strstr(data, "\r\n\r\n");
        assert_non_null(body);
        assert_non_null(strstr(body, "\r\n.a line that starts with a dot\r\n")); /* dot intact */
        assert_non_null(strstr(body, "UTF-8: caf\xc3\xa9\r\n"));
        assert_non_null(strstr(body, "remove this address from alarms.email"));
    }
    for (size_t i = 0; i < 4; i++) {
        const char *data = rec_data(msgs, i);
        if (!strstr(data, id2))
            continue;
        assert_matches(data, "^Subject: cfdr notification\r$");
        assert_matches(data, "^Content-Transfer-Encoding: quoted-printable\r$");
        body = strstr(data, "\r\n\r\n") + 4;
        for (const char *l = body; *l;) {
            const char *e = strstr(l, "\r\n");
            size_t len = e ? (size_t)(e - l) : strlen(l);
            assert_true(len <= 76);
            l += len + (e ? 2 : 0);
        }
        buf_init(&decoded, BUF_MAX_SMALL);
        qp_decode(body, &decoded);
        assert_true(strncmp(buf_str(&decoded), buf_str(&longmsg), buf_len(&longmsg)) == 0);
        buf_free(&decoded);
    }
    json_object_put(msgs);
    buf_free(&longmsg);
    notify_free(n);
}

/* A server that refuses the recipient: retried, then parked with the notification spooled and
 * the SMTP answer in the error. Nothing listening: the same. */
static void test_email_refused(void **state)
{
    struct fx *fx = *state;
    struct notify_options o = options(fx);
    struct notify_stats st;
    struct notify *n;
    char smtp[64];
    json_object *rej;
    int held, port;
    cfdr_err err;

    smtp_start(fx, 1);
    snprintf(smtp, sizeof(smtp), "smtp://127.0.0.1:%d", fx->smtp_port);
    o.smtp_url = smtp;
    o.retry_window_s = 0.8;
    n = make(&o);
    assert_int_equal(notify_add_email(n, "oncall@example.com", &err), CFDR_OK);
    publish(n, "refused", "hello", NULL);
    assert_int_equal(notify_flush(n, 5, &err), CFDR_E_NET);
    assert_non_null(strstr(err.msg, "1 notification(s) not delivered yet (last error: email "
                                    "oncall@example.com: the SMTP server answered 550"));
    assert_int_equal(spool_files(fx), 1);
    rej = smtp_records(fx, "rcpt_rejected");
    assert_true(json_object_array_length(rej) >= 2); /* retried */
    json_object_put(rej);
    rej = smtp_records(fx, "message");
    assert_int_equal(json_object_array_length(rej), 0);
    json_object_put(rej);
    notify_stats(n, &st);
    assert_int_equal(st.parked, 1);
    notify_free(n);
    smtp_stop(fx);

    /* Nothing listening. */
    held = reserve_port(&port);
    snprintf(smtp, sizeof(smtp), "smtp://127.0.0.1:%d", port);
    o.smtp_url = smtp;
    n = make(&o);
    assert_int_equal(notify_add_email(n, "oncall@example.com", &err), CFDR_OK);
    assert_int_equal(notify_resume(n, NULL, &err), CFDR_OK);
    assert_int_equal(notify_flush(n, 5, &err), CFDR_E_NET);
    assert_non_null(strstr(err.msg, "email oncall@example.com: "));
    assert_int_equal(spool_files(fx), 1);
    notify_stats(n, &st);
    assert_true(st.failed_attempts >= 2);
    close(held);

    /* And once a server takes it, it goes. */
    notify_free(n);
    smtp_start(fx, 0);
    snprintf(smtp, sizeof(smtp), "smtp://127.0.0.1:%d", fx->smtp_port);
    n = make(&o);
    assert_int_equal(notify_add_email(n, "oncall@example.com", &err), CFDR_OK);
    assert_int_equal(notify_resume(n, NULL, &err), CFDR_OK);
    assert_int_equal(notify_flush(n, 5, &err), CFDR_OK);
    rej = smtp_records(fx, "message");
    assert_int_equal(json_object_array_length(rej), 1);
    assert_non_null(strstr(rec_data(rej, 0), "Subject: refused\r\n"));
    json_object_put(rej);
    assert_int_equal(spool_files(fx), 0);
    notify_free(n);
}

/* ---- tests: JSON-lines files ---- */

static void test_jsonl_file(void **state)
{
    struct fx *fx = *state;
    struct notify_options o = options(fx);
    struct notify *n;
    char path[320], bad[320], ids[3][37], *line = NULL;
    size_t cap = 0;
    struct stat st;
    FILE *f;
    int k = 0;
    cfdr_err err;

    snprintf(path, sizeof(path), "%s/alarms.jsonl", fx->dir);
    snprintf(bad, sizeof(bad), "%s/no-such-dir/alarms.jsonl", fx->dir);
    o.retry_window_s = 0.5;
    n = make(&o);
    assert_int_equal(notify_add_file(n, path, &err), CFDR_OK);
    assert_int_equal(notify_add_file(n, bad, &err), CFDR_OK);
    publish(n, "one", "first\nline", ids[0]);
    publish(n, NULL, "second", ids[1]);
    publish(n, "three", "{\"third\":3}", ids[2]);
    assert_int_equal(notify_flush(n, 5, &err), CFDR_E_NET);
    assert_non_null(strstr(err.msg, "3 notification(s) not delivered yet (last error: file "));
    assert_non_null(strstr(err.msg, "cannot open: No such file or directory"));
    assert_int_equal(spool_files(fx), 3); /* the unwritable file's, kept */

    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    f = fopen(path, "r");
    assert_non_null(f);
    while (getline(&line, &cap, f) > 0) {
        json_object *doc = json_tokener_parse(line);
        assert_non_null(doc);
        assert_true(k < 3);
        assert_string_equal(json_object_get_string(jget(doc, "Type")), "Notification");
        assert_string_equal(json_object_get_string(jget(doc, "MessageId")), ids[k]);
        assert_string_equal(json_object_get_string(jget(doc, "TopicArn")), TOPIC);
        assert_string_equal(json_object_get_string(jget(doc, "Message")), k == 0 ? "first\nline"
                                                                          : k == 1
                                                                              ? "second"
                                                                              : "{\"third\":3}");
        json_object_put(doc);
        k++;
    }
    free(line);
    fclose(f);
    assert_int_equal(k, 3);

    /* The directory appears: the next start writes what was kept, in order. */
    notify_free(n);
    snprintf(path, sizeof(path), "%s/no-such-dir", fx->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    n = make(&o);
    assert_int_equal(notify_add_file(n, bad, &err), CFDR_OK);
    assert_int_equal(notify_resume(n, NULL, &err), CFDR_OK);
    assert_int_equal(notify_flush(n, 5, &err), CFDR_OK);
    f = fopen(bad, "r");
    assert_non_null(f);
    k = 0;
    line = NULL;
    while (getline(&line, &cap, f) > 0) {
        json_object *doc = json_tokener_parse(line);
        assert_string_equal(json_object_get_string(jget(doc, "MessageId")), ids[k]);
        json_object_put(doc);
        k++;
    }
    free(line);
    fclose(f);
    assert_int_equal(k, 3);
    assert_int_equal(spool_files(fx), 0);
    notify_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_targets_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_messages_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_down_then_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_parks_and_keeps_spool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_spool_delivers_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_webhook_does_not_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarm_to_webhook_within_two_seconds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_email_over_smtp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_email_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jsonl_file, setup, teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    {
        int rc = cmocka_run_group_tests(tests, NULL, NULL);
        curl_global_cleanup();
        libevent_global_shutdown();
        return rc;
    }
}
