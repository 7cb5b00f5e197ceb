/* Unit tests for drills/servedby: which origin served each edge probe when the origins do not
 * say so. A simulated drill: the primary serves until FAIL_S and again from BACK_S, the edge
 * is probed at 20/s, both origins directly at 10/s; each case changes what the answers look
 * like and says which method must be chosen and how many probes may be uncertain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <math.h>
#include <string.h>

#include "drills/servedby.h"

#define EDGE_RATE 20.0
#define DIRECT_RATE 10.0
#define SECONDS 6.0
#define NEDGE 120
#define NDIRECT 60
#define BODY_P 0x1111ULL
#define BODY_S 0x2222ULL
#define HDR_P 0x3333ULL
#define HDR_S 0x4444ULL

struct world_case {
    const char *name;
    double fail_s, back_s;    /* the primary fails at fail_s and serves again from back_s */
    int edge_header;          /* the edge's answers already name their origin */
    int prim_body_varies;     /* the primary's body changes per answer (a timestamp in it) */
    int same_body, same_hdrs; /* both origins answer with the same body / headers */
    int edge_rewrites;        /* the edge's answers carry neither origin's fingerprint */
    int prim_samples;         /* healthy direct answers of the primary kept; 0: all */
    int no_secondary_direct;  /* the secondary was not probed directly */
    int no_direct;            /* nothing was probed directly */
    int prim_unreachable;     /* every direct probe of the primary failed (a firewall) */
    int edge_errors_from;     /* edge probes from this index on get a 502; 0: none */
    enum drill_servedby_method method;
    const char *fingerprint;
    size_t max_uncertain;
};

static int primary_serves(const struct world_case *c, double t)
{
    return t < c->fail_s || t >= c->back_s;
}

static void run_case(const struct world_case *c)
{
    struct drill_probe edge[NEDGE];
    struct drill_print prints[NEDGE];
    struct drill_direct prim[NDIRECT], sec[NDIRECT];
    struct drill_servedby_result res;
    size_t np = 0, ns = 0, healthy_kept = 0, wrong = 0, attributed = 0;

    memset(edge, 0, sizeof(edge));
    memset(prints, 0, sizeof(prints));
    for (size_t k = 0; k < NDIRECT; k++) {
        double t = (double)k / DIRECT_RATE;
        int ok = primary_serves(c, t) && !c->prim_unreachable;
        if (ok && c->prim_samples && healthy_kept >= (size_t)c->prim_samples)
            continue;
        healthy_kept += ok;
        prim[np].sent_s = t;
        prim[np].healthy = ok;
        prim[np].print.body_hash = ok ? (c->prim_body_varies ? 0x9000ULL + k : BODY_P) : 0x404ULL;
        prim[np].print.header_hash = ok ? HDR_P : 0x405ULL;
        np++;
        sec[ns].sent_s = t + 0.001;
        sec[ns].healthy = 1;
        sec[ns].print.body_hash = c->same_body ? BODY_P : BODY_S;
        sec[ns].print.header_hash = c->same_hdrs ? HDR_P : HDR_S;
        ns++;
    }
    for (size_t i = 0; i < NEDGE; i++) {
        double t = (double)i / EDGE_RATE + 0.013;
        int by_prim = primary_serves(c, t);
        edge[i].sent_s = t;
        edge[i].latency_s = 0.004;
        edge[i].status = c->edge_errors_from && i >= (size_t)c->edge_errors_from ? 502 : 200;
        if (c->edge_header && edge[i].status == 200)
            edge[i].served_by = by_prim ? DRILL_ORIGIN_PRIMARY : DRILL_ORIGIN_SECONDARY;
        prints[i].body_hash = by_prim ? (c->prim_body_varies ? 0x9000ULL + i : BODY_P)
                                      : (c->same_body ? BODY_P : BODY_S);
        prints[i].header_hash = by_prim ? HDR_P : (c->same_hdrs ? HDR_P : HDR_S);
        if (c->edge_rewrites) {
            prints[i].body_hash ^= 0xABCDULL;
            prints[i].header_hash ^= 0xABCDULL;
        }
    }
    drill_servedby_attribute(edge, prints, NEDGE, prim, c->no_direct ? 0 : np, sec,
                             c->no_direct || c->no_secondary_direct ? 0 : ns, 2.5 / DIRECT_RATE,
                             &res);

    if (res.method != c->method)
        fail_msg("%s: method %s, expected %s", c->name, drill_servedby_method_name(res.method),
                 drill_servedby_method_name(c->method));
    if ((c->fingerprint == NULL) != (res.fingerprint == NULL) ||
        (c->fingerprint && strcmp(c->fingerprint, res.fingerprint) != 0))
        fail_msg("%s: fingerprint %s, expected %s", c->name,
                 res.fingerprint ? res.fingerprint : "(none)",
                 c->fingerprint ? c->fingerprint : "(none)");
    for (size_t i = 0; i < NEDGE; i++) {
        enum drill_origin truth =
            primary_serves(c, edge[i].sent_s) ? DRILL_ORIGIN_PRIMARY : DRILL_ORIGIN_SECONDARY;
        if (edge[i].status != 200) {
            if (edge[i].served_by != DRILL_ORIGIN_UNKNOWN)
                fail_msg("%s: an edge error was attributed (probe %zu)", c->name, i);
            continue;
        }
        if (c->method == DRILL_SERVEDBY_NONE) {
            if (edge[i].served_by != DRILL_ORIGIN_UNKNOWN)
                fail_msg("%s: probe %zu attributed without anything to go on", c->name, i);
            continue;
        }
        attributed += edge[i].served_by != DRILL_ORIGIN_UNKNOWN;
        wrong += edge[i].served_by != truth;
    }
    if (c->method != DRILL_SERVEDBY_NONE && c->method != DRILL_SERVEDBY_HEADER &&
        res.attributed != attributed)
        fail_msg("%s: %zu attributed, result says %zu", c->name, attributed, res.attributed);
    /* Only a probe flagged uncertain may be wrong. */
    if (wrong > res.uncertain)
        fail_msg("%s: %zu probes attributed wrongly, only %zu flagged uncertain", c->name, wrong,
                 res.uncertain);
    if (res.uncertain > c->max_uncertain)
        fail_msg("%s: %zu uncertain, at most %zu expected", c->name, res.uncertain,
                 c->max_uncertain);
}

