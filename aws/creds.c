/* creds: see creds.h. The chain mirrors botocore's create_credential_resolver(). */
#include "creds.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "aws/awsconfig.h"
#include "aws/buf.h"
#include "aws/creds_cache.h"
#include "aws/creds_container.h"
#include "aws/creds_imds.h"
#include "aws/creds_sso.h"
#include "aws/creds_sts.h"

extern char **environ;

/* Largest credential_process output read, and how much of its stderr is kept. */
#define PROCESS_STDOUT_MAX BUF_MAX_SMALL
#define PROCESS_STDERR_KEEP 2048u

/* Longest chain of assume-role profiles followed (botocore has no limit but its loop check). */
#define MAX_ROLE_CHAIN 32

struct resolve {
    const struct creds_options *o;
    const char *profile;      /* the profile being resolved: the selected one or a source_profile */
    const char *top_profile;  /* the selected profile (region and metadata settings come from it) */
    const char *profile_from; /* "--profile", "AWS_DEFAULT_PROFILE", "AWS_PROFILE" or NULL */
    struct awsconfig *cfg;
    time_t now;
    int refreshing; /* the provider already holds credentials: never ask for an MFA code */
    /* botocore's _visited_profiles: the selected profile, then each source_profile followed */
    const char *visited[MAX_ROLE_CHAIN];
    size_t nvisited;
    struct buf tried; /* what was looked at, for the "no credentials" message */
};

static time_t clock_now(const struct creds_options *o)
{
    if (o && o->now)
        return o->now(o->now_ud);
    return time(NULL);
}

static const struct cfdr_log *logger(const struct creds_options *o)
{
    return o ? o->log : NULL;
}

static const char *pick_profile(const struct creds_options *o, const char **from)
{
    const char *v;
    if (o && o->profile) {
        *from = "--profile";
        return o->profile;
    }
    if ((v = getenv("AWS_DEFAULT_PROFILE")) != NULL) {
        *from = "AWS_DEFAULT_PROFILE";
        return v;
    }
    if ((v = getenv("AWS_PROFILE")) != NULL) {
        *from = "AWS_PROFILE";
        return v;
    }
    *from = NULL;
    return "default";
}

const char *creds_profile_name(const struct creds_options *o)
{
    const char *from;
    return pick_profile(o, &from);
}

static void wipe(void *p, size_t n)
{
    if (p && n)
        explicit_bzero(p, n);
}

static void wipe_str(char *s)
{
    if (s)
        wipe(s, strlen(s));
}

static void wipe_buf(struct buf *b)
{
    wipe(b->p, b->cap);
    buf_free(b);
}

void creds_free(struct aws_credentials *c)
{
    if (!c)
        return;
    wipe_str(c->secret_access_key);
    wipe_str(c->session_token);
    free(c->access_key_id);
    free(c->secret_access_key);
    free(c->session_token);
    memset(c, 0, sizeof(*c));
}

/* "…ABCD": the only part of an access key id that is logged. */
static void key_hint(const char *akid, char out[16])
{
    size_t n = akid ? strlen(akid) : 0;
    if (n > 4)
        snprintf(out, 16, "...%s", akid + n - 4);
    else
        snprintf(out, 16, "(too short)");
}

static cfdr_code nomem(cfdr_err *err)
{
    return err_set(err, CFDR_E_NOMEM, "out of memory resolving AWS credentials");
}

static void tried(struct resolve *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tried(struct resolve *r, const char *fmt, ...)
{
    va_list ap;
    cfdr_code rc = CFDR_OK;
    /* Only message text: if it does not fit, the message is shorter, nothing else changes. */
    if (buf_len(&r->tried))
        rc = buf_adds(&r->tried, "; ");
    va_start(ap, fmt);
    if (rc == CFDR_OK)
        rc = buf_vaddf(&r->tried, fmt, ap);
    va_end(ap);
    (void)rc;
}

cfdr_code creds_fill(struct aws_credentials *out, const char *akid, const char *secret,
                     const char *token, time_t expiration, const char *source, cfdr_err *err)
{
    memset(out, 0, sizeof(*out));
    out->access_key_id = strdup(akid);
    out->secret_access_key = strdup(secret);
    out->session_token = (token && *token) ? strdup(token) : NULL;
    out->expiration = expiration;
    snprintf(out->source, sizeof(out->source), "%s", source);
    if (!out->access_key_id || !out->secret_access_key ||
        (token && *token && !out->session_token)) {
        creds_free(out);
        return nomem(err);
    }
    return CFDR_OK;
}

/* ---- time ---- */

static int digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return 0;
        *v = *v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return 1;
}

cfdr_code creds_parse_time(const char *s, time_t *out)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec = 0, off = 0;
    const char *p = s;
    struct tm tm;

    if (!s)
        return CFDR_E_PARSE;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d))
        return CFDR_E_PARSE;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return CFDR_E_PARSE;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
        return CFDR_E_PARSE;
    if (*p == ':') {
        p++;
        if (!digits(&p, 2, &sec))
            return CFDR_E_PARSE;
        if (*p == '.' || *p == ',') {
            p++;
            if (*p < '0' || *p > '9')
                return CFDR_E_PARSE;
            while (*p >= '0' && *p <= '9')
                p++;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
        if (!digits(&p, 2, &oh))
            return CFDR_E_PARSE;
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &om))
                return CFDR_E_PARSE;
        } else if (*p && !digits(&p, 2, &om)) {
            return CFDR_E_PARSE;
        }
        if (oh > 23 || om > 59)
            return CFDR_E_PARSE;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return CFDR_E_PARSE; /* no time zone: refuse to guess */
    }
    if (*p != '\0')
        return CFDR_E_PARSE;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || sec > 60)
        return CFDR_E_PARSE;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *out = timegm(&tm) - off;
    return CFDR_OK;
}

