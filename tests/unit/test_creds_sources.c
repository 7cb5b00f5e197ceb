/*
 * Tests for the credential sources that talk to a server: assume role (aws/creds_sts), IAM
 * Identity Center (aws/creds_sso), container credentials (aws/creds_container), EC2 instance
 * metadata (aws/creds_imds), the AWS CLI cache they share (aws/creds_cache), and the provider's
 * refresh of all of them.
 *
 * Every server is tests/servers/creds_server.py on 127.0.0.1, started per test with fork/exec
 * and stopped by PID in the teardown (also when a test fails). It checks what it receives (the
 * SigV4 signature of AssumeRole with botocore's signer, the SSO bearer token, the container
 * Authorization header, the IMDSv2 token flow), answers like AWS and records every request.
 * Nothing here may reach another address: STS, SSO and the metadata service are pointed at the
 * server, AWS_EC2_METADATA_DISABLED=true unless a test enables it with the endpoint on loopback,
 * and no test sets a URL with a 169.254.* host that would be contacted (the ones used are
 * refused before any connection). HOME is a temporary directory, so the caches are too.
 * Cache file names and contents are cross-checked with botocore (/usr/bin/python3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "aws/buf.h"
#include "aws/creds.h"
#include "aws/creds_cache.h"
#include "aws/creds_container.h"
#include "aws/creds_sts.h"

/* 2030-01-01T00:00:00Z */
#define T2030 ((time_t)1893456000)
#define BASE_AKID "AKIDBASE000000000001"
#define BASE_SECRET "base/secret+key=="
#define ROLE_ARN "arn:aws:iam::123456789012:role/deploy"
#define MFA_ARN "arn:aws:iam::123456789012:mfa/me"

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
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_EC2_METADATA_V1_DISABLED",
    "AWS_METADATA_SERVICE_TIMEOUT",
    "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_SSO",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_MAX_ATTEMPTS",
    "AWS_CREDENTIAL_FILE",
    "BOTO_CONFIG",
};
#define NVARS (sizeof(env_vars) / sizeof(env_vars[0]))

struct fx {
    char dir[256];
    char path[512]; /* scratch */
    char state_path[320];
    char record_path[320];
    pid_t pid;
    int port;
    char base_url[64]; /* http://127.0.0.1:PORT */
    char *saved[NVARS];
    int had[NVARS];
    time_t now;
    struct buf log;
    struct cfdr_log lg;
    int sleeps;
    long slept_ms;
    int prompts;
    char last_prompt[256];
    char last_serial[128];
    const char *mfa_code; /* NULL: the prompt fails */
};

/* ---- environment, files ---- */

static const char *source_dir(char *out, size_t size)
{
    const char *env = getenv("CFDR_SOURCE_DIR");
    if (env && *env) {
        snprintf(out, size, "%s", env);
    } else {
        const char *f = __FILE__, *p = strstr(f, "/tests/unit/");
        snprintf(out, size, "%.*s", p ? (int)(p - f) : 1, p ? f : ".");
    }
    return out;
}

static const char *python(void)
{
    const char *py = getenv("PYTHON");
    return py && *py ? py : "/usr/bin/python3";
}

/* Writes dir/name (mode 0600, parents created); "%DIR%" and "%URL%" are replaced. */
static void write_file(struct fx *fx, const char *name, const char *text)
{
    struct buf b;
    FILE *f;
    char path[600];

    buf_init(&b, BUF_MAX_SMALL);
    for (const char *p = text; *p;) {
        if (strncmp(p, "%DIR%", 5) == 0) {
            assert_int_equal(buf_adds(&b, fx->dir), CFDR_OK);
            p += 5;
        } else if (strncmp(p, "%URL%", 5) == 0) {
            assert_int_equal(buf_adds(&b, fx->base_url), CFDR_OK);
            p += 5;
        } else {
            assert_int_equal(buf_addc(&b, *p++), CFDR_OK);
        }
    }
    snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
    for (char *s = path + strlen(fx->dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
        *s = '\0';
        if (mkdir(path, 0700) != 0)
            assert_int_equal(errno, EEXIST);
        *s = '/';
    }
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf_str(&b), 1, buf_len(&b), f), buf_len(&b));
    assert_int_equal(fclose(f), 0);
    buf_free(&b);
}

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[1024];
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

/* Number of files in dir (relative to the temp dir); -1 when it does not exist. */
static int count_files(struct fx *fx, const char *sub)
{
    char p[600];
    DIR *d;
    struct dirent *e;
    int n = 0;
    snprintf(p, sizeof(p), "%s/%s", fx->dir, sub);
    d = opendir(p);
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void assert_has(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected to find \"%s\" in:\n%s", needle, hay);
}

static void assert_lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("did not expect \"%s\" in:\n%s", needle, hay);
}

/* ---- the server ---- */

static void write_state(struct fx *fx, const char *json)
{
    char tmp[400];
    FILE *f;
    snprintf(tmp, sizeof(tmp), "%s.tmp", fx->state_path);
    f = fopen(tmp, "w");
    assert_non_null(f);
    assert_true(fputs(json, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, fx->state_path), 0);
}