static void test_attribution_table(void **state)
{
    static const struct world_case cases[] = {
        {.name = "header: nothing to infer",
         .fail_s = 2.05,
         .back_s = 99,
         .edge_header = 1,
         .method = DRILL_SERVEDBY_HEADER},
        {.name = "bodies differ: body fingerprint, exact",
         .fail_s = 2.05,
         .back_s = 99,
         .method = DRILL_SERVEDBY_FINGERPRINT,
         .fingerprint = "body"},
        {.name = "bodies differ, failback too",
         .fail_s = 2.05,
         .back_s = 4.02,
         .method = DRILL_SERVEDBY_FINGERPRINT,
         .fingerprint = "body"},
        {.name = "primary body varies, headers differ: header fingerprint",
         .fail_s = 2.05,
         .back_s = 99,
         .prim_body_varies = 1,
         .method = DRILL_SERVEDBY_FINGERPRINT,
         .fingerprint = "headers"},
        {.name = "same body, headers differ: header fingerprint",
         .fail_s = 2.05,
         .back_s = 99,
         .same_body = 1,
         .method = DRILL_SERVEDBY_FINGERPRINT,
         .fingerprint = "headers"},
        {.name = "identical answers: primary health",
         .fail_s = 2.05,
         .back_s = 99,
         .same_body = 1,
         .same_hdrs = 1,
         .method = DRILL_SERVEDBY_PRIMARY_HEALTH,
         .max_uncertain = 2},
        {.name = "identical answers, outage and failback",
         .fail_s = 2.05,
         .back_s = 4.02,
         .same_body = 1,
         .same_hdrs = 1,
         .method = DRILL_SERVEDBY_PRIMARY_HEALTH,
         .max_uncertain = 4},
        {.name = "the edge rewrites answers: primary health",
         .fail_s = 2.05,
         .back_s = 99,
         .edge_rewrites = 1,
         .method = DRILL_SERVEDBY_PRIMARY_HEALTH,
         .max_uncertain = 2},
        {.name = "too few primary samples for a fingerprint",
         .fail_s = 99,
         .back_s = 99,
         .prim_samples = DRILL_SERVEDBY_MIN_SAMPLES - 1,
         .method = DRILL_SERVEDBY_PRIMARY_HEALTH,
         .max_uncertain = NEDGE},
        {.name = "secondary not probed: primary health",
         .fail_s = 2.05,
         .back_s = 99,
         .no_secondary_direct = 1,
         .method = DRILL_SERVEDBY_PRIMARY_HEALTH,
         .max_uncertain = 2},
        {.name = "no direct probes: origins stay unknown",
         .fail_s = 2.05,
         .back_s = 99,
         .no_direct = 1,
         .method = DRILL_SERVEDBY_NONE},
        {.name = "primary never reached directly: origins stay unknown",
         .fail_s = 2.05,
         .back_s = 99,
         .same_body = 1,
         .same_hdrs = 1,
         .prim_unreachable = 1,
         .method = DRILL_SERVEDBY_NONE},
        {.name = "edge errors are never attributed",
         .fail_s = 2.05,
         .back_s = 99,
         .same_body = 1,
         .same_hdrs = 1,
         .edge_errors_from = 100,
         .method = DRILL_SERVEDBY_PRIMARY_HEALTH,
         .max_uncertain = 2},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
}

/* Probes after the last direct probe, or before the first, are uncertain beyond the gap. */
static void test_primary_health_edges(void **state)
{
    struct drill_direct prim[3] = {{1.0, 1, {0, 0}}, {1.1, 1, {0, 0}}, {1.2, 0, {0, 0}}};
    struct drill_probe p[4];
    struct drill_servedby_result r;
    (void)state;
    memset(p, 0, sizeof(p));
    for (int i = 0; i < 4; i++)
        p[i].status = 200;
    p[0].sent_s = 0.99; /* just before the first: certain, primary */
    p[1].sent_s = 0.2;  /* long before the first: primary, uncertain */
    p[2].sent_s = 1.25; /* just after the last (failing): certain, secondary */
    p[3].sent_s = 9.0;  /* long after: secondary, uncertain */
    drill_servedby_attribute(p, NULL, 4, prim, 3, NULL, 0, 0.25, &r);
    assert_int_equal(r.method, DRILL_SERVEDBY_PRIMARY_HEALTH);
    assert_int_equal(p[0].served_by, DRILL_ORIGIN_PRIMARY);
    assert_int_equal(p[1].served_by, DRILL_ORIGIN_PRIMARY);
    assert_int_equal(p[2].served_by, DRILL_ORIGIN_SECONDARY);
    assert_int_equal(p[3].served_by, DRILL_ORIGIN_SECONDARY);
    assert_int_equal(r.attributed, 4);
    assert_int_equal(r.uncertain, 2);
}

static void test_healthy(void **state)
{
    static const struct {
        int status, error;
        double latency_s, timeout_s;
        int want;
    } t[] = {
        {200, 0, 0.01, 30, 1}, {301, 0, 0.01, 30, 1}, {404, 0, 0.01, 30, 0}, {503, 0, 0.01, 30, 0},
        {403, 0, 0.01, 30, 0}, {0, 7, 0.01, 30, 0},   {200, 28, 1.0, 30, 0}, {200, 0, 35.0, 30, 0},
        {200, 0, 35.0, 0, 1},  {199, 0, 0.01, 30, 0}, {400, 0, 0.01, 30, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (drill_servedby_healthy(t[i].status, t[i].error, t[i].latency_s, t[i].timeout_s) !=
            t[i].want)
            fail_msg("healthy(%d, %d, %.2f, %.0f) != %d", t[i].status, t[i].error, t[i].latency_s,
                     t[i].timeout_s, t[i].want);
}

static void test_first_change(void **state)
{
    struct drill_direct d[] = {
        {0.0, 1, {0, 0}}, {0.5, 1, {0, 0}}, {1.0, 0, {0, 0}}, {1.5, 0, {0, 0}}, {2.0, 1, {0, 0}}};
    (void)state;
    assert_true(drill_servedby_first(d, 5, 0.2, 0) == 1.0);
    assert_true(drill_servedby_first(d, 5, 1.2, 1) == 2.0);
    assert_true(drill_servedby_first(d, 5, 0.0, 1) == 0.0);
    assert_true(drill_servedby_first(d, 5, 2.1, 0) == -1);
    assert_true(drill_servedby_first(d, 0, 0.0, 0) == -1);
}

/* The change of the primary's health a drill's event comes from: `run` consecutive direct
 * probes of one health, searched in a window. Probes are sent every 0.1 s from t = 0; 'H'
 * healthy, 'F' failing. */
static void test_first_run_table(void **state)
{
    static const struct {
        const char *probes;
        double from_s, until_s;
        int healthy;
        size_t run;
        double want; /* -1: none */
        const char *why;
    } cases[] = {
        {"HHFFFFF", 0.15, -1, 0, 3, 0.2, "the first of three failures is the start"},
        {"HHFHHFFFF", 0.15, -1, 0, 3, 0.5, "one transient failure does not start the outage"},
        {"HHFFHFFF", 0.15, -1, 0, 3, 0.5, "two failures then a success: not yet"},
        {"HFFFHH", 0.05, -1, 0, 3, 0.1, "the request just before the run"},
        {"HFFFHH", 0.15, -1, 0, 3, -1, "a run begun before the request is not a start"},
        {"FFFHHFFF", 0.25, -1, 0, 3, 0.5, "failures before the request do not count"},
        {"HHHHFFF", 0.15, 0.55, 0, 3, -1, "a run cut by the window's end (the recovery) is none"},
        {"HHHFFFF", 0.15, 0.65, 0, 3, 0.3, "a run inside the window"},
        {"HHFFFFF", 0.15, 0.3, 0, 3, -1, "a start after the end of the event is none"},
        {"HHFF", 0.0, -1, 0, 3, -1, "too few probes left"},
        {"FFHFHHH", 0.0, -1, 1, 3, 0.4, "failback: three successes in a row"},
        {"FFHFHH", 0.0, -1, 1, 3, -1, "failback: two successes at the end are not enough"},
        {"HHFHH", 0.15, -1, 0, 1, 0.2, "a run of one is the old rule"},
        {"", 0.0, -1, 0, 3, -1, "no direct probes"},
    };
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct drill_direct d[16];
        size_t n = strlen(cases[c].probes);
        double got;
        memset(d, 0, sizeof(d));
        for (size_t i = 0; i < n; i++) {
            d[i].sent_s = 0.1 * (double)i;
            d[i].healthy = cases[c].probes[i] == 'H';
        }
        got = drill_servedby_first_run(d, n, cases[c].from_s, cases[c].until_s, cases[c].healthy,
                                       cases[c].run);
        if (cases[c].want < 0 ? got >= 0 : fabs(got - cases[c].want) > 1e-9)
            fail_msg("case %zu (%s): got %g, want %g", c, cases[c].why, got, cases[c].want);
    }
}

static void test_method_names(void **state)
{
    (void)state;
    for (int m = DRILL_SERVEDBY_NONE; m <= DRILL_SERVEDBY_PRIMARY_HEALTH; m++)
        assert_int_equal(drill_servedby_method_from_name(
                             drill_servedby_method_name((enum drill_servedby_method)m)),
                         m);
    assert_string_equal(drill_servedby_method_name(DRILL_SERVEDBY_PRIMARY_HEALTH),
                        "primary-health");
    assert_null(drill_servedby_method_name((enum drill_servedby_method)9));
    assert_int_equal(drill_servedby_method_from_name("Header"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attribution_table), cmocka_unit_test(test_primary_health_edges),
        cmocka_unit_test(test_healthy),           cmocka_unit_test(test_first_change),
        cmocka_unit_test(test_first_run_table),   cmocka_unit_test(test_method_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
