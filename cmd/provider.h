/*
 * provider: what differs between AWS mode and offline (--local) mode, behind one interface, so
 * that every command's logic (state, waits, drills, reports) is written once in cmd_*.c.
 *
 * A provider acts on the resources the state file records: create brings them up and records
 * each one the moment it exists; inject/recover take the primary down and bring it back;
 * destroy removes what cfdr created, and nothing else. Providers print nothing themselves:
 * progress goes through app_say (stderr), so the commands stay in charge of stdout.
 *
 * Implementations: provider_local.c (offline: background stand-ins and the local edge) and
 * provider_aws.c (App Runner services and a CloudFront distribution; its environment knobs for
 * tests, CFDR_WAIT_SCALE and CFDR_EDGE_URL_OVERRIDE, are described there).
 *
 * Ownership: struct provider borrows the app, the configuration and the open state; provider_
 * close releases what the implementation holds (NULL accepted).
 */
#ifndef CFDR_PROVIDER_H
#define CFDR_PROVIDER_H

#include <stddef.h>

#include <json-c/json.h>

#include "aws/err.h"
#include "cmd/app.h"
#include "cmd/config.h"
#include "cmd/state.h"

/* Where drills send their probes, and how to tell the origins apart. */
struct provider_edge {
    char url[512];
    char primary_value[64]; /* served_by_header value of the primary (its region) */
    char secondary_value[64];
    /* The origins themselves, for direct probes that tell them apart when they send no
     * served_by_header (PRODUCT.md section 4) and that see when the primary really went down
     * (AWS: PauseService is asynchronous). Empty when unknown. AWS mode leaves secondary_url
     * empty: a direct request to the secondary counts in the metric its failover alarm
     * watches (docs/ALARMS.md), so only local mode can fingerprint both origins. */
    char primary_url[512];
    char secondary_url[512];
};

struct provider;

struct provider_ops {
    const char *mode;          /* "local" or "aws" (the state file's mode) */
    const char *const *faults; /* fault kinds this mode can inject, NULL-terminated */
    /* Sets up what the implementation holds (p->impl); NULL when there is nothing to set up.
     * provider_open calls it; on failure nothing is held. */
    cfdr_code (*open)(struct provider *p, cfdr_err *err);
    /* wait: wait until what was created serves (AWS: Deployed); with_services: create missing
     * services too (AWS; local mode always starts its stand-ins). */
    cfdr_code (*create)(struct provider *p, int wait, int with_services, cfdr_err *err);
    /* Adds "resources": [...] with each resource's live health to out. */
    cfdr_code (*status)(struct provider *p, json_object *out, cfdr_err *err);
    cfdr_code (*edge)(struct provider *p, struct provider_edge *out, cfdr_err *err);
    cfdr_code (*inject)(struct provider *p, const char *fault, cfdr_err *err);
    cfdr_code (*recover)(struct provider *p, cfdr_err *err);
    /* Whether the primary is down now, asked of the primary itself (local: the stand-in's
     * mode; AWS: the service's status): *down is 1 when a fault is in effect (local: any mode
     * but running; AWS: PAUSED), 0 when it serves (local: running; AWS: RUNNING), -1 when
     * neither is sure (AWS: an operation in progress). what (n bytes) gets the mode or status.
     * The drills ask before their baseline, so that they measure a real change. */
    cfdr_code (*primary_down)(struct provider *p, int *down, char *what, size_t n, cfdr_err *err);
    /* Removes everything recorded; *removed counts what it stopped or deleted, *gone what was
     * recorded but already gone. Idempotent. delete_services: also delete services cfdr did
     * not create (AWS; local mode starts every process itself). */
    cfdr_code (*destroy)(struct provider *p, int delete_services, size_t *removed, size_t *gone,
                         cfdr_err *err);
    /* Alarms (PRODUCT.md section 5). alarms_setup creates what notifies (topics and
     * subscriptions, or the local evaluator and its targets) and the alarms, recording each in
     * the state the moment it exists; re-running it changes nothing that already matches.
     * alarms_status adds "alarms": [{name, region, state, reason, updated_at, ...}] to out.
     * alarms_test fires a real notification for the alarm `name` (NULL: every alarm) the way
     * SetAlarmState does, and adds "tested": [...] to out. destroy removes alarms, topics and
     * subscriptions too. NULL when the mode has no alarms yet (the command says so). */
    cfdr_code (*alarms_setup)(struct provider *p, json_object *out, cfdr_err *err);
    cfdr_code (*alarms_status)(struct provider *p, json_object *out, cfdr_err *err);
    cfdr_code (*alarms_test)(struct provider *p, const char *name, json_object *out, cfdr_err *err);
    void (*close)(struct provider *p);
};

struct provider {
    const struct provider_ops *ops;
    struct cfdr_app *app;
    const struct cfdr_config *cfg;
    struct cfdr_state *st;
    void *impl;
};

/* Chooses the implementation for app->g.local (AWS mode without it) and opens it. */
cfdr_code provider_open(struct cfdr_app *app, const struct cfdr_config *cfg, struct cfdr_state *st,
                        struct provider *out, cfdr_err *err);
void provider_close(struct provider *p);
/* 1 when this provider can inject that fault. */
int provider_supports_fault(const struct provider *p, const char *fault);

extern const struct provider_ops provider_local_ops;
extern const struct provider_ops provider_aws_ops;

#endif