static void server_start(struct fx *fx)
{
    char dir[512], script[700], line[32];
    pid_t parent = getpid();
    int p[2];
    size_t n = 0;

    snprintf(script, sizeof(script), "%s/tests/servers/creds_server.py",
             source_dir(dir, sizeof(dir)));
    write_state(fx, "{}");
    assert_int_equal(pipe(p), 0);
    fx->pid = fork();
    assert_true(fx->pid >= 0);
    if (fx->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        execl(python(), python(), script, "--state", fx->state_path, "--record", fx->record_path,
              "--max-seconds", "200", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    while (n < sizeof(line) - 1) {
        struct pollfd pf = {p[0], POLLIN, 0};
        assert_int_equal(poll(&pf, 1, 15000), 1);
        assert_int_equal(read(p[0], line + n, 1), 1);
        if (line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(p[0]);
    fx->port = atoi(line);
    assert_true(fx->port > 0 && fx->port < 65536);
    snprintf(fx->base_url, sizeof(fx->base_url), "http://127.0.0.1:%d", fx->port);
}

static void server_stop(struct fx *fx)
{
    int status, i;
    if (fx->pid <= 0)
        return;
    kill(fx->pid, SIGTERM);
    for (i = 0; i < 100 && waitpid(fx->pid, &status, WNOHANG) == 0; i++)
        usleep(20000);
    if (i == 100) {
        kill(fx->pid, SIGKILL);
        waitpid(fx->pid, &status, 0);
    }
    fx->pid = 0;
}

/* The recorded requests as a JSON array (json_object_put it). */
static json_object *records(struct fx *fx)
{
    json_object *arr = json_object_new_array();
    FILE *f = fopen(fx->record_path, "r");
    char *line = NULL;
    size_t cap = 0;
    assert_non_null(arr);
    if (!f)
        return arr;
    while (getline(&line, &cap, f) > 0) {
        json_object *o = json_tokener_parse(line);
        assert_non_null(o);
        json_object_array_add(arr, o);
    }
    free(line);
    fclose(f);
    return arr;
}

static int nrecords(struct fx *fx)
{
    json_object *a = records(fx);
    int n = (int)json_object_array_length(a);
    json_object_put(a);
    return n;
}

static const char *rstr(json_object *rec, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(rec, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static const char *rform(json_object *rec, const char *key)
{
    json_object *form = NULL;
    if (!json_object_object_get_ex(rec, "form", &form))
        return NULL;
    return rstr(form, key);
}

static const char *rheader(json_object *rec, const char *name)
{
    json_object *h = NULL;
    if (!json_object_object_get_ex(rec, "headers", &h))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(h); i++) {
        json_object *pair = json_object_array_get_idx(h, i);
        if (strcasecmp(json_object_get_string(json_object_array_get_idx(pair, 0)), name) == 0)
            return json_object_get_string(json_object_array_get_idx(pair, 1));
    }
    return NULL;
}

static json_object *rec_at(json_object *arr, int i)
{
    assert_true(i >= 0 && (size_t)i < json_object_array_length(arr));
    return json_object_array_get_idx(arr, (size_t)i);
}

/* ---- fixture ---- */

static time_t fake_now(void *ud)
{
    return ((struct fx *)ud)->now;
}

static void fake_sleep(void *ud, long ms)
{
    struct fx *fx = ud;
    fx->sleeps++;
    fx->slept_ms += ms;
}

static void capture(void *ud, enum cfdr_log_level level, const char *line)
{
    struct buf *b = ud;
    assert_int_equal(buf_addf(b, "%d %s\n", (int)level, line), CFDR_OK);
}

static cfdr_code fake_prompt(void *ud, const char *serial, const char *prompt, char *code,
                             size_t codesz, cfdr_err *err)
{
    struct fx *fx = ud;
    fx->prompts++;
    snprintf(fx->last_prompt, sizeof(fx->last_prompt), "%s", prompt);
    snprintf(fx->last_serial, sizeof(fx->last_serial), "%s", serial);
    if (!fx->mfa_code)
        return err_set(err, CFDR_E_CREDENTIALS, "the test's prompt refused");
    snprintf(code, codesz, "%s", fx->mfa_code);
    return CFDR_OK;
}

static void set_endpoints(struct fx *fx)
{
    char imds[96];
    setenv("AWS_ENDPOINT_URL_STS", fx->base_url, 1);
    setenv("AWS_ENDPOINT_URL_SSO", fx->base_url, 1);
    snprintf(imds, sizeof(imds), "%s/", fx->base_url);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    char boto[400];
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/cfdr-credsrc-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->state_path, sizeof(fx->state_path), "%s/state.json", fx->dir);
    snprintf(fx->record_path, sizeof(fx->record_path), "%s/record.jsonl", fx->dir);
    for (size_t i = 0; i < NVARS; i++) {
        const char *v = getenv(env_vars[i]);
        fx->had[i] = v != NULL;
        fx->saved[i] = v ? strdup(v) : NULL;
        unsetenv(env_vars[i]);
    }
    setenv("HOME", fx->dir, 1);
    snprintf(fx->path, sizeof(fx->path), "%s/config", fx->dir);
    setenv("AWS_CONFIG_FILE", fx->path, 1);
    snprintf(fx->path, sizeof(fx->path), "%s/credentials", fx->dir);
    setenv("AWS_SHARED_CREDENTIALS_FILE", fx->path, 1);
    snprintf(boto, sizeof(boto), "%s/no-boto-config", fx->dir);
    setenv("BOTO_CONFIG", boto, 1);
    /* safety net before the server is up: nothing may go anywhere but loopback */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9", 1);
    setenv("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9", 1);
    fx->now = T2030 - 3600;
    buf_init(&fx->log, BUF_MAX_DOC);
    fx->lg.level = CFDR_LOG_DEBUG;
    fx->lg.emit = capture;
    fx->lg.ud = &fx->log;
    *state = fx;
    server_start(fx);
    set_endpoints(fx);
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    server_stop(fx);
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

static struct creds_options opts(struct fx *fx, const char *profile)
{
    struct creds_options o;
    memset(&o, 0, sizeof(o));
    o.profile = profile;
    o.log = &fx->lg;
    o.now = fake_now;
    o.now_ud = fx;
    o.sleep_ms = fake_sleep;
    o.sleep_ud = fx;
    o.mfa_prompt = fake_prompt;
    o.mfa_prompt_ud = fx;
    return o;
}

static void expect_ok(struct fx *fx, const char *profile, const char *akid, const char *secret,
                      const char *token, const char *source, time_t expiration)
{
    struct creds_options o = opts(fx, profile);
    struct aws_credentials c;
    cfdr_err e;
    err_clear(&e);
    if (creds_resolve(&o, &c, &e) != CFDR_OK)
        fail_msg("creds_resolve(%s): %s", profile ? profile : "NULL", e.msg);
    assert_string_equal(c.access_key_id, akid);
    assert_string_equal(c.secret_access_key, secret);
    if (token)
        assert_string_equal(c.session_token, token);
    else
        assert_null(c.session_token);
    assert_string_equal(c.source, source);
    assert_int_equal(c.expiration, expiration);
    creds_free(&c);
}

static void expect_fail(struct fx *fx, const char *profile, cfdr_code want, cfdr_err *e)
{
    struct creds_options o = opts(fx, profile);
    struct aws_credentials c;
    cfdr_code rc;
    err_clear(e);
    rc = creds_resolve(&o, &c, e);
    if (rc != want)
        fail_msg("creds_resolve(%s) gave %s (%s), wanted %s", profile ? profile : "NULL",
                 err_code_name(rc), e->msg, err_code_name(want));
    /* a failed resolve leaves nothing behind */
    assert_null(c.access_key_id);
    assert_null(c.secret_access_key);
}

/* Runs `script args` with botocore and returns its first output line. */
static void run_python(struct fx *fx, const char *script_name, const char *args, char *out,
                       size_t outsz)
{
    char cmd[1500], rest[256];
    FILE *p;
    snprintf(cmd, sizeof(cmd), "%s %s/%s %s", python(), fx->dir, script_name, args);
    p = popen(cmd, "r");
    assert_non_null(p);
    if (!fgets(out, (int)outsz, p))
        out[0] = '\0';
    while (fgets(rest, sizeof(rest), p))
        ;
    assert_int_equal(pclose(p), 0);
    out[strcspn(out, "\n")] = '\0';
}

/* botocore's assume-role fetcher over a JSON argument file: prints the cache key ("key"), the
 * cached credentials it reads ("read") or writes an entry the way the AWS CLI does ("write").
 * Its client creator fails: botocore must never call STS here. */
static const char *const botocore_role_py =
    "import sys, json, datetime\n"
    "from dateutil.tz import tzutc\n"
    "from botocore.credentials import AssumeRoleCredentialFetcher\n"
    "from botocore.utils import JSONFileCache\n"
    "a = json.load(open(sys.argv[1]))\n"
    "def boom(*x, **k):\n"
    "    raise SystemExit('botocore tried to call STS')\n"
    "f = AssumeRoleCredentialFetcher(boom, None, a['role_arn'], extra_args=a['extra'],\n"
    "                                cache=JSONFileCache(sys.argv[2]))\n"
    "if sys.argv[3] == 'key':\n"
    "    print(f._cache_key)\n"
    "elif sys.argv[3] == 'read':\n"
    "    c = f.fetch_credentials()\n"
    "    print('%s|%s|%s|%s' % (c['access_key'], c['secret_key'], c['token'], "
    "c['expiry_time']))\n"
    "else:\n"
    "    f._write_to_cache({'Credentials': {'AccessKeyId': 'ASIAFROMTHECLI01', 'SecretAccessKey':"
    " 'clisecret', 'SessionToken': 'clitoken', 'Expiration': datetime.datetime(2030, 1, 1, "
    "tzinfo=tzutc())}, 'AssumedRoleUser': {'Arn': 'x', 'AssumedRoleId': 'y'}})\n"
    "    print(f._cache_key)\n";

static void botocore_role(struct fx *fx, const char *args_json, const char *what, char *out,
                          size_t outsz)
{
    char args[800];
    write_file(fx, "role_args.json", args_json);
    write_file(fx, "botocore_role.py", botocore_role_py);
    snprintf(args, sizeof(args), "%s/role_args.json %s/.aws/cli/cache %s", fx->dir, fx->dir, what);
    run_python(fx, "botocore_role.py", args, out, outsz);
}

/* ---- assume role ---- */

static const char *const base_credentials =
    "[base]\naws_access_key_id = " BASE_AKID "\naws_secret_access_key = " BASE_SECRET "\n";

static void test_assume_role_source_profile(void **state)
{
    struct fx *fx = *state;
    json_object *recs;
    char key[41], theirs[256], file[700];
    struct stat st;
    struct creds_sts_role role;
    cfdr_err e;

    write_file(fx, "config",
               "[profile role]\nrole_arn = " ROLE_ARN "\nsource_profile = base\n"
               "role_session_name = cfdr-test\nexternal_id = ext-42\nduration_seconds = 1800\n"
               "region = eu-west-1\n");
    write_file(fx, "credentials", base_credentials);
    write_state(fx, "{\"sts\": {\"sources\": {\"" BASE_AKID "\": [\"" BASE_SECRET "\", null]},"
                    " \"region\": \"eu-west-1\", \"roles\": {\"" ROLE_ARN "\": {\"key_prefix\":"
                    " \"ASIADEPLOY\", \"expiration\": \"2030-01-01T00:00:00Z\"}}}}");

    expect_ok(fx, "role", "ASIADEPLOY0001", "secret-ASIADEPLOY0001", "token-ASIADEPLOY0001",
              "assume-role", T2030);

    /* what STS received: a signed query request with the role's parameters */
    recs = records(fx);
    assert_int_equal(json_object_array_length(recs), 1);
    json_object *r = rec_at(recs, 0);
    assert_string_equal(rstr(r, "sigv4"), "ok");
    assert_string_equal(rstr(r, "signed_by"), BASE_AKID);
    assert_string_equal(rstr(r, "signed_region"), "eu-west-1"); /* the profile's region */
    assert_string_equal(rstr(r, "method"), "POST");
    assert_string_equal(rform(r, "Action"), "AssumeRole");
    assert_string_equal(rform(r, "Version"), "2011-06-15");
    assert_string_equal(rform(r, "RoleArn"), ROLE_ARN);
    assert_string_equal(rform(r, "RoleSessionName"), "cfdr-test");
    assert_string_equal(rform(r, "ExternalId"), "ext-42");
    assert_string_equal(rform(r, "DurationSeconds"), "1800");
    assert_null(rform(r, "SerialNumber"));
    assert_null(rform(r, "TokenCode"));
    assert_has(rheader(r, "Authorization"), "AWS4-HMAC-SHA256 Credential=" BASE_AKID "/");
    assert_has(rheader(r, "Authorization"), "/eu-west-1/sts/aws4_request");
    assert_string_equal(rheader(r, "X-Amz-Date"), "20291231T230000Z"); /* the injected clock */
    assert_null(rheader(r, "X-Amz-Security-Token"));
    assert_has(rheader(r, "Content-Type"), "application/x-www-form-urlencoded");
    json_object_put(recs);

    /* the AWS CLI cache: botocore's file name, mode 0600 in a 0700 directory */
    memset(&role, 0, sizeof(role));
    role.role_arn = ROLE_ARN;
    role.session_name = "cfdr-test";
    role.session_name_configured = 1;
    role.external_id = "ext-42";
    role.has_duration = 1;
    role.duration_seconds = 1800;
    assert_int_equal(creds_sts_cache_key(&role, key, &e), CFDR_OK);
    botocore_role(fx,
                  "{\"role_arn\": \"" ROLE_ARN "\", \"extra\": {\"RoleSessionName\": "
                  "\"cfdr-test\", \"ExternalId\": \"ext-42\", \"DurationSeconds\": 1800}}",
                  "key", theirs, sizeof(theirs));
    assert_string_equal(key, theirs);
    snprintf(file, sizeof(file), "%s/.aws/cli/cache/%s.json", fx->dir, key);
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(file, sizeof(file), "%s/.aws/cli/cache", fx->dir);
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(count_files(fx, ".aws/cli/cache"), 1);

    /* botocore (the AWS CLI) reads cfdr's entry without calling STS */
    botocore_role(fx,
                  "{\"role_arn\": \"" ROLE_ARN "\", \"extra\": {\"RoleSessionName\": "
                  "\"cfdr-test\", \"ExternalId\": \"ext-42\", \"DurationSeconds\": 1800}}",
                  "read", theirs, sizeof(theirs));
    assert_string_equal(theirs, "ASIADEPLOY0001|secret-ASIADEPLOY0001|token-ASIADEPLOY0001|"
                                "2030-01-01T00:00:00+00:00");

    /* and cfdr reads it back: no second AssumeRole */
    expect_ok(fx, "role", "ASIADEPLOY0001", "secret-ASIADEPLOY0001", "token-ASIADEPLOY0001",
              "assume-role", T2030);
    assert_int_equal(nrecords(fx), 1);

    /* ... until it is within 15 minutes of expiring */
    fx->now = T2030 - CREDS_CACHE_EXPIRY_WINDOW_S + 1;
    expect_ok(fx, "role", "ASIADEPLOY0002", "secret-ASIADEPLOY0002", "token-ASIADEPLOY0002",
              "assume-role", T2030);
    assert_int_equal(nrecords(fx), 2);

    /* secrets never reach the log */
    assert_has(buf_str(&fx->log), "using the cached entry");
    assert_lacks(buf_str(&fx->log), BASE_SECRET);
    assert_lacks(buf_str(&fx->log), "secret-ASIADEPLOY");
    assert_lacks(buf_str(&fx->log), "token-ASIADEPLOY");
}

static void test_assume_role_reads_cli_cache(void **state)
{
    struct fx *fx = *state;
    char theirs[256];

    /* an entry the AWS CLI wrote (botocore's own JSONFileCache and key) is used as it is:
     * nothing is signed and no source credentials are needed */
    write_file(fx, "config",
               "[profile cli]\nrole_arn = " ROLE_ARN "\nsource_profile = base\n"
               "mfa_serial = " MFA_ARN "\n");
    write_file(fx, "credentials", base_credentials);
    botocore_role(
        fx, "{\"role_arn\": \"" ROLE_ARN "\", \"extra\": {\"SerialNumber\": \"" MFA_ARN "\"}}",
        "write", theirs, sizeof(theirs));
    assert_int_equal(strlen(theirs), 40);
    expect_ok(fx, "cli", "ASIAFROMTHECLI01", "clisecret", "clitoken", "assume-role", T2030);
    assert_int_equal(nrecords(fx), 0);
    assert_int_equal(fx->prompts, 0); /* the MFA session the CLI opened is reused */
}

static void test_assume_role_chain(void **state)
{
    struct fx *fx = *state;
    json_object *recs, *r;

    write_file(fx, "config",
               "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\n"
               "source_profile = mid\n"
               "[profile mid]\nrole_arn = arn:aws:iam::123456789012:role/mid\n"
               "source_profile = base\nregion = ap-south-1\n");
    write_file(fx, "credentials", base_credentials);
    write_state(fx, "{\"sts\": {\"sources\": {\"" BASE_AKID "\": [\"" BASE_SECRET "\", null]},"
                    " \"roles\": {\"arn:aws:iam::123456789012:role/top\": {\"key_prefix\": "
                    "\"ASIATOP\", \"expiration\": \"2030-01-01T00:00:00Z\"}, "
                    "\"arn:aws:iam::123456789012:role/mid\": {\"key_prefix\": \"ASIAMID\", "
                    "\"expiration\": \"2030-01-01T00:00:00Z\"}}}}");
    setenv("AWS_REGION", "ca-central-1", 1);

    expect_ok(fx, "top", "ASIATOP0001", "secret-ASIATOP0001", "token-ASIATOP0001", "assume-role",
              T2030);
    recs = records(fx);
    assert_int_equal(json_object_array_length(recs), 2);
    /* first the source profile's role, with the base keys */
    r = rec_at(recs, 0);
    assert_string_equal(rstr(r, "sigv4"), "ok");
    assert_string_equal(rform(r, "RoleArn"), "arn:aws:iam::123456789012:role/mid");
    assert_string_equal(rstr(r, "signed_by"), BASE_AKID);
    assert_string_equal(rstr(r, "signed_region"), "ca-central-1"); /* AWS_REGION first */
    /* a generated session name: cfdr-<the injected time> */
    assert_string_equal(rform(r, "RoleSessionName"), "cfdr-1893452400");
    assert_null(rform(r, "DurationSeconds"));
    /* then the selected role, signed with the first role's temporary credentials */
    r = rec_at(recs, 1);
    assert_string_equal(rstr(r, "sigv4"), "ok");
    assert_string_equal(rform(r, "RoleArn"), "arn:aws:iam::123456789012:role/top");
    assert_string_equal(rstr(r, "signed_by"), "ASIAMID0001");
    assert_string_equal(rheader(r, "X-Amz-Security-Token"), "token-ASIAMID0001");
    json_object_put(recs);
    assert_int_equal(count_files(fx, ".aws/cli/cache"), 2);

    /* from the cache, the middle role is not even looked at */
    expect_ok(fx, "top", "ASIATOP0001", "secret-ASIATOP0001", "token-ASIATOP0001", "assume-role",
              T2030);
    assert_int_equal(nrecords(fx), 2);
    /* the middle profile alone: its own cache entry */
    expect_ok(fx, "mid", "ASIAMID0001", "secret-ASIAMID0001", "token-ASIAMID0001", "assume-role",
              T2030);
    assert_int_equal(nrecords(fx), 2);
    /* an empty role_session_name is a generated one (botocore), so the key is the same */
    write_file(fx, "config",
               "[profile blank]\nrole_arn = arn:aws:iam::123456789012:role/mid\n"
               "source_profile = base\nrole_session_name =\n");
    expect_ok(fx, "blank", "ASIAMID0001", "secret-ASIAMID0001", "token-ASIAMID0001", "assume-role",
              T2030);
    assert_int_equal(nrecords(fx), 2);
}

static void test_assume_role_credential_source(void **state)
{
    struct fx *fx = *state;
    json_object *recs;
    char st[2048];
    cfdr_err e;

    write_file(fx, "config",
               "[profile fromenv]\nrole_arn = arn:aws:iam::123456789012:role/env\n"
               "credential_source = Environment\n"
               "[profile fromecs]\nrole_arn = arn:aws:iam::123456789012:role/ecs\n"
               "credential_source = EcsContainer\n"
               "[profile fromec2]\nrole_arn = arn:aws:iam::123456789012:role/ec2\n"
               "credential_source = Ec2InstanceMetadata\n");
    snprintf(st, sizeof(st),
             "{\"sts\": {\"sources\": {\"AKIDFROMENV000000001\": [\"envsecret\", null], "
             "\"ASIACONTAINER0000001\": [\"ctrsecret\", \"ctrtoken\"], "
             "\"ASIAINSTANCE00000001\": [\"ec2secret\", \"ec2token\"]}, \"roles\": {"
             "\"arn:aws:iam::123456789012:role/env\": {\"key_prefix\": \"ASIAENV\"}, "
             "\"arn:aws:iam::123456789012:role/ecs\": {\"key_prefix\": \"ASIAECS\"}, "
             "\"arn:aws:iam::123456789012:role/ec2\": {\"key_prefix\": \"ASIAEC2\"}}}, "
             "\"container\": {\"authorization\": \"ctr-auth\", \"credentials\": {\"AccessKeyId\":"
             " \"ASIACONTAINER0000001\", \"SecretAccessKey\": \"ctrsecret\", \"Token\": "
             "\"ctrtoken\", \"Expiration\": \"2030-01-01T00:00:00Z\"}}, "
             "\"imds\": {\"mode\": \"v2\", \"role\": \"ec2-role\", \"credentials\": "
             "{\"AccessKeyId\": \"ASIAINSTANCE00000001\", \"SecretAccessKey\": \"ec2secret\", "
             "\"Token\": \"ec2token\", \"Expiration\": \"2030-01-01T00:00:00Z\"}}}");
    write_state(fx, st);

    /* Environment: the variables are the source even under --profile */
    setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV000000001", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    /* without expiration in the answer the role lasts the default hour from the signing time */
    expect_ok(fx, "fromenv", "ASIAENV0001", "secret-ASIAENV0001", "token-ASIAENV0001",
              "assume-role", fx->now + 3600);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");

    /* EcsContainer */
    snprintf(st, sizeof(st), "%s/container/v2/creds", fx->base_url);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", st, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ctr-auth", 1);
    expect_ok(fx, "fromecs", "ASIAECS0001", "secret-ASIAECS0001", "token-ASIAECS0001",
              "assume-role", fx->now + 3600);
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");

    /* Ec2InstanceMetadata (the metadata endpoint is the loopback server) */
    unsetenv("AWS_EC2_METADATA_DISABLED");
    expect_ok(fx, "fromec2", "ASIAEC20001", "secret-ASIAEC20001", "token-ASIAEC20001",
              "assume-role", fx->now + 3600);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);

    recs = records(fx);
    /* env: 1 STS; container: 1 GET + 1 STS; imds: PUT, 2 GETs, 1 STS */
    assert_int_equal(json_object_array_length(recs), 7);
    assert_string_equal(rstr(rec_at(recs, 0), "signed_by"), "AKIDFROMENV000000001");
    assert_string_equal(rstr(rec_at(recs, 1), "path"), "/container/v2/creds");
    assert_string_equal(rstr(rec_at(recs, 2), "signed_by"), "ASIACONTAINER0000001");
    assert_string_equal(rheader(rec_at(recs, 2), "X-Amz-Security-Token"), "ctrtoken");
    assert_string_equal(rstr(rec_at(recs, 3), "path"), "/latest/api/token");
    assert_string_equal(rstr(rec_at(recs, 6), "signed_by"), "ASIAINSTANCE00000001");
    for (int i = 0; i < 7; i++)
        if (rstr(rec_at(recs, i), "sigv4"))
            assert_string_equal(rstr(rec_at(recs, i), "sigv4"), "ok");
    json_object_put(recs);

    /* a source that has nothing: an error naming it, nothing sent */
    write_file(fx, "config",
               "[profile fromenv2]\nrole_arn = arn:aws:iam::123456789012:role/env2\n"
               "credential_source = Environment\n"
               "[profile fromec2b]\nrole_arn = arn:aws:iam::123456789012:role/ec2b\n"
               "credential_source = Ec2InstanceMetadata\n");
    expect_fail(fx, "fromenv2", CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "no credentials found in credential_source Environment referenced in "
                      "profile 'fromenv2'");
    expect_fail(fx, "fromec2b", CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "credential_source Ec2InstanceMetadata");
    assert_has(e.msg, "disabled by AWS_EC2_METADATA_DISABLED");
    assert_int_equal(nrecords(fx), 7);
}

static void test_assume_role_access_denied(void **state)
{
    struct fx *fx = *state;
    cfdr_err e;

    write_file(fx, "config",
               "[profile role]\nrole_arn = " ROLE_ARN "\nsource_profile = base\n"
               "[profile unknown]\nrole_arn = arn:aws:iam::123456789012:role/nope\n"
               "source_profile = base\n");
    write_file(fx, "credentials", base_credentials);
    write_state(fx, "{\"sts\": {\"sources\": {\"" BASE_AKID "\": [\"" BASE_SECRET "\", null]},"
                    " \"deny\": \"User: arn:aws:iam::123456789012:user/ci is not authorized to "
                    "perform: sts:AssumeRole on resource: " ROLE_ARN "\"}}");
    expect_fail(fx, "role", CFDR_E_AWS, &e);
    assert_has(e.msg, "assuming role " ROLE_ARN " for profile 'role'");
    assert_has(e.msg, "STS AssumeRole failed: HTTP 403 AccessDenied: User: "
                      "arn:aws:iam::123456789012:user/ci is not authorized to perform: "
                      "sts:AssumeRole on resource: " ROLE_ARN);
    assert_has(e.msg, "request id");
    assert_lacks(e.msg, BASE_SECRET);
    assert_int_equal(nrecords(fx), 1); /* AccessDenied is not retried */
    assert_int_equal(fx->sleeps, 0);
    assert_int_equal(count_files(fx, ".aws/cli/cache"), -1); /* nothing cached */

    /* wrong source keys: the signature check fails at STS, with its code */
    write_state(fx, "{\"sts\": {\"sources\": {\"" BASE_AKID "\": [\"another\", null]}}}");
    expect_fail(fx, "role", CFDR_E_AWS, &e);
    assert_has(e.msg, "SignatureDoesNotMatch");
    write_state(fx, "{\"sts\": {\"sources\": {\"" BASE_AKID "\": [\"" BASE_SECRET "\", null]}}}");
    expect_fail(fx, "unknown", CFDR_E_AWS, &e);
    assert_has(e.msg, "not authorized to perform: sts:AssumeRole on resource: "
                      "arn:aws:iam::123456789012:role/nope");
}

/* botocore's verdict on a profile's assume-role settings; only get_credentials() is called,
 * which validates the settings and never calls STS (AssumeRole is deferred until the keys are
 * read, and this script never reads them). */
static const char *const botocore_config_py =
    "import sys, botocore.session, botocore.exceptions\n"
    "try:\n"
    "    c = botocore.session.Session(profile=sys.argv[1]).get_credentials()\n"
    "    print('NONE' if c is None else 'OK:' + c.method)\n"
    "except botocore.exceptions.BotoCoreError as e:\n"
    "    print(type(e).__name__)\n";

struct role_case {
    const char *profile;
    cfdr_code want;
    const char *message;  /* part of ours */
    const char *botocore; /* botocore's verdict */
};

static void test_assume_role_config_errors(void **state)
{
    struct fx *fx = *state;
    static const struct role_case cases[] = {
        {"both", CFDR_E_CONFIG, "has both source_profile and credential_source",
         "InvalidConfigError"},
        {"neither", CFDR_E_CONFIG, "neither source_profile nor credential_source",
         "PartialCredentialsError"},
        {"badsource", CFDR_E_CONFIG,
         "credential_source 'Bogus' of profile 'badsource' is not "
         "valid",
         "InvalidConfigError"},
        {"lowercase", CFDR_E_CONFIG, "credential_source 'environment'", "InvalidConfigError"},
        {"missing", CFDR_E_CONFIG,
         "the source_profile 'ghost' of profile 'missing' does not "
         "exist",
         "InvalidConfigError"},
        {"loopa", CFDR_E_CONFIG, "loop: loopa -> loopb -> loopa", "InfiniteLoopConfigError"},
        {"self", CFDR_E_CONFIG, "loop: self -> self", "InfiniteLoopConfigError"},
        {"selfkeys", CFDR_OK, NULL, "OK:assume-role"},
        {"nocreds", CFDR_E_CREDENTIALS, "the source profile 'empty' has no credentials",
         "InvalidConfigError"},
    };
    char theirs[128];
    cfdr_err e;

    write_file(fx, "config",
               "[profile both]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = base\n"
               "credential_source = Environment\n"
               "[profile neither]\nrole_arn = arn:aws:iam::1:role/a\n"
               "[profile badsource]\nrole_arn = arn:aws:iam::1:role/a\n"
               "credential_source = Bogus\n"
               "[profile lowercase]\nrole_arn = arn:aws:iam::1:role/a\n"
               "credential_source = environment\n"
               "[profile missing]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = ghost\n"
               "[profile loopa]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = loopb\n"
               "[profile loopb]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = loopa\n"
               "[profile self]\nrole_arn = arn:aws:iam::1:role/s\nsource_profile = self\n"
               "[profile selfkeys]\nrole_arn = arn:aws:iam::1:role/k\n"
               "source_profile = selfkeys\naws_access_key_id = AKIDSELFKEYS00000001\n"
               "aws_secret_access_key = selfsecret\n"
               "[profile nocreds]\nrole_arn = arn:aws:iam::1:role/n\nsource_profile = empty\n"
               "[profile empty]\nregion = eu-west-1\n"
               "[profile base]\naws_access_key_id = " BASE_AKID
               "\naws_secret_access_key = " BASE_SECRET "\n");
    write_state(fx, "{\"sts\": {\"sources\": {\"AKIDSELFKEYS00000001\": [\"selfsecret\", null]},"
                    " \"roles\": {\"arn:aws:iam::1:role/k\": {\"key_prefix\": \"ASIASELF\"}}}}");
    write_file(fx, "botocore_config.py", botocore_config_py);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct role_case *c = &cases[i];
        struct creds_options o = opts(fx, c->profile);
        struct aws_credentials cr;
        cfdr_code rc;
        err_clear(&e);
        rc = creds_resolve(&o, &cr, &e);
        if (rc != c->want)
            fail_msg("%s: %s (%s), wanted %s", c->profile, err_code_name(rc), e.msg,
                     err_code_name(c->want));
        if (c->message)
            assert_has(e.msg, c->message);
        if (rc == CFDR_OK) {
            assert_string_equal(cr.access_key_id, "ASIASELF0001");
            creds_free(&cr);
        }
        run_python(fx, "botocore_config.py", c->profile, theirs, sizeof(theirs));
        if (strcmp(theirs, c->botocore) != 0)
            fail_msg("%s: botocore says %s, the table %s", c->profile, theirs, c->botocore);
    }
    /* only the valid profile reached STS, signed with its own keys */
    json_object *recs = records(fx);
    assert_int_equal(json_object_array_length(recs), 1);
    assert_string_equal(rstr(rec_at(recs, 0), "signed_by"), "AKIDSELFKEYS00000001");
    assert_string_equal(rstr(rec_at(recs, 0), "sigv4"), "ok");
    json_object_put(recs);
}

/* ---- MFA ---- */

static void test_mfa(void **state)
{
    struct fx *fx = *state;
    struct creds_options o;
    struct creds_provider *p = NULL;
    const struct aws_credentials *c = NULL;
    json_object *recs;
    int saved_stdin, devnull;
    cfdr_err e;

    write_file(fx, "config",
               "[profile mfa]\nrole_arn = " ROLE_ARN "\nsource_profile = base\n"
               "mfa_serial = " MFA_ARN "\n");
    write_file(fx, "credentials", base_credentials);
    write_state(fx, "{\"sts\": {\"sources\": {\"" BASE_AKID "\": [\"" BASE_SECRET "\", null]},"
                    " \"roles\": {\"" ROLE_ARN "\": {\"key_prefix\": \"ASIAMFA\"}}}}");

    /* no terminal on stdin and no prompt function: a clear error, nothing sent */
    saved_stdin = dup(STDIN_FILENO);
    devnull = open("/dev/null", O_RDONLY);
    assert_true(saved_stdin >= 0 && devnull >= 0);
    assert_int_equal(dup2(devnull, STDIN_FILENO), STDIN_FILENO);
    close(devnull);
    o = opts(fx, "mfa");
    o.mfa_prompt = NULL;
    struct aws_credentials cr;
    err_clear(&e);
    cfdr_code rc = creds_resolve(&o, &cr, &e);
    assert_int_equal(dup2(saved_stdin, STDIN_FILENO), STDIN_FILENO);
    close(saved_stdin);
    assert_int_equal(rc, CFDR_E_CREDENTIALS);
    assert_has(e.msg, "profile 'mfa' needs an MFA code (mfa_serial " MFA_ARN ")");
    assert_has(e.msg, "run cfdr from a terminal");
    assert_has(e.msg, "aws sts get-caller-identity --profile mfa");
    assert_int_equal(nrecords(fx), 0);

    /* a prompt that fails: its error, nothing sent */
    fx->mfa_code = NULL;
    expect_fail(fx, "mfa", CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "the test's prompt refused");
    assert_int_equal(nrecords(fx), 0);

    /* with a code: SerialNumber and TokenCode go to STS; the code never reaches the log */
    fx->mfa_code = "918273";
    fx->prompts = 0;
    o = opts(fx, "mfa");
    assert_int_equal(creds_provider_new(&o, &p, &e), CFDR_OK);
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_OK);
    assert_string_equal(c->access_key_id, "ASIAMFA0001");
    assert_int_equal(c->expiration, fx->now + 3600);
    assert_int_equal(fx->prompts, 1);
    assert_string_equal(fx->last_serial, MFA_ARN);
    assert_string_equal(fx->last_prompt, "Enter MFA code for " MFA_ARN ": ");
    recs = records(fx);
    assert_int_equal(json_object_array_length(recs), 1);
    assert_string_equal(rform(rec_at(recs, 0), "SerialNumber"), MFA_ARN);
    assert_string_equal(rform(rec_at(recs, 0), "TokenCode"), "918273");
    json_object_put(recs);
    assert_lacks(buf_str(&fx->log), "918273");
    assert_has(buf_str(&fx->log), "TokenCode=REDACTED");

    /* botocore never asks again on a refresh: with time to spare the current credentials stay
     * (a warning); close to expiry it is an error saying why */
    fx->now += 3600 - CREDS_REFRESH_WINDOW_S;
    buf_reset(&fx->log);
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_OK);
    assert_string_equal(c->access_key_id, "ASIAMFA0001");
    assert_has(buf_str(&fx->log), "refreshing failed, using the current ones");
    fx->now += CREDS_REFRESH_WINDOW_S - CREDS_MANDATORY_REFRESH_S;
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_E_CREDENTIALS);
    assert_has(e.msg, "needs a new MFA code (mfa_serial " MFA_ARN ")");
    assert_int_equal(fx->prompts, 1);
    assert_int_equal(nrecords(fx), 1);
    creds_provider_free(p);

    /* a fresh start asks again (the cache entry is too close to expiry to be used) */
    expect_ok(fx, "mfa", "ASIAMFA0002", "secret-ASIAMFA0002", "token-ASIAMFA0002", "assume-role",
              fx->now + 3600);
    assert_int_equal(fx->prompts, 2);
    /* and the next start uses the cache: no prompt */
    expect_ok(fx, "mfa", "ASIAMFA0002", "secret-ASIAMFA0002", "token-ASIAMFA0002", "assume-role",
              fx->now + 3600);
    assert_int_equal(fx->prompts, 2);
}

