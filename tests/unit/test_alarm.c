/*
 * Unit tests for drills/alarm: CloudWatch's alarm evaluation, table-driven.
 *
 * The rows of the missing-data tables are the worked examples of CloudWatch's user guide
 * ("Using Amazon CloudWatch alarms": "How alarm state is evaluated when data is missing" and
 * "Avoiding premature transitions to alarm state"), with Period = 5 minutes, N = 3 and an
 * evaluation range of 5. Data points are written as there: oldest on the left, 0 = not
 * breaching, X = breaching, - = missing. Rows marked "earlier edition" come from the previous
 * edition of the same page (rows its current edition dropped; they agree with its rules).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "drills/alarm.h"

#define KEEP (-1) /* "Retain current state" */
#define IDA ALARM_STATE_INSUFFICIENT_DATA
#define OK ALARM_STATE_OK
#define ALM ALARM_STATE_ALARM

static const char *topic = "arn:aws:sns:us-west-2:000000000000:dr-demo-alarms";

/* 2026-11-25 15:04:00 UTC */
static double t_1504(void)
{
    struct tm tm = {0};
    tm.tm_year = 2026 - 1900;
    tm.tm_mon = 10;
    tm.tm_mday = 25;
    tm.tm_hour = 15;
    tm.tm_min = 4;
    return (double)timegm(&tm);
}

static struct alarm_def base_def(void)
{
    struct alarm_def d;
    memset(&d, 0, sizeof(d));
    d.name = "dr-demo-failover-active";
    d.metric_namespace = "AWS/AppRunner";
    d.metric_name = "Requests";
    d.dimensions[0].name = "ServiceName";
    d.dimensions[0].value = "dr-demo-west";
    d.ndimensions = 1;
    d.statistic = ALARM_STAT_SUM;
    d.period_s = 60;
    d.evaluation_periods = 1;
    d.threshold = 1.0;
    d.comparison = ALARM_CMP_GREATER_OR_EQUAL;
    d.treat_missing_data = ALARM_MISSING_MISSING;
    d.region = "us-west-2";
    d.actions_enabled = 1;
    d.alarm_actions[0] = topic;
    d.nalarm_actions = 1;
    d.ok_actions[0] = topic;
    d.nok_actions = 1;
    return d;
}

static struct alarm *new_alarm(const struct alarm_def *d, double now)
{
    struct alarm *a = NULL;
    cfdr_err err;
    err_clear(&err);
    if (alarm_new(d, now, &a, &err) != CFDR_OK)
        fail_msg("alarm_new: %s", err.msg);
    return a;
}

static void force_state(struct alarm *a, enum alarm_state s, double now)
{
    struct alarm_result r;
    cfdr_err err;
    assert_int_equal(alarm_set_state(a, s, "set by the test", now, &r, &err), CFDR_OK);
    assert_int_equal(alarm_state(a), s);
}

static void add(struct alarm *a, double ts, double v)
{
    cfdr_err err;
    assert_int_equal(alarm_add_sample(a, ts, v, &err), CFDR_OK);
}

/* ---- the documented examples ---- */

struct doc_row {
    const char *points; /* oldest first, as the documentation writes them */
    int m;              /* DatapointsToAlarm (N = 3) */
    int missing, ignore, breaching, not_breaching; /* expected state, or KEEP */
    const char *source;
};

static const struct doc_row doc_rows[] = {
    /* First table: DatapointsToAlarm = EvaluationPeriods = 3. */
    {"0 - X - X", 3, OK, OK, OK, OK, "table 1 row 1"},
    {"0 - - - -", 3, OK, OK, OK, OK, "table 1 row 2"},
    {"- - - - -", 3, IDA, KEEP, ALM, OK, "table 1 row 3"},
    {"0 X X - X", 3, ALM, ALM, ALM, ALM, "table 1 row 4"},
    {"- - X - -", 3, ALM, KEEP, ALM, OK, "table 1 row 5 (premature alarm state)"},
    {"- - - - X", 3, IDA, KEEP, ALM, OK, "table 1, earlier edition"},
    {"X - - - -", 3, ALM, KEEP, ALM, OK, "table 1, earlier edition"},
    /* Second table: 2 out of 3. */
    {"0 - X - X", 2, ALM, ALM, ALM, ALM, "table 2 row 1"},
    {"0 0 X 0 X", 2, ALM, ALM, ALM, ALM, "table 2 row 2"},
    {"0 - X - -", 2, OK, OK, ALM, OK, "table 2 row 3"},
    {"- - - - 0", 2, OK, OK, ALM, OK, "table 2 row 4"},
    {"- - - X -", 2, ALM, KEEP, ALM, OK, "table 2 row 5 (premature alarm state)"},
    {"- - - - X", 2, IDA, KEEP, ALM, OK, "table 2, earlier edition"},
};

