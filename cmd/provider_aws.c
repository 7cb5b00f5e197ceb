/*
 * provider_aws: AWS mode. Two App Runner services (found by name, or created from the public
 * sample image with --with-services) behind one CloudFront distribution whose default behaviour
 * targets an origin group over them (aws/cloudfront.h, aws/apprunner.h), on one transport
 * (aws/transport.h) with credentials from the AWS CLI's chain (aws/creds.h).
 *
 * The state file records each resource the moment AWS returns it:
 *   kind "service", id "primary" | "secondary": name, region, arn, service_id, host, url,
 *       status, created_by_cfdr (false for a service cfdr found), paused_by_cfdr (a drill
 *       paused it and nothing resumed it yet);
 *   kind "distribution", id "distribution": caller_reference (recorded BEFORE the create call,
 *       so a retried or interrupted create never makes a second distribution), then
 *       distribution_id, arn, domain, url, etag, status, enabled.
 * Destroy works in reverse order and updates the state after every step, so an interrupted
 * destroy resumes where it stopped.
 *
 * Waits poll at the interval of the official waiters: CloudFront's DistributionDeployed waiter
 * (botocore's cloudfront/2020-05-31/waiters-2.json: GetDistribution every 60 s, at most 35
 * times); App Runner has no official waiter (botocore ships no waiters file for it), so
 * DescribeService every 5 s, at most 30 minutes for a create and 15 for anything else. Every
 * delay is jittered by +-10 %. Ctrl-C stops a wait; the state keeps what exists.
 *
 * Environment knobs, for tests only (each one is announced with a warning when set):
 *   CFDR_WAIT_SCALE=F        multiplies every wait interval (and so every time limit) by F,
 *                            0 < F <= 1 (e.g. 0.01: the 60 s CloudFront interval becomes 0.6 s)
 *   CFDR_EDGE_URL_OVERRIDE=U drills probe U (e.g. http://127.0.0.1:8080/, a local edge in
 *                            front of local stand-ins) instead of https://<distribution domain>/
 *   CFDR_PRIMARY_URL_OVERRIDE=U
 *                            drills probe U directly instead of https://<ServiceUrl>/ of the
 *                            primary service (the local stand-in behind the test endpoint)
 *
 * Which origin served a probe: the drill compares the drill.served_by_header response header
 * with the two regions. App Runner's public sample image sends no such header: the drill then
 * infers it from direct probes of the primary service only (https://<ServiceUrl>/,
 * drills/servedby, primary-health), which also show when the primary really stopped serving
 * after PauseService (asynchronous). The secondary is never probed directly: its requests are
 * the metric of the failover alarm.
 *
 * --dry-run: every request is printed (signed, secrets redacted) by the transport's dry-run sink
 * on stdout and none is sent; waits that depend on answers are skipped and say so; the state is
 * not changed. Credentials are not resolved over the network: static keys from the environment
 * or the shared files are used, anything else (assume-role, IAM Identity Center,
 * credential_process, container, instance metadata) is replaced by a placeholder key.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "aws/apprunner.h"
#include "aws/awsconfig.h"
#include "aws/buf.h"
#include "aws/clock.h"
#include "aws/cloudfront.h"
#include "aws/cloudwatch.h"
#include "aws/creds.h"
#include "aws/sns.h"
#include "aws/transport.h"
#include "cmd/provider.h"
#include "drills/alarmd.h"

/* CloudFront's DistributionDeployed waiter (botocore waiters-2.json). */
#define CF_WAIT_DELAY_S 60.0
#define CF_WAIT_MAX_ATTEMPTS 35
/* App Runner: no official waiter. */
#define AR_WAIT_DELAY_S 5.0
#define AR_WAIT_CREATE_S (30 * 60.0)
#define AR_WAIT_OTHER_S (15 * 60.0)
#define WAIT_JITTER 0.10
/* Bounded retries around ETag races and services busy with another operation. */
#define DESTROY_ROUNDS 8
#define CF_COMMENT_MAX 128 /* characters in a distribution's Comment */

/*
 * Drill cost estimate (docs/COSTS.md). Prices: Amazon CloudFront on-demand pricing for viewers
 * in the United States, Mexico and Canada, the cheapest column (cfdr's PriceClass_100 also
 * serves Europe and Israel). Checked on 2026-11-25 with the search tool's stored pages:
 *  - data transfer out to the internet, first 10 TB a month: $0.085 per GB, from the stored
 *    copy of https://aws.amazon.com/cloudfront/pricing (the same price for Europe; the page
 *    also lists an always-free tier of 1 TB and 10,000,000 requests a month);
 *  - HTTPS requests: $0.0100 per 10,000. That stored copy ends before its request table, so
 *    this figure comes from secondary sources that quote the page: a CloudFront pricing
 *    lesson (kindatechnical.com, "HTTPS Requests $0.0100" per 10,000, HTTP $0.0075) and an
 *    infracost pull request listing CloudFront's US, Mexico, Canada prices (HTTP $0.0075 per
 *    10k, data transfer $0.085 per GB). Not confirmed on AWS's own page on that date.
 * A probe's answer from the sample image is taken as about 4 KB with headers. The drill's
 * direct probes of the services do not pass through CloudFront and cost nothing here.
 */
#define PRICE_PER_10K_HTTPS 0.0100
#define PRICE_PER_GB 0.085
#define PROBE_BYTES 4096.0

static const char *const aws_faults[] = {"pause", NULL};

struct aws_impl {
    struct creds_provider *creds;
    struct transport *t;
    double scale;    /* CFDR_WAIT_SCALE */
    int dry_run;     /* --dry-run */
    int status_open; /* a wait's progress line is on the terminal */
};

static struct aws_impl *impl(struct provider *p)
{
    return p->impl;
}

/* ---- small helpers ---- */

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int jbool(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static int interrupted(const struct provider *p)
{
    return p->app->interrupted && *p->app->interrupted;
}

/* State changes, skipped in dry-run (nothing was created, so nothing is recorded). Takes f. */
static cfdr_code put(struct provider *p, const char *kind, const char *id, json_object *f,
                     cfdr_err *err)
{
    if (impl(p)->dry_run) {
        json_object_put(f);
        return CFDR_OK;
    }
    return state_put_resource(p->st, kind, id, f, err);
}

static cfdr_code forget(struct provider *p, const char *kind, const char *id, cfdr_err *err)
{
    if (impl(p)->dry_run)
        return CFDR_OK;
    return state_remove_resource(p->st, kind, id, err);
}

static double rand01(void)
{
    unsigned int x;
    if (RAND_bytes((unsigned char *)&x, sizeof(x)) != 1)
        return 0.5;
    return (double)x / 4294967296.0;
}

/* Sleeps about s seconds (jittered) in short slices. CFDR_E_INTERRUPTED when the user
 * interrupts and the wait is interruptible. */
static cfdr_code nap(struct provider *p, double s, int interruptible, cfdr_err *err)
{
    double until = clock_mono_s() + s * (1.0 - WAIT_JITTER + 2.0 * WAIT_JITTER * rand01());
    for (;;) {
        double left = until - clock_mono_s();
        if (interruptible && interrupted(p))
            return err_set(err, CFDR_E_INTERRUPTED, "interrupted");
        if (left <= 0)
            return CFDR_OK;
        clock_sleep_s(left < 0.1 ? left : 0.1);
    }
}

/* One line per status change for logs; a live line on a terminal. */
static void wait_status(struct provider *p, double t0, const char *what, const char *status,
                        char *last, size_t lastsz, int check)
{
    double el = clock_mono_s() - t0;
    if (app_interactive(p->app)) {
        app_progress(p->app, "  [%5.0f s] %s: %s (check %d)", el, what, status, check);
        impl(p)->status_open = 1;
    } else if (strcmp(last, status) != 0) {
        app_say(p->app, "  [%5.0f s] %s: %s", el, what, status);
    }
    snprintf(last, lastsz, "%s", status);
}

static void wait_done(struct provider *p)
{
    if (impl(p)->status_open)
        app_progress_end(p->app);
    impl(p)->status_open = 0;
}

/* ---- credentials ---- */

/* The profile's static keys in one file section, if it has them. */
static int section_keys(const struct awsconfig_section *s, const char **ak, const char **sk,
                        const char **tok)
{
    *ak = awsconfig_section_get(s, "aws_access_key_id");
    *sk = awsconfig_section_get(s, "aws_secret_access_key");
    *tok = awsconfig_section_get(s, "aws_session_token");
    return *ak && **ak && *sk && **sk;
}

/* --dry-run: credentials that need no request to resolve (the AWS CLI's order: environment,
 * credentials file, config file), or NULL with the reason in why (the transport then signs
 * with a placeholder key and says so in every printed request). */
static cfdr_code dry_run_creds(struct provider *p, struct creds_provider **out, char *why,
                               size_t whysz, cfdr_err *err)
{
    struct creds_options co = {0};
    struct awsconfig *cfg = NULL;
    struct aws_credentials c = {0};
    const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
    const char *tok = getenv("AWS_SESSION_TOKEN"), *profile, *source = NULL;
    static const char *const network_keys[] = {"role_arn",
                                               "sso_session",
                                               "sso_start_url",
                                               "sso_account_id",
                                               "credential_process",
                                               "web_identity_token_file",
                                               NULL};
    cfdr_code rc = CFDR_OK;

    *out = NULL;
    why[0] = '\0';
    co.profile = p->app->g.profile;
    co.log = &p->app->log;
    if (!co.profile && ak && *ak && sk && *sk) {
        source = "environment";
    } else {
        profile = creds_profile_name(&co);
        if ((rc = awsconfig_load(&cfg, err)))
            return rc;
        for (const char *const *k = network_keys; *k; k++) {
            if (awsconfig_profile_get(cfg, profile, *k, NULL)) {
                snprintf(why, whysz,
                         "profile '%s' gets its credentials with %s, which would send a request "
                         "or run a program",
                         profile, *k);
                break;
            }
        }
        if (!why[0] &&
            section_keys(awsconfig_credentials_profile(cfg->credentials, profile), &ak, &sk, &tok))
            source = "shared-credentials-file";
        else if (!why[0] &&
                 section_keys(awsconfig_config_profile(cfg->config, profile), &ak, &sk, &tok))
            source = "config-file";
        else if (!why[0])
            snprintf(why, whysz,
                     "profile '%s' has no static keys; container or instance credentials would "
                     "need a request",
                     profile);
    }
    if (source) {
        rc = creds_fill(&c, ak, sk, tok, 0, source, err);
        if (!rc)
            rc = creds_provider_new_static(&c, out, err);
        creds_free(&c);
    }
    awsconfig_free(cfg);
    return rc;
}

/* ---- open / close ---- */

static void dry_run_emit(void *ud, const char *text)
{
    struct cfdr_app *app = ud;
    size_t n = strlen(text);
    fputs(text, app->out);
    if (n == 0 || text[n - 1] != '\n')
        fputc('\n', app->out);
    fputc('\n', app->out);
    fflush(app->out);
}

static cfdr_code wait_scale(struct provider *p, double *out, cfdr_err *err)
{
    const char *s = getenv("CFDR_WAIT_SCALE");
    char *end;
    double v;
    *out = 1.0;
    if (!s || !*s)
        return CFDR_OK;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !(v > 0) || v > 1)
        return err_set(err, CFDR_E_USAGE,
                       "CFDR_WAIT_SCALE='%.32s' is not a number in (0, 1]; it is a test hook that "
                       "shortens waits: unset it",
                       s);
    app_warn(p->app, "CFDR_WAIT_SCALE=%g (a test hook): every wait interval is scaled by it", v);
    *out = v;
    return CFDR_OK;
}

static void aws_close(struct provider *p)
{
    struct aws_impl *a = p ? p->impl : NULL;
    if (!a)
        return;
    transport_free(a->t);
    creds_provider_free(a->creds);
    free(a);
    p->impl = NULL;
}

static cfdr_code aws_open(struct provider *p, cfdr_err *err)
{
    struct aws_impl *a = calloc(1, sizeof(*a));
    struct transport_options to = {0};
    struct creds_options co = {0};
    char why[256] = "";
    cfdr_code rc;

    if (!a)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    p->impl = a;
    a->dry_run = p->app->g.dry_run;
    if ((rc = wait_scale(p, &a->scale, err)))
        goto fail;
    if (a->dry_run) {
        if ((rc = dry_run_creds(p, &a->creds, why, sizeof(why), err)))
            goto fail;
        if (!a->creds)
            app_warn(p->app,
                     "dry run: %s; the requests below are signed with a placeholder key "
                     "instead",
                     why);
    } else {
        co.profile = p->app->g.profile;
        co.log = &p->app->log;
        if ((rc = creds_provider_new(&co, &a->creds, err)))
            goto fail;
    }
    to.creds = a->creds;
    to.log = &p->app->log;
    to.dry_run = a->dry_run;
    to.dry_run_emit = dry_run_emit;
    to.dry_run_ud = p->app;
    if ((rc = transport_new(&to, &a->t, err)))
        goto fail;
    return CFDR_OK;
fail:
    aws_close(p);
    return rc;
}

/* ---- App Runner services ---- */

static const struct config_origin *origin_of(const struct provider *p, const char *which)
{
    return strcmp(which, "primary") == 0 ? &p->cfg->primary : &p->cfg->secondary;
}

static int aws_code_is(const struct aws_error *e, const char *code)
{
    return strcmp(e->code, code) == 0;
}

/* Records what AWS said of a service; created: 1 or 0 sets created_by_cfdr, -1 keeps it. */
static cfdr_code record_service(struct provider *p, const char *which,
                                const struct apprunner_service *s, int created, cfdr_err *err)
{
    const struct config_origin *o = origin_of(p, which);
    json_object *f = json_object_new_object();
    char url[APPRUNNER_URL_SIZE + 16];
    json_object_object_add(f, "name", json_object_new_string(o->service));
    json_object_object_add(f, "region", json_object_new_string(o->region));
    if (s->arn[0])
        json_object_object_add(f, "arn", json_object_new_string(s->arn));
    if (s->id[0])
        json_object_object_add(f, "service_id", json_object_new_string(s->id));
    if (s->url[0]) {
        snprintf(url, sizeof(url), "https://%s/", s->url);
        json_object_object_add(f, "host", json_object_new_string(s->url));
        json_object_object_add(f, "url", json_object_new_string(url));
    }
    if (s->status[0])
        json_object_object_add(f, "status", json_object_new_string(s->status));
    if (created >= 0)
        json_object_object_add(f, "created_by_cfdr", json_object_new_boolean(created));
    return put(p, "service", which, f, err);
}

