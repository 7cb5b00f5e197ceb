/* alarmd: see alarmd.h. */
#include "alarmd.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "aws/atomicfile.h"
#include "aws/buf.h"
#include "aws/clock.h"
#include "drills/alarm.h"
#include "drills/notify.h"
#include "drills/promtext.h"

#define NALARMS 2
#define PUB_RING 512
#define SCRAPE_TIMEOUT_MS 500L
#define JOURNAL_READ_MAX (64u * 1024u * 1024u)
#define STATE_READ_MAX (16u * 1024u * 1024u)
#define STATUS_POINTS 5
#define TEST_REASON "Testing the notification path with cfdr alarms test (SetAlarmState)"

enum { A_FAILOVER = 0, A_5XX = 1 };
enum { C_SECONDARY = 0, C_REQUESTS, C_5XX, NCOUNTERS };

struct pubrec {
    char id[37];
    int alarm; /* index, -1: unknown */
    char alarm_name[ALARM_NAME_MAX + 1];
    char state[24];
};

struct target_info {
    enum notify_kind kind;
    char shown[300];
    char id[33]; /* notify_target_id: two webhooks on one host show the same */
};

struct alarmd {
    const struct alarmd_options *o;
    struct event_base *base;
    struct evhttp *http;
    struct event *eval_ev, *tick_ev, *sigint_ev, *sigterm_ev;
    struct alarm *alarms[NALARMS];
    char names[NALARMS][ALARM_NAME_MAX + 1];
    char topics[NALARMS][256];
    struct alarm_result last[NALARMS];
    int evaluated[NALARMS];
    struct notify *n;
    struct target_info targets[NOTIFY_TARGETS_MAX];
    size_t ntargets;
    /* mu guards everything the delivery thread touches: the published ring, the journals,
     * dirty and the counters; the loop thread takes it to publish and to write the status. */
    pthread_mutex_t mu;
    struct pubrec ring[PUB_RING];
    size_t ring_next;
    size_t delivered_kind[3];
    int dirty;
    /* scraping */
    int have_prev;
    double prev[NCOUNTERS];
    double last_scrape_at; /* wall time of the last good scrape; 0: none */
    char scrape_error[CFDR_ERR_MSG_MAX];
    char metrics_url[128];
    char path_status[1024], path_published[1024], path_deliveries[1024];
};

/* ---- journals ---- */

static void append_line(struct alarmd *d, const char *path, json_object *o)
{
    const char *s =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t len = strlen(s);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ssize_t w = -1;
    if (fd >= 0) {
        char *line = malloc(len + 1);
        if (line) {
            memcpy(line, s, len);
            line[len] = '\n';
            w = write(fd, line, len + 1);
            free(line);
        }
        close(fd);
    }
    if (w != (ssize_t)len + 1)
        log_msg(d->o->log, CFDR_LOG_ERROR, "alarmd: could not append to %s: %s", path,
                fd < 0 ? strerror(errno) : "short write");
}

static struct pubrec *ring_find(struct alarmd *d, const char *id)
{
    for (size_t i = 0; i < PUB_RING; i++)
        if (d->ring[i].id[0] && strcmp(d->ring[i].id, id) == 0)
            return &d->ring[i];
    return NULL;
}

static void copy_str(char *dst, size_t n, const char *src)
{
    size_t len = strnlen(src, n - 1);
    memmove(dst, src, len);
    dst[len] = '\0';
}

static void ring_add(struct alarmd *d, const char *id, const char *alarm, const char *state)
{
    struct pubrec *r = &d->ring[d->ring_next++ % PUB_RING];
    copy_str(r->id, sizeof(r->id), id);
    copy_str(r->alarm_name, sizeof(r->alarm_name), alarm);
    copy_str(r->state, sizeof(r->state), state);
}

/* What earlier runs published, so their spooled notifications still name their alarm. */
static void ring_load(struct alarmd *d)
{
    char *text = NULL, *line, *save = NULL;
    size_t len = 0;
    cfdr_err e;
    if (atomicfile_read(d->path_published, JOURNAL_READ_MAX, &text, &len, &e) != CFDR_OK)
        return;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_object *o = json_tokener_parse(line), *id, *al, *st;
        if (o && json_object_object_get_ex(o, "message_id", &id) &&
            json_object_object_get_ex(o, "alarm", &al) &&
            json_object_object_get_ex(o, "state", &st))
            ring_add(d, json_object_get_string(id), json_object_get_string(al),
                     json_object_get_string(st));
        json_object_put(o);
    }
    free(text);
}

static void on_delivered(void *ud, const struct notify_delivery *dl)
{
    struct alarmd *d = ud;
    json_object *o = json_object_new_object();
    struct pubrec *r;
    char pub[32], got[32];

    pthread_mutex_lock(&d->mu);
    r = ring_find(d, dl->message_id);
    clock_iso(dl->published_at, pub);
    clock_iso(dl->delivered_at, got);
    json_object_object_add(o, "alarm", json_object_new_string(r ? r->alarm_name : "unknown"));
    json_object_object_add(o, "state", json_object_new_string(r ? r->state : "unknown"));
    json_object_object_add(o, "message_id", json_object_new_string(dl->message_id));
    json_object_object_add(o, "kind", json_object_new_string(notify_kind_name(dl->kind)));
    json_object_object_add(o, "target", json_object_new_string(dl->target));
    json_object_object_add(o, "target_id",
                           dl->target_id ? json_object_new_string(dl->target_id) : NULL);
    json_object_object_add(o, "published_at", json_object_new_double(dl->published_at));
    json_object_object_add(o, "delivered_at", json_object_new_double(dl->delivered_at));
    json_object_object_add(o, "published", json_object_new_string(pub));
    json_object_object_add(o, "delivered", json_object_new_string(got));
    json_object_object_add(o, "attempts", json_object_new_int(dl->attempts));
    append_line(d, d->path_deliveries, o);
    if ((unsigned)dl->kind < 3)
        d->delivered_kind[dl->kind]++;
    d->dirty = 1;
    pthread_mutex_unlock(&d->mu);
    json_object_put(o);
}

