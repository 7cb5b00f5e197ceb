/* alarm: see alarm.h. */
#include "alarm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

/* One period's aggregate. */
struct bucket {
    long long idx; /* period number: floor(t / period) */
    int used;
    double count, sum, min, max;
};

struct alarm {
    struct alarm_def def; /* strings below are the alarm's own copies */
    enum alarm_state state;
    char reason[ALARM_REASON_MAX];
    double changed_at, created_at;
    struct bucket *ring;
    size_t cap;
    struct alarm_datapoint *scratch; /* evaluation_range entries */
    long long newest; /* newest period that received a sample; valid when have_newest */
    int have_newest;
    size_t late;
};

static const char *const state_names[] = {"INSUFFICIENT_DATA", "OK", "ALARM"};
static const char *const stat_names[] = {"Sum", "Average", "Maximum", "Minimum", "SampleCount"};
/* The Trigger.Statistic spelling of CloudWatch's notifications (Java enum names). */
static const char *const stat_enum_names[] = {"SUM", "AVERAGE", "MAXIMUM", "MINIMUM",
                                              "SAMPLE_COUNT"};
static const char *const cmp_names[] = {"GreaterThanOrEqualToThreshold", "GreaterThanThreshold",
                                        "LessThanThreshold", "LessThanOrEqualToThreshold"};
static const char *const cmp_words[] = {"greater than or equal to", "greater than", "less than",
                                        "less than or equal to"};
static const char *const missing_names[] = {"missing", "notBreaching", "breaching", "ignore"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *alarm_state_name(enum alarm_state s)
{
    return (unsigned)s < NELEM(state_names) ? state_names[s] : "?";
}

const char *alarm_statistic_name(enum alarm_statistic s)
{
    return (unsigned)s < NELEM(stat_names) ? stat_names[s] : "?";
}

const char *alarm_comparison_name(enum alarm_comparison c)
{
    return (unsigned)c < NELEM(cmp_names) ? cmp_names[c] : "?";
}

const char *alarm_missing_name(enum alarm_missing m)
{
    return (unsigned)m < NELEM(missing_names) ? missing_names[m] : "?";
}

static cfdr_code parse_name(const char *s, const char *const *names, size_t n, const char *what,
                            const char *allowed, int *out, cfdr_err *err)
{
    for (size_t i = 0; s && i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return CFDR_OK;
        }
    }
    return err_set(err, CFDR_E_CONFIG, "%s \"%.64s\" is not one CloudWatch knows (allowed: %s)",
                   what, s ? s : "", allowed);
}

cfdr_code alarm_statistic_parse(const char *s, enum alarm_statistic *out, cfdr_err *err)
{
    int v = 0;
    CFDR_TRY(parse_name(s, stat_names, NELEM(stat_names), "statistic",
                        "Sum, Average, Maximum, Minimum, SampleCount", &v, err));
    *out = (enum alarm_statistic)v;
    return CFDR_OK;
}

cfdr_code alarm_comparison_parse(const char *s, enum alarm_comparison *out, cfdr_err *err)
{
    int v = 0;
    CFDR_TRY(parse_name(s, cmp_names, NELEM(cmp_names), "comparison operator",
                        "GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, "
                        "LessThanOrEqualToThreshold",
                        &v, err));
    *out = (enum alarm_comparison)v;
    return CFDR_OK;
}

cfdr_code alarm_missing_parse(const char *s, enum alarm_missing *out, cfdr_err *err)
{
    int v = 0;
    CFDR_TRY(parse_name(s, missing_names, NELEM(missing_names), "TreatMissingData",
                        "missing, notBreaching, breaching, ignore", &v, err));
    *out = (enum alarm_missing)v;
    return CFDR_OK;
}

static const struct {
    const char *code, *name;
} regions[] = {
    {"us-east-1", "US East (N. Virginia)"},
    {"us-east-2", "US East (Ohio)"},
    {"us-west-1", "US West (N. California)"},
    {"us-west-2", "US West (Oregon)"},
    {"af-south-1", "Africa (Cape Town)"},
    {"ap-east-1", "Asia Pacific (Hong Kong)"},
    {"ap-south-1", "Asia Pacific (Mumbai)"},
    {"ap-northeast-1", "Asia Pacific (Tokyo)"},
    {"ap-northeast-2", "Asia Pacific (Seoul)"},
    {"ap-northeast-3", "Asia Pacific (Osaka)"},
    {"ap-southeast-1", "Asia Pacific (Singapore)"},
    {"ap-southeast-2", "Asia Pacific (Sydney)"},
    {"ca-central-1", "Canada (Central)"},
    {"eu-central-1", "EU (Frankfurt)"},
    {"eu-west-1", "EU (Ireland)"},
    {"eu-west-2", "EU (London)"},
    {"eu-west-3", "EU (Paris)"},
    {"eu-north-1", "EU (Stockholm)"},
    {"eu-south-1", "EU (Milan)"},
    {"me-south-1", "Middle East (Bahrain)"},
    {"sa-east-1", "South America (Sao Paulo)"},
};