static cfdr_code set_flag(struct provider *p, const char *kind, const char *id, const char *key,
                          int value, cfdr_err *err)
{
    json_object *f = json_object_new_object();
    json_object_object_add(f, key, json_object_new_boolean(value));
    return put(p, kind, id, f, err);
}

/* DescribeService of the recorded service `which`. *gone = 1 when App Runner no longer has it
 * (described as DELETED, or not found). */
static cfdr_code describe(struct provider *p, const char *which, struct apprunner_service *s,
                          int *gone, cfdr_err *err)
{
    json_object *r = state_resource(p->st, "service", which);
    const char *arn = jstr(r, "arn"), *region = jstr(r, "region");
    struct aws_error ae;
    cfdr_code rc;

    *gone = 0;
    memset(s, 0, sizeof(*s));
    if (!arn || !region)
        return err_set(err, CFDR_E_NOTFOUND,
                       "no %s App Runner service is recorded in %s; run cfdr create first", which,
                       p->st->dir);
    rc = apprunner_describe_service(impl(p)->t, region, arn, s, &ae, err);
    if (rc == CFDR_E_AWS && aws_code_is(&ae, APPRUNNER_ERR_RESOURCE_NOT_FOUND)) {
        *gone = 1;
        return CFDR_OK;
    }
    if (!rc && strcmp(s->status, "DELETED") == 0)
        *gone = 1;
    return rc;
}

/* What to tell the user when a wait is interrupted, per command. */
#define HINT_CREATE "run cfdr create again to resume, or cfdr destroy to remove what cfdr created"
#define HINT_INJECT "the drill brings the primary back"
#define HINT_RECOVER "run cfdr verify-failback again to bring the primary back"
#define HINT_DESTROY "run cfdr destroy again to finish"

/* Polls DescribeService until the status is `want` ("RUNNING", "PAUSED"), or with want NULL
 * until no operation is in progress, or with want "DELETED" until the service is gone. hint
 * says what to do after an interruption. */
static cfdr_code wait_service(struct provider *p, const char *which, const char *want,
                              double limit_s, int interruptible, const char *hint,
                              struct apprunner_service *last, cfdr_err *err)
{
    const struct config_origin *o = origin_of(p, which);
    double t0 = clock_mono_s(), limit = limit_s * impl(p)->scale;
    char what[160], seen[APPRUNNER_WORD_SIZE] = "";
    int gone = 0;
    cfdr_code rc;

    snprintf(what, sizeof(what), "%s service %s (%s)%s%s", which, o->service, o->region,
             want ? ", waiting for " : ", waiting for its operation to end", want ? want : "");
    for (int check = 1;; check++) {
        if ((rc = describe(p, which, last, &gone, err)))
            break;
        if (gone) {
            if (want && strcmp(want, "DELETED") == 0)
                break;
            rc = err_set(err, CFDR_E_AWS,
                         "the %s service %s (%s) was deleted while cfdr waited for it; run cfdr "
                         "status, then cfdr create again",
                         which, o->service, o->region);
            break;
        }
        wait_status(p, t0, what, last->status, seen, sizeof(seen), check);
        if (!want ? strcmp(last->status, "OPERATION_IN_PROGRESS") != 0
                  : strcmp(last->status, want) == 0) {
            rc = record_service(p, which, last, -1, err);
            break;
        }
        if (strcmp(last->status, "CREATE_FAILED") == 0 ||
            strcmp(last->status, "DELETE_FAILED") == 0) {
            rc = err_set(err, CFDR_E_AWS,
                         "the %s service %s (%s) is %s; look at its events in the App Runner "
                         "console, then run cfdr destroy (or fix it and run cfdr create again)",
                         which, o->service, o->region, last->status);
            break;
        }
        if (clock_mono_s() - t0 > limit) {
            rc = err_set(err, CFDR_E_AWS,
                         "the %s service %s (%s) is still %s after %.0f s; it may get there on its "
                         "own: run cfdr status to see, then try again",
                         which, o->service, o->region, last->status, clock_mono_s() - t0);
            break;
        }
        if ((rc = nap(p, AR_WAIT_DELAY_S * impl(p)->scale, interruptible, err))) {
            wait_done(p);
            return err_set(err, CFDR_E_INTERRUPTED,
                           "interrupted while waiting for the %s service %s (%s), which was %s; "
                           "the state in %s keeps what exists: %s",
                           which, o->service, o->region, last->status, p->st->dir, hint);
        }
    }
    wait_done(p);
    if (!rc)
        app_say(p->app, "  %s service %s (%s) is %s (%.0f s)", which, o->service, o->region,
                gone ? "gone" : last->status, clock_mono_s() - t0);
    return rc;
}

/* CreateService from the public sample image, recorded the moment App Runner answers. */
static cfdr_code create_service(struct provider *p, const char *which, cfdr_err *err)
{
    const struct config_origin *o = origin_of(p, which);
    struct apprunner_tag tag = {CF_PROJECT_TAG, p->cfg->project};
    struct apprunner_create_spec spec = {0};
    struct apprunner_service s;
    struct aws_error ae;
    cfdr_code rc;

    spec.name = o->service;
    spec.tags = &tag;
    spec.ntags = 1;
    app_say(p->app, "  creating the %s service %s in %s from %s", which, o->service, o->region,
            APPRUNNER_SAMPLE_IMAGE);
    rc = apprunner_create_service(impl(p)->t, o->region, &spec, &s, &ae, err);
    if (rc == CFDR_E_AWS && aws_code_is(&ae, APPRUNNER_ERR_INVALID_REQUEST) &&
        strstr(ae.message, "already exists")) {
        /* An attempt whose answer was lost (a retried 5xx or timeout) created it: it is ours. */
        rc = apprunner_find_service(impl(p)->t, o->region, o->service, &s, NULL, err);
        if (rc)
            return err_wrap(err, "CreateService said %s exists, but it cannot be found",
                            o->service);
        app_say(p->app, "  an earlier attempt created %s: recorded", o->service);
    }
    if (rc)
        return err_wrap(err, "creating the %s service", which);
    if (impl(p)->dry_run)
        return CFDR_OK;
    return record_service(p, which, &s, 1, err);
}

/* Makes sure the service `which` exists and is recorded; *wait_for = 1 when it is being
 * created or busy. */
static cfdr_code ensure_service(struct provider *p, const char *which, int with_services,
                                int *wait_for, cfdr_err *err)
{
    const struct config_origin *o = origin_of(p, which);
    json_object *r = state_resource(p->st, "service", which);
    struct apprunner_service s;
    int gone = 0;
    cfdr_code rc;

    *wait_for = 0;
    if (r) {
        const char *name = jstr(r, "name"), *region = jstr(r, "region");
        if (!name || !region || strcmp(name, o->service) != 0 || strcmp(region, o->region) != 0)
            return err_set(err, CFDR_E_CONFIG,
                           "%s records %s as the %s service, and cfdr.json says %s (%s); run "
                           "cfdr destroy with the old configuration first, or use another "
                           "--state-dir",
                           p->st->path, name ? name : "another service", which, o->service,
                           o->region);
        if ((rc = describe(p, which, &s, &gone, err)))
            return rc;
        if (impl(p)->dry_run)
            return CFDR_OK;
        if (!gone) {
            app_say(p->app, "  %s service %s (%s) recorded in state: %s, reused", which, o->service,
                    o->region, s.status);
            *wait_for = strcmp(s.status, "OPERATION_IN_PROGRESS") == 0;
            return record_service(p, which, &s, -1, err);
        }
        app_say(p->app, "  the %s service %s (%s) recorded in state is gone: looking it up again",
                which, o->service, o->region);
        if ((rc = forget(p, "service", which, err)))
            return rc;
    }
    rc = apprunner_find_service(impl(p)->t, o->region, o->service, &s, NULL, err);
    if (rc == CFDR_E_NOTFOUND && impl(p)->dry_run) {
        app_say(p->app,
                "  dry run: the URL of %s comes from the ListServices answer; a placeholder "
                "stands in for it below%s",
                o->service,
                with_services ? " (and CreateService is shown as it would be sent if the "
                                "service does not exist)"
                              : "");
        return with_services ? create_service(p, which, err) : CFDR_OK;
    }
    if (rc == CFDR_E_NOTFOUND && !with_services)
        return err_set(err, CFDR_E_NOTFOUND,
                       "App Runner has no service named %s in %s (the %s origin in cfdr.json); "
                       "deploy it, correct %s.service / %s.region, or run cfdr create "
                       "--with-services to create both from the public sample image",
                       o->service, o->region, which, which, which);
    if (rc == CFDR_E_NOTFOUND) {
        *wait_for = 1;
        return create_service(p, which, err);
    }
    if (rc)
        return err_wrap(err, "looking up the %s service", which);
    app_say(p->app,
            "  found the %s service %s in %s: %s, https://%s/ (not created by cfdr: "
            "destroy leaves it alone)",
            which, o->service, o->region, s.status, s.url);
    if (strcmp(s.status, "PAUSED") == 0)
        app_warn(p->app,
                 "the %s service %s is PAUSED: the origin group fails over until it is "
                 "resumed (cfdr verify-failback resumes the primary)",
                 which, o->service);
    *wait_for = strcmp(s.status, "OPERATION_IN_PROGRESS") == 0;
    return record_service(p, which, &s, 0, err);
}

/* ---- the distribution ---- */

static cfdr_code record_distribution(struct provider *p, const struct cf_distribution *d,
                                     cfdr_err *err)
{
    json_object *f = json_object_new_object();
    char url[CF_NAME_SIZE + 16];
    json_object_object_add(f, "distribution_id", json_object_new_string(d->id));
    if (d->arn[0])
        json_object_object_add(f, "arn", json_object_new_string(d->arn));
    if (d->domain_name[0]) {
        snprintf(url, sizeof(url), "https://%s/", d->domain_name);
        json_object_object_add(f, "domain", json_object_new_string(d->domain_name));
        json_object_object_add(f, "url", json_object_new_string(url));
    }
    if (d->etag[0])
        json_object_object_add(f, "etag", json_object_new_string(d->etag));
    if (d->status[0])
        json_object_object_add(f, "status", json_object_new_string(d->status));
    json_object_object_add(f, "enabled", json_object_new_boolean(d->config.enabled));
    return put(p, "distribution", "distribution", f, err);
}

/* A fresh CallerReference: unique per create, readable in the console. */
static cfdr_code new_caller_reference(struct provider *p, char *out, size_t n, cfdr_err *err)
{
    unsigned char b[8];
    char now[32];
    if (RAND_bytes(b, sizeof(b)) != 1)
        return err_set(err, CFDR_E_INTERNAL, "could not draw random bytes for a caller reference");
    state_now_iso(now);
    snprintf(out, n, "cfdr-%s-%.4s%.2s%.2sT%.2s%.2s%.2sZ-%02x%02x%02x%02x%02x%02x%02x%02x",
             p->cfg->project, now, now + 5, now + 8, now + 11, now + 14, now + 17, b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7]);
    return CFDR_OK;
}

/* The host of the recorded service `which`, or a placeholder in dry-run when it is unknown. */
static void origin_host(struct provider *p, const char *which, char *out, size_t n)
{
    const char *h = jstr(state_resource(p->st, "service", which), "host");
    if (h)
        snprintf(out, n, "%s", h);
    else
        snprintf(out, n, "SERVICE-URL-OF-%s.invalid", origin_of(p, which)->service);
}

static void fill_spec(struct provider *p, struct cf_dist_spec *s, const char *ref,
                      char hosts[2][CF_NAME_SIZE], char ids[2][CF_NAME_SIZE], char *group,
                      size_t groupsz, char *comment, size_t commentsz)
{
    const struct cfdr_config *c = p->cfg;
    const struct config_origin *o[2] = {&c->primary, &c->secondary};
    cf_dist_spec_init(s);
    s->caller_reference = ref;
    snprintf(comment, commentsz, "cfdr %s: %s (%s) fails over to %s (%s)", c->project,
             c->primary.service, c->primary.region, c->secondary.service, c->secondary.region);
    if (commentsz > CF_COMMENT_MAX)
        comment[CF_COMMENT_MAX] = '\0'; /* CloudFront's limit */
    s->comment = comment;
    for (int i = 0; i < 2; i++) {
        origin_host(p, i == 0 ? "primary" : "secondary", hosts[i], CF_NAME_SIZE);
        snprintf(ids[i], CF_NAME_SIZE, "%s-%s", i == 0 ? "primary" : "secondary", o[i]->region);
        s->origins[i].id = ids[i];
        s->origins[i].domain_name = hosts[i];
        s->origins[i].connection_attempts = c->origin_group.connection_attempts;
        s->origins[i].connection_timeout_s = c->origin_group.connection_timeout_s;
        s->origins[i].read_timeout_s = c->origin_group.response_timeout_s;
    }
    snprintf(group, groupsz, "%s-failover", c->project);
    s->group_id = group;
    for (size_t i = 0; i < c->origin_group.n_failover_status_codes && i < CF_MAX_FAILOVER_CODES;
         i++)
        s->failover_codes[s->nfailover_codes++] = c->origin_group.failover_status_codes[i];
    s->project = c->project;
}

/* The distribution id in "... Already exists: E123" (CloudFront's DistributionAlreadyExists). */
static int id_from_already_exists(const char *msg, char *out, size_t n)
{
    const char *at = strstr(msg, "Already exists: ");
    size_t len = 0;
    if (!at)
        return 0;
    at += strlen("Already exists: ");
    while (isalnum((unsigned char)at[len]) && len + 1 < n)
        len++;
    if (len == 0)
        return 0;
    memcpy(out, at, len);
    out[len] = '\0';
    return 1;
}

/* The distribution tagged with this project whose CallerReference is ref, if any: how a create
 * whose answer never arrived is found again. */
