/*
 * report_load: a drill report read back from its JSON file (drills/report's schema,
 * docs/REPORTS.md), as a struct drill_report that the renderers take again — so `cfdr report`
 * can gather every drill of a run into one document from what was written down, without
 * keeping anything else.
 *
 * Counts are recomputed from the timeline with drills/analysis; the times the report states
 * (failover, steady, failback seconds, latency percentiles) are taken as written, because the
 * timeline keeps send times only to the millisecond. Verdict, result and the rest are taken as
 * written too.
 *
 * Ownership: struct drill_report_doc owns a reference to the JSON document (its strings point
 * into it) and the probe array; drill_report_doc_free releases both (a zeroed doc is fine).
 */
#ifndef CFDR_DRILL_REPORT_LOAD_H
#define CFDR_DRILL_REPORT_LOAD_H

#include <json-c/json.h>

#include "aws/err.h"
#include "drills/report.h"

struct drill_report_doc {
    json_object *json;
    struct drill_report r;
    struct drill_probe *probes;
};

/* Takes a new reference to doc. Errors name the key that is missing or of the wrong type. */
cfdr_code drill_report_load(json_object *doc, struct drill_report_doc *out, cfdr_err *err);
cfdr_code drill_report_load_file(const char *path, struct drill_report_doc *out, cfdr_err *err);
void drill_report_doc_free(struct drill_report_doc *d);

#endif
