/* cloudwatch: see cloudwatch.h. */
#include "aws/cloudwatch.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/query.h"
#include "aws/xml.h"

static int empty(const char *s)
{
    return !s || !*s;
}

/* ---- the definition ---- */

void cw_alarm_list_free(struct cw_alarm_list *l)
{
    if (!l)
        return;
    free(l->items);
    memset(l, 0, sizeof(*l));
}

const struct cw_alarm *cw_alarm_list_find(const struct cw_alarm_list *l, const char *name)
{
    for (size_t i = 0; l && name && i < l->n; i++)
        if (strcmp(l->items[i].name, name) == 0)
            return &l->items[i];
    return NULL;
}

static const char *treat_missing_of(const struct cw_alarm *a)
{
    return a->treat_missing[0] ? a->treat_missing : "missing";
}

static int datapoints_of(const struct cw_alarm *a)
{
    return a->datapoints_to_alarm ? a->datapoints_to_alarm : a->evaluation_periods;
}

static int differ(char *what, size_t n, const char *field)
{
    if (what && n)
        snprintf(what, n, "%s", field);
    return 1;
}

static int lists_differ(const char (*a)[CW_ARN_SIZE], size_t na, const char (*b)[CW_ARN_SIZE],
                        size_t nb)
{
    if (na != nb)
        return 1;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 1;
    return 0;
}

int cw_alarm_differs(const struct cw_alarm *a, const struct cw_alarm *b, char *what, size_t n)
{
    if (strcmp(a->name, b->name) != 0)
        return differ(what, n, "AlarmName");
    if (strcmp(a->description, b->description) != 0)
        return differ(what, n, "AlarmDescription");
    if (strcmp(a->namespace_, b->namespace_) != 0)
        return differ(what, n, "Namespace");
    if (strcmp(a->metric, b->metric) != 0)
        return differ(what, n, "MetricName");
    if (a->ndimensions != b->ndimensions)
        return differ(what, n, "Dimensions");
    /* CloudWatch keeps dimensions in the order given; compare as sets all the same */
    for (size_t i = 0; i < a->ndimensions; i++) {
        size_t j;
        for (j = 0; j < b->ndimensions; j++)
            if (strcmp(a->dimensions[i].name, b->dimensions[j].name) == 0 &&
                strcmp(a->dimensions[i].value, b->dimensions[j].value) == 0)
                break;
        if (j == b->ndimensions)
            return differ(what, n, "Dimensions");
    }
    if (strcmp(a->statistic, b->statistic) != 0)
        return differ(what, n, "Statistic");
    if (strcmp(a->comparison, b->comparison) != 0)
        return differ(what, n, "ComparisonOperator");
    if (fabs(a->threshold - b->threshold) > 1e-9 * fmax(1.0, fabs(a->threshold)))
        return differ(what, n, "Threshold");
    if (a->period_s != b->period_s)
        return differ(what, n, "Period");
    if (a->evaluation_periods != b->evaluation_periods)
        return differ(what, n, "EvaluationPeriods");
    if (datapoints_of(a) != datapoints_of(b))
        return differ(what, n, "DatapointsToAlarm");
    if (strcmp(treat_missing_of(a), treat_missing_of(b)) != 0)
        return differ(what, n, "TreatMissingData");
    if (!a->actions_enabled != !b->actions_enabled)
        return differ(what, n, "ActionsEnabled");
    if (lists_differ(a->alarm_actions, a->nalarm_actions, b->alarm_actions, b->nalarm_actions))
        return differ(what, n, "AlarmActions");
    if (lists_differ(a->ok_actions, a->nok_actions, b->ok_actions, b->nok_actions))
        return differ(what, n, "OKActions");
    if (what && n)
        what[0] = '\0';
    return 0;
}

/* ---- PutMetricAlarm ---- */

