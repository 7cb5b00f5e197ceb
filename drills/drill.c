/* drill: see drill.h. */
#include "drill.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/clock.h"
#include "drills/prober.h"

void drill_outcome_free(struct drill_outcome *o)
{
    if (!o)
        return;
    free(o->probes);
    o->probes = NULL;
    o->nprobes = 0;
}

#define DIRECT_RATE_MAX 10.0

struct run {
    const struct drill_plan *plan;
    const struct drill_hooks *h;
    struct drill_prober *prober;
    struct drill_prober *direct[2]; /* primary, secondary; NULL until started (want_direct) */
    struct drill_prober_options edge_opts; /* the edge prober's, the base of the direct ones */
    int direct_tried;                      /* want_direct started them (or failed to) */
    double edge_stop_s;                    /* when the edge prober was told to stop */
    double direct_start_s;                 /* when the direct probers were started */
    double direct_rate;
    struct drill_outcome *out;
    double wall0;       /* wall clock at the prober's epoch */
    double next_report; /* prober time of the next progress call */
};

static void want_direct(struct run *r, int at_event);

static int interrupted(const struct run *r)
{
    return r->plan->interrupted && *r->plan->interrupted;
}

static void report(struct run *r, const char *phase, int force)
{
    struct drill_progress pr;
    double now = drill_prober_now(r->prober);
    if (!r->h->progress || (!force && now < r->next_report))
        return;
    r->next_report = now + (r->plan->progress_interval_s > 0 ? r->plan->progress_interval_s : 1);
    pr.elapsed_s = now;
    pr.phase = phase;
    drill_prober_counts(r->prober, &pr.probes, &pr.errors, &pr.primary, &pr.secondary);
    pr.primary_direct = -1;
    if (pr.primary + pr.secondary == 0 && r->direct[0]) {
        size_t done, errors, prim, sec;
        drill_prober_counts(r->direct[0], &done, &errors, &prim, &sec);
        if (done > 0)
            pr.primary_direct = drill_prober_primary_streak_start(r->direct[0]) >= 0;
    }
    r->h->progress(r->h->ud, &pr);
}

/* Waits until prober time `until` (or, with a done() condition, until it holds); returns 0, or
 * -1 when interrupted. */
static int wait_until(struct run *r, double until, const char *phase, int (*done)(struct run *r))
{
    for (;;) {
        double now = drill_prober_now(r->prober);
        if (interrupted(r)) {
            r->out->interrupted = 1;
            return -1;
        }
        want_direct(r, 0);
        if (now >= until || (done && done(r)))
            return 0;
        report(r, phase, 0);
        clock_sleep_s(until - now < 0.05 ? until - now : 0.05);
    }
}

static void hook_failed(struct run *r, cfdr_code rc, const cfdr_err *herr)
{
    r->out->hook_rc = rc;
    snprintf(r->out->hook_error, sizeof(r->out->hook_error), "%s", herr->msg);
}

static void free_probers(struct run *r)
{
    drill_prober_free(r->prober);
    r->prober = NULL;
    for (int i = 0; i < 2; i++) {
        drill_prober_free(r->direct[i]);
        r->direct[i] = NULL;
    }
}

/* The direct probers of the origins that have a URL, created and started together (a
 * non-NULL direct[i] is running). Their times are moved onto the edge prober's clock when they
 * are read (see direct_records). */
