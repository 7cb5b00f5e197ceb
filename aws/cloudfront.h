/*
 * cloudfront: the CloudFront API calls cfdr makes, on the shared transport (rest-xml, API
 * version 2020-05-31, namespace CF_XMLNS).
 *
 *   CreateDistributionWithTags   cf_create_distribution (from a struct cf_dist_spec)
 *   GetDistribution              cf_get_distribution
 *   GetDistributionConfig        cf_get_distribution_config (keeps the raw XML)
 *   UpdateDistribution           cf_update_distribution (raw XML + If-Match), and
 *                                cf_disable_distribution (get config, Enabled=false, update)
 *   DeleteDistribution           cf_delete_distribution (If-Match)
 *   ListDistributions            cf_list_distributions_page, cf_list_distributions (all pages)
 *   ListTagsForResource          cf_list_tags; cf_find_distributions_by_tag walks both
 *   CreateMonitoringSubscription cf_set_monitoring_subscription (the additional CloudWatch
 *   GetMonitoringSubscription    cf_get_monitoring_subscription  metrics of a distribution,
 *   DeleteMonitoringSubscription cf_delete_monitoring_subscription billed extra)
 *
 * What cfdr creates: two custom origins (HTTPS only, TLSv1.2), one origin group over them, the
 * default cache behaviour on the group (redirect-to-https, GET/HEAD/OPTIONS with GET/HEAD
 * cached, the managed CachingDisabled cache policy and AllViewerExceptHostHeader origin request
 * policy, compression), tagged cfdr:project=<project>. cf_dist_spec_xml writes it in the
 * model's member order, with CloudFront's defaults spelled out (as tests/data/aws/
 * distribution-config-with-tags.json shows).
 *
 * Disabling never rebuilds a configuration from a struct: cf_disable_distribution sends back
 * the DistributionConfig document GetDistributionConfig returned, with only the top-level
 * <Enabled> changed (cf_config_set_enabled), so nothing changed in the console is lost.
 *
 * Errors: every call returns the transport's code (CFDR_E_AWS with AWS's answer, CFDR_E_NET,
 * ...) or CFDR_E_PARSE for an answer that is not the model's shape. When aerr is not NULL it is
 * cleared on entry and, on CFDR_E_AWS or CFDR_E_NET, receives the transport's struct aws_error,
 * so callers can tell the CF_ERR_* codes apart (strcmp(aerr.code, CF_ERR_PRECONDITION_FAILED)).
 * Distribution ids must be letters and digits; anything else is refused (CFDR_E_USAGE) before a
 * request is built.
 *
 * Dry-run: when the transport sends nothing, every call returns CFDR_OK with an empty result
 * (cf_list_* stop after the first request; cf_disable_distribution after GetDistributionConfig).
 *
 * Ownership: request inputs (specs, strings) are borrowed for the call. Results are written to
 * caller-owned structs that are overwritten, not freed, on entry (pass a zeroed or _free'd one);
 * they may own heap memory, released by the matching _free (NULL accepted; the struct is left
 * zeroed and reusable). On failure a result owns nothing.
 */
#ifndef CFDR_CLOUDFRONT_H
#define CFDR_CLOUDFRONT_H

#include <stddef.h>
#include <time.h>

#include "aws/buf.h"
#include "aws/err.h"
#include "aws/transport.h"

#define CF_API_VERSION "2020-05-31"
#define CF_XMLNS "http://cloudfront.amazonaws.com/doc/2020-05-31/"
/* AWS managed policies (the same ids in every account). */
#define CF_CACHE_POLICY_CACHING_DISABLED "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
#define CF_ORIGIN_REQUEST_POLICY_ALL_VIEWER_EXCEPT_HOST "b689b0a8-53d0-40ab-baf2-68738e2966ac"
/* The tag that marks what cfdr created: cfdr:project=<project>. */
#define CF_PROJECT_TAG "cfdr:project"

/* AWS error codes callers act on (struct aws_error.code). */
#define CF_ERR_NO_SUCH_DISTRIBUTION "NoSuchDistribution"
#define CF_ERR_PRECONDITION_FAILED "PreconditionFailed"
#define CF_ERR_DISTRIBUTION_NOT_DISABLED "DistributionNotDisabled"
#define CF_ERR_DISTRIBUTION_ALREADY_EXISTS "DistributionAlreadyExists"
#define CF_ERR_INVALID_IF_MATCH_VERSION "InvalidIfMatchVersion"
#define CF_ERR_ILLEGAL_UPDATE "IllegalUpdate"
#define CF_ERR_NO_SUCH_RESOURCE "NoSuchResource"
#define CF_ERR_NO_SUCH_MONITORING_SUBSCRIPTION "NoSuchMonitoringSubscription"
#define CF_ERR_MONITORING_SUBSCRIPTION_EXISTS "MonitoringSubscriptionAlreadyExists"