struct pty_peer {
    int master;
    const char *expect; /* the prompt to wait for */
    const char *answer;
    struct buf seen; /* everything the terminal showed */
    int ok;
};

/* Plays the user: waits for the prompt, types the answer, collects what the terminal echoes. */
static void *pty_user(void *ud)
{
    struct pty_peer *u = ud;
    char chunk[256];
    int typed = 0;
    for (int i = 0; i < 100; i++) { /* at most 5 s */
        struct pollfd pf = {u->master, POLLIN, 0};
        int n = poll(&pf, 1, 50);
        if (n > 0) {
            ssize_t r = read(u->master, chunk, sizeof(chunk));
            if (r <= 0)
                break;
            if (buf_add(&u->seen, chunk, (size_t)r) != CFDR_OK)
                break;
        }
        if (!typed && strstr(buf_str(&u->seen), u->expect)) {
            if (write(u->master, u->answer, strlen(u->answer)) != (ssize_t)strlen(u->answer))
                break;
            typed = 1;
        } else if (typed && n == 0) {
            u->ok = 1; /* quiet after the answer: done */
            break;
        }
    }
    return NULL;
}

static void test_prompt_terminal(void **state)
{
    struct fx *fx = *state;
    struct pty_peer u;
    pthread_t th;
    struct termios t;
    char code[32];
    int master, slave, p[2];
    cfdr_err e;
    (void)fx;

    master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    assert_true(slave >= 0);
    memset(&u, 0, sizeof(u));
    u.master = master;
    u.expect = "Enter MFA code for " MFA_ARN ": ";
    u.answer = "  654321 \n";
    buf_init(&u.seen, BUF_MAX_SMALL);
    assert_int_equal(pthread_create(&th, NULL, pty_user, &u), 0);
    err_clear(&e);
    cfdr_code rc = creds_sts_prompt_terminal(slave, slave, "Enter MFA code for " MFA_ARN ": ", code,
                                             sizeof(code), &e);
    assert_int_equal(pthread_join(th, NULL), 0);
    if (rc != CFDR_OK)
        fail_msg("prompt: %s", e.msg);
    assert_true(u.ok);
    assert_string_equal(code, "654321");
    assert_has(buf_str(&u.seen), "Enter MFA code for " MFA_ARN ": ");
    assert_lacks(buf_str(&u.seen), "654321"); /* echo was off while it was typed */
    /* and is on again */
    assert_int_equal(tcgetattr(slave, &t), 0);
    assert_true(t.c_lflag & ECHO);
    buf_free(&u.seen);

    /* an empty line is no code */
    memset(&u, 0, sizeof(u));
    u.master = master;
    u.expect = "Enter MFA code for x: ";
    u.answer = "\n";
    buf_init(&u.seen, BUF_MAX_SMALL);
    assert_int_equal(pthread_create(&th, NULL, pty_user, &u), 0);
    rc = creds_sts_prompt_terminal(slave, slave, "Enter MFA code for x: ", code, sizeof(code), &e);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(rc, CFDR_E_CREDENTIALS);
    assert_has(e.msg, "no MFA code entered");
    buf_free(&u.seen);
    close(slave);
    close(master);

    /* not a terminal */
    assert_int_equal(pipe(p), 0);
    assert_int_equal(creds_sts_prompt_terminal(p[0], p[1], "x: ", code, sizeof(code), &e),
                     CFDR_E_CREDENTIALS);
    assert_has(e.msg, "not a terminal");
    close(p[0]);
    close(p[1]);
}