void creds_format_time(time_t t, char out[32])
{
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(out, 32, "%lld", (long long)t);
}

/* Credentials that have already expired (by the injected clock) are refused where they come
 * from, so the message can say where that is. */
static cfdr_code check_expiry(const struct resolve *r, const struct aws_credentials *c,
                              const char *where, cfdr_err *err)
{
    char when[32];
    if (!c->expiration || c->expiration > r->now)
        return CFDR_OK;
    creds_format_time(c->expiration, when);
    return err_set(err, CFDR_E_CREDENTIALS, "%s gave credentials that expired at %s; renew them",
                   where, when);
}

/* ---- 1. environment ---- */

/* botocore's EnvProvider; also credential_source = Environment. */
static cfdr_code env_creds(struct resolve *r, struct aws_credentials *out, int *found,
                           cfdr_err *err)
{
    const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
    const char *tok = NULL, *exp;
    time_t expiration = 0;
    int has_ak = ak && *ak, has_sk = sk && *sk;

    if (!has_ak && !has_sk) {
        tried(r, "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (not set)");
        return CFDR_OK;
    }
    if (!has_sk)
        return err_set(err, CFDR_E_CREDENTIALS,
                       "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both, or "
                       "unset AWS_ACCESS_KEY_ID to use profile '%s'",
                       r->profile);
    if (!has_ak)
        return err_set(err, CFDR_E_CREDENTIALS,
                       "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not; set both, or "
                       "unset AWS_SECRET_ACCESS_KEY to use profile '%s'",
                       r->profile);
    /* botocore reads the legacy AWS_SECURITY_TOKEN first. */
    tok = getenv("AWS_SECURITY_TOKEN");
    if (!tok || !*tok)
        tok = getenv("AWS_SESSION_TOKEN");
    exp = getenv("AWS_CREDENTIAL_EXPIRATION");
    if (exp && *exp && creds_parse_time(exp, &expiration) != CFDR_OK)
        return err_set(err, CFDR_E_CONFIG,
                       "AWS_CREDENTIAL_EXPIRATION '%s' is not an ISO-8601 time with a zone (such "
                       "as 2030-01-02T03:04:05Z); fix or unset it",
                       exp);
    CFDR_TRY(creds_fill(out, ak, sk, tok, expiration, "environment", err));
    CFDR_TRY(check_expiry(r, out, "the environment (AWS_CREDENTIAL_EXPIRATION)", err));
    *found = 1;
    return CFDR_OK;
}

static cfdr_code from_env(struct resolve *r, struct aws_credentials *out, int *found, cfdr_err *err)
{
    if (r->o && r->o->profile) {
        /* botocore drops the environment provider when the profile is given explicitly. */
        log_msg(logger(r->o), CFDR_LOG_DEBUG,
                "credentials: skipping environment variables because --profile was given");
        tried(r, "environment variables (skipped because --profile was given)");
        return CFDR_OK;
    }
    return env_creds(r, out, found, err);
}

/* ---- web identity (not supported yet) ---- */

static const char *file_of(const struct awsconfig_file *f)
{
    return f && f->path ? f->path : "?";
}

static cfdr_code unsupported(struct resolve *r, const char *key, const struct awsconfig_prop *p,
                             const struct awsconfig_file *from, const char *what, cfdr_err *err)
{
    return err_set(err, CFDR_E_UNSUPPORTED,
                   "profile '%s' uses %s (%s line %d): %s is not supported by cfdr yet; use "
                   "another kind of profile (keys, credential_process, role_arn with "
                   "source_profile, IAM Identity Center), or export credentials first "
                   "(eval \"$(aws configure export-credentials --profile %s --format env)\")",
                   r->profile, key, file_of(from), p ? p->line : 0, what, r->profile);
}

/* AssumeRoleWithWebIdentityProvider: the environment (unless disabled) or the profile. */
static cfdr_code check_web_identity(struct resolve *r, int disable_env, cfdr_err *err)
{
    const struct awsconfig_file *from = NULL;
    const struct awsconfig_prop *p;
    const char *env_wit = disable_env ? NULL : getenv("AWS_WEB_IDENTITY_TOKEN_FILE");

    if (env_wit && *env_wit)
        return err_set(err, CFDR_E_UNSUPPORTED,
                       "AWS_WEB_IDENTITY_TOKEN_FILE is set: web identity federation is not "
                       "supported by cfdr yet; unset it or export credentials first");
    p = awsconfig_profile_prop(r->cfg, r->profile, "web_identity_token_file", &from);
    if (p)
        return unsupported(r, "web_identity_token_file", p, from, "web identity federation", err);
    return CFDR_OK;
}

/* ---- 2./4. static keys in a file section ---- */