static cfdr_code find_by_caller_reference(struct provider *p, const char *ref, char *id, size_t n,
                                          cfdr_err *err)
{
    struct cf_summary_list l = {0};
    cfdr_code rc;
    id[0] = '\0';
    rc = cf_find_distributions_by_tag(impl(p)->t, CF_PROJECT_TAG, p->cfg->project, &l, NULL, err);
    for (size_t i = 0; !rc && i < l.n && !id[0]; i++) {
        struct cf_config_doc doc = {0};
        struct aws_error ae;
        rc = cf_get_distribution_config(impl(p)->t, l.items[i].id, &doc, &ae, err);
        if (rc == CFDR_E_AWS && aws_code_is(&ae, CF_ERR_NO_SUCH_DISTRIBUTION))
            rc = CFDR_OK; /* deleted in between */
        else if (!rc && strcmp(doc.config.caller_reference, ref) == 0)
            snprintf(id, n, "%s", l.items[i].id);
        cf_config_doc_free(&doc);
    }
    cf_summary_list_free(&l);
    return rc;
}

/* Polls GetDistribution until Deployed, as the DistributionDeployed waiter does; *d is the
 * last answer (with the ETag the next update or delete needs). */
static cfdr_code wait_deployed(struct provider *p, const char *id, int interruptible,
                               const char *resume_hint, struct cf_distribution *d, cfdr_err *err)
{
    double t0 = clock_mono_s(), delay = CF_WAIT_DELAY_S * impl(p)->scale;
    double limit = 1.5 * CF_WAIT_DELAY_S * CF_WAIT_MAX_ATTEMPTS * impl(p)->scale;
    char what[128], seen[CF_WORD_SIZE] = "";
    cfdr_code rc = CFDR_OK;

    snprintf(what, sizeof(what), "distribution %s, waiting for Deployed", id);
    for (int check = 1;; check++) {
        cf_distribution_free(d);
        if ((rc = cf_get_distribution(impl(p)->t, id, d, NULL, err)))
            break;
        if (strcmp(seen, d->status) != 0 && (rc = record_distribution(p, d, err)))
            break;
        wait_status(p, t0, what, d->status, seen, sizeof(seen), check);
        if (strcmp(d->status, "Deployed") == 0)
            break;
        if (check >= CF_WAIT_MAX_ATTEMPTS || clock_mono_s() - t0 > limit) {
            rc = err_set(err, CFDR_E_AWS,
                         "distribution %s is still %s after %d checks in %.0f s (CloudFront's "
                         "own waiter gives up there too); it keeps deploying: %s",
                         id, d->status, check, clock_mono_s() - t0, resume_hint);
            break;
        }
        if (nap(p, delay, interruptible, err)) {
            wait_done(p);
            return err_set(err, CFDR_E_INTERRUPTED,
                           "interrupted while waiting for distribution %s (%s) to be Deployed; "
                           "it is recorded in %s and keeps deploying: %s",
                           id, d->status, p->st->dir, resume_hint);
        }
    }
    wait_done(p);
    if (!rc)
        app_say(p->app, "  distribution %s is Deployed (%.0f s)", id, clock_mono_s() - t0);
    return rc;
}

/* The recorded distribution `id` against cfdr.json: the origins' domains, attempts and
 * timeouts and the group's failover codes. When they differ, says how and updates it
 * (GetDistributionConfig, edit only those members, UpdateDistribution with that ETag; the
 * caller then waits for Deployed). A distribution whose origins or group are not the ones
 * cfdr.json describes (another region, a group someone rebuilt) is refused: an update cannot
 * turn it into what cfdr created, and guessing could cut viewers off. *d is the distribution
 * afterwards. */
static cfdr_code reconcile_distribution(struct provider *p, const char *id_in,
                                        struct cf_distribution *d, cfdr_err *err)
{
    char id[CF_ID_SIZE]; /* id_in may live in *d or in the state, which both change below */
    char hosts[2][CF_NAME_SIZE], ids[2][CF_NAME_SIZE], group[CF_NAME_SIZE];
    char comment[CF_TEXT_SIZE];
    struct cf_dist_spec spec;
    struct buf diff, body;
    cfdr_code rc = CFDR_OK;

    snprintf(id, sizeof(id), "%s", id_in);
    fill_spec(p, &spec, "", hosts, ids, group, sizeof(group), comment, sizeof(comment));
    buf_init(&diff, BUF_MAX_SMALL);
    buf_init(&body, BUF_MAX_DOC);
    /* Someone changing it between our read and our update gets PreconditionFailed: read again. */
    for (int round = 1; round <= DESTROY_ROUNDS; round++) {
        struct cf_config_doc doc = {0};
        struct aws_error ae;
        size_t ndiff = 0;
        int updatable = 1;

        buf_reset(&diff);
        buf_reset(&body);
        rc = cf_get_distribution_config(impl(p)->t, id, &doc, NULL, err);
        if (!rc)
            rc = cf_config_diff(&doc.config, &spec, &diff, &ndiff, &updatable, err);
        if (!rc && ndiff > 0 && !updatable)
            rc = err_set(err, CFDR_E_CONFIG,
                         "distribution %s recorded in %s is not the one cfdr.json describes, "
                         "and an update cannot make it so:\n%sRun cfdr destroy, then cfdr create "
                         "to make a distribution that matches (or put cfdr.json back as it was)",
                         id, p->st->path, buf_str(&diff));
        if (!rc && ndiff > 0) {
            app_say(p->app,
                    "  distribution %s differs from cfdr.json (%zu difference%s):\n%s"
                    "  updating it to match (UpdateDistribution)",
                    id, ndiff, ndiff == 1 ? "" : "s", buf_str(&diff));
            rc = cf_config_apply_spec(buf_str(&doc.xml), buf_len(&doc.xml), &spec, &body, err);
            if (!rc) {
                cf_distribution_free(d);
                rc = cf_update_distribution(impl(p)->t, id, doc.etag, buf_str(&body),
                                            buf_len(&body), d, &ae, err);
            }
            if (rc == CFDR_E_AWS && aws_code_is(&ae, CF_ERR_PRECONDITION_FAILED) &&
                round < DESTROY_ROUNDS) {
                app_say(p->app, "  distribution %s changed while cfdr updated it: reading it again",
                        id);
                cf_config_doc_free(&doc);
                continue;
            }
            if (!rc)
                rc = record_distribution(p, d, err);
            if (!rc)
                app_say(p->app, "  distribution %s updated (%s)", id, d->status);
        }
        cf_config_doc_free(&doc);
        break;
    }
    buf_free(&diff);
    buf_free(&body);
    if (rc && rc != CFDR_E_CONFIG)
        return err_wrap(err, "bringing distribution %s in line with cfdr.json", id);
    return rc;
}

/* Creates the distribution, or finds the one the state records. */
/* --dry-run of reconcile_distribution: its read is printed, not sent, so whether cfdr.json
 * drifted from the distribution cannot be known; print the read and say what would follow
 * instead of an UpdateDistribution body that only the real answer could give. */
static cfdr_code dry_run_reconcile(struct provider *p, const char *id_in, cfdr_err *err)
{
    struct cf_config_doc doc = {0};
    char id[CF_ID_SIZE];
    cfdr_code rc;

    snprintf(id, sizeof(id), "%s", id_in);
    rc = cf_get_distribution_config(impl(p)->t, id, &doc, NULL, err);
    cf_config_doc_free(&doc);
    if (rc)
        return rc;
    app_say(p->app,
            "  dry run: a real run compares distribution %s with cfdr.json (the origins' "
            "domains, connection attempts and timeouts, response timeout, failover status "
            "codes) using the GetDistributionConfig answer; if they differ it says how and "
            "sends UpdateDistribution (PUT /2020-05-31/distribution/%s/config with If-Match: "
            "the ETag of that answer, only those members changed), then waits until Deployed. "
            "Nothing was read here, so whether an update would follow is not known",
            id, id);
    return CFDR_OK;
}

static cfdr_code ensure_distribution(struct provider *p, struct cf_distribution *d, cfdr_err *err)
{
    json_object *r = state_resource(p->st, "distribution", "distribution");
    const char *id = jstr(r, "distribution_id"), *rec_ref = jstr(r, "caller_reference");
    char ref[CF_TEXT_SIZE], hosts[2][CF_NAME_SIZE], ids[2][CF_NAME_SIZE], group[CF_NAME_SIZE];
    char comment[CF_TEXT_SIZE], existing[CF_ID_SIZE];
    struct cf_dist_spec spec;
    struct aws_error ae;
    cfdr_code rc;

    if (id) {
        rc = cf_get_distribution(impl(p)->t, id, d, &ae, err);
        if (!rc && impl(p)->dry_run)
            return dry_run_reconcile(p, id, err);
        if (!rc && !impl(p)->dry_run && !d->config.enabled)
            return err_set(err, CFDR_E_CONFIG,
                           "distribution %s recorded in %s is disabled (was a destroy "
                           "interrupted?); run cfdr destroy to finish removing it, then cfdr "
                           "create",
                           id, p->st->path);
        if (!rc) {
            app_say(p->app, "  distribution %s recorded in state: %s, reused (https://%s/)", id,
                    d->status, d->domain_name);
            rc = record_distribution(p, d, err);
            return rc ? rc : reconcile_distribution(p, d->id, d, err);
        }
        if (rc != CFDR_E_AWS || !aws_code_is(&ae, CF_ERR_NO_SUCH_DISTRIBUTION))
            return rc;
        app_say(p->app, "  distribution %s recorded in state no longer exists: creating a new one",
                id);
        if ((rc = forget(p, "distribution", "distribution", err)))
            return rc;
        r = NULL;
        rec_ref = NULL;
    }
    for (int i = 0; i < 2 && !impl(p)->dry_run; i++) {
        const char *w = i == 0 ? "primary" : "secondary";
        if (!jstr(state_resource(p->st, "service", w), "host"))
            return err_set(err, CFDR_E_AWS,
                           "App Runner gave the %s service %s no URL yet; run cfdr create again "
                           "when cfdr status shows it RUNNING",
                           w, origin_of(p, w)->service);
    }
    if (rec_ref) {
        /* The state has the reference but no id: the last create got no answer. Sending the
         * same reference again returns that distribution, or names it. */
        snprintf(ref, sizeof(ref), "%s", rec_ref);
        app_say(p->app, "  an earlier create got no answer: sending it again with the same "
                        "caller reference, so no second distribution can be made");
    } else {
        json_object *f;
        if ((rc = new_caller_reference(p, ref, sizeof(ref), err)))
            return rc;
        f = json_object_new_object();
        json_object_object_add(f, "caller_reference", json_object_new_string(ref));
        json_object_object_add(f, "created_by_cfdr", json_object_new_boolean(1));
        if ((rc = put(p, "distribution", "distribution", f, err)))
            return rc;
    }
    fill_spec(p, &spec, ref, hosts, ids, group, sizeof(group), comment, sizeof(comment));
    app_say(p->app, "  creating the distribution: origin group %s over %s (primary) and %s", group,
            hosts[0], hosts[1]);
    rc = cf_create_distribution(impl(p)->t, &spec, d, &ae, err);
    if (rc == CFDR_E_AWS && aws_code_is(&ae, CF_ERR_DISTRIBUTION_ALREADY_EXISTS)) {
        /* Ours (the reference is ours) but created with another configuration. */
        if (!id_from_already_exists(ae.message, existing, sizeof(existing)) &&
            (rc = find_by_caller_reference(p, ref, existing, sizeof(existing), err)))
            return rc;
        if (!existing[0])
            return err_set(err, CFDR_E_AWS,
                           "CloudFront says caller reference %s is taken, but no distribution "
                           "tagged %s=%s has it; remove the distribution from %s and run cfdr "
                           "create again",
                           ref, CF_PROJECT_TAG, p->cfg->project, p->st->path);
        app_say(p->app, "  the earlier create made distribution %s: recorded", existing);
        rc = cf_get_distribution(impl(p)->t, existing, d, NULL, err);
    }
    if (rc)
        return err_wrap(err,
                        "creating the distribution (its caller reference is kept in %s: "
                        "running cfdr create again is safe)",
                        p->st->path);
    if (impl(p)->dry_run)
        return CFDR_OK;
    app_say(p->app, "  distribution %s created: https://%s/ (%s)", d->id, d->domain_name,
            d->status);
    return record_distribution(p, d, err);
}

/* ---- create ---- */

static void say_cost(struct provider *p)
{
    const struct cfdr_config *c = p->cfg;
    double seconds = 2.0 + c->drill.duration_s, requests = c->drill.rate * seconds;
    double gb = requests * PROBE_BYTES / (1024.0 * 1024.0 * 1024.0);
    double req_cost = requests / 10000.0 * PRICE_PER_10K_HTTPS, data_cost = gb * PRICE_PER_GB;
    app_say(p->app,
            "estimated CloudFront cost of one drill at %d probes/s for 2 s + %d s: %.0f HTTPS "
            "requests x $%.4f per 10,000 = $%.4f, plus %.4f GB x $%.3f/GB = $%.4f; about $%.4f "
            "in all",
            c->drill.rate, c->drill.duration_s, requests, PRICE_PER_10K_HTTPS, req_cost, gb,
            PRICE_PER_GB, data_cost, req_cost + data_cost);
    app_say(p->app,
            "  (an estimate: CloudFront's United States prices as checked on 2026-11-25, "
            "~%.0f KB per answer, before the always-free 10M requests and 1 TB a month; App "
            "Runner bills the services separately; see docs/COSTS.md)",
            PROBE_BYTES / 1024.0);
}