/* ---- cache keys against botocore ---- */

struct key_case {
    const char *args_json; /* botocore's role_arn and extra_args */
    struct creds_sts_role role;
};

static void test_cache_keys_match_botocore(void **state)
{
    struct fx *fx = *state;
    static const struct key_case cases[] = {
        {"{\"role_arn\": \"arn:aws:iam::1:role/a\", \"extra\": {}}",
         {.role_arn = "arn:aws:iam::1:role/a", .session_name = "generated"}},
        {"{\"role_arn\": \"arn:aws:iam::1:role/a\", \"extra\": {\"RoleSessionName\": \"s\"}}",
         {.role_arn = "arn:aws:iam::1:role/a", .session_name = "s", .session_name_configured = 1}},
        {"{\"role_arn\": \"arn:aws:iam::1:role/a\", \"extra\": {\"SerialNumber\": "
         "\"arn:aws:iam::1:mfa/u\", \"DurationSeconds\": 43200, \"ExternalId\": \"x\"}}",
         {.role_arn = "arn:aws:iam::1:role/a",
          .session_name = "g",
          .mfa_serial = "arn:aws:iam::1:mfa/u",
          .has_duration = 1,
          .duration_seconds = 43200,
          .external_id = "x"}},
        /* JSON escaping as Python does it: quotes, backslash, control characters, DEL,
         * non-ASCII (BMP and beyond) */
        {"{\"role_arn\": \"arn:aws:iam::1:role/q\", \"extra\": {\"ExternalId\": "
         "\"a\\\"b\\\\c\\td\\u0001\\u007f\\u00e9\\u20ac\\ud83d\\ude00\", \"RoleSessionName\": "
         "\"caf\\u00e9 /x\"}}",
         {.role_arn = "arn:aws:iam::1:role/q",
          .external_id = "a\"b\\c\td\x01\x7f\xc3\xa9\xe2\x82"
                         "\xac\xf0\x9f\x98\x80",
          .session_name = "caf\xc3\xa9 /x",
          .session_name_configured = 1}},
        {"{\"role_arn\": \"arn:aws:iam::1:role/a\", \"extra\": {\"DurationSeconds\": -5}}",
         {.role_arn = "arn:aws:iam::1:role/a",
          .session_name = "g",
          .has_duration = 1,
          .duration_seconds = -5}},
    };
    char mine[41], theirs[128];
    cfdr_err e;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(creds_sts_cache_key(&cases[i].role, mine, &e), CFDR_OK);
        botocore_role(fx, cases[i].args_json, "key", theirs, sizeof(theirs));
        if (strcmp(mine, theirs) != 0)
            fail_msg("case %zu: cfdr %s, botocore %s", i, mine, theirs);
    }
    /* text that is not UTF-8 has no key */
    struct creds_sts_role bad = {.role_arn = "arn:\xff", .session_name = "s"};
    assert_int_equal(creds_sts_cache_key(&bad, mine, &e), CFDR_E_CONFIG);
    assert_has(e.msg, "role_arn");
    /* SHA-1 itself (FIPS 180 test vector) */
    creds_cache_sha1_hex("abc", 3, mine);
    assert_string_equal(mine, "a9993e364706816aba3e25717850c26c9cd0d89d");
}