static cfdr_code from_section(struct resolve *r, const struct awsconfig_file *f,
                              const struct awsconfig_section *s, const char *label,
                              const char *source, struct aws_credentials *out, int *found,
                              cfdr_err *err)
{
    const struct awsconfig_prop *ak, *sk, *tok;

    if (!f->exists) {
        tried(r, "%s %s (no such file)", label, file_of(f));
        return CFDR_OK;
    }
    if (!s) {
        tried(r, "%s %s (no section for profile '%s')", label, file_of(f), r->profile);
        return CFDR_OK;
    }
    ak = awsconfig_section_prop(s, "aws_access_key_id");
    if (!ak) {
        tried(r, "%s %s (profile '%s' has no aws_access_key_id)", label, file_of(f), r->profile);
        return CFDR_OK;
    }
    sk = awsconfig_section_prop(s, "aws_secret_access_key");
    if (!sk)
        return err_set(err, CFDR_E_CREDENTIALS,
                       "%s line %d: profile '%s' has aws_access_key_id but no "
                       "aws_secret_access_key; add it (aws configure --profile %s)",
                       file_of(f), ak->line, r->profile, r->profile);
    if (!ak->value[0] || !sk->value[0])
        return err_set(err, CFDR_E_CREDENTIALS,
                       "%s line %d: profile '%s' has an empty %s; fill it in "
                       "(aws configure --profile %s)",
                       file_of(f), ak->value[0] ? sk->line : ak->line, r->profile,
                       ak->value[0] ? "aws_secret_access_key" : "aws_access_key_id", r->profile);
    /* As botocore: aws_security_token first, the first one present wins even if empty. */
    tok = awsconfig_section_prop(s, "aws_security_token");
    if (!tok)
        tok = awsconfig_section_prop(s, "aws_session_token");
    CFDR_TRY(creds_fill(out, ak->value, sk->value, tok ? tok->value : NULL, 0, source, err));
    *found = 1;
    return CFDR_OK;
}

/* ---- 3. credential_process ---- */

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A pipe whose ends are close-on-exec and above 2, so dup2 onto 1 and 2 always clears the
 * flag in the child and nothing else leaks into it. */
