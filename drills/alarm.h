/*
 * alarm: a CloudWatch metric alarm evaluated locally — pure logic, no I/O, no clock.
 *
 * What it owns: one alarm's definition (the fields of PutMetricAlarm that matter locally), a
 * datapoint store that aggregates raw samples per period, the alarm's state (OK, ALARM,
 * INSUFFICIENT_DATA) and the evaluation that moves it, and the texts CloudWatch sends when it
 * does: the alarm JSON that becomes the SNS Message, the subject, and the e-mail body.
 *
 * Evaluation follows CloudWatch's documentation ("Using Amazon CloudWatch alarms", sections
 * "Evaluating an alarm", "Configuring how CloudWatch alarms treat missing data" and "Avoiding
 * premature transitions to alarm state"); the worked examples of its tables are the rows of
 * tests/unit/test_alarm.c. With N = EvaluationPeriods, M = DatapointsToAlarm and an
 * evaluation range of R >= N complete periods before `now`:
 *   - real datapoints are the periods of the range that received at least one sample;
 *   - at least N real datapoints: the N most recent real ones are evaluated (gaps are skipped;
 *     TreatMissingData plays no part); ALARM when >= M of them breach, else OK;
 *   - no real datapoint: missing -> INSUFFICIENT_DATA, ignore -> the state is kept,
 *     breaching -> ALARM, notBreaching -> OK;
 *   - 1..N-1 real datapoints: every real one is evaluated and only N - real missing ones are
 *     filled ("as few times as possible"): breaching/notBreaching count the fills accordingly;
 *     missing and ignore give ALARM when >= M real ones breach, OK when any real one does not
 *     breach, and otherwise (all real ones breach, fewer than M): missing -> ALARM when the
 *     oldest breaching datapoint is at least M periods old (the documented premature-alarm
 *     rule: "- - X - -" alarms with M = 3, "- - - - X" does not yet) else INSUFFICIENT_DATA;
 *     ignore -> the state is kept.
 * The documentation does not say how CloudWatch sizes the evaluation range ("depends on the
 * length of the alarm period"); its examples use R = 5 for N = 3, so the default here is
 * R = N + 2 (settable per alarm).
 *
 * Periods: datapoints are aligned to multiples of the period since the UNIX epoch, as
 * CloudWatch aligns them; a period [t, t + P) is complete, and evaluated, from t + P on.
 * Evaluate at each period boundary (alarm_next_evaluation() tells when; add a few tens of
 * milliseconds so samples stamped just before the boundary have arrived) and whenever asked:
 * evaluating twice at the same `now` gives the same answer. Samples arriving late still count
 * when their period is inside the range, as in CloudWatch.
 *
 * Actions: like CloudWatch, an alarm "invokes actions only when the alarm changes state":
 * alarm_evaluate() reports a transition once, and the caller runs the actions of the new state
 * (OKActions, AlarmActions, InsufficientDataActions) when result.fire is set. A transition
 * from INSUFFICIENT_DATA to OK fires the OK actions, as CloudWatch's do.
 *
 * Periods accepted (alarm_validate): what PutMetricAlarm accepts — 10, 20, 30 or a multiple of
 * 60, with Period x EvaluationPeriods at most 86,400 s (604,800 s for periods of an hour or
 * more) — and, for local alarms only, 1-9 s.
 *
 * Times are wall-clock seconds since the UNIX epoch (double): datapoint timestamps appear in
 * the texts CloudWatch writes. Tests pass any time they like.
 *
 * Ownership: alarm_new() copies everything it needs from the definition (the caller's strings
 * may go away); the alarm is released with alarm_free() (NULL accepted). Results are plain
 * structs. Text builders append to a caller-owned struct buf. An alarm is not thread-safe:
 * one owner feeds and evaluates it (or guards it with a lock).
 */
#ifndef CFDR_DRILL_ALARM_H
#define CFDR_DRILL_ALARM_H

#include <stddef.h>

#include "aws/buf.h"
#include "aws/err.h"

enum alarm_state { ALARM_STATE_INSUFFICIENT_DATA = 0, ALARM_STATE_OK, ALARM_STATE_ALARM };

enum alarm_statistic {
    ALARM_STAT_SUM = 0,
    ALARM_STAT_AVERAGE,
    ALARM_STAT_MAXIMUM,
    ALARM_STAT_MINIMUM,
    ALARM_STAT_SAMPLE_COUNT
};

