/* notify: see notify.h. */
#include "notify.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "aws/atomicfile.h"
#include "aws/buf.h"
#include "aws/clock.h"

#define DEFAULT_CONNECT_TIMEOUT_S 5.0
#define DEFAULT_ATTEMPT_TIMEOUT_S 15.0
#define DEFAULT_BACKOFF_INITIAL_S 0.5
#define DEFAULT_BACKOFF_MAX_S 5.0
#define DEFAULT_RETRY_WINDOW_S 300.0
#define DEFAULT_MAIL_FROM "cfdr@localhost"
#define URL_MAX 2048
#define EMAIL_MAX 254
#define SPOOL_FILE_MAX (4u * 1024u * 1024u) /* a spool file holds one message: 256 KiB + JSON */
#define LOCKED_RETRY_S 0.5                  /* another process delivers it: look again soon */
#define IDLE_WAIT_MS 1000L

/* One spooled notification of a target. */
struct item {
    unsigned long long seq;
    char name[96];
    struct item *next;
};

struct target {
    enum notify_kind kind;
    char *addr;  /* URL, address or path: never logged as such for URLs */
    char id[33]; /* hex SHA-256 prefix of kind + addr: names its spool files */
    char shown[200];
    struct item *head; /* pending, in publication order */
    size_t npending;
    int busy;   /* the head is being delivered */
    int parked; /* gave up for now */
    int attempts;
    double first_fail; /* monotonic time of the head's first failure; < 0 when none */
    double next_try;   /* monotonic */

    /* The attempt in flight: touched by the delivery thread only. */
    CURL *easy;
    struct curl_slist *hdrs, *rcpt;
    char *body;
    size_t body_len, body_off;
    int fd; /* the spool file, locked */
    char path[PATH_MAX];
    char msgid[64];
    double published_at;
    char errbuf[CURL_ERROR_SIZE];
};

struct notify {
    char *spool_dir, *smtp_url, *mail_from, *ca_file;
    char smtp_shown[200];
    struct notify_options o;
    struct target *t[NOTIFY_TARGETS_MAX];
    size_t nt;
    pthread_mutex_t mu;     /* targets, queues, counters */
    pthread_mutex_t pub_mu; /* one publication at a time, so sequence numbers stay ordered */
    pthread_cond_t changed; /* a delivery finished or a target parked */
    pthread_t thread;
    int thread_started;
    int sync_made;
    CURLM *multi;
    int curl_global;
    int stop;
    unsigned long long next_seq;
    size_t delivered, failed, orphaned;
    size_t loaded, reported; /* queued from the spool; of which notify_resume() told */
    char last_error[512];
};

static const char *const kind_names[] = {"webhook", "email", "file"};

const char *notify_kind_name(enum notify_kind k)
{
    return (unsigned)k < 3 ? kind_names[k] : "?";
}

