/* Unit tests for aws/xml: safe parsing, navigation by local name, and the builder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aws/xml.h"

#define CF_NS "http://cloudfront.amazonaws.com/doc/2020-05-31/"

static const char distribution_xml[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Distribution xmlns=\"" CF_NS "\">"
    "<Id>E2QWRUHAPOMQZL</Id>"
    "<ARN>arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL</ARN>"
    "<Status>InProgress</Status>"
    "<DomainName>d111111abcdef8.cloudfront.net</DomainName>"
    "<DistributionConfig>"
    "<CallerReference>cfdr-dr-demo-1</CallerReference>"
    "<Origins><Quantity>2</Quantity><Items>"
    "<Origin><Id>primary</Id><DomainName>abc.us-east-1.awsapprunner.com</DomainName></Origin>"
    "<Origin><Id>secondary</Id><DomainName>def.us-west-2.awsapprunner.com</DomainName></Origin>"
    "</Items></Origins>"
    "<Comment>a &amp; b &lt;c&gt; <![CDATA[<raw>]]></Comment>"
    "<Enabled>true</Enabled>"
    "</DistributionConfig>"
    "</Distribution>";

static void test_parse_and_navigate(void **state)
{
    struct xml_doc *d = NULL;
    const struct xml_node *root, *o;
    struct buf b;
    cfdr_err e;
    char small[8];
    (void)state;

    assert_int_equal(xml_parse(distribution_xml, strlen(distribution_xml), 65536, &d, &e), CFDR_OK);
    root = xml_root(d);
    assert_string_equal(xml_name(root), "Distribution");
    assert_string_equal(xml_ns(root), CF_NS);

    buf_init(&b, 1024);
    assert_int_equal(xml_text(xml_child(root, "Id"), &b), CFDR_OK);
    assert_string_equal(buf_str(&b), "E2QWRUHAPOMQZL");
    buf_reset(&b);
    assert_int_equal(xml_text(xml_path(root, "DistributionConfig/Origins/Quantity"), &b), CFDR_OK);
    assert_string_equal(buf_str(&b), "2");
    buf_reset(&b);
    assert_int_equal(xml_text(xml_path(root, "DistributionConfig/Comment"), &b), CFDR_OK);
    assert_string_equal(buf_str(&b), "a & b <c> <raw>");

    /* lists: iterate siblings by name */
    o = xml_path(root, "DistributionConfig/Origins/Items/Origin");
    assert_non_null(o);
    assert_int_equal(xml_count(xml_path(root, "DistributionConfig/Origins/Items"), "Origin"), 2);
    assert_int_equal(xml_count(xml_path(root, "DistributionConfig/Origins/Items"), NULL), 2);
    assert_int_equal(xml_count(root, "Nope"), 0);
    buf_reset(&b);
    assert_int_equal(xml_text(xml_child(o, "Id"), &b), CFDR_OK);
    assert_string_equal(buf_str(&b), "primary");
    o = xml_next(o, "Origin");
    buf_reset(&b);
    assert_int_equal(xml_text(xml_child(o, "DomainName"), &b), CFDR_OK);
    assert_string_equal(buf_str(&b), "def.us-west-2.awsapprunner.com");
    assert_null(xml_next(o, "Origin"));

    /* missing things are NULL, not crashes */
    assert_null(xml_child(root, "LastModifiedTime"));
    assert_null(xml_path(root, "DistributionConfig/Nope/Quantity"));
    assert_null(xml_path(NULL, "Id"));
    assert_ptr_equal(xml_path(root, ""), root);
    assert_null(xml_path(root, "DistributionConfig//Comment"));
    assert_int_equal(xml_text(NULL, &b), CFDR_E_NOTFOUND);

    /* copy into fixed arrays, cut to fit */
    assert_int_equal(xml_text_copy(xml_child(root, "Status"), small, sizeof(small)), 0);
    assert_string_equal(small, "InProgr");
    assert_int_equal(xml_text_copy(xml_child(root, "Id"), small, 3), 0);
    assert_string_equal(small, "E2");
    assert_int_equal(xml_text_copy(NULL, small, sizeof(small)), 0);
    assert_string_equal(small, "");
    {
        char big[64];
        assert_int_equal(xml_text_copy(xml_child(root, "Status"), big, sizeof(big)), 1);
        assert_string_equal(big, "InProgress");
    }

    /* the bound of the output buffer holds */
    {
        struct buf tiny;
        buf_init(&tiny, 4);
        assert_int_equal(xml_text(xml_child(root, "Id"), &tiny), CFDR_E_TOOBIG);
        buf_free(&tiny);
    }
    buf_free(&b);
    xml_doc_free(d);
    xml_doc_free(NULL);
}

