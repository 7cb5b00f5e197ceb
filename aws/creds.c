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

extern char **environ;

/* Largest credential_process output read, and how much of its stderr is kept. */
#define PROCESS_STDOUT_MAX BUF_MAX_SMALL
#define PROCESS_STDERR_KEEP 2048u

struct resolve {
    const struct creds_options *o;
    const char *profile;
    const char *profile_from; /* "--profile", "AWS_DEFAULT_PROFILE", "AWS_PROFILE" or NULL */
    struct awsconfig *cfg;
    time_t now;
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

static cfdr_code fill(struct aws_credentials *out, const char *akid, const char *secret,
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

static void fmt_time(time_t t, char out[32])
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
    fmt_time(c->expiration, when);
    return err_set(err, CFDR_E_CREDENTIALS, "%s gave credentials that expired at %s; renew them",
                   where, when);
}

/* ---- 1. environment ---- */

static cfdr_code from_env(struct resolve *r, struct aws_credentials *out, int *found, cfdr_err *err)
{
    const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
    const char *tok = NULL, *exp;
    time_t expiration = 0;
    int has_ak = ak && *ak, has_sk = sk && *sk;

    if (r->o && r->o->profile) {
        /* botocore drops the environment provider when the profile is given explicitly. */
        log_msg(logger(r->o), CFDR_LOG_DEBUG,
                "credentials: skipping environment variables because --profile was given");
        tried(r, "environment variables (skipped because --profile was given)");
        return CFDR_OK;
    }
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
    CFDR_TRY(fill(out, ak, sk, tok, expiration, "environment", err));
    CFDR_TRY(check_expiry(r, out, "the environment (AWS_CREDENTIAL_EXPIRATION)", err));
    *found = 1;
    return CFDR_OK;
}

/* ---- profile keys not supported yet ---- */

static const char *file_of(const struct awsconfig_file *f)
{
    return f && f->path ? f->path : "?";
}

static cfdr_code unsupported(struct resolve *r, const char *key, const struct awsconfig_prop *p,
                             const struct awsconfig_file *from, const char *what, cfdr_err *err)
{
    return err_set(err, CFDR_E_UNSUPPORTED,
                   "profile '%s' uses %s (%s line %d): %s is not supported by cfdr yet; use a "
                   "profile with static keys or credential_process, or export credentials first "
                   "(eval \"$(aws configure export-credentials --profile %s --format env)\")",
                   r->profile, key, file_of(from), p ? p->line : 0, what, r->profile);
}

static const struct awsconfig_prop *sso_key(const struct awsconfig_section *s)
{
    for (size_t i = 0; s && i < s->nprops; i++)
        if (strncmp(s->props[i].key, "sso_", 4) == 0)
            return &s->props[i];
    return NULL;
}

static cfdr_code check_unsupported(struct resolve *r, cfdr_err *err)
{
    const struct awsconfig_file *from = NULL;
    const struct awsconfig_prop *p, *wit;
    const struct awsconfig_section *s;
    const char *env_wit;

    /* AssumeRoleProvider: role_arn without web_identity_token_file. */
    wit = awsconfig_profile_prop(r->cfg, r->profile, "web_identity_token_file", NULL);
    p = awsconfig_profile_prop(r->cfg, r->profile, "role_arn", &from);
    if (p && !wit)
        return unsupported(r, "role_arn", p, from, "assuming a role", err);
    p = awsconfig_profile_prop(r->cfg, r->profile, "credential_source", &from);
    if (p)
        return unsupported(r, "credential_source", p, from, "assuming a role", err);
    /* AssumeRoleWithWebIdentityProvider: the environment (unless --profile) or the profile. */
    env_wit = (r->o && r->o->profile) ? NULL : getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    if (env_wit && *env_wit)
        return err_set(err, CFDR_E_UNSUPPORTED,
                       "AWS_WEB_IDENTITY_TOKEN_FILE is set: web identity federation is not "
                       "supported by cfdr yet; unset it or export credentials first");
    p = awsconfig_profile_prop(r->cfg, r->profile, "web_identity_token_file", &from);
    if (p)
        return unsupported(r, "web_identity_token_file", p, from, "web identity federation", err);
    /* SSOProvider. */
    s = awsconfig_credentials_profile(r->cfg->credentials, r->profile);
    if ((p = sso_key(s)) != NULL)
        return unsupported(r, p->key, p, r->cfg->credentials, "IAM Identity Center (SSO)", err);
    s = awsconfig_config_profile(r->cfg->config, r->profile);
    if ((p = sso_key(s)) != NULL)
        return unsupported(r, p->key, p, r->cfg->config, "IAM Identity Center (SSO)", err);
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
    CFDR_TRY(fill(out, ak->value, sk->value, tok ? tok->value : NULL, 0, source, err));
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
    rc = fill(out, ak, sk, st, expiration, source, err);
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

/* ---- the chain ---- */

cfdr_code creds_resolve(const struct creds_options *o, struct aws_credentials *out, cfdr_err *err)
{
    struct resolve r;
    cfdr_code rc = CFDR_OK;
    int found = 0;
    char hint[16], when[32] = "";

    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    r.o = o;
    r.profile = pick_profile(o, &r.profile_from);
    r.now = clock_now(o);
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
    if (!rc && !found)
        rc = check_unsupported(&r, err);
    if (!rc && !found)
        rc = from_section(&r, r.cfg->credentials,
                          awsconfig_credentials_profile(r.cfg->credentials, r.profile),
                          "shared credentials file", "shared-credentials-file", out, &found, err);
    if (!rc && !found)
        rc = from_process(&r, out, &found, err);
    if (!rc && !found)
        rc = from_section(&r, r.cfg->config, awsconfig_config_profile(r.cfg->config, r.profile),
                          "config file", "config-file", out, &found, err);
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
        fmt_time(out->expiration, when);
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

/* ---- the caching provider ---- */

struct creds_provider {
    struct creds_options o;
    char *profile;
    struct aws_credentials cur;
    int have;
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

cfdr_code creds_provider_get(struct creds_provider *p, const struct aws_credentials **out,
                             cfdr_err *err)
{
    struct aws_credentials fresh;
    cfdr_err e;
    time_t now = clock_now(&p->o);
    cfdr_code rc;

    *out = NULL;
    if (p->have && (p->cur.expiration == 0 || p->cur.expiration - now > CREDS_REFRESH_WINDOW_S)) {
        *out = &p->cur;
        return CFDR_OK;
    }
    err_clear(&e);
    rc = creds_resolve(&p->o, &fresh, &e);
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