static cfdr_code check_definition(const struct cw_alarm *a, cfdr_err *err)
{
    if (empty(a->name) || empty(a->namespace_) || empty(a->metric) || empty(a->statistic) ||
        empty(a->comparison))
        return err_set(err, CFDR_E_USAGE,
                       "an alarm needs a name, namespace, metric, statistic and comparison");
    if (a->ndimensions > CW_MAX_DIMENSIONS || a->nalarm_actions > CW_MAX_ACTIONS ||
        a->nok_actions > CW_MAX_ACTIONS || a->ntags > CW_MAX_TAGS)
        return err_set(err, CFDR_E_USAGE,
                       "alarm %s: at most %d dimensions and %d actions of each kind", a->name,
                       CW_MAX_DIMENSIONS, CW_MAX_ACTIONS);
    if (a->period_s <= 0 || a->evaluation_periods <= 0 || a->datapoints_to_alarm < 0 ||
        !isfinite(a->threshold))
        return err_set(err, CFDR_E_USAGE,
                       "alarm %s: period, evaluation periods and threshold must be positive "
                       "numbers",
                       a->name);
    for (size_t i = 0; i < a->ndimensions; i++)
        if (empty(a->dimensions[i].name) || empty(a->dimensions[i].value))
            return err_set(err, CFDR_E_USAGE, "alarm %s: dimension %zu has no name or value",
                           a->name, i + 1);
    for (size_t i = 0; i < a->ntags; i++)
        if (empty(a->tags[i].key))
            return err_set(err, CFDR_E_USAGE, "alarm %s: tag %zu has no key", a->name, i + 1);
    return CFDR_OK;
}

cfdr_code cw_put_metric_alarm(struct transport *t, const char *region, const struct cw_alarm *a,
                              struct aws_error *aerr, cfdr_err *err)
{
    struct query_req q;
    struct xml_doc *doc = NULL;
    const struct xml_node *res;
    char num[64];
    cfdr_code rc;

    if (aerr)
        memset(aerr, 0, sizeof(*aerr));
    rc = check_definition(a, err);
    if (rc)
        return err_wrap(err, "CloudWatch PutMetricAlarm");
    query_init(&q, AWS_SVC_CLOUDWATCH, "PutMetricAlarm", CW_API_VERSION);
    query_add(&q, "AlarmName", a->name);
    if (a->description[0])
        query_add(&q, "AlarmDescription", a->description);
    query_add(&q, "ActionsEnabled", a->actions_enabled ? "true" : "false");
    for (size_t i = 0; i < a->nok_actions; i++)
        query_addn(&q, a->ok_actions[i], "OKActions.member.%zu", i + 1);
    for (size_t i = 0; i < a->nalarm_actions; i++)
        query_addn(&q, a->alarm_actions[i], "AlarmActions.member.%zu", i + 1);
    query_add(&q, "MetricName", a->metric);
    query_add(&q, "Namespace", a->namespace_);
    query_add(&q, "Statistic", a->statistic);
    for (size_t i = 0; i < a->ndimensions; i++) {
        query_addn(&q, a->dimensions[i].name, "Dimensions.member.%zu.Name", i + 1);
        query_addn(&q, a->dimensions[i].value, "Dimensions.member.%zu.Value", i + 1);
    }
    query_add_int(&q, "Period", a->period_s);
    query_add_int(&q, "EvaluationPeriods", a->evaluation_periods);
    if (a->datapoints_to_alarm)
        query_add_int(&q, "DatapointsToAlarm", a->datapoints_to_alarm);
    snprintf(num, sizeof(num), "%.17g", a->threshold);
    query_add(&q, "Threshold", num);
    query_add(&q, "ComparisonOperator", a->comparison);
    if (a->treat_missing[0])
        query_add(&q, "TreatMissingData", a->treat_missing);
    for (size_t i = 0; i < a->ntags; i++) {
        query_addn(&q, a->tags[i].key, "Tags.member.%zu.Key", i + 1);
        query_addn(&q, a->tags[i].value, "Tags.member.%zu.Value", i + 1);
    }
    rc = query_call(t, region, &q, &doc, &res, aerr, err);
    xml_doc_free(doc);
    query_free(&q);
    return rc;
}

/* ---- DescribeAlarms ---- */