/* ---- IAM Identity Center ---- */

/* botocore's names: the token file (SSOTokenLoader) and the role credentials cache key
 * (SSOCredentialFetcher). argv: start_url session_name|- account role */
static const char *const botocore_sso_py =
    "import sys\n"
    "from botocore.utils import SSOTokenLoader\n"
    "from botocore.credentials import SSOCredentialFetcher\n"
    "url, sess, acct, role = sys.argv[1:5]\n"
    "sess = None if sess == '-' else sess\n"
    "tok = SSOTokenLoader()._generate_cache_key(url, sess)\n"
    "f = SSOCredentialFetcher(url, 'us-east-1', role, acct, None, sso_session_name=sess)\n"
    "print(tok + ' ' + f._cache_key)\n";

static void botocore_sso(struct fx *fx, const char *url, const char *session, const char *acct,
                         const char *role, char tok[41], char key[41])
{
    char args[600], out[200];
    write_file(fx, "botocore_sso.py", botocore_sso_py);
    snprintf(args, sizeof(args), "'%s' '%s' '%s' '%s'", url, session ? session : "-", acct, role);
    run_python(fx, "botocore_sso.py", args, out, sizeof(out));
    assert_int_equal(strlen(out), 81);
    snprintf(tok, 41, "%.40s", out);
    snprintf(key, 41, "%.40s", out + 41);
}

