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

struct run {
    const struct drill_plan *plan;
    const struct drill_hooks *h;
    struct drill_prober *prober;
    struct drill_outcome *out;
    double wall0;       /* wall clock at the prober's epoch */
    double next_report; /* prober time of the next progress call */
};

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

static cfdr_code start(struct run *r, const struct drill_plan *plan, const struct drill_hooks *h,
                       struct drill_outcome *out, cfdr_err *err)
{
    struct drill_prober_options po = {0};
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    out->event_s = out->effective_s = out->event_end_s = -1;
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
    if ((rc = drill_prober_new(&po, &r->prober, err)))
        return rc;
    r->wall0 = clock_wall_s();
    if ((rc = drill_prober_start(r->prober, err))) {
        drill_prober_free(r->prober);
        r->prober = NULL;
        return rc;
    }
    clock_iso(r->wall0, out->started_at);
    return CFDR_OK;
}

static void stamp_event(struct run *r)
{
    r->out->event_s = drill_prober_now(r->prober);
    clock_iso(r->wall0 + r->out->event_s, r->out->event_started_at);
}

static cfdr_code finish(struct run *r, cfdr_err *err)
{
    struct drill_probe_record *recs = NULL;
    size_t n = 0;
    cfdr_code rc;

    report(r, "stopping", 1);
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
    }
    free(recs);
    drill_prober_free(r->prober);
    r->prober = NULL;
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
    return finish(&r, err);
}

static int primary_back(struct run *r)
{
    double s = drill_prober_primary_streak_start(r->prober);
    return s >= 0 && s >= r->out->event_s && drill_prober_now(r->prober) - s >= r->plan->confirm_s;
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
    return finish(&r, err);
}