static cfdr_code get_int(const struct xml_node *parent, const char *name, int *out, int required,
                         cfdr_err *err)
{
    char s[32], *end;
    long v;

    *out = 0;
    CFDR_TRY(query_text(parent, name, s, sizeof(s), required, err));
    if (!s[0] && !required)
        return CFDR_OK;
    errno = 0;
    v = strtol(s, &end, 10);
    if (!s[0] || *end || errno || v < INT_MIN || v > INT_MAX)
        return err_set(err, CFDR_E_PARSE, "<%s> is not an integer: '%.31s'", name, s);
    *out = (int)v;
    return CFDR_OK;
}

static cfdr_code get_double(const struct xml_node *parent, const char *name, double *out,
                            cfdr_err *err)
{
    char s[64], *end;

    *out = 0;
    CFDR_TRY(query_text(parent, name, s, sizeof(s), 0, err));
    if (!s[0])
        return CFDR_OK;
    errno = 0;
    *out = strtod(s, &end);
    if (*end || errno || !isfinite(*out))
        return err_set(err, CFDR_E_PARSE, "<%s> is not a number: '%.63s'", name, s);
    return CFDR_OK;
}

/* <name><member>arn</member>...</name> into dst[0..max). */
static cfdr_code get_arns(const struct xml_node *parent, const char *name, char (*dst)[CW_ARN_SIZE],
                          size_t *n, cfdr_err *err)
{
    const struct xml_node *list = xml_child(parent, name), *m;

    *n = 0;
    for (m = xml_child(list, "member"); m; m = xml_next(m, "member")) {
        if (*n >= CW_MAX_ACTIONS)
            return err_set(err, CFDR_E_PARSE, "<%s> lists more than %d actions", name,
                           CW_MAX_ACTIONS);
        if (!xml_text_copy(m, dst[*n], CW_ARN_SIZE))
            return err_set(err, CFDR_E_PARSE, "an action in <%s> is longer than %d bytes", name,
                           CW_ARN_SIZE - 1);
        (*n)++;
    }
    return CFDR_OK;
}

static cfdr_code parse_alarm(const struct xml_node *n, struct cw_alarm *a, cfdr_err *err)
{
    const struct xml_node *m;
    char enabled[16];

    CFDR_TRY(query_text(n, "AlarmName", a->name, sizeof(a->name), 1, err));
    CFDR_TRY(query_text(n, "AlarmArn", a->arn, sizeof(a->arn), 0, err));
    CFDR_TRY(query_text(n, "AlarmDescription", a->description, sizeof(a->description), 0, err));
    CFDR_TRY(query_text(n, "Namespace", a->namespace_, sizeof(a->namespace_), 0, err));
    CFDR_TRY(query_text(n, "MetricName", a->metric, sizeof(a->metric), 0, err));
    CFDR_TRY(query_text(n, "Statistic", a->statistic, sizeof(a->statistic), 0, err));
    CFDR_TRY(query_text(n, "ComparisonOperator", a->comparison, sizeof(a->comparison), 0, err));
    CFDR_TRY(query_text(n, "TreatMissingData", a->treat_missing, sizeof(a->treat_missing), 0, err));
    CFDR_TRY(query_text(n, "StateValue", a->state, sizeof(a->state), 1, err));
    CFDR_TRY(query_text(n, "StateReason", a->state_reason, sizeof(a->state_reason), 0, err));
    CFDR_TRY(
        query_text(n, "StateUpdatedTimestamp", a->state_updated, sizeof(a->state_updated), 0, err));
    CFDR_TRY(get_int(n, "Period", &a->period_s, 0, err));
    CFDR_TRY(get_int(n, "EvaluationPeriods", &a->evaluation_periods, 0, err));
    CFDR_TRY(get_int(n, "DatapointsToAlarm", &a->datapoints_to_alarm, 0, err));
    CFDR_TRY(get_double(n, "Threshold", &a->threshold, err));
    CFDR_TRY(query_text(n, "ActionsEnabled", enabled, sizeof(enabled), 0, err));
    a->actions_enabled = strcmp(enabled, "false") != 0; /* AWS's default is true */
    CFDR_TRY(get_arns(n, "AlarmActions", a->alarm_actions, &a->nalarm_actions, err));
    CFDR_TRY(get_arns(n, "OKActions", a->ok_actions, &a->nok_actions, err));
    a->ndimensions = 0;
    for (m = xml_child(xml_child(n, "Dimensions"), "member"); m; m = xml_next(m, "member")) {
        struct cw_dimension *d;
        if (a->ndimensions >= CW_MAX_DIMENSIONS)
            return err_set(err, CFDR_E_PARSE, "alarm %s has more than %d dimensions", a->name,
                           CW_MAX_DIMENSIONS);
        d = &a->dimensions[a->ndimensions++];
        CFDR_TRY(query_text(m, "Name", d->name, sizeof(d->name), 1, err));
        CFDR_TRY(query_text(m, "Value", d->value, sizeof(d->value), 1, err));
    }
    return CFDR_OK;
}