static const char *const sso_config =
    "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\n"
    "sso_role_name = Deployer\nregion = eu-west-1\n"
    "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
    "sso_region = eu-central-1\nsso_registration_scopes = sso:account:access\n"
    "[profile legacy]\nsso_start_url = https://legacy.awsapps.com/start\n"
    "sso_region = us-east-1\nsso_account_id = 444455556666\nsso_role_name = ReadOnly\n";

static void sso_state(struct fx *fx, const char *token, const char *acct, const char *role,
                      const char *akid, long long exp_ms)
{
    char st[1024];
    snprintf(st, sizeof(st),
             "{\"sso\": {\"token\": \"%s\", \"account_id\": \"%s\", \"role_name\": \"%s\", "
             "\"credentials\": {\"accessKeyId\": \"%s\", \"secretAccessKey\": \"ssosecret-%s\", "
             "\"sessionToken\": \"ssosession-%s\", \"expiration\": %lld}}}",
             token, acct, role, akid, akid, akid, exp_ms);
    write_state(fx, st);
}

static void write_token(struct fx *fx, const char *hash, const char *token, const char *expires)
{
    char name[128], text[512];
    snprintf(name, sizeof(name), ".aws/sso/cache/%s.json", hash);
    snprintf(text, sizeof(text),
             "{\"startUrl\": \"https://corp.awsapps.com/start\", \"region\": \"eu-central-1\", "
             "\"accessToken\": \"%s\", \"expiresAt\": \"%s\", \"clientId\": \"c\"}",
             token, expires);
    write_file(fx, name, text);
}

static void test_sso(void **state)
{
    struct fx *fx = *state;
    char tok[41], key[41], mine[41], file[700];
    json_object *recs, *r;
    struct stat st;

    write_file(fx, "config", sso_config);
    botocore_sso(fx, "https://corp.awsapps.com/start", "corp", "111122223333", "Deployer", tok,
                 key);
    /* the token file is named by the session name */
    creds_cache_sha1_hex("corp", 4, mine);
    assert_string_equal(tok, mine);
    write_token(fx, tok, "ssotok-corp", "2030-01-01T00:00:00Z");
    sso_state(fx, "ssotok-corp", "111122223333", "Deployer", "ASIASSO0001",
              (long long)T2030 * 1000 + 999);

    expect_ok(fx, "dev", "ASIASSO0001", "ssosecret-ASIASSO0001", "ssosession-ASIASSO0001", "sso",
              T2030);
    recs = records(fx);
    assert_int_equal(json_object_array_length(recs), 1);
    r = rec_at(recs, 0);
    assert_string_equal(rstr(r, "method"), "GET");
    assert_string_equal(rstr(r, "path"), "/federation/credentials");
    assert_string_equal(rstr(r, "query"), "role_name=Deployer&account_id=111122223333");
    assert_string_equal(rheader(r, "x-amz-sso_bearer_token"), "ssotok-corp");
    assert_null(rheader(r, "Authorization")); /* not SigV4-signed */
    assert_null(rheader(r, "X-Amz-Date"));
    assert_null(rheader(r, "X-Amz-Security-Token"));
    json_object_put(recs);
    assert_lacks(buf_str(&fx->log), "ssotok-corp");
    assert_lacks(buf_str(&fx->log), "ssosecret-");

    /* cached for the AWS CLI under botocore's key, in botocore's shape */
    snprintf(file, sizeof(file), "%s/.aws/cli/cache/%s.json", fx->dir, key);
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    json_object *doc = json_object_from_file(file), *cr = NULL;
    assert_non_null(doc);
    assert_string_equal(rstr(doc, "ProviderType"), "sso");
    assert_true(json_object_object_get_ex(doc, "Credentials", &cr));
    assert_string_equal(rstr(cr, "AccessKeyId"), "ASIASSO0001");
    assert_string_equal(rstr(cr, "Expiration"), "2030-01-01T00:00:00Z");
    json_object_put(doc);
    /* and used: no second call */
    expect_ok(fx, "dev", "ASIASSO0001", "ssosecret-ASIASSO0001", "ssosession-ASIASSO0001", "sso",
              T2030);
    assert_int_equal(nrecords(fx), 1);

    /* a legacy profile: the token file is named by the start URL; an older CLI's "UTC" */
    botocore_sso(fx, "https://legacy.awsapps.com/start", NULL, "444455556666", "ReadOnly", tok,
                 key);
    write_token(fx, tok, "ssotok-legacy", "2030-01-01T00:00:00UTC");
    sso_state(fx, "ssotok-legacy", "444455556666", "ReadOnly", "ASIASSOLEGACY1",
              (long long)T2030 * 1000);
    expect_ok(fx, "legacy", "ASIASSOLEGACY1", "ssosecret-ASIASSOLEGACY1",
              "ssosession-ASIASSOLEGACY1", "sso", T2030);
    snprintf(file, sizeof(file), "%s/.aws/cli/cache/%s.json", fx->dir, key);
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(nrecords(fx), 2);

    /* an SSO profile as the source of a role */
    write_file(fx, "config",
               "[profile viasso]\nrole_arn = " ROLE_ARN "\nsource_profile = legacy\n"
               "[profile legacy]\nsso_start_url = https://legacy.awsapps.com/start\n"
               "sso_region = us-east-1\nsso_account_id = 444455556666\n"
               "sso_role_name = ReadOnly\n");
    write_state(fx, "{\"sts\": {\"sources\": {\"ASIASSOLEGACY1\": [\"ssosecret-ASIASSOLEGACY1\", "
                    "\"ssosession-ASIASSOLEGACY1\"]}, \"roles\": {\"" ROLE_ARN
                    "\": {\"key_prefix\": \"ASIAVIASSO\"}}}}");
    expect_ok(fx, "viasso", "ASIAVIASSO0001", "secret-ASIAVIASSO0001", "token-ASIAVIASSO0001",
              "assume-role", fx->now + 3600);
    recs = records(fx);
    assert_int_equal(json_object_array_length(recs), 3); /* the SSO credentials came cached */
    assert_string_equal(rstr(rec_at(recs, 2), "signed_by"), "ASIASSOLEGACY1");
    assert_string_equal(rstr(rec_at(recs, 2), "sigv4"), "ok");
    json_object_put(recs);
}

static void test_sso_errors(void **state)
{
    struct fx *fx = *state;
    char tok[41];
    cfdr_err e;

    write_file(fx, "config", sso_config);
    creds_cache_sha1_hex("corp", 4, tok);
    sso_state(fx, "ssotok-corp", "111122223333", "Deployer", "ASIASSO0001",
              (long long)T2030 * 1000);

    /* no token yet */
    expect_fail(fx, "dev", CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "there is no IAM Identity Center token for corp");
    assert_has(e.msg, "run: aws sso login --profile dev");

    /* an expired token */
    write_token(fx, tok, "ssotok-corp", "2029-12-31T22:59:59Z");
    expect_fail(fx, "dev", CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "the IAM Identity Center token for corp has expired");
    assert_has(e.msg, "run: aws sso login --profile dev");
    assert_lacks(e.msg, "ssotok-corp");
    assert_int_equal(nrecords(fx), 0);

    /* a token the portal no longer accepts */
    write_token(fx, tok, "ssotok-revoked", "2030-01-01T00:00:00Z");
    expect_fail(fx, "dev", CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "the IAM Identity Center session for corp has expired or is otherwise "
                      "invalid (GetRoleCredentials: UnauthorizedException: Session token not "
                      "found or invalid)");
    assert_has(e.msg, "run: aws sso login --profile dev");
    assert_lacks(e.msg, "ssotok-revoked");
    /* no access to the role: AWS's answer */
    write_token(fx, tok, "ssotok-corp", "2030-01-01T00:00:00Z");
    sso_state(fx, "ssotok-corp", "111122223333", "OtherRole", "ASIASSO0001",
              (long long)T2030 * 1000);
    expect_fail(fx, "dev", CFDR_E_AWS, &e);
    assert_has(e.msg, "GetRoleCredentials failed: HTTP 403 ForbiddenException: No access");
    assert_has(e.msg, "profile 'dev' (IAM Identity Center, account 111122223333, role Deployer)");
    assert_int_equal(nrecords(fx), 2);

    /* settings */
    write_file(fx, "config",
               "[profile nosess]\nsso_session = ghost\nsso_account_id = 1\nsso_role_name = r\n"
               "[profile noregion]\nsso_session = s2\nsso_account_id = 1\nsso_role_name = r\n"
               "[sso-session s2]\nsso_start_url = https://x.awsapps.com/start\n"
               "[profile clash]\nsso_session = s3\nsso_account_id = 1\nsso_role_name = r\n"
               "sso_start_url = https://other.awsapps.com/start\n"
               "[sso-session s3]\nsso_start_url = https://x.awsapps.com/start\n"
               "sso_region = us-east-1\n"
               "[profile tokenonly]\nsso_session = s3\n");
    expect_fail(fx, "nosess", CFDR_E_CONFIG, &e);
    assert_has(e.msg, "profile 'nosess' uses sso_session 'ghost'");
    assert_has(e.msg, "[sso-session ghost]");
    expect_fail(fx, "noregion", CFDR_E_CONFIG, &e);
    assert_has(e.msg, "missing required configuration: sso_region");
    expect_fail(fx, "clash", CFDR_E_CONFIG, &e);
    assert_has(e.msg, "sso_start_url differs between profile 'clash'");
    /* sso_session alone is no credential source (botocore: needs account and role) */
    expect_fail(fx, "tokenonly", CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "no AWS credentials found for profile 'tokenonly'");
    assert_has(e.msg, "IAM Identity Center (profile 'tokenonly' has no sso_account_id");
    assert_int_equal(nrecords(fx), 2);
}

/* ---- container ---- */

