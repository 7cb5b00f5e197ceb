/* Unit tests for aws/creds: the credential chain, credential_process, the caching provider, and
 * a table of scenarios cross-checked against botocore itself (/usr/bin/python3). Every test
 * runs in a temporary HOME with both AWS file variables pointing into it, so the real ~/.aws is
 * never read. */
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
#include <time.h>
#include <unistd.h>

#include "aws/buf.h"
#include "aws/creds.h"

/* 2030-01-01T00:00:00Z */
#define T2030 ((time_t)1893456000)

static const char *const env_vars[] = {
    "HOME",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CREDENTIAL_FILE",
    "BOTO_CONFIG",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_SSO",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_MAX_ATTEMPTS",
};
#define NVARS (sizeof(env_vars) / sizeof(env_vars[0]))

struct fx {
    char dir[256];
    char config[320];
    char credentials[320];
    char *saved[NVARS];
    int had[NVARS];
    time_t now; /* the fake clock */
    struct buf log;
    struct cfdr_log lg;
};

static time_t fake_now(void *ud)
{
    return ((struct fx *)ud)->now;
}

static void capture(void *ud, enum cfdr_log_level level, const char *line)
{
    struct buf *b = ud;
    assert_int_equal(buf_addf(b, "%d %s\n", (int)level, line), CFDR_OK);
}

/* Clears every variable the chain (ours or botocore's) reads, and points it at the temp dir. */
static void reset_env(struct fx *fx)
{
    for (size_t i = 0; i < NVARS; i++)
        unsetenv(env_vars[i]);
    setenv("HOME", fx->dir, 1);
    setenv("AWS_CONFIG_FILE", fx->config, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", fx->credentials, 1);
    /* botocore must never try the instance metadata service or a boto config */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    /* and cfdr never anything but loopback: STS and IAM Identity Center go nowhere */
    setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9", 1);
    setenv("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9", 1);
    setenv("AWS_MAX_ATTEMPTS", "1", 1);
    char boto[400];
    snprintf(boto, sizeof(boto), "%s/no-boto-config", fx->dir);
    setenv("BOTO_CONFIG", boto, 1);
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/cfdr-creds-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->config, sizeof(fx->config), "%s/config", fx->dir);
    snprintf(fx->credentials, sizeof(fx->credentials), "%s/credentials", fx->dir);
    for (size_t i = 0; i < NVARS; i++) {
        const char *v = getenv(env_vars[i]);
        fx->had[i] = v != NULL;
        fx->saved[i] = v ? strdup(v) : NULL;
    }
    reset_env(fx);
    fx->now = T2030 - 3600;
    buf_init(&fx->log, BUF_MAX_SMALL);
    fx->lg.level = CFDR_LOG_DEBUG;
    fx->lg.emit = capture;
    fx->lg.ud = &fx->log;
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
    for (size_t i = 0; i < NVARS; i++) {
        if (fx->had[i])
            setenv(env_vars[i], fx->saved[i], 1);
        else
            unsetenv(env_vars[i]);
        free(fx->saved[i]);
    }
    rm_tree(fx->dir);
    buf_free(&fx->log);
    free(fx);
    return 0;
}

/* Writes dir/name; "%DIR%" in text becomes the temp dir. */
static void write_file_mode(const struct fx *fx, const char *name, const char *text, int mode)
{
    char path[512];
    struct buf b;
    FILE *f;
    buf_init(&b, BUF_MAX_SMALL);
    for (const char *p = text; *p;) {
        if (strncmp(p, "%DIR%", 5) == 0) {
            assert_int_equal(buf_adds(&b, fx->dir), CFDR_OK);
            p += 5;
        } else {
            assert_int_equal(buf_addc(&b, *p++), CFDR_OK);
        }
    }
    snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf_str(&b), 1, buf_len(&b), f), buf_len(&b));
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, (mode_t)mode), 0);
    buf_free(&b);
}

static void write_file(const struct fx *fx, const char *name, const char *text)
{
    write_file_mode(fx, name, text, 0600);
}

static void write_script(const struct fx *fx, const char *name, const char *body)
{
    struct buf b;
    buf_init(&b, BUF_MAX_SMALL);
    assert_int_equal(buf_addf(&b, "#!/bin/sh\n%s", body), CFDR_OK);
    write_file_mode(fx, name, buf_str(&b), 0700);
    buf_free(&b);
}

static struct creds_options opts(struct fx *fx, const char *profile)
{
    struct creds_options o;
    memset(&o, 0, sizeof(o));
    o.profile = profile;
    o.log = &fx->lg;
    o.now = fake_now;
    o.now_ud = fx;
    return o;
}

static void expect_ok(struct fx *fx, const char *profile, const char *akid, const char *source,
                      const char *token)
{
    struct creds_options o = opts(fx, profile);
    struct aws_credentials c;
    cfdr_err e;
    err_clear(&e);
    if (creds_resolve(&o, &c, &e) != CFDR_OK)
        fail_msg("creds_resolve(profile %s): %s", profile ? profile : "NULL", e.msg);
    assert_string_equal(c.access_key_id, akid);
    assert_string_equal(c.source, source);
    if (token)
        assert_string_equal(c.session_token, token);
    else
        assert_null(c.session_token);
    creds_free(&c);
}

/* Resolves expecting failure rc; returns the message (static storage of the caller's err). */
static void expect_fail(struct fx *fx, const char *profile, cfdr_code want, cfdr_err *e)
{
    struct creds_options o = opts(fx, profile);
    struct aws_credentials c;
    err_clear(e);
    cfdr_code rc = creds_resolve(&o, &c, e);
    if (rc != want)
        fail_msg("creds_resolve(profile %s) gave %s (%s), wanted %s", profile ? profile : "NULL",
                 err_code_name(rc), e->msg, err_code_name(want));
    assert_null(c.access_key_id);
    assert_null(c.secret_access_key);
}

static void assert_has(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("'%s' does not contain '%s'", hay, needle);
}