static int make_pipe(int fds[2])
{
    int raw[2];
    if (pipe(raw) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        fds[i] = fcntl(raw[i], F_DUPFD_CLOEXEC, 3);
        close(raw[i]);
    }
    if (fds[0] < 0 || fds[1] < 0) {
        if (fds[0] >= 0)
            close(fds[0]);
        if (fds[1] >= 0)
            close(fds[1]);
        fds[0] = fds[1] = -1;
        return -1;
    }
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

struct proc_run {
    struct buf out;  /* stdout, up to PROCESS_STDOUT_MAX */
    struct buf errb; /* the first PROCESS_STDERR_KEEP bytes of stderr */
    int status;      /* from waitpid */
    int timed_out;
    int overflow; /* stdout exceeded PROCESS_STDOUT_MAX */
};

/* Runs argv (PATH lookup, no shell, stdin inherited as botocore's Popen does), collecting
 * stdout and stderr until it exits, the time limit passes or stdout grows too large; in the
 * last two cases the process is killed. Errors are only failures to run it at all. */
static cfdr_code run_process(char **argv, int timeout_ms, struct proc_run *pr, cfdr_err *err)
{
    int op[2] = {-1, -1}, ep[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    int fa_ok = 0;
    pid_t pid = -1;
    cfdr_code rc = CFDR_OK;
    long long deadline = mono_ms() + timeout_ms;

    if (make_pipe(op) || make_pipe(ep)) {
        rc = err_set(err, CFDR_E_IO, "cannot create a pipe: %s", strerror(errno));
        goto out;
    }
    if (posix_spawn_file_actions_init(&fa) != 0) {
        rc = nomem(err);
        goto out;
    }
    fa_ok = 1;
    if (posix_spawn_file_actions_adddup2(&fa, op[1], 1) != 0 ||
        posix_spawn_file_actions_adddup2(&fa, ep[1], 2) != 0) {
        rc = nomem(err);
        goto out;
    }
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    if (e != 0) {
        pid = -1;
        rc = err_set(err, CFDR_E_IO, "cannot run '%s': %s", argv[0], strerror(e));
        goto out;
    }
    close_fd(&op[1]);
    close_fd(&ep[1]);

    while (op[0] >= 0 || ep[0] >= 0) {
        struct pollfd pf[2] = {{op[0], POLLIN, 0}, {ep[0], POLLIN, 0}};
        long long left = deadline - mono_ms();
        if (left <= 0) {
            pr->timed_out = 1;
            break;
        }
        int n = poll(pf, 2, (int)(left > 1000 ? 1000 : left));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_set(err, CFDR_E_IO, "waiting for the process: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < 2; i++) {
            int *fd = i == 0 ? &op[0] : &ep[0];
            char chunk[4096];
            if (*fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t got = read(*fd, chunk, sizeof(chunk));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                close_fd(fd);
                continue;
            }
            if (i == 0 && buf_add(&pr->out, chunk, (size_t)got) != CFDR_OK) {
                pr->overflow = 1;
            } else if (i == 1 && buf_len(&pr->errb) < PROCESS_STDERR_KEEP) {
                size_t room = PROCESS_STDERR_KEEP - buf_len(&pr->errb);
                /* cannot fail: errb's limit is above PROCESS_STDERR_KEEP */
                (void)buf_add(&pr->errb, chunk, (size_t)got < room ? (size_t)got : room);
            }
            wipe(chunk, sizeof(chunk));
        }
        if (pr->overflow || rc)
            break;
    }
    /* Both pipes closed: the process is exiting; it still gets the rest of its time. */
    while (!pr->timed_out && !pr->overflow && !rc) {
        pid_t w = waitpid(pid, &pr->status, WNOHANG);
        if (w == pid) {
            pid = -1;
            break;
        }
        if (w < 0 && errno != EINTR) {
            rc = err_set(err, CFDR_E_IO, "waiting for the process: %s", strerror(errno));
            break;
        }
        if (mono_ms() >= deadline) {
            pr->timed_out = 1;
            break;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
out:
    if (pid > 0) {
        if (pr->timed_out || pr->overflow || rc)
            kill(pid, SIGKILL);
        while (waitpid(pid, &pr->status, 0) < 0 && errno == EINTR)
            ;
    }
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    close_fd(&op[0]);
    close_fd(&op[1]);
    close_fd(&ep[0]);
    close_fd(&ep[1]);
    return rc;
}

/* The process's stderr as one line for a message. */
static void stderr_text(const struct buf *b, char *out, size_t outsz)
{
    size_t n = 0;
    const char *s = buf_str(b);
    size_t len = buf_len(b);
    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
        len--;
    for (size_t i = 0; i < len && n + 1 < outsz; i++) {
        unsigned char c = (unsigned char)s[i];
        out[n++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    out[n] = '\0';
}

static const char *json_str(struct json_object *o, const char *key, int *present)
{
    struct json_object *v = NULL;
    *present = json_object_object_get_ex(o, key, &v) && v != NULL;
    if (!*present || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Checks the process output and fills out. The message never quotes stdout. */
static cfdr_code parse_process_output(const struct buf *outb, const char *source,
                                      struct aws_credentials *out, cfdr_err *err)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *obj = NULL, *ver = NULL;
    cfdr_code rc = CFDR_OK;
    const char *ak, *sk, *st, *ex;
    int p_ak, p_sk, p_st, p_ex;
    time_t expiration = 0;

    if (!tok)
        return nomem(err);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    if (buf_len(outb) == 0) {
        rc = err_set(err, CFDR_E_CREDENTIALS, "it printed nothing on stdout");
        goto out;
    }
    /* Include the NUL so a bare top-level value is complete; strict mode rejects anything but
     * blanks after the value. */
    obj = json_tokener_parse_ex(tok, buf_str(outb), (int)buf_len(outb) + 1);
    if (!obj || json_tokener_get_error(tok) != json_tokener_success) {
        rc = err_set(err, CFDR_E_CREDENTIALS, "its output is not valid JSON (%s)",
                     json_tokener_error_desc(json_tokener_get_error(tok)));
        goto out;
    }
    if (!json_object_is_type(obj, json_type_object)) {
        rc = err_set(err, CFDR_E_CREDENTIALS, "its output is JSON but not an object");
        goto out;
    }
    if (!json_object_object_get_ex(obj, "Version", &ver) || !ver) {
        rc = err_set(err, CFDR_E_CREDENTIALS,
                     "its output has no \"Version\"; only Version 1 is supported");
        goto out;
    }
    if (!((json_object_is_type(ver, json_type_int) && json_object_get_int64(ver) == 1) ||
          (json_object_is_type(ver, json_type_double) && json_object_get_double(ver) == 1.0))) {
        char vs[40];
        snprintf(vs, sizeof(vs), "%s", json_object_to_json_string(ver));
        rc = err_set(err, CFDR_E_CREDENTIALS,
                     "its output has unsupported \"Version\" %s; only Version 1 is supported", vs);
        goto out;
    }
    ak = json_str(obj, "AccessKeyId", &p_ak);
    sk = json_str(obj, "SecretAccessKey", &p_sk);
    st = json_str(obj, "SessionToken", &p_st);
    ex = json_str(obj, "Expiration", &p_ex);
    if (!ak || !*ak || !sk || !*sk) {
        const char *k = (!ak || !*ak) ? "AccessKeyId" : "SecretAccessKey";
        int present = (!ak || !*ak) ? p_ak : p_sk;
        rc = err_set(err, CFDR_E_CREDENTIALS, "its output %s \"%s\"",
                     present ? "has an empty or non-string" : "is missing the required key", k);
        goto out;
    }
    if (p_st && !st &&
        !json_object_is_type(json_object_object_get(obj, "SessionToken"), json_type_null)) {
        rc = err_set(err, CFDR_E_CREDENTIALS, "its output has a non-string \"SessionToken\"");
        goto out;
    }
    if (p_ex && !ex &&
        !json_object_is_type(json_object_object_get(obj, "Expiration"), json_type_null)) {
        rc = err_set(err, CFDR_E_CREDENTIALS, "its output has a non-string \"Expiration\"");
        goto out;
    }
    if (ex && creds_parse_time(ex, &expiration) != CFDR_OK) {
        rc = err_set(err, CFDR_E_CREDENTIALS,
                     "its output has \"Expiration\" '%.64s', which is not an ISO-8601 time with "
                     "a zone (such as 2030-01-02T03:04:05Z)",
                     ex);
        goto out;
    }
    rc = creds_fill(out, ak, sk, st, expiration, source, err);
out:
    json_object_put(obj);
    json_tokener_free(tok);
    return rc;
}

static cfdr_code from_process(struct resolve *r, struct aws_credentials *out, int *found,
                              cfdr_err *err)
{
    const struct awsconfig_file *from = NULL;
    const struct awsconfig_prop *p;
    char **argv = NULL;
    size_t argc = 0;
    struct proc_run pr;
    cfdr_code rc = CFDR_OK;
    char where[600], errtext[PROCESS_STDERR_KEEP + 1];
    int timeout_ms = (r->o && r->o->process_timeout_ms > 0) ? r->o->process_timeout_ms
                                                            : CREDS_PROCESS_TIMEOUT_MS;

    memset(&pr, 0, sizeof(pr));
    buf_init(&pr.out, PROCESS_STDOUT_MAX);
    buf_init(&pr.errb, PROCESS_STDERR_KEEP + 1);
    p = awsconfig_profile_prop(r->cfg, r->profile, "credential_process", &from);
    if (!p) {
        tried(r, "credential_process (not set for profile '%s')", r->profile);
        goto out;
    }
    snprintf(where, sizeof(where), "credential_process of profile '%s' (%s line %d)", r->profile,
             file_of(from), p->line);
    rc = awsconfig_shlex_split(p->value, &argv, &argc, err);
    if (rc) {
        err_wrap(err, "%s cannot be split into words", where);
        goto out;
    }
    if (argc == 0) {
        rc = err_set(err, CFDR_E_CONFIG, "%s is empty; give the command to run", where);
        goto out;
    }
    log_msg(logger(r->o), CFDR_LOG_DEBUG, "credentials: running %s: %s", where, argv[0]);
    rc = run_process(argv, timeout_ms, &pr, err);
    if (rc) {
        err_wrap(err, "%s", where);
        goto out;
    }
    stderr_text(&pr.errb, errtext, sizeof(errtext));
#define WITH_STDERR(fmt, ...)                                                                      \
    err_set(err, CFDR_E_CREDENTIALS, "%s " fmt "%s%s", where, __VA_ARGS__,                         \
            errtext[0] ? "; its stderr: " : " (it wrote nothing on stderr)", errtext)
    if (pr.timed_out) {
        rc = WITH_STDERR("did not finish within %d.%03d s and was killed", timeout_ms / 1000,
                         timeout_ms % 1000);
        goto out;
    }
    if (pr.overflow) {
        rc = WITH_STDERR("printed more than %u bytes and was killed", PROCESS_STDOUT_MAX);
        goto out;
    }
    if (WIFSIGNALED(pr.status)) {
        rc = WITH_STDERR("was killed by signal %d", WTERMSIG(pr.status));
        goto out;
    }
    if (!WIFEXITED(pr.status) || WEXITSTATUS(pr.status) != 0) {
        rc = WITH_STDERR("failed with exit status %d", WEXITSTATUS(pr.status));
        goto out;
    }
    rc = parse_process_output(&pr.out, "credential_process", out, err);
    if (rc) {
        char inner[CFDR_ERR_MSG_MAX];
        snprintf(inner, sizeof(inner), "%s", err ? err->msg : "");
        rc = WITH_STDERR("succeeded but %s", inner);
        goto out;
    }
#undef WITH_STDERR
    rc = check_expiry(r, out, where, err);
    if (rc)
        goto out;
    *found = 1;
out:
    wipe_buf(&pr.out);
    buf_free(&pr.errb);
    awsconfig_argv_free(argv);
    return rc;
}

/* ---- IAM Identity Center, container, instance metadata ---- */

static cfdr_code from_sso(struct resolve *r, struct aws_credentials *out, int *found, cfdr_err *err)
{
    CFDR_TRY(creds_sso_resolve(r->o, r->cfg, r->profile, r->now, out, found, err));
    if (!*found) {
        tried(r, "IAM Identity Center (profile '%s' has no sso_account_id/sso_role_name)",
              r->profile);
        return CFDR_OK;
    }
    return check_expiry(r, out, "IAM Identity Center", err);
}

static cfdr_code from_container(struct resolve *r, struct aws_credentials *out, int *found,
                                cfdr_err *err)
{
    if (!creds_container_configured()) {
        tried(r, "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/_FULL_URI not "
                 "set)");
        return CFDR_OK;
    }
    CFDR_TRY(creds_container_resolve(r->o, out, found, err));
    return check_expiry(r, out, "the container credentials endpoint", err);
}

static cfdr_code from_imds(struct resolve *r, struct aws_credentials *out, int *found,
                           cfdr_err *err)
{
    char why[512];
    CFDR_TRY(creds_imds_resolve(r->o, r->cfg, r->top_profile, out, found, why, sizeof(why), err));
    if (!*found) {
        tried(r, "EC2 instance metadata (%s)", why);
        return CFDR_OK;
    }
    return check_expiry(r, out, "the EC2 instance metadata service", err);
}

/* Sources 3-6 of the chain for r->profile (botocore's ProfileProviderBuilder.providers). */
static cfdr_code profile_sources(struct resolve *r, int disable_env, struct aws_credentials *out,
                                 int *found, cfdr_err *err)
{
    cfdr_code rc = check_web_identity(r, disable_env, err);
    if (!rc)
        rc = from_sso(r, out, found, err);
    if (!rc && !*found)
        rc = from_section(r, r->cfg->credentials,
                          awsconfig_credentials_profile(r->cfg->credentials, r->profile),
                          "shared credentials file", "shared-credentials-file", out, found, err);
    if (!rc && !*found)
        rc = from_process(r, out, found, err);
    if (!rc && !*found)
        rc = from_section(r, r->cfg->config, awsconfig_config_profile(r->cfg->config, r->profile),
                          "config file", "config-file", out, found, err);
    return rc;
}

/* ---- assume role ---- */

static const char *pget(const struct resolve *r, const char *profile, const char *key)
{
    return awsconfig_profile_get(r->cfg, profile, key, NULL);
}

static int has_static(const struct resolve *r, const char *profile)
{
    return pget(r, profile, "aws_access_key_id") || pget(r, profile, "aws_secret_access_key");
}

/* botocore's _has_assume_role_config_vars */
static int has_role(const struct resolve *r, const char *profile)
{
    return pget(r, profile, "role_arn") && !pget(r, profile, "web_identity_token_file");
}

/* The region STS is called in: the environment's, the selected profile's, else the one the
 * global endpoint signs for. */
static const char *sts_region(const struct resolve *r)
{
    const char *v = getenv("AWS_REGION");
    if (v && *v)
        return v;
    v = getenv("AWS_DEFAULT_REGION");
    if (v && *v)
        return v;
    v = pget(r, r->top_profile, "region");
    if (v && *v)
        return v;
    return CREDS_STS_DEFAULT_REGION;
}

/* Python's int(): blanks around, an optional sign, digits (underscores between them). 0 when
 * it would raise ValueError. */
static int py_int(const char *s, long *out)
{
    long v = 0;
    int sign = 1, digits = 0;
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    for (; (*s >= '0' && *s <= '9') || *s == '_'; s++) {
        if (*s == '_') {
            if (!digits || s[1] < '0' || s[1] > '9')
                return 0;
            continue;
        }
        if (v > 100000000L)
            return 0; /* far beyond any duration STS accepts: say it is not a number */
        v = v * 10 + (*s - '0');
        digits++;
    }
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    if (!digits || *s)
        return 0;
    *out = sign * v;
    return 1;
}

/* "a -> b -> a" for the loop message. */
static void chain_text(const struct resolve *r, const char *next, char *out, size_t outsz)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->nvisited && n < outsz; i++)
        n += (size_t)snprintf(out + n, outsz - n, "%s -> ", r->visited[i]);
    if (n < outsz)
        snprintf(out + n, outsz - n, "%s", next);
}

/* botocore's _validate_source_profile. */
static cfdr_code check_source_profile(struct resolve *r, const char *parent, const char *source,
                                      cfdr_err *err)
{
    char loop[512];
    int seen = 0;

    if (!awsconfig_profile_exists(r->cfg, source))
        return err_set(err, CFDR_E_CONFIG,
                       "the source_profile '%s' of profile '%s' does not exist in %s or %s; fix "
                       "the name or add the profile",
                       source, parent, file_of(r->cfg->config), file_of(r->cfg->credentials));
    for (size_t i = 0; i < r->nvisited; i++)
        if (strcmp(r->visited[i], source) == 0)
            seen = 1;
    /* a profile may be its own source only to use its own static keys */
    if (seen && (strcmp(source, parent) != 0 || !has_static(r, source))) {
        chain_text(r, source, loop, sizeof(loop));
        return err_set(err, CFDR_E_CONFIG,
                       "the source_profile settings loop: %s; make one of these profiles get "
                       "credentials another way (keys, credential_process, IAM Identity Center)",
                       loop);
    }
    if (r->nvisited >= MAX_ROLE_CHAIN) {
        chain_text(r, source, loop, sizeof(loop));
        return err_set(err, CFDR_E_CONFIG,
                       "the chain of source_profile settings is longer "
                       "than %d profiles: %s",
                       MAX_ROLE_CHAIN, loop);
    }
    r->visited[r->nvisited++] = source;
    return CFDR_OK;
}

/* credential_source = Environment | Ec2InstanceMetadata | EcsContainer. */
static cfdr_code credential_source_creds(struct resolve *r, const char *name,
                                         struct aws_credentials *out, cfdr_err *err)
{
    char why[512] = "";
    int found = 0;
    cfdr_code rc;

    if (strcmp(name, "Environment") == 0) {
        rc = env_creds(r, out, &found, err);
        snprintf(why, sizeof(why), "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY not set");
    } else if (strcmp(name, "EcsContainer") == 0) {
        rc = creds_container_resolve(r->o, out, &found, err);
        snprintf(why, sizeof(why), "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/_FULL_URI not set");
    } else {
        rc = creds_imds_resolve(r->o, r->cfg, r->top_profile, out, &found, why, sizeof(why), err);
    }
    if (rc)
        return err_wrap(err, "credential_source %s of profile '%s'", name, r->profile);
    if (!found)
        return err_set(err, CFDR_E_CREDENTIALS,
                       "no credentials found in credential_source %s referenced in profile "
                       "'%s' (%s)",
                       name, r->profile, why);
    rc = check_expiry(r, out, name, err);
    if (rc)
        creds_free(out);
    return rc;
}

static cfdr_code assume_role(struct resolve *r, struct aws_credentials *out, cfdr_err *err);

/* botocore's _resolve_credentials_from_profile, for r->profile as a source profile. */
static cfdr_code source_profile_creds(struct resolve *r, struct aws_credentials *out, cfdr_err *err)
{
    struct buf saved = r->tried;
    int found = 0;
    cfdr_code rc;

    if (!has_static(r, r->profile) && has_role(r, r->profile))
        return assume_role(r, out, err);
    buf_init(&r->tried, BUF_MAX_SMALL);
    rc = profile_sources(r, 1, out, &found, err);
    if (!rc && !found)
        rc = err_set(err, CFDR_E_CREDENTIALS,
                     "the source profile '%s' has no credentials; tried: %s", r->profile,
                     buf_str(&r->tried));
    buf_free(&r->tried);
    r->tried = saved;
    return rc;
}

static cfdr_code ask_mfa(struct resolve *r, const char *serial, char *code, size_t codesz,
                         cfdr_err *err)
{
    char prompt[600];

    if (r->refreshing)
        /* botocore's RefreshWithMFAUnsupportedError */
        return err_set(err, CFDR_E_CREDENTIALS,
                       "the role credentials of profile '%s' are running out and renewing them "
                       "needs a new MFA code (mfa_serial %s), which cfdr asks for only when it "
                       "starts; run it again, or give the role a longer duration_seconds",
                       r->profile, serial);
    snprintf(prompt, sizeof(prompt), "Enter MFA code for %s: ", serial);
    if (r->o && r->o->mfa_prompt)
        return r->o->mfa_prompt(r->o->mfa_prompt_ud, serial, prompt, code, codesz, err);
    if (!isatty(STDIN_FILENO))
        return err_set(err, CFDR_E_CREDENTIALS,
                       "profile '%s' needs an MFA code (mfa_serial %s), and standard input is "
                       "not a terminal to ask for it; run cfdr from a terminal, or run 'aws sts "
                       "get-caller-identity --profile %s' in one first: cfdr reuses the role "
                       "credentials the AWS CLI caches in ~/.aws/cli/cache",
                       r->profile, serial, r->profile);
    return creds_sts_prompt_terminal(STDIN_FILENO, STDERR_FILENO, prompt, code, codesz, err);
}

/* botocore's AssumeRoleProvider._load_creds_via_assume_role for r->profile. */
static cfdr_code assume_role(struct resolve *r, struct aws_credentials *out, cfdr_err *err)
{
    const char *profile = r->profile;
    const struct awsconfig_file *from = NULL;
    const struct awsconfig_prop *arn = awsconfig_profile_prop(r->cfg, profile, "role_arn", &from);
    const char *source = pget(r, profile, "source_profile");
    const char *csource = pget(r, profile, "credential_source");
    const char *dur = pget(r, profile, "duration_seconds");
    struct creds_sts_role role;
    struct aws_credentials src;
    struct buf doc;
    char key[41], session[64], code[64] = "", hint[16];
    cfdr_err we;
    cfdr_code rc;
    int found = 0;

    memset(out, 0, sizeof(*out));
    memset(&src, 0, sizeof(src));
    buf_init(&doc, BUF_MAX_SMALL);
    if (source && csource) {
        rc = err_set(err, CFDR_E_CONFIG,
                     "profile '%s' has both source_profile and credential_source; keep one",
                     profile);
        goto out;
    }
    if (!source && !csource) {
        rc = err_set(err, CFDR_E_CONFIG,
                     "profile '%s' has role_arn (%s line %d) but neither source_profile nor "
                     "credential_source; add one to say which credentials assume the role",
                     profile, file_of(from), arn->line);
        goto out;
    }
    if (csource && strcmp(csource, "Environment") != 0 &&
        strcmp(csource, "Ec2InstanceMetadata") != 0 && strcmp(csource, "EcsContainer") != 0) {
        rc = err_set(err, CFDR_E_CONFIG,
                     "the credential_source '%.64s' of profile '%s' is not valid; use "
                     "Environment, Ec2InstanceMetadata or EcsContainer",
                     csource, profile);
        goto out;
    }
    if (source) {
        rc = check_source_profile(r, profile, source, err);
        if (rc)
            goto out;
    }

    memset(&role, 0, sizeof(role));
    role.role_arn = arn->value;
    role.session_name = pget(r, profile, "role_session_name");
    /* botocore generates a name for an empty one too, and leaves it out of the cache key */
    role.session_name_configured = role.session_name && role.session_name[0];
    if (!role.session_name_configured) {
        /* botocore's botocore-session-<time>, with cfdr's name */
        snprintf(session, sizeof(session), "cfdr-%lld", (long long)r->now);
        role.session_name = session;
    }
    role.external_id = pget(r, profile, "external_id");
    role.mfa_serial = pget(r, profile, "mfa_serial");
    if (dur && py_int(dur, &role.duration_seconds))
        role.has_duration = 1;
    else if (dur)
        /* botocore drops a duration int() cannot read, silently */
        log_msg(logger(r->o), CFDR_LOG_WARN,
                "credentials: duration_seconds '%.40s' of profile '%s' is not a number; using "
                "the role's default duration",
                dur, profile);
    role.region = sts_region(r);

    rc = creds_sts_cache_key(&role, key, err);
    if (!rc)
        rc = creds_cache_load(key, r->now, "assume-role", logger(r->o), out, &found, err);
    if (rc || found)
        goto out;

    /* the source credentials, only now that AssumeRole must be called */
    if (csource) {
        rc = credential_source_creds(r, csource, &src, err);
    } else {
        r->profile = source;
        rc = source_profile_creds(r, &src, err);
        r->profile = profile;
    }
    if (rc) {
        err_wrap(err, "getting the source credentials to assume role %s for profile '%s'",
                 role.role_arn, profile);
        goto out;
    }
    if (role.mfa_serial) {
        rc = ask_mfa(r, role.mfa_serial, code, sizeof(code), err);
        if (rc)
            goto out;
        role.token_code = code;
    }
    key_hint(src.access_key_id, hint);
    log_msg(logger(r->o), CFDR_LOG_DEBUG,
            "credentials: assuming role %s for profile '%s' with %s credentials (access key id "
            "%s) in %s",
            role.role_arn, profile, src.source, hint, role.region);
    rc = creds_sts_assume_role(r->o, &role, &src, out, &doc, err);
    if (rc) {
        err_wrap(err, "assuming role %s for profile '%s'", role.role_arn, profile);
        goto out;
    }
    rc = check_expiry(r, out, "STS AssumeRole", err);
    if (rc)
        goto out;
    err_clear(&we);
    if (buf_len(&doc) && creds_cache_store(key, &doc, &we) != CFDR_OK)
        log_msg(logger(r->o), CFDR_LOG_WARN,
                "credentials: the role credentials are not cached for the AWS CLI: %s", we.msg);
out:
    if (rc)
        creds_free(out);
    creds_free(&src);
    explicit_bzero(code, sizeof(code));
    wipe_buf(&doc);
    return rc;
}

/* ---- the chain ---- */

static cfdr_code resolve_chain(const struct creds_options *o, int refreshing,
                               struct aws_credentials *out, cfdr_err *err)
{
    struct resolve r;
    cfdr_code rc = CFDR_OK;
    int found = 0;
    char hint[16], when[32] = "";

    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    r.o = o;
    r.profile = pick_profile(o, &r.profile_from);
    r.top_profile = r.profile;
    r.visited[r.nvisited++] = r.profile;
    r.now = clock_now(o);
    r.refreshing = refreshing;
    buf_init(&r.tried, BUF_MAX_SMALL);

    if (r.profile_from && !r.profile[0]) {
        rc = err_set(err, CFDR_E_CONFIG,
                     "the profile name from %s is empty; give a name or unset it", r.profile_from);
        goto out;
    }
    rc = awsconfig_load(&r.cfg, err);
    if (rc)
        goto out;
    /* botocore's session raises ProfileNotFound for any profile it was told to use. */
    if (r.profile_from && !awsconfig_profile_exists(r.cfg, r.profile)) {
        rc = err_set(err, CFDR_E_CONFIG,
                     "profile '%s' (from %s) not found in %s or %s; create it with 'aws configure "
                     "--profile %s' or use one of the profiles those files define",
                     r.profile, r.profile_from, file_of(r.cfg->config), file_of(r.cfg->credentials),
                     r.profile);
        goto out;
    }
    log_msg(logger(o), CFDR_LOG_DEBUG, "credentials: profile '%s' (%s)", r.profile,
            r.profile_from ? r.profile_from : "implicit default");

    rc = from_env(&r, out, &found, err);
    if (!rc && !found && has_role(&r, r.profile)) {
        rc = assume_role(&r, out, err);
        found = rc == CFDR_OK;
    }
    if (!rc && !found)
        rc = profile_sources(&r, o && o->profile, out, &found, err);
    if (!rc && !found)
        rc = from_container(&r, out, &found, err);
    if (!rc && !found)
        rc = from_imds(&r, out, &found, err);
    if (rc)
        goto out;
    if (!found) {
        rc = err_set(err, CFDR_E_CREDENTIALS,
                     "no AWS credentials found for profile '%s'; tried: %s. Set "
                     "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run 'aws configure%s%s' "
                     "to store keys in %s, or set credential_process for the profile in %s",
                     r.profile, buf_str(&r.tried), r.profile_from ? " --profile " : "",
                     r.profile_from ? r.profile : "", file_of(r.cfg->credentials),
                     file_of(r.cfg->config));
        goto out;
    }
    key_hint(out->access_key_id, hint);
    if (out->expiration)
        creds_format_time(out->expiration, when);
    log_msg(logger(o), CFDR_LOG_DEBUG,
            "credentials: using %s for profile '%s' (access key id %s%s%s%s)", out->source,
            r.profile, hint, out->session_token ? ", with session token" : "",
            out->expiration ? ", expires " : "", out->expiration ? when : "");
out:
    if (rc)
        creds_free(out);
    awsconfig_free(r.cfg);
    buf_free(&r.tried);
    return rc;
}

cfdr_code creds_resolve(const struct creds_options *o, struct aws_credentials *out, cfdr_err *err)
{
    return resolve_chain(o, 0, out, err);
}

/* ---- the caching provider ---- */

struct creds_provider {
    struct creds_options o;
    char *profile;
    struct aws_credentials cur;
    int have;
    int fixed; /* creds_provider_new_static: cur never changes */
};

cfdr_code creds_provider_new(const struct creds_options *o, struct creds_provider **out,
                             cfdr_err *err)
{
    struct creds_provider *p = calloc(1, sizeof(*p));
    *out = NULL;
    if (!p)
        return nomem(err);
    if (o)
        p->o = *o;
    if (o && o->profile) {
        p->profile = strdup(o->profile);
        if (!p->profile) {
            free(p);
            return nomem(err);
        }
    }
    p->o.profile = p->profile;
    *out = p;
    return CFDR_OK;
}

cfdr_code creds_provider_new_static(const struct aws_credentials *c, struct creds_provider **out,
                                    cfdr_err *err)
{
    struct creds_provider *p = calloc(1, sizeof(*p));
    cfdr_code rc;

    *out = NULL;
    if (!p)
        return nomem(err);
    rc = creds_fill(&p->cur, c->access_key_id, c->secret_access_key, c->session_token,
                    c->expiration, c->source, err);
    if (rc) {
        free(p);
        return rc;
    }
    p->have = 1;
    p->fixed = 1;
    *out = p;
    return CFDR_OK;
}

cfdr_code creds_provider_get(struct creds_provider *p, const struct aws_credentials **out,
                             cfdr_err *err)
{
    struct aws_credentials fresh;
    cfdr_err e;
    time_t now;
    cfdr_code rc;

    *out = NULL;
    if (p->fixed) {
        *out = &p->cur;
        return CFDR_OK;
    }
    now = clock_now(&p->o);
    if (p->have && (p->cur.expiration == 0 || p->cur.expiration - now > CREDS_REFRESH_WINDOW_S)) {
        *out = &p->cur;
        return CFDR_OK;
    }
    err_clear(&e);
    rc = resolve_chain(&p->o, p->have, &fresh, &e);
    if (rc == CFDR_OK) {
        if (p->have)
            log_msg(p->o.log, CFDR_LOG_DEBUG, "credentials: refreshed (from %s)", fresh.source);
        creds_free(&p->cur);
        p->cur = fresh;
        p->have = 1;
        *out = &p->cur;
        return CFDR_OK;
    }
    if (p->have && p->cur.expiration - now > CREDS_MANDATORY_REFRESH_S) {
        log_msg(p->o.log, CFDR_LOG_WARN,
                "credentials: refreshing failed, using the current ones for now: %s", e.msg);
        *out = &p->cur;
        return CFDR_OK;
    }
    if (err)
        *err = e;
    return rc;
}

void creds_provider_free(struct creds_provider *p)
{
    if (!p)
        return;
    creds_free(&p->cur);
    free(p->profile);
    free(p);
}