/* ---- status ---- */

static json_object *iso_obj(double wall)
{
    char s[32];
    if (wall <= 0)
        return NULL;
    clock_iso(wall, s);
    return json_object_new_string(s);
}

static json_object *alarm_json(struct alarmd *d, int i)
{
    const struct alarm_def *def = alarm_definition(d->alarms[i]);
    const struct alarm_result *r = &d->last[i];
    json_object *o = json_object_new_object(), *pts = json_object_new_array();

    json_object_object_add(o, "name", json_object_new_string(def->name));
    json_object_object_add(o, "region", json_object_new_string(def->region));
    json_object_object_add(o, "namespace", json_object_new_string(def->metric_namespace));
    json_object_object_add(o, "metric", json_object_new_string(def->metric_name));
    json_object_object_add(o, "statistic",
                           json_object_new_string(alarm_statistic_name(def->statistic)));
    json_object_object_add(o, "comparison",
                           json_object_new_string(alarm_comparison_name(def->comparison)));
    json_object_object_add(o, "threshold", json_object_new_double(def->threshold));
    json_object_object_add(o, "period_s", json_object_new_int(def->period_s));
    json_object_object_add(o, "treat_missing_data",
                           json_object_new_string(alarm_missing_name(def->treat_missing_data)));
    json_object_object_add(o, "state",
                           json_object_new_string(alarm_state_name(alarm_state(d->alarms[i]))));
    json_object_object_add(o, "reason", json_object_new_string(alarm_state_reason(d->alarms[i])));
    json_object_object_add(o, "updated_at", iso_obj(alarm_state_changed_at(d->alarms[i])));
    json_object_object_add(o, "evaluated_at", d->evaluated[i] ? iso_obj(r->evaluated_at) : NULL);
    for (size_t k = 0; d->evaluated[i] && k < r->npoints && k < STATUS_POINTS; k++) {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "timestamp", iso_obj(r->points[k].timestamp));
        json_object_object_add(p, "value", json_object_new_double(r->points[k].value));
        json_object_object_add(p, "samples", json_object_new_double(r->points[k].samples));
        json_object_object_add(p, "breaching", json_object_new_boolean(r->points[k].breaching));
        json_object_array_add(pts, p);
    }
    json_object_object_add(o, "datapoints", pts);
    return o;
}

/* Caller holds d->mu. */
static json_object *status_json(struct alarmd *d)
{
    json_object *o = json_object_new_object(), *list = json_object_new_array();
    json_object *nt = json_object_new_object(), *tl = json_object_new_array(), *sc;
    struct notify_stats ns;

    json_object_object_add(o, "pid", json_object_new_int64((int64_t)getpid()));
    json_object_object_add(o, "updated_at", iso_obj(clock_wall_s()));
    json_object_object_add(o, "period_s", json_object_new_int(d->o->period_s));
    for (int i = 0; i < NALARMS; i++)
        json_object_array_add(list, alarm_json(d, i));
    json_object_object_add(o, "alarms", list);
    sc = json_object_new_object();
    json_object_object_add(sc, "url",
                           d->metrics_url[0] ? json_object_new_string(d->metrics_url) : NULL);
    json_object_object_add(sc, "last_scrape_at", iso_obj(d->last_scrape_at));
    json_object_object_add(sc, "last_error",
                           d->scrape_error[0] ? json_object_new_string(d->scrape_error) : NULL);
    json_object_object_add(o, "metrics", sc);
    notify_stats(d->n, &ns);
    for (size_t i = 0; i < d->ntargets; i++) {
        json_object *t = json_object_new_object();
        json_object_object_add(t, "kind",
                               json_object_new_string(notify_kind_name(d->targets[i].kind)));
        json_object_object_add(t, "target", json_object_new_string(d->targets[i].shown));
        json_object_object_add(t, "id", json_object_new_string(d->targets[i].id));
        json_object_array_add(tl, t);
    }
    json_object_object_add(nt, "targets", tl);
    json_object_object_add(nt, "pending", json_object_new_int64((int64_t)ns.pending));
    json_object_object_add(nt, "delivered", json_object_new_int64((int64_t)ns.delivered));
    json_object_object_add(nt, "failed_attempts",
                           json_object_new_int64((int64_t)ns.failed_attempts));
    json_object_object_add(nt, "parked", json_object_new_int64((int64_t)ns.parked));
    json_object_object_add(nt, "orphaned", json_object_new_int64((int64_t)ns.orphaned));
    json_object_object_add(nt, "last_error",
                           ns.last_error[0] ? json_object_new_string(ns.last_error) : NULL);
    {
        json_object *by = json_object_new_object();
        for (int k = 0; k < 3; k++)
            json_object_object_add(by, notify_kind_name((enum notify_kind)k),
                                   json_object_new_int64((int64_t)d->delivered_kind[k]));
        json_object_object_add(nt, "delivered_by_kind", by);
    }
    json_object_object_add(o, "notifications", nt);
    return o;
}