static void container_state(struct fx *fx, const char *auth, int fail_first, int status,
                            const char *akid, const char *expiration)
{
    char st[1024], a[128];
    if (auth)
        snprintf(a, sizeof(a), "\"%s\"", auth);
    else
        snprintf(a, sizeof(a), "null");
    snprintf(st, sizeof(st),
             "{\"container\": {\"authorization\": %s, \"fail_first\": %d, \"status\": %d, "
             "\"credentials\": {\"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"ctrsecret\", "
             "\"Token\": \"ctrtoken\", \"Expiration\": \"%s\", \"RoleArn\": \"arn:x\"}}}",
             a, fail_first, status, akid, expiration);
    write_state(fx, st);
}

static void test_container(void **state)
{
    struct fx *fx = *state;
    char url[200];
    json_object *recs, *r;
    cfdr_err e;

    snprintf(url, sizeof(url), "%s/container/v2/credentials/abc?x=1", fx->base_url);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Basic ecs-token", 1);
    container_state(fx, "Basic ecs-token", 0, 200, "ASIACONTAINER0001", "2030-01-01T00:00:00Z");
    expect_ok(fx, NULL, "ASIACONTAINER0001", "ctrsecret", "ctrtoken", "container-role", T2030);
    recs = records(fx);
    assert_int_equal(json_object_array_length(recs), 1);
    r = rec_at(recs, 0);
    assert_string_equal(rstr(r, "method"), "GET");
    assert_string_equal(rstr(r, "path"), "/container/v2/credentials/abc");
    assert_string_equal(rstr(r, "query"), "x=1");
    assert_string_equal(rheader(r, "Authorization"), "Basic ecs-token");
    assert_string_equal(rheader(r, "Accept"), "application/json");
    json_object_put(recs);
    assert_lacks(buf_str(&fx->log), "ecs-token");
    assert_lacks(buf_str(&fx->log), "ctrsecret");

    /* the token file wins over the variable, and is read again each time (rotation) */
    write_file(fx, "pod-token", "eks-pod-identity-1");
    snprintf(fx->path, sizeof(fx->path), "%s/pod-token", fx->dir);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", fx->path, 1);
    container_state(fx, "eks-pod-identity-1", 0, 200, "ASIACONTAINER0002", "2030-01-01T00:00:00Z");
    expect_ok(fx, NULL, "ASIACONTAINER0002", "ctrsecret", "ctrtoken", "container-role", T2030);
    write_file(fx, "pod-token", "eks-pod-identity-2");
    container_state(fx, "eks-pod-identity-2", 0, 200, "ASIACONTAINER0003", "2030-01-01T00:00:00Z");
    expect_ok(fx, NULL, "ASIACONTAINER0003", "ctrsecret", "ctrtoken", "container-role", T2030);
    /* botocore reads the file verbatim: a trailing newline is refused, not sent */
    write_file(fx, "pod-token", "eks-pod-identity-2\n");
    expect_fail(fx, NULL, CFDR_E_CONFIG, &e);
    assert_has(e.msg, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) holds a line break");
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "a\r\nInjected: yes", 1);
    expect_fail(fx, NULL, CFDR_E_CONFIG, &e);
    assert_has(e.msg, "holds a line break");
    assert_int_equal(nrecords(fx), 3);

    /* transient failures are retried, 1 s apart, 3 attempts in all */
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    container_state(fx, NULL, 2, 200, "ASIACONTAINER0004", "2030-01-01T00:00:00Z");
    fx->sleeps = 0;
    fx->slept_ms = 0;
    expect_ok(fx, NULL, "ASIACONTAINER0004", "ctrsecret", "ctrtoken", "container-role", T2030);
    assert_int_equal(fx->sleeps, 2);
    assert_int_equal(fx->slept_ms, 2 * CREDS_CONTAINER_PAUSE_MS);
    assert_int_equal(nrecords(fx), 6);
    recs = records(fx);
    assert_null(rheader(rec_at(recs, 5), "Authorization")); /* none configured */
    json_object_put(recs);

    /* ... but not forever, and a configured container never falls through to IMDS */
    unsetenv("AWS_EC2_METADATA_DISABLED");
    container_state(fx, NULL, 0, 503, "x", "2030-01-01T00:00:00Z");
    expect_fail(fx, NULL, CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "failed after 3 attempts: HTTP 503");
    assert_has(e.msg, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    assert_int_equal(nrecords(fx), 9);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);

    /* an answer without Token */
    write_state(fx, "{\"container\": {\"credentials\": {\"AccessKeyId\": \"A\", "
                    "\"SecretAccessKey\": \"s\", \"Expiration\": \"2030-01-01T00:00:00Z\"}}}");
    expect_fail(fx, NULL, CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "the answer lacks Token");

    /* nobody listening */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/creds", 1);
    expect_fail(fx, NULL, CFDR_E_NET, &e);
    assert_has(e.msg, "no answer");

    /* static keys of the profile come first in the chain */
    write_file(fx, "credentials",
               "[default]\naws_access_key_id = AKIDSTATIC00000001\n"
               "aws_secret_access_key = s\n");
    expect_ok(fx, NULL, "AKIDSTATIC00000001", "s", NULL, "shared-credentials-file", 0);
    assert_int_equal(nrecords(fx), 10);
}

static void test_container_hosts(void **state)
{
    struct fx *fx = *state;
    static const char *const refused[] = {
        "http://example.com/creds",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/creds",
        "http://169.254.170.3/creds",
        "ftp://127.0.0.1/creds",
        "http://[fd00:ec2::24]/creds",
        "http://127.1/creds",
        "not a url",
        "",
        "http://127.0.0.1@example.com/creds",
    };
    cfdr_err e;

    assert_true(creds_container_host_allowed("127.0.0.1"));
    assert_true(creds_container_host_allowed("127.200.3.4"));
    assert_true(creds_container_host_allowed("::1"));
    assert_true(creds_container_host_allowed("[::1]"));
    assert_true(creds_container_host_allowed("localhost"));
    assert_true(creds_container_host_allowed("LOCALHOST"));
    assert_true(creds_container_host_allowed("169.254.170.2"));
    assert_true(creds_container_host_allowed("169.254.170.23"));
    assert_true(creds_container_host_allowed("[fd00:ec2::23]"));
    assert_true(creds_container_host_allowed("FD00:EC2::23"));
    assert_false(creds_container_host_allowed("169.254.169.254"));
    assert_false(creds_container_host_allowed("128.0.0.1"));
    assert_false(creds_container_host_allowed("localhost.example.com"));
    assert_false(creds_container_host_allowed("::2"));
    assert_false(creds_container_host_allowed(""));

    /* refused before any connection: nothing reaches any address */
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", refused[i], 1);
        expect_fail(fx, NULL, CFDR_E_CONFIG, &e);
        assert_has(e.msg, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
        assert_has(e.msg, "fix or unset it");
    }
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds", 1);
    expect_fail(fx, NULL, CFDR_E_CONFIG, &e);
    assert_has(e.msg, "names host 'example.com', which may not serve credentials");
    assert_int_equal(nrecords(fx), 0);
}

/* ---- instance metadata ---- */

static void imds_state(struct fx *fx, const char *mode, const char *role, const char *akid,
                       const char *expiration)
{
    char st[1024], r[64];
    if (role)
        snprintf(r, sizeof(r), "\"%s\"", role);
    else
        snprintf(r, sizeof(r), "null");
    snprintf(st, sizeof(st),
             "{\"imds\": {\"mode\": \"%s\", \"role\": %s, \"credentials\": {\"AccessKeyId\": "
             "\"%s\", \"SecretAccessKey\": \"imdssecret\", \"Token\": \"imdstoken\", "
             "\"Expiration\": \"%s\"}}}",
             mode, r, akid, expiration);
    write_state(fx, st);
}