static void test_text_copy_keeps_utf8_whole(void **state)
{
    /* "é" is 2 bytes: a cut inside it must drop it entirely */
    static const char doc[] = "<a><b>x\xc3\xa9y</b></a>";
    struct xml_doc *d = NULL;
    char out[3];
    (void)state;
    assert_int_equal(xml_parse(doc, strlen(doc), 1024, &d, NULL), CFDR_OK);
    assert_int_equal(xml_text_copy(xml_child(xml_root(d), "b"), out, sizeof(out)), 0);
    assert_string_equal(out, "x");
    xml_doc_free(d);
}

/* Runs xml_parse with stderr redirected to a file; returns what libxml2 printed (must be ""). */
static cfdr_code parse_quietly(const char *text, size_t max, cfdr_err *e, char *printed,
                               size_t printed_size)
{
    struct xml_doc *d = NULL;
    FILE *tmp = tmpfile();
    int saved;
    cfdr_code rc;
    size_t n;

    assert_non_null(tmp);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    rc = xml_parse(text, strlen(text), max, &d, e);
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    rewind(tmp);
    n = fread(printed, 1, printed_size - 1, tmp);
    printed[n] = '\0';
    fclose(tmp);
    if (rc == CFDR_OK)
        xml_doc_free(d);
    else
        assert_null(d);
    return rc;
}

static void test_parse_refuses_bad_and_hostile_documents(void **state)
{
    static const char laughs[] =
        "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n"
        "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
        "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
        "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
        "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
        "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
        "<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
        "<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
        "]>\n<lolz>&lol9;</lolz>";
    static const char xxe[] = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM "
                              "\"file:///etc/passwd\">]><r>&x;</r>";
    static const char net[] = "<!DOCTYPE r SYSTEM \"http://127.0.0.1:9/evil.dtd\"><r/>";
    char printed[4096];
    cfdr_err e;
    struct xml_doc *d = (struct xml_doc *)1;
    clock_t t0 = clock();
    (void)state;

    assert_int_equal(parse_quietly(laughs, 1 << 20, &e, printed, sizeof(printed)), CFDR_E_PARSE);
    assert_string_equal(e.msg, "XML document has a DOCTYPE, which is not accepted");
    assert_string_equal(printed, "");
    /* refused before any expansion: well under a second of CPU */
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0);

    assert_int_equal(parse_quietly(xxe, 1 << 20, &e, printed, sizeof(printed)), CFDR_E_PARSE);
    assert_non_null(strstr(e.msg, "DOCTYPE"));
    assert_int_equal(parse_quietly(net, 1 << 20, &e, printed, sizeof(printed)), CFDR_E_PARSE);
    assert_non_null(strstr(e.msg, "DOCTYPE"));

    assert_int_equal(parse_quietly("<a><b></a>", 1024, &e, printed, sizeof(printed)), CFDR_E_PARSE);
    assert_non_null(strstr(e.msg, "malformed XML (line 1)"));
    assert_string_equal(printed, ""); /* libxml2 printed nothing on its own */
    assert_int_equal(
        parse_quietly("<html><body>502 Bad Gateway", 1024, &e, printed, sizeof(printed)),
        CFDR_E_PARSE);
    assert_int_equal(parse_quietly("not xml at all", 1024, &e, printed, sizeof(printed)),
                     CFDR_E_PARSE);
    assert_int_equal(parse_quietly("<a>&undefined;</a>", 1024, &e, printed, sizeof(printed)),
                     CFDR_E_PARSE);
    assert_string_equal(printed, "");

    assert_int_equal(xml_parse("", 0, 1024, &d, &e), CFDR_E_PARSE);
    assert_null(d);
    assert_int_equal(xml_parse("<a>0123456789</a>", 17, 16, &d, &e), CFDR_E_TOOBIG);
    assert_string_equal(e.msg, "XML document of 17 bytes exceeds the 16-byte limit");
    /* a length that stops before the end is honoured (no NUL needed) */
    assert_int_equal(xml_parse("<a/>garbage", 4, 16, &d, &e), CFDR_OK);
    assert_string_equal(xml_name(xml_root(d)), "a");
    xml_doc_free(d);
}