static void write_status(struct alarmd *d)
{
    json_object *o;
    const char *s;
    cfdr_err e;

    pthread_mutex_lock(&d->mu);
    o = status_json(d);
    d->dirty = 0;
    pthread_mutex_unlock(&d->mu);
    s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (atomicfile_write(d->path_status, s, strlen(s), 0600, ATOMICFILE_REPLACE, NULL, &e))
        log_msg(d->o->log, CFDR_LOG_ERROR, "alarmd: %s", e.msg);
    json_object_put(o);
}

/* ---- publishing ---- */

static void publish(struct alarmd *d, int i, const struct alarm_result *r, char id_out[37])
{
    struct buf msg, mail;
    char subject[ALARM_SUBJECT_MAX + 1], id[37] = "";
    struct notify_message m;
    cfdr_err e;
    cfdr_code rc;

    buf_init(&msg, NOTIFY_MESSAGE_MAX);
    buf_init(&mail, NOTIFY_MESSAGE_MAX);
    if (id_out)
        id_out[0] = '\0';
    rc = alarm_message_json(d->alarms[i], r, &msg, &e);
    if (!rc)
        rc = alarm_email_text(d->alarms[i], r, &mail, &e);
    if (!rc) {
        alarm_subject(d->alarms[i], r, subject);
        memset(&m, 0, sizeof(m));
        m.topic_arn = d->topics[i];
        m.subject = subject;
        m.message = buf_str(&msg);
        m.email_message = buf_str(&mail);
        /* Held across the publish so that a delivery callback (delivery thread) finds the
         * record of its message. */
        pthread_mutex_lock(&d->mu);
        rc = notify_publish(d->n, &m, id, &e);
        if (id[0]) {
            json_object *o = json_object_new_object();
            ring_add(d, id, d->names[i], alarm_state_name(r->new_state));
            json_object_object_add(o, "message_id", json_object_new_string(id));
            json_object_object_add(o, "alarm", json_object_new_string(d->names[i]));
            json_object_object_add(o, "state",
                                   json_object_new_string(alarm_state_name(r->new_state)));
            json_object_object_add(o, "old_state",
                                   json_object_new_string(alarm_state_name(r->old_state)));
            json_object_object_add(o, "published_at", json_object_new_double(clock_wall_s()));
            append_line(d, d->path_published, o);
            json_object_put(o);
            if (id_out)
                snprintf(id_out, 37, "%s", id);
        }
        d->dirty = 1;
        pthread_mutex_unlock(&d->mu);
    }
    if (rc)
        log_msg(d->o->log, CFDR_LOG_ERROR, "alarmd: %s %s -> %s: notification: %s", d->names[i],
                alarm_state_name(r->old_state), alarm_state_name(r->new_state), e.msg);
    else
        log_msg(d->o->log, CFDR_LOG_INFO, "alarmd: %s %s -> %s: published %s", d->names[i],
                alarm_state_name(r->old_state), alarm_state_name(r->new_state), id);
    buf_free(&msg);
    buf_free(&mail);
}

/* ---- scraping ---- */

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
    return buf_add(ud, data, size * n) == CFDR_OK ? size * n : 0;
}

/* The edge's admin port, from the state file (the edge may have been restarted since). */
static int edge_admin_port(struct alarmd *d, cfdr_err *err)
{
    char *text = NULL;
    size_t len = 0;
    json_object *doc, *res;
    int port = 0;

    if (atomicfile_read(d->o->state_path, STATE_READ_MAX, &text, &len, err))
        return 0;
    doc = json_tokener_parse(text);
    free(text);
    if (doc && json_object_object_get_ex(doc, "resources", &res) &&
        json_object_is_type(res, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(res); i++) {
            json_object *r = json_object_array_get_idx(res, i), *k, *p;
            if (json_object_object_get_ex(r, "kind", &k) &&
                strcmp(json_object_get_string(k), "edge") == 0 &&
                json_object_object_get_ex(r, "admin_port", &p))
                port = json_object_get_int(p);
        }
    }
    json_object_put(doc);
    if (port <= 0 || port > 65535) {
        err_set(err, CFDR_E_NOTFOUND, "no local edge is recorded in %s (run cfdr --local create)",
                d->o->state_path);
        return 0;
    }
    return port;
}