enum alarm_comparison {
    ALARM_CMP_GREATER_OR_EQUAL = 0, /* GreaterThanOrEqualToThreshold */
    ALARM_CMP_GREATER,              /* GreaterThanThreshold */
    ALARM_CMP_LESS,                 /* LessThanThreshold */
    ALARM_CMP_LESS_OR_EQUAL         /* LessThanOrEqualToThreshold */
};

enum alarm_missing {
    ALARM_MISSING_MISSING = 0, /* CloudWatch's default */
    ALARM_MISSING_NOT_BREACHING,
    ALARM_MISSING_BREACHING,
    ALARM_MISSING_IGNORE
};

#define ALARM_NAME_MAX 255         /* PutMetricAlarm AlarmName */
#define ALARM_DESCRIPTION_MAX 1024 /* PutMetricAlarm AlarmDescription */
#define ALARM_DIMENSIONS_MAX 30    /* PutMetricAlarm Dimensions */
#define ALARM_ACTIONS_MAX 5        /* per state, as PutMetricAlarm */
/* The evaluation range may exceed the evaluation periods by at most this many periods. */
#define ALARM_RANGE_EXTRA_MAX 1000
#define ALARM_RESULT_POINTS 64 /* datapoints a result lists */
#define ALARM_LOCAL_ACCOUNT_ID "000000000000"
#define ALARM_REASON_MAX 2048
/* Subjects are shortened to fit SNS's limit ("less than 100 characters"). */
#define ALARM_SUBJECT_MAX 99

struct alarm_dimension {
    const char *name;
    const char *value;
};

struct alarm_def {
    const char *name;        /* AlarmName: 1-255 printable ASCII characters */
    const char *description; /* AlarmDescription; NULL for none */
    const char *metric_namespace;
    const char *metric_name;
    struct alarm_dimension dimensions[ALARM_DIMENSIONS_MAX];
    size_t ndimensions;
    enum alarm_statistic statistic;
    int period_s;
    int evaluation_periods;  /* N >= 1 */
    int datapoints_to_alarm; /* M, 1..N; 0 means N */
    int evaluation_range;    /* R, N..N + ALARM_RANGE_EXTRA_MAX; 0 means N + 2 */
    double threshold;
    enum alarm_comparison comparison;
    enum alarm_missing treat_missing_data;
    const char *region;     /* e.g. "us-west-2": the alarm lives in one region */
    const char *account_id; /* NULL means ALARM_LOCAL_ACCOUNT_ID */
    int local;              /* 1: periods of 1-9 s are allowed too */
    int actions_enabled;    /* ActionsEnabled */
    /* Action ARNs (SNS topics), for the notification JSON and result.fire. */
    const char *alarm_actions[ALARM_ACTIONS_MAX];
    size_t nalarm_actions;
    const char *ok_actions[ALARM_ACTIONS_MAX];
    size_t nok_actions;
    const char *insufficient_data_actions[ALARM_ACTIONS_MAX];
    size_t ninsufficient_data_actions;
};

/* One evaluated period. */
struct alarm_datapoint {
    double timestamp; /* start of the period */
    double value;     /* the statistic over the period's samples */
    double samples;   /* how many samples the period received */
    int breaching;
};

struct alarm_result {
    enum alarm_state old_state, new_state;
    int changed;         /* a state transition happened (old_state != new_state) */
    int fire;            /* changed, actions enabled, and the new state has actions */
    double evaluated_at; /* `now` of the evaluation */
    /* The reason CloudWatch would write for this evaluation, e.g. "Threshold Crossed: 1 out of
     * the last 1 datapoints [3.0 (25/11/26 15:04:00)] was greater than or equal to the
     * threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)." When the state was
     * kept (ignore), the reason of the last transition. */
    char reason[ALARM_REASON_MAX];
    /* The real datapoints of the evaluation range, newest first: npoints of them, the first
     * ALARM_RESULT_POINTS listed in points. */
    struct alarm_datapoint points[ALARM_RESULT_POINTS];
    size_t npoints;
    size_t filled;       /* missing datapoints filled by TreatMissingData */
    size_t late_samples; /* samples that arrived for periods already outside the range */
};

struct alarm;

/* Checks a definition the way PutMetricAlarm does. CFDR_E_CONFIG with a message naming the
 * field and the allowed values. */
cfdr_code alarm_validate(const struct alarm_def *def, cfdr_err *err);

/* Validates and creates an alarm in INSUFFICIENT_DATA ("Unchecked: Initial alarm creation"),
 * created at wall time `now`. */