static void test_writer_builds_distribution_config(void **state)
{
    struct xml_writer *w = NULL;
    struct xml_doc *d = NULL;
    struct buf out, t;
    cfdr_err e;
    (void)state;

    assert_int_equal(xml_writer_new("DistributionConfig", CF_NS, &w, &e), CFDR_OK);
    assert_int_equal(xml_writer_elem(w, "CallerReference", "cfdr-dr-demo-1"), CFDR_OK);
    assert_int_equal(xml_writer_start(w, "Origins"), CFDR_OK);
    assert_int_equal(xml_writer_elemf(w, "Quantity", "%d", 2), CFDR_OK);
    assert_int_equal(xml_writer_start(w, "Items"), CFDR_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(xml_writer_start(w, "Origin"), CFDR_OK);
        assert_int_equal(xml_writer_elem(w, "Id", i ? "secondary" : "primary"), CFDR_OK);
        assert_int_equal(xml_writer_end(w), CFDR_OK);
    }
    assert_int_equal(xml_writer_end(w), CFDR_OK);
    assert_int_equal(xml_writer_end(w), CFDR_OK);
    assert_int_equal(xml_writer_elem(w, "Comment", "R&D <failover> \"drill\" caf\xc3\xa9"),
                     CFDR_OK);
    assert_int_equal(xml_writer_elem(w, "Enabled", "true"), CFDR_OK);
    /* the root is closed by finish, not by end */
    assert_int_equal(xml_writer_end(w), CFDR_E_INTERNAL);
    buf_init(&out, BUF_MAX_DOC);
    /* that failure sticks */
    assert_int_equal(xml_writer_finish(w, &out, &e), CFDR_E_INTERNAL);
    assert_non_null(strstr(e.msg, "without an open child element"));
    xml_writer_free(w);
    buf_free(&out);

    /* again, correctly */
    assert_int_equal(xml_writer_new("DistributionConfig", CF_NS, &w, &e), CFDR_OK);
    assert_int_equal(xml_writer_elem(w, "CallerReference", "cfdr-dr-demo-1"), CFDR_OK);
    assert_int_equal(xml_writer_start(w, "Origins"), CFDR_OK);
    assert_int_equal(xml_writer_elemf(w, "Quantity", "%d", 1), CFDR_OK);
    assert_int_equal(xml_writer_end(w), CFDR_OK);
    assert_int_equal(xml_writer_elem(w, "Comment", "R&D <failover> caf\xc3\xa9"), CFDR_OK);
    assert_int_equal(xml_writer_elem(w, "DefaultRootObject", ""), CFDR_OK);
    buf_init(&out, BUF_MAX_DOC);
    assert_int_equal(xml_writer_finish(w, &out, &e), CFDR_OK);
    xml_writer_free(w);
    assert_string_equal(buf_str(&out), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                       "<DistributionConfig xmlns=\"" CF_NS "\">"
                                       "<CallerReference>cfdr-dr-demo-1</CallerReference>"
                                       "<Origins><Quantity>1</Quantity></Origins>"
                                       "<Comment>R&amp;D &lt;failover&gt; caf\xc3\xa9</Comment>"
                                       "<DefaultRootObject></DefaultRootObject>"
                                       "</DistributionConfig>\n");

    /* and it reads back */
    assert_int_equal(xml_parse(buf_str(&out), buf_len(&out), BUF_MAX_DOC, &d, &e), CFDR_OK);
    assert_string_equal(xml_ns(xml_root(d)), CF_NS);
    buf_init(&t, 256);
    assert_int_equal(xml_text(xml_child(xml_root(d), "Comment"), &t), CFDR_OK);
    assert_string_equal(buf_str(&t), "R&D <failover> caf\xc3\xa9");
    buf_free(&t);
    xml_doc_free(d);
    buf_free(&out);
}