static void assert_lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("'%s' contains '%s'", hay, needle);
}

/* ---- time parsing ---- */

static void test_parse_time(void **state)
{
    static const struct {
        const char *s;
        time_t t;
    } good[] = {
        {"2030-01-01T00:00:00Z", T2030},
        {"2030-01-01T00:00:00z", T2030},
        {"2030-01-01t00:00:00Z", T2030},
        {"2030-01-01 00:00:00Z", T2030},
        {"2030-01-01T00:00Z", T2030},
        {"2030-01-01T00:00:00.123456Z", T2030},
        {"2030-01-01T01:00:00+01:00", T2030},
        {"2030-01-01T01:00:00+0100", T2030},
        {"2030-01-01T01:00:00+01", T2030},
        {"2029-12-31T22:30:00-01:30", T2030},
        {"2028-02-29T00:00:00Z", (time_t)1835395200},
        {"1970-01-01T00:00:00Z", 0},
    };
    static const char *const bad[] = {
        "",
        "2030-01-01",
        "2030-01-01T00:00:00",       /* no zone */
        "2030-01-01T00:00:00+",      /* zone cut */
        "2030-01-01T00:00:00+01:",   /* zone cut */
        "2030-01-01T00:00:00Zjunk",  /* trailing text */
        "2030-13-01T00:00:00Z",      /* month */
        "2029-02-29T00:00:00Z",      /* not a leap year */
        "2030-01-01T24:00:00Z",      /* hour */
        "2030-01-01T00:60:00Z",      /* minute */
        "2030-01-01T00:00:00.Z",     /* empty fraction */
        "30-01-01T00:00:00Z",        /* year */
        "2030/01/01T00:00:00Z",      /* separators */
        "2030-01-01T00:00:00+25:00", /* offset */
        "1893456000",                /* epoch seconds */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        time_t t = -1;
        if (creds_parse_time(good[i].s, &t) != CFDR_OK)
            fail_msg("'%s' rejected", good[i].s);
        if (t != good[i].t)
            fail_msg("'%s' parsed as %lld, wanted %lld", good[i].s, (long long)t,
                     (long long)good[i].t);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        time_t t;
        if (creds_parse_time(bad[i], &t) != CFDR_E_PARSE)
            fail_msg("'%s' accepted", bad[i]);
    }
    assert_int_equal(creds_parse_time(NULL, &(time_t){0}), CFDR_E_PARSE);
}

/* ---- environment ---- */