static int expected_for(const struct doc_row *row, enum alarm_missing m)
{
    switch (m) {
    case ALARM_MISSING_MISSING:
        return row->missing;
    case ALARM_MISSING_IGNORE:
        return row->ignore;
    case ALARM_MISSING_BREACHING:
        return row->breaching;
    case ALARM_MISSING_NOT_BREACHING:
        return row->not_breaching;
    }
    return -2;
}

/* Builds an alarm (period 300 s, N = 3, range 5), feeds the row's datapoints into the five
 * periods before `now`, starts it in `initial` and evaluates once. */
static struct alarm_result run_row(const struct doc_row *row, enum alarm_missing m,
                                   enum alarm_state initial)
{
    struct alarm_def d = base_def();
    struct alarm_result r;
    double now = t_1504() + 3600 + 7; /* a little after a period boundary */
    double cur = floor(now / 300) * 300;
    struct alarm *a;
    size_t slot = 0;

    d.period_s = 300;
    d.evaluation_periods = 3;
    d.datapoints_to_alarm = row->m;
    d.evaluation_range = 5;
    d.treat_missing_data = m;
    a = new_alarm(&d, now - 3600);
    if (initial != IDA)
        force_state(a, initial, now - 1);
    for (const char *p = row->points; *p; p++) {
        double start;
        if (*p == ' ')
            continue;
        start = cur - (double)(5 - slot) * 300;
        if (*p == 'X')
            add(a, start + 17, 5.0);
        else if (*p == '0')
            add(a, start + 17, 0.0);
        slot++;
    }
    assert_int_equal(slot, 5);
    alarm_evaluate(a, now, &r);
    assert_int_equal(r.old_state, initial);
    assert_int_equal(alarm_state(a), r.new_state);
    alarm_free(a);
    return r;
}

static void test_documented_missing_data_examples(void **state)
{
    static const enum alarm_missing modes[] = {ALARM_MISSING_MISSING, ALARM_MISSING_IGNORE,
                                               ALARM_MISSING_BREACHING,
                                               ALARM_MISSING_NOT_BREACHING};
    static const enum alarm_state starts[] = {IDA, OK, ALM};
    (void)state;
    for (size_t i = 0; i < sizeof(doc_rows) / sizeof(doc_rows[0]); i++) {
        const struct doc_row *row = &doc_rows[i];
        for (size_t k = 0; k < 4; k++) {
            int want = expected_for(row, modes[k]);
            /* Every starting state: "retain" must retain each of them, and every other
             * verdict must not depend on where the alarm started. */
            for (size_t s = 0; s < 3; s++) {
                struct alarm_result r = run_row(row, modes[k], starts[s]);
                int w = want == KEEP ? (int)starts[s] : want;
                if ((int)r.new_state != w)
                    fail_msg("%s: \"%s\" M=%d treat=%s from %s: got %s, want %s (%s)", row->source,
                             row->points, row->m, alarm_missing_name(modes[k]),
                             alarm_state_name(starts[s]), alarm_state_name(r.new_state),
                             alarm_state_name((enum alarm_state)w), r.reason);
                assert_int_equal(r.changed, (int)starts[s] != w);
            }
        }
    }
}

/* "CloudWatch uses missing data points only as few times as possible": with two real
 * datapoints and N = 3, one fill, whatever the number of gaps. */
static void test_fills_only_the_shortfall(void **state)
{
    struct doc_row row = {"0 - X - -", 3, 0, 0, 0, 0, "fills"};
    struct alarm_result r;
    (void)state;
    r = run_row(&row, ALARM_MISSING_BREACHING, OK);
    assert_int_equal(r.npoints, 2);
    assert_int_equal(r.filled, 1);
    assert_int_equal(r.new_state, OK); /* 1 real + 1 filled breaching < 3 */
    r = run_row(&row, ALARM_MISSING_MISSING, OK);
    assert_int_equal(r.filled, 0);
}

/* The figure of "Evaluating an alarm": threshold 3, N = M = 3. ALARM after the third to fifth
 * periods breach, OK at the sixth, and one breaching period (the ninth) changes nothing. */
