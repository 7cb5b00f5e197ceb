/* config: see config.h.
 *
 * Loading runs in three passes over the text:
 *   1. a lexical pre-pass blanks out comments (keeping newlines, so offsets, lines and columns
 *      stay those of the file) and rejects what json-c's strict mode still lets through;
 *   2. json-c parses the result with JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8;
 *   3. a structural scan of the same text finds duplicate keys, which json-c drops silently.
 * Then a schema walk checks keys, types and values, collecting every problem in a struct vctx
 * before one message is built from them. The value checks (chk_*) are shared with
 * config_validate(), which applies them to a struct filled from flags.
 */
#include "config.h"

#include "aws/atomicfile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

/* ---------------------------------------------------------------------------------------------
 * The rules. Every message quotes the allowed values from here.
 */

/* Project: lowercase letters, digits and hyphens, 1-32 characters, starting and ending with a
 * letter or digit. cfdr derives resource names from it: CloudWatch alarms
 * "<project>-failover-active" and "<project>-edge-5xx" (alarm names: up to 255 characters), SNS
 * topics (up to 256 of [A-Za-z0-9_-]), the cfdr:project tag value (up to 256). The tightest
 * service cfdr names things in is App Runner (4-40 characters): 32 leaves room for "-" plus a
 * 7-character suffix should a name ever be derived there. The character set is the
 * intersection of all of them, minus "_" and upper case, so that one project has exactly one
 * spelling everywhere, DNS-style. */
#define PROJECT_RE "^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$"
#define PROJECT_ALLOWED                                                                            \
    "1-32 lowercase letters, digits and hyphens, starting and ending with a letter or digit, "     \
    "e.g. dr-demo"

/* botocore's endpoints.json "regionRegex" for the aws partition,
 * ^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$, with \w narrowed to lowercase letters and digits:
 * AWS region names are lowercase, and "US-East-1" would only fail later, inside a SigV4
 * credential scope, with a far less helpful message. */
#define REGION_RE "^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z0-9]+-[0-9]+$"

/* App Runner's ServiceName shape: [A-Za-z0-9][A-Za-z0-9-_]{3,39}. */
#define SERVICE_RE "^[A-Za-z0-9][A-Za-z0-9_-]{3,39}$"
#define SERVICE_ALLOWED                                                                            \
    "4-40 letters, digits, hyphens and underscores, starting with a letter or digit"

/* CloudFront's OriginGroupFailoverCriteria accepts exactly these. */
static const int failover_codes_allowed[CONFIG_STATUS_CODES_MAX] = {400, 403, 404, 416,
                                                                    500, 502, 503, 504};
static const int failover_codes_default[] = {403, 404, 500, 502, 503, 504};
#define CODES_ALLOWED "400, 403, 404, 416, 500, 502, 503, 504"

/* AWS mode: a multiple of 60 up to 86,400 s (Period x EvaluationPeriods may not exceed it):
 * AWS/AppRunner and AWS/CloudFront are standard-resolution metrics, one datapoint a minute, so
 * `alarms setup` refuses less (docs/ALARMS.md). The local evaluator does 1-10, 20 and 30 too. */
#define PERIOD_MAX 86400
#define PERIOD_ALLOWED                                                                             \
    "in AWS mode a multiple of 60 up to 86400 (AWS/AppRunner and AWS/CloudFront metrics have "     \
    "one datapoint a minute); in --local mode also 1-10, 20 or 30"

#define HEADER_ALLOWED "1-64 letters, digits and !#$%&'*+-.^_`|~"

static const char *const top_keys[] = {"project",      "primary", "secondary",
                                       "origin_group", "alarms",  "drill"};
static const char *const origin_keys[] = {"region", "service"};
static const char *const group_keys[] = {"failover_status_codes", "connection_timeout_s",
                                         "connection_attempts", "response_timeout_s"};
static const char *const alarms_keys[] = {"email", "https", "period_s", "smtp"};
static const char *const drill_keys[] = {"rate", "duration_s", "served_by_header"};

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

/* ASCII classes, independent of the locale: the rules are about bytes in names. */
static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(unsigned char c)
{
    return is_alpha(c) || is_digit(c);
}

/* ---------------------------------------------------------------------------------------------
 * Defaults and freeing.
 */

void config_defaults(struct cfdr_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NKEYS(failover_codes_default); i++)
        cfg->origin_group.failover_status_codes[i] = failover_codes_default[i];
    cfg->origin_group.n_failover_status_codes = NKEYS(failover_codes_default);
    cfg->origin_group.connection_timeout_s = CONFIG_DEFAULT_CONNECTION_TIMEOUT_S;
    cfg->origin_group.connection_attempts = CONFIG_DEFAULT_CONNECTION_ATTEMPTS;
    cfg->origin_group.response_timeout_s = CONFIG_DEFAULT_RESPONSE_TIMEOUT_S;
    cfg->alarms.period_s = CONFIG_DEFAULT_PERIOD_S;
    cfg->drill.rate = CONFIG_DEFAULT_RATE;
    cfg->drill.duration_s = CONFIG_DEFAULT_DURATION_S;
    memcpy(cfg->drill.served_by_header, CONFIG_DEFAULT_SERVED_BY_HEADER,
           sizeof(CONFIG_DEFAULT_SERVED_BY_HEADER));
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void config_free(struct cfdr_config *cfg)
{
    if (!cfg)
        return;
    free_list(cfg->alarms.email, cfg->alarms.n_email);
    free_list(cfg->alarms.https, cfg->alarms.n_https);
    free(cfg->alarms.smtp);
    config_defaults(cfg);
}

/* ---------------------------------------------------------------------------------------------
 * Collecting problems.
 */

struct vctx {
    const char *source; /* prefix of every line, or NULL */
    struct buf lines;   /* kept lines, each ending in '\n' */
    int n;              /* problems found, kept or not */
    int kept;
    cfdr_code rc; /* first failure of cfdr itself (out of memory), else CFDR_OK */
};

static void vctx_init(struct vctx *v, const char *source)
{
    v->source = source;
    buf_init(&v->lines, BUF_MAX_SMALL);
    v->n = 0;
    v->kept = 0;
    v->rc = CFDR_OK;
}

static void vctx_note_rc(struct vctx *v, cfdr_code rc)
{
    if (rc && !v->rc)
        v->rc = rc;
}

static void verr(struct vctx *v, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void verr(struct vctx *v, const char *path, const char *fmt, ...)
{
    va_list ap;
    size_t mark = buf_len(&v->lines);
    cfdr_code rc = CFDR_OK;

    v->n++;
    if (v->kept >= CONFIG_ERRORS_MAX)
        return;
    if (v->source)
        rc = buf_addf(&v->lines, "%s: ", v->source);
    if (!rc && path && *path)
        rc = buf_addf(&v->lines, "%s: ", path);
    if (!rc) {
        va_start(ap, fmt);
        rc = buf_vaddf(&v->lines, fmt, ap);
        va_end(ap);
    }
    if (!rc)
        rc = buf_addc(&v->lines, '\n');
    if (rc) {
        buf_truncate(&v->lines, mark);
        vctx_note_rc(v, rc);
        return;
    }
    v->kept++;
}

/* Builds the one error message: as many whole lines as fit in err->msg, then a count of the
 * rest. Frees v's memory. */
static cfdr_code vctx_finish(struct vctx *v, cfdr_err *err)
{
    char msg[CFDR_ERR_MSG_MAX];
    char tail[128];
    size_t used = 0;
    int shown = 0;
    const char *p = buf_str(&v->lines);
    cfdr_code rc;

    if (v->rc) {
        rc = err_set(err, v->rc, "%s: ran out of memory while checking the configuration",
                     v->source ? v->source : "config");
        buf_free(&v->lines);
        return rc;
    }
    if (v->n == 0) {
        buf_free(&v->lines);
        return CFDR_OK;
    }
    msg[0] = '\0';
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        size_t need = len + (used ? 1 : 0);
        /* Keep room for the "more problems" line unless this is the very last line. */
        size_t reserve = (shown + 1 < v->n) ? sizeof(tail) : 0;
        if (used + need + reserve >= sizeof(msg))
            break;
        if (used)
            msg[used++] = '\n';
        memcpy(msg + used, p, len);
        used += len;
        msg[used] = '\0';
        shown++;
        p = nl ? nl + 1 : p + len;
    }
    if (shown < v->n) {
        int more = v->n - shown;
        snprintf(tail, sizeof(tail), "%s%s: ... and %d more problem%s", used ? "\n" : "",
                 v->source ? v->source : "config", more, more == 1 ? "" : "s");
        if (used + strlen(tail) < sizeof(msg))
            memcpy(msg + used, tail, strlen(tail) + 1);
    }
    buf_free(&v->lines);
    return err_set(err, CFDR_E_CONFIG, "%s", msg);
}

