/* prober: see prober.h. */
#include "prober.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#define PROBER_MAX_RECORDS (10u * 1000u * 1000u)

struct sockinfo {
    struct event *ev;
};

struct inflight {
    struct drill_prober *p;
    CURL *easy;
    double due_s, sent_s;
    char served[64];
    unsigned long long body_hash, header_hash;
};

#define FNV_OFFSET 1469598103934665603ULL
#define FNV_PRIME 1099511628211ULL

static unsigned long long fnv1a(unsigned long long h, const char *s, size_t n, int lower)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (lower && c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        h = (h ^ c) * FNV_PRIME;
    }
    return h;
}

int drill_prober_header_is_volatile(const char *name, size_t len)
{
    /* Per-request values, hop-by-hop headers, and what CloudFront or the local edge add or
     * rewrite on the way (their answers must fingerprint like the origin's own). */
    static const char *const vol[] = {"date",
                                      "age",
                                      "via",
                                      "x-amz-cf-id",
                                      "x-amz-cf-pop",
                                      "x-cache",
                                      "connection",
                                      "keep-alive",
                                      "transfer-encoding",
                                      "content-length",
                                      "set-cookie",
                                      "expires",
                                      "last-modified",
                                      "x-request-id",
                                      "x-amzn-requestid",
                                      "x-amzn-trace-id",
                                      "x-envoy-upstream-service-time",
                                      "server-timing",
                                      "alt-svc",
                                      "vary",
                                      NULL};
    for (const char *const *v = vol; *v; v++)
        if (strlen(*v) == len && strncasecmp(*v, name, len) == 0)
            return 1;
    return 0;
}

struct drill_prober {
    char *url, *header, *primary, *secondary;
    double rate, timeout_s, connect_timeout_s;
    enum drill_origin fixed_origin;
    struct curl_slist *connect_to;
    const struct cfdr_log *log;

    struct event_base *base;
    CURLM *multi;
    struct event *curl_timer, *pace, *wake;
    int wake_fds[2];
    pthread_t thread;
    int started;

    struct timespec epoch;
    unsigned long long next_index;
    int stopping; /* loop thread only */
    size_t inflight;

    pthread_mutex_t mu; /* guards recs and streak_start */
    double streak_start;
    struct drill_probe_record *recs;
    size_t nrecs, caprecs;
    atomic_size_t done, errors, primary_n, secondary_n;
};

static double mono_since(const struct timespec *epoch)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - epoch->tv_sec) + (double)(now.tv_nsec - epoch->tv_nsec) / 1e9;
}

double drill_prober_now(const struct drill_prober *p)
{
    return mono_since(&p->epoch);
}

static void record(struct drill_prober *p, const struct drill_probe_record *r)
{
    pthread_mutex_lock(&p->mu);
    if (p->nrecs == p->caprecs && p->caprecs < PROBER_MAX_RECORDS) {
        size_t cap = p->caprecs ? p->caprecs * 2 : 4096;
        struct drill_probe_record *n = realloc(p->recs, cap * sizeof(*n));
        if (n) {
            p->recs = n;
            p->caprecs = cap;
        }
    }
    if (p->nrecs < p->caprecs)
        p->recs[p->nrecs++] = *r;
    else
        log_msg(p->log, CFDR_LOG_WARN, "prober: record store full, a probe was not recorded");
    if (!drill_probe_is_error(&r->probe) && r->probe.served_by == DRILL_ORIGIN_PRIMARY) {
        if (p->streak_start < 0)
            p->streak_start = r->probe.sent_s + r->probe.latency_s;
    } else {
        p->streak_start = -1;
    }
    pthread_mutex_unlock(&p->mu);
    atomic_fetch_add(&p->done, 1);
    if (drill_probe_is_error(&r->probe))
        atomic_fetch_add(&p->errors, 1);
    else if (r->probe.served_by == DRILL_ORIGIN_PRIMARY)
        atomic_fetch_add(&p->primary_n, 1);
    else if (r->probe.served_by == DRILL_ORIGIN_SECONDARY)
        atomic_fetch_add(&p->secondary_n, 1);
}

static void maybe_finish(struct drill_prober *p)
{
    if (p->stopping && p->inflight == 0)
        event_base_loopexit(p->base, NULL);
}