static cfdr_code scrape(struct alarmd *d, double v[NCOUNTERS], cfdr_err *err)
{
    static const struct promtext_label secondary[] = {{"origin", "secondary"},
                                                      {"result", "response"}};
    static const struct promtext_label five[] = {{"status_class", "5xx"}};
    struct buf body;
    CURL *c;
    CURLcode cc;
    long status = 0;
    size_t matched[NCOUNTERS] = {0};
    cfdr_code rc;
    int port = edge_admin_port(d, err);

    if (!port)
        return err->code;
    snprintf(d->metrics_url, sizeof(d->metrics_url), "http://127.0.0.1:%d/metrics", port);
    if (!(c = curl_easy_init()))
        return err_set(err, CFDR_E_NOMEM, "out of memory (curl)");
    buf_init(&body, BUF_MAX_DOC);
    curl_easy_setopt(c, CURLOPT_URL, d->metrics_url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, SCRAPE_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    cc = curl_easy_perform(c);
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (cc != CURLE_OK || status != 200) {
        rc = err_set(err, CFDR_E_NET, "the edge's metrics (%s) could not be read: %s",
                     d->metrics_url,
                     cc != CURLE_OK ? curl_easy_strerror(cc) : "the answer was not 200");
        goto out;
    }
    rc = promtext_sum(buf_str(&body), buf_len(&body), "cfdr_edge_origin_attempts_total", secondary,
                      2, &v[C_SECONDARY], &matched[C_SECONDARY], err);
    if (!rc)
        rc = promtext_sum(buf_str(&body), buf_len(&body), "cfdr_edge_requests_total", NULL, 0,
                          &v[C_REQUESTS], &matched[C_REQUESTS], err);
    if (!rc)
        rc = promtext_sum(buf_str(&body), buf_len(&body), "cfdr_edge_responses_total", five, 1,
                          &v[C_5XX], &matched[C_5XX], err);
    if (!rc && (!matched[C_SECONDARY] || !matched[C_REQUESTS] || !matched[C_5XX]))
        rc = err_set(err, CFDR_E_PARSE,
                     "%s lacks the counters the alarms read (an edge of another version?)",
                     d->metrics_url);
out:
    buf_free(&body);
    return rc;
}

/* One evaluation round: scrape, turn the increase into the datapoints of the period that just
 * ended, evaluate, notify. */
static void evaluate_round(struct alarmd *d)
{
    double v[NCOUNTERS], now = clock_wall_s();
    double boundary = floor(now / d->o->period_s) * d->o->period_s;
    double stamp = boundary - 0.001;
    cfdr_err e;
    cfdr_code rc;

    err_clear(&e);
    rc = scrape(d, v, &e);
    if (rc) {
        if (strcmp(d->scrape_error, e.msg) != 0)
            log_msg(d->o->log, CFDR_LOG_WARN, "alarmd: %s", e.msg);
        snprintf(d->scrape_error, sizeof(d->scrape_error), "%s", e.msg);
    } else {
        d->scrape_error[0] = '\0';
        d->last_scrape_at = now;
        if (d->have_prev) {
            double sec = promtext_delta(d->prev[C_SECONDARY], v[C_SECONDARY]);
            double req = promtext_delta(d->prev[C_REQUESTS], v[C_REQUESTS]);
            double bad = promtext_delta(d->prev[C_5XX], v[C_5XX]);
            if (alarm_add_sample(d->alarms[A_FAILOVER], stamp, sec, &e))
                log_msg(d->o->log, CFDR_LOG_WARN, "alarmd: %s", e.msg);
            if (req > 0 && alarm_add_sample(d->alarms[A_5XX], stamp,
                                            100.0 * (bad < req ? bad : req) / req, &e))
                log_msg(d->o->log, CFDR_LOG_WARN, "alarmd: %s", e.msg);
        }
        memcpy(d->prev, v, sizeof(d->prev));
        d->have_prev = 1;
    }
    for (int i = 0; i < NALARMS; i++) {
        struct alarm_result r;
        alarm_evaluate(d->alarms[i], clock_wall_s(), &r);
        d->last[i] = r;
        d->evaluated[i] = 1;
        if (r.fire)
            publish(d, i, &r, NULL);
    }
    write_status(d);
}

static void schedule_eval(struct alarmd *d)
{
    double now = clock_wall_s();
    double at = alarm_next_evaluation(d->alarms[0], now) + ALARMD_SCRAPE_DELAY_S;
    double wait = at - now;
    struct timeval tv;
    if (wait < 0)
        wait = 0;
    tv.tv_sec = (time_t)wait;
    tv.tv_usec = (suseconds_t)((wait - (double)tv.tv_sec) * 1e6);
    event_add(d->eval_ev, &tv);
}

static void on_eval(evutil_socket_t fd, short what, void *ud)
{
    struct alarmd *d = ud;
    (void)fd;
    (void)what;
    evaluate_round(d);
    schedule_eval(d);
}

static void on_tick(evutil_socket_t fd, short what, void *ud)
{
    struct alarmd *d = ud;
    int dirty;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&d->mu);
    dirty = d->dirty;
    pthread_mutex_unlock(&d->mu);
    if (dirty)
        write_status(d);
}

static void on_signal(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(ud);
}

/* ---- control API ---- */

static void reply_json(struct evhttp_request *req, int code, json_object *o)
{
    struct evbuffer *b = evbuffer_new();
    const char *s =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!b) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evbuffer_add(b, s, strlen(s));
    evbuffer_add(b, "\n", 1);
    evhttp_send_reply(req, code, code == 200 ? "OK" : "Error", b);
    evbuffer_free(b);
}

static void reply_error(struct evhttp_request *req, int code, const char *msg)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(msg));
    reply_json(req, code, o);
    json_object_put(o);
}

