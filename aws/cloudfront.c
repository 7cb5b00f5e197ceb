/* cloudfront: see cloudfront.h. */
#include "aws/cloudfront.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "aws/creds.h"
#include "aws/xml.h"

#define CF_PATH "/" CF_API_VERSION "/distribution"

/* ---- small helpers ---- */

static void aerr_clear(struct aws_error *aerr)
{
    if (aerr)
        memset(aerr, 0, sizeof(*aerr));
}

/* Hands the transport's AWS or network error to the caller and passes rc on. */
static cfdr_code aerr_pass(struct aws_error *aerr, const struct aws_response *resp, cfdr_code rc)
{
    if (aerr && (rc == CFDR_E_AWS || rc == CFDR_E_NET))
        *aerr = resp->error;
    return rc;
}

/* Distribution ids go into URL paths: letters and digits only (AWS's are "E" + 13). */
static cfdr_code check_id(const char *id, cfdr_err *err)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n >= CF_ID_SIZE)
        return err_set(err, CFDR_E_USAGE, "'%.80s' is not a CloudFront distribution id",
                       id ? id : "");
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]))
            return err_set(err, CFDR_E_USAGE, "'%.80s' is not a CloudFront distribution id", id);
    return CFDR_OK;
}

/* ETags travel in If-Match: printable ASCII, no blanks. */
static cfdr_code check_etag(const char *etag, cfdr_err *err)
{
    size_t n = etag ? strlen(etag) : 0;
    if (n == 0)
        return err_set(err, CFDR_E_USAGE,
                       "a CloudFront update or delete needs the ETag of the last read "
                       "(If-Match), and none was given");
    if (n >= CF_ID_SIZE)
        return err_set(err, CFDR_E_USAGE, "the ETag '%.80s...' is too long", etag);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)etag[i] <= 0x20 || (unsigned char)etag[i] >= 0x7f)
            return err_set(err, CFDR_E_USAGE, "the ETag '%.80s' is not valid", etag);
    return CFDR_OK;
}

/* Percent-encodes s as a query value (RFC 3986 unreserved characters kept). */
static cfdr_code query_escape(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            CFDR_TRY(buf_addc(b, (char)*p));
        } else {
            CFDR_TRY(buf_addc(b, '%'));
            CFDR_TRY(buf_addc(b, hex[*p >> 4]));
            CFDR_TRY(buf_addc(b, hex[*p & 15]));
        }
    }
    return CFDR_OK;
}

static void request_init(struct aws_request *rq, const char *op, const char *method,
                         const char *path, const char *query)
{
    memset(rq, 0, sizeof(*rq));
    rq->service = AWS_SVC_CLOUDFRONT;
    rq->protocol = AWS_PROTO_REST_XML;
    rq->region = "us-east-1";
    rq->operation = op;
    rq->method = method;
    rq->path = path;
    rq->query = query;
}

/* ---- building the DistributionConfig ---- */

void cf_dist_spec_init(struct cf_dist_spec *s)
{
    memset(s, 0, sizeof(*s));
    s->enabled = 1;
    for (int i = 0; i < 2; i++) {
        s->origins[i].connection_attempts = 3;
        s->origins[i].connection_timeout_s = 10;
        s->origins[i].read_timeout_s = 30;
        s->origins[i].keepalive_timeout_s = 5;
    }
    s->price_class = "PriceClass_100";
    s->http_version = "http2and3";
    s->ipv6_enabled = 1;
}

static int empty(const char *s)
{
    return !s || !*s;
}

static cfdr_code spec_check(const struct cf_dist_spec *s, cfdr_err *err)
{
    if (empty(s->caller_reference))
        return err_set(err, CFDR_E_USAGE, "the distribution needs a caller reference");
    for (int i = 0; i < 2; i++)
        if (empty(s->origins[i].id) || empty(s->origins[i].domain_name))
            return err_set(err, CFDR_E_USAGE,
                           "the distribution's %s origin needs an id and a "
                           "domain name",
                           i == 0 ? "primary" : "secondary");
    if (strcmp(s->origins[0].id, s->origins[1].id) == 0)
        return err_set(err, CFDR_E_USAGE, "the two origins need distinct ids (both are '%s')",
                       s->origins[0].id);
    if (empty(s->group_id))
        return err_set(err, CFDR_E_USAGE, "the distribution's origin group needs an id");
    if (s->nfailover_codes < 1 || s->nfailover_codes > CF_MAX_FAILOVER_CODES)
        return err_set(err, CFDR_E_USAGE, "the origin group needs 1 to %d failover status codes",
                       CF_MAX_FAILOVER_CODES);
    if (empty(s->project))
        return err_set(err, CFDR_E_USAGE, "the distribution needs a project name for its %s tag",
                       CF_PROJECT_TAG);
    if (s->ntags > CF_MAX_TAGS - 1 || (s->ntags && !s->tags))
        return err_set(err, CFDR_E_USAGE, "a distribution takes at most %d tags", CF_MAX_TAGS);
    for (size_t i = 0; i < s->ntags; i++)
        if (empty(s->tags[i].key) || strcmp(s->tags[i].key, CF_PROJECT_TAG) == 0)
            return err_set(err, CFDR_E_USAGE, "tag %zu has no key or repeats %s", i + 1,
                           CF_PROJECT_TAG);
    return CFDR_OK;
}

static const char *bool_text(int v)
{
    return v ? "true" : "false";
}

/* <Name><Quantity>0</Quantity></Name> */
static cfdr_code w_empty_list(struct xml_writer *w, const char *name)
{
    CFDR_TRY(xml_writer_start(w, name));
    CFDR_TRY(xml_writer_elem(w, "Quantity", "0"));
    return xml_writer_end(w);
}

/* The members are written in the model's order (Origin shape). */
static cfdr_code w_origin(struct xml_writer *w, const struct cf_origin_spec *o)
{
    CFDR_TRY(xml_writer_start(w, "Origin"));
    CFDR_TRY(xml_writer_elem(w, "Id", o->id));
    CFDR_TRY(xml_writer_elem(w, "DomainName", o->domain_name));
    CFDR_TRY(xml_writer_elem(w, "OriginPath", ""));
    CFDR_TRY(w_empty_list(w, "CustomHeaders"));
    CFDR_TRY(xml_writer_start(w, "CustomOriginConfig"));
    CFDR_TRY(xml_writer_elem(w, "HTTPPort", "80"));
    CFDR_TRY(xml_writer_elem(w, "HTTPSPort", "443"));
    CFDR_TRY(xml_writer_elem(w, "OriginProtocolPolicy", "https-only"));
    CFDR_TRY(xml_writer_start(w, "OriginSslProtocols"));
    CFDR_TRY(xml_writer_elem(w, "Quantity", "1"));
    CFDR_TRY(xml_writer_start(w, "Items"));
    CFDR_TRY(xml_writer_elem(w, "SslProtocol", "TLSv1.2"));
    CFDR_TRY(xml_writer_end(w)); /* Items */
    CFDR_TRY(xml_writer_end(w)); /* OriginSslProtocols */
    CFDR_TRY(xml_writer_elemf(w, "OriginReadTimeout", "%d", o->read_timeout_s));
    CFDR_TRY(xml_writer_elemf(w, "OriginKeepaliveTimeout", "%d", o->keepalive_timeout_s));
    CFDR_TRY(xml_writer_end(w)); /* CustomOriginConfig */
    CFDR_TRY(xml_writer_elemf(w, "ConnectionAttempts", "%d", o->connection_attempts));
    CFDR_TRY(xml_writer_elemf(w, "ConnectionTimeout", "%d", o->connection_timeout_s));
    CFDR_TRY(xml_writer_start(w, "OriginShield"));
    CFDR_TRY(xml_writer_elem(w, "Enabled", "false"));
    CFDR_TRY(xml_writer_end(w)); /* OriginShield */
    return xml_writer_end(w);    /* Origin */
}

