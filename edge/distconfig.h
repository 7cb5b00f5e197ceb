/*
 * distconfig: a CloudFront DistributionConfig (JSON, as the AWS CLI prints it) turned into the
 * local edge's struct edge_config.
 *
 * Accepted documents (parsed with json-c, strict JSON):
 *   {"ETag": "...", "DistributionConfig": {...}}          aws cloudfront get-distribution-config
 *   {"DistributionConfig": {...}, "Tags": {...}}          a DistributionConfigWithTags file
 *   {"DistributionConfigWithTags": {"DistributionConfig": {...}, "Tags": {...}}}
 *   {"ETag": "...", "Distribution": {..., "DistributionConfig": {...}}}   get-distribution
 *   {"CallerReference": ..., "Origins": ..., ...}         a bare DistributionConfig
 * Every error message starts with the JSON path of the offending field, from the document's
 * root ("DistributionConfig.OriginGroups.Items[0].FailoverCriteria.StatusCodes.Items[2]: 302 is
 * not allowed (allowed: ...)"; for a bare DistributionConfig the path starts at "Origins"...).
 *
 * What is read (everything else, such as cache policies or certificates, is ignored because the
 * local edge neither caches nor terminates TLS for CloudFront):
 *   Origins.Items[]: Id, DomainName, OriginPath, ConnectionAttempts, ConnectionTimeout, and
 *     CustomOriginConfig (HTTPPort, HTTPSPort, OriginProtocolPolicy are checked as CloudFront
 *     checks them; OriginReadTimeout becomes the response timeout) or S3OriginConfig (an origin
 *     with CloudFront's default response timeout).
 *   OriginGroups.Items[]: Id, FailoverCriteria.StatusCodes.Items, Members.Items[].OriginId
 *     (exactly two: primary then secondary).
 *   CacheBehaviors.Items[] (in order) then DefaultCacheBehavior (last): PathPattern,
 *     TargetOriginId, AllowedMethods (one of CloudFront's three sets; absent = GET, HEAD) and
 *     its CachedMethods.
 *   Every {Quantity, Items} list must have Quantity == the number of Items, as CloudFront
 *   requires (it answers InconsistentQuantities otherwise).
 *
 * The origin map: the edge never reaches the real DomainName. Each origin's DomainName must be
 * mapped (--origin-map DOMAIN=HOST:PORT) to a local address; the edge connects to
 * http://HOST:PORT[OriginPath] and sends the DomainName as Host, as CloudFront does with the
 * AllViewerExceptHostHeader origin request policy. An App Runner DomainName
 * (<id>.<region>.awsapprunner.com) or a regional S3 one (<bucket>.s3.<region>.amazonaws.com)
 * gives the origin its region label for metrics and logs.
 *
 * Ownership: no function allocates anything the caller must free; the map and the edge_config
 * are the caller's (an edge_config is large: allocate it on the heap).
 */
#ifndef CFDR_EDGE_DISTCONFIG_H
#define CFDR_EDGE_DISTCONFIG_H

#include <stddef.h>

#include "aws/err.h"
#include "edge/edge.h"

#define DISTCONFIG_MAP_MAX EDGE_MAX_ORIGINS
#define DISTCONFIG_DOMAIN_MAX 254 /* 253 characters and the NUL */

/* One --origin-map DOMAIN=HOST:PORT. host is kept as given ("127.0.0.1", "localhost",
 * "[::1]"). */
struct distconfig_map_entry {
    char domain[DISTCONFIG_DOMAIN_MAX];
    char host[DISTCONFIG_DOMAIN_MAX];
    int port;
};

struct distconfig_map {
    struct distconfig_map_entry entries[DISTCONFIG_MAP_MAX];
    size_t n;
};

/* Parses "DOMAIN=HOST:PORT" and appends it to m. CFDR_E_USAGE, naming the flag and showing an
 * example, when it is malformed, when the domain is mapped twice or when there are too many. */
cfdr_code distconfig_map_add(struct distconfig_map *m, const char *arg, cfdr_err *err);

/* Parses a document (len bytes, need not be NUL-terminated) into *out (overwritten), maps every
 * origin with m, and validates the result with edge_config_validate(). Errors: CFDR_E_PARSE
 * for text that is not JSON, CFDR_E_CONFIG for a document CloudFront would reject or the edge
 * cannot run, CFDR_E_USAGE for an origin that m does not map or a mapping no origin uses. */
cfdr_code distconfig_parse(const char *text, size_t len, const struct distconfig_map *m,
                           struct edge_config *out, cfdr_err *err);

/* distconfig_parse() on a file's contents (at most 16 MiB); errors are prefixed with the path. */
cfdr_code distconfig_load_file(const char *path, const struct distconfig_map *m,
                               struct edge_config *out, cfdr_err *err);

/* The region in an App Runner or regional S3 domain name, copied to out; 0 when there is none
 * (out is then ""). */
int distconfig_region_from_domain(const char *domain, char *out, size_t outsz);

#endif