static cfdr_code aws_create(struct provider *p, int wait, int with_services, cfdr_err *err)
{
    static const char *const which[2] = {"primary", "secondary"};
    struct cf_distribution d = {0};
    int wait_for[2] = {0, 0};
    cfdr_code rc = CFDR_OK;

    say_cost(p);
    for (int i = 0; i < 2 && !rc; i++)
        rc = ensure_service(p, which[i], with_services, &wait_for[i], err);
    if (rc)
        return rc;
    if (impl(p)->dry_run && (wait_for[0] || wait_for[1] || with_services))
        app_say(p->app,
                "  dry run: the wait until the services are RUNNING depends on the "
                "answers (DescribeService every %.0f s): not shown",
                AR_WAIT_DELAY_S);
    for (int i = 0; i < 2 && !rc && !impl(p)->dry_run; i++)
        if (wait_for[i])
            rc = wait_service(p, which[i], "RUNNING", AR_WAIT_CREATE_S, 1, HINT_CREATE,
                              &(struct apprunner_service){0}, err);
    if (rc)
        return rc;
    if ((rc = ensure_distribution(p, &d, err)))
        goto out;
    if (impl(p)->dry_run) {
        app_say(p->app,
                "  dry run: stopping here; the distribution's id, domain and the wait "
                "until it is Deployed (GetDistribution every %.0f s) depend on "
                "CloudFront's answers",
                CF_WAIT_DELAY_S);
        goto out;
    }
    if (!wait) {
        app_say(p->app, "  not waiting for Deployed (--no-wait): cfdr status shows when it is");
    } else if (strcmp(d.status, "Deployed") != 0) {
        char id[CF_ID_SIZE];
        snprintf(id, sizeof(id), "%s", d.id);
        app_say(p->app,
                "  waiting until distribution %s is Deployed (CloudFront takes minutes; "
                "checking every %.3g s)",
                id, CF_WAIT_DELAY_S * impl(p)->scale);
        rc = wait_deployed(p, id, 1,
                           "run cfdr create again to keep waiting, or cfdr destroy to remove it",
                           &d, err);
        if (rc)
            goto out;
    }
    app_say(p->app, "  edge URL: https://%s/", d.domain_name);
out:
    cf_distribution_free(&d);
    return rc;
}

/* ---- edge, inject, recover ---- */

static cfdr_code aws_edge(struct provider *p, struct provider_edge *out, cfdr_err *err)
{
    json_object *r = state_resource(p->st, "distribution", "distribution");
    const char *domain = jstr(r, "domain"), *override = getenv("CFDR_EDGE_URL_OVERRIDE");
    if (impl(p)->dry_run)
        return err_set(err, CFDR_E_USAGE,
                       "drills send real traffic and cannot be dry run; --dry-run works with "
                       "create, destroy, alarms setup and alarms test");
    if (!domain)
        return err_set(err, CFDR_E_NOTFOUND,
                       "no CloudFront distribution is recorded in %s; run cfdr create first",
                       p->st->dir);
    if (!(override && *override))
        app_say(p->app,
                "  which origin served each probe comes from the %s response header "
                "(drill.served_by_header) when the services send it, else from probing the "
                "primary service directly (the secondary is never probed directly: its requests "
                "are what the failover alarm watches)",
                p->cfg->drill.served_by_header);
    if (override && *override) {
        if (strncmp(override, "http://", 7) != 0 && strncmp(override, "https://", 8) != 0)
            return err_set(err, CFDR_E_USAGE,
                           "CFDR_EDGE_URL_OVERRIDE='%.200s' is not an http(s) URL; it is a test "
                           "hook: unset it",
                           override);
        app_warn(p->app,
                 "CFDR_EDGE_URL_OVERRIDE is set (a TEST HOOK): probing %s instead of the "
                 "distribution https://%s/; unset it to measure CloudFront",
                 override, domain);
        snprintf(out->url, sizeof(out->url), "%s", override);
    } else {
        snprintf(out->url, sizeof(out->url), "https://%s/", domain);
    }
    snprintf(out->primary_value, sizeof(out->primary_value), "%s", p->cfg->primary.region);
    snprintf(out->secondary_value, sizeof(out->secondary_value), "%s", p->cfg->secondary.region);
    /* Only the primary is probed directly (to see when PauseService took effect, and to tell
     * the origins apart by the primary's health when the services send no header). A direct
     * request to the secondary would count in AWS/AppRunner Requests of the secondary, which is
     * exactly what <project>-failover-active alarms on: every drill would page on-call. So
     * secondary_url stays empty and fingerprinting (which needs both) is for --local only. */
    out->secondary_url[0] = '\0';
    {
        const char *host = jstr(state_resource(p->st, "service", "primary"), "host");
        const char *ov = getenv("CFDR_PRIMARY_URL_OVERRIDE");
        if (ov && *ov) {
            if (strncmp(ov, "http://", 7) != 0 && strncmp(ov, "https://", 8) != 0)
                return err_set(err, CFDR_E_USAGE,
                               "CFDR_PRIMARY_URL_OVERRIDE='%.200s' is not an http(s) URL; it is "
                               "a test hook: unset it",
                               ov);
            app_warn(p->app,
                     "CFDR_PRIMARY_URL_OVERRIDE is set (a TEST HOOK): probing %s directly "
                     "instead of the primary service",
                     ov);
            snprintf(out->primary_url, sizeof(out->primary_url), "%s", ov);
        } else if (host) {
            snprintf(out->primary_url, sizeof(out->primary_url), "https://%s/", host);
        }
    }
    return CFDR_OK;
}

static cfdr_code aws_inject(struct provider *p, const char *fault, cfdr_err *err)
{
    const struct config_origin *o = &p->cfg->primary;
    struct apprunner_service s;
    struct aws_error ae;
    int gone;
    cfdr_code rc;

    if (strcmp(fault, "pause") != 0)
        return err_set(err, CFDR_E_USAGE, "AWS mode injects only --fault pause, not %s", fault);
    if ((rc = describe(p, "primary", &s, &gone, err)))
        return rc;
    if (gone)
        return err_set(err, CFDR_E_NOTFOUND,
                       "the primary service %s (%s) no longer exists; run cfdr create", o->service,
                       o->region);
    if (strcmp(s.status, "PAUSED") == 0) {
        app_say(p->app, "  the primary service %s is already PAUSED", o->service);
        return CFDR_OK;
    }
    if (strcmp(s.status, "OPERATION_IN_PROGRESS") == 0 &&
        (rc = wait_service(p, "primary", NULL, AR_WAIT_OTHER_S, 1, HINT_INJECT, &s, err)))
        return rc;
    rc = apprunner_pause_service(impl(p)->t, o->region,
                                 jstr(state_resource(p->st, "service", "primary"), "arn"), &s, &ae,
                                 err);
    if (rc)
        return err_wrap(err, "pausing the primary service %s", o->service);
    if ((rc = set_flag(p, "service", "primary", "paused_by_cfdr", 1, err)))
        return rc;
    app_say(p->app, "  PauseService sent for %s (%s): waiting for PAUSED while the probes go on",
            o->service, o->region);
    return wait_service(p, "primary", "PAUSED", AR_WAIT_OTHER_S, 1, HINT_INJECT, &s, err);
}

static cfdr_code aws_recover(struct provider *p, cfdr_err *err)
{
    const struct config_origin *o = &p->cfg->primary;
    /* Recovering after a Ctrl-C: the first one is spent, so the waits below ignore it (a
     * second Ctrl-C ends cfdr at once). */
    int interruptible = !interrupted(p);
    struct apprunner_service s;
    struct aws_error ae;
    int gone;
    cfdr_code rc;

    if ((rc = describe(p, "primary", &s, &gone, err)))
        return rc;
    if (gone)
        return err_set(err, CFDR_E_NOTFOUND,
                       "the primary service %s (%s) no longer exists; run cfdr create", o->service,
                       o->region);
    if (strcmp(s.status, "OPERATION_IN_PROGRESS") == 0 &&
        (rc = wait_service(p, "primary", NULL, AR_WAIT_OTHER_S, interruptible, HINT_RECOVER, &s,
                           err)))
        return rc;
    if (strcmp(s.status, "RUNNING") == 0) {
        app_say(p->app, "  the primary service %s is RUNNING", o->service);
        return set_flag(p, "service", "primary", "paused_by_cfdr", 0, err);
    }
    rc = apprunner_resume_service(impl(p)->t, o->region,
                                  jstr(state_resource(p->st, "service", "primary"), "arn"), &s, &ae,
                                  err);
    if (rc)
        return err_wrap(err, "resuming the primary service %s", o->service);
    app_say(p->app, "  ResumeService sent for %s (%s): waiting for RUNNING", o->service, o->region);
    rc = wait_service(p, "primary", "RUNNING", AR_WAIT_OTHER_S, interruptible, HINT_RECOVER, &s,
                      err);
    if (!rc)
        rc = set_flag(p, "service", "primary", "paused_by_cfdr", 0, err);
    return rc;
}

/* The primary service's status (DescribeService). */
static cfdr_code aws_primary_down(struct provider *p, int *down, char *what, size_t n,
                                  cfdr_err *err)
{
    const struct config_origin *o = &p->cfg->primary;
    struct apprunner_service s;
    int gone;
    cfdr_code rc;

    *down = -1;
    if (n)
        what[0] = '\0';
    if ((rc = describe(p, "primary", &s, &gone, err)))
        return rc;
    if (gone)
        return err_set(err, CFDR_E_NOTFOUND,
                       "the primary service %s (%s) no longer exists; run cfdr create", o->service,
                       o->region);
    snprintf(what, n, "%s", s.status);
    if (strcmp(s.status, "PAUSED") == 0)
        *down = 1;
    else if (strcmp(s.status, "RUNNING") == 0)
        *down = 0;
    return CFDR_OK;
}

/* ---- status ---- */

static json_object *copy_record(json_object *r)
{
    json_object *o = json_object_new_object();
    json_object_object_foreach(r, k, v) json_object_object_add(o, k, json_object_get(v));
    return o;
}

/* Alarms, topics, subscriptions: see the alarms block at the end. */
static cfdr_code alarm_resource_status(struct provider *p, const char *kind, json_object *r,
                                       json_object *o, cfdr_err *err);
static cfdr_code destroy_alarms(struct provider *p, size_t *removed, size_t *gone, cfdr_err *err);

static cfdr_code aws_status(struct provider *p, json_object *out, cfdr_err *err)
{
    json_object *list = json_object_new_array();
    cfdr_code rc = CFDR_OK;

    for (size_t i = 0; i < state_resource_count(p->st) && !rc; i++) {
        json_object *r = state_resource_at(p->st, i), *o = copy_record(r);
        const char *kind = jstr(r, "kind"), *id = jstr(r, "id");
        if (kind && strcmp(kind, "service") == 0) {
            struct apprunner_service s;
            int gone = 0;
            rc = describe(p, id, &s, &gone, err);
            if (!rc && !impl(p)->dry_run) {
                json_object_object_add(o, "running", json_object_new_boolean(!gone));
                json_object_object_add(
                    o, "healthy",
                    json_object_new_boolean(!gone && strcmp(s.status, "RUNNING") == 0));
                json_object_object_add(o, "mode",
                                       json_object_new_string(gone ? "DELETED" : s.status));
                json_object_object_add(o, "status",
                                       json_object_new_string(gone ? "DELETED" : s.status));
            }
        } else if (kind && strcmp(kind, "distribution") == 0) {
            const char *did = jstr(r, "distribution_id");
            struct cf_distribution d = {0};
            struct aws_error ae;
            int gone = !did;
            if (did) {
                rc = cf_get_distribution(impl(p)->t, did, &d, &ae, err);
                if (rc == CFDR_E_AWS && aws_code_is(&ae, CF_ERR_NO_SUCH_DISTRIBUTION)) {
                    rc = CFDR_OK;
                    gone = 1;
                }
            }
            if (!rc && !impl(p)->dry_run) {
                char mode[CF_WORD_SIZE + 16];
                snprintf(mode, sizeof(mode), "%s%s", gone ? "absent" : d.status,
                         !gone && !d.config.enabled ? ",disabled" : "");
                json_object_object_add(o, "running", json_object_new_boolean(!gone));
                json_object_object_add(o, "healthy",
                                       json_object_new_boolean(!gone && d.config.enabled &&
                                                               strcmp(d.status, "Deployed") == 0));
                json_object_object_add(o, "mode", json_object_new_string(mode));
                if (!gone) {
                    json_object_object_add(o, "status", json_object_new_string(d.status));
                    json_object_object_add(o, "enabled", json_object_new_boolean(d.config.enabled));
                }
            }
            cf_distribution_free(&d);
        } else if (kind) {
            rc = alarm_resource_status(p, kind, r, o, err);
        }
        json_object_array_add(list, o);
    }
    json_object_object_add(out, "resources", list);
    return rc;
}

/* ---- destroy ---- */

static cfdr_code destroy_distribution(struct provider *p, size_t *removed, size_t *gone,
                                      cfdr_err *err)
{
    json_object *r = state_resource(p->st, "distribution", "distribution");
    const char *hint = HINT_DESTROY;
    char id[CF_ID_SIZE];
    struct cf_distribution d = {0};
    struct aws_error ae;
    cfdr_code rc = CFDR_OK;

    if (!r)
        return CFDR_OK;
    if (jstr(r, "distribution_id")) {
        snprintf(id, sizeof(id), "%s", jstr(r, "distribution_id"));
    } else {
        /* The create was sent but its answer never came back: it may exist all the same. */
        char ref[CF_TEXT_SIZE];
        snprintf(ref, sizeof(ref), "%s",
                 jstr(r, "caller_reference") ? jstr(r, "caller_reference") : "");
        if ((rc = find_by_caller_reference(p, ref, id, sizeof(id), err)))
            return err_wrap(err, "looking for the distribution an interrupted create may have "
                                 "made");
        if (!id[0]) {
            if (impl(p)->dry_run)
                return CFDR_OK;
            app_say(p->app, "  the interrupted create made no distribution (caller reference %s)",
                    ref);
            (*gone)++;
            return forget(p, "distribution", "distribution", err);
        }
        app_say(p->app, "  found distribution %s made by an interrupted create", id);
        d.config.enabled = 1;
        snprintf(d.id, sizeof(d.id), "%s", id);
        if ((rc = record_distribution(p, &d, err)))
            return rc;
    }
    if (impl(p)->dry_run) {
        rc = cf_disable_distribution(impl(p)->t, id, &d, NULL, err);
        app_say(p->app, "  dry run: UpdateDistribution (Enabled=false, If-Match: the ETag above), "
                        "the wait until Deployed and DeleteDistribution (If-Match: the ETag then) "
                        "depend on CloudFront's answers: not shown");
        cf_distribution_free(&d);
        return rc;
    }
    for (int round = 1; !rc; round++) {
        cf_distribution_free(&d);
        rc = cf_get_distribution(impl(p)->t, id, &d, &ae, err);
        if (rc == CFDR_E_AWS && aws_code_is(&ae, CF_ERR_NO_SUCH_DISTRIBUTION)) {
            app_say(p->app, "  distribution %s was already gone", id);
            (*gone)++;
            rc = forget(p, "distribution", "distribution", err);
            break;
        }
        if (rc || (rc = record_distribution(p, &d, err)))
            break;
        if (round > DESTROY_ROUNDS) {
            rc = err_set(err, CFDR_E_AWS,
                         "distribution %s could not be deleted after %d attempts (someone else "
                         "keeps changing it?); %s",
                         id, DESTROY_ROUNDS, hint);
            break;
        }
        if (d.config.enabled) {
            app_say(p->app, "  disabling distribution %s", id);
            cf_distribution_free(&d);
            rc = cf_disable_distribution(impl(p)->t, id, &d, &ae, err);
            if (rc == CFDR_E_AWS && aws_code_is(&ae, CF_ERR_PRECONDITION_FAILED)) {
                rc = CFDR_OK; /* changed in between: read it again */
                continue;
            }
            if (rc || (rc = record_distribution(p, &d, err)))
                break;
        }
        if (strcmp(d.status, "Deployed") != 0) {
            app_say(p->app,
                    "  waiting until the disabled distribution %s is Deployed (checking "
                    "every %.3g s)",
                    id, CF_WAIT_DELAY_S * impl(p)->scale);
            if ((rc = wait_deployed(p, id, 1, hint, &d, err)))
                break;
        }
        rc = cf_delete_distribution(impl(p)->t, id, d.etag, &ae, err);
        if (rc == CFDR_E_AWS && (aws_code_is(&ae, CF_ERR_PRECONDITION_FAILED) ||
                                 aws_code_is(&ae, CF_ERR_DISTRIBUTION_NOT_DISABLED))) {
            app_say(p->app, "  %s: reading distribution %s again", ae.code, id);
            rc = CFDR_OK;
            continue;
        }
        if (rc == CFDR_E_AWS && aws_code_is(&ae, CF_ERR_NO_SUCH_DISTRIBUTION)) {
            (*gone)++;
            rc = forget(p, "distribution", "distribution", err);
            break;
        }
        if (rc)
            break;
        app_say(p->app, "  deleted distribution %s", id);
        (*removed)++;
        rc = forget(p, "distribution", "distribution", err);
        break;
    }
    cf_distribution_free(&d);
    return rc;
}