static void check_done(struct drill_prober *p)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(p->multi, &left)) != NULL) {
        struct inflight *in = NULL;
        struct drill_probe_record r;
        curl_off_t total_us = 0;
        long status = 0;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&in);
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(m->easy_handle, CURLINFO_TOTAL_TIME_T, &total_us);
        memset(&r, 0, sizeof(r));
        r.curl_code = (long)m->data.result;
        r.lateness_s = in->sent_s - in->due_s;
        r.probe.sent_s = in->sent_s;
        r.probe.latency_s = (double)total_us / 1e6;
        r.probe.status = m->data.result == CURLE_OK ? (int)status : 0;
        r.probe.error = m->data.result == CURLE_OK ? 0 : (int)m->data.result;
        if (m->data.result == CURLE_OK) {
            r.body_hash = in->body_hash;
            r.header_hash = in->header_hash;
        }
        if (p->fixed_origin != DRILL_ORIGIN_UNKNOWN)
            r.probe.served_by = r.probe.error ? DRILL_ORIGIN_UNKNOWN : p->fixed_origin;
        else if (p->primary && strcmp(in->served, p->primary) == 0)
            r.probe.served_by = DRILL_ORIGIN_PRIMARY;
        else if (p->secondary && strcmp(in->served, p->secondary) == 0)
            r.probe.served_by = DRILL_ORIGIN_SECONDARY;
        record(p, &r);
        curl_multi_remove_handle(p->multi, in->easy);
        curl_easy_cleanup(in->easy);
        free(in);
        p->inflight--;
    }
    maybe_finish(p);
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct drill_prober *p = arg;
    int running,
        action = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    curl_multi_socket_action(p->multi, fd, action, &running);
    check_done(p);
}

static int on_curl_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct drill_prober *p = userp;
    struct sockinfo *si = socketp;
    short kind;
    (void)e;
    if (what == CURL_POLL_REMOVE) {
        if (si) {
            event_free(si->ev);
            free(si);
        }
        curl_multi_assign(p->multi, s, NULL);
        return 0;
    }
    kind = (short)((what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0) |
                   EV_PERSIST);
    if (!si) {
        si = calloc(1, sizeof(*si));
        if (!si)
            return -1;
        curl_multi_assign(p->multi, s, si);
    } else {
        event_free(si->ev);
    }
    si->ev = event_new(p->base, s, kind, on_socket_event, p);
    if (!si->ev)
        return -1;
    return event_add(si->ev, NULL);
}

static void on_curl_timer_event(evutil_socket_t fd, short what, void *arg)
{
    struct drill_prober *p = arg;
    int running;
    (void)fd;
    (void)what;
    curl_multi_socket_action(p->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(p);
}

static int on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
    struct drill_prober *p = userp;
    struct timeval tv;
    (void)m;
    if (timeout_ms < 0)
        return evtimer_del(p->curl_timer);
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    return evtimer_add(p->curl_timer, &tv);
}

/* The value of a header line whose name is nl bytes long, without blanks and CRLF. */
static const char *header_value(const char *line, size_t len, size_t nl, size_t *vl)
{
    const char *v = line + nl + 1;
    *vl = len - nl - 1;
    while (*vl && (*v == ' ' || *v == '\t'))
        v++, (*vl)--;
    while (*vl && (v[*vl - 1] == '\r' || v[*vl - 1] == '\n' || v[*vl - 1] == ' '))
        (*vl)--;
    return v;
}

static size_t on_header(char *buf, size_t size, size_t n, void *userp)
{
    struct inflight *in = userp;
    size_t len = size * n, hl, vl;
    struct drill_prober *p = in->p;
    const char *colon = memchr(buf, ':', len), *v;

    if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        in->header_hash = 0; /* a new response (after a 1xx or a redirect) starts over */
    } else if (colon && !drill_prober_header_is_volatile(buf, (size_t)(colon - buf))) {
        size_t nl = (size_t)(colon - buf);
        v = header_value(buf, len, nl, &vl);
        /* XOR of each header's own hash: the order of the headers does not matter. */
        in->header_hash ^= fnv1a(fnv1a(fnv1a(FNV_OFFSET, buf, nl, 1), ":", 1, 0), v, vl, 0);
    }
    if (!p->header)
        return len;
    hl = strlen(p->header);
    if (len > hl + 1 && buf[hl] == ':' && strncasecmp(buf, p->header, hl) == 0) {
        v = header_value(buf, len, hl, &vl);
        if (vl >= sizeof(in->served))
            vl = sizeof(in->served) - 1;
        memcpy(in->served, v, vl);
        in->served[vl] = '\0';
    }
    return len;
}

static size_t body(char *buf, size_t size, size_t n, void *userp)
{
    struct inflight *in = userp;
    in->body_hash = fnv1a(in->body_hash, buf, size * n, 0);
    return size * n;
}