static void test_documented_figure(void **state)
{
    static const double values[] = {1, 2, 4, 5, 4, 2, 1, 2, 4, 1};
    static const int want[] = {OK, OK, OK, OK, ALM, OK, OK, OK, OK, OK};
    struct alarm_def d = base_def();
    double t0 = t_1504();
    struct alarm *a;
    (void)state;

    d.threshold = 3;
    d.comparison = ALARM_CMP_GREATER;
    d.evaluation_periods = 3;
    d.datapoints_to_alarm = 3;
    d.statistic = ALARM_STAT_AVERAGE;
    a = new_alarm(&d, t0);
    for (size_t i = 0; i < 10; i++) {
        struct alarm_result r;
        add(a, t0 + 60.0 * (double)i + 30, values[i]);
        alarm_evaluate(a, t0 + 60.0 * (double)(i + 1) + 0.05, &r);
        if ((int)r.new_state != want[i])
            fail_msg("after period %zu: %s (%s)", i + 1, alarm_state_name(r.new_state), r.reason);
    }
    alarm_free(a);
}

/* ---- statistics and operators ---- */

static void test_statistics(void **state)
{
    static const struct {
        enum alarm_statistic stat;
        double want;
    } rows[] = {
        {ALARM_STAT_SUM, 9},     {ALARM_STAT_AVERAGE, 3},      {ALARM_STAT_MAXIMUM, 6},
        {ALARM_STAT_MINIMUM, 1}, {ALARM_STAT_SAMPLE_COUNT, 3},
    };
    double t0 = t_1504();
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct alarm_def d = base_def();
        struct alarm_result r;
        struct alarm *a;
        d.statistic = rows[i].stat;
        d.threshold = rows[i].want; /* GreaterThanOrEqual: exactly at the threshold breaches */
        a = new_alarm(&d, t0);
        add(a, t0 + 1, 1);
        add(a, t0 + 20, 2);
        add(a, t0 + 59.9, 6);
        add(a, t0 + 60, 100); /* the next period: not evaluated yet */
        alarm_evaluate(a, t0 + 60.5, &r);
        assert_int_equal(r.npoints, 1);
        assert_true(fabs(r.points[0].value - rows[i].want) < 1e-12);
        assert_true(r.points[0].samples == 3);
        assert_true(fabs(r.points[0].timestamp - t0) < 1e-9);
        assert_int_equal(r.new_state, ALM);
        alarm_free(a);

        d.threshold = rows[i].want + 0.5;
        a = new_alarm(&d, t0);
        add(a, t0 + 1, 1);
        add(a, t0 + 20, 2);
        add(a, t0 + 59.9, 6);
        alarm_evaluate(a, t0 + 60.5, &r);
        assert_int_equal(r.new_state, OK);
        alarm_free(a);
    }
}

static void test_comparison_operators(void **state)
{
    static const struct {
        enum alarm_comparison cmp;
        double value;
        int breaching;
    } rows[] = {
        {ALARM_CMP_GREATER_OR_EQUAL, 2, 1},
        {ALARM_CMP_GREATER_OR_EQUAL, 3, 1},
        {ALARM_CMP_GREATER_OR_EQUAL, 1, 0},
        {ALARM_CMP_GREATER, 2, 0},
        {ALARM_CMP_GREATER, 3, 1},
        {ALARM_CMP_GREATER, 1, 0},
        {ALARM_CMP_LESS, 2, 0},
        {ALARM_CMP_LESS, 1, 1},
        {ALARM_CMP_LESS, 3, 0},
        {ALARM_CMP_LESS_OR_EQUAL, 2, 1},
        {ALARM_CMP_LESS_OR_EQUAL, 1, 1},
        {ALARM_CMP_LESS_OR_EQUAL, 3, 0},
    };
    double t0 = t_1504();
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct alarm_def d = base_def();
        struct alarm_result r;
        struct alarm *a;
        d.comparison = rows[i].cmp;
        d.threshold = 2;
        d.statistic = ALARM_STAT_MAXIMUM;
        a = new_alarm(&d, t0);
        add(a, t0 + 5, rows[i].value);
        alarm_evaluate(a, t0 + 61, &r);
        assert_int_equal(r.points[0].breaching, rows[i].breaching);
        assert_int_equal(r.new_state, rows[i].breaching ? ALM : OK);
        alarm_free(a);
    }
}

/* ---- reasons, transitions and actions ---- */

