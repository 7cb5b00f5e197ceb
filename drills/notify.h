/*
 * notify: local-mode alarm notifications, delivered the way Amazon SNS delivers them.
 *
 * What it owns: a set of targets (subscriptions) — HTTP(S) webhooks, e-mail addresses reached
 * through one SMTP(S) server, and JSON-lines files — a spool directory, and a delivery thread.
 *
 *   - Webhooks get what SNS POSTs to an HTTP/S subscription: Content-Type: text/plain;
 *     charset=UTF-8, x-amz-sns-message-type: Notification, x-amz-sns-message-id,
 *     x-amz-sns-topic-arn, x-amz-sns-subscription-arn, and the notification JSON as body
 *     (Type, MessageId, TopicArn, Subject, Message, Timestamp, SignatureVersion, Signature,
 *     SigningCertURL, UnsubscribeURL, laid out as SNS lays it out). Nothing signs local
 *     notifications: Signature, SigningCertURL and UnsubscribeURL are empty strings, so a
 *     receiver that verifies SNS signatures rejects them rather than trusting a fake, and one
 *     that does not sees plainly that nothing was signed. Any 2xx answer is a delivery.
 *   - E-mail goes out over SMTP or SMTPS with libcurl (MAIL FROM, one RCPT TO per address, an
 *     RFC 5322 message with Date, From, To, Subject, Message-ID, MIME-Version and a UTF-8
 *     text/plain body; quoted-printable when a line would exceed SMTP's 998 characters). The
 *     body is the message's e-mail variant (CloudWatch's e-mail text) when given, else the
 *     message, plus a footer saying where it came from.
 *   - A JSON-lines file gets the notification JSON on one line per notification, appended and
 *     fsync'ed (a failed write is cut back, so a retry never leaves half a line).
 *
 * Nothing is lost: notify_publish() writes every notification to the spool directory first,
 * one file per notification per target (written atomically; names sort in publication order),
 * and the file is removed only after its target accepted it. Delivery is in order per target:
 * a target retries its oldest pending notification, with exponential backoff (backoff_initial_s
 * doubling up to backoff_max_s), before it sends the next; other targets are not held up.
 * A target that keeps failing for retry_window_s is parked: its notifications stay in the
 * spool, the error is logged, and delivery resumes on the next notify_publish() to it or the
 * next notify_resume() (the next start). Stopping cfdr with pending notifications therefore
 * loses nothing: notify_resume() on the next start queues what the spool holds for the
 * configured targets (files of targets no longer configured are counted, logged and left).
 * Delivery is at least once, as with SNS: a crash between a target accepting a notification
 * and the removal of its spool file sends it again on the next start.
 *
 * Several cfdr processes may share one spool: a spool file is locked (flock) while it is being
 * delivered, and one removed by another process counts as delivered.
 *
 * Delivery runs on the notifier's own thread (libcurl multi interface), so publishing never
 * waits for a slow or dead receiver; notify_flush() waits for pending deliveries, bounded.
 *
 * Secrets: webhook URLs may carry tokens and SMTP URLs credentials, so logs and error messages
 * show only scheme://host[:port] of a URL; the spool files hold target ids (a hash), never a
 * URL.
 *
 * Ownership: notify_new() copies the options' strings; the logger and callback are borrowed
 * and must outlive the notifier. notify_free() (NULL accepted) stops the thread; pending
 * notifications stay in the spool. The logger and the `delivered` callback are called from the
 * delivery thread too. libcurl's global state is paired like aws/transport's
 * (curl_global_init in notify_new, curl_global_cleanup in notify_free).
 */
#ifndef CFDR_DRILL_NOTIFY_H
#define CFDR_DRILL_NOTIFY_H

#include <stddef.h>

#include "aws/err.h"
#include "aws/log.h"

enum notify_kind { NOTIFY_WEBHOOK = 0, NOTIFY_EMAIL, NOTIFY_FILE };

/* SNS's limits on what a publisher sends. */
#define NOTIFY_SUBJECT_MAX 99           /* "less than 100 characters" */
#define NOTIFY_MESSAGE_MAX (256 * 1024) /* 256 KiB */
#define NOTIFY_TARGETS_MAX 256

/* One completed delivery, as reported to the `delivered` callback. */
struct notify_delivery {
    enum notify_kind kind;
    const char *target;     /* as shown in logs: scheme://host[:port], the address, the path */
    const char *target_id;  /* the target's id (notify_target_id): tells apart two webhooks
                             * that show the same scheme://host[:port] */
    const char *message_id; /* the SNS MessageId */
    double published_at;    /* wall-clock seconds */
    double delivered_at;    /* wall-clock seconds */
    int attempts;           /* attempts it took, this run */
};

