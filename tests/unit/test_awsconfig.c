/* Unit tests for aws/awsconfig: the shared config/credentials file parser, profile lookup,
 * path expansion and shlex splitting, with the parser cross-checked against botocore. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "aws/awsconfig.h"
#include "aws/buf.h"

/* ---- fixture: a temporary directory and a saved environment ---- */

static const char *const saved_vars[] = {"HOME", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
                                         "CFDR_TEST_VAR"};
#define NSAVED (sizeof(saved_vars) / sizeof(saved_vars[0]))

struct fx {
    char dir[256];
    char *saved[NSAVED];
    int had[NSAVED];
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/cfdr-awsconfig-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    for (size_t i = 0; i < NSAVED; i++) {
        const char *v = getenv(saved_vars[i]);
        fx->had[i] = v != NULL;
        fx->saved[i] = v ? strdup(v) : NULL;
    }
    /* Never the real ~/.aws. */
    setenv("HOME", fx->dir, 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/cfdr-test-config", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/cfdr-test-credentials", 1);
    *state = fx;
    return 0;
}

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (unlink(p) != 0)
            rm_tree(p);
    }
    closedir(d);
    rmdir(dir);
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    for (size_t i = 0; i < NSAVED; i++) {
        if (fx->had[i])
            setenv(saved_vars[i], fx->saved[i], 1);
        else
            unsetenv(saved_vars[i]);
        free(fx->saved[i]);
    }
    rm_tree(fx->dir);
    free(fx);
    return 0;
}

static void write_file(const struct fx *fx, const char *name, const char *text, char *path_out,
                       size_t path_sz)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    if (path_out)
        snprintf(path_out, path_sz, "%s", path);
}

static struct awsconfig_file *parse_ok(const char *text)
{
    struct awsconfig_file *f = NULL;
    cfdr_err e;
    err_clear(&e);
    cfdr_code rc = awsconfig_parse("test.ini", text, strlen(text), &f, &e);
    if (rc)
        fail_msg("parse failed: %s", e.msg);
    assert_non_null(f);
    return f;
}

static void parse_fails(const char *text, size_t len, const char *want_in_msg)
{
    struct awsconfig_file *f = NULL;
    cfdr_err e;
    err_clear(&e);
    assert_int_equal(awsconfig_parse("bad.ini", text, len, &f, &e), CFDR_E_CONFIG);
    assert_null(f);
    if (!strstr(e.msg, want_in_msg))
        fail_msg("message '%s' lacks '%s'", e.msg, want_in_msg);
    assert_non_null(strstr(e.msg, "bad.ini"));
}

#define PARSE_FAILS(lit, want) parse_fails(lit, sizeof(lit) - 1, want)

/* ---- parsing ---- */

static void test_parse_basics(void **state)
{
    (void)state;
    struct awsconfig_file *f = parse_ok("# leading comment\n"
                                        "; another\n"
                                        "\n"
                                        "[default]\n"
                                        "Region = us-east-1   \n"
                                        "  # indented comment\n"
                                        "output: json\n"
                                        "colon:in = value\n"
                                        "inline = x # not a comment\n"
                                        "empty =\n"
                                        "AWS_Access_Key_ID=AKIDEXAMPLE\n"
                                        "[other] trailing text\r\n"
                                        "k = v\r"
                                        "k2 = v2\r\n");
    const struct awsconfig_section *d = awsconfig_file_section(f, "default");
    assert_non_null(d);
    assert_int_equal(d->line, 4);
    assert_string_equal(awsconfig_section_get(d, "region"), "us-east-1");
    assert_string_equal(awsconfig_section_get(d, "REGION"), "us-east-1");
    assert_string_equal(d->props[0].key, "region");
    assert_int_equal(awsconfig_section_prop(d, "region")->line, 5);
    assert_string_equal(awsconfig_section_get(d, "output"), "json");
    /* the first '=' or ':' splits: key "colon", value "in = value" */
    assert_string_equal(awsconfig_section_get(d, "colon"), "in = value");
    assert_string_equal(awsconfig_section_get(d, "inline"), "x # not a comment");
    assert_string_equal(awsconfig_section_get(d, "empty"), "");
    assert_string_equal(awsconfig_section_get(d, "aws_access_key_id"), "AKIDEXAMPLE");
    assert_null(awsconfig_section_get(d, "missing"));
    /* "[other] trailing text": the header ends at the last ']' */
    const struct awsconfig_section *o = awsconfig_file_section(f, "other");
    assert_non_null(o);
    assert_string_equal(awsconfig_section_get(o, "k"), "v");
    assert_string_equal(awsconfig_section_get(o, "k2"), "v2");
    assert_int_equal(awsconfig_section_prop(o, "k2")->line, 14);
    assert_null(awsconfig_file_section(f, "Default"));
    assert_int_equal(f->nsections, 2);
    awsconfig_file_free(f);
}