#define CF_MAX_FAILOVER_CODES 8 /* CloudFront accepts 8 distinct codes */
#define CF_MAX_TAGS 50          /* tags per distribution */
#define CF_LIST_DEFAULT_PAGE 100
#define CF_LIST_MAX_PAGES 1000 /* cf_list_distributions gives up beyond this many pages */

/* Field sizes (bytes, NUL included). A longer value in an answer is CFDR_E_PARSE, never cut. */
#define CF_ID_SIZE 64     /* distribution id, ETag */
#define CF_NAME_SIZE 256  /* origin / group ids, domain names, ARNs */
#define CF_TEXT_SIZE 1024 /* CallerReference, Comment */
#define CF_WORD_SIZE 64   /* enum values, policy ids, timestamps */

/* ---- the configuration cfdr creates ---- */

struct cf_origin_spec {
    const char *id;           /* origin id, unique in the distribution */
    const char *domain_name;  /* the App Runner service URL's host */
    int connection_attempts;  /* 1-3 */
    int connection_timeout_s; /* 1-10 */
    int read_timeout_s;       /* OriginReadTimeout, 1-60 (more with a quota increase) */
    int keepalive_timeout_s;  /* OriginKeepaliveTimeout, 1-60 */
};

struct cf_tag {
    const char *key;
    const char *value;
};

struct cf_dist_spec {
    const char *caller_reference; /* stored in the state: a retried create makes no second one */
    const char *comment;          /* may be NULL: "" */
    int enabled;
    struct cf_origin_spec origins[2]; /* primary, secondary: the group's members in this order */
    const char *group_id;             /* the origin group's id */
    int failover_codes[CF_MAX_FAILOVER_CODES];
    size_t nfailover_codes;   /* 1..CF_MAX_FAILOVER_CODES */
    const char *price_class;  /* "PriceClass_100" (default), "PriceClass_200", "PriceClass_All" */
    const char *http_version; /* "http2and3" (default) */
    int ipv6_enabled;
    const char *project;       /* tagged CF_PROJECT_TAG=<project>; required */
    const struct cf_tag *tags; /* more tags (NULL when none), after the project tag */
    size_t ntags;
};

/* Fills the defaults: enabled, 3 attempts, 10 s connection timeout, 30 s read timeout, 5 s
 * keep-alive, PriceClass_100, http2and3, IPv6 on; strings NULL, no failover codes. */
void cf_dist_spec_init(struct cf_dist_spec *s);

/* Appends the CreateDistributionWithTags body (<DistributionConfigWithTags>) for s to out.
 * CFDR_E_USAGE when a required field is missing or a count is out of range. */
cfdr_code cf_dist_spec_xml(const struct cf_dist_spec *s, struct buf *out, cfdr_err *err);

/* Appends to out the DistributionConfig document xml with its top-level <Enabled> set to
 * "true"/"false"; every other byte of meaning is kept (namespace, unknown members, order).
 * The input is vetted by xml_parse first (no DOCTYPE, bounded). CFDR_E_PARSE when it is not a
 * <DistributionConfig> with exactly one top-level <Enabled>. */
cfdr_code cf_config_set_enabled(const char *xml, size_t len, int enabled, struct buf *out,
                                cfdr_err *err);

/* Appends to out the DistributionConfig document xml with what spec says cfdr manages: for
 * each of spec's two origins (found by Id) DomainName, ConnectionAttempts, ConnectionTimeout
 * and CustomOriginConfig/OriginReadTimeout; for the origin group spec->group_id its failover
 * status codes. Everything else is kept as it is (aliases, certificates, logging a person
 * added). CFDR_E_PARSE when an origin or the group is missing. */
cfdr_code cf_config_apply_spec(const char *xml, size_t len, const struct cf_dist_spec *spec,
                               struct buf *out, cfdr_err *err);

/* ---- what AWS answers ---- */