static void handle_test(struct alarmd *d, struct evhttp_request *req, const char *alarm)
{
    json_object *o = json_object_new_object(), *list = json_object_new_array();
    int any = 0;

    for (int i = 0; i < NALARMS; i++) {
        struct alarm_result r;
        json_object *t;
        char id[37] = "";
        cfdr_err e;
        if (alarm && strcmp(alarm, d->names[i]) != 0)
            continue;
        any = 1;
        t = json_object_new_object();
        json_object_object_add(t, "alarm", json_object_new_string(d->names[i]));
        if (alarm_set_state(d->alarms[i], ALARM_STATE_ALARM, TEST_REASON, clock_wall_s(), &r, &e)) {
            json_object_object_add(t, "notified", json_object_new_boolean(0));
            json_object_object_add(t, "note", json_object_new_string(e.msg));
        } else if (!r.fire) {
            json_object_object_add(t, "notified", json_object_new_boolean(0));
            json_object_object_add(
                t, "note",
                json_object_new_string(r.changed ? "the alarm has no action for ALARM"
                                                 : "the alarm is in ALARM already, and CloudWatch "
                                                   "notifies only on a change of state"));
        } else {
            d->last[i] = r;
            d->evaluated[i] = 1;
            publish(d, i, &r, id);
            json_object_object_add(t, "notified", json_object_new_boolean(id[0] != 0));
            json_object_object_add(t, "message_id", id[0] ? json_object_new_string(id) : NULL);
            json_object_object_add(t, "published_at", json_object_new_double(clock_wall_s()));
            if (!id[0])
                json_object_object_add(
                    t, "note",
                    json_object_new_string("the notification could not be spooled "
                                           "(see the alarm service's log)"));
        }
        json_object_object_add(t, "targets", json_object_new_int((int)d->ntargets));
        json_object_array_add(list, t);
    }
    json_object_object_add(o, "tested", list);
    if (!any) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "no alarm is named '%.200s' (alarms: %s, %s)", alarm,
                 d->names[0], d->names[1]);
        reply_error(req, 404, msg);
    } else {
        write_status(d);
        reply_json(req, 200, o);
    }
    json_object_put(o);
}

static void on_control(struct evhttp_request *req, void *ud)
{
    struct alarmd *d = ud;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

    if (!path)
        path = "/";
    if (strcmp(path, "/health") == 0 && cmd == EVHTTP_REQ_GET) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "status", json_object_new_string("ok"));
        reply_json(req, 200, o);
        json_object_put(o);
    } else if (strcmp(path, "/status") == 0 && cmd == EVHTTP_REQ_GET) {
        json_object *o;
        pthread_mutex_lock(&d->mu);
        o = status_json(d);
        pthread_mutex_unlock(&d->mu);
        reply_json(req, 200, o);
        json_object_put(o);
    } else if (strcmp(path, "/test") == 0 && cmd == EVHTTP_REQ_POST) {
        struct evkeyvalq q;
        const char *query = evhttp_uri_get_query(uri);
        TAILQ_INIT(&q);
        if (query && evhttp_parse_query_str(query, &q) != 0) {
            reply_error(req, 400, "malformed query");
            return;
        }
        handle_test(d, req, evhttp_find_header(&q, "alarm"));
        evhttp_clear_headers(&q);
    } else if (strcmp(path, "/health") == 0 || strcmp(path, "/status") == 0 ||
               strcmp(path, "/test") == 0) {
        reply_error(req, 405, "method not allowed");
    } else {
        reply_error(req, 404, "not found (GET /health, GET /status, POST /test?alarm=NAME)");
    }
}

/* ---- set-up ---- */

static cfdr_code make_alarms(struct alarmd *d, cfdr_err *err)
{
    const struct alarmd_options *o = d->o;
    double now = clock_wall_s();
    char desc[2][512];
    struct alarm_def def[NALARMS];

    snprintf(d->names[A_FAILOVER], sizeof(d->names[0]), "%s" ALARMD_FAILOVER_SUFFIX, o->project);
    snprintf(d->names[A_5XX], sizeof(d->names[1]), "%s" ALARMD_EDGE_5XX_SUFFIX, o->project);
    snprintf(d->topics[A_FAILOVER], sizeof(d->topics[0]), "arn:aws:sns:%s:%s:%s-alarms",
             o->secondary_region, ALARM_LOCAL_ACCOUNT_ID, o->project);
    snprintf(d->topics[A_5XX], sizeof(d->topics[1]), "arn:aws:sns:%s:%s:%s-alarms",
             ALARMD_5XX_REGION, ALARM_LOCAL_ACCOUNT_ID, o->project);
    snprintf(desc[A_FAILOVER], sizeof(desc[0]),
             "cfdr: the secondary origin (%s, %s) is serving viewers, so the primary is failing "
             "over (local edge).",
             o->secondary_region, o->secondary_service);
    snprintf(desc[A_5XX], sizeof(desc[1]),
             "cfdr: viewers of %s get 5xx errors from the edge (local edge).", o->project);
    memset(def, 0, sizeof(def));
    for (int i = 0; i < NALARMS; i++) {
        def[i].name = d->names[i];
        def[i].description = desc[i];
        def[i].period_s = o->period_s;
        def[i].evaluation_periods = 1;
        def[i].datapoints_to_alarm = 1;
        def[i].comparison = ALARM_CMP_GREATER_OR_EQUAL;
        def[i].treat_missing_data = ALARM_MISSING_NOT_BREACHING;
        def[i].local = 1;
        def[i].actions_enabled = 1;
        def[i].alarm_actions[0] = d->topics[i];
        def[i].nalarm_actions = 1;
        def[i].ok_actions[0] = d->topics[i];
        def[i].nok_actions = 1;
    }
    def[A_FAILOVER].metric_namespace = "AWS/AppRunner";
    def[A_FAILOVER].metric_name = "Requests";
    def[A_FAILOVER].dimensions[0].name = "ServiceName";
    def[A_FAILOVER].dimensions[0].value = o->secondary_service;
    def[A_FAILOVER].ndimensions = 1;
    def[A_FAILOVER].statistic = ALARM_STAT_SUM;
    def[A_FAILOVER].threshold = 1;
    def[A_FAILOVER].region = o->secondary_region;
    def[A_5XX].metric_namespace = "AWS/CloudFront";
    def[A_5XX].metric_name = "5xxErrorRate";
    def[A_5XX].dimensions[0].name = "DistributionId";
    def[A_5XX].dimensions[0].value = "local-edge";
    def[A_5XX].dimensions[1].name = "Region";
    def[A_5XX].dimensions[1].value = "Global";
    def[A_5XX].ndimensions = 2;
    def[A_5XX].statistic = ALARM_STAT_AVERAGE;
    def[A_5XX].threshold = ALARMD_5XX_THRESHOLD;
    def[A_5XX].region = ALARMD_5XX_REGION;
    for (int i = 0; i < NALARMS; i++)
        CFDR_TRY(alarm_new(&def[i], now, &d->alarms[i], err));
    return CFDR_OK;
}