static void test_writer_refuses_what_xml_cannot_carry(void **state)
{
    struct xml_writer *w = NULL;
    struct buf out;
    cfdr_err e;
    (void)state;

    assert_int_equal(xml_writer_new("1bad", NULL, &w, &e), CFDR_E_INTERNAL);
    assert_null(w);
    assert_int_equal(xml_writer_new("Root", NULL, &w, &e), CFDR_OK);
    assert_int_equal(xml_writer_elem(w, "Comment", "bell\x07"), CFDR_E_CONFIG);
    /* sticky: later calls fail with the first error */
    assert_int_equal(xml_writer_elem(w, "Enabled", "true"), CFDR_E_CONFIG);
    buf_init(&out, 1024);
    assert_int_equal(xml_writer_finish(w, &out, &e), CFDR_E_CONFIG);
    assert_string_equal(e.msg, "building XML: the value for XML element <Comment> holds a control "
                               "character or invalid UTF-8, which XML cannot carry");
    assert_int_equal(buf_len(&out), 0);
    xml_writer_free(w);

    assert_int_equal(xml_writer_new("Root", NULL, &w, &e), CFDR_OK);
    assert_int_equal(xml_writer_elem(w, "Comment", "bad \xff utf8"), CFDR_E_CONFIG);
    xml_writer_free(w);

    assert_int_equal(xml_writer_new("Root", NULL, &w, &e), CFDR_OK);
    assert_int_equal(xml_writer_start(w, "a b"), CFDR_E_INTERNAL);
    xml_writer_free(w);

    /* the output bound holds */
    assert_int_equal(xml_writer_new("Root", NULL, &w, &e), CFDR_OK);
    assert_int_equal(xml_writer_elem(w, "Comment", "0123456789012345678901234567890123456789"),
                     CFDR_OK);
    assert_int_equal(xml_writer_finish(w, &out, &e), CFDR_OK);
    xml_writer_free(w);
    buf_free(&out);
    assert_int_equal(xml_writer_new("Root", NULL, &w, &e), CFDR_OK);
    assert_int_equal(xml_writer_elem(w, "Comment", "0123456789012345678901234567890123456789"),
                     CFDR_OK);
    buf_init(&out, 32);
    assert_int_equal(xml_writer_finish(w, &out, &e), CFDR_E_TOOBIG);
    assert_non_null(strstr(e.msg, "does not fit in 32 bytes"));
    xml_writer_free(w);
    buf_free(&out);
    xml_writer_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_navigate),
        cmocka_unit_test(test_text_copy_keeps_utf8_whole),
        cmocka_unit_test(test_parse_refuses_bad_and_hostile_documents),
        cmocka_unit_test(test_writer_builds_distribution_config),
        cmocka_unit_test(test_writer_refuses_what_xml_cannot_carry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