static cfdr_code destroy_service(struct provider *p, const char *which, int delete_services,
                                 size_t *removed, size_t *gone_n, cfdr_err *err)
{
    json_object *r = state_resource(p->st, "service", which);
    const struct config_origin *o = origin_of(p, which);
    struct apprunner_service s;
    struct aws_error ae;
    char region[CONFIG_REGION_MAX + 1], arn[APPRUNNER_ARN_SIZE], name[APPRUNNER_NAME_SIZE];
    int gone = 0;
    cfdr_code rc;

    if (!r)
        return CFDR_OK;
    snprintf(region, sizeof(region), "%s", jstr(r, "region") ? jstr(r, "region") : o->region);
    snprintf(arn, sizeof(arn), "%s", jstr(r, "arn") ? jstr(r, "arn") : "");
    snprintf(name, sizeof(name), "%s", jstr(r, "name") ? jstr(r, "name") : o->service);
    if (!jbool(r, "created_by_cfdr") && !delete_services) {
        if (jbool(r, "paused_by_cfdr")) {
            /* A drill paused it and nothing resumed it: undo what cfdr did. */
            rc = apprunner_resume_service(impl(p)->t, region, arn, &s, &ae, err);
            if (rc && !(rc == CFDR_E_AWS && (aws_code_is(&ae, APPRUNNER_ERR_RESOURCE_NOT_FOUND) ||
                                             aws_code_is(&ae, APPRUNNER_ERR_INVALID_STATE))))
                return err_wrap(err, "resuming %s, which a drill paused", name);
            if (!rc && !impl(p)->dry_run)
                app_say(p->app,
                        "  asked App Runner to resume %s (%s), which a drill had paused "
                        "(ResumeService; it is RUNNING again in a few minutes)",
                        name, region);
        }
        if (!impl(p)->dry_run)
            app_say(p->app,
                    "  %s service %s (%s) was not created by cfdr: left as it is "
                    "(--delete-services deletes it too)",
                    which, name, region);
        return forget(p, "service", which, err);
    }
    if (impl(p)->dry_run)
        return apprunner_delete_service(impl(p)->t, region, arn, &s, &ae, err);
    for (int round = 1;; round++) {
        if ((rc = describe(p, which, &s, &gone, err)))
            return rc;
        if (gone) {
            app_say(p->app, "  %s service %s (%s) was already gone", which, name, region);
            (*gone_n)++;
            return forget(p, "service", which, err);
        }
        if (round > DESTROY_ROUNDS)
            return err_set(err, CFDR_E_AWS,
                           "App Runner would not delete %s (%s): it stays %s; run cfdr destroy "
                           "again later",
                           name, region, s.status);
        if (strcmp(s.status, "OPERATION_IN_PROGRESS") == 0 &&
            !jbool(state_resource(p->st, "service", which), "deleting")) {
            if ((rc = wait_service(p, which, NULL, AR_WAIT_OTHER_S, 1, HINT_DESTROY, &s, err)))
                return rc;
            continue;
        }
        if (!jbool(state_resource(p->st, "service", which), "deleting")) {
            app_say(p->app, "  deleting the %s service %s (%s)", which, name, region);
            rc = apprunner_delete_service(impl(p)->t, region, arn, &s, &ae, err);
            if (rc == CFDR_E_AWS && aws_code_is(&ae, APPRUNNER_ERR_INVALID_STATE))
                continue; /* an operation started in between: wait for it, try again */
            if (rc == CFDR_E_AWS && aws_code_is(&ae, APPRUNNER_ERR_RESOURCE_NOT_FOUND))
                continue; /* described as gone next round */
            if (rc)
                return rc;
            if ((rc = set_flag(p, "service", which, "deleting", 1, err)))
                return rc;
        }
        if ((rc = wait_service(p, which, "DELETED", AR_WAIT_OTHER_S, 1, HINT_DESTROY, &s, err)))
            return rc;
        app_say(p->app, "  deleted the %s service %s (%s)", which, name, region);
        (*removed)++;
        return forget(p, "service", which, err);
    }
}

static cfdr_code aws_destroy(struct provider *p, int delete_services, size_t *removed, size_t *gone,
                             cfdr_err *err)
{
    *removed = *gone = 0;
    /* Reverse order of creation: the alarms (with their topics and the distribution's
     * monitoring subscription), the distribution, then the services. */
    CFDR_TRY(destroy_alarms(p, removed, gone, err));
    CFDR_TRY(destroy_distribution(p, removed, gone, err));
    CFDR_TRY(destroy_service(p, "secondary", delete_services, removed, gone, err));
    CFDR_TRY(destroy_service(p, "primary", delete_services, removed, gone, err));
    return CFDR_OK;
}

/* ---- alarms (PRODUCT.md section 5; docs/ALARMS.md, "AWS mode") ----
 *
 * What alarms_setup records, each the moment AWS returns it:
 *   kind "alarm_topic", id <region>:<name>: name, region, arn (one SNS topic per region that holds
 * an alarm: alarm actions must be same-region); kind "alarm_subscription", id
 * <region>:<protocol>:<12 hex of the endpoint's SHA-256>: region, topic_arn, protocol,
 * endpoint_shown (a URL cut to scheme and host: webhook URLs carry tokens), arn, pending; kind
 * "monitoring_subscription", id <distribution id>: distribution_id, enabled; kind "alarm", id
 * <region>:<alarm name>: name, region, arn, metric. Alarms and topics are found by their region and
 * name fields (record_id, find_record), never overwritten by a namesake in another region; destroy
 * removes every one recorded. Re-running reads first (ListSubscriptionsByTopic, DescribeAlarms,
 * GetMonitoringSubscription) and writes only what is missing or differs, so a second run sends no
 * mutating request.
 */

#define ALARM_TOPIC_SUFFIX "-alarms"
#define ALARM_FAILOVER_SUFFIX "-failover-active"
#define ALARM_EDGE_SUFFIX "-edge-5xx"
#define CF_METRICS_REGION "us-east-1" /* CloudFront publishes its metrics there only */
/* Viewers getting errors: the 5xxErrorRate average (percent of viewer requests) at or above
 * this in one period. CloudFront's own alarm example uses 5 %. */
#define EDGE_5XX_THRESHOLD_PCT ALARMD_5XX_THRESHOLD /* one value in both modes */
#define ALARM_TEST_REASON                                                                          \
    "cfdr alarms test: a test notification sent with SetAlarmState; CloudWatch sets the "          \
    "real state again at the alarm's next evaluation"

struct alarm_want {
    struct cw_alarm *a; /* heap */
    char region[CONFIG_REGION_MAX + 1];
};

static cfdr_code sha12(const char *s, char out[13], cfdr_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) != 1 || n < 6)
        return err_set(err, CFDR_E_INTERNAL, "SHA-256 failed");
    for (int i = 0; i < 6; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return CFDR_OK;
}

/* An endpoint as it may be shown: an email address whole, a URL as scheme://host/... only. */
static void endpoint_shown(const char *endpoint, char *out, size_t n)
{
    const char *s = strstr(endpoint, "://"), *host, *end;
    if (!s) {
        snprintf(out, n, "%s", endpoint);
        return;
    }
    host = s + 3;
    end = host + strcspn(host, "/?#");
    for (const char *at = host; at < end; at++)
        if (*at == '@')
            host = at + 1; /* no user information */
    snprintf(out, n, "%.*s://%.*s%s", (int)(s - endpoint), endpoint, (int)(end - host), host,
             *end ? "/..." : "");
}

/* A recorded alarm or topic is keyed by region and name: the same name in another region is
 * another resource (after a change of the secondary's region, say), and overwriting its record
 * would lose it. Its "name" field (older records: the id) and "region" field say which. */
static const char *record_name(json_object *r)
{
    return jstr(r, "name") ? jstr(r, "name") : jstr(r, "id");
}

static json_object *find_record(struct provider *p, const char *kind, const char *region,
                                const char *name)
{
    for (size_t i = 0; i < state_resource_count(p->st); i++) {
        json_object *r = state_resource_at(p->st, i);
        const char *k = jstr(r, "kind"), *rg = jstr(r, "region"), *nm = record_name(r);
        if (k && rg && nm && strcmp(k, kind) == 0 && strcmp(rg, region) == 0 &&
            strcmp(nm, name) == 0)
            return r;
    }
    return NULL;
}

/* The id to record (kind, region, name) under: the existing record's, else <region>:<name>. */
static void record_id(struct provider *p, const char *kind, const char *region, const char *name,
                      char *id, size_t n)
{
    json_object *r = find_record(p, kind, region, name);
    if (r && jstr(r, "id"))
        snprintf(id, n, "%s", jstr(r, "id"));
    else
        snprintf(id, n, "%s:%s", region, name);
}

static const char *alarm_topic_arn(struct provider *p, const char *region)
{
    char name[CONFIG_PROJECT_MAX + 16];
    snprintf(name, sizeof(name), "%s" ALARM_TOPIC_SUFFIX, p->cfg->project);
    return jstr(find_record(p, "alarm_topic", region, name), "arn");
}

/* The regions that hold an alarm: the secondary's (failover) and us-east-1 (edge). */
static size_t alarm_regions(struct provider *p, const char *regions[2])
{
    regions[0] = p->cfg->secondary.region;
    if (strcmp(p->cfg->secondary.region, CF_METRICS_REGION) == 0)
        return 1;
    regions[1] = CF_METRICS_REGION;
    return 2;
}

static cfdr_code check_alarm_period(struct provider *p, cfdr_err *err)
{
    int s = p->cfg->alarms.period_s;
    if (s >= 60 && s % 60 == 0)
        return CFDR_OK;
    return err_set(err, CFDR_E_CONFIG,
                   "alarms.period_s is %d s: AWS/AppRunner and AWS/CloudFront publish one "
                   "datapoint a minute (standard resolution), so CloudWatch alarms on them need "
                   "a period of 60 s or a multiple of it (a shorter one finds no data most of the "
                   "time); set alarms.period_s to 60 in %s (shorter periods are for --local)",
                   s, p->app->g.config_path ? p->app->g.config_path : "cfdr.json");
}

/* The two alarms of PRODUCT.md section 5, as cfdr wants them. dry-run stands placeholders in
 * for what only AWS can say (ids, topic ARNs). */