static void test_reason_texts(void **state)
{
    struct alarm_def d = base_def();
    struct alarm_result r;
    double t0 = t_1504();
    struct alarm *a;
    (void)state;

    /* The example of the brief, verbatim. */
    a = new_alarm(&d, t0 - 600);
    force_state(a, OK, t0 - 1);
    add(a, t0 + 12, 1);
    add(a, t0 + 13, 2);
    alarm_evaluate(a, t0 + 60.05, &r);
    assert_string_equal(r.reason, "Threshold Crossed: 1 out of the last 1 datapoints [3.0 "
                                  "(25/11/26 15:04:00)] was greater than or equal to the "
                                  "threshold (1.0) (minimum 1 datapoint for OK -> ALARM "
                                  "transition).");
    assert_string_equal(alarm_state_reason(a), r.reason);
    /* Back to OK. */
    add(a, t0 + 61, 0);
    alarm_evaluate(a, t0 + 120.05, &r);
    assert_string_equal(r.reason, "Threshold Crossed: 1 out of the last 1 datapoints [0.0 "
                                  "(25/11/26 15:05:00)] was not greater than or equal to the "
                                  "threshold (1.0) (minimum 1 datapoint for ALARM -> OK "
                                  "transition).");
    /* No data, treated as missing. */
    alarm_evaluate(a, t0 + 600, &r);
    assert_int_equal(r.new_state, IDA);
    assert_string_equal(r.reason, "Insufficient Data: 1 datapoint was unknown.");
    alarm_free(a);

    /* M out of N, newest first. */
    d.evaluation_periods = 3;
    d.datapoints_to_alarm = 2;
    d.threshold = 10;
    d.comparison = ALARM_CMP_GREATER;
    a = new_alarm(&d, t0);
    force_state(a, OK, t0);
    add(a, t0 + 1, 12.5);
    add(a, t0 + 61, 3);
    add(a, t0 + 121, 1e7);
    alarm_evaluate(a, t0 + 180, &r);
    assert_string_equal(r.reason, "Threshold Crossed: 2 out of the last 3 datapoints [1.0E7 "
                                  "(25/11/26 15:06:00), 12.5 (25/11/26 15:04:00)] were greater "
                                  "than the threshold (10.0) (minimum 2 datapoints for OK -> "
                                  "ALARM transition).");
    alarm_free(a);

    /* Missing data treated as breaching / not breaching. */
    d = base_def();
    d.evaluation_periods = 3;
    d.treat_missing_data = ALARM_MISSING_BREACHING;
    a = new_alarm(&d, t0);
    force_state(a, OK, t0);
    alarm_evaluate(a, t0 + 600, &r);
    assert_string_equal(r.reason, "Threshold Crossed: no datapoints were received for 3 periods "
                                  "and 3 missing datapoints were treated as [Breaching].");
    alarm_free(a);
    d.treat_missing_data = ALARM_MISSING_NOT_BREACHING;
    a = new_alarm(&d, t0);
    force_state(a, ALM, t0);
    add(a, t0 + 300, 0);
    alarm_evaluate(a, t0 + 360, &r);
    assert_string_equal(r.reason, "Threshold Crossed: 1 out of the last 1 datapoints [0.0 "
                                  "(25/11/26 15:09:00)] was not greater than or equal to the "
                                  "threshold (1.0) and 2 missing datapoints were treated as "
                                  "[NonBreaching] (minimum 1 datapoint for ALARM -> OK "
                                  "transition).");
    alarm_free(a);
}

static void test_transitions_and_actions(void **state)
{
    struct alarm_def d = base_def();
    struct alarm_result r;
    double t0 = t_1504();
    struct alarm *a;
    (void)state;

    d.period_s = 1;
    d.local = 1;
    a = new_alarm(&d, t0);
    assert_int_equal(alarm_state(a), IDA);
    assert_string_equal(alarm_state_reason(a), "Unchecked: Initial alarm creation");

    /* INSUFFICIENT_DATA -> OK fires the OK actions, as CloudWatch's do. */
    add(a, t0 + 0.2, 0);
    alarm_evaluate(a, t0 + 1.01, &r);
    assert_int_equal(r.old_state, IDA);
    assert_int_equal(r.new_state, OK);
    assert_true(r.changed && r.fire);
    assert_true(fabs(alarm_state_changed_at(a) - (t0 + 1.01)) < 1e-9);
    /* Evaluating again in the same period: same answer, no second transition. */
    alarm_evaluate(a, t0 + 1.5, &r);
    assert_false(r.changed || r.fire);

    /* The first failed-over request: ALARM at the next boundary. */
    add(a, t0 + 1.7, 1);
    assert_true(fabs(alarm_next_evaluation(a, t0 + 1.7) - (t0 + 2)) < 1e-9);
    alarm_evaluate(a, t0 + 2.02, &r);
    assert_int_equal(r.new_state, ALM);
    assert_true(r.changed && r.fire);
    /* Staying in ALARM invokes nothing. */
    add(a, t0 + 2.5, 4);
    alarm_evaluate(a, t0 + 3.02, &r);
    assert_int_equal(r.new_state, ALM);
    assert_false(r.changed || r.fire);

    /* SetAlarmState lasts until the next evaluation. */
    assert_int_equal(alarm_set_state(a, OK, "testing notifications", t0 + 3.1, &r, NULL), CFDR_OK);
    assert_true(r.changed && r.fire);
    assert_string_equal(r.reason, "testing notifications");
    add(a, t0 + 3.2, 1);
    alarm_evaluate(a, t0 + 4.01, &r);
    assert_int_equal(r.old_state, OK);
    assert_int_equal(r.new_state, ALM);
    assert_true(r.fire);
    assert_int_equal(alarm_set_state(a, OK, "", t0 + 4.1, &r, NULL), CFDR_E_USAGE);
    alarm_free(a);

    /* Actions disabled, or none for the new state: a transition, nothing fired. */
    d.actions_enabled = 0;
    a = new_alarm(&d, t0);
    add(a, t0 + 0.5, 1);
    alarm_evaluate(a, t0 + 1.01, &r);
    assert_true(r.changed);
    assert_false(r.fire);
    alarm_free(a);
    d.actions_enabled = 1;
    d.nok_actions = 0;
    a = new_alarm(&d, t0);
    add(a, t0 + 0.5, 0);
    alarm_evaluate(a, t0 + 1.01, &r);
    assert_true(r.changed);
    assert_int_equal(r.new_state, OK);
    assert_false(r.fire);
    alarm_free(a);
}