static void test_env(void **state)
{
    struct fx *fx = *state;
    struct creds_options o = opts(fx, NULL);
    struct aws_credentials c;
    cfdr_err e;

    setenv("AWS_ACCESS_KEY_ID", "AKIDENVIRONMENT1", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    expect_ok(fx, NULL, "AKIDENVIRONMENT1", "environment", NULL);

    setenv("AWS_SESSION_TOKEN", "sessiontok", 1);
    expect_ok(fx, NULL, "AKIDENVIRONMENT1", "environment", "sessiontok");
    /* botocore reads the legacy AWS_SECURITY_TOKEN first */
    setenv("AWS_SECURITY_TOKEN", "securitytok", 1);
    expect_ok(fx, NULL, "AKIDENVIRONMENT1", "environment", "securitytok");
    setenv("AWS_SECURITY_TOKEN", "", 1);
    expect_ok(fx, NULL, "AKIDENVIRONMENT1", "environment", "sessiontok");

    setenv("AWS_CREDENTIAL_EXPIRATION", "2030-01-01T00:00:00Z", 1);
    assert_int_equal(creds_resolve(&o, &c, &e), CFDR_OK);
    assert_int_equal(c.expiration, T2030);
    assert_string_equal(c.secret_access_key, "envsecret");
    creds_free(&c);
    assert_null(c.access_key_id);
    creds_free(&c); /* twice is fine */
    creds_free(NULL);

    setenv("AWS_CREDENTIAL_EXPIRATION", "tomorrow", 1);
    expect_fail(fx, NULL, CFDR_E_CONFIG, &e);
    assert_has(e.msg, "AWS_CREDENTIAL_EXPIRATION 'tomorrow'");

    /* already expired by the injected clock */
    setenv("AWS_CREDENTIAL_EXPIRATION", "2029-12-31T22:59:59Z", 1);
    expect_fail(fx, NULL, CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "expired at 2029-12-31T22:59:59Z");
    assert_has(e.msg, "environment");
}

static void test_env_partial(void **state)
{
    struct fx *fx = *state;
    cfdr_err e;

    setenv("AWS_ACCESS_KEY_ID", "AKIDONLY", 1);
    expect_fail(fx, NULL, CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "AWS_SECRET_ACCESS_KEY is not");
    setenv("AWS_SECRET_ACCESS_KEY", "", 1); /* empty counts as unset */
    expect_fail(fx, NULL, CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "AWS_SECRET_ACCESS_KEY is not");

    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_SECRET_ACCESS_KEY", "lonelysecret", 1);
    expect_fail(fx, NULL, CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "AWS_ACCESS_KEY_ID is not");
    assert_lacks(e.msg, "lonelysecret");
    setenv("AWS_ACCESS_KEY_ID", "", 1);
    expect_fail(fx, NULL, CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "AWS_ACCESS_KEY_ID is not");

    /* with --profile the environment is not looked at, partial or not */
    write_file(fx, "credentials", "[p]\naws_access_key_id = AKIDP\naws_secret_access_key = s\n");
    expect_ok(fx, "p", "AKIDP", "shared-credentials-file", NULL);
}

/* ---- which profile, and environment versus profile ---- */

static void test_profile_selection(void **state)
{
    struct fx *fx = *state;
    struct creds_options o = opts(fx, NULL);
    cfdr_err e;

    write_file(fx, "credentials",
               "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s\n"
               "[a]\naws_access_key_id = AKIDA\naws_secret_access_key = s\n"
               "[b]\naws_access_key_id = AKIDB\naws_secret_access_key = s\n"
               "[empty]\nregion = us-east-1\n");

    assert_string_equal(creds_profile_name(&o), "default");
    assert_string_equal(creds_profile_name(NULL), "default");
    expect_ok(fx, NULL, "AKIDDEFAULT", "shared-credentials-file", NULL);

    setenv("AWS_PROFILE", "b", 1);
    assert_string_equal(creds_profile_name(&o), "b");
    expect_ok(fx, NULL, "AKIDB", "shared-credentials-file", NULL);
    /* AWS_DEFAULT_PROFILE is read first, as botocore does */
    setenv("AWS_DEFAULT_PROFILE", "a", 1);
    assert_string_equal(creds_profile_name(&o), "a");
    expect_ok(fx, NULL, "AKIDA", "shared-credentials-file", NULL);
    /* --profile beats both */
    o.profile = "b";
    assert_string_equal(creds_profile_name(&o), "b");
    expect_ok(fx, "b", "AKIDB", "shared-credentials-file", NULL);
    expect_ok(fx, "default", "AKIDDEFAULT", "shared-credentials-file", NULL);

    /* environment credentials beat a profile named by a variable ... */
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    expect_ok(fx, NULL, "AKIDENV", "environment", NULL);
    /* ... but not one named by --profile, even "default" */
    expect_ok(fx, "b", "AKIDB", "shared-credentials-file", NULL);
    expect_ok(fx, "default", "AKIDDEFAULT", "shared-credentials-file", NULL);
    /* a --profile without credentials does not fall back to the environment */
    expect_fail(fx, "empty", CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "skipped because --profile was given");
    assert_has(e.msg, "profile 'empty'");
}

static void test_profile_not_found(void **state)
{
    struct fx *fx = *state;
    cfdr_err e;

    write_file(fx, "config", "[profile cfg]\nregion = us-east-1\n");
    write_file(fx, "credentials", "[cred]\nregion = us-east-1\n");

    expect_fail(fx, "nope", CFDR_E_CONFIG, &e);
    assert_has(e.msg, "profile 'nope' (from --profile) not found");
    assert_has(e.msg, fx->config);
    assert_has(e.msg, fx->credentials);
    assert_has(e.msg, "aws configure --profile nope");

    /* named by a variable: an error even though environment credentials exist */
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    setenv("AWS_PROFILE", "nope2", 1);
    expect_fail(fx, NULL, CFDR_E_CONFIG, &e);
    assert_has(e.msg, "profile 'nope2' (from AWS_PROFILE) not found");
    setenv("AWS_DEFAULT_PROFILE", "nope3", 1);
    expect_fail(fx, NULL, CFDR_E_CONFIG, &e);
    assert_has(e.msg, "profile 'nope3' (from AWS_DEFAULT_PROFILE)");

    /* an explicitly named "default" must exist; the implicit one need not */
    unsetenv("AWS_DEFAULT_PROFILE");
    setenv("AWS_PROFILE", "default", 1);
    expect_fail(fx, NULL, CFDR_E_CONFIG, &e);
    unsetenv("AWS_PROFILE");
    expect_ok(fx, NULL, "AKIDENV", "environment", NULL);
    expect_fail(fx, "default", CFDR_E_CONFIG, &e);

    /* profiles that exist in only one of the files are found */
    expect_fail(fx, "cfg", CFDR_E_CREDENTIALS, &e);
    expect_fail(fx, "cred", CFDR_E_CREDENTIALS, &e);

    /* an empty name is refused */
    setenv("AWS_PROFILE", "", 1);
    expect_fail(fx, NULL, CFDR_E_CONFIG, &e);
    assert_has(e.msg, "AWS_PROFILE is empty");
    expect_fail(fx, "", CFDR_E_CONFIG, &e);
    assert_has(e.msg, "--profile is empty");
}

/* ---- files ---- */

static void test_credentials_vs_config(void **state)
{
    struct fx *fx = *state;
    cfdr_err e;

    write_file(fx, "config",
               "[default]\naws_access_key_id = AKIDCFGDEFAULT\naws_secret_access_key = s\n"
               "[profile both]\naws_access_key_id = AKIDCFGBOTH\naws_secret_access_key = s\n"
               "[profile cfgonly]\naws_access_key_id = AKIDCFGONLY\naws_secret_access_key = s\n"
               "aws_session_token = cfgtoken\n"
               "[profile secretonly]\naws_access_key_id = AKIDCFGSO\naws_secret_access_key = s\n"
               "[notaprofile]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = s\n");
    write_file(fx, "credentials",
               "[both]\naws_access_key_id = AKIDCREDBOTH\naws_secret_access_key = s\n"
               "aws_session_token = sess\naws_security_token = secu\n"
               "[secretonly]\naws_secret_access_key = s\n"
               "[profile credform]\naws_access_key_id = AKIDWRONG2\naws_secret_access_key = s\n"
               "[nosecret]\naws_access_key_id = AKIDNOSECRET\n"
               "[emptykey]\naws_access_key_id =\naws_secret_access_key = s\n"
               "[emptytoken]\naws_access_key_id = AKIDET\naws_secret_access_key = s\n"
               "aws_session_token =\n");

    expect_ok(fx, NULL, "AKIDCFGDEFAULT", "config-file", NULL);
    /* the credentials file comes first; aws_security_token is read before aws_session_token */
    expect_ok(fx, "both", "AKIDCREDBOTH", "shared-credentials-file", "secu");
    expect_ok(fx, "cfgonly", "AKIDCFGONLY", "config-file", "cfgtoken");
    /* a credentials section without aws_access_key_id is passed over */
    expect_ok(fx, "secretonly", "AKIDCFGSO", "config-file", NULL);
    expect_ok(fx, "emptytoken", "AKIDET", "shared-credentials-file", NULL);
    /* [name] in the config file and [profile name] in the credentials file are not profiles */
    expect_fail(fx, "notaprofile", CFDR_E_CONFIG, &e);
    expect_fail(fx, "credform", CFDR_E_CONFIG, &e);
    expect_ok(fx, "profile credform", "AKIDWRONG2", "shared-credentials-file", NULL);

    expect_fail(fx, "nosecret", CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, fx->credentials);
    assert_has(e.msg, "line 12");
    assert_has(e.msg, "no aws_secret_access_key");
    expect_fail(fx, "emptykey", CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "empty aws_access_key_id");

    /* a malformed file is an error naming it, even if a later source would have worked */
    write_file(fx, "credentials", "[default]\nthis line is wrong\n");
    expect_fail(fx, NULL, CFDR_E_CONFIG, &e);
    assert_has(e.msg, fx->credentials);
    assert_has(e.msg, "line 2");
    /* unreadable: a directory in its place */
    unlink(fx->credentials);
    assert_int_equal(mkdir(fx->credentials, 0700), 0);
    expect_fail(fx, NULL, CFDR_E_IO, &e);
    assert_has(e.msg, fx->credentials);
    rmdir(fx->credentials);
    /* files named with ~ are found under HOME */
    setenv("AWS_CONFIG_FILE", "~/config", 1);
    expect_ok(fx, NULL, "AKIDCFGDEFAULT", "config-file", NULL);
}

static void test_no_credentials(void **state)
{
    struct fx *fx = *state;
    cfdr_err e;

    expect_fail(fx, NULL, CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "no AWS credentials found for profile 'default'");
    assert_has(e.msg, "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (not set)");
    assert_has(e.msg, "shared credentials file");
    assert_has(e.msg, "(no such file)");
    assert_has(e.msg, "credential_process (not set");
    assert_has(e.msg, fx->config);
    assert_has(e.msg, "aws configure");

    write_file(fx, "config", "[profile p]\nregion = eu-west-1\n");
    write_file(fx, "credentials", "[other]\naws_access_key_id = A\naws_secret_access_key = s\n");
    expect_fail(fx, "p", CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "no section for profile 'p'");
    assert_has(e.msg, "profile 'p' has no aws_access_key_id");
    assert_has(e.msg, "aws configure --profile p");
}

/* The chain's order around the sources that need a server (tests/unit/test_creds_sources.c
 * tests the sources themselves against a loopback server); here STS is 127.0.0.1:9, where
 * nothing listens, so reaching it shows which source the chain chose. */
static void test_role_and_web_identity_order(void **state)
{
    struct fx *fx = *state;
    cfdr_err e;

    write_file(fx, "config",
               "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/x\n"
               "source_profile = base\n"
               "[profile base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = s\n"
               "[profile wi]\nweb_identity_token_file = /tmp/t\nrole_arn = arn:x\n"
               "[profile ssosess]\nsso_session = corp\n");
    write_file(fx, "credentials",
               "[role]\naws_access_key_id = AKIDSTATIC\naws_secret_access_key = s\n");

    /* role_arn wins over static keys in the credentials file, as in botocore */
    expect_fail(fx, "role", CFDR_E_NET, &e);
    assert_has(e.msg, "assuming role arn:aws:iam::123456789012:role/x for profile 'role'");
    assert_has(e.msg, "could not reach http://127.0.0.1:9/");
    /* web identity is still not supported */
    expect_fail(fx, "wi", CFDR_E_UNSUPPORTED, &e);
    assert_has(e.msg, "web_identity_token_file");
    assert_has(e.msg, fx->config);
    assert_has(e.msg, "line 8");
    /* sso_session without an account and a role is no credential source (botocore) */
    expect_fail(fx, "ssosess", CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "no AWS credentials found for profile 'ssosess'");
    expect_ok(fx, "base", "AKIDBASE", "config-file", NULL);

    /* the environment comes before any of them when no --profile is given */
    setenv("AWS_PROFILE", "role", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    expect_ok(fx, NULL, "AKIDENV", "environment", NULL);
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");

    /* web identity from the environment, ignored under --profile */
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token", 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/r", 1);
    expect_fail(fx, NULL, CFDR_E_UNSUPPORTED, &e);
    assert_has(e.msg, "AWS_WEB_IDENTITY_TOKEN_FILE");
    expect_ok(fx, "base", "AKIDBASE", "config-file", NULL);
}

/* ---- credential_process ---- */

static const char *const good_script =
    "[ \"$1\" = \"two words\" ] || { echo \"bad arg 1: $1\" >&2; exit 3; }\n"
    "[ \"$2\" = 'it\"s' ] || { echo \"bad arg 2: $2\" >&2; exit 3; }\n"
    "echo 'working' >&2\n"
    "cat <<'EOF'\n"
    "{\"Version\": 1, \"AccessKeyId\": \"AKIDPROCESS\", \"SecretAccessKey\": \"procsecret\",\n"
    " \"SessionToken\": \"proctoken\", \"Expiration\": \"2030-01-01T00:00:00Z\"}\n"
    "EOF\n";

static void test_process_ok(void **state)
{
    struct fx *fx = *state;
    struct creds_options o = opts(fx, "proc");
    struct aws_credentials c;
    cfdr_err e;

    write_script(fx, "proc ok.sh", good_script);
    write_file(fx, "config",
               "[profile proc]\n"
               "credential_process = \"%DIR%/proc ok.sh\" 'two words' \"it\\\"s\"\n"
               "[profile both]\n"
               "aws_access_key_id = AKIDCFG\naws_secret_access_key = s\n"
               "credential_process = \"%DIR%/proc ok.sh\" 'two words' 'it\"s'\n"
               "[profile credkeys]\n"
               "credential_process = \"%DIR%/proc ok.sh\" 'two words' 'it\"s'\n"
               "[profile null]\n"
               "credential_process = %DIR%/null.sh\n");
    write_file(fx, "credentials",
               "[credkeys]\naws_access_key_id = AKIDCRED\naws_secret_access_key = s\n"
               "[credproc]\ncredential_process = \"%DIR%/proc ok.sh\" 'two words' 'it\"s'\n");
    write_script(fx, "null.sh",
                 "echo '{\"Version\":1.0,\"AccessKeyId\":\"AKIDNULL\","
                 "\"SecretAccessKey\":\"x\",\"SessionToken\":null,"
                 "\"Expiration\":null}'\n");

    err_clear(&e);
    if (creds_resolve(&o, &c, &e) != CFDR_OK)
        fail_msg("%s", e.msg);
    assert_string_equal(c.access_key_id, "AKIDPROCESS");
    assert_string_equal(c.secret_access_key, "procsecret");
    assert_string_equal(c.session_token, "proctoken");
    assert_int_equal(c.expiration, T2030);
    assert_string_equal(c.source, "credential_process");
    creds_free(&c);

    /* as botocore: credential_process before the config file's static keys ... */
    expect_ok(fx, "both", "AKIDPROCESS", "credential_process", "proctoken");
    /* ... after the credentials file's keys ... */
    expect_ok(fx, "credkeys", "AKIDCRED", "shared-credentials-file", NULL);
    /* ... and found in the credentials file too */
    expect_ok(fx, "credproc", "AKIDPROCESS", "credential_process", "proctoken");
    /* null SessionToken and Expiration mean none */
    o.profile = "null";
    assert_int_equal(creds_resolve(&o, &c, &e), CFDR_OK);
    assert_null(c.session_token);
    assert_int_equal(c.expiration, 0);
    creds_free(&c);
}

struct proc_case {
    const char *body;
    cfdr_code rc;
    const char *want[3];
};

static void test_process_failures(void **state)
{
    struct fx *fx = *state;
    static const struct proc_case cases[] = {
        {"echo '{\"SecretAccessKey\":\"STDOUTSECRET\"}'\necho 'token expired, run login' >&2\n"
         "exit 1\n",
         CFDR_E_CREDENTIALS,
         {"failed with exit status 1", "its stderr: token expired, run login", NULL}},
        {"echo 'STDOUTSECRET {'\n",
         CFDR_E_CREDENTIALS,
         {"not valid JSON", "wrote nothing on stderr", NULL}},
        {"echo '{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"STDOUTSECRET\"} x'\n",
         CFDR_E_CREDENTIALS,
         {"not valid JSON", NULL, NULL}},
        {"echo '[1,2]'\n", CFDR_E_CREDENTIALS, {"not an object", NULL, NULL}},
        {"echo '{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"STDOUTSECRET\"}'\n",
         CFDR_E_CREDENTIALS,
         {"unsupported \"Version\" 2", NULL, NULL}},
        {"echo '{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"STDOUTSECRET\"}'\n",
         CFDR_E_CREDENTIALS,
         {"no \"Version\"", NULL, NULL}},
        {"echo '{\"Version\":1,\"AccessKeyId\":\"A\"}'\n",
         CFDR_E_CREDENTIALS,
         {"missing the required key \"SecretAccessKey\"", NULL, NULL}},
        {"echo '{\"Version\":1,\"SecretAccessKey\":\"STDOUTSECRET\",\"AccessKeyId\":7}'\n",
         CFDR_E_CREDENTIALS,
         {"non-string \"AccessKeyId\"", NULL, NULL}},
        {"echo '{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"STDOUTSECRET\","
         "\"Expiration\":\"soon\"}'\n",
         CFDR_E_CREDENTIALS,
         {"\"Expiration\" 'soon'", NULL, NULL}},
        {"echo '{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"STDOUTSECRET\","
         "\"Expiration\":\"2029-12-31T00:00:00Z\"}'\n",
         CFDR_E_CREDENTIALS,
         {"expired at 2029-12-31T00:00:00Z", NULL, NULL}},
        {"exit 0\n", CFDR_E_CREDENTIALS, {"printed nothing", NULL, NULL}},
        {"echo dying >&2\nkill -9 $$\n", CFDR_E_CREDENTIALS, {"killed by signal 9", "dying", NULL}},
        {"head -c 70000 /dev/zero | tr '\\0' x\n",
         CFDR_E_CREDENTIALS,
         {"printed more than 65536 bytes", NULL, NULL}},
    };
    cfdr_err e;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_script(fx, "p.sh", cases[i].body);
        write_file(fx, "config", "[default]\ncredential_process = %DIR%/p.sh\n");
        expect_fail(fx, NULL, cases[i].rc, &e);
        for (int j = 0; j < 3 && cases[i].want[j]; j++)
            assert_has(e.msg, cases[i].want[j]);
        assert_has(e.msg, "credential_process of profile 'default'");
        assert_has(e.msg, fx->config);
        assert_lacks(e.msg, "STDOUTSECRET");
    }

    /* cannot run, cannot split, empty */
    write_file(fx, "config", "[default]\ncredential_process = %DIR%/does-not-exist --x\n");
    expect_fail(fx, NULL, CFDR_E_IO, &e);
    assert_has(e.msg, "cannot run");
    write_file(fx, "config", "[default]\ncredential_process = /bin/echo \"unclosed\n");
    expect_fail(fx, NULL, CFDR_E_CONFIG, &e);
    assert_has(e.msg, "no closing quotation");
    write_file(fx, "config", "[default]\ncredential_process =\n");
    expect_fail(fx, NULL, CFDR_E_CONFIG, &e);
    assert_has(e.msg, "is empty");
    write_file(fx, "config", "[default]\ncredential_process = ''\n");
    expect_fail(fx, NULL, CFDR_E_IO, &e);
}

