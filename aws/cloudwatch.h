/*
 * cloudwatch: the CloudWatch alarm calls cfdr makes, on the shared transport (query protocol,
 * API version 2010-08-01, signing name "monitoring"). CloudWatch is regional: an alarm lives in
 * one region, and its actions (SNS topics) must be in that region too.
 *
 *   PutMetricAlarm   cw_put_metric_alarm (creates or replaces the alarm of that name)
 *   DescribeAlarms   cw_describe_alarms (by names or by name prefix, every page)
 *   DeleteAlarms     cw_delete_alarms (at most CW_DELETE_MAX names per call)
 *   SetAlarmState    cw_set_alarm_state (the next evaluation sets the real state again)
 *   ListTagsForResource  cw_list_tags (the tags of an alarm, by ARN)
 *
 * Tags: PutMetricAlarm sends struct cw_alarm's tags; CloudWatch applies them only when it
 * creates the alarm (on an update they are ignored), so an alarm's tags say who created it.
 *
 * One struct, struct cw_alarm, is both what cfdr asks for (the definition fields) and what
 * DescribeAlarms answers (the definition plus the state fields), so that cw_alarm_differs can
 * tell whether an existing alarm already has the wanted definition and PutMetricAlarm can be
 * skipped. Only metric alarms on one metric are modelled (no Metrics math, no
 * ExtendedStatistic, no composite alarms: those are not requested from DescribeAlarms).
 *
 * Errors: the transport's codes (CFDR_E_AWS with AWS's answer, CFDR_E_NET, ...) or CFDR_E_PARSE
 * for an answer not in the model's shape; aerr (may be NULL) is cleared on entry and receives
 * the transport's error on CFDR_E_AWS / CFDR_E_NET so callers can tell CW_ERR_* codes apart.
 * Values longer than the fixed fields below are CFDR_E_USAGE in a request and CFDR_E_PARSE in
 * an answer, never cut.
 *
 * Dry-run: every call returns CFDR_OK with an empty result; describe stops after one request.
 *
 * Ownership: inputs are borrowed for the call. struct cw_alarm_list owns its array (alarms are
 * large: keep them on the heap), released by cw_alarm_list_free (NULL accepted; left empty).
 */
#ifndef CFDR_CLOUDWATCH_H
#define CFDR_CLOUDWATCH_H

#include <stddef.h>

#include "aws/err.h"
#include "aws/transport.h"

#define CW_API_VERSION "2010-08-01"

/* AWS error codes callers act on (struct aws_error.code). */
#define CW_ERR_RESOURCE_NOT_FOUND "ResourceNotFound"
#define CW_ERR_VALIDATION "ValidationError"
#define CW_ERR_RESOURCE_NOT_FOUND_EXCEPTION "ResourceNotFoundException" /* ListTagsForResource */

#define CW_MAX_DIMENSIONS 30 /* per metric */
#define CW_MAX_ACTIONS 5     /* per action list */
#define CW_DELETE_MAX 100    /* AlarmNames per DeleteAlarms */
#define CW_DESCRIBE_MAX 100  /* AlarmNames per DescribeAlarms, and MaxRecords */
#define CW_LIST_MAX_PAGES 500

#define CW_NAME_SIZE 256      /* AlarmName, MetricName, Namespace, dimension names: 1-255 */
#define CW_VALUE_SIZE 1025    /* dimension values, StateReason: 1-1024 */
#define CW_ARN_SIZE 1601      /* AlarmArn, action ARNs: up to 1600 */
#define CW_WORD_SIZE 64       /* enums, timestamps */
#define CW_TEXT_SIZE 1025     /* AlarmDescription: 0-1024 */
#define CW_MAX_TAGS 50        /* per resource */
#define CW_TAG_KEY_SIZE 129   /* 1-128 */
#define CW_TAG_VALUE_SIZE 257 /* 0-256 */

struct cw_tag {
    char key[CW_TAG_KEY_SIZE];
    char value[CW_TAG_VALUE_SIZE];
};

struct cw_dimension {
    char name[CW_NAME_SIZE];
    char value[CW_VALUE_SIZE];
};