struct cf_origin {
    char id[CF_NAME_SIZE];
    char domain_name[CF_NAME_SIZE];
    char protocol_policy[CF_WORD_SIZE]; /* "https-only"...; "" for a non-custom origin */
    char ssl_protocols[CF_WORD_SIZE];   /* OriginSslProtocols joined by ',': "TLSv1.2" */
    int connection_attempts;
    int connection_timeout_s;
    int read_timeout_s;      /* 0 for a non-custom origin */
    int keepalive_timeout_s; /* 0 for a non-custom origin */
};

struct cf_origin_group {
    char id[CF_NAME_SIZE];
    int failover_codes[CF_MAX_FAILOVER_CODES];
    size_t nfailover_codes;
    char members[2][CF_NAME_SIZE]; /* origin ids, primary first */
    size_t nmembers;
};

/* The parts of a DistributionConfig cfdr reads back. */
struct cf_config {
    char caller_reference[CF_TEXT_SIZE];
    char comment[CF_TEXT_SIZE];
    int enabled;
    char price_class[CF_WORD_SIZE];
    char http_version[CF_WORD_SIZE];
    int ipv6_enabled;
    struct cf_origin *origins; /* norigins, owned */
    size_t norigins;
    struct cf_origin_group *groups; /* ngroups, owned */
    size_t ngroups;
    /* the default cache behaviour */
    char target_origin_id[CF_NAME_SIZE];
    char viewer_protocol_policy[CF_WORD_SIZE];
    char cache_policy_id[CF_WORD_SIZE];
    char origin_request_policy_id[CF_WORD_SIZE];
};

struct cf_distribution {
    char id[CF_ID_SIZE];
    char arn[CF_NAME_SIZE];
    char status[CF_WORD_SIZE]; /* "InProgress", "Deployed" */
    char domain_name[CF_NAME_SIZE];
    char last_modified[CF_WORD_SIZE]; /* as AWS wrote it (ISO 8601) */
    time_t last_modified_time;
    char etag[CF_ID_SIZE]; /* from the ETag header: the If-Match of the next update/delete */
    struct cf_config config;
};

/* GetDistributionConfig: the document as AWS sent it, and what cfdr reads from it. */
struct cf_config_doc {
    char etag[CF_ID_SIZE];
    struct cf_config config;
    struct buf xml; /* the <DistributionConfig> document, byte for byte */
};

struct cf_summary {
    char id[CF_ID_SIZE];
    char arn[CF_NAME_SIZE];
    char domain_name[CF_NAME_SIZE];
    char status[CF_WORD_SIZE];
    int enabled;
    char comment[CF_TEXT_SIZE];
    char last_modified[CF_WORD_SIZE];
};

struct cf_summary_list {
    struct cf_summary *items; /* n, owned */
    size_t n;
};

/* Tags read from AWS: every key and value is a heap string owned by the list. */
struct cf_tag_list {
    struct cf_tag *items;
    size_t n;
};

void cf_config_free(struct cf_config *c);
void cf_distribution_free(struct cf_distribution *d);
void cf_config_doc_free(struct cf_config_doc *d);
void cf_summary_list_free(struct cf_summary_list *l);
void cf_tag_list_free(struct cf_tag_list *l);
/* The value of tag `key`, NULL when the list has no such tag. */
const char *cf_tag_list_get(const struct cf_tag_list *l, const char *key);

/* Compares what cf_config_apply_spec manages in have with want. Appends one line per
 * difference to out ("  origin X: connection timeout 10 s, cfdr.json says 2 s\n") and sets
 * *ndiff. *updatable is 0 when a difference is structural (an origin or the group missing, the
 * group's members not the two origins in order): cf_config_apply_spec cannot fix that. */
cfdr_code cf_config_diff(const struct cf_config *have, const struct cf_dist_spec *want,
                         struct buf *out, size_t *ndiff, int *updatable, cfdr_err *err);

/* ---- the calls ---- */

/* CreateDistributionWithTags. AWS answers a repeated CallerReference with the same
 * configuration with the existing distribution, and with a different one with
 * CF_ERR_DISTRIBUTION_ALREADY_EXISTS. */
cfdr_code cf_create_distribution(struct transport *t, const struct cf_dist_spec *spec,
                                 struct cf_distribution *out, struct aws_error *aerr,
                                 cfdr_err *err);

cfdr_code cf_get_distribution(struct transport *t, const char *id, struct cf_distribution *out,
                              struct aws_error *aerr, cfdr_err *err);