struct notify_options {
    const char *spool_dir;    /* required; created (0700) when missing, e.g. <state>/notify-spool */
    const char *smtp_url;     /* smtp://host[:port] or smtps://; required for e-mail targets */
    const char *mail_from;    /* envelope sender and From:; NULL = "cfdr@localhost" */
    const char *ca_file;      /* CA bundle for https and smtps; NULL = the system's */
    double connect_timeout_s; /* per attempt; 0 = 5 */
    double attempt_timeout_s; /* a whole attempt; 0 = 15 */
    double backoff_initial_s; /* delay after the first failure; 0 = 0.5 */
    double backoff_max_s;     /* the delay doubles up to this; 0 = 5 */
    double retry_window_s;    /* a target failing this long is parked; 0 = 300 */
    const struct cfdr_log *log;
    void (*delivered)(void *ud, const struct notify_delivery *d);
    void *ud;
};

/* What to publish; the strings are borrowed for the call. */
struct notify_message {
    const char *topic_arn;     /* required, "arn:..." */
    const char *subject;       /* NULL for none; else 1-99 printable ASCII characters */
    const char *message;       /* required: the default message, UTF-8, at most 256 KiB */
    const char *email_message; /* the e-mail variant; NULL = message */
};

struct notify_stats {
    size_t targets;
    size_t pending;         /* notifications waiting for configured targets */
    size_t delivered;       /* since notify_new */
    size_t failed_attempts; /* since notify_new */
    size_t parked;          /* targets that stopped retrying for now */
    size_t orphaned;        /* spool files of targets not configured (left in place) */
    char last_error[512];   /* the latest failure, redacted; "" when none */
};

struct notify;

/* Creates the notifier, its spool directory and its delivery thread. CFDR_E_CONFIG for a bad
 * SMTP URL or sender, CFDR_E_IO when the spool directory cannot be made. */
cfdr_code notify_new(const struct notify_options *o, struct notify **out, cfdr_err *err);
/* Stops the thread (an attempt in flight is abandoned; its notification stays spooled). */
void notify_free(struct notify *n);

/* Targets. Rejected up front, with CFDR_E_CONFIG and a message saying what is expected: a URL
 * that is not http(s)://host[:port][/path], an address that is not local@domain.tld, an
 * e-mail target without an SMTP URL, an empty path, a target added twice. Adding a target
 * queues what the spool still holds for it from earlier runs, ahead of anything published
 * from now on (so the backlog goes out first, in order). */
cfdr_code notify_add_webhook(struct notify *n, const char *url, cfdr_err *err);
cfdr_code notify_add_email(struct notify *n, const char *address, cfdr_err *err);
cfdr_code notify_add_file(struct notify *n, const char *path, cfdr_err *err);

/* Call once the targets are added (the next start after a stop): looks at the spool again,
 * queues anything new for the configured targets, un-parks every target (a fresh round of
 * retries), and counts and logs the files of targets no longer configured (left in place).
 * *resumed (may be NULL) receives how many notifications from earlier runs were queued since
 * the last call, including those queued when their target was added. */
cfdr_code notify_resume(struct notify *n, size_t *resumed, cfdr_err *err);

/* Spools the notification for every target and wakes the delivery thread; returns once it is
 * spooled. message_id (may be NULL; 37 bytes) receives the SNS MessageId. CFDR_E_USAGE for a
 * message SNS would refuse; CFDR_E_IO when the spool cannot be written for a target (the
 * first such error is returned; every target that could be spooled still gets it). With no
 * targets it does nothing. */
cfdr_code notify_publish(struct notify *n, const struct notify_message *m, char message_id[37],
                         cfdr_err *err);

/* Waits up to timeout_s for every pending notification to be delivered. CFDR_OK when none is
 * pending; otherwise CFDR_E_NET, saying how many are pending, the last error, and that they
 * stay in the spool. Parked targets do not make it wait. */
cfdr_code notify_flush(struct notify *n, double timeout_s, cfdr_err *err);

void notify_stats(struct notify *n, struct notify_stats *out);

/* A target's id: 32 hex characters, a SHA-256 prefix of the kind and the address exactly as
 * given to notify_add_*; it names the target's spool files and is no secret (a hash, not the
 * URL). */
void notify_target_id(enum notify_kind kind, const char *addr, char out[33]);

/* "webhook", "email", "file". */
const char *notify_kind_name(enum notify_kind k);

#endif