const char *alarm_region_display_name(const char *region)
{
    if (!region)
        return "";
    for (size_t i = 0; i < NELEM(regions); i++)
        if (strcmp(region, regions[i].code) == 0)
            return regions[i].name;
    return region;
}

/* ---------------------------------------------------------------------------------------------
 * Numbers and times as CloudWatch prints them.
 */

void alarm_format_number(double v, char out[32])
{
    char e[40], digits[24];
    int prec, exp10, nd = 0;
    const char *p;

    if (isnan(v)) {
        snprintf(out, 32, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, 32, v < 0 ? "-Infinity" : "Infinity");
        return;
    }
    if (v == 0) {
        snprintf(out, 32, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    /* Java prints the shortest decimal that reads back as the same double. */
    for (prec = 0; prec < 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec, v);
        if (strtod(e, NULL) == v)
            break;
    }
    snprintf(e, sizeof(e), "%.*e", prec, v);
    p = e;
    if (*p == '-')
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    exp10 = atoi(p + 1);

    char *o = out;
    size_t room = 32;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (room > 1) {                                                                            \
            *o++ = (c);                                                                            \
            room--;                                                                                \
        }                                                                                          \
    } while (0)
    if (v < 0)
        PUT('-');
    if (exp10 >= -3 && exp10 < 7) {
        if (exp10 < 0) {
            PUT('0');
            PUT('.');
            for (int i = -1; i > exp10; i--)
                PUT('0');
            for (int i = 0; i < nd; i++)
                PUT(digits[i]);
        } else {
            for (int i = 0; i <= exp10; i++)
                PUT(i < nd ? digits[i] : '0');
            PUT('.');
            if (nd > exp10 + 1)
                for (int i = exp10 + 1; i < nd; i++)
                    PUT(digits[i]);
            else
                PUT('0');
        }
        *o = '\0';
    } else {
        PUT(digits[0]);
        PUT('.');
        if (nd > 1)
            for (int i = 1; i < nd; i++)
                PUT(digits[i]);
        else
            PUT('0');
        *o = '\0';
        snprintf(o, room, "E%d", exp10);
    }
#undef PUT
}

static void gmtime_of(double t, struct tm *tm)
{
    time_t s = (time_t)floor(t);
    gmtime_r(&s, tm);
}

/* "25/11/26 15:04:00", as in CloudWatch's state reasons. */
static void reason_time(double t, char out[32])
{
    struct tm tm;
    gmtime_of(t, &tm);
    strftime(out, 32, "%d/%m/%y %H:%M:%S", &tm);
}