static double elapsed_s(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_process_timeout(void **state)
{
    struct fx *fx = *state;
    struct creds_options o = opts(fx, NULL);
    struct aws_credentials c;
    struct timespec t0;
    cfdr_err e;

    /* exec so that the process we kill is the one holding the pipes */
    write_script(fx, "hang.sh", "echo 'waiting for MFA' >&2\nexec sleep 30\n");
    write_file(fx, "config", "[default]\ncredential_process = %DIR%/hang.sh\n");
    o.process_timeout_ms = 300;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(creds_resolve(&o, &c, &e), CFDR_E_CREDENTIALS);
    double took = elapsed_s(&t0);
    assert_has(e.msg, "did not finish within 0.300 s");
    assert_has(e.msg, "waiting for MFA");
    assert_true(took >= 0.25);
    assert_true(took < 10.0);

    /* a process that closes its output but keeps running is also bounded */
    write_script(fx, "hang.sh", "exec >&- 2>&-\nexec sleep 30\n");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(creds_resolve(&o, &c, &e), CFDR_E_CREDENTIALS);
    assert_has(e.msg, "did not finish");
    assert_true(elapsed_s(&t0) < 10.0);

    /* a quick process is not affected by a short limit */
    write_script(fx, "hang.sh", good_script);
    write_file(fx, "config", "[default]\ncredential_process = %DIR%/hang.sh 'two words' 'it\"s'\n");
    assert_int_equal(creds_resolve(&o, &c, &e), CFDR_OK);
    creds_free(&c);
}

/* ---- the caching provider ---- */

static const char *const counting_script =
    "n=$(cat \"$1\" 2>/dev/null || echo 0)\n"
    "n=$((n + 1))\n"
    "echo \"$n\" > \"$1\"\n"
    "if [ -e \"$2\" ]; then echo \"refresh broke on call $n\" >&2; exit 1; fi\n"
    "printf '{\"Version\":1,\"AccessKeyId\":\"AKIDCOUNT%04d\",\"SecretAccessKey\":\"sec%d\","
    "\"SessionToken\":\"tok%d\",\"Expiration\":\"2030-01-01T00:00:00Z\"}\\n' $n $n $n\n";

static int read_count(const struct fx *fx)
{
    char path[512];
    int n = -1;
    snprintf(path, sizeof(path), "%s/count", fx->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    if (fscanf(f, "%d", &n) != 1)
        n = -1;
    fclose(f);
    return n;
}

static void test_provider_refresh(void **state)
{
    struct fx *fx = *state;
    struct creds_options o = opts(fx, NULL);
    struct creds_provider *p = NULL;
    const struct aws_credentials *c = NULL, *c2 = NULL;
    cfdr_err e;

    write_script(fx, "count.sh", counting_script);
    write_file(fx, "config",
               "[default]\ncredential_process = %DIR%/count.sh %DIR%/count %DIR%/broken\n");
    assert_int_equal(creds_provider_new(&o, &p, &e), CFDR_OK);
    assert_int_equal(read_count(fx), 0); /* lazy */

    fx->now = T2030 - 3600;
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_OK);
    assert_string_equal(c->access_key_id, "AKIDCOUNT0001");
    assert_int_equal(c->expiration, T2030);
    assert_int_equal(read_count(fx), 1);
    assert_int_equal(creds_provider_get(p, &c2, &e), CFDR_OK);
    assert_ptr_equal(c2, c);
    assert_int_equal(read_count(fx), 1);

    /* just outside the refresh window: cached */
    fx->now = T2030 - CREDS_REFRESH_WINDOW_S - 1;
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_OK);
    assert_string_equal(c->access_key_id, "AKIDCOUNT0001");
    assert_int_equal(read_count(fx), 1);
    /* inside it: resolved again */
    fx->now = T2030 - CREDS_REFRESH_WINDOW_S;
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_OK);
    assert_string_equal(c->access_key_id, "AKIDCOUNT0002");
    assert_string_equal(c->session_token, "tok2");
    assert_int_equal(read_count(fx), 2);

    /* a failed refresh with time to spare keeps the current credentials, with a warning */
    write_file(fx, "broken", "");
    fx->now = T2030 - CREDS_MANDATORY_REFRESH_S - 60;
    buf_reset(&fx->log);
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_OK);
    assert_string_equal(c->access_key_id, "AKIDCOUNT0002");
    assert_int_equal(read_count(fx), 3);
    assert_has(buf_str(&fx->log), "1 credentials: refreshing failed");
    assert_has(buf_str(&fx->log), "refresh broke on call 3");
    /* close to expiry it is an error */
    fx->now = T2030 - CREDS_MANDATORY_REFRESH_S;
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_E_CREDENTIALS);
    assert_null(c);
    assert_has(e.msg, "refresh broke on call 4");
    /* repaired: fresh credentials again (still inside the window, so every get resolves) */
    char broken[512];
    snprintf(broken, sizeof(broken), "%s/broken", fx->dir);
    assert_int_equal(unlink(broken), 0);
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_OK);
    assert_string_equal(c->access_key_id, "AKIDCOUNT0005");
    /* expired: an error, not stale credentials */
    fx->now = T2030;
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_E_CREDENTIALS);
    assert_has(e.msg, "expired");
    creds_provider_free(p);
    creds_provider_free(NULL);
}