static cfdr_code w_origin_group(struct xml_writer *w, const struct cf_dist_spec *s)
{
    CFDR_TRY(xml_writer_start(w, "OriginGroups"));
    CFDR_TRY(xml_writer_elem(w, "Quantity", "1"));
    CFDR_TRY(xml_writer_start(w, "Items"));
    CFDR_TRY(xml_writer_start(w, "OriginGroup"));
    CFDR_TRY(xml_writer_elem(w, "Id", s->group_id));
    CFDR_TRY(xml_writer_start(w, "FailoverCriteria"));
    CFDR_TRY(xml_writer_start(w, "StatusCodes"));
    CFDR_TRY(xml_writer_elemf(w, "Quantity", "%zu", s->nfailover_codes));
    CFDR_TRY(xml_writer_start(w, "Items"));
    for (size_t i = 0; i < s->nfailover_codes; i++)
        CFDR_TRY(xml_writer_elemf(w, "StatusCode", "%d", s->failover_codes[i]));
    CFDR_TRY(xml_writer_end(w)); /* Items */
    CFDR_TRY(xml_writer_end(w)); /* StatusCodes */
    CFDR_TRY(xml_writer_end(w)); /* FailoverCriteria */
    CFDR_TRY(xml_writer_start(w, "Members"));
    CFDR_TRY(xml_writer_elem(w, "Quantity", "2"));
    CFDR_TRY(xml_writer_start(w, "Items"));
    for (int i = 0; i < 2; i++) {
        CFDR_TRY(xml_writer_start(w, "OriginGroupMember"));
        CFDR_TRY(xml_writer_elem(w, "OriginId", s->origins[i].id));
        CFDR_TRY(xml_writer_end(w));
    }
    CFDR_TRY(xml_writer_end(w)); /* Items */
    CFDR_TRY(xml_writer_end(w)); /* Members */
    CFDR_TRY(xml_writer_end(w)); /* OriginGroup */
    CFDR_TRY(xml_writer_end(w)); /* Items */
    return xml_writer_end(w);    /* OriginGroups */
}

static cfdr_code w_methods(struct xml_writer *w, const char *const *m, int n)
{
    CFDR_TRY(xml_writer_elemf(w, "Quantity", "%d", n));
    CFDR_TRY(xml_writer_start(w, "Items"));
    for (int i = 0; i < n; i++)
        CFDR_TRY(xml_writer_elem(w, "Method", m[i]));
    return xml_writer_end(w);
}

static cfdr_code w_default_behavior(struct xml_writer *w, const struct cf_dist_spec *s)
{
    static const char *const allowed[] = {"GET", "HEAD", "OPTIONS"};

    CFDR_TRY(xml_writer_start(w, "DefaultCacheBehavior"));
    CFDR_TRY(xml_writer_elem(w, "TargetOriginId", s->group_id));
    CFDR_TRY(xml_writer_elem(w, "ViewerProtocolPolicy", "redirect-to-https"));
    CFDR_TRY(xml_writer_start(w, "AllowedMethods"));
    CFDR_TRY(w_methods(w, allowed, 3));
    CFDR_TRY(xml_writer_start(w, "CachedMethods"));
    CFDR_TRY(w_methods(w, allowed, 2));
    CFDR_TRY(xml_writer_end(w)); /* CachedMethods */
    CFDR_TRY(xml_writer_end(w)); /* AllowedMethods */
    CFDR_TRY(xml_writer_elem(w, "Compress", "true"));
    CFDR_TRY(xml_writer_elem(w, "CachePolicyId", CF_CACHE_POLICY_CACHING_DISABLED));
    CFDR_TRY(xml_writer_elem(w, "OriginRequestPolicyId",
                             CF_ORIGIN_REQUEST_POLICY_ALL_VIEWER_EXCEPT_HOST));
    return xml_writer_end(w);
}

static cfdr_code w_tag(struct xml_writer *w, const char *key, const char *value)
{
    CFDR_TRY(xml_writer_start(w, "Tag"));
    CFDR_TRY(xml_writer_elem(w, "Key", key));
    CFDR_TRY(xml_writer_elem(w, "Value", value ? value : ""));
    return xml_writer_end(w);
}

/* DistributionConfig members in the model's order; what cfdr does not set is spelled out with
 * CloudFront's defaults, as get-distribution-config shows them. */
static cfdr_code w_config(struct xml_writer *w, const struct cf_dist_spec *s)
{
    CFDR_TRY(xml_writer_start(w, "DistributionConfig"));
    CFDR_TRY(xml_writer_elem(w, "CallerReference", s->caller_reference));
    CFDR_TRY(w_empty_list(w, "Aliases"));
    CFDR_TRY(xml_writer_elem(w, "DefaultRootObject", ""));
    CFDR_TRY(xml_writer_start(w, "Origins"));
    CFDR_TRY(xml_writer_elem(w, "Quantity", "2"));
    CFDR_TRY(xml_writer_start(w, "Items"));
    for (int i = 0; i < 2; i++)
        CFDR_TRY(w_origin(w, &s->origins[i]));
    CFDR_TRY(xml_writer_end(w)); /* Items */
    CFDR_TRY(xml_writer_end(w)); /* Origins */
    CFDR_TRY(w_origin_group(w, s));
    CFDR_TRY(w_default_behavior(w, s));
    CFDR_TRY(w_empty_list(w, "CacheBehaviors"));
    CFDR_TRY(w_empty_list(w, "CustomErrorResponses"));
    CFDR_TRY(xml_writer_elem(w, "Comment", s->comment ? s->comment : ""));
    CFDR_TRY(xml_writer_elem(w, "PriceClass",
                             empty(s->price_class) ? "PriceClass_100" : s->price_class));
    CFDR_TRY(xml_writer_elem(w, "Enabled", bool_text(s->enabled)));
    CFDR_TRY(xml_writer_start(w, "ViewerCertificate"));
    CFDR_TRY(xml_writer_elem(w, "CloudFrontDefaultCertificate", "true"));
    CFDR_TRY(xml_writer_elem(w, "MinimumProtocolVersion", "TLSv1"));
    CFDR_TRY(xml_writer_elem(w, "CertificateSource", "cloudfront"));
    CFDR_TRY(xml_writer_end(w)); /* ViewerCertificate */
    CFDR_TRY(xml_writer_start(w, "Restrictions"));
    CFDR_TRY(xml_writer_start(w, "GeoRestriction"));
    CFDR_TRY(xml_writer_elem(w, "RestrictionType", "none"));
    CFDR_TRY(xml_writer_elem(w, "Quantity", "0"));
    CFDR_TRY(xml_writer_end(w)); /* GeoRestriction */
    CFDR_TRY(xml_writer_end(w)); /* Restrictions */
    CFDR_TRY(
        xml_writer_elem(w, "HttpVersion", empty(s->http_version) ? "http2and3" : s->http_version));
    CFDR_TRY(xml_writer_elem(w, "IsIPV6Enabled", bool_text(s->ipv6_enabled)));
    return xml_writer_end(w); /* DistributionConfig */
}

cfdr_code cf_dist_spec_xml(const struct cf_dist_spec *s, struct buf *out, cfdr_err *err)
{
    struct xml_writer *w = NULL;
    cfdr_code rc;

    CFDR_TRY(spec_check(s, err));
    CFDR_TRY(xml_writer_new("DistributionConfigWithTags", CF_XMLNS, &w, err));
    /* the writer keeps its first failure; xml_writer_finish reports it with its message */
    if (w_config(w, s) == CFDR_OK && xml_writer_start(w, "Tags") == CFDR_OK &&
        xml_writer_start(w, "Items") == CFDR_OK && w_tag(w, CF_PROJECT_TAG, s->project) == CFDR_OK)
        for (size_t i = 0; i < s->ntags; i++)
            if (w_tag(w, s->tags[i].key, s->tags[i].value) != CFDR_OK)
                break;
    rc = xml_writer_finish(w, out, err);
    xml_writer_free(w);
    return rc;
}