static int send_probe(struct drill_prober *p, double due_s)
{
    struct inflight *in = calloc(1, sizeof(*in));
    CURL *e = curl_easy_init();
    if (!in || !e) {
        free(in);
        curl_easy_cleanup(e);
        return -1;
    }
    in->p = p;
    in->easy = e;
    in->due_s = due_s;
    in->body_hash = FNV_OFFSET;
    curl_easy_setopt(e, CURLOPT_URL, p->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, in);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, in);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, in);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(p->timeout_s * 1000));
    if (p->connect_timeout_s > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(p->connect_timeout_s * 1000));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "cfdr-drill/" CFDR_VERSION);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (p->connect_to)
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, p->connect_to);
    in->sent_s = drill_prober_now(p);
    if (curl_multi_add_handle(p->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        free(in);
        return -1;
    }
    p->inflight++;
    return 0;
}

static void on_pace(evutil_socket_t fd, short what, void *arg)
{
    struct drill_prober *p = arg;
    double now, due, wait;
    struct timeval tv;
    (void)fd;
    (void)what;
    if (p->stopping)
        return;
    now = drill_prober_now(p);
    /* Send everything due; a late timer catches up instead of skipping (lateness recorded). */
    for (int burst = 0; burst < 10000; burst++) {
        due = (double)p->next_index / p->rate;
        if (due > now + 50e-6)
            break;
        if (send_probe(p, due) != 0)
            log_msg(p->log, CFDR_LOG_WARN, "prober: could not start probe %llu", p->next_index);
        p->next_index++;
    }
    wait = (double)p->next_index / p->rate - drill_prober_now(p);
    if (wait < 0)
        wait = 0;
    tv.tv_sec = (time_t)wait;
    tv.tv_usec = (suseconds_t)((wait - floor(wait)) * 1e6);
    evtimer_add(p->pace, &tv);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct drill_prober *p = arg;
    char c[16];
    (void)what;
    while (read(fd, c, sizeof(c)) > 0) {
    }
    p->stopping = 1;
    evtimer_del(p->pace);
    maybe_finish(p);
}

static void *run(void *arg)
{
    struct drill_prober *p = arg;
    struct timeval now = {0, 0};
    evtimer_add(p->pace, &now);
    event_base_dispatch(p->base);
    return NULL;
}