static void test_provider_static_is_cached(void **state)
{
    struct fx *fx = *state;
    struct creds_options o = opts(fx, "p");
    struct creds_provider *p = NULL;
    const struct aws_credentials *c = NULL;
    cfdr_err e;
    char name[8] = "p";

    write_file(fx, "credentials",
               "[p]\naws_access_key_id = AKIDFIRST\naws_secret_access_key = s\n");
    o.profile = name;
    assert_int_equal(creds_provider_new(&o, &p, &e), CFDR_OK);
    name[0] = 'x'; /* the provider copied the profile name */
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_OK);
    assert_string_equal(c->access_key_id, "AKIDFIRST");
    /* credentials without expiry are never resolved again */
    write_file(fx, "credentials",
               "[p]\naws_access_key_id = AKIDSECOND\naws_secret_access_key = s\n");
    fx->now += 10 * 365 * 86400;
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_OK);
    assert_string_equal(c->access_key_id, "AKIDFIRST");
    creds_provider_free(p);

    /* nothing found: the error comes from get */
    unlink(fx->credentials);
    o.profile = NULL;
    assert_int_equal(creds_provider_new(&o, &p, &e), CFDR_OK);
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_E_CREDENTIALS);
    creds_provider_free(p);
}

/* ---- logging ---- */