/* The goal of PRODUCT.md section 5 in the evaluator's terms: with 1 s periods, a request at
 * any moment is judged at most one period (plus the evaluation delay) later. */
static void test_one_second_periods(void **state)
{
    struct alarm_def d = base_def();
    double t0 = t_1504();
    (void)state;
    d.period_s = 1;
    d.local = 1;
    d.treat_missing_data = ALARM_MISSING_NOT_BREACHING;
    for (int i = 0; i < 20; i++) {
        struct alarm *a = new_alarm(&d, t0);
        struct alarm_result r;
        double req = t0 + 5 + (double)i * 0.05;
        double at = alarm_next_evaluation(a, req) + 0.05;
        alarm_evaluate(a, t0 + 5, &r);
        assert_int_equal(r.new_state, OK); /* notBreaching: no requests is fine */
        add(a, req, 1);
        assert_true(at - req <= 1.05 + 1e-9);
        alarm_evaluate(a, at, &r);
        assert_int_equal(r.new_state, ALM);
        assert_true(r.fire);
        alarm_free(a);
    }
}

static void test_late_and_future_samples(void **state)
{
    struct alarm_def d = base_def();
    struct alarm_result r;
    double t0 = t_1504();
    struct alarm *a;
    (void)state;
    d.evaluation_periods = 2;
    a = new_alarm(&d, t0); /* range 4, ring of 8 periods */
    add(a, t0 + 60 * 20, 1);
    add(a, t0 + 60 * 2, 1); /* 18 periods older than the newest: no evaluation can use it */
    alarm_evaluate(a, t0 + 60 * 21, &r);
    assert_int_equal(r.late_samples, 1);
    assert_int_equal(r.npoints, 1);
    /* A late sample for a period still inside the range counts, as in CloudWatch. */
    add(a, t0 + 60 * 19 + 5, 0);
    alarm_evaluate(a, t0 + 60 * 21, &r);
    assert_int_equal(r.npoints, 2);
    assert_int_equal(r.new_state, OK); /* 1 of 2 breaching, M = 2 */
    /* Non-finite samples are refused. */
    assert_int_equal(alarm_add_sample(a, t0, NAN, NULL), CFDR_E_USAGE);
    assert_int_equal(alarm_add_sample(a, t0, INFINITY, NULL), CFDR_E_USAGE);
    alarm_free(a);
}

/* Long alarms (N = 144 periods of 10 minutes, a day) evaluate every datapoint; the reason
 * lists the newest ten and stays within CloudWatch's 1023 characters. */
static void test_long_alarm(void **state)
{
    struct alarm_def d = base_def();
    struct alarm_result r;
    double t0 = floor(t_1504() / 600) * 600;
    struct alarm *a;
    (void)state;
    d.period_s = 600;
    d.evaluation_periods = 144;
    d.datapoints_to_alarm = 100;
    a = new_alarm(&d, t0);
    for (int i = 0; i < 146; i++)
        add(a, t0 + 600.0 * i + 1, i < 40 ? 0 : 7);
    alarm_evaluate(a, t0 + 600.0 * 146 + 1, &r);
    assert_int_equal(r.npoints, 146);
    assert_true(r.points[0].timestamp == t0 + 600.0 * 145);
    assert_int_equal(r.new_state, ALM); /* the newest 144: 106 breach */
    assert_non_null(strstr(r.reason, "106 out of the last 144 datapoints [7.0 ("));
    assert_non_null(strstr(r.reason, ", ...] were greater than or equal to the threshold (1.0) "
                                     "(minimum 100 datapoints for INSUFFICIENT_DATA -> ALARM "
                                     "transition)."));
    assert_true(strlen(r.reason) <= 1023);
    alarm_free(a);
}