struct cw_alarm {
    /* the definition */
    char name[CW_NAME_SIZE];
    char description[CW_TEXT_SIZE];
    char namespace_[CW_NAME_SIZE];
    char metric[CW_NAME_SIZE];
    struct cw_dimension dimensions[CW_MAX_DIMENSIONS];
    size_t ndimensions;
    char statistic[CW_WORD_SIZE];  /* SampleCount, Average, Sum, Minimum, Maximum */
    char comparison[CW_WORD_SIZE]; /* GreaterThanOrEqualToThreshold, ... */
    double threshold;
    int period_s;
    int evaluation_periods;
    int datapoints_to_alarm;          /* 0: not set (means evaluation_periods) */
    char treat_missing[CW_WORD_SIZE]; /* "" (missing), notBreaching, breaching, ignore */
    int actions_enabled;
    char alarm_actions[CW_MAX_ACTIONS][CW_ARN_SIZE];
    size_t nalarm_actions;
    char ok_actions[CW_MAX_ACTIONS][CW_ARN_SIZE];
    size_t nok_actions;
    /* sent by PutMetricAlarm (applied on creation only); not part of the definition that
     * cw_alarm_differs compares, and not filled by DescribeAlarms (see cw_list_tags) */
    struct cw_tag tags[CW_MAX_TAGS];
    size_t ntags;
    /* what DescribeAlarms adds */
    char arn[CW_ARN_SIZE];
    char state[CW_WORD_SIZE]; /* OK, ALARM, INSUFFICIENT_DATA */
    char state_reason[CW_VALUE_SIZE];
    char state_updated[CW_WORD_SIZE]; /* ISO 8601, as AWS wrote it */
};

struct cw_alarm_list {
    struct cw_alarm *items; /* n, owned */
    size_t n;
};

void cw_alarm_list_free(struct cw_alarm_list *l);
/* The alarm named `name` in the list, or NULL. */
const struct cw_alarm *cw_alarm_list_find(const struct cw_alarm_list *l, const char *name);

/* 0 when the definitions of a and b are the same (state fields ignored; a missing
 * TreatMissingData equals "missing", a missing DatapointsToAlarm equals EvaluationPeriods);
 * otherwise nonzero with the first differing field's name in what (may be NULL). */
int cw_alarm_differs(const struct cw_alarm *a, const struct cw_alarm *b, char *what, size_t n);

/* PutMetricAlarm with a's definition in region. */
cfdr_code cw_put_metric_alarm(struct transport *t, const char *region, const struct cw_alarm *a,
                              struct aws_error *aerr, cfdr_err *err);

/* DescribeAlarms of the metric alarms named in names[0..nnames) (at most CW_DESCRIBE_MAX), or,
 * with nnames 0, of those whose name starts with prefix (NULL or "": every alarm of the
 * region). page_size 0 means CloudWatch's default; pages are followed by NextToken (at most
 * CW_LIST_MAX_PAGES; a token that repeats is CFDR_E_PARSE). *out is overwritten. */
cfdr_code cw_describe_alarms(struct transport *t, const char *region, const char *const *names,
                             size_t nnames, const char *prefix, int page_size,
                             struct cw_alarm_list *out, struct aws_error *aerr, cfdr_err *err);

/* DeleteAlarms of names[0..nnames) (1..CW_DELETE_MAX). Any name that does not exist makes the
 * whole call CW_ERR_RESOURCE_NOT_FOUND. */
cfdr_code cw_delete_alarms(struct transport *t, const char *region, const char *const *names,
                           size_t nnames, struct aws_error *aerr, cfdr_err *err);

/* SetAlarmState: state "OK", "ALARM" or "INSUFFICIENT_DATA"; reason 1-1023 characters;
 * reason_data a JSON document or NULL. */
cfdr_code cw_set_alarm_state(struct transport *t, const char *region, const char *name,
                             const char *state, const char *reason, const char *reason_data,
                             struct aws_error *aerr, cfdr_err *err);

/* ListTagsForResource of the resource (an alarm) arn: its tags into tags[0..max), their number
 * into *n (more than max is CFDR_E_PARSE). A missing alarm is CFDR_E_AWS with
 * CW_ERR_RESOURCE_NOT_FOUND_EXCEPTION. Dry-run: *n is 0. */
cfdr_code cw_list_tags(struct transport *t, const char *region, const char *arn,
                       struct cw_tag *tags, size_t max, size_t *n, struct aws_error *aerr,
                       cfdr_err *err);

/* The value of tag `key` in tags[0..n), or NULL. */
const char *cw_tag_value(const struct cw_tag *tags, size_t n, const char *key);

#endif
