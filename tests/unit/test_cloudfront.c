/*
 * Tests for aws/cloudfront against the strict local AWS endpoint (tests/servers/aws_endpoint.py,
 * one per test, stopped by PID in the teardown): the body cfdr builds against the botocore model
 * (member order, known members, required members) and against the realistic fixture
 * tests/data/aws/distribution-config-with-tags.json; the disable-before-delete lifecycle with
 * ETags (PreconditionFailed, DistributionNotDisabled), a console edit that survives the disable,
 * the idempotent create, ListDistributions over several pages, tags, errors, dry run, and a
 * throttling storm the transport's retries ride out. Every test ends by checking the
 * endpoint's request log: each request cfdr sent passed signature and model validation, and
 * only the refusals the test provoked happened.
 */
#include "aws_endpoint_fixture.h"

#include <ctype.h>

#include "aws/cloudfront.h"
#include "aws/xml.h"

#define MODEL_PATH                                                                                 \
    "/usr/lib/python3/dist-packages/botocore/data/cloudfront/2020-05-31/service-2.json"
#define POLLS_MAX 20

static const int FIXTURE_CODES[] = {403, 404, 500, 502, 503, 504};

/* The configuration of tests/data/aws/distribution-config-with-tags.json. */
static void fixture_spec(struct cf_dist_spec *s)
{
    cf_dist_spec_init(s);
    s->caller_reference = "cfdr-dr-demo-20240101T000000Z-7f3a9c";
    s->comment = "cfdr dr-demo: failover us-east-1 -> us-west-2";
    s->origins[0].id = "primary-us-east-1";
    s->origins[0].domain_name = "abcdefghij.us-east-1.awsapprunner.com";
    s->origins[1].id = "secondary-us-west-2";
    s->origins[1].domain_name = "klmnopqrst.us-west-2.awsapprunner.com";
    s->group_id = "dr-demo-failover";
    memcpy(s->failover_codes, FIXTURE_CODES, sizeof(FIXTURE_CODES));
    s->nfailover_codes = sizeof(FIXTURE_CODES) / sizeof(FIXTURE_CODES[0]);
    s->http_version = "http2";
    s->project = "dr-demo";
}

/* What cfdr create would send for a project. */
static void project_spec(struct cf_dist_spec *s, const char *ref, const char *project,
                         const char *comment)
{
    fixture_spec(s);
    s->caller_reference = ref;
    s->project = project;
    s->comment = comment;
    s->http_version = NULL; /* cfdr's default: http2and3 */
    s->origins[0].read_timeout_s = 45;
    s->origins[1].keepalive_timeout_s = 7;
    s->origins[1].connection_attempts = 2;
}

static int setup(void **state)
{
    static const char *const args[] = {"--seed-service", "us-east-1:dr-demo-east", "--deploy-polls",
                                       "3", NULL};
    return awsep_setup(state, args);
}

static int teardown(void **state)
{
    return awsep_teardown(state);
}

/* Polls GetDistribution until Deployed; returns how many polls said InProgress. */
static int wait_deployed(struct awsep_fx *fx, const char *dist_id, struct cf_distribution *d)
{
    struct aws_error ae;
    char id[CF_ID_SIZE];
    cfdr_err e;
    int in_progress = 0;

    snprintf(id, sizeof(id), "%s", dist_id); /* dist_id may point into *d */
    for (int i = 0; i < POLLS_MAX; i++) {
        cf_distribution_free(d);
        CHECK_OK(cf_get_distribution(fx->t, id, d, &ae, &e));
        assert_string_equal(d->id, id);
        if (strcmp(d->status, "Deployed") == 0)
            return in_progress;
        assert_string_equal(d->status, "InProgress");
        in_progress++;
    }
    fail_msg("distribution %s not Deployed after %d polls", id, POLLS_MAX);
    return in_progress;
}

static void assert_spec_read_back(const struct cf_dist_spec *s, const struct cf_config *c)
{
    assert_string_equal(c->caller_reference, s->caller_reference);
    assert_string_equal(c->comment, s->comment);
    assert_int_equal(c->enabled, s->enabled);
    assert_string_equal(c->price_class, "PriceClass_100");
    assert_string_equal(c->http_version, s->http_version ? s->http_version : "http2and3");
    assert_int_equal(c->ipv6_enabled, 1);
    assert_int_equal(c->norigins, 2);
    for (int i = 0; i < 2; i++) {
        const struct cf_origin *o = &c->origins[i];
        assert_string_equal(o->id, s->origins[i].id);
        assert_string_equal(o->domain_name, s->origins[i].domain_name);
        assert_string_equal(o->protocol_policy, "https-only");
        assert_string_equal(o->ssl_protocols, "TLSv1.2");
        assert_int_equal(o->connection_attempts, s->origins[i].connection_attempts);
        assert_int_equal(o->connection_timeout_s, s->origins[i].connection_timeout_s);
        assert_int_equal(o->read_timeout_s, s->origins[i].read_timeout_s);
        assert_int_equal(o->keepalive_timeout_s, s->origins[i].keepalive_timeout_s);
    }
    assert_int_equal(c->ngroups, 1);
    assert_string_equal(c->groups[0].id, s->group_id);
    assert_int_equal(c->groups[0].nfailover_codes, s->nfailover_codes);
    for (size_t i = 0; i < s->nfailover_codes; i++)
        assert_int_equal(c->groups[0].failover_codes[i], s->failover_codes[i]);
    assert_int_equal(c->groups[0].nmembers, 2);
    assert_string_equal(c->groups[0].members[0], s->origins[0].id);
    assert_string_equal(c->groups[0].members[1], s->origins[1].id);
    assert_string_equal(c->target_origin_id, s->group_id);
    assert_string_equal(c->viewer_protocol_policy, "redirect-to-https");
    assert_string_equal(c->cache_policy_id, CF_CACHE_POLICY_CACHING_DISABLED);
    assert_string_equal(c->origin_request_policy_id,
                        CF_ORIGIN_REQUEST_POLICY_ALL_VIEWER_EXCEPT_HOST);
}

static void assert_distribution_identity(const struct cf_distribution *d)
{
    char domain[CF_NAME_SIZE], arn_tail[CF_NAME_SIZE];
    size_t i;

    assert_int_equal(strlen(d->id), 14);
    assert_int_equal(d->id[0], 'E');
    for (i = 0; d->id[i]; i++)
        domain[i] = (char)tolower((unsigned char)d->id[i]);
    snprintf(domain + i, sizeof(domain) - i, ".cloudfront.net");
    assert_string_equal(d->domain_name, domain);
    snprintf(arn_tail, sizeof(arn_tail), ":distribution/%s", d->id);
    assert_non_null(strstr(d->arn, "arn:aws:cloudfront::"));
    assert_string_equal(d->arn + strlen(d->arn) - strlen(arn_tail), arn_tail);
    assert_true(d->etag[0] != '\0');
    assert_true(d->last_modified_time > 1600000000);
}