cfdr_code alarm_new(const struct alarm_def *def, double now, struct alarm **out, cfdr_err *err);
void alarm_free(struct alarm *a);

/* The alarm's own copy of its definition (valid until alarm_free). datapoints_to_alarm and
 * evaluation_range hold their effective values. */
const struct alarm_def *alarm_definition(const struct alarm *a);

/* Adds one raw sample (e.g. one request, value 1; or a gauge reading) at wall time ts to the
 * period it falls in. CFDR_E_USAGE for a value that is not a finite number (CloudWatch rejects
 * those too). A sample for a period older than anything an evaluation can still look at is
 * counted (result.late_samples) and otherwise ignored. */
cfdr_code alarm_add_sample(struct alarm *a, double ts, double value, cfdr_err *err);

/* Evaluates the complete periods before `now` and moves the state. */
void alarm_evaluate(struct alarm *a, double now, struct alarm_result *out);

/* SetAlarmState: sets the state with the caller's reason (e.g. for `cfdr alarms test`). As in
 * CloudWatch, it lasts until the next evaluation moves the state again; a change fires the new
 * state's actions. CFDR_E_USAGE for an empty reason or one longer than 1023 characters. */
cfdr_code alarm_set_state(struct alarm *a, enum alarm_state state, const char *reason, double now,
                          struct alarm_result *out, cfdr_err *err);

enum alarm_state alarm_state(const struct alarm *a);
/* The reason and time (wall seconds) of the last state change. */
const char *alarm_state_reason(const struct alarm *a);
double alarm_state_changed_at(const struct alarm *a);

/* When the next period completes: the next multiple of period_s strictly after `now`. */
double alarm_next_evaluation(const struct alarm *a, double now);

/* Names as CloudWatch spells them. */
const char *alarm_state_name(enum alarm_state s);           /* "OK", "ALARM", ... */
const char *alarm_statistic_name(enum alarm_statistic s);   /* "Sum", "SampleCount", ... */
const char *alarm_comparison_name(enum alarm_comparison c); /* "GreaterThanThreshold", ... */
const char *alarm_missing_name(enum alarm_missing m);       /* "notBreaching", ... */
/* Parsers for the same names (exact, case-sensitive as the API); CFDR_E_CONFIG otherwise. */
cfdr_code alarm_statistic_parse(const char *s, enum alarm_statistic *out, cfdr_err *err);
cfdr_code alarm_comparison_parse(const char *s, enum alarm_comparison *out, cfdr_err *err);
cfdr_code alarm_missing_parse(const char *s, enum alarm_missing *out, cfdr_err *err);

/* The region's long name as CloudWatch writes it in notifications ("US West (Oregon)"); the
 * code itself for a region it does not know. */
const char *alarm_region_display_name(const char *region);

/* A number the way CloudWatch (Java's Double.toString) prints it: "3.0", "0.25", "1.0E7". */
void alarm_format_number(double v, char out[32]);

/* The CloudWatch alarm JSON of an SNS notification (the Message), for a result with a state
 * change (or any result: the old and new states are taken from it): AlarmName,
 * AlarmDescription, AWSAccountId, AlarmConfigurationUpdatedTimestamp, NewStateValue,
 * NewStateReason, StateChangeTime, Region, AlarmArn, OldStateValue, OKActions, AlarmActions,
 * InsufficientDataActions, Trigger {MetricName, Namespace, StatisticType, Statistic, Unit,
 * Dimensions, Period, EvaluationPeriods, DatapointsToAlarm, ComparisonOperator, Threshold,
 * TreatMissingData, EvaluateLowSampleCountPercentile}. Appended to out. */
cfdr_code alarm_message_json(const struct alarm *a, const struct alarm_result *r, struct buf *out,
                             cfdr_err *err);

/* The notification subject: `ALARM: "name" in US West (Oregon)`, at most ALARM_SUBJECT_MAX
 * characters (the name is shortened with "..." when it would not fit). out holds at least
 * ALARM_SUBJECT_MAX + 1 bytes. */
void alarm_subject(const struct alarm *a, const struct alarm_result *r,
                   char out[ALARM_SUBJECT_MAX + 1]);

/* The plain-text body CloudWatch sends to e-mail subscriptions ("You are receiving this email
 * because your Amazon CloudWatch Alarm ... has entered the ALARM state, because ..."), with
 * the alarm details, threshold and monitored metric. Appended to out. */
cfdr_code alarm_email_text(const struct alarm *a, const struct alarm_result *r, struct buf *out,
                           cfdr_err *err);

#endif