static void *grow(void *items, size_t n, size_t more, size_t size)
{
    char *p;
    if (more > SIZE_MAX / size - n)
        return NULL;
    p = realloc(items, (n + more) * size);
    if (p)
        memset(p + n * size, 0, more * size);
    return p;
}

/* Appends the <member>s of <MetricAlarms> to out. */
static cfdr_code parse_page(const struct xml_node *res, struct cw_alarm_list *out, cfdr_err *err)
{
    const struct xml_node *list = xml_child(res, "MetricAlarms"), *m;
    size_t k = xml_count(list, "member");
    void *p;

    if (!k)
        return CFDR_OK;
    p = grow(out->items, out->n, k, sizeof(*out->items));
    if (!p)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    out->items = p;
    for (m = xml_child(list, "member"); m; m = xml_next(m, "member")) {
        CFDR_TRY(parse_alarm(m, &out->items[out->n], err));
        out->n++;
    }
    return CFDR_OK;
}

cfdr_code cw_describe_alarms(struct transport *t, const char *region, const char *const *names,
                             size_t nnames, const char *prefix, int page_size,
                             struct cw_alarm_list *out, struct aws_error *aerr, cfdr_err *err)
{
    struct buf token;
    cfdr_code rc = CFDR_OK;

    memset(out, 0, sizeof(*out));
    if (aerr)
        memset(aerr, 0, sizeof(*aerr));
    if (nnames > CW_DESCRIBE_MAX || (nnames && !names) || page_size < 0 ||
        page_size > CW_DESCRIBE_MAX)
        return err_set(err, CFDR_E_USAGE,
                       "CloudWatch DescribeAlarms takes at most %d names and pages of 1 to %d",
                       CW_DESCRIBE_MAX, CW_DESCRIBE_MAX);
    buf_init(&token, BUF_MAX_SMALL);
    for (int page = 1; !rc; page++) {
        struct query_req q;
        struct xml_doc *doc = NULL;
        const struct xml_node *res = NULL;
        if (page > CW_LIST_MAX_PAGES) {
            rc = err_set(err, CFDR_E_TOOBIG, "CloudWatch DescribeAlarms: more than %d pages",
                         CW_LIST_MAX_PAGES);
            break;
        }
        query_init(&q, AWS_SVC_CLOUDWATCH, "DescribeAlarms", CW_API_VERSION);
        for (size_t i = 0; i < nnames; i++)
            query_addn(&q, names[i], "AlarmNames.member.%zu", i + 1);
        if (!nnames && !empty(prefix))
            query_add(&q, "AlarmNamePrefix", prefix);
        query_add(&q, "AlarmTypes.member.1", "MetricAlarm");
        if (page_size)
            query_add_int(&q, "MaxRecords", page_size);
        if (buf_len(&token))
            query_add(&q, "NextToken", buf_str(&token));
        rc = query_call(t, region, &q, &doc, &res, aerr, err);
        query_free(&q);
        if (!rc && doc) {
            rc = parse_page(res, out, err);
            if (!rc)
                rc = query_next_token(res, &token, err);
            if (rc)
                err_wrap(err, "CloudWatch DescribeAlarms: unexpected answer");
        }
        xml_doc_free(doc);
        if (!doc || !buf_len(&token))
            break;
    }
    buf_free(&token);
    if (rc)
        cw_alarm_list_free(out);
    return rc;
}