/* ---- editing a DistributionConfig AWS sent ---- */

/* An edit of the root element of a DistributionConfig (libxml2's tree); sets err on failure. */
typedef cfdr_code (*config_edit_fn)(xmlDoc *doc, xmlNode *root, const void *ctx, cfdr_err *err);

/* Vets xml, applies edit, appends the edited document to out. Every other byte of meaning is
 * kept (namespace, unknown members, order). */
static cfdr_code edit_config(const char *xml, size_t len, config_edit_fn edit, const void *ctx,
                             struct buf *out, cfdr_err *err)
{
    struct xml_doc *vetted = NULL;
    const struct xml_node *vroot;
    xmlDoc *doc = NULL;
    xmlNode *root;
    xmlChar *dump = NULL;
    int dump_len = 0;
    cfdr_code rc;

    /* xml_parse refuses DOCTYPEs and oversize documents: only a vetted text reaches the tree
     * API below, which edits in place and so needs libxml2's own document */
    rc = xml_parse(xml, len, BUF_MAX_DOC, &vetted, err);
    if (rc)
        return err_wrap(err, "the DistributionConfig to update");
    vroot = xml_root(vetted);
    if (strcmp(xml_name(vroot), "DistributionConfig") != 0) {
        rc = err_set(err, CFDR_E_PARSE,
                     "the document to update is a <%.64s>, not a "
                     "<DistributionConfig>",
                     xml_name(vroot));
        goto out;
    }
    doc = xmlReadMemory(xml, (int)len, NULL, NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc || !(root = xmlDocGetRootElement(doc))) {
        rc = err_set(err, CFDR_E_NOMEM, "out of memory reading the DistributionConfig");
        goto out;
    }
    if ((rc = edit(doc, root, ctx, err)))
        goto out;
    xmlDocDumpMemoryEnc(doc, &dump, &dump_len, "UTF-8");
    if (!dump || dump_len <= 0) {
        rc = err_set(err, CFDR_E_NOMEM, "out of memory writing the DistributionConfig");
        goto out;
    }
    rc = buf_add(out, dump, (size_t)dump_len);
    if (rc)
        err_set(err, rc, "the edited DistributionConfig (%d bytes) does not fit", dump_len);
out:
    xmlFree(dump);
    xmlFreeDoc(doc);
    xml_doc_free(vetted);
    return rc;
}

/* The first element child of parent named name; NULL when none (or parent is NULL). */
static xmlNode *x_child(xmlNode *parent, const char *name)
{
    for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST name))
            return n;
    return NULL;
}

/* Replaces node's content with text. */
static cfdr_code x_set_text(xmlDoc *doc, xmlNode *node, const char *text, cfdr_err *err)
{
    xmlNode *t = xmlNewDocText(doc, BAD_CAST text);
    if (!t)
        return err_set(err, CFDR_E_NOMEM, "out of memory editing the DistributionConfig");
    while (node->children) {
        xmlNode *c = node->children;
        xmlUnlinkNode(c);
        xmlFreeNode(c);
    }
    if (!xmlAddChild(node, t)) {
        xmlFreeNode(t);
        return err_set(err, CFDR_E_NOMEM, "out of memory editing the DistributionConfig");
    }
    return CFDR_OK;
}

/* Sets parent/name's text; CFDR_E_PARSE naming what is missing when there is no such child. */
static cfdr_code x_set_child(xmlDoc *doc, xmlNode *parent, const char *name, const char *text,
                             cfdr_err *err)
{
    xmlNode *n = x_child(parent, name);
    if (!n)
        return err_set(err, CFDR_E_PARSE, "the DistributionConfig has no <%s> in <%s>", name,
                       parent ? (const char *)parent->name : "?");
    return x_set_text(doc, n, text, err);
}

/* The element of list/Items (e.g. Origins/Items/Origin) whose <Id> is id; NULL when none. */
static xmlNode *x_find_by_id(xmlNode *root, const char *list, const char *item, const char *id)
{
    for (xmlNode *n = x_child(x_child(x_child(root, list), "Items"), item); n; n = n->next) {
        xmlNode *idn;
        xmlChar *v;
        int same;
        if (n->type != XML_ELEMENT_NODE || !xmlStrEqual(n->name, BAD_CAST item) ||
            !(idn = x_child(n, "Id")))
            continue;
        v = xmlNodeGetContent(idn);
        same = v && strcmp((const char *)v, id) == 0;
        xmlFree(v);
        if (same)
            return n;
    }
    return NULL;
}

static cfdr_code edit_enabled(xmlDoc *doc, xmlNode *root, const void *ctx, cfdr_err *err)
{
    xmlNode *found = NULL;
    int nfound = 0;
    /* only the distribution's own switch: OriginShield, Logging... have <Enabled> too */
    for (xmlNode *node = root->children; node; node = node->next)
        if (node->type == XML_ELEMENT_NODE && xmlStrEqual(node->name, BAD_CAST "Enabled")) {
            found = node;
            nfound++;
        }
    if (nfound != 1)
        return err_set(err, CFDR_E_PARSE,
                       "the DistributionConfig has %d top-level <Enabled> "
                       "elements; expected exactly one",
                       nfound);
    return x_set_text(doc, found, bool_text(*(const int *)ctx), err);
}

cfdr_code cf_config_set_enabled(const char *xml, size_t len, int enabled, struct buf *out,
                                cfdr_err *err)
{
    return edit_config(xml, len, edit_enabled, &enabled, out, err);
}

static cfdr_code edit_spec(xmlDoc *doc, xmlNode *root, const void *ctx, cfdr_err *err)
{
    const struct cf_dist_spec *s = ctx;
    xmlNode *g, *codes, *items;
    char v[32];

    for (int i = 0; i < 2; i++) {
        const struct cf_origin_spec *o = &s->origins[i];
        xmlNode *n = x_find_by_id(root, "Origins", "Origin", o->id);
        if (!n)
            return err_set(err, CFDR_E_PARSE, "the DistributionConfig has no origin %.100s", o->id);
        CFDR_TRY(x_set_child(doc, n, "DomainName", o->domain_name, err));
        snprintf(v, sizeof(v), "%d", o->connection_attempts);
        CFDR_TRY(x_set_child(doc, n, "ConnectionAttempts", v, err));
        snprintf(v, sizeof(v), "%d", o->connection_timeout_s);
        CFDR_TRY(x_set_child(doc, n, "ConnectionTimeout", v, err));
        snprintf(v, sizeof(v), "%d", o->read_timeout_s);
        CFDR_TRY(x_set_child(doc, x_child(n, "CustomOriginConfig"), "OriginReadTimeout", v, err));
    }
    g = x_find_by_id(root, "OriginGroups", "OriginGroup", s->group_id);
    codes = x_child(x_child(g, "FailoverCriteria"), "StatusCodes");
    if (!codes || !(items = x_child(codes, "Items")))
        return err_set(err, CFDR_E_PARSE,
                       "the DistributionConfig has no origin group %.100s with failover "
                       "status codes",
                       s->group_id);
    snprintf(v, sizeof(v), "%zu", s->nfailover_codes);
    CFDR_TRY(x_set_child(doc, codes, "Quantity", v, err));
    while (items->children) {
        xmlNode *c = items->children;
        xmlUnlinkNode(c);
        xmlFreeNode(c);
    }
    for (size_t i = 0; i < s->nfailover_codes; i++) {
        snprintf(v, sizeof(v), "%d", s->failover_codes[i]);
        if (!xmlNewTextChild(items, items->ns, BAD_CAST "StatusCode", BAD_CAST v))
            return err_set(err, CFDR_E_NOMEM, "out of memory editing the DistributionConfig");
    }
    return CFDR_OK;
}