/* A restarted service keeps its alarms' states, as CloudWatch keeps an alarm's state when
 * PutMetricAlarm updates it: the states of the last status.json are restored without
 * notifying (the notification of that change went out when it happened). */
static void restore_states(struct alarmd *d)
{
    char *text = NULL;
    size_t len = 0;
    json_object *doc, *list;
    cfdr_err e;

    if (atomicfile_read(d->path_status, BUF_MAX_DOC, &text, &len, &e) != CFDR_OK)
        return;
    doc = json_tokener_parse(text);
    free(text);
    if (doc && json_object_object_get_ex(doc, "alarms", &list) &&
        json_object_is_type(list, json_type_array)) {
        for (size_t k = 0; k < json_object_array_length(list); k++) {
            json_object *a = json_object_array_get_idx(list, k), *nm, *st, *rs;
            char reason[1000];
            if (!json_object_object_get_ex(a, "name", &nm) ||
                !json_object_object_get_ex(a, "state", &st) ||
                !json_object_object_get_ex(a, "reason", &rs))
                continue;
            snprintf(reason, sizeof(reason), "%s", json_object_get_string(rs));
            for (int i = 0; i < NALARMS; i++) {
                struct alarm_result r;
                enum alarm_state want;
                const char *sn = json_object_get_string(st);
                if (strcmp(json_object_get_string(nm), d->names[i]) != 0)
                    continue;
                want = strcmp(sn, "OK") == 0      ? ALARM_STATE_OK
                       : strcmp(sn, "ALARM") == 0 ? ALARM_STATE_ALARM
                                                  : ALARM_STATE_INSUFFICIENT_DATA;
                if (want != ALARM_STATE_INSUFFICIENT_DATA && reason[0] &&
                    alarm_set_state(d->alarms[i], want, reason, clock_wall_s(), &r, &e) == CFDR_OK)
                    log_msg(d->o->log, CFDR_LOG_INFO, "alarmd: %s: state %s restored", d->names[i],
                            sn);
            }
        }
    }
    json_object_put(doc);
}

/* scheme://host[:port] of a URL: webhook paths and userinfo can hold secrets. */
static void shown_url(const char *url, char *out, size_t n)
{
    const char *p = strstr(url, "://"), *host, *end, *at;
    if (!p) {
        snprintf(out, n, "(a webhook)");
        return;
    }
    host = p + 3;
    end = host + strcspn(host, "/?#");
    at = memchr(host, '@', (size_t)(end - host));
    if (at)
        host = at + 1;
    snprintf(out, n, "%.*s://%.*s", (int)(p - url), url, (int)(end - host), host);
}

static cfdr_code add_targets(struct alarmd *d, cfdr_err *err)
{
    const struct alarmd_options *o = d->o;
    for (size_t i = 0; i < o->nwebhooks; i++) {
        CFDR_TRY(notify_add_webhook(d->n, o->webhooks[i], err));
        d->targets[d->ntargets].kind = NOTIFY_WEBHOOK;
        notify_target_id(NOTIFY_WEBHOOK, o->webhooks[i], d->targets[d->ntargets].id);
        shown_url(o->webhooks[i], d->targets[d->ntargets].shown, sizeof(d->targets[0].shown));
        d->ntargets++;
    }
    for (size_t i = 0; i < o->nemails; i++) {
        CFDR_TRY(notify_add_email(d->n, o->emails[i], err));
        d->targets[d->ntargets].kind = NOTIFY_EMAIL;
        notify_target_id(NOTIFY_EMAIL, o->emails[i], d->targets[d->ntargets].id);
        snprintf(d->targets[d->ntargets].shown, sizeof(d->targets[0].shown), "%s", o->emails[i]);
        d->ntargets++;
    }
    if (o->file_target) {
        CFDR_TRY(notify_add_file(d->n, o->file_target, err));
        d->targets[d->ntargets].kind = NOTIFY_FILE;
        notify_target_id(NOTIFY_FILE, o->file_target, d->targets[d->ntargets].id);
        snprintf(d->targets[d->ntargets].shown, sizeof(d->targets[0].shown), "%s", o->file_target);
        d->ntargets++;
    }
    return CFDR_OK;
}

static cfdr_code check_options(const struct alarmd_options *o, cfdr_err *err)
{
    if (!o->dir || !o->state_path || !o->project || !o->secondary_region || !o->secondary_service ||
        !o->spool_dir)
        return err_set(err, CFDR_E_INTERNAL,
                       "alarmd: dir, state_path, project, secondary region and service and "
                       "spool_dir are required");
    if (o->nwebhooks + o->nemails + (o->file_target ? 1 : 0) > NOTIFY_TARGETS_MAX)
        return err_set(err, CFDR_E_CONFIG, "alarms: at most %d notification targets",
                       NOTIFY_TARGETS_MAX);
    if (o->nemails && !o->smtp_url)
        return err_set(err, CFDR_E_CONFIG,
                       "alarms.email: e-mail in --local mode goes through a mail server; set "
                       "alarms.smtp (e.g. \"smtp://127.0.0.1:2525\")");
    return CFDR_OK;
}