static cfdr_code new_direct(struct run *r, cfdr_err *err)
{
    const char *urls[2] = {r->plan->primary_url, r->plan->secondary_url};
    cfdr_code rc;
    r->direct_rate = r->plan->direct_rate > 0          ? r->plan->direct_rate
                     : r->plan->rate < DIRECT_RATE_MAX ? r->plan->rate
                                                       : DIRECT_RATE_MAX;
    for (int i = 0; i < 2; i++) {
        struct drill_prober_options po = r->edge_opts;
        if (!urls[i] || !*urls[i])
            continue;
        po.url = urls[i];
        po.rate = r->direct_rate;
        if (r->plan->direct_timeout_s > 0)
            po.timeout_s = r->plan->direct_timeout_s;
        po.connect_timeout_s = r->plan->direct_connect_timeout_s;
        po.served_by_header = po.primary_value = po.secondary_value = NULL;
        po.fixed_origin = i == 0 ? DRILL_ORIGIN_PRIMARY : DRILL_ORIGIN_SECONDARY;
        po.connect_to = NULL;
        po.nconnect_to = 0;
        if ((rc = drill_prober_new(&po, &r->direct[i], err)) ||
            (rc = drill_prober_start(r->direct[i], err)))
            return err_wrap(err, "probing the %s origin directly",
                            i == 0 ? "primary" : "secondary");
    }
    return CFDR_OK;
}

/* Direct probes cost something (in AWS mode every request to a service is in its metrics), so
 * they start only when needed: once the edge's answers turn out not to name their origin (a
 * successful answer without served_by_header: then they attribute every probe, and probe both
 * origins when both URLs are given, for fingerprinting), or, with event_from_direct, at the
 * request at the latest (at_event), to see when the primary really changed. Without the
 * primary's URL there is nothing to infer from. A failure is kept like a hook's: the drill goes
 * on without direct probes and finish() returns it. */
static void want_direct(struct run *r, int at_event)
{
    size_t done, errors, prim, sec;
    cfdr_err derr;
    cfdr_code rc;
    if (r->direct_tried || !r->plan->primary_url || !*r->plan->primary_url)
        return;
    if (!(at_event && r->plan->event_from_direct)) {
        drill_prober_counts(r->prober, &done, &errors, &prim, &sec);
        if (done <= errors || prim + sec > 0)
            return;
    }
    r->direct_tried = 1;
    r->direct_start_s = drill_prober_now(r->prober);
    err_clear(&derr);
    if ((rc = new_direct(r, &derr))) {
        for (int i = 0; i < 2; i++) {
            drill_prober_free(r->direct[i]);
            r->direct[i] = NULL;
        }
        r->direct_rate = 0;
        if (!r->out->hook_rc)
            hook_failed(r, rc, &derr);
    }
}

static cfdr_code start(struct run *r, const struct drill_plan *plan, const struct drill_hooks *h,
                       struct drill_outcome *out, cfdr_err *err)
{
    struct drill_prober_options po = {0};
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    out->event_s = out->requested_s = out->effective_s = out->event_end_s = -1;
    memset(r, 0, sizeof(*r));
    r->plan = plan;
    r->h = h;
    r->out = out;
    po.url = plan->url;
    po.rate = plan->rate;
    po.timeout_s = plan->probe_timeout_s > 0 ? plan->probe_timeout_s : 60;
    po.served_by_header = plan->served_by_header;
    po.primary_value = plan->primary_value;
    po.secondary_value = plan->secondary_value;
    po.connect_to = plan->connect_to;
    po.nconnect_to = plan->nconnect_to;
    po.log = plan->log;
    r->edge_opts = po;
    if ((rc = drill_prober_new(&po, &r->prober, err))) {
        free_probers(r);
        return rc;
    }
    r->wall0 = clock_wall_s();
    rc = drill_prober_start(r->prober, err);
    if (rc) {
        free_probers(r);
        return rc;
    }
    clock_iso(r->wall0, out->started_at);
    return CFDR_OK;
}

static void stamp_event(struct run *r)
{
    want_direct(r, 1);
    r->out->event_s = r->out->requested_s = drill_prober_now(r->prober);
    clock_iso(r->wall0 + r->out->event_s, r->out->event_started_at);
    memcpy(r->out->requested_at, r->out->event_started_at, sizeof(r->out->requested_at));
}

/* The direct probes of one origin, stopped and read, on the edge prober's clock. *out is
 * malloc'd (NULL and 0 without a direct prober). */
