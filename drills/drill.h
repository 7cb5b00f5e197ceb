/*
 * drill: the choreography of an outage drill and of a failback check, written once for both
 * modes. The mode-specific parts (pause a service, resume it) come in as hooks; the prober
 * (drills/prober) keeps probing on its own thread while a hook blocks (AWS: PauseService and
 * the wait for PAUSED).
 *
 * Outage:   probe -> baseline -> inject (requested_s = when the hook was called) -> probe for
 *           duration_s -> [recover, if resume_at_end] -> stop -> outcome.
 * Failback: probe -> short baseline -> recover (requested_s) -> probe until the primary has
 *           served for confirm_s in a row, or timeout_s -> stop -> outcome. A primary that
 *           already served at the request stops the wait at once (was_serving).
 * With the origins' own URLs (plan primary_url/secondary_url; the secondary's may be empty),
 * more probers probe them directly at direct_rate, started only when needed: when the first
 * successful edge answer lacks served_by_header, and with event_from_direct at the request at
 * the latest. The outcome then says which origin served each edge probe even when the origins
 * send no served_by_header (drills/servedby), and, with event_from_direct (AWS mode:
 * PauseService and ResumeService are asynchronous), the event is the first of
 * DRILL_SERVEDBY_CHANGE_RUN consecutive direct probes that saw the primary fail (outage) or
 * serve again (failback), sent after the request and before the recovery (outage) or the edge
 * prober's stop; otherwise the event is the request itself.
 * An interruption (the flag the caller's signal handler sets) cuts the drill short: the primary
 * is recovered (never left down by a Ctrl-C in the middle of an outage drill) and the outcome
 * holds everything probed so far, marked interrupted.
 *
 * Ownership: the plan and hooks are borrowed. The outcome owns its probe array:
 * drill_outcome_free() releases it (a zeroed outcome is fine).
 */
#ifndef CFDR_DRILL_H
#define CFDR_DRILL_H

#include <signal.h>
#include <stddef.h>

#include "aws/err.h"
#include "aws/log.h"
#include "drills/analysis.h"
#include "drills/servedby.h"

struct drill_progress {
    double elapsed_s;
    const char *phase; /* "baseline", "injecting", "outage", "recovering", "failback" */
    size_t probes, errors, primary, secondary;
    /* When the edge's answers do not name their origin (primary + secondary == 0) and the
     * primary is probed directly: 1 while it answers, 0 while it fails; -1 otherwise. */
    int primary_direct;
};

struct drill_hooks {
    /* Takes the primary down (blocking until the fault is in effect is allowed). */
    cfdr_code (*inject)(void *ud, cfdr_err *err);
    /* Brings the primary back (blocking until it runs again is allowed). */
    cfdr_code (*recover)(void *ud, cfdr_err *err);
    /* Called about every progress_interval_s from the drill's thread; may be NULL. */
    void (*progress)(void *ud, const struct drill_progress *p);
    void *ud;
};

struct drill_plan {
    const char *url;
    double rate;
    double baseline_s; /* probing before the event (PRODUCT.md: 2 s) */
    double duration_s; /* outage: probing after the fault is injected */
    double timeout_s;  /* failback: give up after this long */
    double confirm_s;  /* failback: the primary must serve this long without error */
    double probe_timeout_s;
    double progress_interval_s;
    int resume_at_end; /* outage: recover at the end (--resume) */
    const char *served_by_header;
    const char *primary_value, *secondary_value;
    /* The origins themselves, probed directly (NULL or "": no direct probes). */
    const char *primary_url, *secondary_url;
    double direct_rate;      /* direct probes per second per origin; 0: the rate, at most 10 */
    double origin_timeout_s; /* a direct answer slower than this is failing (response timeout) */
    double direct_timeout_s; /* a direct probe gives up after this; 0: probe_timeout_s */
    double direct_connect_timeout_s; /* and on a connect after this (connection timeout); 0: none */
    int event_from_direct;           /* the event is when direct probes saw the primary change */
    const char *const *connect_to;   /* see drill_prober_options */
    size_t nconnect_to;
    volatile sig_atomic_t *interrupted; /* set by the caller's signal handler; may be NULL */
    const struct cfdr_log *log;
};

struct drill_outcome {
    struct drill_probe *probes; /* ordered by send time */
    size_t nprobes;
    double event_s;     /* the outage (resume) start the figures count from, on the probes'
                           clock: requested_s, or with event_from_direct the start of the first
                           run of direct probes that saw the primary change (requested_s when
                           none did) */
    double requested_s; /* when inject/recover was called */
    double effective_s; /* when that hook returned */
    int event_observed; /* event_s comes from the direct probes */
    double event_end_s; /* outage: when recover was called (resume/interrupt), else -1 */
    double max_lateness_s, p99_lateness_s;
    char started_at[32];                    /* ISO-8601 of t = 0 */
    char event_started_at[32];              /* ISO-8601 of event_s */
    char requested_at[32];                  /* ISO-8601 of requested_s */
    struct drill_servedby_result served_by; /* how probes were attributed to origins */
    int interrupted;
    int recovered;     /* the primary was brought back by this drill */
    int was_serving;   /* failback: the primary already served when the resume was requested
                          (it never went down): there is no failback time to measure, and
                          event_s is not a resume start (the caller reports no figure) */
    cfdr_code hook_rc; /* a failed hook (the outcome is still valid up to that point) */
    char hook_error[CFDR_ERR_MSG_MAX];
};

void drill_outcome_free(struct drill_outcome *o);

/* Both return CFDR_OK when the drill ran (whatever it found), CFDR_E_INTERRUPTED when it was
 * cut short (the outcome is still filled), or the error of the prober or of a hook. */
cfdr_code drill_run_outage(const struct drill_plan *plan, const struct drill_hooks *h,
                           struct drill_outcome *out, cfdr_err *err);
cfdr_code drill_run_failback(const struct drill_plan *plan, const struct drill_hooks *h,
                             struct drill_outcome *out, cfdr_err *err);

#endif