static void test_parse_continuations_and_nested(void **state)
{
    (void)state;
    struct awsconfig_file *f = parse_ok("[profile dev]\n"
                                        "region = eu-west-1\n"
                                        "s3 =\n"
                                        "    addressing_style = path\n"
                                        "\n"
                                        "    # comment inside\n"
                                        "    Signature_Version=s3v4\n"
                                        "multi = first\n"
                                        "  second\n"
                                        "\n"
                                        "  third\n"
                                        "\n"
                                        "empty_block =\n"
                                        "\n"
                                        "output = text\n");
    const struct awsconfig_section *s = awsconfig_config_profile(f, "dev");
    assert_non_null(s);
    const struct awsconfig_prop *s3 = awsconfig_section_prop(s, "s3");
    assert_non_null(s3);
    assert_string_equal(s3->value, "");
    assert_int_equal(s3->nsub, 2);
    assert_string_equal(awsconfig_prop_sub(s3, "addressing_style"), "path");
    /* nested keys keep their case, as botocore's _parse_nested */
    assert_string_equal(awsconfig_prop_sub(s3, "Signature_Version"), "s3v4");
    assert_null(awsconfig_prop_sub(s3, "signature_version"));
    assert_int_equal(s3->sub[1].line, 7);
    assert_string_equal(awsconfig_section_get(s, "multi"), "first\nsecond\n\nthird");
    assert_string_equal(awsconfig_section_get(s, "empty_block"), "");
    assert_null(awsconfig_section_prop(s, "empty_block")->sub);
    assert_string_equal(awsconfig_section_get(s, "output"), "text");
    assert_string_equal(awsconfig_section_get(s, "region"), "eu-west-1");
    awsconfig_file_free(f);
}

static void test_parse_duplicates_and_default_section(void **state)
{
    (void)state;
    struct awsconfig_file *f = parse_ok("[a]\n"
                                        "k = 1\n"
                                        "s3 =\n"
                                        "  x = 1\n"
                                        "K = 2\n"
                                        "[DEFAULT]\n"
                                        "shared = from-default\n"
                                        "k = default-k\n"
                                        "[b]\n"
                                        "other = 1\n"
                                        "[a]\n"
                                        "s3 = flat\n"
                                        "extra = yes\n");
    const struct awsconfig_section *a = awsconfig_file_section(f, "a");
    assert_non_null(a);
    assert_string_equal(awsconfig_section_get(a, "k"), "2"); /* later key wins */
    assert_string_equal(awsconfig_section_get(a, "extra"), "yes");
    assert_string_equal(awsconfig_section_get(a, "s3"), "flat"); /* replaced entirely */
    assert_int_equal(awsconfig_section_prop(a, "s3")->nsub, 0);
    assert_string_equal(awsconfig_section_get(a, "shared"), "from-default");
    const struct awsconfig_section *b = awsconfig_file_section(f, "b");
    assert_string_equal(awsconfig_section_get(b, "k"), "default-k");
    assert_string_equal(awsconfig_section_get(b, "shared"), "from-default");
    /* [DEFAULT] is not a section of its own */
    assert_null(awsconfig_file_section(f, "DEFAULT"));
    assert_int_equal(f->nsections, 2);
    awsconfig_file_free(f);
}

