/*
 * promtext: reading counters out of a Prometheus text exposition (format 0.0.4), the way the
 * local alarm evaluator reads the local edge's /metrics — pure, no I/O.
 *
 * promtext_sum() adds up every sample of one metric whose labels match all the given
 * name="value" filters (a filter on a label the sample does not carry does not match). Comment
 * lines (# HELP, # TYPE) and other metrics are skipped; a sample with a timestamp is read
 * without it. Label values are compared after unescaping (\\, \", \n). Malformed lines of the
 * metric asked for are CFDR_E_PARSE, naming the line: a scrape that cannot be trusted must not
 * turn into a datapoint.
 *
 * promtext_delta() turns two readings of a counter into the increase between them, with
 * Prometheus's reset rule: a counter that went down was restarted (the edge was restarted), so
 * the increase is the new value itself.
 *
 * Ownership: nothing is allocated; the text and filters are borrowed for the call.
 */
#ifndef CFDR_DRILL_PROMTEXT_H
#define CFDR_DRILL_PROMTEXT_H

#include <stddef.h>

#include "aws/err.h"

struct promtext_label {
    const char *name;
    const char *value;
};

/* *sum receives the total of the matching samples (0 when none), *matched how many samples
 * matched (may be NULL). */
cfdr_code promtext_sum(const char *text, size_t len, const char *metric,
                       const struct promtext_label *filters, size_t nfilters, double *sum,
                       size_t *matched, cfdr_err *err);

/* The increase of a counter from `before` to `now` (resets: see above). */
double promtext_delta(double before, double now);

#endif