cfdr_code cw_delete_alarms(struct transport *t, const char *region, const char *const *names,
                           size_t nnames, struct aws_error *aerr, cfdr_err *err)
{
    struct query_req q;
    struct xml_doc *doc = NULL;
    const struct xml_node *res;
    cfdr_code rc;

    if (aerr)
        memset(aerr, 0, sizeof(*aerr));
    if (!nnames || nnames > CW_DELETE_MAX || !names)
        return err_set(err, CFDR_E_USAGE, "CloudWatch DeleteAlarms takes 1 to %d names",
                       CW_DELETE_MAX);
    query_init(&q, AWS_SVC_CLOUDWATCH, "DeleteAlarms", CW_API_VERSION);
    for (size_t i = 0; i < nnames; i++)
        query_addn(&q, names[i], "AlarmNames.member.%zu", i + 1);
    rc = query_call(t, region, &q, &doc, &res, aerr, err);
    xml_doc_free(doc);
    query_free(&q);
    return rc;
}

cfdr_code cw_set_alarm_state(struct transport *t, const char *region, const char *name,
                             const char *state, const char *reason, const char *reason_data,
                             struct aws_error *aerr, cfdr_err *err)
{
    struct query_req q;
    struct xml_doc *doc = NULL;
    const struct xml_node *res;
    cfdr_code rc;

    if (aerr)
        memset(aerr, 0, sizeof(*aerr));
    if (empty(name) || empty(reason) || !state ||
        (strcmp(state, "OK") != 0 && strcmp(state, "ALARM") != 0 &&
         strcmp(state, "INSUFFICIENT_DATA") != 0))
        return err_set(err, CFDR_E_USAGE,
                       "CloudWatch SetAlarmState needs an alarm name, a reason and a state "
                       "(OK, ALARM or INSUFFICIENT_DATA)");
    query_init(&q, AWS_SVC_CLOUDWATCH, "SetAlarmState", CW_API_VERSION);
    query_add(&q, "AlarmName", name);
    query_add(&q, "StateValue", state);
    query_add(&q, "StateReason", reason);
    if (!empty(reason_data))
        query_add(&q, "StateReasonData", reason_data);
    rc = query_call(t, region, &q, &doc, &res, aerr, err);
    xml_doc_free(doc);
    query_free(&q);
    return rc;
}

/* ---- ListTagsForResource ---- */

cfdr_code cw_list_tags(struct transport *t, const char *region, const char *arn,
                       struct cw_tag *tags, size_t max, size_t *n, struct aws_error *aerr,
                       cfdr_err *err)
{
    struct query_req q;
    struct xml_doc *doc = NULL;
    const struct xml_node *res = NULL, *m;
    cfdr_code rc;

    *n = 0;
    if (aerr)
        memset(aerr, 0, sizeof(*aerr));
    if (empty(arn) || (max && !tags))
        return err_set(err, CFDR_E_USAGE, "CloudWatch ListTagsForResource needs an ARN");
    query_init(&q, AWS_SVC_CLOUDWATCH, "ListTagsForResource", CW_API_VERSION);
    query_add(&q, "ResourceARN", arn);
    rc = query_call(t, region, &q, &doc, &res, aerr, err);
    query_free(&q);
    if (rc || !doc) {
        xml_doc_free(doc);
        return rc;
    }
    for (m = xml_child(xml_child(res, "Tags"), "member"); m && !rc; m = xml_next(m, "member")) {
        if (*n >= max) {
            rc = err_set(err, CFDR_E_PARSE,
                         "CloudWatch ListTagsForResource: more than %zu tags on %s", max, arn);
            break;
        }
        rc = query_text(m, "Key", tags[*n].key, sizeof(tags[*n].key), 1, err);
        if (!rc)
            rc = query_text(m, "Value", tags[*n].value, sizeof(tags[*n].value), 0, err);
        if (!rc)
            (*n)++;
    }
    if (rc) {
        *n = 0;
        err_wrap(err, "CloudWatch ListTagsForResource: unexpected answer");
    }
    xml_doc_free(doc);
    return rc;
}

const char *cw_tag_value(const struct cw_tag *tags, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(tags[i].key, key) == 0)
            return tags[i].value;
    return NULL;
}