cfdr_code drill_prober_new(const struct drill_prober_options *o, struct drill_prober **out,
                           cfdr_err *err)
{
    struct drill_prober *p;
    struct event_config *cfg = NULL;
    cfdr_code rc = CFDR_OK;

    *out = NULL;
    if (!o->url || !*o->url || !(o->rate > 0) || o->rate > 100000 || !(o->timeout_s > 0))
        return err_set(err, CFDR_E_USAGE,
                       "prober: needs a URL, a rate from >0 to 100000 probes/s and a timeout");
    p = calloc(1, sizeof(*p));
    if (!p)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    p->wake_fds[0] = p->wake_fds[1] = -1;
    p->streak_start = -1;
    pthread_mutex_init(&p->mu, NULL);
    p->rate = o->rate;
    p->timeout_s = o->timeout_s;
    p->fixed_origin = o->fixed_origin;
    p->connect_timeout_s = o->connect_timeout_s;
    p->log = o->log;
    p->url = strdup(o->url);
    p->header = o->served_by_header ? strdup(o->served_by_header) : NULL;
    p->primary = o->primary_value ? strdup(o->primary_value) : NULL;
    p->secondary = o->secondary_value ? strdup(o->secondary_value) : NULL;
    if (!p->url || (o->served_by_header && !p->header) || (o->primary_value && !p->primary) ||
        (o->secondary_value && !p->secondary)) {
        rc = err_set(err, CFDR_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < o->nconnect_to; i++) {
        struct curl_slist *l = curl_slist_append(p->connect_to, o->connect_to[i]);
        if (!l) {
            rc = err_set(err, CFDR_E_NOMEM, "out of memory");
            goto out;
        }
        p->connect_to = l;
    }
    /* Precise timers (timerfd) keep probe lateness well under a millisecond. */
    cfg = event_config_new();
    if (cfg)
        event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    p->base = cfg ? event_base_new_with_config(cfg) : NULL;
    p->multi = curl_multi_init();
    if (!p->base || !p->multi || pipe(p->wake_fds) != 0) {
        rc = err_set(err, CFDR_E_IO, "prober: cannot set up the event loop: %s", strerror(errno));
        goto out;
    }
    evutil_make_socket_nonblocking(p->wake_fds[0]);
    p->curl_timer = evtimer_new(p->base, on_curl_timer_event, p);
    p->pace = evtimer_new(p->base, on_pace, p);
    p->wake = event_new(p->base, p->wake_fds[0], EV_READ | EV_PERSIST, on_wake, p);
    if (!p->curl_timer || !p->pace || !p->wake || event_add(p->wake, NULL) != 0) {
        rc = err_set(err, CFDR_E_NOMEM, "prober: cannot create events");
        goto out;
    }
    curl_multi_setopt(p->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(p->multi, CURLMOPT_SOCKETDATA, p);
    curl_multi_setopt(p->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(p->multi, CURLMOPT_TIMERDATA, p);
out:
    if (cfg)
        event_config_free(cfg);
    if (rc) {
        drill_prober_free(p);
        return rc;
    }
    *out = p;
    return CFDR_OK;
}

cfdr_code drill_prober_start(struct drill_prober *p, cfdr_err *err)
{
    int e;
    if (p->started)
        return err_set(err, CFDR_E_INTERNAL, "prober: already started");
    clock_gettime(CLOCK_MONOTONIC, &p->epoch);
    e = pthread_create(&p->thread, NULL, run, p);
    if (e != 0)
        return err_set(err, CFDR_E_IO, "prober: cannot start its thread: %s", strerror(e));
    p->started = 1;
    return CFDR_OK;
}

cfdr_code drill_prober_stop(struct drill_prober *p, cfdr_err *err)
{
    (void)err;
    if (!p->started)
        return CFDR_OK;
    /* A byte on the pipe wakes the loop thread, which stops pacing and exits once the probes
     * in flight are done (each is bounded by timeout_s). */
    while (write(p->wake_fds[1], "x", 1) < 0 && errno == EINTR) {
    }
    pthread_join(p->thread, NULL);
    p->started = 0;
    return CFDR_OK;
}

static int cmp_sent(const void *a, const void *b)
{
    double x = ((const struct drill_probe_record *)a)->probe.sent_s;
    double y = ((const struct drill_probe_record *)b)->probe.sent_s;
    return (x > y) - (x < y);
}

cfdr_code drill_prober_snapshot(struct drill_prober *p, struct drill_probe_record **out, size_t *n,
                                cfdr_err *err)
{
    struct drill_probe_record *copy;
    pthread_mutex_lock(&p->mu);
    copy = malloc((p->nrecs ? p->nrecs : 1) * sizeof(*copy));
    if (copy) {
        memcpy(copy, p->recs, p->nrecs * sizeof(*copy));
        *n = p->nrecs;
    }
    pthread_mutex_unlock(&p->mu);
    if (!copy)
        return err_set(err, CFDR_E_NOMEM, "out of memory copying probe records");
    qsort(copy, *n, sizeof(*copy), cmp_sent);
    *out = copy;
    return CFDR_OK;
}

void drill_prober_counts(struct drill_prober *p, size_t *done, size_t *errors, size_t *primary,
                         size_t *secondary)
{
    *done = atomic_load(&p->done);
    *errors = atomic_load(&p->errors);
    *primary = atomic_load(&p->primary_n);
    *secondary = atomic_load(&p->secondary_n);
}

double drill_prober_primary_streak_start(struct drill_prober *p)
{
    double s;
    pthread_mutex_lock(&p->mu);
    s = p->streak_start;
    pthread_mutex_unlock(&p->mu);
    return s;
}

void drill_prober_lateness(struct drill_prober *p, double *max_s, double *p99_s)
{
    double *v;
    size_t n;
    *max_s = *p99_s = 0;
    pthread_mutex_lock(&p->mu);
    n = p->nrecs;
    v = malloc((n ? n : 1) * sizeof(*v));
    for (size_t i = 0; v && i < n; i++) {
        v[i] = p->recs[i].lateness_s;
        if (v[i] > *max_s)
            *max_s = v[i];
    }
    pthread_mutex_unlock(&p->mu);
    if (v)
        *p99_s = drill_percentile(v, n, 0.99);
    free(v);
}

void drill_prober_free(struct drill_prober *p)
{
    if (!p)
        return;
    if (p->started)
        drill_prober_stop(p, NULL);
    /* After drill_prober_stop no transfer is attached: the loop only exits with none in
     * flight. Cleaning the multi handle closes cached connections (their events are freed
     * through the socket callback), so it goes before the event base. */
    if (p->multi)
        curl_multi_cleanup(p->multi);
    if (p->curl_timer)
        event_free(p->curl_timer);
    if (p->pace)
        event_free(p->pace);
    if (p->wake)
        event_free(p->wake);
    if (p->base)
        event_base_free(p->base);
    if (p->wake_fds[0] >= 0)
        close(p->wake_fds[0]);
    if (p->wake_fds[1] >= 0)
        close(p->wake_fds[1]);
    curl_slist_free_all(p->connect_to);
    pthread_mutex_destroy(&p->mu);
    free(p->recs);
    free(p->url);
    free(p->header);
    free(p->primary);
    free(p->secondary);
    free(p);
}