cfdr_code cf_get_distribution_config(struct transport *t, const char *id, struct cf_config_doc *out,
                                     struct aws_error *aerr, cfdr_err *err);

/* UpdateDistribution with the DistributionConfig document config_xml (len bytes) and
 * If-Match: if_match (the ETag of the GetDistributionConfig that produced it). */
cfdr_code cf_update_distribution(struct transport *t, const char *id, const char *if_match,
                                 const char *config_xml, size_t len, struct cf_distribution *out,
                                 struct aws_error *aerr, cfdr_err *err);

/* Disables the distribution as the console does: GetDistributionConfig, <Enabled>false, then
 * UpdateDistribution with that ETag. An already disabled distribution is only read back
 * (GetDistribution). *out is the distribution afterwards, with the ETag a delete needs (the
 * status turns Deployed later: poll cf_get_distribution). Someone changing it in between gives
 * CF_ERR_PRECONDITION_FAILED: call again. */
cfdr_code cf_disable_distribution(struct transport *t, const char *id, struct cf_distribution *out,
                                  struct aws_error *aerr, cfdr_err *err);

/* DeleteDistribution with If-Match: if_match. The distribution must be disabled and Deployed
 * (else CF_ERR_DISTRIBUTION_NOT_DISABLED); a stale ETag is CF_ERR_PRECONDITION_FAILED. */
cfdr_code cf_delete_distribution(struct transport *t, const char *id, const char *if_match,
                                 struct aws_error *aerr, cfdr_err *err);

/* One ListDistributions page from marker (NULL or "" for the first), at most max_items (0:
 * CF_LIST_DEFAULT_PAGE). Appends the page to out (which must be zeroed or hold earlier pages)
 * and writes the next marker to next_marker ("" on the last page; next_marker may be the
 * marker's own array). On failure out and next_marker keep what they held. */
cfdr_code cf_list_distributions_page(struct transport *t, const char *marker, int max_items,
                                     struct cf_summary_list *out, char next_marker[CF_ID_SIZE],
                                     struct aws_error *aerr, cfdr_err *err);

/* Every distribution of the account, page_size (0: CF_LIST_DEFAULT_PAGE) per request, at most
 * CF_LIST_MAX_PAGES pages (CFDR_E_TOOBIG beyond); a marker that does not advance is
 * CFDR_E_PARSE. *out is overwritten. */
cfdr_code cf_list_distributions(struct transport *t, int page_size, struct cf_summary_list *out,
                                struct aws_error *aerr, cfdr_err *err);

/* ListTagsForResource for a distribution ARN. *out is overwritten. */
cfdr_code cf_list_tags(struct transport *t, const char *arn, struct cf_tag_list *out,
                       struct aws_error *aerr, cfdr_err *err);

/* The distributions tagged key=value: cf_list_distributions, then ListTagsForResource for each
 * (a distribution deleted in between is skipped). *out is overwritten; it may be empty. */
cfdr_code cf_find_distributions_by_tag(struct transport *t, const char *key, const char *value,
                                       struct cf_summary_list *out, struct aws_error *aerr,
                                       cfdr_err *err);

/* ---- monitoring subscriptions (additional metrics) ---- */

/* CreateMonitoringSubscription: RealtimeMetricsSubscriptionStatus Enabled (enabled != 0) or
 * Disabled for distribution id. One subscription per distribution; it is deleted with the
 * distribution. Where one exists already, AWS may answer CF_ERR_MONITORING_SUBSCRIPTION_EXISTS
 * (declared by the model): callers read it back with cf_get_monitoring_subscription. */
cfdr_code cf_set_monitoring_subscription(struct transport *t, const char *id, int enabled,
                                         struct aws_error *aerr, cfdr_err *err);

/* GetMonitoringSubscription: *enabled = 1 when the additional metrics are Enabled, 0 when the
 * subscription says Disabled (or says nothing). No subscription at all is CFDR_E_AWS with
 * CF_ERR_NO_SUCH_MONITORING_SUBSCRIPTION. Dry-run: *enabled = 0. */
cfdr_code cf_get_monitoring_subscription(struct transport *t, const char *id, int *enabled,
                                         struct aws_error *aerr, cfdr_err *err);

/* DeleteMonitoringSubscription; none to delete is CF_ERR_NO_SUCH_MONITORING_SUBSCRIPTION. */
cfdr_code cf_delete_monitoring_subscription(struct transport *t, const char *id,
                                            struct aws_error *aerr, cfdr_err *err);

#endif