/* ---- validation ---- */

static void expect_invalid(const struct alarm_def *d, const char *needle)
{
    cfdr_err err;
    struct alarm *a = (struct alarm *)1;
    err_clear(&err);
    if (alarm_new(d, 0, &a, &err) != CFDR_E_CONFIG)
        fail_msg("expected a configuration error mentioning \"%s\"", needle);
    assert_null(a);
    if (!strstr(err.msg, needle))
        fail_msg("expected \"%s\" in: %s", needle, err.msg);
}

static void test_validation(void **state)
{
    struct alarm_def d;
    cfdr_err err;
    (void)state;

    d = base_def();
    d.period_s = 45;
    expect_invalid(&d, "period 45 s is not one CloudWatch accepts (allowed: 10, 20, 30 or a "
                       "multiple of 60)");
    d.period_s = 5;
    expect_invalid(&d, "period 5 s");
    d.local = 1;
    assert_int_equal(alarm_validate(&d, &err), CFDR_OK);
    d.period_s = 0;
    expect_invalid(&d, "1-9 in local mode");
    d = base_def();
    d.period_s = 20;
    assert_int_equal(alarm_validate(&d, &err), CFDR_OK);
    d.period_s = 600;
    d.evaluation_periods = 145; /* 87,000 s with periods under an hour */
    expect_invalid(&d, "is 87000 s (allowed: at most 86400 s");
    d.evaluation_periods = 144;
    assert_int_equal(alarm_validate(&d, &err), CFDR_OK);
    d.period_s = 3600;
    d.evaluation_periods = 168; /* 7 days */
    assert_int_equal(alarm_validate(&d, &err), CFDR_OK);
    d.evaluation_periods = 169;
    expect_invalid(&d, "604800");
    d = base_def();
    d.evaluation_periods = 3;
    d.datapoints_to_alarm = 4;
    expect_invalid(&d, "datapoints to alarm is 4 (allowed: 1 to the evaluation periods, 3)");
    d.datapoints_to_alarm = 0; /* means N */
    assert_int_equal(alarm_validate(&d, &err), CFDR_OK);
    d.evaluation_range = 2;
    expect_invalid(&d, "evaluation range of 2 periods (allowed: 3 to 1003)");
    d.evaluation_range = 1004;
    expect_invalid(&d, "evaluation range of 1004 periods");
    d.evaluation_range = 1003;
    assert_int_equal(alarm_validate(&d, &err), CFDR_OK);
    d = base_def();
    d.evaluation_periods = 0;
    expect_invalid(&d, "evaluation periods must be at least 1");
    d = base_def();
    d.threshold = NAN;
    expect_invalid(&d, "finite");
    d = base_def();
    d.name = "caf\xc3\xa9";
    expect_invalid(&d, "printable ASCII");
    d.name = "";
    expect_invalid(&d, "alarm name");
    d = base_def();
    d.comparison = (enum alarm_comparison)7;
    expect_invalid(&d, "comparison operator");
    d = base_def();
    d.alarm_actions[0] = "https://hooks.example.com";
    expect_invalid(&d, "AlarmActions[0] is not an ARN");
    d = base_def();
    d.region = NULL;
    expect_invalid(&d, "region");
    d = base_def();
    d.account_id = "12345";
    expect_invalid(&d, "12 digits");
}

static void test_names_parse(void **state)
{
    enum alarm_statistic s;
    enum alarm_comparison c;
    enum alarm_missing m;
    cfdr_err err;
    (void)state;
    assert_int_equal(alarm_statistic_parse("SampleCount", &s, &err), CFDR_OK);
    assert_int_equal(s, ALARM_STAT_SAMPLE_COUNT);
    assert_int_equal(alarm_statistic_parse("sum", &s, &err), CFDR_E_CONFIG);
    assert_non_null(strstr(err.msg, "Sum, Average"));
    assert_int_equal(alarm_comparison_parse("LessThanOrEqualToThreshold", &c, &err), CFDR_OK);
    assert_int_equal(c, ALARM_CMP_LESS_OR_EQUAL);
    assert_int_equal(alarm_comparison_parse("GreaterThan", &c, &err), CFDR_E_CONFIG);
    assert_int_equal(alarm_missing_parse("notBreaching", &m, &err), CFDR_OK);
    assert_int_equal(m, ALARM_MISSING_NOT_BREACHING);
    assert_int_equal(alarm_missing_parse(NULL, &m, &err), CFDR_E_CONFIG);
    for (int i = 0; i <= ALARM_STAT_SAMPLE_COUNT; i++) {
        assert_int_equal(
            alarm_statistic_parse(alarm_statistic_name((enum alarm_statistic)i), &s, &err),
            CFDR_OK);
        assert_int_equal(s, i);
    }
    assert_string_equal(alarm_missing_name(ALARM_MISSING_IGNORE), "ignore");
    assert_string_equal(alarm_state_name(ALARM_STATE_INSUFFICIENT_DATA), "INSUFFICIENT_DATA");
    assert_string_equal(alarm_region_display_name("us-east-1"), "US East (N. Virginia)");
    assert_string_equal(alarm_region_display_name("xx-test-9"), "xx-test-9");
}