/* ---------------------------------------------------------------------------------------------
 * Showing user text in messages: quoted, escaped, cut short.
 */

#define SHOW_MAX 64

/* Writes s as a quoted string with control characters and quotes escaped, cut at SHOW_MAX bytes
 * (on a UTF-8 boundary) with "..." appended. out must hold SHOW_MAX * 4 + 8 bytes. */
static const char *show_n(const char *s, size_t n, char *out)
{
    size_t o = 0, i;
    size_t cut = n > SHOW_MAX ? SHOW_MAX : n;

    while (cut < n && cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    out[o++] = '"';
    for (i = 0; i < cut; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    if (cut < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

#define SHOW_BUF (SHOW_MAX * 4 + 8)

static const char *show(const char *s, char *out)
{
    return show_n(s, strlen(s), out);
}

/* URLs can carry secrets: SNS takes https://user:password@host/ endpoints, and many webhook
 * URLs hold their token in the path or query. Messages therefore show only the scheme and the
 * host, with "***" standing for credentials and "/..." for whatever follows the host; the JSON
 * path already says which entry it is. */
static const char *show_url(const char *url, char *out)
{
    char tmp[SHOW_MAX * 2];
    const char *scheme_end = strstr(url, "://");
    const char *auth, *end, *host;
    size_t slen;

    slen = scheme_end ? (size_t)(scheme_end - url) : 0;
    /* no scheme (RFC 3986: a letter, then letters, digits, "+", "-", "."): show only what
     * precedes anything that could start credentials or a path */
    if (!scheme_end || slen == 0 || slen > 16 || !is_alpha((unsigned char)url[0]) ||
        strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.") < slen)
        return show_n(url, strcspn(url, ":@/?#"), out);
    auth = scheme_end + 3;
    end = auth + strcspn(auth, "/?#");
    host = auth;
    for (const char *q = auth; q < end; q++)
        if (*q == '@')
            host = q + 1;
    snprintf(tmp, sizeof(tmp), "%.*s://%s%.*s%s", (int)slen, url, host != auth ? "***@" : "",
             (int)((size_t)(end - host) > SHOW_MAX ? SHOW_MAX : (size_t)(end - host)), host,
             *end ? "/..." : "");
    return show(tmp, out);
}

/* ---------------------------------------------------------------------------------------------
 * Value checks, shared by the JSON walk and config_validate(). Each returns 1 when the value is
 * acceptable, else records a problem at path and returns 0.
 */

/* 1 match, 0 no match, -1 the pattern could not be compiled (out of memory). */
static int re_match(const char *pattern, const char *s)
{
    regex_t re;
    int rc;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return -1;
    rc = regexec(&re, s, 0, NULL, 0);
    regfree(&re);
    return rc == 0 ? 1 : 0;
}

static int re_check(struct vctx *v, const char *pattern, const char *s)
{
    int m = re_match(pattern, s);
    if (m < 0)
        vctx_note_rc(v, CFDR_E_NOMEM);
    return m == 1;
}

static int chk_int(struct vctx *v, const char *path, long long x, const char *shown, int min,
                   int max)
{
    if (x >= min && x <= max)
        return 1;
    if (shown)
        verr(v, path, "%s is out of range %d-%d", shown, min, max);
    else
        verr(v, path, "%lld is out of range %d-%d", x, min, max);
    return 0;
}

static int failover_code_ok(long long x)
{
    for (size_t i = 0; i < CONFIG_STATUS_CODES_MAX; i++)
        if (x == failover_codes_allowed[i])
            return 1;
    return 0;
}

static int chk_failover_code(struct vctx *v, const char *path, long long x, const char *shown)
{
    char tmp[32];
    if (failover_code_ok(x))
        return 1;
    if (!shown) {
        snprintf(tmp, sizeof(tmp), "%lld", x);
        shown = tmp;
    }
    verr(v, path, "%s is not allowed (allowed: " CODES_ALLOWED ")", shown);
    return 0;
}

static int period_ok(long long x)
{
    return (x >= 1 && x <= 10) || x == 20 || x == 30 || (x > 0 && x <= PERIOD_MAX && x % 60 == 0);
}

static int chk_period(struct vctx *v, const char *path, long long x, const char *shown)
{
    char tmp[32];
    if (period_ok(x))
        return 1;
    if (!shown) {
        snprintf(tmp, sizeof(tmp), "%lld", x);
        shown = tmp;
    }
    verr(v, path, "%s is not allowed (allowed: " PERIOD_ALLOWED ")", shown);
    return 0;
}

static int chk_project(struct vctx *v, const char *path, const char *s)
{
    char sh[SHOW_BUF];
    if (strlen(s) <= CONFIG_PROJECT_MAX && re_check(v, PROJECT_RE, s))
        return 1;
    verr(v, path, "%s is not usable in resource names (allowed: " PROJECT_ALLOWED ")", show(s, sh));
    return 0;
}

static int chk_region(struct vctx *v, const char *path, const char *s)
{
    char sh[SHOW_BUF];
    if (strlen(s) <= CONFIG_REGION_MAX && re_check(v, REGION_RE, s))
        return 1;
    verr(v, path, "%s is not an AWS region name (expected e.g. us-east-1; pattern %s)", show(s, sh),
         REGION_RE);
    return 0;
}

static int chk_service(struct vctx *v, const char *path, const char *s)
{
    char sh[SHOW_BUF];
    if (strlen(s) <= CONFIG_SERVICE_MAX && re_check(v, SERVICE_RE, s))
        return 1;
    verr(v, path, "%s is not an App Runner service name (allowed: " SERVICE_ALLOWED ")",
         show(s, sh));
    return 0;
}

static int is_atext(unsigned char c)
{
    return is_alnum(c) || (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

/* One DNS host name: dot-separated labels of letters, digits and inner hyphens (1-63 each), at
 * most 253 characters. With need_tld, at least two labels and a last label of 2+ characters
 * that is not all digits. */
static int hostname_ok(const char *h, size_t n, int need_tld)
{
    size_t i = 0, labels = 0, last_start = 0;
    if (n == 0 || n > 253)
        return 0;
    while (i < n) {
        size_t start = i;
        while (i < n && h[i] != '.') {
            unsigned char c = (unsigned char)h[i];
            if (!(is_alnum(c) || c == '-'))
                return 0;
            i++;
        }
        if (i == start || i - start > 63 || h[start] == '-' || h[i - 1] == '-')
            return 0;
        labels++;
        last_start = start;
        if (i < n) {
            i++; /* the dot */
            if (i == n)
                return 0; /* trailing dot */
        }
    }
    if (need_tld) {
        int alpha = 0;
        if (labels < 2 || n - last_start < 2)
            return 0;
        for (i = last_start; i < n; i++)
            if (is_alpha((unsigned char)h[i]))
                alpha = 1;
        if (!alpha)
            return 0;
    }
    return 1;
}

/* A plausible address: local@domain.tld, dot-atom local part of 1-64 characters (RFC 5322
 * without quoted strings, which SNS does not take either), a DNS domain with a TLD. */
static int email_ok(const char *s)
{
    const char *at = strchr(s, '@');
    size_t n = strlen(s), local;
    if (!at || strchr(at + 1, '@') || n > CONFIG_EMAIL_MAX)
        return 0;
    local = (size_t)(at - s);
    if (local == 0 || local > 64 || s[0] == '.' || s[local - 1] == '.')
        return 0;
    for (size_t i = 0; i < local; i++) {
        if (s[i] == '.') {
            if (s[i + 1] == '.')
                return 0;
        } else if (!is_atext((unsigned char)s[i])) {
            return 0;
        }
    }
    return hostname_ok(at + 1, n - local - 1, 1);
}

static int chk_email(struct vctx *v, const char *path, const char *s)
{
    char sh[SHOW_BUF];
    if (email_ok(s))
        return 1;
    verr(v, path, "%s is not an email address (expected local@domain.tld, e.g. oncall@example.com)",
         show(s, sh));
    return 0;
}

/* Checks scheme://[userinfo@]host[:port][/path][?query][#fragment] with one of the given
 * schemes (lowercase; matched case-insensitively). host is a DNS name, a dotted IPv4 address
 * or a bracketed IPv6 address. Returns NULL when fine, else why not. */
static const char *url_problem(const char *s, const char *const *schemes, size_t nschemes)
{
    const char *p = NULL, *auth, *end, *host, *host_end, *at;
    size_t i;

    if (strlen(s) > CONFIG_URL_MAX)
        return "longer than 2048 characters";
    for (i = 0; i < nschemes && !p; i++) {
        size_t sl = strlen(schemes[i]);
        if (strncasecmp(s, schemes[i], sl) == 0 && strncmp(s + sl, "://", 3) == 0)
            p = s + sl + 3;
    }
    if (!p)
        return "wrong scheme";
    for (i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            return "spaces, control and non-ASCII characters must be percent-encoded";
    }
    auth = p;
    end = auth + strcspn(auth, "/?#");
    at = NULL;
    for (const char *q = auth; q < end; q++)
        if (*q == '@')
            at = q;
    host = at ? at + 1 : auth;
    if (host == end)
        return "no host";
    if (*host == '[') {
        char addr[INET6_ADDRSTRLEN + 1];
        struct in6_addr a6;
        const char *rb = memchr(host, ']', (size_t)(end - host));
        if (!rb || (size_t)(rb - host - 1) >= sizeof(addr))
            return "bad IPv6 address";
        memcpy(addr, host + 1, (size_t)(rb - host - 1));
        addr[rb - host - 1] = '\0';
        if (inet_pton(AF_INET6, addr, &a6) != 1)
            return "bad IPv6 address";
        host_end = rb + 1;
        if (host_end != end && *host_end != ':')
            return "bad IPv6 address";
    } else {
        const char *colon = memchr(host, ':', (size_t)(end - host));
        host_end = colon ? colon : end;
        if (host_end == host)
            return "no host";
        if (!hostname_ok(host, (size_t)(host_end - host), 0))
            return "bad host name";
    }
    if (host_end != end) { /* ":port" */
        long port = 0;
        const char *d = host_end + 1;
        if (d == end || end - d > 5)
            return "port must be 1-65535";
        for (; d < end; d++) {
            if (!is_digit((unsigned char)*d))
                return "port must be 1-65535";
            port = port * 10 + (*d - '0');
        }
        if (port < 1 || port > 65535)
            return "port must be 1-65535";
    }
    return NULL;
}

static const char *const webhook_schemes[] = {"https", "http"};
static const char *const smtp_schemes[] = {"smtp", "smtps"};

static int chk_webhook(struct vctx *v, const char *path, const char *s)
{
    char sh[SHOW_BUF];
    const char *why = url_problem(s, webhook_schemes, NKEYS(webhook_schemes));
    if (!why)
        return 1;
    verr(v, path,
         "%s is not a webhook URL: %s (expected https:// or http://host[:port][/path], e.g. "
         "https://hooks.example.com/cfdr)",
         show_url(s, sh), why);
    return 0;
}

static int chk_smtp(struct vctx *v, const char *path, const char *s)
{
    char sh[SHOW_BUF];
    const char *why = url_problem(s, smtp_schemes, NKEYS(smtp_schemes));
    if (!why)
        return 1;
    verr(v, path,
         "%s is not a mail server URL: %s (expected smtp:// or smtps://host[:port], e.g. "
         "smtp://127.0.0.1:2525)",
         show_url(s, sh), why);
    return 0;
}

/* RFC 9110 token. */
static int header_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CONFIG_HEADER_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alnum(c) && !strchr("!#$%&'*+-.^_`|~", c))
            return 0;
    }
    return 1;
}

static int chk_header(struct vctx *v, const char *path, const char *s)
{
    char sh[SHOW_BUF];
    if (header_ok(s))
        return 1;
    verr(v, path, "%s is not an HTTP header name (allowed: %s)", show(s, sh), HEADER_ALLOWED);
    return 0;
}

/* Checked only when both origins are otherwise valid. */
static void chk_distinct(struct vctx *v, const struct config_origin *a,
                         const struct config_origin *b)
{
    if (strcmp(a->region, b->region) == 0 && strcmp(a->service, b->service) == 0)
        verr(v, "secondary",
             "is the same origin as primary (service %s in %s); the two origins must differ in "
             "region or service name",
             a->service, a->region);
}

/* ---------------------------------------------------------------------------------------------
 * Paths and key suggestions.
 */

#define PATH_MAX_LEN 160

/* Appends ".key" (or "key" at the top) to base; keys that are not plain identifiers are
 * shown quoted: primary["we ird"]. */
static const char *path_key(char *out, const char *base, const char *key)
{
    char tmp[PATH_MAX_LEN], sh[SHOW_BUF];
    int plain = *key != '\0', n;
    for (const char *k = key; *k; k++)
        if (!(is_alnum((unsigned char)*k) || *k == '_' || *k == '-'))
            plain = 0;
    if (plain && strlen(key) <= SHOW_MAX)
        n = snprintf(tmp, sizeof(tmp), "%s%s%s", base, *base ? "." : "", key);
    else
        n = snprintf(tmp, sizeof(tmp), "%s[%s]", base, show(key, sh));
    if (n < 0)
        tmp[0] = '\0';
    memcpy(out, tmp, sizeof(tmp)); /* out may be base */
    return out;
}

static const char *path_index(char *out, const char *base, size_t i)
{
    char tmp[PATH_MAX_LEN];
    if (snprintf(tmp, sizeof(tmp), "%s[%zu]", base, i) < 0)
        tmp[0] = '\0';
    memcpy(out, tmp, sizeof(tmp));
    return out;
}

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions), so "emial" is 1
 * away from "email". Strings longer than 32 are "far". */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int d[33][33];
    if (la > 32 || lb > 32)
        return 99;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

static int key_known(const char *key, const char *const *allowed, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(key, allowed[i]) == 0)
            return 1;
    return 0;
}

static void check_keys(struct vctx *v, struct json_object *obj, const char *base,
                       const char *const *allowed, size_t n)
{
    json_object_object_foreach(obj, key, val)
    {
        char path[PATH_MAX_LEN], list[256], hint[96];
        const char *best = NULL;
        int best_d = 3;
        size_t used = 0;
        (void)val;
        if (key_known(key, allowed, n))
            continue;
        list[0] = '\0';
        for (size_t i = 0; i < n; i++) {
            int d = edit_distance(key, allowed[i]);
            if (d < best_d) {
                best_d = d;
                best = allowed[i];
            }
            used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
                                     allowed[i]);
            if (used >= sizeof(list))
                used = sizeof(list) - 1;
        }
        hint[0] = '\0';
        if (best)
            snprintf(hint, sizeof(hint), "; did you mean \"%s\"?", best);
        verr(v, path_key(path, base, key), "unknown key (allowed: %s)%s", list, hint);
    }
}

/* ---------------------------------------------------------------------------------------------
 * The schema walk: types first, then the shared value checks.
 */

static const char *type_desc(struct json_object *val)
{
    switch (json_object_get_type(val)) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "a boolean";
    case json_type_double:
        return "a number that is not an integer";
    case json_type_int:
        return "an integer";
    case json_type_object:
        return "an object";
    case json_type_array:
        return "an array";
    case json_type_string:
        return "a string";
    }
    return "something else";
}