static cfdr_code listen_control(struct alarmd *d, int *port, cfdr_err *err)
{
    const char *addr = d->o->listen ? d->o->listen : "127.0.0.1:0";
    char host[64];
    const char *colon = strrchr(addr, ':');
    struct evhttp_bound_socket *bs;
    struct sockaddr_storage ss;
    ev_socklen_t sl = sizeof(ss);
    long p;

    if (!colon || (size_t)(colon - addr) >= sizeof(host))
        return err_set(err, CFDR_E_CONFIG, "control address %s: expected HOST:PORT", addr);
    snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
    p = strtol(colon + 1, NULL, 10);
    if (strcmp(host, "127.0.0.1") != 0 && strcmp(host, "::1") != 0 && strcmp(host, "[::1]") != 0)
        return err_set(err, CFDR_E_CONFIG,
                       "control address %s is not loopback: the control API has no "
                       "authentication, use 127.0.0.1",
                       addr);
    if (strcmp(host, "[::1]") == 0)
        snprintf(host, sizeof(host), "::1");
    bs = evhttp_bind_socket_with_handle(d->http, host, (ev_uint16_t)p);
    if (!bs)
        return err_set(err, CFDR_E_IO, "the alarm service cannot listen on %s: %s", addr,
                       strerror(errno));
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl) != 0)
        return err_set(err, CFDR_E_IO, "getsockname: %s", strerror(errno));
    *port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                     : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return CFDR_OK;
}

cfdr_code alarmd_run(const struct alarmd_options *o, cfdr_err *err)
{
    struct alarmd *d;
    struct notify_options no;
    struct timeval tick = {0, 100000};
    size_t resumed = 0;
    int port = 0;
    cfdr_code rc;

    CFDR_TRY(check_options(o, err));
    d = calloc(1, sizeof(*d));
    if (!d)
        return err_set(err, CFDR_E_NOMEM, "alarmd: out of memory");
    d->o = o;
    pthread_mutex_init(&d->mu, NULL);
    snprintf(d->path_status, sizeof(d->path_status), "%s/" ALARMD_STATUS_FILE, o->dir);
    snprintf(d->path_published, sizeof(d->path_published), "%s/" ALARMD_PUBLISHED_FILE, o->dir);
    snprintf(d->path_deliveries, sizeof(d->path_deliveries), "%s/" ALARMD_DELIVERIES_FILE, o->dir);
    ring_load(d);
    if ((rc = make_alarms(d, err)))
        goto out;
    restore_states(d);
    memset(&no, 0, sizeof(no));
    no.spool_dir = o->spool_dir;
    no.smtp_url = o->smtp_url;
    no.retry_window_s = o->retry_window_s;
    no.log = o->log;
    no.delivered = on_delivered;
    no.ud = d;
    if ((rc = notify_new(&no, &d->n, err)) || (rc = add_targets(d, err)) ||
        (rc = notify_resume(d->n, &resumed, err)))
        goto out;
    d->base = event_base_new();
    d->http = d->base ? evhttp_new(d->base) : NULL;
    if (!d->base || !d->http) {
        rc = err_set(err, CFDR_E_NOMEM, "alarmd: cannot create the event loop");
        goto out;
    }
    evhttp_set_allowed_methods(d->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    evhttp_set_max_body_size(d->http, 4096);
    evhttp_set_gencb(d->http, on_control, d);
    if ((rc = listen_control(d, &port, err)))
        goto out;
    d->eval_ev = evtimer_new(d->base, on_eval, d);
    d->tick_ev = event_new(d->base, -1, EV_PERSIST, on_tick, d);
    d->sigint_ev = evsignal_new(d->base, SIGINT, on_signal, d->base);
    d->sigterm_ev = evsignal_new(d->base, SIGTERM, on_signal, d->base);
    if (!d->eval_ev || !d->tick_ev || !d->sigint_ev || !d->sigterm_ev ||
        event_add(d->tick_ev, &tick) < 0 || event_add(d->sigint_ev, NULL) < 0 ||
        event_add(d->sigterm_ev, NULL) < 0) {
        rc = err_set(err, CFDR_E_IO, "alarmd: cannot set up timers and signals");
        goto out;
    }
    /* The counters' starting point, so the first period already has a datapoint. */
    {
        double v[NCOUNTERS];
        cfdr_err e;
        if (scrape(d, v, &e) == CFDR_OK) {
            memcpy(d->prev, v, sizeof(d->prev));
            d->have_prev = 1;
            d->last_scrape_at = clock_wall_s();
        } else {
            snprintf(d->scrape_error, sizeof(d->scrape_error), "%s", e.msg);
        }
    }
    schedule_eval(d);
    write_status(d);
    log_msg(o->log, CFDR_LOG_INFO,
            "alarmd: %s and %s, period %d s, %zu target%s, control on 127.0.0.1:%d, %zu "
            "spooled notification%s resumed",
            d->names[0], d->names[1], o->period_s, d->ntargets, d->ntargets == 1 ? "" : "s", port,
            resumed, resumed == 1 ? "" : "s");
    if (o->on_ready)
        o->on_ready(o->ready_ud, port, resumed);
    if (event_base_dispatch(d->base) < 0)
        rc = err_set(err, CFDR_E_INTERNAL, "alarmd: the event loop failed");
    else
        log_msg(o->log, CFDR_LOG_INFO, "alarmd: stopped by signal");
    /* A moment for deliveries in flight; what is left stays in the spool. */
    if (!rc && d->n)
        notify_flush(d->n, 1.0, NULL);
    if (!rc)
        write_status(d);
out:
    if (d->eval_ev)
        event_free(d->eval_ev);
    if (d->tick_ev)
        event_free(d->tick_ev);
    if (d->sigint_ev)
        event_free(d->sigint_ev);
    if (d->sigterm_ev)
        event_free(d->sigterm_ev);
    if (d->http)
        evhttp_free(d->http);
    if (d->base)
        event_base_free(d->base);
    notify_free(d->n);
    for (int i = 0; i < NALARMS; i++)
        alarm_free(d->alarms[i]);
    pthread_mutex_destroy(&d->mu);
    free(d);
    return rc;
}

/* ---- reading deliveries back ---- */

/* The earliest delivery in dir's deliveries.jsonl of `alarm` entering `state`, published at or
 * after since_wall, to a target whose kind is in `kinds` (a bit per enum notify_kind). */
static cfdr_code first_delivery(const char *dir, const char *alarm, const char *state,
                                double since_wall, unsigned kinds, int *found, double *delivered_at,
                                char kind[16], cfdr_err *err)
{
    char path[1024], *text = NULL, *line, *save = NULL;
    size_t len = 0;
    cfdr_code rc;

    *found = 0;
    *delivered_at = 0;
    kind[0] = '\0';
    snprintf(path, sizeof(path), "%s/" ALARMD_DELIVERIES_FILE, dir);
    rc = atomicfile_read(path, JOURNAL_READ_MAX, &text, &len, err);
    if (rc == CFDR_E_NOTFOUND) {
        err_clear(err);
        return CFDR_OK;
    }
    if (rc)
        return rc;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_object *o = json_tokener_parse(line), *a, *s, *p, *g, *k;
        int kbit = -1;
        if (o && json_object_object_get_ex(o, "kind", &k))
            for (int i = 0; i < 3; i++)
                if (strcmp(json_object_get_string(k), notify_kind_name((enum notify_kind)i)) == 0)
                    kbit = i;
        if (o && kbit >= 0 && (kinds & (1u << kbit)) && json_object_object_get_ex(o, "alarm", &a) &&
            json_object_object_get_ex(o, "state", &s) &&
            json_object_object_get_ex(o, "published_at", &p) &&
            json_object_object_get_ex(o, "delivered_at", &g) &&
            strcmp(json_object_get_string(a), alarm) == 0 &&
            strcmp(json_object_get_string(s), state) == 0 &&
            json_object_get_double(p) >= since_wall &&
            (!*found || json_object_get_double(g) < *delivered_at)) {
            *found = 1;
            *delivered_at = json_object_get_double(g);
            snprintf(kind, 16, "%s", json_object_get_string(k));
        }
        json_object_put(o);
    }
    free(text);
    return CFDR_OK;
}