static void test_number_format(void **state)
{
    static const struct {
        double v;
        const char *want;
    } rows[] = {
        {3, "3.0"},
        {0.25, "0.25"},
        {1e7, "1.0E7"},
        {1.5e-4, "1.5E-4"},
        {123456.789, "123456.789"},
        {-2, "-2.0"},
        {0.001, "0.001"},
        {1234567, "1234567.0"},
        {0.1, "0.1"},
        {100, "100.0"},
        {0, "0.0"},
        {12345678.9, "1.23456789E7"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[32];
        alarm_format_number(rows[i].v, out);
        assert_string_equal(out, rows[i].want);
    }
}

/* ---- the notification texts ---- */

static json_object *get(json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, k, &v))
        fail_msg("no key %s", k);
    return v;
}

static void assert_matches(const char *s, const char *re)
{
    regex_t rx;
    assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
    if (regexec(&rx, s, 0, NULL, 0) != 0)
        fail_msg("\"%s\" does not match %s", s, re);
    regfree(&rx);
}

static void test_message_json(void **state)
{
    struct alarm_def d = base_def();
    struct alarm_result r;
    double t0 = t_1504();
    struct buf b;
    struct alarm *a;
    json_object *doc, *trig, *dims;
    cfdr_err err;
    (void)state;

    a = new_alarm(&d, t0);
    force_state(a, OK, t0 + 1);
    add(a, t0 + 70, 3);
    alarm_evaluate(a, t0 + 120.25, &r);
    assert_true(r.fire);
    buf_init(&b, BUF_MAX_SMALL);
    assert_int_equal(alarm_message_json(a, &r, &b, &err), CFDR_OK);
    /* Numbers as CloudWatch prints them; nothing escaped that need not be. */
    assert_non_null(strstr(buf_str(&b), "\"Threshold\":1.0,"));
    assert_non_null(strstr(buf_str(&b), "\"AlarmDescription\":null,"));
    assert_non_null(strstr(buf_str(&b), "\"Unit\":null,"));
    assert_non_null(strstr(buf_str(&b), "\"Namespace\":\"AWS/AppRunner\""));
    assert_int_equal(buf_str(&b)[0], '{');
    assert_int_equal(strchr(buf_str(&b), '\n'), NULL);
    doc = json_tokener_parse(buf_str(&b));
    assert_non_null(doc);
    assert_string_equal(json_object_get_string(get(doc, "AlarmName")), "dr-demo-failover-active");
    assert_string_equal(json_object_get_string(get(doc, "AWSAccountId")), "000000000000");
    assert_string_equal(json_object_get_string(get(doc, "NewStateValue")), "ALARM");
    assert_string_equal(json_object_get_string(get(doc, "OldStateValue")), "OK");
    assert_string_equal(json_object_get_string(get(doc, "NewStateReason")), r.reason);
    assert_string_equal(json_object_get_string(get(doc, "StateChangeTime")),
                        "2026-11-25T15:06:00.250+0000");
    assert_matches(json_object_get_string(get(doc, "AlarmConfigurationUpdatedTimestamp")),
                   "^2026-11-25T15:04:00\\.000\\+0000$");
    assert_string_equal(json_object_get_string(get(doc, "Region")), "US West (Oregon)");
    assert_string_equal(json_object_get_string(get(doc, "AlarmArn")),
                        "arn:aws:cloudwatch:us-west-2:000000000000:alarm:dr-demo-failover-active");
    assert_string_equal(
        json_object_get_string(json_object_array_get_idx(get(doc, "AlarmActions"), 0)), topic);
    assert_int_equal(json_object_array_length(get(doc, "InsufficientDataActions")), 0);
    trig = get(doc, "Trigger");
    assert_string_equal(json_object_get_string(get(trig, "MetricName")), "Requests");
    assert_string_equal(json_object_get_string(get(trig, "StatisticType")), "Statistic");
    assert_string_equal(json_object_get_string(get(trig, "Statistic")), "SUM");
    assert_int_equal(json_object_get_int(get(trig, "Period")), 60);
    assert_int_equal(json_object_get_int(get(trig, "EvaluationPeriods")), 1);
    assert_int_equal(json_object_get_int(get(trig, "DatapointsToAlarm")), 1);
    assert_string_equal(json_object_get_string(get(trig, "ComparisonOperator")),
                        "GreaterThanOrEqualToThreshold");
    assert_string_equal(json_object_get_string(get(trig, "TreatMissingData")), "missing");
    dims = get(trig, "Dimensions");
    assert_int_equal(json_object_array_length(dims), 1);
    assert_string_equal(json_object_get_string(get(json_object_array_get_idx(dims, 0), "name")),
                        "ServiceName");
    assert_string_equal(json_object_get_string(get(json_object_array_get_idx(dims, 0), "value")),
                        "dr-demo-west");
    json_object_put(doc);
    buf_free(&b);
    alarm_free(a);

    /* A description with quotes and a line break survives the round trip. */
    d.description = "secondary \"west\" serving\nviewers";
    d.statistic = ALARM_STAT_SAMPLE_COUNT;
    a = new_alarm(&d, t0);
    alarm_evaluate(a, t0 + 60, &r);
    buf_init(&b, BUF_MAX_SMALL);
    assert_int_equal(alarm_message_json(a, &r, &b, &err), CFDR_OK);
    doc = json_tokener_parse(buf_str(&b));
    assert_non_null(doc);
    assert_string_equal(json_object_get_string(get(doc, "AlarmDescription")), d.description);
    assert_string_equal(json_object_get_string(get(get(doc, "Trigger"), "Statistic")),
                        "SAMPLE_COUNT");
    json_object_put(doc);
    buf_free(&b);
    alarm_free(a);
}