static void test_logging_has_no_secrets(void **state)
{
    struct fx *fx = *state;

    setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 1);
    setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLETOKEN", 1);
    expect_ok(fx, NULL, "AKIAIOSFODNN7EXAMPLE", "environment", "FwoGZXIvYXdzEXAMPLETOKEN");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    write_script(fx, "proc.sh", good_script);
    write_file(fx, "config",
               "[profile pp]\ncredential_process = %DIR%/proc.sh 'two words' "
               "'it\"s'\n");
    expect_ok(fx, "pp", "AKIDPROCESS", "credential_process", "proctoken");

    const char *log = buf_str(&fx->log);
    assert_has(log, "3 credentials: profile 'default' (implicit default)");
    assert_has(log, "using environment for profile 'default' (access key id ...MPLE");
    assert_has(log, "3 credentials: profile 'pp' (--profile)");
    assert_has(log, "using credential_process for profile 'pp' (access key id ...CESS");
    assert_has(log, "expires 2030-01-01T00:00:00Z");
    assert_lacks(log, "AKIAIOSFODNN7EXAMPLE");
    assert_lacks(log, "wJalrXUtnFEMI");
    assert_lacks(log, "FwoGZXIvYXdz");
    assert_lacks(log, "AKIDPROCESS");
    assert_lacks(log, "procsecret");
    assert_lacks(log, "proctoken");

    /* nothing is logged above DEBUG on success */
    buf_reset(&fx->log);
    fx->lg.level = CFDR_LOG_INFO;
    expect_ok(fx, "pp", "AKIDPROCESS", "credential_process", "proctoken");
    assert_string_equal(buf_str(&fx->log), "");
}