cfdr_code cf_config_apply_spec(const char *xml, size_t len, const struct cf_dist_spec *spec,
                               struct buf *out, cfdr_err *err)
{
    if (!spec->group_id || !spec->origins[0].id || !spec->origins[1].id ||
        !spec->origins[0].domain_name || !spec->origins[1].domain_name ||
        spec->nfailover_codes == 0 || spec->nfailover_codes > CF_MAX_FAILOVER_CODES)
        return err_set(err, CFDR_E_USAGE,
                       "cf_config_apply_spec needs both origins, the group id and 1 to %d "
                       "failover codes",
                       CF_MAX_FAILOVER_CODES);
    return edit_config(xml, len, edit_spec, spec, out, err);
}

static const struct cf_origin *have_origin(const struct cf_config *c, const char *id)
{
    for (size_t i = 0; i < c->norigins; i++)
        if (strcmp(c->origins[i].id, id) == 0)
            return &c->origins[i];
    return NULL;
}

static int has_code(const int *codes, size_t n, int code)
{
    for (size_t i = 0; i < n; i++)
        if (codes[i] == code)
            return 1;
    return 0;
}

/* "403,404,500" */
static void codes_text(const int *codes, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%d", i ? "," : "", codes[i]);
}

cfdr_code cf_config_diff(const struct cf_config *have, const struct cf_dist_spec *want,
                         struct buf *out, size_t *ndiff, int *updatable, cfdr_err *err)
{
    const struct cf_origin_group *g = NULL;
    cfdr_code rc = CFDR_OK;

    *ndiff = 0;
    *updatable = 1;
#define DIFF(structural, ...)                                                                      \
    do {                                                                                           \
        (*ndiff)++;                                                                                \
        if (structural)                                                                            \
            *updatable = 0;                                                                        \
        if (!rc)                                                                                   \
            rc = buf_addf(out, __VA_ARGS__);                                                       \
    } while (0)
    for (int i = 0; i < 2; i++) {
        const struct cf_origin_spec *o = &want->origins[i];
        const struct cf_origin *h = have_origin(have, o->id);
        if (!h) {
            DIFF(1,
                 "  origin %s: missing (the distribution's origins are not the ones cfdr.json "
                 "describes)\n",
                 o->id);
            continue;
        }
        if (strcmp(h->domain_name, o->domain_name) != 0)
            DIFF(0, "  origin %s: domain %s, cfdr.json's service is %s\n", o->id, h->domain_name,
                 o->domain_name);
        if (h->connection_attempts != o->connection_attempts)
            DIFF(0, "  origin %s: connection attempts %d, cfdr.json says %d\n", o->id,
                 h->connection_attempts, o->connection_attempts);
        if (h->connection_timeout_s != o->connection_timeout_s)
            DIFF(0, "  origin %s: connection timeout %d s, cfdr.json says %d s\n", o->id,
                 h->connection_timeout_s, o->connection_timeout_s);
        if (h->read_timeout_s != o->read_timeout_s)
            DIFF(0, "  origin %s: response timeout %d s, cfdr.json says %d s\n", o->id,
                 h->read_timeout_s, o->read_timeout_s);
    }
    for (size_t i = 0; i < have->ngroups; i++)
        if (strcmp(have->groups[i].id, want->group_id) == 0)
            g = &have->groups[i];
    if (!g) {
        DIFF(1, "  origin group %s: missing\n", want->group_id);
    } else {
        int same = g->nfailover_codes == want->nfailover_codes;
        char a[96], b[96];
        for (size_t i = 0; same && i < want->nfailover_codes; i++)
            same = has_code(g->failover_codes, g->nfailover_codes, want->failover_codes[i]);
        if (!same) {
            codes_text(g->failover_codes, g->nfailover_codes, a, sizeof(a));
            codes_text(want->failover_codes, want->nfailover_codes, b, sizeof(b));
            DIFF(0, "  origin group %s: failover status codes %s, cfdr.json says %s\n", g->id, a,
                 b);
        }
        if (g->nmembers != 2 || strcmp(g->members[0], want->origins[0].id) != 0 ||
            strcmp(g->members[1], want->origins[1].id) != 0)
            DIFF(1, "  origin group %s: members are not %s (primary) then %s\n", g->id,
                 want->origins[0].id, want->origins[1].id);
    }
#undef DIFF
    if (rc)
        return err_set(err, rc, "the list of differences does not fit");
    return CFDR_OK;
}

/* ---- reading answers ---- */

/* Copies the text of parent/name into dst. Missing: "" when optional, else an error. */
static cfdr_code get_text(const struct xml_node *parent, const char *name, char *dst, size_t size,
                          int required, cfdr_err *err)
{
    const struct xml_node *n = xml_child(parent, name);
    if (!n) {
        dst[0] = '\0';
        if (!required)
            return CFDR_OK;
        return err_set(err, CFDR_E_PARSE, "<%s> has no <%s>", xml_name(parent), name);
    }
    if (!xml_text_copy(n, dst, size))
        return err_set(err, CFDR_E_PARSE, "<%s> in <%s> is longer than %zu bytes", name,
                       xml_name(parent), size - 1);
    return CFDR_OK;
}

static cfdr_code get_int(const struct xml_node *parent, const char *name, int *out, int required,
                         cfdr_err *err)
{
    char s[32], *end;
    long v;

    *out = 0;
    CFDR_TRY(get_text(parent, name, s, sizeof(s), required, err));
    if (!s[0] && !required && !xml_child(parent, name))
        return CFDR_OK;
    errno = 0;
    v = strtol(s, &end, 10);
    if (!s[0] || *end || errno || v < INT_MIN || v > INT_MAX)
        return err_set(err, CFDR_E_PARSE, "<%s> in <%s> is not an integer: '%.31s'", name,
                       xml_name(parent), s);
    *out = (int)v;
    return CFDR_OK;
}

static cfdr_code get_bool(const struct xml_node *parent, const char *name, int *out, int required,
                          cfdr_err *err)
{
    char s[16];

    *out = 0;
    CFDR_TRY(get_text(parent, name, s, sizeof(s), required, err));
    if (!s[0] && !required && !xml_child(parent, name))
        return CFDR_OK;
    if (strcmp(s, "true") == 0)
        *out = 1;
    else if (strcmp(s, "false") != 0)
        return err_set(err, CFDR_E_PARSE, "<%s> in <%s> is not true or false: '%.15s'", name,
                       xml_name(parent), s);
    return CFDR_OK;
}

/* The list under parent/name/Items and the count Quantity announces, checked to agree. */
static cfdr_code get_items(const struct xml_node *parent, const char *name, const char *member,
                           const struct xml_node **items, size_t *count, cfdr_err *err)
{
    const struct xml_node *list = xml_child(parent, name);
    int q;

    *items = NULL;
    *count = 0;
    if (!list)
        return CFDR_OK;
    CFDR_TRY(get_int(list, "Quantity", &q, 1, err));
    *items = xml_child(list, "Items");
    *count = xml_count(*items, member);
    if (q < 0 || (size_t)q != *count)
        return err_set(err, CFDR_E_PARSE, "<%s> says Quantity %d but lists %zu <%s>", name, q,
                       *count, member);
    return CFDR_OK;
}