static cfdr_code direct_records(struct run *r, int i, struct drill_direct **out, size_t *n,
                                cfdr_err *err)
{
    struct drill_probe_record *recs = NULL;
    double shift;
    cfdr_code rc;

    *out = NULL;
    *n = 0;
    if (!r->direct[i])
        return CFDR_OK;
    shift = drill_prober_now(r->prober) - drill_prober_now(r->direct[i]);
    if ((rc = drill_prober_stop(r->direct[i], err)) ||
        (rc = drill_prober_snapshot(r->direct[i], &recs, n, err)))
        return rc;
    *out = calloc(*n ? *n : 1, sizeof(**out));
    if (!*out) {
        free(recs);
        return err_set(err, CFDR_E_NOMEM, "out of memory keeping %zu direct probes", *n);
    }
    for (size_t k = 0; k < *n; k++) {
        const struct drill_probe *p = &recs[k].probe;
        (*out)[k].sent_s = p->sent_s + shift;
        (*out)[k].healthy =
            drill_servedby_healthy(p->status, p->error, p->latency_s, r->plan->origin_timeout_s);
        (*out)[k].print.body_hash = recs[k].body_hash;
        (*out)[k].print.header_hash = recs[k].header_hash;
    }
    free(recs);
    return CFDR_OK;
}

/* Attributes the edge probes to origins and, with event_from_direct, moves the event to when
 * the primary was seen to change (failing after an inject, serving after a recover). */
static cfdr_code infer(struct run *r, const struct drill_probe_record *recs, int outage,
                       cfdr_err *err)
{
    struct drill_direct *d[2] = {NULL, NULL};
    size_t nd[2] = {0, 0};
    struct drill_print *prints = NULL;
    struct drill_outcome *o = r->out;
    cfdr_code rc = CFDR_OK;

    for (int i = 0; i < 2 && !rc; i++)
        rc = direct_records(r, i, &d[i], &nd[i], err);
    if (!rc && o->nprobes > 0) {
        prints = calloc(o->nprobes, sizeof(*prints));
        if (!prints)
            rc = err_set(err, CFDR_E_NOMEM, "out of memory for %zu fingerprints", o->nprobes);
    }
    if (rc)
        goto out;
    for (size_t k = 0; k < o->nprobes; k++) {
        prints[k].body_hash = recs[k].body_hash;
        prints[k].header_hash = recs[k].header_hash;
    }
    drill_servedby_attribute(o->probes, prints, o->nprobes, d[0], nd[0], d[1], nd[1],
                             r->direct_rate > 0 ? 2.5 / r->direct_rate : 0, &o->served_by);
    if (r->plan->event_from_direct && o->requested_s >= 0 && nd[0] > 0) {
        /* between the request and the end of the event (the recovery of an outage, or the
         * edge prober's stop): direct probes go on a little longer, past what was measured */
        double until = outage && o->event_end_s >= 0 ? o->event_end_s : r->edge_stop_s;
        double seen = drill_servedby_first_run(d[0], nd[0], o->requested_s, until, outage ? 0 : 1,
                                               DRILL_SERVEDBY_CHANGE_RUN);
        if (seen >= 0) {
            o->event_s = seen;
            o->event_observed = 1;
            clock_iso(r->wall0 + seen, o->event_started_at);
        }
    }
out:
    free(prints);
    free(d[0]);
    free(d[1]);
    return rc;
}

static cfdr_code finish(struct run *r, int outage, cfdr_err *err)
{
    struct drill_probe_record *recs = NULL;
    size_t n = 0;
    cfdr_code rc;

    report(r, "stopping", 1);
    r->edge_stop_s = drill_prober_now(r->prober);
    rc = drill_prober_stop(r->prober, err);
    if (!rc)
        rc = drill_prober_snapshot(r->prober, &recs, &n, err);
    if (!rc) {
        r->out->probes = calloc(n ? n : 1, sizeof(*r->out->probes));
        if (!r->out->probes)
            rc = err_set(err, CFDR_E_NOMEM, "out of memory keeping %zu probes", n);
    }
    if (!rc) {
        for (size_t i = 0; i < n; i++)
            r->out->probes[i] = recs[i].probe;
        r->out->nprobes = n;
        drill_prober_lateness(r->prober, &r->out->max_lateness_s, &r->out->p99_lateness_s);
        rc = infer(r, recs, outage, err);
    }
    free(recs);
    free_probers(r);
    if (rc)
        return rc;
    if (r->out->interrupted)
        return err_set(err, CFDR_E_INTERRUPTED,
                       "interrupted: the drill was cut short%s; what was probed is kept",
                       r->out->recovered ? " and the primary was brought back" : "");
    if (r->out->hook_rc)
        return err_set(err, r->out->hook_rc, "%s", r->out->hook_error);
    return CFDR_OK;
}