/* ---- cross-check with botocore ---- */

struct scenario {
    const char *name;
    const char *config;      /* NULL: no file */
    const char *credentials; /* NULL: no file */
    const char *env[5];      /* "NAME=value" */
    const char *profile;     /* --profile / Session(profile=...) */
    const char *expect;      /* "AKID|token", "NONE", "PROFILE_NOT_FOUND" or "PARTIAL" */
};

#define KEYS(id) "aws_access_key_id = " id "\naws_secret_access_key = s\n"
#define ENVKEYS "AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=envsecret"

static const struct scenario scenarios[] = {
    {"env only", NULL, NULL, {ENVKEYS}, NULL, "AKIDENV|None"},
    {"env beats default file",
     NULL,
     "[default]\n" KEYS("AKIDFILE"),
     {ENVKEYS},
     NULL,
     "AKIDENV|None"},
    {"env tokens: AWS_SECURITY_TOKEN first",
     NULL,
     NULL,
     {ENVKEYS, "AWS_SESSION_TOKEN=sess", "AWS_SECURITY_TOKEN=secu"},
     NULL,
     "AKIDENV|secu"},
    {"--profile skips env", NULL, "[dev]\n" KEYS("AKIDDEV"), {ENVKEYS}, "dev", "AKIDDEV|None"},
    {"AWS_PROFILE keeps env",
     NULL,
     "[dev]\n" KEYS("AKIDDEV"),
     {ENVKEYS, "AWS_PROFILE=dev"},
     NULL,
     "AKIDENV|None"},
    {"AWS_DEFAULT_PROFILE before AWS_PROFILE",
     NULL,
     "[a]\n" KEYS("AKIDA") "[b]\n" KEYS("AKIDB"),
     {"AWS_DEFAULT_PROFILE=a", "AWS_PROFILE=b"},
     NULL,
     "AKIDA|None"},
    {"--profile before variables",
     NULL,
     "[a]\n" KEYS("AKIDA") "[b]\n" KEYS("AKIDB"),
     {"AWS_DEFAULT_PROFILE=a", "AWS_PROFILE=a"},
     "b",
     "AKIDB|None"},
    {"credentials file before config file",
     "[profile dev]\n" KEYS("AKIDCFG"),
     "[dev]\n" KEYS("AKIDCRED"),
     {"AWS_PROFILE=dev"},
     NULL,
     "AKIDCRED|None"},
    {"config file only",
     "[profile dev]\n" KEYS("AKIDCFG") "aws_session_token = cfgtok\n",
     NULL,
     {ENVKEYS},
     "dev",
     "AKIDCFG|cfgtok"},
    {"credentials section without key id",
     "[profile dev]\n" KEYS("AKIDCFG"),
     "[dev]\naws_secret_access_key = s\n",
     {NULL},
     "dev",
     "AKIDCFG|None"},
    {"credential_process before config keys",
     "[profile dev]\n" KEYS("AKIDCFG") "credential_process = %DIR%/proc.sh\n",
     NULL,
     {NULL},
     "dev",
     "AKIDPROC|proctok"},
    {"credentials keys before credential_process",
     "[profile dev]\ncredential_process = %DIR%/proc.sh\n",
     "[dev]\n" KEYS("AKIDCRED"),
     {NULL},
     "dev",
     "AKIDCRED|None"},
    {"credential_process in credentials file",
     NULL,
     "[dev]\ncredential_process = %DIR%/proc.sh\n",
     {NULL},
     "dev",
     "AKIDPROC|proctok"},
    {"missing profile from AWS_PROFILE despite env",
     "[default]\n" KEYS("AKIDCFG"),
     NULL,
     {ENVKEYS, "AWS_PROFILE=nope"},
     NULL,
     "PROFILE_NOT_FOUND"},
    {"explicit default must exist", NULL, NULL, {NULL}, "default", "PROFILE_NOT_FOUND"},
    {"nothing anywhere", NULL, NULL, {NULL}, NULL, "NONE"},
    {"profile without credentials, env skipped",
     "[profile dev]\nregion = eu-west-1\n",
     NULL,
     {ENVKEYS},
     "dev",
     "NONE"},
    {"key id without secret in file",
     NULL,
     "[default]\naws_access_key_id = AKIDX\n",
     {NULL},
     NULL,
     "PARTIAL"},
    {"key id without secret in env", NULL, NULL, {"AWS_ACCESS_KEY_ID=AKIDX"}, NULL, "PARTIAL"},
    {"[dev] in config and [profile dev] in credentials are not dev",
     "[dev]\n" KEYS("AKIDW1"),
     "[profile dev]\n" KEYS("AKIDW2"),
     {NULL},
     "dev",
     "PROFILE_NOT_FOUND"},
    {"quoted profile name",
     "[profile \"my dev\"]\n" KEYS("AKIDQUOTED"),
     NULL,
     {NULL},
     "my dev",
     "AKIDQUOTED|None"},
    {"[DEFAULT], upper-case keys, colon",
     NULL,
     "[DEFAULT]\naws_secret_access_key = s\n[default]\nAWS_ACCESS_KEY_ID: AKIDUPPER\n",
     {NULL},
     NULL,
     "AKIDUPPER|None"},
    {"file tokens: aws_security_token first",
     NULL,
     "[default]\n" KEYS("AKIDTOK") "aws_session_token = sess\naws_security_token = secu\n",
     {NULL},
     NULL,
     "AKIDTOK|secu"},
    {"nested block and comments",
     "# c\n[profile dev]\n; c\ns3 =\n  addressing_style = path\n"
     "\n  max_concurrent_requests = 2\n" KEYS("AKIDNESTED"),
     NULL,
     {NULL},
     "dev",
     "AKIDNESTED|None"},
    {"[profile default] is the default profile",
     "[profile default]\n" KEYS("AKIDPD"),
     NULL,
     {NULL},
     NULL,
     "AKIDPD|None"},
};