static cfdr_code parse_origin(const struct xml_node *n, struct cf_origin *o, cfdr_err *err)
{
    const struct xml_node *custom = xml_child(n, "CustomOriginConfig"), *ssl, *p;
    size_t nssl;

    CFDR_TRY(get_text(n, "Id", o->id, sizeof(o->id), 1, err));
    CFDR_TRY(get_text(n, "DomainName", o->domain_name, sizeof(o->domain_name), 1, err));
    CFDR_TRY(get_int(n, "ConnectionAttempts", &o->connection_attempts, 0, err));
    CFDR_TRY(get_int(n, "ConnectionTimeout", &o->connection_timeout_s, 0, err));
    if (!custom)
        return CFDR_OK;
    CFDR_TRY(get_text(custom, "OriginProtocolPolicy", o->protocol_policy,
                      sizeof(o->protocol_policy), 1, err));
    CFDR_TRY(get_int(custom, "OriginReadTimeout", &o->read_timeout_s, 0, err));
    CFDR_TRY(get_int(custom, "OriginKeepaliveTimeout", &o->keepalive_timeout_s, 0, err));
    CFDR_TRY(get_items(custom, "OriginSslProtocols", "SslProtocol", &ssl, &nssl, err));
    for (p = xml_child(ssl, "SslProtocol"); p; p = xml_next(p, "SslProtocol")) {
        char one[CF_WORD_SIZE];
        size_t used = strlen(o->ssl_protocols);
        if (!xml_text_copy(p, one, sizeof(one)) ||
            used + strlen(one) + 2 > sizeof(o->ssl_protocols))
            return err_set(err, CFDR_E_PARSE, "<OriginSslProtocols> of origin '%s' is too long",
                           o->id);
        snprintf(o->ssl_protocols + used, sizeof(o->ssl_protocols) - used, "%s%s", used ? "," : "",
                 one);
    }
    return CFDR_OK;
}

static cfdr_code parse_group(const struct xml_node *n, struct cf_origin_group *g, cfdr_err *err)
{
    const struct xml_node *items, *p;
    size_t count;

    CFDR_TRY(get_text(n, "Id", g->id, sizeof(g->id), 1, err));
    CFDR_TRY(get_items(xml_child(n, "FailoverCriteria"), "StatusCodes", "StatusCode", &items,
                       &count, err));
    if (count > CF_MAX_FAILOVER_CODES)
        return err_set(err, CFDR_E_PARSE, "origin group '%s' has %zu failover codes (at most %d)",
                       g->id, count, CF_MAX_FAILOVER_CODES);
    for (p = xml_child(items, "StatusCode"); p; p = xml_next(p, "StatusCode")) {
        char s[16], *end;
        long v;
        xml_text_copy(p, s, sizeof(s));
        v = strtol(s, &end, 10);
        if (!s[0] || *end || v < 100 || v > 599)
            return err_set(err, CFDR_E_PARSE, "origin group '%s' has a failover code '%.15s'",
                           g->id, s);
        g->failover_codes[g->nfailover_codes++] = (int)v;
    }
    CFDR_TRY(get_items(n, "Members", "OriginGroupMember", &items, &count, err));
    if (count > 2)
        return err_set(err, CFDR_E_PARSE, "origin group '%s' has %zu members (at most 2)", g->id,
                       count);
    for (p = xml_child(items, "OriginGroupMember"); p; p = xml_next(p, "OriginGroupMember"))
        CFDR_TRY(get_text(p, "OriginId", g->members[g->nmembers++], CF_NAME_SIZE, 1, err));
    return CFDR_OK;
}

/* Fills c (zeroed by the caller) from a <DistributionConfig> element. */
static cfdr_code parse_config(const struct xml_node *n, struct cf_config *c, cfdr_err *err)
{
    const struct xml_node *items, *p, *dcb;
    size_t count, i;

    CFDR_TRY(
        get_text(n, "CallerReference", c->caller_reference, sizeof(c->caller_reference), 1, err));
    CFDR_TRY(get_text(n, "Comment", c->comment, sizeof(c->comment), 0, err));
    CFDR_TRY(get_bool(n, "Enabled", &c->enabled, 1, err));
    CFDR_TRY(get_text(n, "PriceClass", c->price_class, sizeof(c->price_class), 0, err));
    CFDR_TRY(get_text(n, "HttpVersion", c->http_version, sizeof(c->http_version), 0, err));
    CFDR_TRY(get_bool(n, "IsIPV6Enabled", &c->ipv6_enabled, 0, err));

    CFDR_TRY(get_items(n, "Origins", "Origin", &items, &count, err));
    if (count) {
        c->origins = calloc(count, sizeof(*c->origins));
        if (!c->origins)
            return err_set(err, CFDR_E_NOMEM, "out of memory");
        c->norigins = count;
    }
    for (i = 0, p = xml_child(items, "Origin"); p; p = xml_next(p, "Origin"), i++)
        CFDR_TRY(parse_origin(p, &c->origins[i], err));

    CFDR_TRY(get_items(n, "OriginGroups", "OriginGroup", &items, &count, err));
    if (count) {
        c->groups = calloc(count, sizeof(*c->groups));
        if (!c->groups)
            return err_set(err, CFDR_E_NOMEM, "out of memory");
        c->ngroups = count;
    }
    for (i = 0, p = xml_child(items, "OriginGroup"); p; p = xml_next(p, "OriginGroup"), i++)
        CFDR_TRY(parse_group(p, &c->groups[i], err));

    dcb = xml_child(n, "DefaultCacheBehavior");
    if (!dcb)
        return err_set(err, CFDR_E_PARSE, "<DistributionConfig> has no <DefaultCacheBehavior>");
    CFDR_TRY(
        get_text(dcb, "TargetOriginId", c->target_origin_id, sizeof(c->target_origin_id), 1, err));
    CFDR_TRY(get_text(dcb, "ViewerProtocolPolicy", c->viewer_protocol_policy,
                      sizeof(c->viewer_protocol_policy), 0, err));
    CFDR_TRY(
        get_text(dcb, "CachePolicyId", c->cache_policy_id, sizeof(c->cache_policy_id), 0, err));
    return get_text(dcb, "OriginRequestPolicyId", c->origin_request_policy_id,
                    sizeof(c->origin_request_policy_id), 0, err);
}

static cfdr_code parse_time(const char *s, time_t *out, cfdr_err *err)
{
    if (creds_parse_time(s, out) != CFDR_OK)
        return err_set(err, CFDR_E_PARSE, "LastModifiedTime '%.40s' is not an ISO 8601 time", s);
    return CFDR_OK;
}

/* Parses a body whose root must be `root`; the caller frees *doc. */
static cfdr_code parse_body(const struct aws_response *resp, const char *root, struct xml_doc **doc,
                            cfdr_err *err)
{
    CFDR_TRY(xml_parse(buf_str(&resp->body), buf_len(&resp->body), BUF_MAX_DOC, doc, err));
    if (strcmp(xml_name(xml_root(*doc)), root) != 0)
        return err_set(err, CFDR_E_PARSE, "the answer is a <%.64s>, not a <%s>",
                       xml_name(xml_root(*doc)), root);
    return CFDR_OK;
}

static cfdr_code copy_etag(const struct aws_response *resp, char *dst, cfdr_err *err)
{
    const char *etag = aws_response_header(resp, "ETag");
    if (!etag || !*etag)
        return err_set(err, CFDR_E_PARSE, "the answer has no ETag header");
    if (strlen(etag) >= CF_ID_SIZE)
        return err_set(err, CFDR_E_PARSE, "the answer's ETag header is too long");
    snprintf(dst, CF_ID_SIZE, "%s", etag);
    return CFDR_OK;
}