cfdr_code alarmd_first_delivery(const char *dir, const char *alarm, const char *state,
                                double since_wall, int *found, double *delivered_at, char kind[16],
                                cfdr_err *err)
{
    return first_delivery(dir, alarm, state, since_wall, 7u, found, delivered_at, kind, err);
}

/* Which kinds of target the service notifies, from its status.json: a bit per kind; 0 when
 * the file cannot be read. */
static unsigned configured_kinds(const char *dir)
{
    char path[1024], *text = NULL;
    size_t len = 0;
    unsigned kinds = 0;
    json_object *doc, *nt, *tl;

    snprintf(path, sizeof(path), "%s/" ALARMD_STATUS_FILE, dir);
    if (atomicfile_read(path, BUF_MAX_DOC, &text, &len, NULL) != CFDR_OK)
        return 0;
    doc = json_tokener_parse(text);
    free(text);
    if (doc && json_object_object_get_ex(doc, "notifications", &nt) &&
        json_object_object_get_ex(nt, "targets", &tl) && json_object_is_type(tl, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(tl); i++) {
            json_object *k;
            if (!json_object_object_get_ex(json_object_array_get_idx(tl, i), "kind", &k))
                continue;
            for (int b = 0; b < 3; b++)
                if (strcmp(json_object_get_string(k), notify_kind_name((enum notify_kind)b)) == 0)
                    kinds |= 1u << b;
        }
    }
    json_object_put(doc);
    return kinds;
}

cfdr_code alarmd_first_alert(const char *dir, const char *alarm, const char *state,
                             double since_wall, struct alarmd_alert *out, cfdr_err *err)
{
    unsigned kinds = configured_kinds(dir);
    const unsigned user = (1u << NOTIFY_WEBHOOK) | (1u << NOTIFY_EMAIL);

    memset(out, 0, sizeof(*out));
    out->user_targets = (kinds & user) != 0;
    /* Unknown targets (no status yet): a person's target if one got it, else any. */
    if (!kinds) {
        CFDR_TRY(first_delivery(dir, alarm, state, since_wall, user, &out->found,
                                &out->delivered_at, out->kind, err));
        if (out->found)
            return CFDR_OK;
        kinds = 7u;
    }
    return first_delivery(dir, alarm, state, since_wall, out->user_targets ? user : kinds,
                          &out->found, &out->delivered_at, out->kind, err);
}