/* ---- the body against the botocore model (no endpoint) ---- */

static json_object *jget(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

/* Every element of n is a member of the model's shape, in the model's member order, with the
 * required members present; recursively. */
static void check_model(json_object *shapes, const struct xml_node *n, const char *shape_name,
                        const char *path)
{
    json_object *shape = jget(shapes, shape_name);
    const char *type;
    char sub[512];

    assert_non_null(shape);
    type = json_object_get_string(jget(shape, "type"));
    if (strcmp(type, "structure") == 0) {
        json_object *members = jget(shape, "members"), *req = jget(shape, "required");
        int last = -1;
        for (const struct xml_node *c = xml_child(n, NULL); c; c = xml_next(c, NULL)) {
            int i = 0, idx = -1;
            const char *member_shape = NULL;
            json_object_object_foreach(members, key, m)
            {
                json_object *loc = jget(m, "locationName");
                const char *name = loc ? json_object_get_string(loc) : key;
                if (idx < 0 && strcmp(name, xml_name(c)) == 0) {
                    idx = i;
                    member_shape = json_object_get_string(jget(m, "shape"));
                }
                i++;
            }
            snprintf(sub, sizeof(sub), "%s/%s", path, xml_name(c));
            if (idx < 0)
                fail_msg("%s is not a member of %s", sub, shape_name);
            if (idx <= last)
                fail_msg("%s is out of the model's member order in %s", sub, shape_name);
            last = idx;
            check_model(shapes, c, member_shape, sub);
        }
        for (size_t k = 0; req && k < json_object_array_length(req); k++) {
            const char *r = json_object_get_string(json_object_array_get_idx(req, k));
            json_object *loc = jget(jget(members, r), "locationName");
            if (!xml_child(n, loc ? json_object_get_string(loc) : r))
                fail_msg("%s lacks the required member %s", path, r);
        }
    } else if (strcmp(type, "list") == 0) {
        json_object *member = jget(shape, "member"), *loc = jget(member, "locationName");
        const char *name = loc ? json_object_get_string(loc) : "member";
        for (const struct xml_node *c = xml_child(n, NULL); c; c = xml_next(c, NULL)) {
            snprintf(sub, sizeof(sub), "%s/%s", path, xml_name(c));
            if (strcmp(xml_name(c), name) != 0)
                fail_msg("%s: list items of %s are <%s>", sub, shape_name, name);
            check_model(shapes, c, json_object_get_string(jget(member, "shape")), sub);
        }
    } else {
        if (xml_child(n, NULL))
            fail_msg("%s is a %s but has child elements", path, type);
    }
}

static void test_spec_xml_follows_model(void **state)
{
    struct cf_dist_spec s;
    struct cf_tag extra[] = {{"owner", "sre"}, {"cost-center", "42"}};
    struct buf xml;
    struct xml_doc *doc = NULL;
    json_object *model = json_object_from_file(MODEL_PATH);
    const struct xml_node *root;
    cfdr_err e;

    (void)state;
    assert_non_null(model);
    fixture_spec(&s);
    s.tags = extra;
    s.ntags = 2;
    buf_init(&xml, BUF_MAX_DOC);
    CHECK_OK(cf_dist_spec_xml(&s, &xml, &e));
    CHECK_OK(xml_parse(buf_str(&xml), buf_len(&xml), BUF_MAX_DOC, &doc, &e));
    root = xml_root(doc);
    assert_string_equal(xml_name(root), "DistributionConfigWithTags");
    assert_string_equal(xml_ns(root), CF_XMLNS);
    check_model(jget(model, "shapes"), root, "DistributionConfigWithTags",
                "DistributionConfigWithTags");
    /* the project tag first, then the caller's */
    {
        const struct xml_node *tag = xml_path(root, "Tags/Items/Tag");
        char k[64], v[64];
        const char *want[][2] = {
            {CF_PROJECT_TAG, "dr-demo"}, {"owner", "sre"}, {"cost-center", "42"}};
        for (int i = 0; i < 3; i++, tag = xml_next(tag, "Tag")) {
            assert_non_null(tag);
            xml_text_copy(xml_child(tag, "Key"), k, sizeof(k));
            xml_text_copy(xml_child(tag, "Value"), v, sizeof(v));
            assert_string_equal(k, want[i][0]);
            assert_string_equal(v, want[i][1]);
        }
        assert_null(tag);
    }
    /* text is escaped, not trusted */
    assert_non_null(strstr(buf_str(&xml), "us-east-1 -&gt; us-west-2"));
    xml_doc_free(doc);
    buf_free(&xml);

    /* what a spec must have */
    {
        struct cf_dist_spec bad;
        buf_init(&xml, BUF_MAX_DOC);
        fixture_spec(&bad);
        bad.project = NULL;
        assert_int_equal(cf_dist_spec_xml(&bad, &xml, &e), CFDR_E_USAGE);
        assert_non_null(strstr(e.msg, CF_PROJECT_TAG));
        fixture_spec(&bad);
        bad.nfailover_codes = 0;
        assert_int_equal(cf_dist_spec_xml(&bad, &xml, &e), CFDR_E_USAGE);
        fixture_spec(&bad);
        bad.origins[1].id = bad.origins[0].id;
        assert_int_equal(cf_dist_spec_xml(&bad, &xml, &e), CFDR_E_USAGE);
        fixture_spec(&bad);
        bad.comment = "bell \a in a comment";
        assert_int_equal(cf_dist_spec_xml(&bad, &xml, &e), CFDR_E_CONFIG);
        assert_non_null(strstr(e.msg, "Comment"));
        assert_int_equal(buf_len(&xml), 0);
        buf_free(&xml);
    }
    json_object_put(model);
}

static const char SAMPLE_CONFIG[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<DistributionConfig xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">"
    "<CallerReference>ref-1</CallerReference>"
    "<Origins><Quantity>1</Quantity><Items><Origin><Id>o1</Id><DomainName>a.example.com"
    "</DomainName><OriginShield><Enabled>true</Enabled><OriginShieldRegion>us-east-1"
    "</OriginShieldRegion></OriginShield></Origin></Items></Origins>"
    "<Comment>changed in the console &amp; kept</Comment>"
    "<Logging><Enabled>true</Enabled><IncludeCookies>false</IncludeCookies><Bucket>logs.s3"
    "</Bucket><Prefix>cf/</Prefix></Logging>"
    "<Enabled>true</Enabled>"
    "<WebACLId>arn:aws:wafv2:acl</WebACLId>"
    "</DistributionConfig>";

static void test_set_enabled_edits_only_the_switch(void **state)
{
    struct buf out;
    struct xml_doc *doc = NULL;
    const struct xml_node *root;
    char text[128];
    cfdr_err e;

    (void)state;
    buf_init(&out, BUF_MAX_DOC);
    CHECK_OK(cf_config_set_enabled(SAMPLE_CONFIG, strlen(SAMPLE_CONFIG), 0, &out, &e));
    CHECK_OK(xml_parse(buf_str(&out), buf_len(&out), BUF_MAX_DOC, &doc, &e));
    root = xml_root(doc);
    assert_string_equal(xml_ns(root), CF_XMLNS);
    xml_text_copy(xml_child(root, "Enabled"), text, sizeof(text));
    assert_string_equal(text, "false");
    /* the other switches and everything cfdr does not model stay as they were */
    xml_text_copy(xml_path(root, "Origins/Items/Origin/OriginShield/Enabled"), text, sizeof(text));
    assert_string_equal(text, "true");
    xml_text_copy(xml_path(root, "Logging/Enabled"), text, sizeof(text));
    assert_string_equal(text, "true");
    xml_text_copy(xml_child(root, "Comment"), text, sizeof(text));
    assert_string_equal(text, "changed in the console & kept");
    xml_text_copy(xml_child(root, "WebACLId"), text, sizeof(text));
    assert_string_equal(text, "arn:aws:wafv2:acl");
    assert_int_equal(xml_count(root, NULL), 6);
    xml_doc_free(doc);

    /* and back */
    {
        struct buf again;
        buf_init(&again, BUF_MAX_DOC);
        CHECK_OK(cf_config_set_enabled(buf_str(&out), buf_len(&out), 1, &again, &e));
        assert_non_null(strstr(buf_str(&again), "<Enabled>true</Enabled><WebACLId>"));
        buf_free(&again);
    }
    buf_reset(&out);

    /* what it refuses */
    {
        static const char doctype[] =
            "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]>"
            "<DistributionConfig><Enabled>true</Enabled></DistributionConfig>";
        static const char two[] = "<DistributionConfig><Enabled>true</Enabled><Enabled>true"
                                  "</Enabled></DistributionConfig>";
        static const char none[] = "<DistributionConfig><Logging><Enabled>true</Enabled>"
                                   "</Logging></DistributionConfig>";
        static const char other[] = "<Distribution><Enabled>true</Enabled></Distribution>";
        assert_int_equal(cf_config_set_enabled(doctype, strlen(doctype), 0, &out, &e),
                         CFDR_E_PARSE);
        assert_non_null(strstr(e.msg, "DOCTYPE"));
        assert_int_equal(cf_config_set_enabled(two, strlen(two), 0, &out, &e), CFDR_E_PARSE);
        assert_int_equal(cf_config_set_enabled(none, strlen(none), 0, &out, &e), CFDR_E_PARSE);
        assert_non_null(strstr(e.msg, "top-level <Enabled>"));
        assert_int_equal(cf_config_set_enabled(other, strlen(other), 0, &out, &e), CFDR_E_PARSE);
        assert_int_equal(cf_config_set_enabled("<Distr", 6, 0, &out, &e), CFDR_E_PARSE);
        assert_int_equal(buf_len(&out), 0);
    }
    buf_free(&out);
}

/* ---- against the endpoint ---- */

/* What the endpoint parsed from cfdr's body is exactly the realistic fixture. */
static void test_create_body_is_the_fixture(void **state)
{
    struct awsep_fx *fx = *state;
    struct cf_dist_spec s;
    struct cf_distribution d = {0};
    struct aws_error ae;
    char path[600], dir[512];
    json_object *fixture, *params, *sent;
    cfdr_err e;

    fixture_spec(&s);
    CHECK_OK(cf_create_distribution(fx->t, &s, &d, &ae, &e));
    assert_distribution_identity(&d);
    assert_string_equal(d.status, "InProgress");
    assert_spec_read_back(&s, &d.config);

    snprintf(path, sizeof(path), "%s/tests/data/aws/distribution-config-with-tags.json",
             awsep_source_dir(dir, sizeof(dir)));
    fixture = json_object_from_file(path);
    assert_non_null(fixture);
    params = awsep_last_params(&fx->ep, "CreateDistributionWithTags");
    sent = jget(params, "DistributionConfigWithTags");
    assert_non_null(sent);
    if (!json_object_equal(sent, fixture))
        fail_msg("cfdr sent\n%s\nthe fixture is\n%s",
                 json_object_to_json_string_ext(sent, JSON_C_TO_STRING_PRETTY),
                 json_object_to_json_string_ext(fixture, JSON_C_TO_STRING_PRETTY));
    json_object_put(params);
    json_object_put(fixture);
    cf_distribution_free(&d);
    awsep_check_log(fx, NULL, 0, 0);
}

/* The whole life of a distribution, as cfdr create and cfdr destroy drive it. */
static void lifecycle(struct awsep_fx *fx, const char *ref, int check_errors)
{
    struct cf_dist_spec s;
    struct cf_distribution d = {0}, upd = {0}, gone = {0};
    struct cf_config_doc cfg = {0}, cfg2 = {0};
    struct cf_tag_list tags = {0};
    struct buf edited, disabled;
    struct aws_error ae;
    char old_etag[CF_ID_SIZE], id[CF_ID_SIZE];
    cfdr_err e;

    buf_init(&edited, BUF_MAX_DOC);
    buf_init(&disabled, BUF_MAX_DOC);
    project_spec(&s, ref, "dr-demo", "cfdr dr-demo: failover us-east-1 -> us-west-2");

    /* create with tags */
    CHECK_OK(cf_create_distribution(fx->t, &s, &d, &ae, &e));
    assert_distribution_identity(&d);
    assert_string_equal(d.status, "InProgress");
    assert_spec_read_back(&s, &d.config);
    snprintf(id, sizeof(id), "%s", d.id);
    CHECK_OK(cf_list_tags(fx->t, d.arn, &tags, &ae, &e));
    assert_int_equal(tags.n, 1);
    assert_string_equal(cf_tag_list_get(&tags, CF_PROJECT_TAG), "dr-demo");
    assert_null(cf_tag_list_get(&tags, "other"));
    cf_tag_list_free(&tags);

    /* get until Deployed: the endpoint says InProgress for the first polls */
    assert_true(wait_deployed(fx, id, &d) >= 1);
    assert_spec_read_back(&s, &d.config);

    /* delete while enabled */
    if (check_errors)
        CHECK_AWS(cf_delete_distribution(fx->t, id, d.etag, &ae, &e),
                  CF_ERR_DISTRIBUTION_NOT_DISABLED);

    /* someone edits the comment and the price class in the console */
    CHECK_OK(cf_get_distribution_config(fx->t, id, &cfg, &ae, &e));
    assert_string_equal(cfg.etag, d.etag);
    assert_int_equal(cfg.config.enabled, 1);
    assert_spec_read_back(&s, &cfg.config);
    {
        const char *x = buf_str(&cfg.xml), *c0 = strstr(x, "<Comment>"),
                   *c1 = strstr(x, "</Comment>"), *p0 = strstr(x, "PriceClass_100");
        assert_non_null(c0);
        assert_non_null(c1);
        assert_non_null(p0);
        assert_true(c0 < c1 && c1 < p0);
        assert_int_equal(buf_add(&edited, x, (size_t)(c0 - x)), CFDR_OK);
        assert_int_equal(buf_adds(&edited, "<Comment>edited in the console</Comment>"), CFDR_OK);
        assert_int_equal(buf_add(&edited, c1 + 10, (size_t)(p0 - (c1 + 10))), CFDR_OK);
        assert_int_equal(buf_adds(&edited, "PriceClass_All"), CFDR_OK);
        assert_int_equal(buf_adds(&edited, p0 + strlen("PriceClass_100")), CFDR_OK);
    }
    CHECK_OK(cf_update_distribution(fx->t, id, cfg.etag, buf_str(&edited), buf_len(&edited), &upd,
                                    &ae, &e));
    assert_string_equal(upd.config.comment, "edited in the console");
    assert_string_not_equal(upd.etag, cfg.etag);
    cf_distribution_free(&upd);
    cf_config_doc_free(&cfg);
    wait_deployed(fx, id, &d);

    /* get config, update to disable with its ETag */
    CHECK_OK(cf_get_distribution_config(fx->t, id, &cfg, &ae, &e));
    assert_string_equal(cfg.config.comment, "edited in the console");
    CHECK_OK(cf_config_set_enabled(buf_str(&cfg.xml), buf_len(&cfg.xml), 0, &disabled, &e));
    CHECK_OK(cf_update_distribution(fx->t, id, cfg.etag, buf_str(&disabled), buf_len(&disabled),
                                    &upd, &ae, &e));
    assert_int_equal(upd.config.enabled, 0);
    assert_string_equal(upd.status, "InProgress");
    assert_string_not_equal(upd.etag, cfg.etag);
    snprintf(old_etag, sizeof(old_etag), "%s", cfg.etag);

    /* nothing but Enabled changed: the console's edits survived */
    CHECK_OK(cf_get_distribution_config(fx->t, id, &cfg2, &ae, &e));
    assert_string_equal(cfg2.etag, upd.etag);
    assert_int_equal(cfg2.config.enabled, 0);
    assert_string_equal(cfg2.config.comment, "edited in the console");
    assert_string_equal(cfg2.config.price_class, "PriceClass_All");
    assert_string_equal(cfg2.config.caller_reference, ref);
    assert_int_equal(cfg2.config.norigins, 2);
    assert_int_equal(cfg2.config.origins[0].read_timeout_s, 45);

    if (check_errors) {
        /* a stale ETag, then a disabled distribution that is not Deployed yet */
        CHECK_AWS(cf_delete_distribution(fx->t, id, old_etag, &ae, &e), CF_ERR_PRECONDITION_FAILED);
        assert_int_equal(ae.http_status, 412);
        CHECK_AWS(cf_delete_distribution(fx->t, id, upd.etag, &ae, &e),
                  CF_ERR_DISTRIBUTION_NOT_DISABLED);
        assert_int_equal(ae.http_status, 409);
    }

    /* wait, delete with the current ETag */
    wait_deployed(fx, id, &d);
    assert_int_equal(d.config.enabled, 0);
    CHECK_OK(cf_delete_distribution(fx->t, id, d.etag, &ae, &e));
    assert_string_equal(ae.code, "");
    if (check_errors) {
        CHECK_AWS(cf_get_distribution(fx->t, id, &gone, &ae, &e), CF_ERR_NO_SUCH_DISTRIBUTION);
        assert_int_equal(ae.http_status, 404);
        assert_true(ae.request_id[0] != '\0');
        assert_string_equal(gone.id, "");
    }

    cf_distribution_free(&d);
    cf_distribution_free(&upd);
    cf_config_doc_free(&cfg);
    cf_config_doc_free(&cfg2);
    buf_free(&edited);
    buf_free(&disabled);
}

static void test_lifecycle(void **state)
{
    struct awsep_fx *fx = *state;
    static const struct awsep_expect expected[] = {
        {"DeleteDistribution", CF_ERR_DISTRIBUTION_NOT_DISABLED, 2, NULL},
        {"DeleteDistribution", CF_ERR_PRECONDITION_FAILED, 1, NULL},
        {"GetDistribution", CF_ERR_NO_SUCH_DISTRIBUTION, 1, NULL},
    };

    lifecycle(fx, "cfdr-dr-demo-lifecycle-1", 1);
    assert_int_equal(fx->sleeps, 0);
    awsep_check_log(fx, expected, sizeof(expected) / sizeof(expected[0]), 0);
}

static void test_create_is_idempotent(void **state)
{
    struct awsep_fx *fx = *state;
    static const struct awsep_expect expected[] = {
        {"CreateDistributionWithTags", CF_ERR_DISTRIBUTION_ALREADY_EXISTS, 1, NULL},
    };
    struct cf_dist_spec s;
    struct cf_distribution a = {0}, b = {0}, c = {0};
    struct cf_summary_list all = {0};
    struct aws_error ae;
    cfdr_err e;

    project_spec(&s, "cfdr-dr-demo-retry", "dr-demo", "first try");
    CHECK_OK(cf_create_distribution(fx->t, &s, &a, &ae, &e));
    /* the answer was lost; cfdr create runs again with the CallerReference from its state */
    CHECK_OK(cf_create_distribution(fx->t, &s, &b, &ae, &e));
    assert_string_equal(b.id, a.id);
    assert_string_equal(b.arn, a.arn);
    assert_string_equal(b.etag, a.etag);
    /* the same reference with another configuration is refused, not a second distribution */
    s.comment = "second try";
    CHECK_AWS(cf_create_distribution(fx->t, &s, &c, &ae, &e), CF_ERR_DISTRIBUTION_ALREADY_EXISTS);
    assert_int_equal(ae.http_status, 409);
    assert_string_equal(c.id, "");
    CHECK_OK(cf_list_distributions(fx->t, 0, &all, &ae, &e));
    assert_int_equal(all.n, 1);
    assert_string_equal(all.items[0].id, a.id);

    cf_summary_list_free(&all);
    cf_distribution_free(&a);
    cf_distribution_free(&b);
    awsep_check_log(fx, expected, 1, 0);
}

/* A distribution whose configuration drifted from cfdr.json: cf_config_diff names each
 * difference, cf_config_apply_spec fixes exactly those members (the endpoint validates the
 * update against the model), structural differences are not updatable. */
static void test_diff_and_apply_spec(void **state)
{
    struct awsep_fx *fx = *state;
    static const int codes[] = {500, 503};
    struct cf_dist_spec s, want, bad;
    struct cf_distribution a = {0}, upd = {0};
    struct cf_config_doc cfg = {0}, after = {0};
    struct aws_error ae;
    struct buf diff, body;
    size_t n = 0;
    int updatable = 0;
    cfdr_err e;

    buf_init(&diff, BUF_MAX_SMALL);
    buf_init(&body, BUF_MAX_DOC);
    project_spec(&s, "cfdr-dr-demo-drift", "dr-demo", "drifted");
    CHECK_OK(cf_create_distribution(fx->t, &s, &a, &ae, &e));
    CHECK_OK(cf_get_distribution_config(fx->t, a.id, &cfg, &ae, &e));
    CHECK_OK(cf_config_diff(&cfg.config, &s, &diff, &n, &updatable, &e));
    assert_int_equal(n, 0);
    assert_int_equal(updatable, 1);
    assert_string_equal(buf_str(&diff), "");

    want = s;
    want.origins[0].domain_name = "zzzzzzzzzz.us-east-1.awsapprunner.com";
    want.origins[1].connection_timeout_s = 4;
    want.origins[0].read_timeout_s = 20;
    want.origins[1].connection_attempts = 1;
    memcpy(want.failover_codes, codes, sizeof(codes));
    want.nfailover_codes = 2;
    CHECK_OK(cf_config_diff(&cfg.config, &want, &diff, &n, &updatable, &e));
    if (n != 5)
        fail_msg("5 differences expected: %s", buf_str(&diff));
    assert_int_equal(updatable, 1);
    assert_non_null(strstr(buf_str(&diff), "origin primary-us-east-1: domain "
                                           "abcdefghij.us-east-1.awsapprunner.com, cfdr.json's "
                                           "service is zzzzzzzzzz.us-east-1.awsapprunner.com"));
    assert_non_null(strstr(buf_str(&diff), "origin secondary-us-west-2: connection timeout 10 s, "
                                           "cfdr.json says 4 s"));
    assert_non_null(strstr(buf_str(&diff), "origin primary-us-east-1: response timeout 45 s, "
                                           "cfdr.json says 20 s"));
    assert_non_null(strstr(buf_str(&diff), "connection attempts 2, cfdr.json says 1"));
    assert_non_null(strstr(buf_str(&diff), "failover status codes 403,404,500,502,503,504, "
                                           "cfdr.json says 500,503"));

    CHECK_OK(cf_config_apply_spec(buf_str(&cfg.xml), buf_len(&cfg.xml), &want, &body, &e));
    CHECK_OK(cf_update_distribution(fx->t, a.id, cfg.etag, buf_str(&body), buf_len(&body), &upd,
                                    &ae, &e));
    CHECK_OK(cf_get_distribution_config(fx->t, a.id, &after, &ae, &e));
    buf_reset(&diff);
    CHECK_OK(cf_config_diff(&after.config, &want, &diff, &n, &updatable, &e));
    if (n != 0)
        fail_msg("after the update: %s", buf_str(&diff));
    assert_string_equal(after.config.comment, "drifted"); /* the rest is kept */
    assert_string_equal(after.config.caller_reference, "cfdr-dr-demo-drift");
    assert_string_equal(after.config.cache_policy_id, cfg.config.cache_policy_id);
    assert_string_equal(after.config.origins[1].domain_name, s.origins[1].domain_name);

    /* structural: another group, or the members in the other order */
    bad = s;
    bad.group_id = "another-group";
    buf_reset(&diff);
    CHECK_OK(cf_config_diff(&after.config, &bad, &diff, &n, &updatable, &e));
    assert_int_equal(updatable, 0);
    assert_non_null(strstr(buf_str(&diff), "origin group another-group: missing"));
    assert_int_equal(
        cf_config_apply_spec(buf_str(&after.xml), buf_len(&after.xml), &bad, &body, &e),
        CFDR_E_PARSE);
    bad = s;
    bad.origins[0] = s.origins[1];
    bad.origins[1] = s.origins[0];
    buf_reset(&diff);
    CHECK_OK(cf_config_diff(&after.config, &bad, &diff, &n, &updatable, &e));
    assert_int_equal(updatable, 0);
    assert_non_null(strstr(buf_str(&diff), "members are not"));
    bad = s;
    bad.origins[0].id = "primary-eu-west-1";
    buf_reset(&diff);
    CHECK_OK(cf_config_diff(&after.config, &bad, &diff, &n, &updatable, &e));
    assert_int_equal(updatable, 0);
    assert_non_null(strstr(buf_str(&diff), "origin primary-eu-west-1: missing"));

    cf_distribution_free(&a);
    cf_distribution_free(&upd);
    cf_config_doc_free(&cfg);
    cf_config_doc_free(&after);
    buf_free(&diff);
    buf_free(&body);
    awsep_check_log(fx, NULL, 0, 0);
}

static void test_list_pages_and_tags(void **state)
{
    struct awsep_fx *fx = *state;
    static const struct awsep_expect expected[] = {
        {"ListDistributions", "InvalidArgument", 1, NULL},
    };
    static const char *const projects[] = {"alpha", "beta", "alpha", "alpha", "beta"};
    char ids[5][CF_ID_SIZE], next[CF_ID_SIZE];
    struct cf_summary_list all = {0}, page = {0}, found = {0};
    struct aws_error ae;
    size_t before;
    cfdr_err e;

    for (int i = 0; i < 5; i++) {
        struct cf_dist_spec s;
        struct cf_distribution d = {0};
        char ref[64], comment[64];
        snprintf(ref, sizeof(ref), "cfdr-list-%d", i);
        snprintf(comment, sizeof(comment), "cfdr %s #%d", projects[i], i);
        project_spec(&s, ref, projects[i], comment);
        s.enabled = i != 3;
        CHECK_OK(cf_create_distribution(fx->t, &s, &d, &ae, &e));
        snprintf(ids[i], sizeof(ids[i]), "%s", d.id);
        cf_distribution_free(&d);
    }

    /* all of them, two per page: three requests */
    before = awsep_count(&fx->ep, "ListDistributions");
    CHECK_OK(cf_list_distributions(fx->t, 2, &all, &ae, &e));
    assert_int_equal(awsep_count(&fx->ep, "ListDistributions") - before, 3);
    assert_int_equal(all.n, 5);
    for (int i = 0; i < 5; i++) {
        const struct cf_summary *x = &all.items[i];
        char comment[64];
        snprintf(comment, sizeof(comment), "cfdr %s #%d", projects[i], i);
        assert_string_equal(x->id, ids[i]);
        assert_non_null(strstr(x->arn, ids[i]));
        assert_non_null(strstr(x->domain_name, ".cloudfront.net"));
        assert_string_equal(x->status, "InProgress");
        assert_int_equal(x->enabled, i != 3);
        assert_string_equal(x->comment, comment);
        assert_true(x->last_modified[0] != '\0');
    }

    /* one page at a time */
    CHECK_OK(cf_list_distributions_page(fx->t, NULL, 2, &page, next, &ae, &e));
    assert_int_equal(page.n, 2);
    assert_string_equal(next, ids[1]);
    CHECK_OK(cf_list_distributions_page(fx->t, next, 10, &page, next, &ae, &e));
    assert_int_equal(page.n, 5);
    assert_string_equal(next, "");
    assert_string_equal(page.items[4].id, ids[4]);
    /* a marker that is no distribution: the page is refused and the list kept */
    CHECK_AWS(cf_list_distributions_page(fx->t, "ENOSUCHMARKER1", 2, &page, next, &ae, &e),
              "InvalidArgument");
    assert_int_equal(page.n, 5);
    assert_int_equal(cf_list_distributions_page(fx->t, "E1/../x", 2, &page, next, &ae, &e),
                     CFDR_E_USAGE);
    assert_int_equal(cf_list_distributions_page(fx->t, NULL, 1001, &page, next, &ae, &e),
                     CFDR_E_USAGE);

    /* found by their project tag */
    CHECK_OK(cf_find_distributions_by_tag(fx->t, CF_PROJECT_TAG, "alpha", &found, &ae, &e));
    assert_int_equal(found.n, 3);
    assert_string_equal(found.items[0].id, ids[0]);
    assert_string_equal(found.items[1].id, ids[2]);
    assert_string_equal(found.items[2].id, ids[3]);
    cf_summary_list_free(&found);
    CHECK_OK(cf_find_distributions_by_tag(fx->t, CF_PROJECT_TAG, "beta", &found, &ae, &e));
    assert_int_equal(found.n, 2);
    cf_summary_list_free(&found);
    CHECK_OK(cf_find_distributions_by_tag(fx->t, CF_PROJECT_TAG, "gamma", &found, &ae, &e));
    assert_int_equal(found.n, 0);
    assert_null(found.items);

    cf_summary_list_free(&all);
    cf_summary_list_free(&page);
    awsep_check_log(fx, expected, 1, 0);
}

static void test_errors_and_dry_run(void **state)
{
    struct awsep_fx *fx = *state;
    static const struct awsep_expect expected[] = {
        {"GetDistribution", CF_ERR_NO_SUCH_DISTRIBUTION, 1, NULL},
        {"DeleteDistribution", CF_ERR_NO_SUCH_DISTRIBUTION, 1, NULL},
        {"GetDistributionConfig", CF_ERR_NO_SUCH_DISTRIBUTION, 1, NULL},
    };
    struct cf_distribution d = {0};
    struct cf_summary_list l = {0};
    struct cf_config_doc cfg = {0};
    struct cf_tag_list tags = {0};
    struct cf_dist_spec s;
    struct aws_error ae;
    struct transport *dry;
    size_t logged;
    char port[16];
    cfdr_err e;

    CHECK_AWS(cf_get_distribution(fx->t, "ENOSUCHDIST123", &d, &ae, &e),
              CF_ERR_NO_SUCH_DISTRIBUTION);
    assert_int_equal(ae.http_status, 404);
    assert_non_null(strstr(e.msg, "GetDistribution"));
    CHECK_AWS(cf_delete_distribution(fx->t, "ENOSUCHDIST123", "E2QWRUHAPOMQZL", &ae, &e),
              CF_ERR_NO_SUCH_DISTRIBUTION);
    CHECK_AWS(cf_disable_distribution(fx->t, "ENOSUCHDIST123", &d, &ae, &e),
              CF_ERR_NO_SUCH_DISTRIBUTION);
    /* refused before anything is sent */
    logged = awsep_count(&fx->ep, NULL);
    assert_int_equal(cf_get_distribution(fx->t, "../../tagging", &d, &ae, &e), CFDR_E_USAGE);
    assert_non_null(strstr(e.msg, "not a CloudFront distribution id"));
    assert_int_equal(cf_get_distribution(fx->t, "", &d, &ae, &e), CFDR_E_USAGE);
    assert_int_equal(cf_delete_distribution(fx->t, "E2QWRUHAPOMQZL", NULL, &ae, &e), CFDR_E_USAGE);
    assert_non_null(strstr(e.msg, "If-Match"));
    assert_int_equal(cf_delete_distribution(fx->t, "E2QWRUHAPOMQZL", "bad etag", &ae, &e),
                     CFDR_E_USAGE);
    assert_int_equal(cf_update_distribution(fx->t, "E2QWRUHAPOMQZL", "E1", NULL, 0, &d, &ae, &e),
                     CFDR_E_USAGE);
    assert_int_equal(cf_list_tags(fx->t, "", &tags, &ae, &e), CFDR_E_USAGE);
    assert_int_equal(awsep_count(&fx->ep, NULL), logged);

    /* dry run: the signed request is shown, nothing is sent, the result is empty */
    dry = awsep_dry_transport(fx);
    project_spec(&s, "cfdr-dry", "dr-demo", "dry");
    CHECK_OK(cf_create_distribution(dry, &s, &d, &ae, &e));
    assert_string_equal(d.id, "");
    assert_int_equal(fx->dry_runs, 1);
    snprintf(port, sizeof(port), ":%d/", fx->ep.port);
    assert_non_null(strstr(buf_str(&fx->dry), "POST http://127.0.0.1"));
    assert_non_null(strstr(buf_str(&fx->dry), "/2020-05-31/distribution?WithTags"));
    assert_non_null(strstr(buf_str(&fx->dry), port));
    assert_non_null(strstr(buf_str(&fx->dry), "<DistributionConfigWithTags xmlns=\"" CF_XMLNS));
    assert_null(strstr(buf_str(&fx->dry), AWSEP_SECRET));
    CHECK_OK(cf_list_distributions(dry, 1, &l, &ae, &e));
    assert_int_equal(l.n, 0);
    assert_int_equal(fx->dry_runs, 2);
    CHECK_OK(cf_disable_distribution(dry, "E2QWRUHAPOMQZL", &d, &ae, &e));
    assert_int_equal(fx->dry_runs, 3);
    assert_non_null(strstr(buf_str(&fx->dry), "GET "));
    CHECK_OK(cf_get_distribution_config(dry, "E2QWRUHAPOMQZL", &cfg, &ae, &e));
    assert_int_equal(buf_len(&cfg.xml), 0);
    assert_int_equal(awsep_count(&fx->ep, NULL), logged);
    transport_free(dry);

    cf_config_doc_free(&cfg);
    cf_distribution_free(&d);
    awsep_check_log(fx, expected, sizeof(expected) / sizeof(expected[0]), 0);
}

/* The additional metrics: one monitoring subscription per distribution, set, read back,
 * deleted; gone with the distribution. */
static void test_monitoring_subscription(void **state)
{
    struct awsep_fx *fx = *state;
    static const struct awsep_expect expected[] = {
        {"GetMonitoringSubscription", CF_ERR_NO_SUCH_MONITORING_SUBSCRIPTION, 2, NULL},
        {"DeleteMonitoringSubscription", CF_ERR_NO_SUCH_MONITORING_SUBSCRIPTION, 1, NULL},
        {"CreateMonitoringSubscription", CF_ERR_NO_SUCH_DISTRIBUTION, 1, NULL},
        {"GetMonitoringSubscription", CF_ERR_NO_SUCH_DISTRIBUTION, 1, NULL},
    };
    struct cf_distribution d = {0}, off = {0};
    struct cf_dist_spec s;
    struct aws_error ae;
    struct transport *dry;
    json_object *st, *log;
    char id[CF_ID_SIZE];
    size_t logged;
    int enabled = -1;
    cfdr_err e;

    project_spec(&s, "cfdr-dr-demo-monitoring", "dr-demo", "monitoring");
    CHECK_OK(cf_create_distribution(fx->t, &s, &d, &ae, &e));
    snprintf(id, sizeof(id), "%s", d.id);
    CHECK_AWS(cf_get_monitoring_subscription(fx->t, id, &enabled, &ae, &e),
              CF_ERR_NO_SUCH_MONITORING_SUBSCRIPTION);
    assert_int_equal(ae.http_status, 404);
    assert_int_equal(enabled, 0);
    CHECK_OK(cf_set_monitoring_subscription(fx->t, id, 1, &ae, &e));
    CHECK_OK(cf_get_monitoring_subscription(fx->t, id, &enabled, &ae, &e));
    assert_int_equal(enabled, 1);
    /* the body is the model's document, in its namespace */
    log = awsep_requests(&fx->ep);
    {
        json_object *last = NULL;
        for (size_t i = 0; i < json_object_array_length(log); i++) {
            json_object *r = json_object_array_get_idx(log, i);
            const char *op = awsep_str(r, "operation");
            if (op && strcmp(op, "CreateMonitoringSubscription") == 0)
                last = r;
        }
        assert_non_null(last);
        assert_non_null(strstr(awsep_str(last, "path"), "/2020-05-31/distributions/"));
        assert_non_null(strstr(awsep_str(last, "path"), "/monitoring-subscription/"));
    }
    json_object_put(log);
    CHECK_OK(cf_set_monitoring_subscription(fx->t, id, 0, &ae, &e));
    CHECK_OK(cf_get_monitoring_subscription(fx->t, id, &enabled, &ae, &e));
    assert_int_equal(enabled, 0);
    CHECK_OK(cf_delete_monitoring_subscription(fx->t, id, &ae, &e));
    CHECK_AWS(cf_delete_monitoring_subscription(fx->t, id, &ae, &e),
              CF_ERR_NO_SUCH_MONITORING_SUBSCRIPTION);
    CHECK_AWS(cf_get_monitoring_subscription(fx->t, id, &enabled, &ae, &e),
              CF_ERR_NO_SUCH_MONITORING_SUBSCRIPTION);
    CHECK_AWS(cf_set_monitoring_subscription(fx->t, "ENOSUCHDIST123", 1, &ae, &e),
              CF_ERR_NO_SUCH_DISTRIBUTION);

    /* deleting the distribution deletes its subscription */
    CHECK_OK(cf_set_monitoring_subscription(fx->t, id, 1, &ae, &e));
    CHECK_OK(cf_disable_distribution(fx->t, id, &off, &ae, &e));
    awsep_control_do(&fx->ep, "POST", "/cloudfront/deploy", "{}");
    cf_distribution_free(&off);
    CHECK_OK(cf_get_distribution(fx->t, id, &off, &ae, &e));
    CHECK_OK(cf_delete_distribution(fx->t, id, off.etag, &ae, &e));
    CHECK_AWS(cf_get_monitoring_subscription(fx->t, id, &enabled, &ae, &e),
              CF_ERR_NO_SUCH_DISTRIBUTION);
    st = awsep_control(&fx->ep, "GET", "/state", NULL);
    assert_non_null(strstr(json_object_to_json_string(st), "\"distributions\": { }") ||
                    strstr(json_object_to_json_string(st), "\"distributions\":{}"));
    json_object_put(st);

    /* refused before anything is sent; dry run sends nothing */
    logged = awsep_count(&fx->ep, NULL);
    assert_int_equal(cf_set_monitoring_subscription(fx->t, "../x", 1, &ae, &e), CFDR_E_USAGE);
    assert_int_equal(cf_get_monitoring_subscription(fx->t, "", &enabled, &ae, &e), CFDR_E_USAGE);
    assert_int_equal(cf_delete_monitoring_subscription(fx->t, NULL, &ae, &e), CFDR_E_USAGE);
    dry = awsep_dry_transport(fx);
    CHECK_OK(cf_set_monitoring_subscription(dry, "E2QWRUHAPOMQZL", 1, &ae, &e));
    assert_non_null(strstr(buf_str(&fx->dry),
                           "/2020-05-31/distributions/E2QWRUHAPOMQZL/monitoring-subscription/"));
    assert_non_null(strstr(buf_str(&fx->dry), "<RealtimeMetricsSubscriptionStatus>Enabled<"));
    CHECK_OK(cf_delete_monitoring_subscription(dry, "E2QWRUHAPOMQZL", &ae, &e));
    assert_non_null(strstr(buf_str(&fx->dry), "DELETE "));
    assert_int_equal(fx->dry_runs, 2);
    transport_free(dry);
    assert_int_equal(awsep_count(&fx->ep, NULL), logged);

    cf_distribution_free(&off);
    cf_distribution_free(&d);
    awsep_check_log(fx, expected, sizeof(expected) / sizeof(expected[0]), 0);
}

/* Every second CloudFront request is throttled: the transport retries, cfdr notices nothing. */
static void test_throttling_storm(void **state)
{
    struct awsep_fx *fx = *state;
    struct cf_dist_spec s;
    struct cf_distribution d = {0}, again = {0};
    struct aws_error ae;
    size_t updates;
    cfdr_err e;

    awsep_control_do(&fx->ep, "POST", "/faults",
                     "{\"kind\": \"throttle\", \"service\": \"cloudfront\", \"every\": 2, "
                     "\"count\": 1000}");
    project_spec(&s, "cfdr-storm", "dr-demo", "storm");
    CHECK_OK(cf_create_distribution(fx->t, &s, &d, &ae, &e));
    wait_deployed(fx, d.id, &d);
    CHECK_OK(cf_disable_distribution(fx->t, d.id, &again, &ae, &e));
    assert_int_equal(again.config.enabled, 0);
    assert_string_equal(again.config.comment, "storm");
    wait_deployed(fx, d.id, &d);
    assert_string_equal(d.etag, again.etag);
    /* a second disable finds it disabled and changes nothing */
    updates = awsep_count(&fx->ep, "UpdateDistribution");
    cf_distribution_free(&again);
    CHECK_OK(cf_disable_distribution(fx->t, d.id, &again, &ae, &e));
    assert_int_equal(awsep_count(&fx->ep, "UpdateDistribution"), updates);
    assert_string_equal(again.etag, d.etag);
    CHECK_OK(cf_delete_distribution(fx->t, d.id, d.etag, &ae, &e));

    awsep_check_log(fx, NULL, 0, 1);
    assert_true(fx->faults >= 5);
    assert_int_equal(fx->sleeps, fx->faults);
    assert_true(fx->slept_ms > 0);
    cf_distribution_free(&d);
    cf_distribution_free(&again);
}

/* ---- answers no CloudFront would give (a scripted server) ---- */

static int setup_scripted(void **state)
{
    return awsep_setup(state, NULL);
}

/* A <Distribution> answer with the given pieces. */
static void dist_xml(struct buf *b, const char *id, const char *time, int quantity,
                     const char *enabled)
{
    buf_reset(b);
    assert_int_equal(
        buf_addf(b,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<Distribution xmlns=\"" CF_XMLNS "\"><Id>%s</Id>"
                 "<ARN>arn:aws:cloudfront::123456789012:distribution/%s</ARN>"
                 "<Status>Deployed</Status><LastModifiedTime>%s</LastModifiedTime>"
                 "<InProgressInvalidationBatches>0</InProgressInvalidationBatches>"
                 "<DomainName>d111111abcdef8.cloudfront.net</DomainName><DistributionConfig>"
                 "<CallerReference>ref</CallerReference><Origins><Quantity>%d</Quantity><Items>"
                 "<Origin><Id>a</Id><DomainName>a.example.com</DomainName><CustomOriginConfig>"
                 "<HTTPPort>80</HTTPPort><HTTPSPort>443</HTTPSPort><OriginProtocolPolicy>"
                 "https-only</OriginProtocolPolicy></CustomOriginConfig></Origin></Items>"
                 "</Origins><DefaultCacheBehavior><TargetOriginId>a</TargetOriginId>"
                 "</DefaultCacheBehavior><Comment/><Enabled>%s</Enabled></DistributionConfig>"
                 "</Distribution>",
                 id, id, time, quantity, enabled),
        CFDR_OK);
}

static void add_step(json_object *script, int status, const char *etag, const char *body)
{
    json_object *step = json_object_new_object(), *h = json_object_new_object();
    json_object_object_add(step, "status", json_object_new_int(status));
    json_object_object_add(step, "body", json_object_new_string(body));
    json_object_object_add(h, "Content-Type", json_object_new_string("text/xml"));
    if (etag)
        json_object_object_add(h, "ETag", json_object_new_string(etag));
    json_object_object_add(step, "headers", h);
    json_object_array_add(script, step);
}

static void test_unexpected_answers(void **state)
{
    struct awsep_fx *fx = *state;
    static const char *const T = "2024-05-01T10:00:00.123Z";
    static const struct {
        const char *what; /* in the error message */
    } want[] = {
        {NULL}, /* the template itself is fine */
        {"is a <DistributionList>, not a <Distribution>"},
        {"no ETag header"},
        {"says Quantity 2 but lists 1 <Origin>"},
        {"<Id> in <Distribution> is longer than 63 bytes"},
        {"<Enabled> in <DistributionConfig> is not true or false"},
        {"LastModifiedTime 'yesterday' is not an ISO 8601 time"},
        {"DOCTYPE"},
        {"malformed XML"},
    };
    json_object *script = json_object_new_array();
    struct buf b;
    struct cf_distribution d = {0};
    struct cf_summary_list l = {0};
    struct aws_error ae;
    char longid[80];
    cfdr_err e;

    buf_init(&b, BUF_MAX_DOC);
    memset(longid, 'E', 70);
    longid[70] = '\0';
    dist_xml(&b, "E2QWRUHAPOMQZL", T, 1, "true");
    add_step(script, 200, "E3ETAG", buf_str(&b));
    add_step(script, 200, "E3ETAG", "<DistributionList xmlns=\"" CF_XMLNS "\"/>");
    add_step(script, 200, NULL, buf_str(&b));
    dist_xml(&b, "E2QWRUHAPOMQZL", T, 2, "true");
    add_step(script, 200, "E3ETAG", buf_str(&b));
    dist_xml(&b, longid, T, 1, "true");
    add_step(script, 200, "E3ETAG", buf_str(&b));
    dist_xml(&b, "E2QWRUHAPOMQZL", T, 1, "yes");
    add_step(script, 200, "E3ETAG", buf_str(&b));
    dist_xml(&b, "E2QWRUHAPOMQZL", "yesterday", 1, "true");
    add_step(script, 200, "E3ETAG", buf_str(&b));
    add_step(script, 200, "E3ETAG",
             "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x \"y\">]><Distribution/>");
    add_step(script, 200, "E3ETAG", "<Distribution><Id>E1</Id>");
    /* ListDistributions: truncated without a marker; then a marker that does not advance */
    add_step(script, 200, NULL,
             "<DistributionList><Marker/><MaxItems>1</MaxItems><IsTruncated>true</IsTruncated>"
             "<Quantity>0</Quantity></DistributionList>");
    add_step(script, 200, NULL,
             "<DistributionList><Marker/><NextMarker>E1</NextMarker><MaxItems>1</MaxItems>"
             "<IsTruncated>true</IsTruncated><Quantity>0</Quantity></DistributionList>");
    add_step(script, 200, NULL,
             "<DistributionList><Marker>E1</Marker><NextMarker>E1</NextMarker><MaxItems>1"
             "</MaxItems><IsTruncated>true</IsTruncated><Quantity>0</Quantity>"
             "</DistributionList>");
    awsep_start_scripted(&fx->ep, json_object_to_json_string(script));
    json_object_put(script);
    awsep_env(&fx->ep);

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        cfdr_code rc = cf_get_distribution(fx->t, "E2QWRUHAPOMQZL", &d, &ae, &e);
        if (!want[i].what) {
            if (rc != CFDR_OK)
                fail_msg("answer %zu: %s", i, e.msg);
            assert_string_equal(d.id, "E2QWRUHAPOMQZL");
            assert_string_equal(d.etag, "E3ETAG");
            assert_int_equal(d.last_modified_time, 1714557600);
            assert_int_equal(d.config.norigins, 1);
            assert_string_equal(d.config.origins[0].protocol_policy, "https-only");
            assert_int_equal(d.config.origins[0].read_timeout_s, 0);
            cf_distribution_free(&d);
            continue;
        }
        if (rc != CFDR_E_PARSE || !strstr(e.msg, want[i].what))
            fail_msg("answer %zu: wanted a parse error with \"%s\", got %s: %s", i, want[i].what,
                     err_code_name(rc), e.msg);
        assert_non_null(strstr(e.msg, "CloudFront GetDistribution: unexpected answer"));
        assert_string_equal(d.id, "");
        assert_null(d.config.origins);
    }
    assert_int_equal(cf_list_distributions(fx->t, 1, &l, &ae, &e), CFDR_E_PARSE);
    assert_non_null(strstr(e.msg, "truncated without a NextMarker"));
    assert_int_equal(cf_list_distributions(fx->t, 1, &l, &ae, &e), CFDR_E_PARSE);
    assert_non_null(strstr(e.msg, "does not advance"));
    assert_null(l.items);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_xml_follows_model),
        cmocka_unit_test(test_set_enabled_edits_only_the_switch),
        cmocka_unit_test_setup_teardown(test_diff_and_apply_spec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_body_is_the_fixture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_pages_and_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_and_dry_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_monitoring_subscription, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttling_storm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unexpected_answers, setup_scripted, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