/* A <Distribution> answer (create, get, update) with its ETag header. */
static cfdr_code parse_distribution(const struct aws_response *resp, struct cf_distribution *d,
                                    cfdr_err *err)
{
    struct xml_doc *doc = NULL;
    const struct xml_node *n, *cfg;
    cfdr_code rc;

    rc = parse_body(resp, "Distribution", &doc, err);
    if (rc)
        goto out;
    n = xml_root(doc);
    if ((rc = get_text(n, "Id", d->id, sizeof(d->id), 1, err)) ||
        (rc = get_text(n, "ARN", d->arn, sizeof(d->arn), 1, err)) ||
        (rc = get_text(n, "Status", d->status, sizeof(d->status), 1, err)) ||
        (rc = get_text(n, "DomainName", d->domain_name, sizeof(d->domain_name), 1, err)) ||
        (rc =
             get_text(n, "LastModifiedTime", d->last_modified, sizeof(d->last_modified), 1, err)) ||
        (rc = parse_time(d->last_modified, &d->last_modified_time, err)) ||
        (rc = copy_etag(resp, d->etag, err)))
        goto out;
    cfg = xml_child(n, "DistributionConfig");
    if (!cfg) {
        rc = err_set(err, CFDR_E_PARSE, "<Distribution> has no <DistributionConfig>");
        goto out;
    }
    rc = parse_config(cfg, &d->config, err);
out:
    xml_doc_free(doc);
    return rc;
}

/* ---- freeing ---- */

void cf_config_free(struct cf_config *c)
{
    if (!c)
        return;
    free(c->origins);
    free(c->groups);
    memset(c, 0, sizeof(*c));
}

void cf_distribution_free(struct cf_distribution *d)
{
    if (!d)
        return;
    cf_config_free(&d->config);
    memset(d, 0, sizeof(*d));
}

void cf_config_doc_free(struct cf_config_doc *d)
{
    if (!d)
        return;
    cf_config_free(&d->config);
    buf_free(&d->xml);
    memset(d, 0, sizeof(*d));
}

void cf_summary_list_free(struct cf_summary_list *l)
{
    if (!l)
        return;
    free(l->items);
    memset(l, 0, sizeof(*l));
}

void cf_tag_list_free(struct cf_tag_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free((char *)l->items[i].key);
        free((char *)l->items[i].value);
    }
    free(l->items);
    memset(l, 0, sizeof(*l));
}

const char *cf_tag_list_get(const struct cf_tag_list *l, const char *key)
{
    for (size_t i = 0; l && i < l->n; i++)
        if (strcmp(l->items[i].key, key) == 0)
            return l->items[i].value;
    return NULL;
}

/* ---- the calls ---- */

/* Wraps a parse failure of operation op's answer. */
static cfdr_code bad_answer(cfdr_err *err, const char *op)
{
    return err_wrap(err, "CloudFront %s: unexpected answer", op);
}

/* Sends rq and reads its <Distribution> answer (with the ETag) into out, which must be zeroed;
 * on failure, or in a dry run, out stays empty. */
static cfdr_code distribution_call(struct transport *t, const struct aws_request *rq,
                                   struct cf_distribution *out, struct aws_error *aerr,
                                   cfdr_err *err)
{
    struct aws_response resp;
    cfdr_code rc;

    aws_response_init(&resp);
    rc = aerr_pass(aerr, &resp, transport_call(t, rq, &resp, err));
    if (!rc && !resp.dry_run && (rc = parse_distribution(&resp, out, err)))
        bad_answer(err, rq->operation);
    if (rc)
        cf_distribution_free(out);
    aws_response_free(&resp);
    return rc;
}

/* Adds the If-Match header (h is the caller's one-element array) to rq. */
static void set_if_match(struct aws_request *rq, struct aws_header h[1], const char *if_match)
{
    h[0].name = (char *)"If-Match";
    h[0].value = (char *)if_match;
    rq->headers = h;
    rq->nheaders = 1;
}

cfdr_code cf_create_distribution(struct transport *t, const struct cf_dist_spec *spec,
                                 struct cf_distribution *out, struct aws_error *aerr, cfdr_err *err)
{
    struct aws_request rq;
    struct buf body;
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    aerr_clear(aerr);
    buf_init(&body, BUF_MAX_DOC);
    rc = cf_dist_spec_xml(spec, &body, err);
    if (rc) {
        err_wrap(err, "CloudFront CreateDistributionWithTags");
    } else {
        request_init(&rq, "CreateDistributionWithTags", "POST", CF_PATH, "WithTags");
        rq.body = buf_str(&body);
        rq.body_len = buf_len(&body);
        rc = distribution_call(t, &rq, out, aerr, err);
    }
    buf_free(&body);
    return rc;
}

/* GET or DELETE on /2020-05-31/distribution/<id><suffix>. */
static cfdr_code id_path(struct buf *path, const char *id, const char *suffix, cfdr_err *err)
{
    CFDR_TRY(check_id(id, err));
    if (buf_addf(path, "%s/%s%s", CF_PATH, id, suffix))
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    return CFDR_OK;
}

cfdr_code cf_get_distribution(struct transport *t, const char *id, struct cf_distribution *out,
                              struct aws_error *aerr, cfdr_err *err)
{
    struct aws_request rq;
    struct buf path;
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    aerr_clear(aerr);
    buf_init(&path, BUF_MAX_SMALL);
    rc = id_path(&path, id, "", err);
    if (!rc) {
        request_init(&rq, "GetDistribution", "GET", buf_str(&path), NULL);
        rc = distribution_call(t, &rq, out, aerr, err);
    }
    buf_free(&path);
    return rc;
}

cfdr_code cf_get_distribution_config(struct transport *t, const char *id, struct cf_config_doc *out,
                                     struct aws_error *aerr, cfdr_err *err)
{
    struct aws_request rq;
    struct aws_response resp;
    struct xml_doc *doc = NULL;
    struct buf path;
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    buf_init(&out->xml, BUF_MAX_DOC);
    aerr_clear(aerr);
    aws_response_init(&resp);
    buf_init(&path, BUF_MAX_SMALL);
    rc = id_path(&path, id, "/config", err);
    if (rc)
        goto out;
    request_init(&rq, "GetDistributionConfig", "GET", buf_str(&path), NULL);
    rc = aerr_pass(aerr, &resp, transport_call(t, &rq, &resp, err));
    if (rc || resp.dry_run)
        goto out;
    if ((rc = parse_body(&resp, "DistributionConfig", &doc, err)) ||
        (rc = parse_config(xml_root(doc), &out->config, err)) ||
        (rc = copy_etag(&resp, out->etag, err))) {
        bad_answer(err, rq.operation);
        goto out;
    }
    /* the answer's own buffer becomes the document: no copy of a large config */
    buf_free(&out->xml);
    out->xml = resp.body;
    buf_init(&resp.body, BUF_MAX_DOC);
out:
    if (rc)
        cf_config_doc_free(out);
    xml_doc_free(doc);
    buf_free(&path);
    aws_response_free(&resp);
    return rc;
}

cfdr_code cf_update_distribution(struct transport *t, const char *id, const char *if_match,
                                 const char *config_xml, size_t len, struct cf_distribution *out,
                                 struct aws_error *aerr, cfdr_err *err)
{
    struct aws_request rq;
    struct aws_header h[1];
    struct buf path;
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    aerr_clear(aerr);
    buf_init(&path, BUF_MAX_SMALL);
    if ((rc = id_path(&path, id, "/config", err)) || (rc = check_etag(if_match, err)))
        goto out;
    if (!config_xml || !len) {
        rc = err_set(err, CFDR_E_USAGE, "CloudFront UpdateDistribution needs a DistributionConfig");
        goto out;
    }
    request_init(&rq, "UpdateDistribution", "PUT", buf_str(&path), NULL);
    set_if_match(&rq, h, if_match);
    rq.body = config_xml;
    rq.body_len = len;
    rc = distribution_call(t, &rq, out, aerr, err);
out:
    buf_free(&path);
    return rc;
}

