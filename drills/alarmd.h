/*
 * alarmd: the local alarm service — CloudWatch's two cfdr alarms evaluated on the local edge's
 * own metrics, with SNS-shaped notifications. `cfdr --local alarms setup` runs it in the
 * background (`cfdr _alarmd`); docs/ALARMS.md ("Local mode") describes the design.
 *
 * What it owns: the two alarms (drills/alarm) of PRODUCT.md section 5,
 *   <project>-failover-active  AWS/AppRunner Requests of the secondary service, Sum >= 1 over one
 *                              period, TreatMissingData notBreaching, in the secondary's region;
 *   <project>-edge-5xx         AWS/CloudFront 5xxErrorRate (percent of viewer requests answered
 *                              5xx), Average >= ALARMD_5XX_THRESHOLD (5 %) over one period,
 * notBreaching, in us-east-1; a notifier (drills/notify) with every configured target, an SNS topic
 * ARN per region, a libevent loop with a loopback control server (evhttp), and the files it keeps
 * in its directory: status.json       the alarms' states, reasons, last datapoints, the notifier's
 * counts (rewritten atomically after every evaluation and delivery) published.jsonl   one line per
 * published notification: message_id, alarm, state, published_at (so deliveries of notifications
 * spooled by an earlier run still name their alarm) deliveries.jsonl  one line per delivery to a
 * target: alarm, state, message_id, kind, target (redacted), target_id, published_at, delivered_at,
 * attempts — what drill reports read for alert_seconds (alarmd_first_delivery)
 *
 * Metrics: at each period boundary + ALARMD_SCRAPE_DELAY_S it reads the edge's Prometheus
 * /metrics (the edge recorded in the state file, found again at every scrape, so a restarted
 * edge is followed) and turns the counters' increase since the previous scrape into one
 * datapoint per alarm stamped just before the boundary, i.e. in the period that just ended:
 *   failover-active: the increase of cfdr_edge_origin_attempts_total{origin="secondary",
 *                    result="response"} (requests the secondary answered; 0 is a datapoint);
 *   edge-5xx:        100 x increase of cfdr_edge_responses_total{status_class="5xx"} / increase
 *                    of cfdr_edge_requests_total (no datapoint when there were no requests, as
 *                    CloudFront publishes none).
 * Then it evaluates both alarms and publishes a notification for every transition that fires.
 * A failed scrape gives no datapoint (missing data); the next successful one carries the
 * increase since the last good one into the latest period, so nothing counted is dropped.
 *
 * Control API (127.0.0.1 only, no authentication, JSON answers):
 *   GET  /health              {"status":"ok"}
 *   GET  /status              what status.json holds
 *   POST /test[?alarm=NAME]   SetAlarmState(ALARM) on the alarm (all without a name), so the
 *                             real notification path runs; the next evaluation puts it back.
 *                             {"tested":[{"alarm","message_id","notified","targets","note"}]};
 *                             404 for an unknown alarm.
 *
 * Deliveries name their target's id (notify_target_id) besides its shown form, and status
 * lists each target's id, so two webhooks on one host (same scheme://host:port) are told apart.
 *
 * Ownership: alarmd_run borrows its options for the call. alarmd_first_delivery and
 * alarmd_first_alert allocate nothing that outlives them.
 */
#ifndef CFDR_DRILL_ALARMD_H
#define CFDR_DRILL_ALARMD_H

#include <signal.h>
#include <stddef.h>

#include "aws/err.h"
#include "aws/log.h"

#define ALARMD_SCRAPE_DELAY_S 0.03 /* after a period boundary, before scraping and evaluating */
#define ALARMD_STATUS_FILE "status.json"
#define ALARMD_PUBLISHED_FILE "published.jsonl"
#define ALARMD_DELIVERIES_FILE "deliveries.jsonl"
#define ALARMD_FAILOVER_SUFFIX "-failover-active"
#define ALARMD_EDGE_5XX_SUFFIX "-edge-5xx"
#define ALARMD_5XX_REGION "us-east-1"
#define ALARMD_5XX_THRESHOLD 5.0 /* percent, as AWS mode (docs/ALARMS.md) */

struct alarmd_options {
    const char *dir;        /* required: where status.json and the journals live (exists) */
    const char *state_path; /* required: the state file naming the edge and its admin port */
    const char *project;
    int period_s; /* 1-9 (local), 10, 20, 30 or a multiple of 60 */
    const char *secondary_region;
    const char *secondary_service;
    const char *const *webhooks; /* nwebhooks URLs */
    size_t nwebhooks;
    const char *const *emails;
    size_t nemails;
    const char *smtp_url;    /* required when there are e-mail targets */
    const char *file_target; /* JSON-lines file of every notification; NULL for none */
    const char *spool_dir;   /* required */
    const char *listen;      /* control address; NULL = 127.0.0.1:0 */
    double retry_window_s;   /* notify's; 0 = its default */
    const struct cfdr_log *log;
    /* Called once the control server listens and the notifier resumed its spool. */
    void (*on_ready)(void *ud, int control_port, size_t resumed);
    void *ready_ud;
};

/* Runs until SIGINT or SIGTERM. CFDR_E_CONFIG for options a target or an alarm refuses;
 * CFDR_E_IO when the control port or the directory cannot be used. Pending notifications stay
 * in the spool. */
cfdr_code alarmd_run(const struct alarmd_options *o, cfdr_err *err);

/* The first delivery (earliest delivered_at, any target) recorded in dir's deliveries.jsonl
 * of a notification of `alarm` entering `state` ("ALARM", "OK") published at or after
 * since_wall. CFDR_OK with *found = 0 when there is none (or no file yet). *delivered_at and
 * *kind (a notify_kind_name, 16 bytes) describe it. */
cfdr_code alarmd_first_delivery(const char *dir, const char *alarm, const char *state,
                                double since_wall, int *found, double *delivered_at, char kind[16],
                                cfdr_err *err);

/* What a drill report measures as alert_seconds (docs/ALARMS.md): the first delivery of
 * `alarm` entering `state`, published at or after since_wall, to a person's target — a webhook
 * or an e-mail — when the service has any (its status.json lists its targets); only a service
 * with neither counts its JSON-lines file, which gets every notification milliseconds after it
 * is published and so says nothing about a receiver. CFDR_OK with out->found = 0 when there is
 * none. */
struct alarmd_alert {
    int found;
    double delivered_at; /* wall-clock seconds */
    char kind[16];       /* notify_kind_name of the target that received it */
    int user_targets; /* the service has webhook or e-mail targets (then the file never counts) */
};
cfdr_code alarmd_first_alert(const char *dir, const char *alarm, const char *state,
                             double since_wall, struct alarmd_alert *out, cfdr_err *err);

#endif