static void type_err(struct vctx *v, const char *path, const char *expected,
                     struct json_object *val)
{
    verr(v, path, "expected %s, got %s", expected, type_desc(val));
}

/* Whether obj has key; *val gets its value, which is NULL for a JSON null (json-c's
 * representation), so presence and value are separate questions. */
static int has(struct json_object *obj, const char *key, struct json_object **val)
{
    *val = NULL;
    return obj && json_object_object_get_ex(obj, key, val);
}

/* A string value with no NUL inside, or NULL after recording why not. */
static const char *want_string(struct vctx *v, const char *path, struct json_object *val,
                               const char *expected)
{
    const char *s;
    if (!json_object_is_type(val, json_type_string)) {
        type_err(v, path, expected, val);
        return NULL;
    }
    s = json_object_get_string(val);
    if ((size_t)json_object_get_string_len(val) != strlen(s)) {
        verr(v, path, "contains a NUL character (\\u0000); expected %s", expected);
        return NULL;
    }
    return s;
}

/* An integer value; *shown gets json-c's text of it (exact even beyond 64 bits' range, where
 * json_object_get_int64() saturates). */
static int want_int(struct vctx *v, const char *path, struct json_object *val, const char *expected,
                    long long *out, const char **shown)
{
    if (!json_object_is_type(val, json_type_int)) {
        type_err(v, path, expected, val);
        return 0;
    }
    *out = (long long)json_object_get_int64(val);
    *shown = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
    return 1;
}