cfdr_code cf_disable_distribution(struct transport *t, const char *id, struct cf_distribution *out,
                                  struct aws_error *aerr, cfdr_err *err)
{
    struct cf_config_doc cfg;
    struct buf body;
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    buf_init(&body, BUF_MAX_DOC);
    rc = cf_get_distribution_config(t, id, &cfg, aerr, err);
    if (rc)
        goto out;
    if (buf_len(&cfg.xml) == 0) /* dry run: nothing to edit */
        goto out;
    if (!cfg.config.enabled) {
        rc = cf_get_distribution(t, id, out, aerr, err);
        goto out;
    }
    rc = cf_config_set_enabled(buf_str(&cfg.xml), buf_len(&cfg.xml), 0, &body, err);
    if (rc) {
        err_wrap(err, "disabling CloudFront distribution %s", id);
        goto out;
    }
    rc = cf_update_distribution(t, id, cfg.etag, buf_str(&body), buf_len(&body), out, aerr, err);
out:
    cf_config_doc_free(&cfg);
    buf_free(&body);
    return rc;
}

cfdr_code cf_delete_distribution(struct transport *t, const char *id, const char *if_match,
                                 struct aws_error *aerr, cfdr_err *err)
{
    struct aws_request rq;
    struct aws_response resp;
    struct aws_header h[1];
    struct buf path;
    cfdr_code rc;

    aerr_clear(aerr);
    aws_response_init(&resp);
    buf_init(&path, BUF_MAX_SMALL);
    if ((rc = id_path(&path, id, "", err)) || (rc = check_etag(if_match, err)))
        goto out;
    request_init(&rq, "DeleteDistribution", "DELETE", buf_str(&path), NULL);
    set_if_match(&rq, h, if_match);
    rc = aerr_pass(aerr, &resp, transport_call(t, &rq, &resp, err));
out:
    buf_free(&path);
    aws_response_free(&resp);
    return rc;
}

static cfdr_code parse_summary(const struct xml_node *n, struct cf_summary *s, cfdr_err *err)
{
    CFDR_TRY(get_text(n, "Id", s->id, sizeof(s->id), 1, err));
    CFDR_TRY(get_text(n, "ARN", s->arn, sizeof(s->arn), 1, err));
    CFDR_TRY(get_text(n, "DomainName", s->domain_name, sizeof(s->domain_name), 1, err));
    CFDR_TRY(get_text(n, "Status", s->status, sizeof(s->status), 1, err));
    CFDR_TRY(get_bool(n, "Enabled", &s->enabled, 1, err));
    CFDR_TRY(get_text(n, "Comment", s->comment, sizeof(s->comment), 0, err));
    return get_text(n, "LastModifiedTime", s->last_modified, sizeof(s->last_modified), 0, err);
}

/* Appends the summaries of a <DistributionList> to out; next gets NextMarker or "". */
static cfdr_code parse_list(const struct xml_node *list, struct cf_summary_list *out, char *next,
                            cfdr_err *err)
{
    const struct xml_node *items, *p;
    struct cf_summary *grown;
    size_t count;
    int truncated;

    CFDR_TRY(get_bool(list, "IsTruncated", &truncated, 1, err));
    CFDR_TRY(get_text(list, "NextMarker", next, CF_ID_SIZE, 0, err));
    if (truncated && !next[0])
        return err_set(err, CFDR_E_PARSE, "<DistributionList> is truncated without a NextMarker");
    if (!truncated)
        next[0] = '\0';
    CFDR_TRY(get_int(list, "Quantity", &(int){0}, 1, err));
    items = xml_child(list, "Items");
    count = xml_count(items, "DistributionSummary");
    if (!count)
        return CFDR_OK;
    if (count > SIZE_MAX / sizeof(*grown) - out->n)
        return err_set(err, CFDR_E_TOOBIG, "too many distributions");
    grown = realloc(out->items, (out->n + count) * sizeof(*grown));
    if (!grown)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    out->items = grown;
    memset(out->items + out->n, 0, count * sizeof(*grown));
    for (p = xml_child(items, "DistributionSummary"); p; p = xml_next(p, "DistributionSummary")) {
        CFDR_TRY(parse_summary(p, &out->items[out->n], err));
        out->n++;
    }
    return CFDR_OK;
}

cfdr_code cf_list_distributions_page(struct transport *t, const char *marker, int max_items,
                                     struct cf_summary_list *out, char next_marker[CF_ID_SIZE],
                                     struct aws_error *aerr, cfdr_err *err)
{
    struct aws_request rq;
    struct aws_response resp;
    struct xml_doc *doc = NULL;
    struct buf query;
    size_t n0 = out->n;
    char next[CF_ID_SIZE] = "";
    cfdr_code rc;

    aerr_clear(aerr);
    aws_response_init(&resp);
    buf_init(&query, BUF_MAX_SMALL);
    if (max_items < 0 || max_items > 1000) {
        rc = err_set(err, CFDR_E_USAGE, "ListDistributions takes 1 to 1000 items per page");
        goto out;
    }
    if (marker && *marker && (rc = check_id(marker, err)))
        goto out;
    rc = (marker && *marker) ? buf_addf(&query, "Marker=%s&", marker) : CFDR_OK;
    if (!rc)
        rc = buf_addf(&query, "MaxItems=%d", max_items ? max_items : CF_LIST_DEFAULT_PAGE);
    if (rc) {
        err_set(err, rc, "out of memory");
        goto out;
    }
    request_init(&rq, "ListDistributions", "GET", CF_PATH, buf_str(&query));
    rc = aerr_pass(aerr, &resp, transport_call(t, &rq, &resp, err));
    if (rc)
        goto out;
    if (resp.dry_run) {
        next_marker[0] = '\0';
        goto out;
    }
    if ((rc = parse_body(&resp, "DistributionList", &doc, err)) ||
        (rc = parse_list(xml_root(doc), out, next, err))) {
        out->n = n0; /* none of a page that did not parse */
        bad_answer(err, rq.operation);
        goto out;
    }
    /* marker may be next_marker itself: it is written last, and only on success */
    memcpy(next_marker, next, CF_ID_SIZE);
out:
    xml_doc_free(doc);
    buf_free(&query);
    aws_response_free(&resp);
    return rc;
}

cfdr_code cf_list_distributions(struct transport *t, int page_size, struct cf_summary_list *out,
                                struct aws_error *aerr, cfdr_err *err)
{
    char marker[CF_ID_SIZE] = "", next[CF_ID_SIZE];
    cfdr_code rc = CFDR_OK;
    int pages;

    memset(out, 0, sizeof(*out));
    for (pages = 0; pages < CF_LIST_MAX_PAGES; pages++) {
        rc = cf_list_distributions_page(t, marker, page_size, out, next, aerr, err);
        if (rc || !next[0])
            break;
        if (strcmp(next, marker) == 0) {
            rc = err_set(err, CFDR_E_PARSE,
                         "CloudFront ListDistributions: the marker '%s' does "
                         "not advance",
                         next);
            break;
        }
        snprintf(marker, sizeof(marker), "%s", next);
    }
    if (!rc && pages == CF_LIST_MAX_PAGES)
        rc = err_set(err, CFDR_E_TOOBIG, "CloudFront ListDistributions: more than %d pages",
                     CF_LIST_MAX_PAGES);
    if (rc)
        cf_summary_list_free(out);
    return rc;
}

static cfdr_code parse_tags(const struct xml_node *root, struct cf_tag_list *out, cfdr_err *err)
{
    const struct xml_node *items = xml_child(root, "Items"), *p;
    size_t count = xml_count(items, "Tag");
    char key[256], value[512];

    if (!count)
        return CFDR_OK;
    out->items = calloc(count, sizeof(*out->items));
    if (!out->items)
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    for (p = xml_child(items, "Tag"); p; p = xml_next(p, "Tag")) {
        struct cf_tag *tag = &out->items[out->n];
        CFDR_TRY(get_text(p, "Key", key, sizeof(key), 1, err));
        CFDR_TRY(get_text(p, "Value", value, sizeof(value), 0, err));
        tag->key = strdup(key);
        tag->value = strdup(value);
        out->n++; /* counted before the check so that _free releases a half-made tag */
        if (!tag->key || !tag->value)
            return err_set(err, CFDR_E_NOMEM, "out of memory");
    }
    return CFDR_OK;
}

