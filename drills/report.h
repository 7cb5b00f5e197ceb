/*
 * report: a drill's results as documents people read and share — JSON (for machines), Markdown
 * and a self-contained HTML page with an SVG timeline (latency per probe, coloured by the
 * origin that served it, errors marked, the outage window shaded).
 *
 * Input is a struct drill_report: what was drilled, the probe timeline and the figures
 * drills/analysis computed. The JSON always carries the keys PRODUCT.md section 4 names:
 * kind, mode, fault, probes (count), client_errors, served_by {primary, secondary, unknown},
 * outage_started_at, failover_seconds, steady_seconds, latency {before: {p50_ms, p99_ms},
 * during: {...}}, result; failback reports: failback_seconds, client_errors. Both say how the
 * origins were told apart (served_by_method: header, fingerprint, primary-health, none, with
 * served_by_uncertain) and when the fault or resume was requested (fault_requested_at,
 * resume_requested_at) beside when it took effect (outage_started_at, resume_started_at). It also
 * carries the failover budget (what each kind of outage costs a viewer under the configured origin
 * settings) beside the measured figure, and the timeline itself.
 *
 * Reports never contain secrets: no credentials, no webhook URLs, no SMTP URLs.
 *
 * Ownership: the report struct and everything it points to are the caller's (borrowed).
 * Rendering functions append to a caller-owned struct buf or return a new json_object the
 * caller releases with json_object_put().
 */
#ifndef CFDR_DRILL_REPORT_H
#define CFDR_DRILL_REPORT_H

#include <stddef.h>

#include <json-c/json.h>

#include "aws/buf.h"
#include "aws/err.h"
#include "drills/analysis.h"

enum drill_report_kind { DRILL_REPORT_OUTAGE, DRILL_REPORT_FAILBACK };

/* What each kind of outage costs a viewer, from the origin settings (PRODUCT.md section 4). */
struct drill_budget {
    int connection_attempts;
    double connection_timeout_s;
    double response_timeout_s;
};

/* The kinds of primary outage the budget states, in the order reports list them. */
enum drill_budget_kind {
    DRILL_BUDGET_ERROR_STATUS, /* paused, 5xx: one primary round trip */
    DRILL_BUDGET_REFUSED,      /* refused connection: one failed connect per attempt */
    DRILL_BUDGET_BLACKHOLE,    /* no answer at all: attempts x connection timeout */
    DRILL_BUDGET_HUNG,         /* connects, never answers: attempts x response timeout */
    DRILL_BUDGET_NKINDS
};

/* The budget kind a drill fault exercises ("pause"/"error" -> ERROR_STATUS, "refuse" ->
 * REFUSED, "blackhole" -> BLACKHOLE, "slow" -> HUNG); -1 for NULL or an unknown fault. */
int drill_budget_kind_of(const char *fault);
/* The JSON name of a budget kind ("error_status", "refused", "blackhole", "hung"); NULL if out
 * of range. */
const char *drill_budget_kind_name(int kind);
/* What each kind costs a request, in seconds. round_trip_s is one primary round trip (-1 when
 * unknown); costs that depend on it, or on a setting that is not positive, are -1. The
 * refused cost is an upper bound: a refused connect costs about one network round trip. */
void drill_budget_costs(const struct drill_budget *b, double round_trip_s,
                        double cost_s[DRILL_BUDGET_NKINDS]);

struct drill_report {
    enum drill_report_kind kind;
    const char *mode;  /* "local" or "aws" */
    const char *fault; /* "pause", "error", "refuse", "blackhole", "slow"; NULL for failback */
    const char *project;
    const char *edge_url;        /* what was probed */
    const char *primary_label;   /* e.g. "us-east-1 · dr-demo-east" */
    const char *secondary_label; /* e.g. "us-west-2 · dr-demo-west" */
    const char *started_at;      /* ISO-8601 UTC wall-clock time of t = 0 */
    double rate;                 /* probes per second */
    double event_s;     /* outage start (outage) or resume start (failback), seconds from t = 0 */
    double event_end_s; /* outage end (e.g. --resume), or -1 when the primary stayed down */
    const char *event_started_at;     /* ISO-8601 of event_s (outage_started_at / resume start) */
    const struct drill_probe *probes; /* probe.error is the prober's CURLcode (0: none) */
    size_t nprobes;
    struct drill_outage_figures outage;     /* kind == OUTAGE */
    struct drill_failback_figures failback; /* kind == FAILBACK */
    struct drill_budget budget;
    double alert_seconds;   /* outage start to the first notification received; -1: none */
    const char *alert_note; /* why alert_seconds is -1 (e.g. no alarms set up); NULL: none */
    int passed;             /* the result the command's exit status reflects */
    const char *verdict;    /* one sentence: why it passed or failed */
    int interrupted;        /* the drill was cut short (Ctrl-C): a partial report */
    /* The kind of target alert_seconds measured: "webhook", "email", or "file" when the alarm
     * service has neither; NULL: unknown or none. */
    const char *alert_target;
    /* When the fault (resume) was requested, seconds from t = 0, -1 when unknown, and as
     * ISO-8601 (NULL when unknown); event_s is when it took effect. */
    double requested_s;
    const char *requested_at;
    /* How probes were attributed to origins: "header", "fingerprint", "primary-health" or
     * "none" (NULL: not recorded); the fingerprint used ("body", "headers") or NULL; how many
     * probes were attributed near a change of the primary's health. */
    const char *served_by_method;
    const char *served_by_fingerprint;
    size_t served_by_uncertain;
};

/* The JSON document (see the header comment for its keys). */
cfdr_code drill_report_json(const struct drill_report *r, json_object **out, cfdr_err *err);
/* Markdown, for terminals, tickets and chat. */
cfdr_code drill_report_markdown(const struct drill_report *r, struct buf *out, cfdr_err *err);
/* One self-contained HTML page (inline CSS and SVG, no scripts or external resources). Every
 * probe is exactly one SVG element with class "probe" (and a class for its origin or error).
 * A page is about 60 bytes per probe: a 300,000-probe drill needs about 18 MB, more than
 * BUF_MAX_DOC; give such drills a buffer limited by BUF_MAX_LARGE (CFDR_E_TOOBIG otherwise). */
cfdr_code drill_report_html(const struct drill_report *r, struct buf *out, cfdr_err *err);
/* The report as one <article class="report"> element, for pages that hold several (cfdr
 * report); style it with drill_report_css(). */
cfdr_code drill_report_html_article(const struct drill_report *r, struct buf *out, cfdr_err *err);
/* The stylesheet the HTML pages use (a static string). */
const char *drill_report_css(void);
/* Writes <dir>/<basename>.json, .md and .html atomically, mode 0644 (creating dir, 0755).
 * basename is a plain file name (no '/'). The JSON is pretty-printed with one timeline entry
 * per line. docs/REPORTS.md documents the JSON schema. */
cfdr_code drill_report_write(const struct drill_report *r, const char *dir, const char *basename,
                             cfdr_err *err);

#endif