static void walk_int(struct vctx *v, struct json_object *obj, const char *base, const char *key,
                     int min, int max, int *field)
{
    char path[PATH_MAX_LEN], expected[64];
    struct json_object *val;
    long long x;
    const char *shown;
    if (!has(obj, key, &val))
        return;
    path_key(path, base, key);
    snprintf(expected, sizeof(expected), "an integer %d-%d", min, max);
    if (want_int(v, path, val, expected, &x, &shown) && chk_int(v, path, x, shown, min, max))
        *field = (int)x;
}

/* A required or optional string copied into a fixed field after check() accepts it. */
static void walk_fixed_string(struct vctx *v, struct json_object *obj, const char *base,
                              const char *key, int required, const char *expected,
                              int (*check)(struct vctx *, const char *, const char *), char *field,
                              size_t field_size)
{
    char path[PATH_MAX_LEN];
    struct json_object *val;
    const char *s;
    path_key(path, base, key);
    if (!has(obj, key, &val)) {
        if (required)
            verr(v, path, "missing (required: %s)", expected);
        return;
    }
    s = want_string(v, path, val, expected);
    if (s && check(v, path, s)) {
        /* every check bounds the length by the field's size */
        snprintf(field, field_size, "%s", s);
    }
}

/* Objects hold a section; a missing optional section means all its defaults. */
static struct json_object *want_object(struct vctx *v, struct json_object *parent, const char *key,
                                       int required, const char *expected)
{
    struct json_object *val;
    if (!has(parent, key, &val)) {
        if (required)
            verr(v, key, "missing (required: %s)", expected);
        return NULL;
    }
    if (!json_object_is_type(val, json_type_object)) {
        type_err(v, key, expected, val);
        return NULL;
    }
    return val;
}

static int walk_origin(struct vctx *v, struct json_object *root, const char *key,
                       struct config_origin *o)
{
    int before = v->n;
    const char *expected =
        strcmp(key, "primary") == 0
            ? "an object with \"region\" and \"service\", e.g. {\"region\": \"us-east-1\", "
              "\"service\": \"dr-demo-east\"}"
            : "an object with \"region\" and \"service\", e.g. {\"region\": \"us-west-2\", "
              "\"service\": \"dr-demo-west\"}";
    struct json_object *obj = want_object(v, root, key, 1, expected);
    if (!obj)
        return 0;
    check_keys(v, obj, key, origin_keys, NKEYS(origin_keys));
    walk_fixed_string(v, obj, key, "region", 1, "an AWS region name such as us-east-1", chk_region,
                      o->region, sizeof(o->region));
    walk_fixed_string(v, obj, key, "service", 1,
                      "the App Runner service name (" SERVICE_ALLOWED ")", chk_service, o->service,
                      sizeof(o->service));
    return v->n == before;
}

static void walk_status_codes(struct vctx *v, struct json_object *group,
                              struct config_origin_group *g)
{
    const char *base = "origin_group.failover_status_codes";
    const char *expected = "an array of status codes (allowed: " CODES_ALLOWED ")";
    struct json_object *arr;
    int codes[CONFIG_STATUS_CODES_MAX];
    size_t ncodes = 0, n;
    int ok = 1;

    if (!has(group, "failover_status_codes", &arr))
        return;
    if (!json_object_is_type(arr, json_type_array)) {
        type_err(v, base, expected, arr);
        return;
    }
    n = json_object_array_length(arr);
    if (n == 0) {
        verr(v, base, "must list at least one status code (allowed: " CODES_ALLOWED ")");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX_LEN];
        struct json_object *el = json_object_array_get_idx(arr, i);
        long long x;
        const char *shown;
        size_t j;
        path_index(path, base, i);
        if (!want_int(v, path, el, "an integer status code (allowed: " CODES_ALLOWED ")", &x,
                      &shown) ||
            !chk_failover_code(v, path, x, shown)) {
            ok = 0;
            continue;
        }
        for (j = 0; j < ncodes && codes[j] != x; j++)
            ;
        if (j < ncodes) {
            verr(v, path, "%lld is listed twice (each status code may appear once)", x);
            ok = 0;
            continue;
        }
        /* distinct allowed codes: at most CONFIG_STATUS_CODES_MAX of them */
        codes[ncodes++] = (int)x;
    }
    if (ok) {
        memcpy(g->failover_status_codes, codes, ncodes * sizeof(codes[0]));
        g->n_failover_status_codes = ncodes;
    }
}

static char **walk_string_list(struct vctx *v, struct json_object *alarms, const char *key,
                               const char *expected, const char *elem_expected,
                               int (*check)(struct vctx *, const char *, const char *), int nocase,
                               size_t *count)
{
    char base[PATH_MAX_LEN];
    struct json_object *arr;
    char **list = NULL;
    size_t n, kept = 0;
    int ok = 1;

    *count = 0;
    if (!has(alarms, key, &arr))
        return NULL;
    path_key(base, "alarms", key);
    if (!json_object_is_type(arr, json_type_array)) {
        type_err(v, base, expected, arr);
        return NULL;
    }
    n = json_object_array_length(arr);
    if (n > CONFIG_LIST_MAX) {
        verr(v, base, "lists %zu entries (allowed: at most %d)", n, CONFIG_LIST_MAX);
        return NULL;
    }
    if (n == 0)
        return NULL;
    list = calloc(n, sizeof(*list));
    if (!list) {
        vctx_note_rc(v, CFDR_E_NOMEM);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX_LEN];
        const char *s;
        size_t j;
        path_index(path, base, i);
        s = want_string(v, path, json_object_array_get_idx(arr, i), elem_expected);
        if (!s || !check(v, path, s)) {
            ok = 0;
            continue;
        }
        for (j = 0; j < kept; j++)
            if (nocase ? strcasecmp(list[j], s) == 0 : strcmp(list[j], s) == 0)
                break;
        if (j < kept) {
            verr(v, path, "is listed twice (each entry may appear once)");
            ok = 0;
            continue;
        }
        list[kept] = strdup(s);
        if (!list[kept]) {
            vctx_note_rc(v, CFDR_E_NOMEM);
            ok = 0;
            break;
        }
        kept++;
    }
    if (!ok) {
        free_list(list, kept);
        return NULL;
    }
    *count = kept;
    return list;
}