cfdr_code cf_list_tags(struct transport *t, const char *arn, struct cf_tag_list *out,
                       struct aws_error *aerr, cfdr_err *err)
{
    struct aws_request rq;
    struct aws_response resp;
    struct xml_doc *doc = NULL;
    struct buf query;
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    aerr_clear(aerr);
    aws_response_init(&resp);
    buf_init(&query, BUF_MAX_SMALL);
    if (empty(arn)) {
        rc = err_set(err, CFDR_E_USAGE, "CloudFront ListTagsForResource needs an ARN");
        goto out;
    }
    if ((rc = buf_adds(&query, "Resource=")) || (rc = query_escape(&query, arn))) {
        err_set(err, rc, "the ARN '%.200s' is too long", arn);
        goto out;
    }
    request_init(&rq, "ListTagsForResource", "GET", "/" CF_API_VERSION "/tagging", buf_str(&query));
    rc = aerr_pass(aerr, &resp, transport_call(t, &rq, &resp, err));
    if (rc || resp.dry_run)
        goto out;
    if ((rc = parse_body(&resp, "Tags", &doc, err)) || (rc = parse_tags(xml_root(doc), out, err)))
        bad_answer(err, rq.operation);
out:
    if (rc)
        cf_tag_list_free(out);
    xml_doc_free(doc);
    buf_free(&query);
    aws_response_free(&resp);
    return rc;
}

cfdr_code cf_find_distributions_by_tag(struct transport *t, const char *key, const char *value,
                                       struct cf_summary_list *out, struct aws_error *aerr,
                                       cfdr_err *err)
{
    struct cf_summary_list all;
    struct aws_error local;
    size_t kept = 0;
    cfdr_code rc;

    memset(out, 0, sizeof(*out));
    if (!aerr)
        aerr = &local;
    rc = cf_list_distributions(t, 0, &all, aerr, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < all.n; i++) {
        struct cf_tag_list tags;
        const char *v;
        rc = cf_list_tags(t, all.items[i].arn, &tags, aerr, err);
        if (rc == CFDR_E_AWS && strcmp(aerr->code, CF_ERR_NO_SUCH_RESOURCE) == 0) {
            aerr_clear(aerr); /* deleted since the listing */
            err_clear(err);
            rc = CFDR_OK;
            continue;
        }
        if (rc)
            break;
        v = cf_tag_list_get(&tags, key);
        if (v && strcmp(v, value ? value : "") == 0)
            all.items[kept++] = all.items[i];
        cf_tag_list_free(&tags);
    }
    if (rc) {
        cf_summary_list_free(&all);
        return rc;
    }
    all.n = kept;
    if (!kept)
        cf_summary_list_free(&all);
    *out = all;
    return CFDR_OK;
}

/* ---- monitoring subscriptions ---- */

#define CF_MONITORING_PATH "/" CF_API_VERSION "/distributions"

/* /2020-05-31/distributions/<id>/monitoring-subscription/ (the model's requestUri). */
static cfdr_code monitoring_path(struct buf *path, const char *id, cfdr_err *err)
{
    CFDR_TRY(check_id(id, err));
    if (buf_addf(path, "%s/%s/monitoring-subscription/", CF_MONITORING_PATH, id))
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    return CFDR_OK;
}

/* <MonitoringSubscription>: Enabled or not. */
static cfdr_code parse_monitoring(const struct aws_response *resp, int *enabled, cfdr_err *err)
{
    struct xml_doc *doc = NULL;
    char status[CF_WORD_SIZE];
    cfdr_code rc;

    *enabled = 0;
    rc = parse_body(resp, "MonitoringSubscription", &doc, err);
    if (!rc)
        rc = get_text(xml_child(xml_root(doc), "RealtimeMetricsSubscriptionConfig"),
                      "RealtimeMetricsSubscriptionStatus", status, sizeof(status),
                      xml_child(xml_root(doc), "RealtimeMetricsSubscriptionConfig") != NULL, err);
    if (!rc && status[0] && strcmp(status, "Enabled") != 0 && strcmp(status, "Disabled") != 0)
        rc = err_set(err, CFDR_E_PARSE,
                     "RealtimeMetricsSubscriptionStatus '%.32s' is neither "
                     "Enabled nor Disabled",
                     status);
    if (!rc)
        *enabled = strcmp(status, "Enabled") == 0;
    xml_doc_free(doc);
    return rc;
}

cfdr_code cf_set_monitoring_subscription(struct transport *t, const char *id, int enabled,
                                         struct aws_error *aerr, cfdr_err *err)
{
    struct aws_request rq;
    struct aws_response resp;
    struct xml_writer *w = NULL;
    struct buf path, body;
    int echoed;
    cfdr_code rc;

    aerr_clear(aerr);
    aws_response_init(&resp);
    buf_init(&path, BUF_MAX_SMALL);
    buf_init(&body, BUF_MAX_SMALL);
    if ((rc = monitoring_path(&path, id, err)))
        goto out;
    if ((rc = xml_writer_new("MonitoringSubscription", CF_XMLNS, &w, err)))
        goto out;
    xml_writer_start(w, "RealtimeMetricsSubscriptionConfig");
    xml_writer_elem(w, "RealtimeMetricsSubscriptionStatus", enabled ? "Enabled" : "Disabled");
    if ((rc = xml_writer_finish(w, &body, err)))
        goto out;
    request_init(&rq, "CreateMonitoringSubscription", "POST", buf_str(&path), NULL);
    rq.body = buf_str(&body);
    rq.body_len = buf_len(&body);
    rc = aerr_pass(aerr, &resp, transport_call(t, &rq, &resp, err));
    if (rc || resp.dry_run)
        goto out;
    rc = parse_monitoring(&resp, &echoed, err);
    if (!rc && echoed != !!enabled)
        rc = err_set(err, CFDR_E_PARSE, "the subscription came back %s",
                     echoed ? "Enabled" : "Disabled");
    if (rc)
        bad_answer(err, rq.operation);
out:
    xml_writer_free(w);
    buf_free(&body);
    buf_free(&path);
    aws_response_free(&resp);
    return rc;
}

cfdr_code cf_get_monitoring_subscription(struct transport *t, const char *id, int *enabled,
                                         struct aws_error *aerr, cfdr_err *err)
{
    struct aws_request rq;
    struct aws_response resp;
    struct buf path;
    cfdr_code rc;

    *enabled = 0;
    aerr_clear(aerr);
    aws_response_init(&resp);
    buf_init(&path, BUF_MAX_SMALL);
    if ((rc = monitoring_path(&path, id, err)))
        goto out;
    request_init(&rq, "GetMonitoringSubscription", "GET", buf_str(&path), NULL);
    rc = aerr_pass(aerr, &resp, transport_call(t, &rq, &resp, err));
    if (rc || resp.dry_run)
        goto out;
    rc = parse_monitoring(&resp, enabled, err);
    if (rc)
        bad_answer(err, rq.operation);
out:
    buf_free(&path);
    aws_response_free(&resp);
    return rc;
}

cfdr_code cf_delete_monitoring_subscription(struct transport *t, const char *id,
                                            struct aws_error *aerr, cfdr_err *err)
{
    struct aws_request rq;
    struct aws_response resp;
    struct buf path;
    cfdr_code rc;

    aerr_clear(aerr);
    aws_response_init(&resp);
    buf_init(&path, BUF_MAX_SMALL);
    if ((rc = monitoring_path(&path, id, err)))
        goto out;
    request_init(&rq, "DeleteMonitoringSubscription", "DELETE", buf_str(&path), NULL);
    rc = aerr_pass(aerr, &resp, transport_call(t, &rq, &resp, err));
out:
    buf_free(&path);
    aws_response_free(&resp);
    return rc;
}