static cfdr_code alarm_wants(struct provider *p, struct alarm_want w[2], cfdr_err *err)
{
    const struct cfdr_config *c = p->cfg;
    json_object *dist = state_resource(p->st, "distribution", "distribution");
    json_object *sec = state_resource(p->st, "service", "secondary");
    const char *did = jstr(dist, "distribution_id"), *sid = jstr(sec, "service_id");
    const char *topic;
    struct cw_alarm *a;

    memset(w, 0, 2 * sizeof(*w));
    if (sec) {
        /* the failover alarm watches the recorded secondary (its ServiceID); one in another
         * region or of another name would be a new alarm beside the old one */
        const char *name = jstr(sec, "name"), *region = jstr(sec, "region");
        if (!name || !region || strcmp(name, c->secondary.service) != 0 ||
            strcmp(region, c->secondary.region) != 0)
            return err_set(err, CFDR_E_CONFIG,
                           "%s records %s (%s) as the secondary service, and cfdr.json says %s "
                           "(%s); the failover alarm watches the recorded one: run cfdr destroy "
                           "with the old configuration first, or use another --state-dir",
                           p->st->path, name ? name : "another service", region ? region : "?",
                           c->secondary.service, c->secondary.region);
    }
    if ((!did || !sid) && !impl(p)->dry_run)
        return err_set(err, CFDR_E_NOTFOUND,
                       "%s records no %s; the alarms watch the secondary service and the "
                       "distribution: run cfdr create first",
                       p->st->path, !did ? "distribution" : "secondary App Runner service id");
    for (int i = 0; i < 2; i++) {
        w[i].a = calloc(1, sizeof(*w[i].a));
        if (!w[i].a)
            return err_set(err, CFDR_E_NOMEM, "out of memory");
    }
    /* <project>-failover-active: the secondary serving traffic. */
    a = w[0].a;
    snprintf(w[0].region, sizeof(w[0].region), "%s", c->secondary.region);
    snprintf(a->name, sizeof(a->name), "%s" ALARM_FAILOVER_SUFFIX, c->project);
    snprintf(a->description, sizeof(a->description),
             "cfdr %s: the secondary %s (%s) is serving requests, so CloudFront is failing over "
             "from the primary %s (%s). Viewers see no error; the primary needs attention.",
             c->project, c->secondary.service, c->secondary.region, c->primary.service,
             c->primary.region);
    snprintf(a->namespace_, sizeof(a->namespace_), "AWS/AppRunner");
    snprintf(a->metric, sizeof(a->metric), "Requests");
    snprintf(a->dimensions[0].name, sizeof(a->dimensions[0].name), "ServiceName");
    snprintf(a->dimensions[0].value, sizeof(a->dimensions[0].value), "%s", c->secondary.service);
    snprintf(a->dimensions[1].name, sizeof(a->dimensions[1].name), "ServiceID");
    snprintf(a->dimensions[1].value, sizeof(a->dimensions[1].value), "%s",
             sid ? sid : "SERVICE-ID-OF-SECONDARY");
    a->ndimensions = 2;
    snprintf(a->statistic, sizeof(a->statistic), "Sum");
    snprintf(a->comparison, sizeof(a->comparison), "GreaterThanOrEqualToThreshold");
    a->threshold = 1;
    /* <project>-edge-5xx: viewers getting errors. */
    a = w[1].a;
    snprintf(w[1].region, sizeof(w[1].region), CF_METRICS_REGION);
    snprintf(a->name, sizeof(a->name), "%s" ALARM_EDGE_SUFFIX, c->project);
    snprintf(a->description, sizeof(a->description),
             "cfdr %s: at least %g %% of viewer requests to distribution %s got a 5xx answer: "
             "failover did not hide the outage (both origins failing?).",
             c->project, EDGE_5XX_THRESHOLD_PCT, did ? did : "(not created yet)");
    snprintf(a->namespace_, sizeof(a->namespace_), "AWS/CloudFront");
    snprintf(a->metric, sizeof(a->metric), "5xxErrorRate");
    snprintf(a->dimensions[0].name, sizeof(a->dimensions[0].name), "DistributionId");
    snprintf(a->dimensions[0].value, sizeof(a->dimensions[0].value), "%s",
             did ? did : "DISTRIBUTION-ID");
    snprintf(a->dimensions[1].name, sizeof(a->dimensions[1].name), "Region");
    snprintf(a->dimensions[1].value, sizeof(a->dimensions[1].value), "Global");
    a->ndimensions = 2;
    snprintf(a->statistic, sizeof(a->statistic), "Average");
    snprintf(a->comparison, sizeof(a->comparison), "GreaterThanOrEqualToThreshold");
    a->threshold = EDGE_5XX_THRESHOLD_PCT;
    for (int i = 0; i < 2; i++) {
        a = w[i].a;
        /* applied when the alarm is created: says later that cfdr made it */
        snprintf(a->tags[0].key, sizeof(a->tags[0].key), "%s", CF_PROJECT_TAG);
        snprintf(a->tags[0].value, sizeof(a->tags[0].value), "%s", c->project);
        a->ntags = 1;
        a->period_s = c->alarms.period_s;
        a->evaluation_periods = 1;
        a->datapoints_to_alarm = 1;
        /* no requests to the secondary, or no viewers at all, is the good state */
        snprintf(a->treat_missing, sizeof(a->treat_missing), "notBreaching");
        a->actions_enabled = 1;
        topic = alarm_topic_arn(p, w[i].region);
        if (topic)
            snprintf(a->alarm_actions[0], CW_ARN_SIZE, "%s", topic);
        else
            snprintf(a->alarm_actions[0], CW_ARN_SIZE, "arn:aws:sns:%s:ACCOUNT-ID:%s%s",
                     w[i].region, c->project, ALARM_TOPIC_SUFFIX);
        snprintf(a->ok_actions[0], CW_ARN_SIZE, "%s", a->alarm_actions[0]);
        a->nalarm_actions = a->nok_actions = 1;
    }
    return CFDR_OK;
}

static void alarm_wants_free(struct alarm_want w[2])
{
    for (int i = 0; i < 2; i++) {
        free(w[i].a);
        w[i].a = NULL;
    }
}

/* The topic of one region: reuses the recorded one when SNS still has it. *subs receives its
 * subscriptions (empty for a new topic). */
static cfdr_code ensure_topic(struct provider *p, const char *region,
                              struct sns_subscription_list *subs, json_object *report,
                              cfdr_err *err)
{
    const char *rec = alarm_topic_arn(p, region);
    const struct sns_tag tag = {CF_PROJECT_TAG, p->cfg->project};
    char name[CONFIG_PROJECT_MAX + 16], arn[SNS_ARN_SIZE];
    char id[CONFIG_REGION_MAX + CONFIG_PROJECT_MAX + 24];
    struct aws_error ae;
    json_object *f, *o;
    cfdr_code rc;

    memset(subs, 0, sizeof(*subs));
    snprintf(name, sizeof(name), "%s" ALARM_TOPIC_SUFFIX, p->cfg->project);
    if (rec) {
        snprintf(arn, sizeof(arn), "%s", rec);
        rc = sns_list_subscriptions(impl(p)->t, region, arn, subs, &ae, err);
        if (!rc) {
            if (!impl(p)->dry_run)
                app_say(p->app, "  SNS topic %s (%s) recorded in state: exists, reused", name,
                        region);
            goto done;
        }
        if (rc != CFDR_E_AWS || !aws_code_is(&ae, SNS_ERR_NOT_FOUND))
            return err_wrap(err, "reading the subscriptions of SNS topic %s", arn);
        app_say(p->app, "  SNS topic %s (%s) recorded in state is gone: creating it again", name,
                region);
    }
    rc = sns_create_topic(impl(p)->t, region, name, &tag, 1, arn, &ae, err);
    if (rc)
        return err_wrap(err, "creating SNS topic %s in %s", name, region);
    if (impl(p)->dry_run)
        snprintf(arn, sizeof(arn), "arn:aws:sns:%s:ACCOUNT-ID:%s", region, name);
    else
        app_say(p->app, "  SNS topic %s created in %s", arn, region);
    f = json_object_new_object();
    json_object_object_add(f, "name", json_object_new_string(name));
    json_object_object_add(f, "region", json_object_new_string(region));
    json_object_object_add(f, "arn", json_object_new_string(arn));
    record_id(p, "alarm_topic", region, name, id, sizeof(id));
    if ((rc = put(p, "alarm_topic", id, f, err)))
        return rc;
done:
    o = json_object_new_object();
    json_object_object_add(o, "region", json_object_new_string(region));
    json_object_object_add(o, "arn", json_object_new_string(arn));
    json_object_array_add(report, o);
    return CFDR_OK;
}

/* The state id of a subscription: <region>:<protocol>:<12 hex of the endpoint's SHA-256>. */
static cfdr_code subscription_id(const char *region, const char *protocol, const char *endpoint,
                                 char *id, size_t n, cfdr_err *err)
{
    char hash[13];
    CFDR_TRY(sha12(endpoint, hash, err));
    snprintf(id, n, "%s:%s:%s", region, protocol, hash);
    return CFDR_OK;
}

/* "https" or "http" from a webhook URL's scheme. */
static const char *webhook_protocol(const char *url)
{
    return strncasecmp(url, "https://", 8) == 0 ? "https" : "http";
}

/* Subscribes one endpoint unless SNS already lists it; records it either way. */
static cfdr_code ensure_subscription(struct provider *p, const char *region, const char *protocol,
                                     const char *endpoint, const struct sns_subscription_list *subs,
                                     json_object *report, int pending_n[2], cfdr_err *err)
{
    const char *topic = alarm_topic_arn(p, region);
    char id[CONFIG_REGION_MAX + 64], shown[300], arn[SNS_ARN_SIZE] = "";
    char topic_arn[SNS_ARN_SIZE];
    const struct sns_subscription *found = NULL;
    struct aws_error ae;
    json_object *f, *o;
    int pending = 1, created = 0;
    cfdr_code rc;

    if (topic) /* always, except in dry-run, where nothing is recorded */
        snprintf(topic_arn, sizeof(topic_arn), "%s", topic);
    else
        snprintf(topic_arn, sizeof(topic_arn), "arn:aws:sns:%s:ACCOUNT-ID:%s%s", region,
                 p->cfg->project, ALARM_TOPIC_SUFFIX);
    CFDR_TRY(subscription_id(region, protocol, endpoint, id, sizeof(id), err));
    endpoint_shown(endpoint, shown, sizeof(shown));
    for (size_t i = 0; i < subs->n && !found; i++)
        if (strcmp(subs->items[i].protocol, protocol) == 0 &&
            strcmp(subs->items[i].endpoint, endpoint) == 0)
            found = &subs->items[i];
    if (found) {
        pending = found->pending;
        if (!pending)
            snprintf(arn, sizeof(arn), "%s", found->arn);
        else if (jstr(state_resource(p->st, "alarm_subscription", id), "arn"))
            snprintf(arn, sizeof(arn), "%s",
                     jstr(state_resource(p->st, "alarm_subscription", id), "arn"));
    } else {
        rc = sns_subscribe(impl(p)->t, region, topic_arn, protocol, endpoint, arn, &ae, err);
        if (rc)
            return err_wrap(err, "subscribing %s (%s) to the alarm topic in %s", shown, protocol,
                            region);
        created = 1;
    }
    if (!impl(p)->dry_run)
        app_say(p->app, "  %s subscription %s in %s: %s%s", protocol, shown, region,
                created ? "subscribed, " : "", pending ? "pending confirmation" : "confirmed");
    if (pending) /* [0] email, [1] webhooks */
        pending_n[strcmp(protocol, "email") == 0 ? 0 : 1]++;
    f = json_object_new_object();
    json_object_object_add(f, "region", json_object_new_string(region));
    json_object_object_add(f, "topic_arn", json_object_new_string(topic_arn));
    json_object_object_add(f, "protocol", json_object_new_string(protocol));
    json_object_object_add(f, "endpoint_shown", json_object_new_string(shown));
    if (arn[0])
        json_object_object_add(f, "arn", json_object_new_string(arn));
    json_object_object_add(f, "pending", json_object_new_boolean(pending));
    if ((rc = put(p, "alarm_subscription", id, f, err)))
        return rc;
    o = json_object_new_object();
    json_object_object_add(o, "region", json_object_new_string(region));
    json_object_object_add(o, "protocol", json_object_new_string(protocol));
    json_object_object_add(o, "endpoint", json_object_new_string(shown));
    json_object_object_add(o, "confirmed", json_object_new_boolean(!pending));
    json_object_object_add(o, "created", json_object_new_boolean(created));
    json_object_array_add(report, o);
    return CFDR_OK;
}

/* The additional CloudFront metrics. Read first, every run: CreateMonitoringSubscription also
 * overwrites an existing subscription without saying so, so only a read tells "enabled now"
 * from "was already enabled" (one the state does not record: a lost state, or enabled in the
 * console). Written only when missing (NoSuchMonitoringSubscription) or not Enabled. */
static cfdr_code ensure_monitoring(struct provider *p, json_object *out, cfdr_err *err)
{
    const char *did =
        jstr(state_resource(p->st, "distribution", "distribution"), "distribution_id");
    const char *how = "already enabled";
    char id[CF_ID_SIZE];
    struct aws_error ae;
    json_object *f, *o;
    int enabled = 0, created = 0, existed = 1;
    cfdr_code rc = CFDR_OK;

    snprintf(id, sizeof(id), "%s", did ? did : "EDISTRIBUTIONID");
    rc = cf_get_monitoring_subscription(impl(p)->t, id, &enabled, &ae, err);
    if (rc == CFDR_E_AWS && aws_code_is(&ae, CF_ERR_NO_SUCH_MONITORING_SUBSCRIPTION)) {
        existed = 0;
        rc = CFDR_OK;
    }
    if (rc)
        return err_wrap(err, "reading the monitoring subscription of distribution %s", id);
    if (impl(p)->dry_run) {
        enabled = 0; /* the GET above was printed, not sent: show the write that may follow */
        app_say(p->app, "  dry run: CreateMonitoringSubscription below is sent only when "
                        "GetMonitoringSubscription finds no Enabled subscription");
    }
    if (!enabled) {
        rc = cf_set_monitoring_subscription(impl(p)->t, id, 1, &ae, err);
        if (rc == CFDR_E_AWS && aws_code_is(&ae, CF_ERR_MONITORING_SUBSCRIPTION_EXISTS)) {
            existed = 1; /* appeared in between: nothing was created */
            rc = cf_get_monitoring_subscription(impl(p)->t, id, &enabled, &ae, err);
            if (!rc && !enabled)
                rc = err_set(err, CFDR_E_AWS,
                             "distribution %s has a monitoring subscription that is not Enabled "
                             "and CloudFront refuses a new one; enable the additional metrics in "
                             "the CloudFront console, then run cfdr alarms setup again",
                             id);
        }
        if (rc)
            return err_wrap(err, "enabling the additional CloudWatch metrics of distribution %s",
                            id);
        created = !existed;
        how = created   ? "enabled (billed per metric by CloudWatch)"
              : enabled ? "already enabled"
                        : "re-enabled (it was Disabled; billed per metric by CloudWatch)";
    }
    if (!impl(p)->dry_run)
        app_say(p->app, "  CloudFront additional metrics of distribution %s: %s", id, how);
    f = json_object_new_object();
    json_object_object_add(f, "distribution_id", json_object_new_string(id));
    json_object_object_add(f, "enabled", json_object_new_boolean(1));
    if ((rc = put(p, "monitoring_subscription", id, f, err)))
        return rc;
    o = json_object_new_object();
    json_object_object_add(o, "distribution_id", json_object_new_string(id));
    json_object_object_add(o, "enabled", json_object_new_boolean(1));
    json_object_object_add(o, "created", json_object_new_boolean(created));
    json_object_object_add(out, "monitoring_subscription", o);
    return CFDR_OK;
}

static json_object *alarm_json(const struct cw_alarm *a, const char *region)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(a->name));
    json_object_object_add(o, "region", json_object_new_string(region));
    json_object_object_add(o, "namespace", json_object_new_string(a->namespace_));
    json_object_object_add(o, "metric", json_object_new_string(a->metric));
    json_object_object_add(o, "statistic", json_object_new_string(a->statistic));
    json_object_object_add(o, "comparison", json_object_new_string(a->comparison));
    json_object_object_add(o, "threshold", json_object_new_double(a->threshold));
    json_object_object_add(o, "period_s", json_object_new_int(a->period_s));
    return o;
}