static void test_parse_errors(void **state)
{
    (void)state;
    PARSE_FAILS("key = value\n[default]\n", "line 1: text before the first [section]");
    PARSE_FAILS("# ok\n\n  key = value\n", "line 3: text before the first [section]");
    PARSE_FAILS("[default]\nregion = x\njust some words\n", "line 3: expected 'key = value'");
    PARSE_FAILS("[default]\n = value\n", "line 2: a setting has no key");
    PARSE_FAILS("[]\n", "line 1:");
    PARSE_FAILS("[default]\ns3 =\n  a = b\n  nonsense\n", "line 4: expected 'key = value' in");
    PARSE_FAILS("\xEF\xBB\xBF[default]\n", "byte order mark");
    PARSE_FAILS("[default]\na = b\nc = \0d\n", "line 3: the file contains a NUL byte");
    /* secrets are never quoted */
    struct awsconfig_file *f = NULL;
    cfdr_err e;
    const char *t = "[default]\naws_secret_access_key wJalrXUtnFEMI/K7MDENG\n";
    assert_int_equal(awsconfig_parse("c", t, strlen(t), &f, &e), CFDR_E_CONFIG);
    assert_null(strstr(e.msg, "wJalr"));
}

/* ---- profiles ---- */

static void test_config_profile_names(void **state)
{
    (void)state;
    struct awsconfig_file *f = parse_ok("[default]\nv = plain-default\n"
                                        "[profile a]\nv = a\n"
                                        "[profile  \"b c\" ]\nv = bc\n"
                                        "[profilez w]\nv = w\n" /* botocore's startswith quirk */
                                        "[profile]\nv = none\n"
                                        "[profile x y]\nv = two-words\n"
                                        "[profile 'unclosed]\nv = bad\n"
                                        "[sso-session s]\nv = sso\n"
                                        "[plain]\nv = plain\n"
                                        "[profile default]\nv = profile-default\n");
    assert_string_equal(awsconfig_section_get(awsconfig_config_profile(f, "a"), "v"), "a");
    assert_string_equal(awsconfig_section_get(awsconfig_config_profile(f, "b c"), "v"), "bc");
    assert_string_equal(awsconfig_section_get(awsconfig_config_profile(f, "w"), "v"), "w");
    /* the later of [default] and [profile default] wins */
    assert_string_equal(awsconfig_section_get(awsconfig_config_profile(f, "default"), "v"),
                        "profile-default");
    assert_null(awsconfig_config_profile(f, "profile"));
    assert_null(awsconfig_config_profile(f, "x"));
    assert_null(awsconfig_config_profile(f, "y"));
    assert_null(awsconfig_config_profile(f, "unclosed]"));
    assert_null(awsconfig_config_profile(f, "s"));
    assert_null(awsconfig_config_profile(f, "plain"));
    /* in the credentials file, the section name is the profile name */
    assert_null(awsconfig_credentials_profile(f, "a"));
    assert_non_null(awsconfig_credentials_profile(f, "profile a"));
    assert_non_null(awsconfig_credentials_profile(f, "plain"));
    awsconfig_file_free(f);
}