/* "2026-11-25T15:04:00.123+0000", as in CloudWatch's notification JSON. */
static void json_time(double t, char out[40])
{
    struct tm tm;
    double fl = floor(t);
    unsigned ms = (unsigned)((t - fl) * 1000.0) % 1000u;
    char base[24];
    gmtime_of(t, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%.20s.%03u+0000", base, ms);
}

/* "Wednesday 25 November, 2026 15:04:00 UTC", as in CloudWatch's e-mails. */
static void email_time(double t, char out[64])
{
    struct tm tm;
    gmtime_of(t, &tm);
    strftime(out, 64, "%A %d %B, %Y %H:%M:%S UTC", &tm);
}

/* ---------------------------------------------------------------------------------------------
 * Definition.
 */

static int printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

static int period_ok(int p, int local)
{
    if (p >= 1 && p <= 9)
        return local;
    return p == 10 || p == 20 || p == 30 || (p > 0 && p % 60 == 0);
}

static int effective_m(const struct alarm_def *d)
{
    return d->datapoints_to_alarm ? d->datapoints_to_alarm : d->evaluation_periods;
}

static int effective_r(const struct alarm_def *d)
{
    return d->evaluation_range ? d->evaluation_range : d->evaluation_periods + 2;
}

static cfdr_code check_actions(const char *const *arns, size_t n, const char *what, cfdr_err *err)
{
    if (n > ALARM_ACTIONS_MAX)
        return err_set(err, CFDR_E_CONFIG, "alarm %s: %zu actions (allowed: at most %d)", what, n,
                       ALARM_ACTIONS_MAX);
    for (size_t i = 0; i < n; i++)
        if (!arns[i] || !*arns[i] || strncmp(arns[i], "arn:", 4) != 0)
            return err_set(err, CFDR_E_CONFIG, "alarm %s[%zu] is not an ARN (expected arn:...)",
                           what, i);
    return CFDR_OK;
}

cfdr_code alarm_validate(const struct alarm_def *d, cfdr_err *err)
{
    long long total;
    int m, r;

    if (!d->name || !*d->name || strlen(d->name) > ALARM_NAME_MAX || !printable_ascii(d->name))
        return err_set(err, CFDR_E_CONFIG,
                       "alarm name must be 1-%d printable ASCII characters, as CloudWatch requires",
                       ALARM_NAME_MAX);
    if (d->description && strlen(d->description) > ALARM_DESCRIPTION_MAX)
        return err_set(err, CFDR_E_CONFIG, "alarm %s: description longer than %d characters",
                       d->name, ALARM_DESCRIPTION_MAX);
    if (!d->metric_namespace || !*d->metric_namespace || !d->metric_name || !*d->metric_name)
        return err_set(err, CFDR_E_CONFIG, "alarm %s: a metric namespace and name are required",
                       d->name);
    if (d->ndimensions > ALARM_DIMENSIONS_MAX)
        return err_set(err, CFDR_E_CONFIG, "alarm %s: %zu dimensions (allowed: at most %d)",
                       d->name, d->ndimensions, ALARM_DIMENSIONS_MAX);
    for (size_t i = 0; i < d->ndimensions; i++)
        if (!d->dimensions[i].name || !*d->dimensions[i].name || !d->dimensions[i].value ||
            !*d->dimensions[i].value)
            return err_set(err, CFDR_E_CONFIG,
                           "alarm %s: dimension %zu needs a non-empty name and value", d->name, i);
    if ((unsigned)d->statistic >= NELEM(stat_names))
        return err_set(err, CFDR_E_CONFIG,
                       "alarm %s: unknown statistic (allowed: Sum, Average, Maximum, Minimum, "
                       "SampleCount)",
                       d->name);
    if ((unsigned)d->comparison >= NELEM(cmp_names))
        return err_set(err, CFDR_E_CONFIG,
                       "alarm %s: unknown comparison operator (allowed: "
                       "GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, "
                       "LessThanOrEqualToThreshold)",
                       d->name);
    if ((unsigned)d->treat_missing_data >= NELEM(missing_names))
        return err_set(err, CFDR_E_CONFIG,
                       "alarm %s: unknown TreatMissingData (allowed: missing, notBreaching, "
                       "breaching, ignore)",
                       d->name);
    if (!period_ok(d->period_s, d->local))
        return err_set(err, CFDR_E_CONFIG,
                       "alarm %s: period %d s is not one CloudWatch accepts (allowed: 10, 20, 30 "
                       "or a multiple of 60%s)",
                       d->name, d->period_s, d->local ? "; 1-9 in local mode" : "");
    if (d->evaluation_periods < 1)
        return err_set(err, CFDR_E_CONFIG, "alarm %s: evaluation periods must be at least 1",
                       d->name);
    total = (long long)d->period_s * d->evaluation_periods;
    if (total > (d->period_s >= 3600 ? 604800LL : 86400LL))
        return err_set(err, CFDR_E_CONFIG,
                       "alarm %s: period x evaluation periods is %lld s (allowed: at most "
                       "86400 s, or 604800 s with periods of an hour or more)",
                       d->name, total);
    m = effective_m(d);
    if (m < 1 || m > d->evaluation_periods)
        return err_set(err, CFDR_E_CONFIG,
                       "alarm %s: datapoints to alarm is %d (allowed: 1 to the evaluation "
                       "periods, %d)",
                       d->name, m, d->evaluation_periods);
    r = effective_r(d);
    if (r < d->evaluation_periods || r - d->evaluation_periods > ALARM_RANGE_EXTRA_MAX)
        return err_set(err, CFDR_E_CONFIG,
                       "alarm %s: evaluation range of %d periods (allowed: %d to %d)", d->name, r,
                       d->evaluation_periods, d->evaluation_periods + ALARM_RANGE_EXTRA_MAX);
    if (!isfinite(d->threshold))
        return err_set(err, CFDR_E_CONFIG, "alarm %s: the threshold must be a finite number",
                       d->name);
    if (!d->region || !*d->region)
        return err_set(err, CFDR_E_CONFIG, "alarm %s: a region is required", d->name);
    if (d->account_id && (strlen(d->account_id) != 12 ||
                          strspn(d->account_id, "0123456789") != strlen(d->account_id)))
        return err_set(err, CFDR_E_CONFIG, "alarm %s: account id must be 12 digits", d->name);
    CFDR_TRY(check_actions(d->alarm_actions, d->nalarm_actions, "AlarmActions", err));
    CFDR_TRY(check_actions(d->ok_actions, d->nok_actions, "OKActions", err));
    CFDR_TRY(check_actions(d->insufficient_data_actions, d->ninsufficient_data_actions,
                           "InsufficientDataActions", err));
    return CFDR_OK;
}

static void free_strings(struct alarm_def *d)
{
    free((char *)d->name);
    free((char *)d->description);
    free((char *)d->metric_namespace);
    free((char *)d->metric_name);
    free((char *)d->region);
    free((char *)d->account_id);
    for (size_t i = 0; i < d->ndimensions; i++) {
        free((char *)d->dimensions[i].name);
        free((char *)d->dimensions[i].value);
    }
    for (size_t i = 0; i < d->nalarm_actions; i++)
        free((char *)d->alarm_actions[i]);
    for (size_t i = 0; i < d->nok_actions; i++)
        free((char *)d->ok_actions[i]);
    for (size_t i = 0; i < d->ninsufficient_data_actions; i++)
        free((char *)d->insufficient_data_actions[i]);
}

/* Copies s into *dst; returns 0 when out of memory (NULL stays NULL). */
static int dup_into(const char **dst, const char *s)
{
    *dst = NULL;
    if (!s)
        return 1;
    *dst = strdup(s);
    return *dst != NULL;
}

static int copy_def(struct alarm_def *dst, const struct alarm_def *src)
{
    int ok = 1;
    *dst = *src;
    ok &= dup_into(&dst->name, src->name);
    ok &= dup_into(&dst->description, src->description);
    ok &= dup_into(&dst->metric_namespace, src->metric_namespace);
    ok &= dup_into(&dst->metric_name, src->metric_name);
    ok &= dup_into(&dst->region, src->region);
    ok &= dup_into(&dst->account_id, src->account_id ? src->account_id : ALARM_LOCAL_ACCOUNT_ID);
    for (size_t i = 0; i < src->ndimensions; i++) {
        ok &= dup_into(&dst->dimensions[i].name, src->dimensions[i].name);
        ok &= dup_into(&dst->dimensions[i].value, src->dimensions[i].value);
    }
    for (size_t i = 0; i < src->nalarm_actions; i++)
        ok &= dup_into(&dst->alarm_actions[i], src->alarm_actions[i]);
    for (size_t i = 0; i < src->nok_actions; i++)
        ok &= dup_into(&dst->ok_actions[i], src->ok_actions[i]);
    for (size_t i = 0; i < src->ninsufficient_data_actions; i++)
        ok &= dup_into(&dst->insufficient_data_actions[i], src->insufficient_data_actions[i]);
    dst->datapoints_to_alarm = effective_m(src);
    dst->evaluation_range = effective_r(src);
    return ok;
}

cfdr_code alarm_new(const struct alarm_def *def, double now, struct alarm **out, cfdr_err *err)
{
    struct alarm *a;

    *out = NULL;
    CFDR_TRY(alarm_validate(def, err));
    a = calloc(1, sizeof(*a));
    if (!a)
        return err_set(err, CFDR_E_NOMEM, "out of memory creating alarm %s", def->name);
    if (!copy_def(&a->def, def)) {
        alarm_free(a);
        return err_set(err, CFDR_E_NOMEM, "out of memory creating alarm %s", def->name);
    }
    /* The range plus room for samples stamped slightly ahead of the evaluating clock. */
    a->cap = (size_t)a->def.evaluation_range + 4;
    a->ring = calloc(a->cap, sizeof(*a->ring));
    a->scratch = calloc((size_t)a->def.evaluation_range, sizeof(*a->scratch));
    if (!a->ring || !a->scratch) {
        alarm_free(a);
        return err_set(err, CFDR_E_NOMEM, "out of memory creating alarm %s", def->name);
    }
    a->state = ALARM_STATE_INSUFFICIENT_DATA;
    snprintf(a->reason, sizeof(a->reason), "Unchecked: Initial alarm creation");
    a->changed_at = a->created_at = now;
    *out = a;
    return CFDR_OK;
}

void alarm_free(struct alarm *a)
{
    if (!a)
        return;
    free_strings(&a->def);
    free(a->ring);
    free(a->scratch);
    free(a);
}

const struct alarm_def *alarm_definition(const struct alarm *a)
{
    return &a->def;
}

enum alarm_state alarm_state(const struct alarm *a)
{
    return a->state;
}

const char *alarm_state_reason(const struct alarm *a)
{
    return a->reason;
}

double alarm_state_changed_at(const struct alarm *a)
{
    return a->changed_at;
}

double alarm_next_evaluation(const struct alarm *a, double now)
{
    double p = a->def.period_s;
    return (floor(now / p) + 1.0) * p;
}

/* ---------------------------------------------------------------------------------------------
 * The datapoint store.
 */

static long long period_index(const struct alarm *a, double t)
{
    return (long long)floor(t / a->def.period_s);
}

static struct bucket *slot(const struct alarm *a, long long idx)
{
    long long c = (long long)a->cap;
    return &a->ring[((idx % c) + c) % c];
}

cfdr_code alarm_add_sample(struct alarm *a, double ts, double value, cfdr_err *err)
{
    long long idx;
    struct bucket *b;

    if (!isfinite(value) || !isfinite(ts))
        return err_set(err, CFDR_E_USAGE,
                       "alarm %s: a sample must be a finite number at a finite time", a->def.name);
    idx = period_index(a, ts);
    if (a->have_newest && idx <= a->newest - (long long)a->cap) {
        a->late++;
        return CFDR_OK;
    }
    b = slot(a, idx);
    if (b->used && b->idx > idx) {
        a->late++;
        return CFDR_OK;
    }
    if (!b->used || b->idx < idx) {
        b->used = 1;
        b->idx = idx;
        b->count = b->sum = 0;
        b->min = b->max = value;
    }
    b->count += 1;
    b->sum += value;
    if (value < b->min)
        b->min = value;
    if (value > b->max)
        b->max = value;
    if (!a->have_newest || idx > a->newest) {
        a->newest = idx;
        a->have_newest = 1;
    }
    return CFDR_OK;
}

static double statistic_of(const struct alarm *a, const struct bucket *b)
{
    switch (a->def.statistic) {
    case ALARM_STAT_SUM:
        return b->sum;
    case ALARM_STAT_AVERAGE:
        return b->sum / b->count;
    case ALARM_STAT_MAXIMUM:
        return b->max;
    case ALARM_STAT_MINIMUM:
        return b->min;
    case ALARM_STAT_SAMPLE_COUNT:
        return b->count;
    }
    return b->sum;
}

static int breaches(const struct alarm *a, double v)
{
    double t = a->def.threshold;
    switch (a->def.comparison) {
    case ALARM_CMP_GREATER_OR_EQUAL:
        return v >= t;
    case ALARM_CMP_GREATER:
        return v > t;
    case ALARM_CMP_LESS:
        return v < t;
    case ALARM_CMP_LESS_OR_EQUAL:
        return v <= t;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Evaluation.
 */

/* What an evaluation decided, before it becomes text. */
struct verdict {
    enum alarm_state state;
    int keep;             /* retain the current state (ignore) */
    size_t n_eval;        /* real datapoints evaluated (the first n_eval of points) */
    size_t fills;         /* missing datapoints filled */
    int fills_breach;     /* the fills breach */
    size_t unknown;       /* datapoints that stayed unknown (INSUFFICIENT_DATA) */
    int no_data_received; /* the range held no real datapoint */
};

static void decide(const struct alarm *a, const struct alarm_datapoint *pts, size_t nreal,
                   size_t oldest_breach_age, struct verdict *v)
{
    size_t n = (size_t)a->def.evaluation_periods, m = (size_t)a->def.datapoints_to_alarm;
    size_t b = 0, g;

    memset(v, 0, sizeof(*v));
    if (nreal >= n) {
        /* Enough real datapoints: the N most recent decide; missing data plays no part. */
        for (size_t i = 0; i < n; i++)
            b += pts[i].breaching ? 1 : 0;
        v->n_eval = n;
        v->state = b >= m ? ALARM_STATE_ALARM : ALARM_STATE_OK;
        return;
    }
    v->n_eval = nreal;
    for (size_t i = 0; i < nreal; i++)
        b += pts[i].breaching ? 1 : 0;
    g = nreal - b;
    v->no_data_received = nreal == 0;
    switch (a->def.treat_missing_data) {
    case ALARM_MISSING_BREACHING:
        v->fills = n - nreal;
        v->fills_breach = 1;
        v->state = b + v->fills >= m ? ALARM_STATE_ALARM : ALARM_STATE_OK;
        return;
    case ALARM_MISSING_NOT_BREACHING:
        v->fills = n - nreal;
        v->state = b >= m ? ALARM_STATE_ALARM : ALARM_STATE_OK;
        return;
    case ALARM_MISSING_MISSING:
    case ALARM_MISSING_IGNORE:
        break;
    }
    if (nreal > 0 && b >= m) {
        v->state = ALARM_STATE_ALARM;
    } else if (g > 0) {
        v->state = ALARM_STATE_OK;
    } else if (a->def.treat_missing_data == ALARM_MISSING_IGNORE) {
        v->keep = 1;
    } else if (nreal > 0 && oldest_breach_age >= m) {
        /* Only breaching real datapoints, the oldest at least M periods ago: the documented
         * premature-alarm rule ("- - X - -" alarms with M = 3). */
        v->state = ALARM_STATE_ALARM;
    } else {
        v->state = ALARM_STATE_INSUFFICIENT_DATA;
        v->unknown = n - nreal;
    }
}

/* The reason lists at most this many datapoints (newest first), so that it stays within
 * CloudWatch's 1023 characters with its threshold and transition parts intact. */
#define REASON_POINTS_MAX 10

static void list_points(struct buf *b, const struct alarm_datapoint *pts, size_t n, int breaching)
{
    int first = 1;
    size_t listed = 0;
    buf_addc(b, '[');
    for (size_t i = 0; i < n; i++) {
        char num[32], when[32];
        if (pts[i].breaching != breaching)
            continue;
        if (listed++ == REASON_POINTS_MAX) {
            buf_adds(b, ", ...");
            break;
        }
        alarm_format_number(pts[i].value, num);
        reason_time(pts[i].timestamp, when);
        buf_addf(b, "%s%s (%s)", first ? "" : ", ", num, when);
        first = 0;
    }
    buf_addc(b, ']');
}

static void write_reason(const struct alarm *a, const struct verdict *v,
                         const struct alarm_datapoint *pts, enum alarm_state from, char *out,
                         size_t outsz)
{
    struct buf b;
    char thr[32];
    size_t n = (size_t)a->def.evaluation_periods, m = (size_t)a->def.datapoints_to_alarm;
    int to_alarm = v->state == ALARM_STATE_ALARM;
    size_t counted = 0, minimum;
    int clauses = 0;
    const char *from_name;

    /* Appends below are unchecked on purpose: a reason that hit the limit is cut, never lost. */
    buf_init(&b, ALARM_REASON_MAX - 1);
    if (v->state == ALARM_STATE_INSUFFICIENT_DATA) {
        buf_addf(&b, "Insufficient Data: %zu datapoint%s unknown.", v->unknown,
                 v->unknown == 1 ? " was" : "s were");
        goto done;
    }
    alarm_format_number(a->def.threshold, thr);
    for (size_t i = 0; i < v->n_eval; i++)
        counted += pts[i].breaching == to_alarm ? 1 : 0;
    buf_adds(&b, "Threshold Crossed: ");
    if (v->no_data_received) {
        buf_addf(&b, "no datapoints were received for %zu period%s", n, n == 1 ? "" : "s");
        clauses++;
    } else if (counted > 0) {
        buf_addf(&b, "%zu out of the last %zu datapoints ", counted, v->n_eval);
        list_points(&b, pts, v->n_eval, to_alarm);
        buf_addf(&b, " %s %s%s the threshold (%s)", counted == 1 ? "was" : "were",
                 to_alarm ? "" : "not ", cmp_words[a->def.comparison], thr);
        clauses++;
    }
    if (v->fills > 0 && v->fills_breach == to_alarm) {
        buf_addf(&b, "%s%zu missing datapoint%s treated as [%s]", clauses ? " and " : "", v->fills,
                 v->fills == 1 ? " was" : "s were", v->fills_breach ? "Breaching" : "NonBreaching");
        clauses++;
    }
    if (v->no_data_received) {
        buf_addc(&b, '.');
        goto done;
    }
    minimum = to_alarm ? m : n - m + 1;
    if (to_alarm)
        from_name = from == ALARM_STATE_ALARM ? "OK" : alarm_state_name(from);
    else
        from_name = from == ALARM_STATE_OK ? "ALARM" : alarm_state_name(from);
    buf_addf(&b, " (minimum %zu datapoint%s for %s -> %s transition).", minimum,
             minimum == 1 ? "" : "s", from_name, alarm_state_name(v->state));
done:
    snprintf(out, outsz, "%s", buf_str(&b));
    buf_free(&b);
}

static void transition(struct alarm *a, enum alarm_state to, const char *reason, double now,
                       struct alarm_result *r)
{
    size_t nact = 0;
    r->old_state = a->state;
    r->new_state = to;
    r->changed = a->state != to;
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    if (r->changed) {
        a->state = to;
        a->changed_at = now;
        snprintf(a->reason, sizeof(a->reason), "%s", reason);
        switch (to) {
        case ALARM_STATE_ALARM:
            nact = a->def.nalarm_actions;
            break;
        case ALARM_STATE_OK:
            nact = a->def.nok_actions;
            break;
        case ALARM_STATE_INSUFFICIENT_DATA:
            nact = a->def.ninsufficient_data_actions;
            break;
        }
        r->fire = a->def.actions_enabled && nact > 0;
    }
}

void alarm_evaluate(struct alarm *a, double now, struct alarm_result *r)
{
    long long cur = period_index(a, now);
    size_t nreal = 0, oldest_breach_age = 0;
    struct verdict v;
    char reason[ALARM_REASON_MAX];

    memset(r, 0, sizeof(*r));
    r->evaluated_at = now;
    r->late_samples = a->late;
    for (int age = 1; age <= a->def.evaluation_range; age++) {
        long long idx = cur - age;
        const struct bucket *b = slot(a, idx);
        struct alarm_datapoint *p;
        if (!b->used || b->idx != idx)
            continue;
        p = &a->scratch[nreal++];
        p->timestamp = (double)idx * a->def.period_s;
        p->value = statistic_of(a, b);
        p->samples = b->count;
        p->breaching = breaches(a, p->value);
        if (p->breaching)
            oldest_breach_age = (size_t)age;
    }
    r->npoints = nreal;
    memcpy(r->points, a->scratch,
           (nreal < ALARM_RESULT_POINTS ? nreal : ALARM_RESULT_POINTS) * sizeof(r->points[0]));
    decide(a, a->scratch, nreal, oldest_breach_age, &v);
    r->filled = v.fills;
    if (v.keep) {
        r->old_state = r->new_state = a->state;
        snprintf(r->reason, sizeof(r->reason), "%s", a->reason);
        return;
    }
    write_reason(a, &v, a->scratch, a->state, reason, sizeof(reason));
    transition(a, v.state, reason, now, r);
}

cfdr_code alarm_set_state(struct alarm *a, enum alarm_state state, const char *reason, double now,
                          struct alarm_result *r, cfdr_err *err)
{
    if ((unsigned)state >= NELEM(state_names))
        return err_set(err, CFDR_E_USAGE, "alarm %s: unknown state", a->def.name);
    if (!reason || !*reason || strlen(reason) > 1023)
        return err_set(err, CFDR_E_USAGE,
                       "alarm %s: a state reason of 1-1023 characters is required", a->def.name);
    memset(r, 0, sizeof(*r));
    r->evaluated_at = now;
    r->late_samples = a->late;
    transition(a, state, reason, now, r);
    return CFDR_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Texts.
 */

static void arn_of(const struct alarm *a, char *out, size_t n)
{
    snprintf(out, n, "arn:aws:cloudwatch:%s:%s:alarm:%s", a->def.region, a->def.account_id,
             a->def.name);
}

static int put(json_object *o, const char *k, json_object *v)
{
    /* A NULL value is JSON null on purpose (e.g. "Unit":null). */
    return json_object_object_add(o, k, v) == 0;
}

static json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *arn_array(const char *const *arns, size_t n)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; arr && i < n; i++)
        json_object_array_add(arr, json_object_new_string(arns[i]));
    return arr;
}

static json_object *number(double v)
{
    char s[32];
    alarm_format_number(v, s);
    return json_object_new_double_s(v, s);
}

cfdr_code alarm_message_json(const struct alarm *a, const struct alarm_result *r, struct buf *out,
                             cfdr_err *err)
{
    const struct alarm_def *d = &a->def;
    json_object *root = json_object_new_object(), *trigger = json_object_new_object();
    json_object *dims = json_object_new_array();
    char arn[512], changed[40], created[40];
    int ok = root && trigger && dims;
    cfdr_code rc;

    arn_of(a, arn, sizeof(arn));
    json_time(r->changed ? r->evaluated_at : a->changed_at, changed);
    json_time(a->created_at, created);
    ok = ok && put(root, "AlarmName", json_object_new_string(d->name));
    ok = ok && put(root, "AlarmDescription", str_or_null(d->description));
    ok = ok && put(root, "AWSAccountId", json_object_new_string(d->account_id));
    ok = ok && put(root, "AlarmConfigurationUpdatedTimestamp", json_object_new_string(created));
    ok = ok && put(root, "NewStateValue", json_object_new_string(alarm_state_name(r->new_state)));
    ok = ok && put(root, "NewStateReason", json_object_new_string(r->reason));
    ok = ok && put(root, "StateChangeTime", json_object_new_string(changed));
    ok = ok && put(root, "Region", json_object_new_string(alarm_region_display_name(d->region)));
    ok = ok && put(root, "AlarmArn", json_object_new_string(arn));
    ok = ok && put(root, "OldStateValue", json_object_new_string(alarm_state_name(r->old_state)));
    ok = ok && put(root, "OKActions", arn_array(d->ok_actions, d->nok_actions));
    ok = ok && put(root, "AlarmActions", arn_array(d->alarm_actions, d->nalarm_actions));
    ok = ok && put(root, "InsufficientDataActions",
                   arn_array(d->insufficient_data_actions, d->ninsufficient_data_actions));
    for (size_t i = 0; ok && i < d->ndimensions; i++) {
        json_object *dim = json_object_new_object();
        ok = dim && put(dim, "value", json_object_new_string(d->dimensions[i].value)) &&
             put(dim, "name", json_object_new_string(d->dimensions[i].name)) &&
             json_object_array_add(dims, dim) == 0;
        if (!ok)
            json_object_put(dim);
    }
    ok = ok && put(trigger, "MetricName", json_object_new_string(d->metric_name));
    ok = ok && put(trigger, "Namespace", json_object_new_string(d->metric_namespace));
    ok = ok && put(trigger, "StatisticType", json_object_new_string("Statistic"));
    ok = ok && put(trigger, "Statistic", json_object_new_string(stat_enum_names[d->statistic]));
    ok = ok && put(trigger, "Unit", NULL);
    if (ok) {
        ok = put(trigger, "Dimensions", dims);
        dims = NULL;
    }
    ok = ok && put(trigger, "Period", json_object_new_int(d->period_s));
    ok = ok && put(trigger, "EvaluationPeriods", json_object_new_int(d->evaluation_periods));
    ok = ok && put(trigger, "DatapointsToAlarm", json_object_new_int(d->datapoints_to_alarm));
    ok = ok && put(trigger, "ComparisonOperator", json_object_new_string(cmp_names[d->comparison]));
    ok = ok && put(trigger, "Threshold", number(d->threshold));
    ok = ok && put(trigger, "TreatMissingData",
                   json_object_new_string(missing_names[d->treat_missing_data]));
    ok = ok && put(trigger, "EvaluateLowSampleCountPercentile", json_object_new_string(""));
    if (ok) {
        ok = put(root, "Trigger", trigger);
        trigger = NULL;
    }
    if (!ok) {
        rc = err_set(err, CFDR_E_NOMEM, "out of memory building the notification of alarm %s",
                     d->name);
    } else {
        rc = buf_adds(out, json_object_to_json_string_ext(
                               root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (rc)
            err_set(err, rc, "the notification of alarm %s does not fit its buffer", d->name);
    }
    json_object_put(dims);
    json_object_put(trigger);
    json_object_put(root);
    return rc;
}

void alarm_subject(const struct alarm *a, const struct alarm_result *r,
                   char out[ALARM_SUBJECT_MAX + 1])
{
    const char *state = alarm_state_name(r->new_state);
    const char *region = alarm_region_display_name(a->def.region);
    size_t fixed = strlen(state) + strlen(": \"\" in ") + strlen(region);
    size_t name_len = strlen(a->def.name);

    if (fixed + name_len <= ALARM_SUBJECT_MAX) {
        snprintf(out, ALARM_SUBJECT_MAX + 1, "%s: \"%s\" in %s", state, a->def.name, region);
    } else if (fixed + 3 < ALARM_SUBJECT_MAX) {
        int keep = (int)(ALARM_SUBJECT_MAX - fixed - 3);
        snprintf(out, ALARM_SUBJECT_MAX + 1, "%s: \"%.*s...\" in %s", state, keep, a->def.name,
                 region);
    } else {
        snprintf(out, ALARM_SUBJECT_MAX + 1, "%s: \"%s\"", state, a->def.name);
    }
}

static cfdr_code list_arns(struct buf *b, const char *label, const char *const *arns, size_t n)
{
    CFDR_TRY(buf_addf(b, "- %s:", label));
    for (size_t i = 0; i < n; i++)
        CFDR_TRY(buf_addf(b, " [%s]", arns[i]));
    return buf_adds(b, "\n");
}

static cfdr_code email_body(const struct alarm *a, const struct alarm_result *r, struct buf *b)
{
    const struct alarm_def *d = &a->def;
    char when[64], arn[512], thr[32];
    const char *region = alarm_region_display_name(d->region);

    email_time(r->changed ? r->evaluated_at : a->changed_at, when);
    arn_of(a, arn, sizeof(arn));
    alarm_format_number(d->threshold, thr);
    CFDR_TRY(buf_addf(b,
                      "You are receiving this email because your Amazon CloudWatch Alarm \"%s\" "
                      "in the %s region has entered the %s state, because \"%s\" at \"%s\".\n\n",
                      d->name, region, alarm_state_name(r->new_state), r->reason, when));
    CFDR_TRY(buf_adds(b, "Alarm Details:\n"));
    CFDR_TRY(buf_addf(b, "- Name:                       %s\n", d->name));
    CFDR_TRY(
        buf_addf(b, "- Description:                %s\n", d->description ? d->description : ""));
    CFDR_TRY(buf_addf(b, "- State Change:               %s -> %s\n", alarm_state_name(r->old_state),
                      alarm_state_name(r->new_state)));
    CFDR_TRY(buf_addf(b, "- Reason for State Change:    %s\n", r->reason));
    CFDR_TRY(buf_addf(b, "- Timestamp:                  %s\n", when));
    CFDR_TRY(buf_addf(b, "- AWS Account:                %s\n", d->account_id));
    CFDR_TRY(buf_addf(b, "- Alarm Arn:                  %s\n\n", arn));
    CFDR_TRY(buf_adds(b, "Threshold:\n"));
    CFDR_TRY(buf_addf(b,
                      "- The alarm is in the ALARM state when the metric is %s %s for at least "
                      "%d of the last %d period(s) of %d seconds.\n\n",
                      cmp_names[d->comparison], thr, d->datapoints_to_alarm, d->evaluation_periods,
                      d->period_s));
    CFDR_TRY(buf_adds(b, "Monitored Metric:\n"));
    CFDR_TRY(buf_addf(b, "- MetricNamespace:                     %s\n", d->metric_namespace));
    CFDR_TRY(buf_addf(b, "- MetricName:                          %s\n", d->metric_name));
    CFDR_TRY(buf_adds(b, "- Dimensions:                         "));
    for (size_t i = 0; i < d->ndimensions; i++)
        CFDR_TRY(buf_addf(b, " [%s = %s]", d->dimensions[i].name, d->dimensions[i].value));
    CFDR_TRY(buf_adds(b, "\n"));
    CFDR_TRY(buf_addf(b, "- Period:                              %d seconds\n", d->period_s));
    CFDR_TRY(buf_addf(b, "- Statistic:                           %s\n", stat_names[d->statistic]));
    CFDR_TRY(buf_adds(b, "- Unit:                                not specified\n"));
    CFDR_TRY(buf_addf(b, "- TreatMissingData:                    %s\n\n",
                      missing_names[d->treat_missing_data]));
    CFDR_TRY(buf_adds(b, "State Change Actions:\n"));
    CFDR_TRY(list_arns(b, "OK", d->ok_actions, d->nok_actions));
    CFDR_TRY(list_arns(b, "ALARM", d->alarm_actions, d->nalarm_actions));
    return list_arns(b, "INSUFFICIENT_DATA", d->insufficient_data_actions,
                     d->ninsufficient_data_actions);
}

cfdr_code alarm_email_text(const struct alarm *a, const struct alarm_result *r, struct buf *out,
                           cfdr_err *err)
{
    size_t len = buf_len(out);
    cfdr_code rc = email_body(a, r, out);
    if (rc) {
        buf_truncate(out, len);
        return err_set(err, rc, "the e-mail text of alarm %s does not fit its buffer", a->def.name);
    }
    return CFDR_OK;
}