static void test_subject_and_email(void **state)
{
    struct alarm_def d = base_def();
    struct alarm_result r;
    double t0 = t_1504();
    char subject[ALARM_SUBJECT_MAX + 1], longname[201];
    struct buf b;
    struct alarm *a;
    cfdr_err err;
    (void)state;

    a = new_alarm(&d, t0);
    add(a, t0 + 5, 2);
    alarm_evaluate(a, t0 + 60, &r);
    alarm_subject(a, &r, subject);
    assert_string_equal(subject, "ALARM: \"dr-demo-failover-active\" in US West (Oregon)");
    buf_init(&b, BUF_MAX_SMALL);
    assert_int_equal(alarm_email_text(a, &r, &b, &err), CFDR_OK);
    assert_non_null(strstr(buf_str(&b), "You are receiving this email because your Amazon "
                                        "CloudWatch Alarm \"dr-demo-failover-active\" in the US "
                                        "West (Oregon) region has entered the ALARM state, "
                                        "because \"Threshold Crossed: 1 out of the last 1 "
                                        "datapoints [2.0 (25/11/26 15:04:00)]"));
    assert_non_null(strstr(buf_str(&b), "at \"Wednesday 25 November, 2026 15:05:00 UTC\"."));
    assert_non_null(strstr(buf_str(&b), "- State Change:               INSUFFICIENT_DATA -> "
                                        "ALARM\n"));
    assert_non_null(strstr(buf_str(&b), "GreaterThanOrEqualToThreshold 1.0 for at least 1 of "
                                        "the last 1 period(s) of 60 seconds."));
    assert_non_null(strstr(buf_str(&b), "[ServiceName = dr-demo-west]"));
    assert_non_null(strstr(buf_str(&b), "- ALARM: [arn:aws:sns:us-west-2:000000000000:"));
    buf_free(&b);
    alarm_free(a);

    /* SNS subjects must stay under 100 characters. */
    memset(longname, 'n', 200);
    longname[200] = '\0';
    d.name = longname;
    a = new_alarm(&d, t0);
    alarm_evaluate(a, t0 + 60, &r);
    alarm_subject(a, &r, subject);
    assert_true(strlen(subject) <= ALARM_SUBJECT_MAX);
    assert_matches(subject, "^INSUFFICIENT_DATA: \"n+\\.\\.\\.\" in US West \\(Oregon\\)$");
    alarm_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented_missing_data_examples),
        cmocka_unit_test(test_fills_only_the_shortfall),
        cmocka_unit_test(test_documented_figure),
        cmocka_unit_test(test_statistics),
        cmocka_unit_test(test_comparison_operators),
        cmocka_unit_test(test_reason_texts),
        cmocka_unit_test(test_transitions_and_actions),
        cmocka_unit_test(test_one_second_periods),
        cmocka_unit_test(test_late_and_future_samples),
        cmocka_unit_test(test_long_alarm),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_names_parse),
        cmocka_unit_test(test_number_format),
        cmocka_unit_test(test_message_json),
        cmocka_unit_test(test_subject_and_email),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