static void walk(struct vctx *v, struct json_object *root, struct cfdr_config *c)
{
    struct json_object *obj, *val;
    int origins_ok;

    if (!json_object_is_type(root, json_type_object)) {
        verr(v, NULL,
             "expected a JSON object at the top level (with \"project\", \"primary\" and "
             "\"secondary\"), got %s",
             type_desc(root));
        return;
    }
    check_keys(v, root, "", top_keys, NKEYS(top_keys));
    walk_fixed_string(v, root, "", "project", 1, "a project name (" PROJECT_ALLOWED ")",
                      chk_project, c->project, sizeof(c->project));
    origins_ok = walk_origin(v, root, "primary", &c->primary);
    origins_ok &= walk_origin(v, root, "secondary", &c->secondary);
    if (origins_ok)
        chk_distinct(v, &c->primary, &c->secondary);

    obj = want_object(v, root, "origin_group", 0,
                      "an object with failover_status_codes, connection_timeout_s, "
                      "connection_attempts, response_timeout_s");
    if (obj) {
        check_keys(v, obj, "origin_group", group_keys, NKEYS(group_keys));
        walk_status_codes(v, obj, &c->origin_group);
        walk_int(v, obj, "origin_group", "connection_timeout_s", 1, 10,
                 &c->origin_group.connection_timeout_s);
        walk_int(v, obj, "origin_group", "connection_attempts", 1, 3,
                 &c->origin_group.connection_attempts);
        walk_int(v, obj, "origin_group", "response_timeout_s", 1, 60,
                 &c->origin_group.response_timeout_s);
    }

    obj = want_object(v, root, "alarms", 0, "an object with email, https, period_s, smtp");
    if (obj) {
        struct config_alarms *a = &c->alarms;
        long long x;
        const char *shown;
        check_keys(v, obj, "alarms", alarms_keys, NKEYS(alarms_keys));
        a->email = walk_string_list(
            v, obj, "email", "an array of email addresses, e.g. [\"oncall@example.com\"]",
            "an email address such as \"oncall@example.com\"", chk_email, 1, &a->n_email);
        a->https = walk_string_list(
            v, obj, "https", "an array of webhook URLs, e.g. [\"https://hooks.example.com/cfdr\"]",
            "a webhook URL such as \"https://hooks.example.com/cfdr\"", chk_webhook, 0,
            &a->n_https);
        if (has(obj, "period_s", &val) &&
            want_int(v, "alarms.period_s", val, "an integer (allowed: " PERIOD_ALLOWED ")", &x,
                     &shown) &&
            chk_period(v, "alarms.period_s", x, shown))
            a->period_s = (int)x;
        if (has(obj, "smtp", &val)) {
            const char *s = want_string(v, "alarms.smtp", val,
                                        "a mail server URL, e.g. \"smtp://127.0.0.1:2525\"");
            if (s && chk_smtp(v, "alarms.smtp", s)) {
                a->smtp = strdup(s);
                if (!a->smtp)
                    vctx_note_rc(v, CFDR_E_NOMEM);
            }
        }
    }

    obj = want_object(v, root, "drill", 0, "an object with rate, duration_s, served_by_header");
    if (obj) {
        check_keys(v, obj, "drill", drill_keys, NKEYS(drill_keys));
        walk_int(v, obj, "drill", "rate", 1, 1000, &c->drill.rate);
        walk_int(v, obj, "drill", "duration_s", 1, CONFIG_DURATION_MAX_S, &c->drill.duration_s);
        walk_fixed_string(v, obj, "drill", "served_by_header", 0,
                          "an HTTP header name (" HEADER_ALLOWED ")", chk_header,
                          c->drill.served_by_header, sizeof(c->drill.served_by_header));
    }
}

/* ---------------------------------------------------------------------------------------------
 * Lexical passes.
 */

/* 1-based line and column of byte offset off; columns count UTF-8 characters, and a leading
 * byte order mark is not one. */