/* ---------------------------------------------------------------------------------------------
 * Validation and redaction.
 */

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Up to 64 characters of s for a message, anything unprintable shown as '?'. */
static void show(const char *s, char out[72])
{
    size_t i = 0;
    for (; s[i] && i < 64; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

/* scheme://host[:port] of a URL: no userinfo, path, query or fragment, where tokens live. */
static void redact_url(const char *url, char *out, size_t outsz)
{
    const char *sep = strstr(url, "://"), *auth, *end, *at = NULL;
    size_t i;

    if (!sep || sep == url || sep - url > 10) {
        snprintf(out, outsz, "(a value without scheme://)");
        return;
    }
    for (i = 0; url + i < sep; i++)
        if (!is_alnum((unsigned char)url[i]) && !strchr("+.-", url[i])) {
            snprintf(out, outsz, "(a value without scheme://)");
            return;
        }
    auth = sep + 3;
    end = auth + strcspn(auth, "/?#");
    for (const char *p = auth; p < end; p++)
        if (*p == '@')
            at = p;
    if (at)
        auth = at + 1;
    if (end - auth > 128)
        end = auth + 128;
    snprintf(out, outsz, "%.*s://", (int)(sep - url), url);
    i = strlen(out);
    for (const char *p = auth; p < end && i + 1 < outsz; p++)
        out[i++] = ((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f) ? *p : '?';
    out[i] = '\0';
}

static int hostname_ok(const char *h, size_t n, int need_tld)
{
    size_t i = 0, labels = 0, last_start = 0;
    int alpha = 0;
    if (n == 0 || n > 253)
        return 0;
    while (i < n) {
        size_t start = i;
        while (i < n && h[i] != '.') {
            if (!is_alnum((unsigned char)h[i]) && h[i] != '-')
                return 0;
            i++;
        }
        if (i == start || i - start > 63 || h[start] == '-' || h[i - 1] == '-')
            return 0;
        labels++;
        last_start = start;
        if (i < n && ++i == n)
            return 0; /* trailing dot */
    }
    if (!need_tld)
        return 1;
    for (i = last_start; i < n; i++)
        alpha |= isalpha((unsigned char)h[i]) != 0;
    return labels >= 2 && n - last_start >= 2 && alpha;
}

/* local@domain: a dot-atom local part of 1-64 characters (no quoted strings, as SNS), and a
 * DNS domain (with a TLD when need_tld). */
static int email_ok(const char *s, int need_tld)
{
    const char *at = strchr(s, '@');
    size_t n = strlen(s), local;
    if (!at || strchr(at + 1, '@') || n > EMAIL_MAX)
        return 0;
    local = (size_t)(at - s);
    if (local == 0 || local > 64 || s[0] == '.' || s[local - 1] == '.')
        return 0;
    for (size_t i = 0; i < local; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.' ? s[i + 1] == '.' : !(is_alnum(c) || strchr("!#$%&'*+/=?^_`{|}~-", c)))
            return 0;
    }
    return hostname_ok(at + 1, n - local - 1, need_tld);
}

/* Checks scheme://[userinfo@]host[:port][/...] with libcurl's own parser (what will be used to
 * connect) plus the rules libcurl leaves out. Returns NULL when fine, else why not. */
static const char *url_problem(const char *s, const char *s1, const char *s2)
{
    CURLU *u;
    char *scheme = NULL, *host = NULL;
    const char *why = NULL;

    if (strlen(s) > URL_MAX)
        return "longer than 2048 characters";
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return "spaces, control and non-ASCII characters must be percent-encoded";
    u = curl_url();
    if (!u)
        return "out of memory";
    if (curl_url_set(u, CURLUPART_URL, s, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
        why = "not a URL";
    else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             (strcasecmp(scheme, s1) != 0 && strcasecmp(scheme, s2) != 0))
        why = "wrong scheme";
    else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
        why = "no host";
    else if (strncasecmp(s, s1, strlen(s1)) != 0 && strncasecmp(s, s2, strlen(s2)) != 0)
        why = "wrong scheme"; /* libcurl guesses a scheme for "host/path" */
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return why;
}

static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        unsigned long cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Small builders.
 */

/* s as a JSON string the way SNS (Jackson) writes it: quotes, backslashes and control
 * characters escaped, everything else (UTF-8 included) as is. */
static cfdr_code json_string(struct buf *b, const char *s)
{
    CFDR_TRY(buf_addc(b, '"'));
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"':
            CFDR_TRY(buf_adds(b, "\\\""));
            break;
        case '\\':
            CFDR_TRY(buf_adds(b, "\\\\"));
            break;
        case '\n':
            CFDR_TRY(buf_adds(b, "\\n"));
            break;
        case '\r':
            CFDR_TRY(buf_adds(b, "\\r"));
            break;
        case '\t':
            CFDR_TRY(buf_adds(b, "\\t"));
            break;
        case '\b':
            CFDR_TRY(buf_adds(b, "\\b"));
            break;
        case '\f':
            CFDR_TRY(buf_adds(b, "\\f"));
            break;
        default:
            if (c < 0x20)
                CFDR_TRY(buf_addf(b, "\\u%04x", c));
            else
                CFDR_TRY(buf_addc(b, (char)c));
        }
    }
    return buf_addc(b, '"');
}

struct envelope {
    const char *message_id, *topic_arn, *subject, *message, *timestamp;
};

/* The notification JSON: pretty as SNS POSTs it, or on one line for JSON-lines files. */
static cfdr_code envelope_json(const struct envelope *e, int one_line, struct buf *b)
{
    const char *sep = one_line ? ":" : " : ", *nl = one_line ? "" : "\n  ";
    const char *const keys[] = {"Type",           "MessageId",     "TopicArn",         "Subject",
                                "Message",        "Timestamp",     "SignatureVersion", "Signature",
                                "SigningCertURL", "UnsubscribeURL"};
    const char *vals[10];
    int first = 1;

    vals[0] = "Notification";
    vals[1] = e->message_id;
    vals[2] = e->topic_arn;
    vals[3] = e->subject; /* SNS leaves Subject out when there is none */
    vals[4] = e->message;
    vals[5] = e->timestamp;
    vals[6] = "1";
    vals[7] = ""; /* nothing signs local notifications: see notify.h */
    vals[8] = "";
    vals[9] = "";
    CFDR_TRY(buf_addc(b, '{'));
    for (size_t i = 0; i < 10; i++) {
        if (!vals[i])
            continue;
        CFDR_TRY(buf_addf(b, "%s%s\"%s\"%s", first ? "" : ",", nl, keys[i], sep));
        CFDR_TRY(json_string(b, vals[i]));
        first = 0;
    }
    return buf_adds(b, one_line ? "}" : "\n}");
}

static cfdr_code uuid4(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        return CFDR_E_INTERNAL;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return CFDR_OK;
}

/* "Wed, 25 Nov 2026 15:05:00 +0000" (RFC 5322), independent of the locale. */
static void rfc5322_date(double wall, char out[40])
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t s = (time_t)wall;
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

#define MAIL_FOOTER                                                                                \
    "\n--\nSent by cfdr's local alarms, which deliver what Amazon SNS would; nothing went "        \
    "through AWS.\nTo stop these messages, remove this address from alarms.email in cfdr.json.\n"

/* The body with CRLF line ends; *longest receives the longest line. */
static cfdr_code crlf_text(const char *s, struct buf *out, size_t *longest)
{
    size_t line = 0;
    *longest = 0;
    for (; *s; s++) {
        if (*s == '\r' && s[1] == '\n')
            continue;
        if (*s == '\n' || *s == '\r') {
            CFDR_TRY(buf_adds(out, "\r\n"));
            line = 0;
            continue;
        }
        CFDR_TRY(buf_addc(out, *s));
        if (++line > *longest)
            *longest = line;
    }
    return CFDR_OK;
}

/* Quoted-printable (RFC 2045) of CRLF text, lines of at most 76 characters. */
static cfdr_code quoted_printable(const char *s, size_t n, struct buf *out)
{
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tok[4];
        int at_eol = i + 1 == n || (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n');
        if (c == '\r' && i + 1 < n && s[i + 1] == '\n') {
            CFDR_TRY(buf_adds(out, "\r\n"));
            i++;
            col = 0;
            continue;
        }
        if (c == '=' || c > 126 || (c < 32 && c != '\t') || ((c == ' ' || c == '\t') && at_eol))
            snprintf(tok, sizeof(tok), "=%02X", c);
        else
            snprintf(tok, sizeof(tok), "%c", c);
        if (col + strlen(tok) > 75) {
            CFDR_TRY(buf_adds(out, "=\r\n"));
            col = 0;
        }
        CFDR_TRY(buf_adds(out, tok));
        col += strlen(tok);
    }
    return CFDR_OK;
}

static cfdr_code build_email(const struct notify *n, const char *to, const char *message_id,
                             double wall, const char *subject, const char *text, struct buf *out)
{
    struct buf body, full;
    char date[40];
    size_t longest = 0;
    cfdr_code rc;

    buf_init(&body, 4u * NOTIFY_MESSAGE_MAX);
    buf_init(&full, 4u * NOTIFY_MESSAGE_MAX);
    rfc5322_date(wall, date);
    rc = buf_adds(&full, text);
    if (!rc)
        rc = buf_adds(&full, MAIL_FOOTER);
    if (!rc)
        rc = crlf_text(buf_str(&full), &body, &longest);
    if (!rc)
        rc = buf_addf(out,
                      "Date: %s\r\nFrom: cfdr local alarms <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
                      "Message-ID: <%s@cfdr.local>\r\nMIME-Version: 1.0\r\n"
                      "Content-Type: text/plain; charset=UTF-8\r\n"
                      "Content-Transfer-Encoding: %s\r\n\r\n",
                      date, n->mail_from, to, subject && *subject ? subject : "cfdr notification",
                      message_id, longest > 998 ? "quoted-printable" : "8bit");
    if (!rc)
        rc = longest > 998 ? quoted_printable(buf_str(&body), buf_len(&body), out)
                           : buf_add(out, buf_str(&body), buf_len(&body));
    buf_free(&body);
    buf_free(&full);
    return rc;
}

void notify_target_id(enum notify_kind k, const char *addr, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    struct buf b;
    buf_init(&b, URL_MAX + 64);
    if (buf_addf(&b, "%s\n%s", kind_names[k], addr) != CFDR_OK ||
        EVP_Digest(buf_str(&b), buf_len(&b), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 16)
        memset(md, 0, 16);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    buf_free(&b);
}

/* ---------------------------------------------------------------------------------------------
 * The spool.
 */

/* "<20-digit seq>-<kind>-<32 hex id>.json" */
static int parse_spool_name(const char *name, unsigned long long *seq, enum notify_kind *kind,
                            char id[33])
{
    const char *p = name, *dash;
    size_t klen;
    int k = -1;

    for (int i = 0; i < 20; i++)
        if (!isdigit((unsigned char)p[i]))
            return 0;
    if (p[20] != '-')
        return 0;
    *seq = strtoull(p, NULL, 10);
    p += 21;
    dash = strchr(p, '-');
    if (!dash)
        return 0;
    klen = (size_t)(dash - p);
    for (int i = 0; i < 3; i++)
        if (strlen(kind_names[i]) == klen && strncmp(p, kind_names[i], klen) == 0)
            k = i;
    if (k < 0)
        return 0;
    p = dash + 1;
    for (int i = 0; i < 32; i++)
        if (!isxdigit((unsigned char)p[i]) || isupper((unsigned char)p[i]))
            return 0;
    if (strcmp(p + 32, ".json") != 0)
        return 0;
    memcpy(id, p, 32);
    id[32] = '\0';
    *kind = (enum notify_kind)k;
    return 1;
}

/* Inserts in sequence order, never before a head being delivered; 0 when already queued. */
static int queue_insert(struct target *t, unsigned long long seq, const char *name)
{
    struct item **pp = &t->head, *it;
    if (t->busy && t->head)
        pp = &t->head->next;
    for (it = t->head; it; it = it->next)
        if (strcmp(it->name, name) == 0)
            return 0;
    while (*pp && (*pp)->seq <= seq)
        pp = &(*pp)->next;
    it = calloc(1, sizeof(*it));
    if (!it)
        return -1;
    it->seq = seq;
    snprintf(it->name, sizeof(it->name), "%s", name);
    it->next = *pp;
    *pp = it;
    t->npending++;
    return 1;
}

static void unpark(struct target *t)
{
    t->parked = 0;
    t->attempts = 0;
    t->first_fail = -1;
    t->next_try = 0;
}

/* Visits the spool's notification files. */
static cfdr_code scan_spool(struct notify *n,
                            int (*fn)(struct notify *n, const char *name, unsigned long long seq,
                                      enum notify_kind kind, const char *id),
                            cfdr_err *err)
{
    DIR *d = opendir(n->spool_dir);
    struct dirent *de;
    if (!d)
        return err_set(err, CFDR_E_IO, "cannot read the notification spool %s: %s", n->spool_dir,
                       strerror(errno));
    while ((de = readdir(d)) != NULL) {
        unsigned long long seq;
        enum notify_kind kind;
        char id[33];
        if (de->d_name[0] == '.' || !parse_spool_name(de->d_name, &seq, &kind, id))
            continue;
        if (fn(n, de->d_name, seq, kind, id) < 0) {
            closedir(d);
            return err_set(err, CFDR_E_NOMEM, "out of memory reading the notification spool");
        }
    }
    closedir(d);
    return CFDR_OK;
}

static int note_max_seq(struct notify *n, const char *name, unsigned long long seq,
                        enum notify_kind kind, const char *id)
{
    (void)name;
    (void)kind;
    (void)id;
    if (seq >= n->next_seq)
        n->next_seq = seq + 1;
    return 0;
}

static struct target *find_target(struct notify *n, enum notify_kind kind, const char *id)
{
    for (size_t i = 0; i < n->nt; i++)
        if (n->t[i]->kind == kind && strcmp(n->t[i]->id, id) == 0)
            return n->t[i];
    return NULL;
}

struct resume_count {
    size_t queued, orphaned;
};

/* Queues a spool file for its target; counts the files of targets not configured. Called
 * with n->mu held. */
static int resume_one(struct notify *n, const char *name, unsigned long long seq,
                      enum notify_kind kind, const char *id)
{
    struct target *t = find_target(n, kind, id);
    int r;
    if (seq >= n->next_seq)
        n->next_seq = seq + 1;
    if (!t) {
        n->orphaned++;
        return 0;
    }
    r = queue_insert(t, seq, name);
    if (r < 0)
        return -1;
    n->loaded += (size_t)r;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Delivery (the delivery thread).
 */

static void end_attempt_resources(struct target *t)
{
    if (t->easy) {
        curl_easy_cleanup(t->easy);
        t->easy = NULL;
    }
    curl_slist_free_all(t->hdrs);
    curl_slist_free_all(t->rcpt);
    t->hdrs = t->rcpt = NULL;
    free(t->body);
    t->body = NULL;
    t->body_len = t->body_off = 0;
    if (t->fd >= 0) {
        close(t->fd); /* releases the flock */
        t->fd = -1;
    }
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: the worst outcome is one more delivery after a crash */
        close(fd);
    }
}

static struct item *pop_head(struct target *t)
{
    struct item *it = t->head;
    if (it) {
        t->head = it->next;
        t->npending--;
    }
    return it;
}

static double backoff_s(const struct notify *n, int attempts)
{
    double d = n->o.backoff_initial_s;
    for (int i = 1; i < attempts && d < n->o.backoff_max_s; i++)
        d *= 2;
    return d < n->o.backoff_max_s ? d : n->o.backoff_max_s;
}

/* The head was delivered (ok = 1) or the attempt failed (why). */
static void finish(struct notify *n, struct target *t, int ok, const char *why)
{
    double now = clock_mono_s();
    struct item *it = NULL;
    int attempts, parked = 0;
    char msgid[64];

    if (ok && unlink(t->path) != 0 && errno != ENOENT)
        log_msg(n->o.log, CFDR_LOG_WARN,
                "notify: %s %s: delivered %s but could not remove %s (%s); it may be delivered "
                "again on the next start",
                kind_names[t->kind], t->shown, t->msgid, t->path, strerror(errno));
    if (ok)
        fsync_dir(n->spool_dir);
    snprintf(msgid, sizeof(msgid), "%s", t->msgid);
    end_attempt_resources(t);

    pthread_mutex_lock(&n->mu);
    attempts = t->attempts + 1;
    pthread_mutex_unlock(&n->mu);
    if (ok) {
        log_msg(n->o.log, CFDR_LOG_INFO, "notify: %s %s: delivered %s (attempt %d)",
                kind_names[t->kind], t->shown, msgid, attempts);
        /* Before the queue lets go of it, so that notify_flush() returning means every
         * callback has run. */
        if (n->o.delivered) {
            struct notify_delivery d;
            memset(&d, 0, sizeof(d));
            d.kind = t->kind;
            d.target = t->shown;
            d.target_id = t->id;
            d.message_id = msgid;
            d.published_at = t->published_at;
            d.delivered_at = clock_wall_s();
            d.attempts = attempts;
            n->o.delivered(n->o.ud, &d);
        }
    }

    pthread_mutex_lock(&n->mu);
    t->attempts = attempts;
    if (ok) {
        it = pop_head(t);
        t->attempts = 0;
        t->first_fail = -1;
        t->next_try = 0;
        n->delivered++;
    } else {
        n->failed++;
        snprintf(n->last_error, sizeof(n->last_error), "%s %s: %s", kind_names[t->kind], t->shown,
                 why);
        if (t->first_fail < 0)
            t->first_fail = now;
        if (now - t->first_fail >= n->o.retry_window_s)
            t->parked = parked = 1;
        else
            t->next_try = now + backoff_s(n, attempts);
    }
    t->busy = 0;
    pthread_cond_broadcast(&n->changed);
    pthread_mutex_unlock(&n->mu);
    free(it);

    if (ok)
        return;
    if (parked)
        log_msg(n->o.log, CFDR_LOG_ERROR,
                "notify: %s %s: %s failed %d times over %.0f s (last: %s); it stays in %s and is "
                "retried on the next notification or the next start",
                kind_names[t->kind], t->shown, msgid, attempts, n->o.retry_window_s, why,
                n->spool_dir);
    else
        log_msg(n->o.log, attempts == 1 ? CFDR_LOG_WARN : CFDR_LOG_DEBUG,
                "notify: %s %s: attempt %d for %s failed (%s); retrying in %.1f s",
                kind_names[t->kind], t->shown, attempts, msgid, why, backoff_s(n, attempts));
}

/* The head's spool file disappeared: another cfdr delivered it, or a person removed it. */
static void finish_gone(struct notify *n, struct target *t)
{
    struct item *it;
    end_attempt_resources(t);
    pthread_mutex_lock(&n->mu);
    it = pop_head(t);
    t->busy = 0;
    t->attempts = 0;
    t->first_fail = -1;
    pthread_cond_broadcast(&n->changed);
    pthread_mutex_unlock(&n->mu);
    log_msg(n->o.log, CFDR_LOG_DEBUG,
            "notify: %s %s: %s is no longer in the spool (delivered by another cfdr process)",
            kind_names[t->kind], t->shown, it ? it->name : "?");
    free(it);
}

/* An unreadable spool file is set aside (renamed *.bad), never deleted. */
static void finish_bad(struct notify *n, struct target *t, const char *why)
{
    char bad[PATH_MAX + 8];
    struct item *it;
    snprintf(bad, sizeof(bad), "%s.bad", t->path);
    if (rename(t->path, bad) != 0)
        snprintf(bad, sizeof(bad), "%s", t->path);
    end_attempt_resources(t);
    pthread_mutex_lock(&n->mu);
    it = pop_head(t);
    t->busy = 0;
    n->failed++;
    snprintf(n->last_error, sizeof(n->last_error), "%s %s: unreadable spool file",
             kind_names[t->kind], t->shown);
    pthread_cond_broadcast(&n->changed);
    pthread_mutex_unlock(&n->mu);
    log_msg(n->o.log, CFDR_LOG_ERROR, "notify: %s %s: spool file %s is unreadable (%s); kept as %s",
            kind_names[t->kind], t->shown, it ? it->name : "?", why, bad);
    free(it);
}

static size_t discard(char *p, size_t size, size_t nmemb, void *ud)
{
    (void)p;
    (void)ud;
    return size * nmemb;
}

static size_t read_body(char *dst, size_t size, size_t nmemb, void *ud)
{
    struct target *t = ud;
    size_t room = size * nmemb, left = t->body_len - t->body_off;
    size_t k = left < room ? left : room;
    memcpy(dst, t->body + t->body_off, k);
    t->body_off += k;
    return k;
}

static int set_common(struct notify *n, struct target *t)
{
    CURL *c = t->easy;
    int bad = 0;
    bad |= curl_easy_setopt(c, CURLOPT_PRIVATE, t) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(n->o.connect_timeout_s * 1000)) !=
           CURLE_OK;
    bad |=
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(n->o.attempt_timeout_s * 1000)) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK;
    if (n->ca_file)
        bad |= curl_easy_setopt(c, CURLOPT_CAINFO, n->ca_file) != CURLE_OK;
    return bad;
}

static cfdr_code start_webhook(struct notify *n, struct target *t, const char *topic_arn)
{
    char line[512];
    const char *id = t->id;
    struct curl_slist *h = NULL;
    int bad = 0;

    t->easy = curl_easy_init();
    if (!t->easy)
        return CFDR_E_NOMEM;
    bad |= set_common(n, t);
    bad |= curl_easy_setopt(t->easy, CURLOPT_URL, t->addr) != CURLE_OK;
    bad |= curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(t->easy, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(t->easy, CURLOPT_POST, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body) != CURLE_OK;
    bad |=
        curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body_len) != CURLE_OK;
    bad |= curl_easy_setopt(t->easy, CURLOPT_USERAGENT, "cfdr/" CFDR_VERSION " (local SNS)") !=
           CURLE_OK;
#define HDR(...)                                                                                   \
    do {                                                                                           \
        struct curl_slist *nh_;                                                                    \
        snprintf(line, sizeof(line), __VA_ARGS__);                                                 \
        nh_ = curl_slist_append(h, line);                                                          \
        if (!nh_)                                                                                  \
            bad = 1;                                                                               \
        else                                                                                       \
            h = nh_;                                                                               \
    } while (0)
    HDR("Content-Type: text/plain; charset=UTF-8");
    HDR("x-amz-sns-message-type: Notification");
    HDR("x-amz-sns-message-id: %s", t->msgid);
    HDR("x-amz-sns-topic-arn: %.300s", topic_arn);
    /* SNS names a subscription <topic ARN>:<uuid>; the local one derives it from the target. */
    HDR("x-amz-sns-subscription-arn: %.300s:%.8s-%.4s-%.4s-%.4s-%.12s", topic_arn, id, id + 8,
        id + 12, id + 16, id + 20);
    HDR("Expect:");
#undef HDR
    t->hdrs = h;
    bad |= curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, h) != CURLE_OK;
    return bad ? CFDR_E_NOMEM : CFDR_OK;
}

static cfdr_code start_email(struct notify *n, struct target *t)
{
    char line[EMAIL_MAX + 8];
    int bad = 0;

    t->easy = curl_easy_init();
    if (!t->easy)
        return CFDR_E_NOMEM;
    snprintf(line, sizeof(line), "<%s>", t->addr);
    t->rcpt = curl_slist_append(NULL, line);
    if (!t->rcpt)
        return CFDR_E_NOMEM;
    bad |= set_common(n, t);
    bad |= curl_easy_setopt(t->easy, CURLOPT_URL, n->smtp_url) != CURLE_OK;
    bad |= curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps") != CURLE_OK;
    /* STARTTLS when the server offers it; smtps:// is TLS from the first byte anyway. */
    bad |= curl_easy_setopt(t->easy, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY) != CURLE_OK;
    snprintf(line, sizeof(line), "<%s>", n->mail_from);
    bad |= curl_easy_setopt(t->easy, CURLOPT_MAIL_FROM, line) != CURLE_OK;
    bad |= curl_easy_setopt(t->easy, CURLOPT_MAIL_RCPT, t->rcpt) != CURLE_OK;
    bad |= curl_easy_setopt(t->easy, CURLOPT_UPLOAD, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(t->easy, CURLOPT_READFUNCTION, read_body) != CURLE_OK;
    bad |= curl_easy_setopt(t->easy, CURLOPT_READDATA, t) != CURLE_OK;
    bad |= curl_easy_setopt(t->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)t->body_len) != CURLE_OK;
    return bad ? CFDR_E_NOMEM : CFDR_OK;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Appends the line and syncs it; on failure the file is cut back to where it was. */
static int append_line(struct target *t, char *why, size_t whysz)
{
    struct stat st;
    int fd = open(t->addr, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    int rc = -1;
    if (fd < 0) {
        snprintf(why, whysz, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(why, whysz, "cannot stat: %s", strerror(errno));
    } else if (write_all(fd, t->body, t->body_len) != 0 || write_all(fd, "\n", 1) != 0 ||
               fsync(fd) != 0) {
        snprintf(why, whysz, "cannot write: %s", strerror(errno));
        if (ftruncate(fd, st.st_size) != 0)
            snprintf(why + strlen(why), whysz - strlen(why), " (and cannot cut it back: %s)",
                     strerror(errno));
    } else {
        rc = 0;
    }
    close(fd);
    return rc;
}

/* Loads the head's spool file (locked) into t. 1: loaded; 0: gone; -1: unreadable (why);
 * -2: locked by another process. */
static int load_head(struct notify *n, struct target *t, const char *name, char *topic,
                     size_t topicsz, char *why, size_t whysz)
{
    struct stat st;
    char *text = NULL;
    ssize_t got;
    size_t len = 0;
    json_object *doc = NULL, *v;
    int r = -1;

    snprintf(t->path, sizeof(t->path), "%s/%s", n->spool_dir, name);
    t->fd = open(t->path, O_RDONLY | O_CLOEXEC);
    if (t->fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(why, whysz, "cannot open: %s", strerror(errno));
        return -1;
    }
    /* The lock only keeps two cfdr processes from sending the same file at once: where the
     * file system cannot lock, deliver anyway. */
    if (flock(t->fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)
        return -2;
    if (fstat(t->fd, &st) != 0 || st.st_nlink == 0)
        return 0;
    if ((size_t)st.st_size > SPOOL_FILE_MAX) {
        snprintf(why, whysz, "larger than %u bytes", SPOOL_FILE_MAX);
        return -1;
    }
    text = malloc((size_t)st.st_size + 1);
    if (!text) {
        snprintf(why, whysz, "out of memory");
        return -1;
    }
    while (len < (size_t)st.st_size &&
           ((got = read(t->fd, text + len, (size_t)st.st_size - len)) > 0 ||
            (got < 0 && errno == EINTR)))
        if (got > 0)
            len += (size_t)got;
    text[len] = '\0';
    doc = json_tokener_parse(text);
    if (!doc || !json_object_is_type(doc, json_type_object)) {
        snprintf(why, whysz, "not JSON");
        goto out;
    }
    if (!json_object_object_get_ex(doc, "body", &v) || !json_object_is_type(v, json_type_string)) {
        snprintf(why, whysz, "no body");
        goto out;
    }
    t->body_len = (size_t)json_object_get_string_len(v);
    t->body = malloc(t->body_len + 1);
    if (!t->body) {
        snprintf(why, whysz, "out of memory");
        goto out;
    }
    memcpy(t->body, json_object_get_string(v), t->body_len + 1);
    t->body_off = 0;
    if (!json_object_object_get_ex(doc, "message_id", &v) ||
        !json_object_is_type(v, json_type_string) ||
        !json_object_object_get_ex(doc, "topic_arn", &v)) {
        snprintf(why, whysz, "no message_id or topic_arn");
        goto out;
    }
    json_object_object_get_ex(doc, "message_id", &v);
    snprintf(t->msgid, sizeof(t->msgid), "%s", json_object_get_string(v));
    json_object_object_get_ex(doc, "topic_arn", &v);
    snprintf(topic, topicsz, "%s", json_object_get_string(v));
    t->published_at =
        json_object_object_get_ex(doc, "published_at", &v) ? json_object_get_double(v) : 0;
    r = 1;
out:
    json_object_put(doc);
    free(text);
    return r;
}

/* Starts delivering t's head. Returns 1 when it already finished (file targets, errors). */
static int start_attempt(struct notify *n, struct target *t)
{
    char name[96], topic[512], why[300];
    int r;
    cfdr_code rc;

    pthread_mutex_lock(&n->mu);
    snprintf(name, sizeof(name), "%s", t->head->name);
    pthread_mutex_unlock(&n->mu);
    t->errbuf[0] = '\0';
    why[0] = '\0';
    r = load_head(n, t, name, topic, sizeof(topic), why, sizeof(why));
    if (r == 0) {
        finish_gone(n, t);
        return 1;
    }
    if (r == -2) {
        end_attempt_resources(t);
        pthread_mutex_lock(&n->mu);
        t->busy = 0;
        t->next_try = clock_mono_s() + LOCKED_RETRY_S;
        pthread_mutex_unlock(&n->mu);
        return 0;
    }
    if (r < 0) {
        finish_bad(n, t, why);
        return 1;
    }
    switch (t->kind) {
    case NOTIFY_FILE:
        finish(n, t, append_line(t, why, sizeof(why)) == 0, why);
        return 1;
    case NOTIFY_WEBHOOK:
        rc = start_webhook(n, t, topic);
        break;
    case NOTIFY_EMAIL:
    default:
        rc = start_email(n, t);
        break;
    }
    if (rc || curl_multi_add_handle(n->multi, t->easy) != CURLM_OK) {
        finish(n, t, 0, "could not start the transfer (out of memory)");
        return 1;
    }
    return 0;
}

/* Why a finished transfer failed, or NULL when it was a delivery. */
static const char *transfer_problem(struct target *t, CURLcode res, char *out, size_t outsz)
{
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    if (t->kind == NOTIFY_WEBHOOK) {
        if (res == CURLE_OK && code >= 200 && code < 300)
            return NULL;
        if (res == CURLE_OK)
            snprintf(out, outsz, "the receiver answered HTTP %ld", code);
        else
            snprintf(out, outsz, "%s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(res));
        return out;
    }
    if (res == CURLE_OK)
        return NULL;
    if (code >= 400)
        snprintf(out, outsz, "the SMTP server answered %ld (%s)", code,
                 t->errbuf[0] ? t->errbuf : curl_easy_strerror(res));
    else
        snprintf(out, outsz, "%s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(res));
    return out;
}

static int drain(struct notify *n)
{
    CURLMsg *m;
    int left, any = 0;
    while ((m = curl_multi_info_read(n->multi, &left)) != NULL) {
        struct target *t = NULL;
        char why[400];
        const char *problem;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        curl_multi_remove_handle(n->multi, m->easy_handle);
        if (!t)
            continue;
        problem = transfer_problem(t, m->data.result, why, sizeof(why));
        finish(n, t, problem == NULL, problem ? problem : "");
        any = 1;
    }
    return any;
}

static void *deliver_loop(void *arg)
{
    struct notify *n = arg;
    for (;;) {
        struct target *go[NOTIFY_TARGETS_MAX];
        size_t ngo = 0;
        long wait_ms = IDLE_WAIT_MS;
        int running = 0;
        double now = clock_mono_s();

        pthread_mutex_lock(&n->mu);
        if (n->stop) {
            pthread_mutex_unlock(&n->mu);
            break;
        }
        for (size_t i = 0; i < n->nt; i++) {
            struct target *t = n->t[i];
            if (t->busy || t->parked || !t->head)
                continue;
            if (t->next_try <= now) {
                t->busy = 1;
                go[ngo++] = t;
            } else {
                long ms = (long)((t->next_try - now) * 1000.0) + 1;
                if (ms < wait_ms)
                    wait_ms = ms;
            }
        }
        pthread_mutex_unlock(&n->mu);
        for (size_t i = 0; i < ngo; i++)
            if (start_attempt(n, go[i]))
                wait_ms = 0;
        curl_multi_perform(n->multi, &running);
        if (drain(n))
            wait_ms = 0;
        curl_multi_poll(n->multi, NULL, 0, (int)wait_ms, NULL);
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * The public API.
 */

static char *dup_or_null(const char *s, int *ok)
{
    char *d;
    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        *ok = 0;
    return d;
}

cfdr_code notify_new(const struct notify_options *o, struct notify **out, cfdr_err *err)
{
    struct notify *n;
    pthread_condattr_t ca;
    int ok = 1;
    cfdr_code rc;
    char sh[72];

    *out = NULL;
    if (!o->spool_dir || !*o->spool_dir)
        return err_set(err, CFDR_E_CONFIG, "notifications need a spool directory");
    if (o->smtp_url) {
        const char *why = url_problem(o->smtp_url, "smtp", "smtps");
        if (why) {
            char shown[200];
            redact_url(o->smtp_url, shown, sizeof(shown));
            return err_set(err, CFDR_E_CONFIG,
                           "%s is not a mail server URL: %s (expected smtp:// or "
                           "smtps://host[:port], e.g. smtp://127.0.0.1:2525)",
                           shown, why);
        }
    }
    if (o->mail_from && !email_ok(o->mail_from, 0)) {
        show(o->mail_from, sh);
        return err_set(err, CFDR_E_CONFIG,
                       "\"%s\" is not a sender address (expected local@domain, e.g. "
                       "cfdr@localhost)",
                       sh);
    }
    n = calloc(1, sizeof(*n));
    if (!n)
        return err_set(err, CFDR_E_NOMEM, "out of memory creating the notifier");
    n->o = *o;
    n->spool_dir = dup_or_null(o->spool_dir, &ok);
    n->smtp_url = dup_or_null(o->smtp_url, &ok);
    n->mail_from = dup_or_null(o->mail_from ? o->mail_from : DEFAULT_MAIL_FROM, &ok);
    n->ca_file = dup_or_null(o->ca_file, &ok);
    if (n->smtp_url)
        redact_url(n->smtp_url, n->smtp_shown, sizeof(n->smtp_shown));
#define DEFAULT(f, v)                                                                              \
    if (!(n->o.f > 0))                                                                             \
        n->o.f = (v);
    DEFAULT(connect_timeout_s, DEFAULT_CONNECT_TIMEOUT_S);
    DEFAULT(attempt_timeout_s, DEFAULT_ATTEMPT_TIMEOUT_S);
    DEFAULT(backoff_initial_s, DEFAULT_BACKOFF_INITIAL_S);
    DEFAULT(backoff_max_s, DEFAULT_BACKOFF_MAX_S);
    DEFAULT(retry_window_s, DEFAULT_RETRY_WINDOW_S);
#undef DEFAULT
    n->next_seq = 1;
    if (!ok) {
        rc = err_set(err, CFDR_E_NOMEM, "out of memory creating the notifier");
        goto fail;
    }
    if (pthread_mutex_init(&n->mu, NULL) != 0 || pthread_mutex_init(&n->pub_mu, NULL) != 0) {
        rc = err_set(err, CFDR_E_INTERNAL, "cannot create the notifier's locks");
        goto fail;
    }
    if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&n->changed, &ca) != 0) {
        rc = err_set(err, CFDR_E_INTERNAL, "cannot create the notifier's condition variable");
        goto fail;
    }
    pthread_condattr_destroy(&ca);
    n->sync_made = 1;
    rc = atomicfile_mkdirs(n->spool_dir, 0700, err);
    if (rc) {
        err_wrap(err, "creating the notification spool");
        goto fail;
    }
    rc = scan_spool(n, note_max_seq, err);
    if (rc)
        goto fail;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rc = err_set(err, CFDR_E_INTERNAL, "libcurl could not be initialised");
        goto fail;
    }
    n->curl_global = 1;
    n->multi = curl_multi_init();
    if (!n->multi) {
        rc = err_set(err, CFDR_E_NOMEM, "libcurl could not create a multi handle");
        goto fail;
    }
    if (pthread_create(&n->thread, NULL, deliver_loop, n) != 0) {
        rc = err_set(err, CFDR_E_INTERNAL, "cannot start the notification thread: %s",
                     strerror(errno));
        goto fail;
    }
    n->thread_started = 1;
    *out = n;
    return CFDR_OK;
fail:
    notify_free(n);
    return rc;
}

void notify_free(struct notify *n)
{
    if (!n)
        return;
    if (n->thread_started) {
        pthread_mutex_lock(&n->mu);
        n->stop = 1;
        pthread_mutex_unlock(&n->mu);
        curl_multi_wakeup(n->multi);
        pthread_join(n->thread, NULL);
    }
    for (size_t i = 0; i < n->nt; i++) {
        struct target *t = n->t[i];
        struct item *it;
        if (t->easy)
            curl_multi_remove_handle(n->multi, t->easy);
        end_attempt_resources(t);
        while ((it = pop_head(t)) != NULL)
            free(it);
        free(t->addr);
        free(t);
    }
    if (n->multi)
        curl_multi_cleanup(n->multi);
    if (n->curl_global)
        curl_global_cleanup();
    if (n->sync_made) {
        pthread_cond_destroy(&n->changed);
        pthread_mutex_destroy(&n->mu);
        pthread_mutex_destroy(&n->pub_mu);
    }
    free(n->spool_dir);
    free(n->smtp_url);
    free(n->mail_from);
    free(n->ca_file);
    free(n);
}

static cfdr_code add_target(struct notify *n, enum notify_kind kind, const char *addr,
                            const char *shown, cfdr_err *err)
{
    struct target *t;
    char id[33];
    size_t orphaned;
    int added = 0;
    cfdr_code rc = CFDR_OK;

    notify_target_id(kind, addr, id);
    t = calloc(1, sizeof(*t));
    if (!t || !(t->addr = strdup(addr))) {
        free(t);
        return err_set(err, CFDR_E_NOMEM, "out of memory adding a notification target");
    }
    t->kind = kind;
    memcpy(t->id, id, sizeof(id));
    snprintf(t->shown, sizeof(t->shown), "%s", shown);
    t->fd = -1;
    t->first_fail = -1;
    /* The target's backlog from earlier runs is queued now, before anything this run
     * publishes, so that it goes out first. */
    pthread_mutex_lock(&n->pub_mu);
    pthread_mutex_lock(&n->mu);
    if (find_target(n, kind, id)) {
        rc = err_set(err, CFDR_E_CONFIG, "%s %s is listed twice", kind_names[kind], shown);
    } else if (n->nt == NOTIFY_TARGETS_MAX) {
        rc = err_set(err, CFDR_E_CONFIG, "more than %d notification targets", NOTIFY_TARGETS_MAX);
    } else {
        n->t[n->nt++] = t;
        added = 1;
        orphaned = n->orphaned;
        rc = scan_spool(n, resume_one, err);
        n->orphaned = orphaned; /* counted by notify_resume(), once every target is known */
    }
    pthread_mutex_unlock(&n->mu);
    pthread_mutex_unlock(&n->pub_mu);
    if (!added) {
        free(t->addr);
        free(t);
    }
    if (!rc)
        curl_multi_wakeup(n->multi);
    return rc;
}

cfdr_code notify_add_webhook(struct notify *n, const char *url, cfdr_err *err)
{
    char shown[200];
    const char *why;
    if (!url)
        return err_set(err, CFDR_E_CONFIG, "a webhook URL is required");
    redact_url(url, shown, sizeof(shown));
    why = url_problem(url, "https", "http");
    if (why)
        return err_set(err, CFDR_E_CONFIG,
                       "%s is not a webhook URL: %s (expected https:// or "
                       "http://host[:port][/path], e.g. https://hooks.example.com/cfdr)",
                       shown, why);
    return add_target(n, NOTIFY_WEBHOOK, url, shown, err);
}

cfdr_code notify_add_email(struct notify *n, const char *address, cfdr_err *err)
{
    char sh[72];
    if (!address || !email_ok(address, 1)) {
        show(address ? address : "", sh);
        return err_set(err, CFDR_E_CONFIG,
                       "\"%s\" is not an email address (expected local@domain.tld, e.g. "
                       "oncall@example.com)",
                       sh);
    }
    if (!n->smtp_url)
        return err_set(err, CFDR_E_CONFIG,
                       "e-mail to %s needs a mail server: set alarms.smtp (e.g. "
                       "smtp://127.0.0.1:2525)",
                       address);
    return add_target(n, NOTIFY_EMAIL, address, address, err);
}

cfdr_code notify_add_file(struct notify *n, const char *path, cfdr_err *err)
{
    if (!path || !*path)
        return err_set(err, CFDR_E_CONFIG, "a JSON-lines file needs a path");
    if (strlen(path) >= PATH_MAX)
        return err_set(err, CFDR_E_CONFIG, "the JSON-lines file path is too long");
    return add_target(n, NOTIFY_FILE, path, path, err);
}

cfdr_code notify_resume(struct notify *n, size_t *resumed, cfdr_err *err)
{
    size_t fresh, orphaned;
    cfdr_code rc;

    pthread_mutex_lock(&n->pub_mu);
    pthread_mutex_lock(&n->mu);
    n->orphaned = 0;
    rc = scan_spool(n, resume_one, err);
    for (size_t i = 0; i < n->nt; i++)
        if (n->t[i]->head && !n->t[i]->busy)
            unpark(n->t[i]);
    fresh = n->loaded - n->reported;
    n->reported = n->loaded;
    orphaned = n->orphaned;
    pthread_mutex_unlock(&n->mu);
    pthread_mutex_unlock(&n->pub_mu);
    curl_multi_wakeup(n->multi);
    if (resumed)
        *resumed = fresh;
    if (fresh)
        log_msg(n->o.log, CFDR_LOG_INFO, "notify: resuming %zu pending notification(s) from %s",
                fresh, n->spool_dir);
    if (orphaned)
        log_msg(n->o.log, CFDR_LOG_WARN,
                "notify: %zu notification(s) in %s are for targets that are no longer configured; "
                "they are left there",
                orphaned, n->spool_dir);
    return rc;
}

static cfdr_code check_message(const struct notify_message *m, cfdr_err *err)
{
    if (!m->topic_arn || strncmp(m->topic_arn, "arn:", 4) != 0 || strlen(m->topic_arn) > 300)
        return err_set(err, CFDR_E_USAGE, "a notification needs a topic ARN (arn:...)");
    if (m->subject) {
        size_t len = strlen(m->subject);
        if (len == 0 || len > NOTIFY_SUBJECT_MAX)
            return err_set(err, CFDR_E_USAGE,
                           "a notification subject must have 1-%d characters (SNS's limit)",
                           NOTIFY_SUBJECT_MAX);
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)m->subject[i] < 0x20 || (unsigned char)m->subject[i] > 0x7e)
                return err_set(err, CFDR_E_USAGE,
                               "a notification subject must be printable ASCII without line "
                               "breaks, as SNS requires");
    }
    for (int i = 0; i < 2; i++) {
        const char *s = i ? m->email_message : m->message;
        size_t len;
        if (!s) {
            if (i)
                continue;
            return err_set(err, CFDR_E_USAGE, "a notification needs a message");
        }
        len = strlen(s);
        if (len == 0 || len > NOTIFY_MESSAGE_MAX)
            return err_set(err, CFDR_E_USAGE,
                           "a notification message must have 1 to %d bytes (SNS's limit)",
                           NOTIFY_MESSAGE_MAX);
        if (!utf8_valid((const unsigned char *)s, len))
            return err_set(err, CFDR_E_USAGE, "a notification message must be UTF-8");
    }
    return CFDR_OK;
}

static cfdr_code spool_one(struct notify *n, struct target *t, const char *message_id,
                           const char *topic_arn, double wall, const char *body, cfdr_err *err)
{
    json_object *doc = json_object_new_object();
    char name[96], path[PATH_MAX];
    unsigned long long seq;
    const char *text;
    int ok = doc != NULL;
    cfdr_code rc;

    pthread_mutex_lock(&n->mu);
    seq = n->next_seq++;
    pthread_mutex_unlock(&n->mu);
    snprintf(name, sizeof(name), "%020llu-%s-%s.json", seq, kind_names[t->kind], t->id);
    if (snprintf(path, sizeof(path), "%s/%s", n->spool_dir, name) >= (int)sizeof(path)) {
        json_object_put(doc);
        return err_set(err, CFDR_E_IO, "the spool path %s is too long", n->spool_dir);
    }
    ok = ok && json_object_object_add(doc, "version", json_object_new_int(1)) == 0;
    ok =
        ok && json_object_object_add(doc, "kind", json_object_new_string(kind_names[t->kind])) == 0;
    ok = ok && json_object_object_add(doc, "target", json_object_new_string(t->id)) == 0;
    ok = ok && json_object_object_add(doc, "seq", json_object_new_int64((int64_t)seq)) == 0;
    ok = ok && json_object_object_add(doc, "message_id", json_object_new_string(message_id)) == 0;
    ok = ok && json_object_object_add(doc, "topic_arn", json_object_new_string(topic_arn)) == 0;
    ok = ok && json_object_object_add(doc, "published_at", json_object_new_double(wall)) == 0;
    ok = ok && json_object_object_add(doc, "body", json_object_new_string(body)) == 0;
    text = ok ? json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN) : NULL;
    if (!text) {
        json_object_put(doc);
        return err_set(err, CFDR_E_NOMEM, "out of memory spooling a notification");
    }
    rc = atomicfile_write(path, text, strlen(text), 0600, ATOMICFILE_NO_REPLACE, NULL, err);
    json_object_put(doc);
    if (rc)
        return err_wrap(err, "spooling a notification for %s %s", kind_names[t->kind], t->shown);
    pthread_mutex_lock(&n->mu);
    if (queue_insert(t, seq, name) < 0)
        rc = err_set(err, CFDR_E_NOMEM, "out of memory queueing a notification");
    if (t->parked)
        unpark(t);
    pthread_mutex_unlock(&n->mu);
    return rc;
}

cfdr_code notify_publish(struct notify *n, const struct notify_message *m, char message_id[37],
                         cfdr_err *err)
{
    struct target *ts[NOTIFY_TARGETS_MAX];
    size_t nts;
    char id[37], stamp[32];
    struct buf pretty, line, mail;
    struct envelope e;
    double wall = clock_wall_s();
    cfdr_code rc = CFDR_OK, first = CFDR_OK;
    cfdr_err first_err;

    err_clear(&first_err);
    CFDR_TRY(check_message(m, err));
    if (uuid4(id))
        return err_set(err, CFDR_E_INTERNAL, "could not draw random bytes for a message id");
    if (message_id)
        memcpy(message_id, id, 37);
    clock_iso(wall, stamp);
    e.message_id = id;
    e.topic_arn = m->topic_arn;
    e.subject = m->subject;
    e.message = m->message;
    e.timestamp = stamp;
    buf_init(&pretty, 4u * NOTIFY_MESSAGE_MAX);
    buf_init(&line, 4u * NOTIFY_MESSAGE_MAX);
    buf_init(&mail, 8u * NOTIFY_MESSAGE_MAX);
    if ((rc = envelope_json(&e, 0, &pretty)) || (rc = envelope_json(&e, 1, &line))) {
        rc = err_set(err, rc, "building the notification JSON");
        goto out;
    }

    pthread_mutex_lock(&n->pub_mu);
    pthread_mutex_lock(&n->mu);
    nts = n->nt;
    memcpy(ts, n->t, nts * sizeof(ts[0]));
    pthread_mutex_unlock(&n->mu);
    for (size_t i = 0; i < nts; i++) {
        struct target *t = ts[i];
        const char *body = t->kind == NOTIFY_WEBHOOK ? buf_str(&pretty) : buf_str(&line);
        cfdr_err e1;
        if (t->kind == NOTIFY_EMAIL) {
            buf_reset(&mail);
            rc = build_email(n, t->addr, id, wall, m->subject,
                             m->email_message ? m->email_message : m->message, &mail);
            if (rc) {
                rc = err_set(&e1, rc, "building the e-mail to %s", t->shown);
            }
            body = buf_str(&mail);
        }
        if (!rc)
            rc = spool_one(n, t, id, m->topic_arn, wall, body, &e1);
        if (rc && !first) {
            first = rc;
            first_err = e1;
        }
        rc = CFDR_OK;
    }
    pthread_mutex_unlock(&n->pub_mu);
    curl_multi_wakeup(n->multi);
    rc = first;
    if (rc) {
        if (err)
            *err = first_err;
        log_msg(n->o.log, CFDR_LOG_ERROR, "notify: %s", first_err.msg);
    } else if (nts) {
        log_msg(n->o.log, CFDR_LOG_DEBUG, "notify: spooled %s for %zu target(s)", id, nts);
    }
out:
    buf_free(&pretty);
    buf_free(&line);
    buf_free(&mail);
    return rc;
}

static size_t active_pending(const struct notify *n)
{
    size_t k = 0;
    for (size_t i = 0; i < n->nt; i++)
        if (n->t[i]->head && !n->t[i]->parked)
            k += n->t[i]->npending;
    return k;
}

cfdr_code notify_flush(struct notify *n, double timeout_s, cfdr_err *err)
{
    double deadline = clock_mono_s() + (timeout_s > 0 ? timeout_s : 0);
    size_t pending;
    char last[512];

    pthread_mutex_lock(&n->mu);
    while (active_pending(n) > 0) {
        double left = deadline - clock_mono_s();
        struct timespec ts;
        double until;
        if (left <= 0)
            break;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        until = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + (left < 0.2 ? left : 0.2);
        ts.tv_sec = (time_t)until;
        ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
        pthread_cond_timedwait(&n->changed, &n->mu, &ts);
    }
    pending = 0;
    for (size_t i = 0; i < n->nt; i++)
        pending += n->t[i]->npending;
    snprintf(last, sizeof(last), "%s", n->last_error);
    pthread_mutex_unlock(&n->mu);
    if (pending == 0)
        return CFDR_OK;
    return err_set(err, CFDR_E_NET,
                   "%zu notification(s) not delivered yet (last error: %s); they stay in %s and "
                   "are sent when cfdr runs again",
                   pending, last[0] ? last : "none yet", n->spool_dir);
}

void notify_stats(struct notify *n, struct notify_stats *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_lock(&n->mu);
    s->targets = n->nt;
    for (size_t i = 0; i < n->nt; i++) {
        s->pending += n->t[i]->npending;
        s->parked += n->t[i]->parked ? 1 : 0;
    }
    s->delivered = n->delivered;
    s->failed_attempts = n->failed;
    s->orphaned = n->orphaned;
    snprintf(s->last_error, sizeof(s->last_error), "%s", n->last_error);
    pthread_mutex_unlock(&n->mu);
}