/* An alarm of cfdr's name exists that the state does not record: cfdr takes it over (and destroy
 * will delete it) only when it carries cfdr:project=<project>, i.e. cfdr created it (a state
 * lost or re-made). Anyone else's alarm is left alone. */
static cfdr_code check_takeover(struct provider *p, const struct alarm_want *w,
                                const struct cw_alarm *have, cfdr_err *err)
{
    struct cw_tag tags[CW_MAX_TAGS];
    char carries[CW_TAG_VALUE_SIZE + 64];
    struct aws_error ae;
    const char *v;
    size_t n = 0;
    cfdr_code rc;

    rc = cw_list_tags(impl(p)->t, w->region, have->arn, tags, CW_MAX_TAGS, &n, &ae, err);
    if (rc == CFDR_E_AWS && aws_code_is(&ae, CW_ERR_RESOURCE_NOT_FOUND_EXCEPTION))
        return CFDR_OK; /* deleted in between: setup creates it */
    if (rc)
        return err_wrap(err, "reading the tags of alarm %s in %s", w->a->name, w->region);
    v = cw_tag_value(tags, n, CF_PROJECT_TAG);
    if (v && strcmp(v, p->cfg->project) == 0) {
        app_say(p->app,
                "  alarm %s (%s) exists, not recorded in state but tagged %s=%s: cfdr created "
                "it, taken over",
                w->a->name, w->region, CF_PROJECT_TAG, v);
        return CFDR_OK;
    }
    if (v)
        snprintf(carries, sizeof(carries), "the tag " CF_PROJECT_TAG "=%s (another project's)", v);
    else
        snprintf(carries, sizeof(carries), "no tag " CF_PROJECT_TAG "=%s", p->cfg->project);
    return err_set(err, CFDR_E_CONFIG,
                   "CloudWatch already has an alarm %s in %s (%s) that cfdr did not create: %s "
                   "does not record it and it carries %s; cfdr will not take it over (nor "
                   "delete it on destroy). Delete or rename that alarm if it is no longer "
                   "wanted (aws cloudwatch delete-alarms --region %s --alarm-names %s), or give "
                   "this project another name in cfdr.json, then run cfdr alarms setup again",
                   w->a->name, w->region, have->arn, p->st->path, carries, w->region, w->a->name);
}

static cfdr_code ensure_alarm(struct provider *p, const struct alarm_want *w, json_object *report,
                              cfdr_err *err)
{
    const char *names[1] = {w->a->name};
    struct cw_alarm_list l = {0};
    const struct cw_alarm *have;
    struct aws_error ae;
    char what[64] = "", id[CONFIG_REGION_MAX + CW_NAME_SIZE + 2];
    const char *did = "unchanged";
    json_object *f, *o;
    cfdr_code rc;

    rc = cw_describe_alarms(impl(p)->t, w->region, names, 1, NULL, 0, &l, &ae, err);
    if (rc)
        return err_wrap(err, "reading alarm %s in %s", w->a->name, w->region);
    have = cw_alarm_list_find(&l, w->a->name);
    if (have && !find_record(p, "alarm", w->region, w->a->name) &&
        (rc = check_takeover(p, w, have, err))) {
        cw_alarm_list_free(&l);
        return rc;
    }
    if (!have || cw_alarm_differs(w->a, have, what, sizeof(what))) {
        did = have ? "updated" : "created";
        rc = cw_put_metric_alarm(impl(p)->t, w->region, w->a, &ae, err);
        if (rc) {
            cw_alarm_list_free(&l);
            return err_wrap(err, "%s alarm %s in %s", have ? "updating" : "creating", w->a->name,
                            w->region);
        }
    }
    if (!impl(p)->dry_run) {
        if (have && what[0])
            app_say(p->app, "  alarm %s (%s): %s differed, updated", w->a->name, w->region, what);
        else
            app_say(p->app, "  alarm %s (%s): %s on %s %s, %s %s %g", w->a->name, w->region, did,
                    w->a->namespace_, w->a->metric, w->a->statistic, w->a->comparison,
                    w->a->threshold);
    }
    f = json_object_new_object();
    json_object_object_add(f, "name", json_object_new_string(w->a->name));
    json_object_object_add(f, "region", json_object_new_string(w->region));
    json_object_object_add(f, "metric",
                           json_object_new_string(strcmp(w->a->namespace_, "AWS/AppRunner") == 0
                                                      ? "AWS/AppRunner Requests"
                                                      : "AWS/CloudFront 5xxErrorRate"));
    if (have && have->arn[0])
        json_object_object_add(f, "arn", json_object_new_string(have->arn));
    record_id(p, "alarm", w->region, w->a->name, id, sizeof(id));
    rc = put(p, "alarm", id, f, err);
    if (!rc) {
        o = alarm_json(w->a, w->region);
        json_object_object_add(o, "action", json_object_new_string(did));
        json_object_object_add(o, "state",
                               json_object_new_string(have ? have->state : "INSUFFICIENT_DATA"));
        json_object_array_add(report, o);
    }
    cw_alarm_list_free(&l);
    return rc;
}

/* Every resource of one kind recorded in the state: their ids, copied (the state changes as
 * they are removed). The caller frees each and the array. */
static cfdr_code recorded_ids(struct provider *p, const char *kind, char ***ids, size_t *n,
                              cfdr_err *err)
{
    size_t count = state_resource_count(p->st);
    *ids = NULL;
    *n = 0;
    if (!count)
        return CFDR_OK;
    *ids = calloc(count, sizeof(**ids));
    if (!*ids)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        json_object *r = state_resource_at(p->st, i);
        const char *k = jstr(r, "kind"), *id = jstr(r, "id");
        if (k && id && strcmp(k, kind) == 0) {
            (*ids)[*n] = strdup(id);
            if (!(*ids)[(*n)++])
                return err_set(err, CFDR_E_NOMEM, "out of memory");
        }
    }
    return CFDR_OK;
}

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

/* 1 when cfdr.json still lists the subscription recorded as id (of region). */
static int subscription_wanted(struct provider *p, const char *region, const char *id,
                               cfdr_err *err)
{
    const struct config_alarms *al = &p->cfg->alarms;
    char want[CONFIG_REGION_MAX + 64];
    for (size_t i = 0; i < al->n_email + al->n_https; i++) {
        const char *endpoint = i < al->n_email ? al->email[i] : al->https[i - al->n_email];
        const char *protocol = i < al->n_email ? "email" : webhook_protocol(endpoint);
        /* when in doubt, keep it: never unsubscribe what may still be wanted */
        if (subscription_id(region, protocol, endpoint, want, sizeof(want), err) != CFDR_OK ||
            strcmp(want, id) == 0)
            return 1;
    }
    return 0;
}

/* Subscriptions recorded for region that cfdr.json no longer lists: a confirmed one is
 * unsubscribed and forgotten; a pending one cannot be removed at AWS (it expires, or goes with
 * the topic), so it stays recorded and setup says so. */
static cfdr_code prune_subscriptions(struct provider *p, const char *region,
                                     const struct sns_subscription_list *subs, cfdr_err *err)
{
    char **ids = NULL;
    size_t n = 0;
    cfdr_code rc = recorded_ids(p, "alarm_subscription", &ids, &n, err);

    for (size_t i = 0; i < n && !rc; i++) {
        json_object *r = state_resource(p->st, "alarm_subscription", ids[i]);
        const char *rregion = jstr(r, "region"), *arn = jstr(r, "arn");
        const char *shown = jstr(r, "endpoint_shown");
        int confirmed = 0;
        struct aws_error ae;
        if (!rregion || strcmp(rregion, region) != 0 || subscription_wanted(p, region, ids[i], err))
            continue;
        for (size_t k = 0; arn && k < subs->n; k++)
            confirmed |= !subs->items[k].pending && strcmp(subs->items[k].arn, arn) == 0;
        if (!confirmed) {
            app_warn(p->app,
                     "%s (%s) is no longer in cfdr.json but its subscription is still pending "
                     "confirmation: SNS cannot remove it until it is confirmed or expires; "
                     "cfdr destroy removes it with the topic",
                     shown ? shown : ids[i], region);
            continue;
        }
        rc = sns_unsubscribe(impl(p)->t, region, arn, &ae, err);
        if (rc == CFDR_E_AWS && aws_code_is(&ae, SNS_ERR_NOT_FOUND))
            rc = CFDR_OK;
        if (rc) {
            err_wrap(err, "unsubscribing %s, no longer in cfdr.json", shown ? shown : ids[i]);
            break;
        }
        if (!impl(p)->dry_run)
            app_say(p->app, "  unsubscribed %s (%s): no longer in cfdr.json",
                    shown ? shown : ids[i], region);
        rc = forget(p, "alarm_subscription", ids[i], err);
    }
    free_ids(ids, n);
    return rc;
}

static cfdr_code aws_alarms_setup(struct provider *p, json_object *out, cfdr_err *err)
{
    const struct config_alarms *al = &p->cfg->alarms;
    json_object *topics = json_object_new_array(), *subs_out = json_object_new_array();
    json_object *alarms = json_object_new_array();
    const char *regions[2];
    size_t nregions = alarm_regions(p, regions);
    struct alarm_want w[2] = {{0}};
    int pending[2] = {0, 0};
    cfdr_code rc;

    json_object_object_add(out, "topics", topics);
    json_object_object_add(out, "subscriptions", subs_out);
    json_object_object_add(out, "alarms", alarms);
    /* what the notifications go to, with the same keys and meaning as the local provider's:
     * the configured addresses (every one is subscribed on every topic) */
    json_object_object_add(out, "period_s", json_object_new_int(p->cfg->alarms.period_s));
    json_object_object_add(out, "webhooks", json_object_new_int((int)al->n_https));
    json_object_object_add(out, "emails", json_object_new_int((int)al->n_email));
    if ((rc = check_alarm_period(p, err)))
        return rc;
    /* checked before anything is created */
    if ((rc = alarm_wants(p, w, err)))
        goto out;
    alarm_wants_free(w);
    if (!al->n_email && !al->n_https)
        app_warn(p->app, "alarms.email and alarms.https are empty: the alarms will change state "
                         "but notify no one");
    for (size_t r = 0; r < nregions && !rc; r++) {
        struct sns_subscription_list subs = {0};
        rc = ensure_topic(p, regions[r], &subs, topics, err);
        for (size_t i = 0; i < al->n_email && !rc; i++)
            rc = ensure_subscription(p, regions[r], "email", al->email[i], &subs, subs_out, pending,
                                     err);
        for (size_t i = 0; i < al->n_https && !rc; i++)
            rc = ensure_subscription(p, regions[r], webhook_protocol(al->https[i]), al->https[i],
                                     &subs, subs_out, pending, err);
        if (!rc)
            rc = prune_subscriptions(p, regions[r], &subs, err);
        sns_subscription_list_free(&subs);
    }
    if (rc)
        goto out;
    if ((rc = ensure_monitoring(p, out, err)))
        goto out;
    /* the topics are recorded now: the alarms' actions name them */
    if ((rc = alarm_wants(p, w, err)))
        goto out;
    for (int i = 0; i < 2 && !rc; i++)
        rc = ensure_alarm(p, &w[i], alarms, err);
    if (rc)
        goto out;
    if (impl(p)->dry_run) {
        app_say(p->app, "  dry run: topic ARNs, subscription states and alarm definitions come "
                        "from AWS's answers; the requests above assume none of them exists yet");
        goto out;
    }
    if (pending[0])
        app_say(p->app,
                "  %d email subscription%s pending: SNS sent each address a confirmation mail; "
                "nothing is delivered to an address until its owner clicks the link in it",
                pending[0], pending[0] == 1 ? " is" : "s are");
    if (pending[1])
        app_say(p->app,
                "  %d webhook subscription%s pending: SNS POSTs each a SubscriptionConfirmation "
                "with a SubscribeURL, which the receiver must visit before anything is delivered",
                pending[1], pending[1] == 1 ? " is" : "s are");
out:
    alarm_wants_free(w);
    return rc;
}

static cfdr_code aws_alarms_status(struct provider *p, json_object *out, cfdr_err *err)
{
    json_object *alarms = json_object_new_array(), *subs_out = json_object_new_array();
    char **ids = NULL;
    size_t n = 0;
    cfdr_code rc;

    json_object_object_add(out, "alarms", alarms);
    json_object_object_add(out, "subscriptions", subs_out);
    rc = recorded_ids(p, "alarm", &ids, &n, err);
    if (!rc && n == 0)
        app_say(p->app, "  no alarm is recorded in %s: run cfdr alarms setup", p->st->path);
    for (size_t i = 0; i < n && !rc; i++) {
        json_object *r = state_resource(p->st, "alarm", ids[i]), *o;
        const char *region = jstr(r, "region"), *name = record_name(r), *names[1] = {name};
        struct cw_alarm_list l = {0};
        const struct cw_alarm *a;
        struct aws_error ae;

        if (!region || !name)
            continue;
        rc = cw_describe_alarms(impl(p)->t, region, names, 1, NULL, 0, &l, &ae, err);
        if (rc) {
            err_wrap(err, "reading alarm %s in %s", name, region);
            break;
        }
        a = cw_alarm_list_find(&l, name);
        if (a) {
            o = alarm_json(a, region);
            json_object_object_add(o, "state", json_object_new_string(a->state));
            json_object_object_add(o, "reason", json_object_new_string(a->state_reason));
            json_object_object_add(o, "updated_at", json_object_new_string(a->state_updated));
            json_object_object_add(o, "exists", json_object_new_boolean(1));
        } else {
            o = json_object_new_object();
            json_object_object_add(o, "name", json_object_new_string(name));
            json_object_object_add(o, "region", json_object_new_string(region));
            json_object_object_add(o, "state",
                                   json_object_new_string(impl(p)->dry_run ? "unknown" : "absent"));
            json_object_object_add(o, "exists", json_object_new_boolean(0));
        }
        json_object_array_add(alarms, o);
        cw_alarm_list_free(&l);
    }
    free_ids(ids, n);
    ids = NULL;
    n = 0;
    if (!rc)
        rc = recorded_ids(p, "alarm_topic", &ids, &n, err);
    for (size_t i = 0; i < n && !rc; i++) {
        json_object *t = state_resource(p->st, "alarm_topic", ids[i]);
        const char *arn = jstr(t, "arn"), *region = jstr(t, "region");
        struct sns_subscription_list subs = {0};
        struct aws_error ae;
        if (!arn || !region)
            continue;
        rc = sns_list_subscriptions(impl(p)->t, region, arn, &subs, &ae, err);
        if (rc == CFDR_E_AWS && aws_code_is(&ae, SNS_ERR_NOT_FOUND)) {
            app_warn(p->app, "SNS topic %s is gone: run cfdr alarms setup", arn);
            rc = CFDR_OK;
        } else if (rc) {
            err_wrap(err, "reading the subscriptions of %s", arn);
        }
        for (size_t k = 0; k < subs.n && !rc; k++) {
            json_object *o = json_object_new_object();
            char shown[300];
            endpoint_shown(subs.items[k].endpoint, shown, sizeof(shown));
            json_object_object_add(o, "region", json_object_new_string(region));
            json_object_object_add(o, "protocol", json_object_new_string(subs.items[k].protocol));
            json_object_object_add(o, "endpoint", json_object_new_string(shown));
            json_object_object_add(o, "confirmed", json_object_new_boolean(!subs.items[k].pending));
            json_object_array_add(subs_out, o);
        }
        sns_subscription_list_free(&subs);
    }
    free_ids(ids, n);
    return rc;
}