static void test_imds(void **state)
{
    struct fx *fx = *state;
    json_object *recs;
    cfdr_err e;

    /* IMDSv2: token first, then both GETs carry it */
    unsetenv("AWS_EC2_METADATA_DISABLED");
    imds_state(fx, "v2", "cfdr-instance-role", "ASIAIMDS0001", "2030-01-01T00:00:00Z");
    expect_ok(fx, NULL, "ASIAIMDS0001", "imdssecret", "imdstoken", "iam-role", T2030);
    recs = records(fx);
    assert_int_equal(json_object_array_length(recs), 3);
    assert_string_equal(rstr(rec_at(recs, 0), "method"), "PUT");
    assert_string_equal(rstr(rec_at(recs, 0), "path"), "/latest/api/token");
    assert_string_equal(rheader(rec_at(recs, 0), "x-aws-ec2-metadata-token-ttl-seconds"), "21600");
    assert_string_equal(rstr(rec_at(recs, 1), "method"), "GET");
    assert_string_equal(rstr(rec_at(recs, 1), "path"),
                        "/latest/meta-data/iam/security-credentials/");
    assert_string_equal(rheader(rec_at(recs, 1), "x-aws-ec2-metadata-token"),
                        "imds-session-token-AQAEAExample==");
    assert_string_equal(rstr(rec_at(recs, 2), "path"),
                        "/latest/meta-data/iam/security-credentials/cfdr-instance-role");
    assert_string_equal(rheader(rec_at(recs, 2), "x-aws-ec2-metadata-token"),
                        "imds-session-token-AQAEAExample==");
    json_object_put(recs);
    assert_lacks(buf_str(&fx->log), "imds-session-token");
    assert_lacks(buf_str(&fx->log), "imdssecret");

    /* IMDSv1 fallback when the token request is refused */
    imds_state(fx, "v1only", "cfdr-instance-role", "ASIAIMDS0002", "2030-01-01T00:00:00Z");
    expect_ok(fx, NULL, "ASIAIMDS0002", "imdssecret", "imdstoken", "iam-role", T2030);
    recs = records(fx);
    assert_int_equal(json_object_array_length(recs), 6);
    assert_string_equal(rstr(rec_at(recs, 3), "path"), "/latest/api/token");
    assert_null(rheader(rec_at(recs, 4), "x-aws-ec2-metadata-token"));
    assert_null(rheader(rec_at(recs, 5), "x-aws-ec2-metadata-token"));
    json_object_put(recs);

    /* ... unless IMDSv1 is disabled */
    setenv("AWS_EC2_METADATA_V1_DISABLED", "true", 1);
    expect_fail(fx, NULL, CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "EC2 instance metadata (no IMDSv2 token (token request to");
    assert_has(e.msg, "HTTP 404) and IMDSv1 is disabled");
    assert_int_equal(nrecords(fx), 7);
    unsetenv("AWS_EC2_METADATA_V1_DISABLED");

    /* a 400 to the token request ends the lookup (botocore's BadIMDSRequestError) */
    imds_state(fx, "token400", "cfdr-instance-role", "x", "2030-01-01T00:00:00Z");
    expect_fail(fx, NULL, CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "no AWS credentials found for profile 'default'");
    assert_has(e.msg, "latest/api/token: HTTP 400");
    assert_int_equal(nrecords(fx), 8);

    /* no role attached */
    imds_state(fx, "v2", NULL, "x", "2030-01-01T00:00:00Z");
    expect_fail(fx, NULL, CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "HTTP 404 (no IAM role attached to the instance)");
    assert_int_equal(nrecords(fx), 10);

    /* a token request that hangs: 1 s, then IMDSv1 */
    imds_state(fx, "token_hang", "cfdr-instance-role", "ASIAIMDS0003", "2030-01-01T00:00:00Z");
    expect_ok(fx, NULL, "ASIAIMDS0003", "imdssecret", "imdstoken", "iam-role", T2030);
    assert_int_equal(nrecords(fx), 13);

    /* disabled: not a single request */
    setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
    expect_fail(fx, NULL, CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)");
    assert_has(e.msg, "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/_FULL_URI "
                      "not set)");
    assert_int_equal(nrecords(fx), 13);

    /* a malformed endpoint setting is an error */
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ftp://127.0.0.1/", 1);
    expect_fail(fx, NULL, CFDR_E_CONFIG, &e);
    assert_has(e.msg, "is not an http(s) URL");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9/", 1);
    setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "many", 1);
    expect_fail(fx, NULL, CFDR_E_CONFIG, &e);
    assert_has(e.msg, "AWS_METADATA_SERVICE_NUM_ATTEMPTS");
    unsetenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS");
    /* nobody listening: no credentials, and it says so */
    expect_fail(fx, NULL, CFDR_E_CREDENTIALS, &e);
    assert_has(e.msg, "EC2 instance metadata (");
    assert_has(e.msg, "no answer");
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static void test_container_before_imds(void **state)
{
    struct fx *fx = *state;
    char url[200], st[1024];

    unsetenv("AWS_EC2_METADATA_DISABLED");
    snprintf(url, sizeof(url), "%s/container/creds", fx->base_url);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    snprintf(st, sizeof(st),
             "{\"container\": {\"credentials\": {\"AccessKeyId\": \"ASIAFROMCONTAINER\", "
             "\"SecretAccessKey\": \"c\", \"Token\": \"t\", \"Expiration\": "
             "\"2030-01-01T00:00:00Z\"}}, \"imds\": {\"mode\": \"v2\", \"role\": \"r\", "
             "\"credentials\": {\"AccessKeyId\": \"ASIAFROMIMDS\", \"SecretAccessKey\": \"i\", "
             "\"Token\": \"t\", \"Expiration\": \"2030-01-01T00:00:00Z\"}}}");
    write_state(fx, st);
    expect_ok(fx, NULL, "ASIAFROMCONTAINER", "c", "t", "container-role", T2030);
    assert_int_equal(nrecords(fx), 1);
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    expect_ok(fx, NULL, "ASIAFROMIMDS", "i", "t", "iam-role", T2030);
    assert_int_equal(nrecords(fx), 4);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

/* ---- refresh before expiry ---- */

static void test_refresh_long_wait(void **state)
{
    struct fx *fx = *state;
    struct creds_options o = opts(fx, "role");
    struct creds_provider *p = NULL;
    const struct aws_credentials *c = NULL;
    time_t start = fx->now;
    char last[64] = "";
    int changes = 0;
    cfdr_err e;

    /* STS answers with credentials that last an hour from the (injected) signing time */
    write_file(fx, "config", "[profile role]\nrole_arn = " ROLE_ARN "\nsource_profile = base\n");
    write_file(fx, "credentials", base_credentials);
    write_state(fx, "{\"sts\": {\"sources\": {\"" BASE_AKID "\": [\"" BASE_SECRET "\", null]},"
                    " \"roles\": {\"" ROLE_ARN "\": {\"key_prefix\": \"ASIAWAIT\"}}}}");
    assert_int_equal(creds_provider_new(&o, &p, &e), CFDR_OK);
    /* a 2-hour wait (a CloudFront deployment, a drill), credentials asked every 5 minutes */
    for (int i = 0; i <= 24; i++) {
        fx->now = start + i * 300;
        if (creds_provider_get(p, &c, &e) != CFDR_OK)
            fail_msg("minute %d: %s", i * 5, e.msg);
        /* never handed out within the refresh window */
        assert_true(c->expiration - fx->now > CREDS_MANDATORY_REFRESH_S);
        if (strcmp(last, c->access_key_id) != 0) {
            changes++;
            snprintf(last, sizeof(last), "%s", c->access_key_id);
        }
    }
    /* assumed at 0, 45 and 90 minutes: 15 minutes before each hour ran out */
    assert_int_equal(changes, 3);
    assert_string_equal(last, "ASIAWAIT0003");
    assert_int_equal(nrecords(fx), 3);
    creds_provider_free(p);
}

static void test_refresh_every_source(void **state)
{
    struct fx *fx = *state;
    struct creds_options o;
    struct creds_provider *p = NULL;
    const struct aws_credentials *c = NULL;
    char url[200], tok[41];
    cfdr_err e;

    /* IAM Identity Center */
    write_file(fx, "config", sso_config);
    creds_cache_sha1_hex("corp", 4, tok);
    write_token(fx, tok, "ssotok-corp", "2030-01-01T08:00:00Z");
    sso_state(fx, "ssotok-corp", "111122223333", "Deployer", "ASIASSO0001",
              (long long)T2030 * 1000);
    o = opts(fx, "dev");
    assert_int_equal(creds_provider_new(&o, &p, &e), CFDR_OK);
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_OK);
    assert_string_equal(c->access_key_id, "ASIASSO0001");
    sso_state(fx, "ssotok-corp", "111122223333", "Deployer", "ASIASSO0002",
              (long long)(T2030 + 3600) * 1000);
    fx->now = T2030 - CREDS_REFRESH_WINDOW_S - 1;
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_OK);
    assert_string_equal(c->access_key_id, "ASIASSO0001");
    fx->now = T2030 - CREDS_REFRESH_WINDOW_S + 1;
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_OK);
    assert_string_equal(c->access_key_id, "ASIASSO0002");
    assert_int_equal(c->expiration, T2030 + 3600);
    assert_int_equal(nrecords(fx), 2);
    creds_provider_free(p);

    /* container */
    fx->now = T2030 - 3600;
    snprintf(url, sizeof(url), "%s/container/creds", fx->base_url);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    container_state(fx, NULL, 0, 200, "ASIACTR0001", "2030-01-01T00:00:00Z");
    o = opts(fx, NULL);
    assert_int_equal(creds_provider_new(&o, &p, &e), CFDR_OK);
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_OK);
    assert_string_equal(c->access_key_id, "ASIACTR0001");
    container_state(fx, NULL, 0, 200, "ASIACTR0002", "2030-01-01T01:00:00Z");
    fx->now = T2030 - 600;
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_OK);
    assert_string_equal(c->access_key_id, "ASIACTR0002");
    assert_int_equal(nrecords(fx), 4);
    creds_provider_free(p);
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");

    /* instance metadata */
    fx->now = T2030 - 3600;
    unsetenv("AWS_EC2_METADATA_DISABLED");
    imds_state(fx, "v2", "r", "ASIAEC20001", "2030-01-01T00:00:00Z");
    o = opts(fx, NULL);
    assert_int_equal(creds_provider_new(&o, &p, &e), CFDR_OK);
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_OK);
    assert_string_equal(c->access_key_id, "ASIAEC20001");
    imds_state(fx, "v2", "r", "ASIAEC20002", "2030-01-01T06:00:00Z");
    fx->now = T2030 - 600;
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_OK);
    assert_string_equal(c->access_key_id, "ASIAEC20002");
    assert_int_equal(c->expiration, T2030 + 6 * 3600);
    assert_int_equal(nrecords(fx), 10);
    creds_provider_free(p);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

/* ---- a static provider ---- */

static void test_static_provider(void **state)
{
    struct fx *fx = *state;
    struct aws_credentials src;
    struct creds_provider *p = NULL;
    const struct aws_credentials *c = NULL;
    cfdr_err e;
    (void)fx;

    assert_int_equal(creds_fill(&src, "AKIDSTATIC", "sec", "tok", T2030 - 10, "x", &e), CFDR_OK);
    assert_int_equal(creds_provider_new_static(&src, &p, &e), CFDR_OK);
    creds_free(&src); /* the provider holds its own copy */
    assert_int_equal(creds_provider_get(p, &c, &e), CFDR_OK);
    assert_string_equal(c->access_key_id, "AKIDSTATIC");
    assert_string_equal(c->secret_access_key, "sec");
    assert_string_equal(c->session_token, "tok");
    assert_int_equal(c->expiration, T2030 - 10);
    creds_provider_free(p);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_assume_role_source_profile),
        T(test_assume_role_reads_cli_cache),
        T(test_assume_role_chain),
        T(test_assume_role_credential_source),
        T(test_assume_role_access_denied),
        T(test_assume_role_config_errors),
        T(test_mfa),
        T(test_prompt_terminal),
        T(test_cache_keys_match_botocore),
        T(test_sso),
        T(test_sso_errors),
        T(test_container),
        T(test_container_hosts),
        T(test_imds),
        T(test_container_before_imds),
        T(test_refresh_long_wait),
        T(test_refresh_every_source),
        T(test_static_provider),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