static void test_load_files_and_merge(void **state)
{
    struct fx *fx = *state;
    char cfg[512], cred[512];
    struct awsconfig *c = NULL;
    const struct awsconfig_file *from = NULL;
    cfdr_err e;

    write_file(fx, "config",
               "[default]\nregion = us-east-1\n"
               "[profile dev]\nregion = eu-west-1\ncredential_process = from-config\n"
               "[profile cfgonly]\noutput = json\n",
               cfg, sizeof(cfg));
    write_file(fx, "credentials",
               "[dev]\ncredential_process = from-credentials\n"
               "[credonly]\naws_access_key_id = AKID\n",
               cred, sizeof(cred));
    setenv("AWS_CONFIG_FILE", cfg, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
    assert_int_equal(awsconfig_load(&c, &e), CFDR_OK);
    assert_true(c->config->exists);
    assert_string_equal(c->config->path, cfg);
    assert_string_equal(c->credentials->path, cred);
    assert_true(awsconfig_profile_exists(c, "default"));
    assert_true(awsconfig_profile_exists(c, "dev"));
    assert_true(awsconfig_profile_exists(c, "cfgonly"));
    assert_true(awsconfig_profile_exists(c, "credonly"));
    assert_false(awsconfig_profile_exists(c, "nope"));
    /* the credentials file's value wins, as in botocore's full_config */
    assert_string_equal(awsconfig_profile_get(c, "dev", "credential_process", &from),
                        "from-credentials");
    assert_ptr_equal(from, c->credentials);
    assert_string_equal(awsconfig_profile_get(c, "dev", "region", &from), "eu-west-1");
    assert_ptr_equal(from, c->config);
    assert_null(awsconfig_profile_get(c, "dev", "output", &from));
    assert_null(from);
    awsconfig_free(c);

    /* missing files load as empty */
    setenv("AWS_CONFIG_FILE", "/nonexistent/dir/config", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "", 1);
    assert_int_equal(awsconfig_load(&c, &e), CFDR_OK);
    assert_false(c->config->exists);
    assert_false(c->credentials->exists);
    assert_false(awsconfig_profile_exists(c, "default"));
    awsconfig_free(c);
    awsconfig_free(NULL);

    /* defaults are ~/.aws/config and ~/.aws/credentials, with HOME the temp dir */
    unsetenv("AWS_CONFIG_FILE");
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    char awsdir[512];
    snprintf(awsdir, sizeof(awsdir), "%s/.aws", fx->dir);
    assert_int_equal(mkdir(awsdir, 0700), 0);
    write_file(fx, ".aws/config", "[profile home]\nregion = ap-south-1\n", NULL, 0);
    assert_int_equal(awsconfig_load(&c, &e), CFDR_OK);
    assert_true(c->config->exists);
    assert_false(c->credentials->exists);
    assert_true(awsconfig_profile_exists(c, "home"));
    char want[600];
    snprintf(want, sizeof(want), "%s/.aws/credentials", fx->dir);
    assert_string_equal(c->credentials->path, want);
    awsconfig_free(c);
}

static void test_load_errors_name_file(void **state)
{
    struct fx *fx = *state;
    char path[512], sub[512];
    struct awsconfig_file *f = NULL;
    cfdr_err e;

    write_file(fx, "broken", "[default]\nregion = x\n[oops\n", path, sizeof(path));
    assert_int_equal(awsconfig_file_load(path, &f, &e), CFDR_E_CONFIG);
    assert_null(f);
    assert_non_null(strstr(e.msg, path));
    assert_non_null(strstr(e.msg, "line 3"));

    /* a directory where the file should be cannot be read */
    snprintf(sub, sizeof(sub), "%s/adir", fx->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(awsconfig_file_load(sub, &f, &e), CFDR_E_IO);
    assert_non_null(strstr(e.msg, sub));
    assert_null(f);

    /* a missing file is fine; /dev/null is an empty file */
    assert_int_equal(awsconfig_file_load("/nonexistent/x", &f, &e), CFDR_OK);
    assert_false(f->exists);
    assert_int_equal(f->nsections, 0);
    awsconfig_file_free(f);
    assert_int_equal(awsconfig_file_load("/dev/null", &f, &e), CFDR_OK);
    assert_true(f->exists);
    assert_int_equal(f->nsections, 0);
    awsconfig_file_free(f);
    awsconfig_file_free(NULL);
}

static void test_expand_path(void **state)
{
    struct fx *fx = *state;
    char want[600];
    char *p;
    (void)fx;
    setenv("CFDR_TEST_VAR", "/var/x", 1);
    setenv("HOME", "/home/someone/", 1);
    p = awsconfig_expand_path("~/.aws/config");
    assert_string_equal(p, "/home/someone/.aws/config");
    free(p);
    p = awsconfig_expand_path("~");
    assert_string_equal(p, "/home/someone");
    free(p);
    p = awsconfig_expand_path("$CFDR_TEST_VAR/a:${CFDR_TEST_VAR}b/$NO_SUCH_VAR_CFDR/${}/$");
    assert_string_equal(p, "/var/x/a:/var/xb/$NO_SUCH_VAR_CFDR/${}/$");
    free(p);
    p = awsconfig_expand_path("~root/f");
    assert_string_equal(p, "/root/f");
    free(p);
    p = awsconfig_expand_path("~no_such_user_cfdr/f");
    assert_string_equal(p, "~no_such_user_cfdr/f");
    free(p);
    /* variables first, then ~ (expandvars then expanduser) */
    setenv("CFDR_TEST_VAR", "~", 1);
    p = awsconfig_expand_path("$CFDR_TEST_VAR/c");
    assert_string_equal(p, "/home/someone/c");
    free(p);
    p = awsconfig_expand_path("/plain/path");
    assert_string_equal(p, "/plain/path");
    free(p);
    snprintf(want, sizeof(want), "%s", "x");
    p = awsconfig_expand_path("x");
    assert_string_equal(p, want);
    free(p);
}

/* ---- shlex ---- */

static void test_shlex_split(void **state)
{
    static const struct {
        const char *in;
        const char *out[4];
        size_t n;
    } cases[] = {
        {"a b  c", {"a", "b", "c"}, 3},
        {"/bin/echo \"a b\" c", {"/bin/echo", "a b", "c"}, 3},
        {"x 'y z'", {"x", "y z"}, 2},
        {"a\\ b", {"a b"}, 1},
        {"\"a\\\"b\"", {"a\"b"}, 1},
        {"\"a\\\\b\"", {"a\\b"}, 1},
        {"\"a\\xb\"", {"a\\xb"}, 1},
        {"'a\\b'", {"a\\b"}, 1},
        {"a\"b c\"d", {"ab cd"}, 1},
        {"\"\"", {""}, 1},
        {"a \"\" b", {"a", "", "b"}, 3},
        {"  ", {NULL}, 0},
        {"", {NULL}, 0},
        {"\ta\nb\r", {"a", "b"}, 2},
        {"a''", {"a"}, 1},
        {"abc\\\\", {"abc\\"}, 1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char **argv = NULL;
        size_t argc = 99;
        cfdr_err e;
        if (awsconfig_shlex_split(cases[i].in, &argv, &argc, &e) != CFDR_OK)
            fail_msg("case %zu: %s", i, e.msg);
        assert_int_equal(argc, cases[i].n);
        for (size_t j = 0; j < argc; j++)
            assert_string_equal(argv[j], cases[i].out[j]);
        assert_null(argv[argc]);
        awsconfig_argv_free(argv);
    }
    static const char *const bad[] = {"\"abc", "'x", "abc\\", "\"a\\"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char **argv = (char **)1;
        cfdr_err e;
        assert_int_equal(awsconfig_shlex_split(bad[i], &argv, NULL, &e), CFDR_E_CONFIG);
        assert_null(argv);
    }
    awsconfig_argv_free(NULL);
}

/* ---- cross-check with botocore's raw_config_parse ---- */

static void check_same_as_botocore(const struct awsconfig_file *f, struct json_object *py)
{
    assert_true(json_object_is_type(py, json_type_object));
    assert_int_equal((size_t)json_object_object_length(py), f->nsections);
    json_object_object_foreach(py, sname, sval)
    {
        const struct awsconfig_section *s = awsconfig_file_section(f, sname);
        if (!s)
            fail_msg("section [%s] missing", sname);
        assert_int_equal((size_t)json_object_object_length(sval), s->nprops);
        json_object_object_foreach(sval, key, val)
        {
            const struct awsconfig_prop *p = awsconfig_section_prop(s, key);
            if (!p)
                fail_msg("[%s] %s missing", sname, key);
            assert_string_equal(p->key, key);
            if (json_object_is_type(val, json_type_string)) {
                assert_string_equal(p->value, json_object_get_string(val));
                assert_int_equal(p->nsub, 0);
            } else {
                assert_int_equal((size_t)json_object_object_length(val), p->nsub);
                json_object_object_foreach(val, sk, sv)
                {
                    const char *mine = awsconfig_prop_sub(p, sk);
                    if (!mine)
                        fail_msg("[%s] %s.%s missing", sname, key, sk);
                    assert_string_equal(mine, json_object_get_string(sv));
                }
            }
        }
    }
}

static void test_parser_matches_botocore(void **state)
{
    struct fx *fx = *state;
    char path[512], cmd[1200];
    struct buf out;
    struct awsconfig_file *f = NULL;
    cfdr_err e;
    const char *text = "; comment\n"
                       "# comment\n"
                       "[default]\n"
                       "AWS_ACCESS_KEY_ID = AKIDDEFAULT\n"
                       "aws_secret_access_key=s e c r e t\n"
                       "  \t  continued line\n"
                       "Region: us-west-2\n"
                       "inline = a ; b # c\n"
                       "\n"
                       "[profile dev] ignored tail\n"
                       "s3 =\n"
                       "  addressing_style = path\n"
                       "\n"
                       "  ; comment in block\n"
                       "  Max_Concurrent_Requests=20\n"
                       "  weird = a = b\n"
                       "empty =\n"
                       "multi = one\n"
                       "   two\n"
                       "\n"
                       "   three\n"
                       "\n"
                       "[DEFAULT]\n"
                       "from_default = yes\n"
                       "[ spaced name ]\n"
                       "k:v\r\n"
                       "z = last\r";
    (void)state;
    write_file(fx, "crosscheck.ini", text, path, sizeof(path));
    assert_int_equal(awsconfig_file_load(path, &f, &e), CFDR_OK);
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 -c 'import json,sys,botocore.configloader as c; "
             "print(json.dumps(c.raw_config_parse(sys.argv[1])))' '%s'",
             path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    buf_init(&out, BUF_MAX_SMALL);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        assert_int_equal(buf_add(&out, chunk, n), CFDR_OK);
    assert_int_equal(pclose(p), 0);
    struct json_object *py = json_tokener_parse(buf_str(&out));
    if (!py)
        fail_msg("botocore printed no JSON: %s", buf_str(&out));
    check_same_as_botocore(f, py);
    /* and the values themselves are what we expect */
    const struct awsconfig_section *d = awsconfig_file_section(f, "default");
    assert_string_equal(awsconfig_section_get(d, "aws_secret_access_key"),
                        "s e c r e t\ncontinued line");
    assert_string_equal(awsconfig_section_get(d, "from_default"), "yes");
    assert_non_null(awsconfig_file_section(f, " spaced name "));
    json_object_put(py);
    buf_free(&out);
    awsconfig_file_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_basics),
        cmocka_unit_test(test_parse_continuations_and_nested),
        cmocka_unit_test(test_parse_duplicates_and_default_section),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_config_profile_names),
        cmocka_unit_test_setup_teardown(test_load_files_and_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_errors_name_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expand_path, setup, teardown),
        cmocka_unit_test(test_shlex_split),
        cmocka_unit_test_setup_teardown(test_parser_matches_botocore, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