/* Who would receive a notification of the topic: ListSubscriptionsByTopic, read before the
 * alarm is set, because SNS delivers only to confirmed subscriptions (after a fresh setup every
 * one is pending). Returns CFDR_OK with *confirmed and the pending counts ([0] e-mail, [1]
 * webhooks), or with note[] filled when the topic cannot notify anyone (gone, or nothing
 * recorded). */
static cfdr_code topic_audience(struct provider *p, const char *region, const char *topic,
                                size_t *confirmed, size_t pending[2], char *note, size_t nnote,
                                cfdr_err *err)
{
    struct sns_subscription_list subs = {0};
    struct aws_error ae;
    cfdr_code rc;

    *confirmed = pending[0] = pending[1] = 0;
    note[0] = '\0';
    if (!topic && impl(p)->dry_run)
        return CFDR_OK; /* nothing recorded in a dry run: SetAlarmState is what it shows */
    if (!topic) {
        snprintf(note, nnote,
                 "no SNS topic is recorded for %s, so nobody would receive it: run cfdr alarms "
                 "setup",
                 region);
        return CFDR_OK;
    }
    rc = sns_list_subscriptions(impl(p)->t, region, topic, &subs, &ae, err);
    if (rc == CFDR_E_AWS && aws_code_is(&ae, SNS_ERR_NOT_FOUND)) {
        snprintf(note, nnote,
                 "SNS topic %s is gone, so nobody would receive it: run cfdr alarms "
                 "setup",
                 topic);
        return CFDR_OK;
    }
    if (rc)
        return err_wrap(err, "reading the subscriptions of SNS topic %s", topic);
    for (size_t k = 0; k < subs.n; k++) {
        if (!subs.items[k].pending)
            (*confirmed)++;
        else
            pending[strcmp(subs.items[k].protocol, "email") == 0 ? 0 : 1]++;
    }
    sns_subscription_list_free(&subs);
    if (impl(p)->dry_run || *confirmed)
        return CFDR_OK;
    if (!pending[0] && !pending[1]) {
        snprintf(note, nnote,
                 "SNS topic %s has no subscription, so nobody would receive it: add an address "
                 "to alarms.email or alarms.https in %s and run cfdr alarms setup",
                 topic, p->app->g.config_path ? p->app->g.config_path : "cfdr.json");
        return CFDR_OK;
    }
    snprintf(note, nnote,
             "nobody would receive it: no subscription of SNS topic %s is confirmed yet "
             "(%zu pending)%s%s; the alarm was not set. Run cfdr alarms status to see when they "
             "are confirmed, then run cfdr alarms test again",
             topic, pending[0] + pending[1],
             pending[0] ? "; e-mail: the owner must click the link in SNS's confirmation mail" : "",
             pending[1] ? "; webhook: the receiver must visit the SubscribeURL of the "
                          "SubscriptionConfirmation SNS POSTed to it"
                        : "");
    return CFDR_OK;
}

static cfdr_code aws_alarms_test(struct provider *p, const char *name, json_object *out,
                                 cfdr_err *err)
{
    json_object *tested = json_object_new_array();
    char **ids = NULL, known[512] = "";
    size_t n = 0, matched = 0;
    cfdr_code rc;

    json_object_object_add(out, "tested", tested);
    if ((rc = recorded_ids(p, "alarm", &ids, &n, err)))
        goto out;
    for (size_t i = 0; i < n; i++)
        snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", i ? ", " : "",
                 record_name(state_resource(p->st, "alarm", ids[i])));
    if (n == 0) {
        rc = err_set(err, CFDR_E_NOTFOUND, "no alarm is recorded in %s: run cfdr alarms setup",
                     p->st->path);
        goto out;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        json_object *r = state_resource(p->st, "alarm", ids[i]), *o;
        const char *region = jstr(r, "region"), *aname = record_name(r), *topic;
        char note[1024];
        size_t confirmed = 0, pending[2] = {0, 0};
        struct aws_error ae;
        if (!aname || (name && strcmp(name, aname) != 0))
            continue;
        if (!region)
            continue;
        matched++;
        topic = alarm_topic_arn(p, region);
        o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(aname));
        json_object_object_add(o, "region", json_object_new_string(region));
        if (topic)
            json_object_object_add(o, "topic_arn", json_object_new_string(topic));
        json_object_array_add(tested, o);
        if ((rc = topic_audience(p, region, topic, &confirmed, pending, note, sizeof(note), err)))
            break;
        json_object_object_add(o, "confirmed_subscriptions", json_object_new_int((int)confirmed));
        json_object_object_add(o, "pending_subscriptions",
                               json_object_new_int((int)(pending[0] + pending[1])));
        if (note[0]) { /* nobody would receive it: the alarm is not set */
            json_object_object_add(o, "notified", json_object_new_boolean(0));
            json_object_object_add(o, "note", json_object_new_string(note));
            continue;
        }
        rc = cw_set_alarm_state(impl(p)->t, region, aname, "ALARM", ALARM_TEST_REASON,
                                "{\"cfdr\":\"alarms test\"}", &ae, err);
        if (rc == CFDR_E_AWS && aws_code_is(&ae, CW_ERR_RESOURCE_NOT_FOUND)) {
            rc = err_set(err, CFDR_E_NOTFOUND,
                         "alarm %s is recorded but CloudWatch has no such alarm in %s: run cfdr "
                         "alarms setup",
                         aname, region);
            break;
        }
        if (rc) {
            err_wrap(err, "setting alarm %s to ALARM", aname);
            break;
        }
        if (!impl(p)->dry_run)
            app_say(p->app,
                    "  %s (%s) set to ALARM: SNS topic %s notifies its %zu confirmed "
                    "subscriber%s%s; CloudWatch sets the real state at the next evaluation (then "
                    "OK notifies again)",
                    aname, region, topic, confirmed, confirmed == 1 ? "" : "s",
                    pending[0] + pending[1] ? " (the ones still pending confirmation get nothing)"
                                            : "");
        json_object_object_add(o, "notified", json_object_new_boolean(1));
        json_object_object_add(o, "state", json_object_new_string("ALARM"));
        json_object_object_add(o, "reason", json_object_new_string(ALARM_TEST_REASON));
    }
    if (!rc && !matched)
        rc = err_set(err, CFDR_E_USAGE, "no alarm named '%.255s' was set up; the alarms are: %s",
                     name ? name : "", known);
out:
    free_ids(ids, n);
    return rc;
}

/* cfdr status: what an alarm, topic, subscription or monitoring subscription looks like now.
 * Other kinds are left as they are. */
static cfdr_code alarm_resource_status(struct provider *p, const char *kind, json_object *r,
                                       json_object *o, cfdr_err *err)
{
    if (strcmp(kind, "alarm") == 0) {
        const char *region = jstr(r, "region"), *id = record_name(r), *names[1] = {id};
        struct cw_alarm_list l = {0};
        const struct cw_alarm *a;
        struct aws_error ae;
        cfdr_code rc;
        if (!region || !id)
            return CFDR_OK;
        rc = cw_describe_alarms(impl(p)->t, region, names, 1, NULL, 0, &l, &ae, err);
        if (rc)
            return err_wrap(err, "reading alarm %s in %s", id, region);
        a = cw_alarm_list_find(&l, id);
        if (!impl(p)->dry_run) {
            json_object_object_add(o, "running", json_object_new_boolean(a != NULL));
            json_object_object_add(o, "healthy",
                                   json_object_new_boolean(a && strcmp(a->state, "ALARM") != 0));
            json_object_object_add(o, "mode", json_object_new_string(a ? a->state : "absent"));
            if (a)
                json_object_object_add(o, "reason", json_object_new_string(a->state_reason));
        }
        cw_alarm_list_free(&l);
    } else if (strcmp(kind, "alarm_subscription") == 0) {
        json_object_object_add(o, "running", json_object_new_boolean(1));
        json_object_object_add(o, "healthy", json_object_new_boolean(!jbool(r, "pending")));
        json_object_object_add(
            o, "mode",
            json_object_new_string(jbool(r, "pending") ? "pending-confirmation" : "confirmed"));
    } else if (strcmp(kind, "alarm_topic") == 0 || strcmp(kind, "monitoring_subscription") == 0) {
        json_object_object_add(o, "running", json_object_new_boolean(1));
        json_object_object_add(o, "healthy", json_object_new_boolean(1));
    }
    return CFDR_OK;
}

/* destroy, before the distribution: alarms, then topics (their subscriptions go with them),
 * then the monitoring subscription. Each is forgotten as soon as it is gone. */
static cfdr_code destroy_alarms(struct provider *p, size_t *removed, size_t *gone, cfdr_err *err)
{
    char **ids = NULL;
    size_t n = 0;
    cfdr_code rc;

    rc = recorded_ids(p, "alarm", &ids, &n, err);
    for (size_t i = 0; i < n && !rc; i++) {
        json_object *r = state_resource(p->st, "alarm", ids[i]);
        const char *region = jstr(r, "region"), *name = record_name(r);
        const char *names[1] = {name};
        struct aws_error ae;
        if (region && name) {
            rc = cw_delete_alarms(impl(p)->t, region, names, 1, &ae, err);
            if (rc == CFDR_E_AWS && aws_code_is(&ae, CW_ERR_RESOURCE_NOT_FOUND)) {
                app_say(p->app, "  alarm %s (%s) was already gone", name, region);
                (*gone)++;
                rc = CFDR_OK;
            } else if (rc) {
                err_wrap(err, "deleting alarm %s in %s", name, region);
                break;
            } else if (!impl(p)->dry_run) {
                app_say(p->app, "  deleted alarm %s (%s)", name, region);
                (*removed)++;
            }
        }
        rc = forget(p, "alarm", ids[i], err);
    }
    free_ids(ids, n);
    ids = NULL;
    n = 0;
    if (!rc)
        rc = recorded_ids(p, "alarm_topic", &ids, &n, err);
    for (size_t i = 0; i < n && !rc; i++) {
        json_object *t = state_resource(p->st, "alarm_topic", ids[i]);
        const char *arn = jstr(t, "arn"), *tregion = jstr(t, "region");
        char **subs = NULL;
        size_t nsubs = 0;
        struct aws_error ae;
        if (arn && tregion) {
            /* DeleteTopic of a topic already deleted succeeds, as at AWS */
            rc = sns_delete_topic(impl(p)->t, tregion, arn, &ae, err);
            if (rc) {
                err_wrap(err, "deleting SNS topic %s", arn);
                break;
            }
            if (!impl(p)->dry_run) {
                app_say(p->app, "  deleted SNS topic %s and its subscriptions", arn);
                (*removed)++;
            }
        }
        rc = recorded_ids(p, "alarm_subscription", &subs, &nsubs, err);
        for (size_t k = 0; k < nsubs && !rc; k++) {
            json_object *sr = state_resource(p->st, "alarm_subscription", subs[k]);
            const char *sarn = jstr(sr, "topic_arn"), *region = jstr(sr, "region");
            /* the topic's subscriptions went with it */
            if (sarn && arn ? strcmp(sarn, arn) == 0
                            : region && tregion && strcmp(region, tregion) == 0) {
                if (!impl(p)->dry_run)
                    (*removed)++;
                rc = forget(p, "alarm_subscription", subs[k], err);
            }
        }
        free_ids(subs, nsubs);
        if (!rc)
            rc = forget(p, "alarm_topic", ids[i], err);
    }
    free_ids(ids, n);
    ids = NULL;
    n = 0;
    if (!rc)
        rc = recorded_ids(p, "monitoring_subscription", &ids, &n, err);
    for (size_t i = 0; i < n && !rc; i++) {
        struct aws_error ae;
        rc = cf_delete_monitoring_subscription(impl(p)->t, ids[i], &ae, err);
        if (rc == CFDR_E_AWS && (aws_code_is(&ae, CF_ERR_NO_SUCH_MONITORING_SUBSCRIPTION) ||
                                 aws_code_is(&ae, CF_ERR_NO_SUCH_DISTRIBUTION))) {
            app_say(p->app, "  the monitoring subscription of %s was already gone", ids[i]);
            (*gone)++;
            rc = CFDR_OK;
        } else if (rc) {
            err_wrap(err, "deleting the monitoring subscription of distribution %s", ids[i]);
            break;
        } else if (!impl(p)->dry_run) {
            app_say(p->app, "  deleted the monitoring subscription of distribution %s", ids[i]);
            (*removed)++;
        }
        rc = forget(p, "monitoring_subscription", ids[i], err);
    }
    free_ids(ids, n);
    return rc;
}

const struct provider_ops provider_aws_ops = {
    .mode = "aws",
    .faults = aws_faults,
    .open = aws_open,
    .create = aws_create,
    .status = aws_status,
    .edge = aws_edge,
    .inject = aws_inject,
    .recover = aws_recover,
    .primary_down = aws_primary_down,
    .destroy = aws_destroy,
    .alarms_setup = aws_alarms_setup,
    .alarms_status = aws_alarms_status,
    .alarms_test = aws_alarms_test,
    .close = aws_close,
};