static void line_col(const char *text, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    size_t i = 0;
    if ((unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
        (unsigned char)text[2] == 0xBF && off >= 3)
        i = 3;
    for (; i < off && text[i]; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* Blanks comments out of s (in place, newlines kept) and finds what strict json-c accepts but
 * JSON does not. Returns 0, or -1 with *bad_off and *why describing the first such problem
 * (scanning stops there: whatever follows may be mis-lexed). */
static int strip_comments(char *s, size_t len, size_t *bad_off, const char **why)
{
    size_t i = 0;
    int in_string = 0;

    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (in_string) {
            if (c == '\\') {
                i += 2;
                continue;
            }
            if (c == '"') {
                in_string = 0;
            } else if (c < 0x20) {
                *bad_off = i;
                *why = c == '\n' ? "line break inside a string (strings cannot span lines; "
                                   "write \\n)"
                                 : "control character inside a string (escape it, e.g. \\t)";
                return -1;
            }
            i++;
            continue;
        }
        if (c == '"') {
            in_string = 1;
            i++;
        } else if (c == '\'') {
            *bad_off = i;
            *why = "single quote (JSON strings and keys use double quotes)";
            return -1;
        } else if (c == '/' && i + 1 < len && s[i + 1] == '/') {
            while (i < len && s[i] != '\n')
                s[i++] = ' ';
        } else if (c == '/' && i + 1 < len && s[i + 1] == '*') {
            size_t start = i;
            s[i++] = ' ';
            s[i++] = ' ';
            while (i < len && !(s[i] == '*' && i + 1 < len && s[i + 1] == '/')) {
                if (s[i] != '\n' && s[i] != '\r')
                    s[i] = ' ';
                i++;
            }
            if (i >= len) {
                *bad_off = start;
                *why = "comment opened with /* is never closed with */";
                return -1;
            }
            s[i++] = ' ';
            s[i++] = ' ';
        } else {
            i++;
        }
    }
    return 0;
}

/* Offset just past the string token starting at s[i] == '"' (len if unterminated). */
static size_t string_end(const char *s, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return len;
}

#define DUP_DEPTH_MAX (JSON_TOKENER_DEFAULT_DEPTH + 1)

struct dup_level {
    int is_object;
    int expect_key;
    size_t index;              /* arrays: current element */
    char path[PATH_MAX_LEN];   /* this container's own path ("" at the top) */
    char member[PATH_MAX_LEN]; /* objects: path of the current member */
    struct json_object *seen;  /* objects: key -> offset of its first occurrence */
};

/* Finds keys that appear twice in one object of the valid JSON text s (text is the original,
 * for line and column). json-c's own decoding of each key token is used, so "a" and "\u0061"
 * are the same key, as they are to json-c. */
static void find_duplicate_keys(struct vctx *v, const char *text, const char *s, size_t len)
{
    struct dup_level lv[DUP_DEPTH_MAX];
    struct json_tokener *tok = json_tokener_new();
    int depth = 0;
    size_t i = 0;

    if (!tok) {
        vctx_note_rc(v, CFDR_E_NOMEM);
        return;
    }
    while (i < len) {
        char c = s[i];
        struct dup_level *top = depth ? &lv[depth - 1] : NULL;
        if (c == '{' || c == '[') {
            struct dup_level *child;
            if (depth == DUP_DEPTH_MAX)
                break; /* json-c refuses deeper documents anyway */
            child = &lv[depth];
            if (!top)
                child->path[0] = '\0';
            else if (top->is_object)
                memcpy(child->path, top->member, sizeof(child->path));
            else
                path_index(child->path, top->path, top->index);
            child->is_object = c == '{';
            child->expect_key = c == '{';
            child->index = 0;
            child->member[0] = '\0';
            child->seen = NULL;
            if (c == '{' && !(child->seen = json_object_new_object())) {
                vctx_note_rc(v, CFDR_E_NOMEM);
                break;
            }
            depth++;
            i++;
        } else if (c == '}' || c == ']') {
            if (depth) {
                json_object_put(lv[depth - 1].seen);
                depth--;
            }
            i++;
        } else if (c == ',') {
            if (top && top->is_object)
                top->expect_key = 1;
            else if (top)
                top->index++;
            i++;
        } else if (c == '"') {
            size_t end = string_end(s, len, i);
            if (top && top->is_object && top->expect_key) {
                struct json_object *k, *first;
                json_tokener_reset(tok);
                k = json_tokener_parse_ex(tok, s + i, (int)(end - i));
                if (k && json_object_is_type(k, json_type_string)) {
                    const char *name = json_object_get_string(k);
                    path_key(top->member, top->path, name);
                    if (json_object_object_get_ex(top->seen, name, &first)) {
                        int l1, c1, l2, c2;
                        line_col(text, (size_t)json_object_get_int64(first), &l1, &c1);
                        line_col(text, i, &l2, &c2);
                        verr(v, top->member,
                             "duplicate key at line %d, column %d (first at line %d, column "
                             "%d); keep only one",
                             l2, c2, l1, c1);
                    } else {
                        struct json_object *at = json_object_new_int64((int64_t)i);
                        if (!at || json_object_object_add(top->seen, name, at) != 0) {
                            json_object_put(at);
                            vctx_note_rc(v, CFDR_E_NOMEM);
                        }
                    }
                }
                json_object_put(k);
                top->expect_key = 0;
            }
            i = end;
        } else {
            i++;
        }
    }
    while (depth > 0)
        json_object_put(lv[--depth].seen);
    json_tokener_free(tok);
}

/* ---------------------------------------------------------------------------------------------
 * Loading.
 */

static cfdr_code json_syntax_error(const char *source, const char *text, size_t len, size_t off,
                                   const char *why, int show_char, cfdr_err *err)
{
    int line, col;
    char found[32] = "";
    size_t k;

    for (k = 0; k < len && strchr(" \t\r\n", text[k]); k++)
        ;
    if (k == len)
        return err_set(err, CFDR_E_CONFIG,
                       "%s: the file is empty (expected a JSON object; `cfdr init` writes a "
                       "starter file)",
                       source);
    if (off > len)
        off = len;
    line_col(text, off, &line, &col);
    if (off == len)
        snprintf(found, sizeof(found), " (at the end of the text)");
    else if (show_char && text[off] > 0x20 && text[off] < 0x7f)
        snprintf(found, sizeof(found), " (found %c)", text[off]);
    return err_set(err, CFDR_E_CONFIG, "%s: line %d, column %d: invalid JSON: %s%s", source, line,
                   col, why, found);
}

static const char *tokener_why(enum json_tokener_error e)
{
    switch (e) {
    case json_tokener_error_parse_eof:
    case json_tokener_continue:
        return "the document ends too early (a missing }, ] or \")";
    case json_tokener_error_depth:
        return "nested too deeply";
    case json_tokener_error_parse_object_key_sep:
        return "expected ':' after a key";
    case json_tokener_error_parse_object_value_sep:
        return "expected ',' or '}' after a value (a missing comma?)";
    case json_tokener_error_parse_array:
        return "expected ',' or ']' after an array element (a missing comma?)";
    case json_tokener_error_parse_unexpected:
        return "unexpected character (a trailing comma, or text after the closing }?)";
    default:
        return json_tokener_error_desc(e);
    }
}

/* text: the NUL-terminated document of length len, unchanged (for positions). */
static cfdr_code load_text(const char *text, size_t len, const char *source,
                           struct cfdr_config *out, cfdr_err *err)
{
    struct vctx v;
    struct json_tokener *tok = NULL;
    struct json_object *root = NULL;
    char *copy = NULL;
    size_t pre_off = 0, json_off = 0;
    const char *pre_why = NULL;
    enum json_tokener_error jerr;
    cfdr_code rc;

    config_defaults(out);
    vctx_init(&v, source);
    copy = malloc(len + 1);
    tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
    if (!copy || !tok) {
        rc = err_set(err, CFDR_E_NOMEM, "%s: out of memory", source);
        goto out;
    }
    memcpy(copy, text, len + 1);
    /* A UTF-8 byte order mark (some editors write one) is not JSON; blank it. */
    if (len >= 3 && memcmp(copy, "\xEF\xBB\xBF", 3) == 0)
        memset(copy, ' ', 3);
    /* Its first problem is reported only if json-c finds none earlier in the text. */
    if (strip_comments(copy, len, &pre_off, &pre_why) == 0)
        pre_why = NULL;

    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    /* len + 1 hands json-c the NUL too, which ends a top-level number */
    root = json_tokener_parse_ex(tok, copy, (int)(len + 1));
    jerr = json_tokener_get_error(tok);
    json_off = json_tokener_get_parse_end(tok);
    /* a document that is just `null` parses to NULL with success: the walk reports it */
    if (jerr != json_tokener_success) {
        if (pre_why && pre_off <= json_off)
            rc = json_syntax_error(source, text, len, pre_off, pre_why, 0, err);
        else
            rc = json_syntax_error(source, text, len, json_off, tokener_why(jerr), 1, err);
        goto out;
    }
    if (pre_why) {
        rc = json_syntax_error(source, text, len, pre_off, pre_why, 0, err);
        goto out;
    }

    find_duplicate_keys(&v, text, copy, len);
    walk(&v, root, out);
    rc = vctx_finish(&v, err);
out:
    buf_free(&v.lines);
    json_object_put(root);
    json_tokener_free(tok);
    free(copy);
    if (rc)
        config_free(out);
    return rc;
}

cfdr_code config_load_string(const char *json, const char *source_name, struct cfdr_config *out,
                             cfdr_err *err)
{
    size_t len;
    const char *source = source_name ? source_name : "config";
    if (!json || !out) {
        if (out)
            config_defaults(out);
        return err_set(err, CFDR_E_INTERNAL, "config_load_string: NULL argument");
    }
    len = strlen(json);
    if (len > CONFIG_FILE_MAX) {
        config_defaults(out);
        return err_set(err, CFDR_E_CONFIG,
                       "%s: larger than %u bytes; a cfdr configuration is a few hundred", source,
                       CONFIG_FILE_MAX);
    }
    return load_text(json, len, source, out, err);
}

cfdr_code config_load_file(const char *path, struct cfdr_config *out, cfdr_err *err)
{
    char *text = NULL;
    const char *nul;
    size_t len = 0;
    cfdr_code rc;

    config_defaults(out);
    rc = atomicfile_read(path, CONFIG_FILE_MAX, &text, &len, err);
    if (rc == CFDR_E_NOTFOUND)
        return err_set(err, CFDR_E_NOTFOUND,
                       "%s not found; run `cfdr init` to write a starter configuration there "
                       "(or pass -c FILE)",
                       path);
    if (rc == CFDR_E_TOOBIG)
        return err_set(err, CFDR_E_CONFIG,
                       "%s is larger than %u bytes; a cfdr configuration is a few hundred "
                       "(is -c pointing at the right file?)",
                       path, CONFIG_FILE_MAX);
    if (rc)
        return rc;
    nul = memchr(text, '\0', len);
    if (nul) {
        int line, col;
        line_col(text, (size_t)(nul - text), &line, &col);
        rc = err_set(err, CFDR_E_CONFIG, "%s: line %d, column %d: NUL byte (is this a text file?)",
                     path, line, col);
    } else {
        rc = load_text(text, len, path, out, err);
    }
    free(text);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Validating a struct.
 */

static int chk_required(struct vctx *v, const char *path, const char *s, const char *expected,
                        int (*check)(struct vctx *, const char *, const char *))
{
    if (!*s) {
        verr(v, path, "missing (required: %s)", expected);
        return 0;
    }
    return check(v, path, s);
}

static void chk_list(struct vctx *v, const char *base, char *const *list, size_t n,
                     int (*check)(struct vctx *, const char *, const char *), int nocase)
{
    char path[PATH_MAX_LEN];
    if (n > CONFIG_LIST_MAX) {
        verr(v, base, "lists %zu entries (allowed: at most %d)", n, CONFIG_LIST_MAX);
        return;
    }
    if (n && !list) {
        verr(v, base, "has %zu entries but no list (internal error)", n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        path_index(path, base, i);
        if (!list[i]) {
            verr(v, path, "is NULL (internal error)");
            continue;
        }
        if (!check(v, path, list[i]))
            continue;
        for (size_t j = 0; j < i; j++) {
            if (list[j] &&
                (nocase ? strcasecmp(list[j], list[i]) : strcmp(list[j], list[i])) == 0) {
                verr(v, path, "is listed twice (each entry may appear once)");
                break;
            }
        }
    }
}

cfdr_code config_validate(const struct cfdr_config *cfg, cfdr_err *err)
{
    struct vctx v;
    const struct config_origin_group *g = &cfg->origin_group;
    const struct config_alarms *a = &cfg->alarms;
    int origins_ok;

    vctx_init(&v, NULL);
    chk_required(&v, "project", cfg->project, "a project name (" PROJECT_ALLOWED ")", chk_project);
    origins_ok = chk_required(&v, "primary.region", cfg->primary.region,
                              "an AWS region name such as us-east-1", chk_region);
    origins_ok &= chk_required(&v, "primary.service", cfg->primary.service,
                               "the App Runner service name (" SERVICE_ALLOWED ")", chk_service);
    origins_ok &= chk_required(&v, "secondary.region", cfg->secondary.region,
                               "an AWS region name such as us-west-2", chk_region);
    origins_ok &= chk_required(&v, "secondary.service", cfg->secondary.service,
                               "the App Runner service name (" SERVICE_ALLOWED ")", chk_service);
    if (origins_ok)
        chk_distinct(&v, &cfg->primary, &cfg->secondary);

    if (g->n_failover_status_codes == 0 || g->n_failover_status_codes > CONFIG_STATUS_CODES_MAX) {
        verr(&v, "origin_group.failover_status_codes",
             "must list 1-%d distinct status codes (allowed: " CODES_ALLOWED ")",
             CONFIG_STATUS_CODES_MAX);
    } else {
        for (size_t i = 0; i < g->n_failover_status_codes; i++) {
            char path[PATH_MAX_LEN];
            int x = g->failover_status_codes[i];
            path_index(path, "origin_group.failover_status_codes", i);
            if (!chk_failover_code(&v, path, x, NULL))
                continue;
            for (size_t j = 0; j < i; j++) {
                if (g->failover_status_codes[j] == x) {
                    verr(&v, path, "%d is listed twice (each status code may appear once)", x);
                    break;
                }
            }
        }
    }
    chk_int(&v, "origin_group.connection_timeout_s", g->connection_timeout_s, NULL, 1, 10);
    chk_int(&v, "origin_group.connection_attempts", g->connection_attempts, NULL, 1, 3);
    chk_int(&v, "origin_group.response_timeout_s", g->response_timeout_s, NULL, 1, 60);

    chk_list(&v, "alarms.email", a->email, a->n_email, chk_email, 1);
    chk_list(&v, "alarms.https", a->https, a->n_https, chk_webhook, 0);
    chk_period(&v, "alarms.period_s", a->period_s, NULL);
    if (a->smtp)
        chk_smtp(&v, "alarms.smtp", a->smtp);

    chk_int(&v, "drill.rate", cfg->drill.rate, NULL, 1, 1000);
    chk_int(&v, "drill.duration_s", cfg->drill.duration_s, NULL, 1, CONFIG_DURATION_MAX_S);
    chk_header(&v, "drill.served_by_header", cfg->drill.served_by_header);
    return vctx_finish(&v, err);
}

cfdr_code config_check_mode(const struct cfdr_config *cfg, int local, cfdr_err *err)
{
    if (!local && cfg->alarms.period_s < 10)
        return err_set(err, CFDR_E_CONFIG,
                       "alarms.period_s: %d s periods exist only in --local mode (AWS mode "
                       "needs a multiple of 60 up to 86400: AWS/AppRunner and AWS/CloudFront "
                       "metrics have one datapoint a minute)",
                       cfg->alarms.period_s);
    return CFDR_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Canonical JSON.
 */

/* Adds val under key; consumes val. Returns 0 when either was NULL or the add failed. */
static int put(struct json_object *obj, const char *key, struct json_object *val)
{
    if (!obj || !val)
        return json_object_put(val), 0;
    if (json_object_object_add(obj, key, val) != 0)
        return json_object_put(val), 0;
    return 1;
}

static int push(struct json_object *arr, struct json_object *val)
{
    if (!arr || !val)
        return json_object_put(val), 0;
    if (json_object_array_add(arr, val) != 0)
        return json_object_put(val), 0;
    return 1;
}

static struct json_object *string_array(char *const *list, size_t n)
{
    struct json_object *arr = json_object_new_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (!push(arr, json_object_new_string(list[i]))) {
            json_object_put(arr);
            return NULL;
        }
    }
    return arr;
}

static struct json_object *origin_object(const struct config_origin *o)
{
    struct json_object *obj = json_object_new_object();
    if (!put(obj, "region", json_object_new_string(o->region)) ||
        !put(obj, "service", json_object_new_string(o->service))) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

cfdr_code config_to_json_object(const struct cfdr_config *cfg, struct json_object **out,
                                cfdr_err *err)
{
    const struct config_origin_group *g = &cfg->origin_group;
    const struct config_alarms *a = &cfg->alarms;
    struct json_object *root = json_object_new_object();
    struct json_object *group = json_object_new_object();
    struct json_object *codes = json_object_new_array();
    struct json_object *alarms = json_object_new_object();
    struct json_object *drill = json_object_new_object();
    int ok = root != NULL;

    *out = NULL;
    for (size_t i = 0; codes && i < g->n_failover_status_codes; i++)
        ok &= push(codes, json_object_new_int(g->failover_status_codes[i]));
    ok &= put(group, "failover_status_codes", codes);
    ok &= put(group, "connection_timeout_s", json_object_new_int(g->connection_timeout_s));
    ok &= put(group, "connection_attempts", json_object_new_int(g->connection_attempts));
    ok &= put(group, "response_timeout_s", json_object_new_int(g->response_timeout_s));

    ok &= put(alarms, "email", string_array(a->email, a->n_email));
    ok &= put(alarms, "https", string_array(a->https, a->n_https));
    ok &= put(alarms, "period_s", json_object_new_int(a->period_s));
    if (a->smtp)
        ok &= put(alarms, "smtp", json_object_new_string(a->smtp));

    ok &= put(drill, "rate", json_object_new_int(cfg->drill.rate));
    ok &= put(drill, "duration_s", json_object_new_int(cfg->drill.duration_s));
    ok &= put(drill, "served_by_header", json_object_new_string(cfg->drill.served_by_header));

    ok &= put(root, "project", json_object_new_string(cfg->project));
    ok &= put(root, "primary", origin_object(&cfg->primary));
    ok &= put(root, "secondary", origin_object(&cfg->secondary));
    ok &= put(root, "origin_group", group);
    ok &= put(root, "alarms", alarms);
    ok &= put(root, "drill", drill);
    if (!ok) {
        json_object_put(root);
        return err_set(err, CFDR_E_NOMEM, "out of memory building the configuration JSON");
    }
    *out = root;
    return CFDR_OK;
}

cfdr_code config_to_json(const struct cfdr_config *cfg, struct buf *out)
{
    struct json_object *obj = NULL;
    const char *text;
    cfdr_code rc = config_to_json_object(cfg, &obj, NULL);
    if (rc)
        return rc;
    text = json_object_to_json_string_ext(obj,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    rc = text ? buf_adds(out, text) : CFDR_E_NOMEM;
    json_object_put(obj);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * The starter file.
 */

cfdr_code config_starter_text(int local, struct buf *out)
{
    struct cfdr_config d;
    cfdr_code rc;
    const struct config_origin_group *g = &d.origin_group;
    char codes[64];
    size_t used = 0;

    config_defaults(&d);
    for (size_t i = 0; i < g->n_failover_status_codes; i++)
        used += (size_t)snprintf(codes + used, sizeof(codes) - used, "%s%d", i ? ", " : "",
                                 g->failover_status_codes[i]);

    rc = buf_addf(
        out,
        "// cfdr.json: what cfdr builds, drills and alarms on (written by `cfdr init%s`).\n"
        "// Lines starting with // are comments. Only \"project\", \"primary\" and \"secondary\"\n"
        "// are required; leave any other key out and cfdr uses the value shown here.\n"
        "// cfdr rejects unknown keys, so a typo cannot silently fall back to a default.\n"
        "{\n"
        "  // Names everything cfdr creates: the alarms <project>-failover-active and\n"
        "  // <project>-edge-5xx, their SNS topics, the cfdr:project tag on the distribution.\n"
        "  // 1-32 lowercase letters, digits and hyphens, starting and ending with a letter\n"
        "  // or digit.\n"
        "  \"project\": \"dr-demo\",\n"
        "\n"
        "  // The two origins CloudFront fails over between: App Runner services, by name\n"
        "  // (" SERVICE_ALLOWED "),\n"
        "  // each in an AWS region (e.g. us-east-1). They must differ.\n",
        local ? " --local" : "");
    if (!rc && local)
        rc =
            buf_adds(out, "  // With --local, cfdr runs both as local services that answer like\n"
                          "  // App Runner would and send an x-region header naming the region.\n");
    if (!rc && !local)
        rc = buf_adds(out, "  // `cfdr create` finds them by name; `cfdr create --with-services` "
                           "creates\n"
                           "  // them from a public sample image first.\n");
    if (!rc)
        rc = buf_addf(
            out,
            "  \"primary\":   { \"region\": \"us-east-1\", \"service\": \"dr-demo-east\" },\n"
            "  \"secondary\": { \"region\": \"us-west-2\", \"service\": \"dr-demo-west\" },\n"
            "\n"
            "  // When the edge gives up on the primary and sends the same request to the\n"
            "  // secondary. CloudFront keeps no memory of failures: every request tries the\n"
            "  // primary first and pays the failover cost again.\n"
            "  \"origin_group\": {\n"
            "    // Primary responses that trigger failover.\n"
            "    // Allowed: " CODES_ALLOWED ".\n"
            "    \"failover_status_codes\": [%s],\n"
            "    // Seconds to wait for a connection to an origin (1-10).\n"
            "    \"connection_timeout_s\": %d,\n"
            "    // Connection attempts per origin (1-3). An unreachable primary costs each\n"
            "    // request attempts x connection timeout before failover: %d s here.\n"
            "    \"connection_attempts\": %d,\n"
            "    // Seconds to wait for an origin's response, per attempt (1-60).\n"
            "    \"response_timeout_s\": %d\n"
            "  },\n"
            "\n"
            "  // Who hears about a failover. Error rates alone never show one (failover hides\n"
            "  // the errors), so cfdr alarms on the secondary serving traffic and on viewers\n"
            "  // getting 5xx. Notifications also go out when things recover.\n"
            "  \"alarms\": {\n",
            codes, g->connection_timeout_s, g->connection_timeout_s * g->connection_attempts,
            g->connection_attempts, g->response_timeout_s);
    if (!rc && !local)
        rc = buf_adds(out,
                      "    // Email addresses; SNS first mails each one a link to confirm.\n"
                      "    // e.g. \"email\": [\"oncall@example.com\"],\n"
                      "    \"email\": [],\n"
                      "    // Webhooks (https://, or http://) that receive SNS notifications as\n"
                      "    // JSON POSTs. e.g. \"https\": [\"https://hooks.example.com/cfdr\"],\n"
                      "    \"https\": [],\n"
                      "    // Used by --local only: mail server for the email notifications.\n"
                      "    // e.g. \"smtp\": \"smtp://127.0.0.1:2525\",\n"
                      "    // CloudWatch evaluation period in seconds: a multiple of 60 up to\n"
                      "    // 86400 (AWS/AppRunner and AWS/CloudFront metrics have one datapoint\n"
                      "    // a minute).\n"
                      "    \"period_s\": 60\n");
    if (!rc && local)
        rc = buf_adds(
            out, "    // Email addresses, mailed through \"smtp\" below.\n"
                 "    // e.g. \"email\": [\"oncall@example.com\"],\n"
                 "    \"email\": [],\n"
                 "    // Webhooks (http:// or https://) that receive SNS-shaped JSON POSTs.\n"
                 "    // e.g. \"https\": [\"http://127.0.0.1:8025/cfdr\"],\n"
                 "    \"https\": [],\n"
                 "    // Mail server (smtp:// or smtps://, host and optional port).\n"
                 "    // e.g. \"smtp\": \"smtp://127.0.0.1:2525\",\n"
                 "    // Evaluation period in seconds. Local mode evaluates CloudWatch's\n"
                 "    // way with periods down to 1 s, so a failover is announced within\n"
                 "    // about 2 s (1 s and up). Against AWS use a multiple of 60: the\n"
                 "    // AWS/AppRunner and AWS/CloudFront metrics have one datapoint a minute.\n"
                 "    \"period_s\": 1\n");
    if (!rc)
        rc = buf_addf(out,
                      "  },\n"
                      "\n"
                      "  // `cfdr drill outage`: probes through the edge at a fixed rate.\n"
                      "  \"drill\": {\n"
                      "    // Probes per second (1-1000).\n"
                      "    \"rate\": %d,\n"
                      "    // Seconds the primary stays down during a drill (1-3600); "
                      "--duration\n"
                      "    // overrides it.\n"
                      "    \"duration_s\": %d,\n"
                      "    // Response header that names the origin that served a probe. Origins\n"
                      "    // that do not send one are told apart by probing them directly.\n"
                      "    \"served_by_header\": \"%s\"\n"
                      "  }\n"
                      "}\n",
                      d.drill.rate, d.drill.duration_s, d.drill.served_by_header);
    return rc;
}

/* The directory part of path ("." when there is none), into out. */
cfdr_code config_write_starter(const char *path, int local, int force, cfdr_err *err)
{
    struct buf text;
    int existed = 0;
    cfdr_code rc;

    buf_init(&text, BUF_MAX_SMALL);
    rc = config_starter_text(local, &text);
    if (rc) {
        buf_free(&text);
        return err_set(err, rc, "%s: cannot build the starter file: out of memory", path);
    }
    rc = atomicfile_write(path, buf_str(&text), buf_len(&text), 0644,
                          force ? ATOMICFILE_REPLACE : ATOMICFILE_NO_REPLACE, &existed, err);
    buf_free(&text);
    if (rc && existed)
        return err_set(err, CFDR_E_CONFIG, "%s already exists; use --force to overwrite", path);
    return rc;
}