static const char *const botocore_py =
    "import sys, botocore.session, botocore.exceptions\n"
    "p = sys.argv[1] if len(sys.argv) > 1 else None\n"
    "try:\n"
    "    c = botocore.session.Session(profile=p).get_credentials()\n"
    "    if c is None:\n"
    "        print('NONE')\n"
    "    else:\n"
    "        f = c.get_frozen_credentials()\n"
    "        print('%s|%s' % (f.access_key, f.token))\n"
    "except botocore.exceptions.ProfileNotFound:\n"
    "    print('PROFILE_NOT_FOUND')\n"
    "except botocore.exceptions.PartialCredentialsError:\n"
    "    print('PARTIAL')\n"
    "except Exception as e:\n"
    "    print('ERR:' + type(e).__name__)\n";

static void ours(struct fx *fx, const char *profile, char *out, size_t outsz)
{
    struct creds_options o = opts(fx, profile);
    struct aws_credentials c;
    cfdr_err e;
    err_clear(&e);
    cfdr_code rc = creds_resolve(&o, &c, &e);
    if (rc == CFDR_OK) {
        snprintf(out, outsz, "%s|%s", c.access_key_id, c.session_token ? c.session_token : "None");
        creds_free(&c);
    } else if (rc == CFDR_E_CONFIG && strstr(e.msg, "not found in")) {
        snprintf(out, outsz, "PROFILE_NOT_FOUND");
    } else if (rc == CFDR_E_CREDENTIALS && strstr(e.msg, "no AWS credentials found")) {
        snprintf(out, outsz, "NONE");
    } else if (rc == CFDR_E_CREDENTIALS && (strstr(e.msg, "but no aws_secret_access_key") ||
                                            strstr(e.msg, "AWS_SECRET_ACCESS_KEY is not"))) {
        snprintf(out, outsz, "PARTIAL");
    } else {
        snprintf(out, outsz, "ERR:%s: %s", err_code_name(rc), e.msg);
    }
}

static void botocore(struct fx *fx, const char *profile, char *out, size_t outsz)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/botocore_check.py%s%s%s", fx->dir,
             profile ? " '" : "", profile ? profile : "", profile ? "'" : "");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    if (!fgets(out, (int)outsz, p))
        out[0] = '\0';
    char rest[256];
    while (fgets(rest, sizeof(rest), p))
        ;
    assert_int_equal(pclose(p), 0);
    out[strcspn(out, "\n")] = '\0';
}

static void test_matches_botocore(void **state)
{
    struct fx *fx = *state;

    write_file(fx, "botocore_check.py", botocore_py);
    write_script(fx, "proc.sh",
                 "echo '{\"Version\":1,\"AccessKeyId\":\"AKIDPROC\","
                 "\"SecretAccessKey\":\"x\",\"SessionToken\":\"proctok\"}'\n");
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
        const struct scenario *s = &scenarios[i];
        char mine[CFDR_ERR_MSG_MAX + 64], theirs[512];

        reset_env(fx);
        unlink(fx->config);
        unlink(fx->credentials);
        if (s->config)
            write_file(fx, "config", s->config);
        if (s->credentials)
            write_file(fx, "credentials", s->credentials);
        for (int j = 0; j < 5 && s->env[j]; j++) {
            char name[64];
            const char *eq = strchr(s->env[j], '=');
            snprintf(name, sizeof(name), "%.*s", (int)(eq - s->env[j]), s->env[j]);
            setenv(name, eq + 1, 1);
        }
        ours(fx, s->profile, mine, sizeof(mine));
        botocore(fx, s->profile, theirs, sizeof(theirs));
        if (strcmp(mine, theirs) != 0 || strcmp(mine, s->expect) != 0)
            fail_msg("scenario '%s': cfdr '%s', botocore '%s', expected '%s'", s->name, mine,
                     theirs, s->expect);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time),
        T(test_env),
        T(test_env_partial),
        T(test_profile_selection),
        T(test_profile_not_found),
        T(test_credentials_vs_config),
        T(test_no_credentials),
        T(test_role_and_web_identity_order),
        T(test_process_ok),
        T(test_process_failures),
        T(test_process_timeout),
        T(test_provider_refresh),
        T(test_provider_static_is_cached),
        T(test_logging_has_no_secrets),
        T(test_matches_botocore),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