static void recover(struct run *r, const char *phase)
{
    cfdr_err herr;
    cfdr_code rc;
    err_clear(&herr);
    report(r, phase, 1);
    rc = r->h->recover(r->h->ud, &herr);
    if (rc) {
        if (!r->out->hook_rc)
            hook_failed(r, rc, &herr);
    } else {
        r->out->recovered = 1;
    }
}

cfdr_code drill_run_outage(const struct drill_plan *plan, const struct drill_hooks *h,
                           struct drill_outcome *out, cfdr_err *err)
{
    struct run r;
    cfdr_err herr;
    cfdr_code rc;
    int injected = 0;

    if ((rc = start(&r, plan, h, out, err)))
        return rc;
    if (wait_until(&r, plan->baseline_s, "baseline", NULL) == 0) {
        err_clear(&herr);
        stamp_event(&r);
        report(&r, "injecting", 1);
        injected = 1; /* even a failed inject may have taken the primary part-way down */
        rc = h->inject(h->ud, &herr);
        out->effective_s = drill_prober_now(r.prober);
        if (rc)
            hook_failed(&r, rc, &herr);
        else
            wait_until(&r, out->event_s + plan->duration_s, "outage", NULL);
    }
    if (injected && (plan->resume_at_end || out->interrupted || out->hook_rc)) {
        out->event_end_s = drill_prober_now(r.prober);
        recover(&r, "recovering");
    }
    return finish(&r, 1, err);
}

/* The primary has served for confirm_s in a row since the resume: seen through the edge when
 * its answers name the origin, else seen directly. A primary that was already serving at the
 * resume request (its streak began before it, or the direct probes, started no later than the
 * request, never saw it fail) is back at once: was_serving, and no figure to wait for. */
static int primary_back(struct run *r)
{
    size_t done, errors, prim, sec;
    struct drill_prober *by = r->prober;
    double s, shift = 0;
    int direct = 0;
    drill_prober_counts(r->prober, &done, &errors, &prim, &sec);
    if (prim + sec == 0 && r->direct[0]) {
        by = r->direct[0];
        direct = 1;
        shift = drill_prober_now(r->prober) - drill_prober_now(r->direct[0]);
    }
    s = drill_prober_primary_streak_start(by);
    if (s < 0)
        return 0;
    s += shift;
    if (direct)
        drill_prober_counts(by, &done, &errors, &prim, &sec);
    if (s < r->out->requested_s ||
        (direct && errors == 0 && r->direct_start_s <= r->out->requested_s)) {
        r->out->was_serving = 1;
        return 1;
    }
    return drill_prober_now(r->prober) - s >= r->plan->confirm_s;
}

cfdr_code drill_run_failback(const struct drill_plan *plan, const struct drill_hooks *h,
                             struct drill_outcome *out, cfdr_err *err)
{
    struct run r;
    cfdr_err herr;
    cfdr_code rc;

    if ((rc = start(&r, plan, h, out, err)))
        return rc;
    if (wait_until(&r, plan->baseline_s, "baseline", NULL) == 0) {
        err_clear(&herr);
        stamp_event(&r);
        report(&r, "recovering", 1);
        rc = h->recover(h->ud, &herr);
        out->effective_s = drill_prober_now(r.prober);
        if (rc) {
            hook_failed(&r, rc, &herr);
        } else {
            out->recovered = 1;
            wait_until(&r, out->event_s + plan->timeout_s, "failback", primary_back);
        }
    }
    return finish(&r, 0, err);
}
