/*
 * creds_http: one plain HTTP exchange with a credential endpoint that is not an AWS API (the
 * container credentials endpoint, the EC2 instance metadata service). No SigV4, no retries
 * (the callers retry as botocore does for each endpoint), no redirects, no proxy (a proxy
 * must never see a metadata token or the credentials), http and https only, one short time
 * limit for the whole exchange.
 *
 * The answer's body holds secrets: creds_http_answer_free wipes it. Nothing here logs bodies.
 *
 * Ownership: struct creds_http_answer is the caller's; creds_http_answer_init before the call,
 * creds_http_answer_free after (accepts an initialised answer). Each call takes and gives back
 * its own libcurl global reference (curl_global_init / curl_global_cleanup are counted), as
 * transport.h asks of every libcurl user.
 */
#ifndef CFDR_CREDS_HTTP_H
#define CFDR_CREDS_HTTP_H

#include <stddef.h>

#include "aws/buf.h"
#include "aws/err.h"

/* Largest answer body accepted from a credential endpoint. */
#define CREDS_HTTP_MAX_BODY BUF_MAX_SMALL

struct creds_http_header {
    const char *name;
    const char *value;
};

struct creds_http_answer {
    long status;     /* HTTP status; 0 when no answer came */
    struct buf body; /* bounded by CREDS_HTTP_MAX_BODY */
    int timed_out;   /* no answer within the time limit */
    char error[256]; /* why no answer came (libcurl's words) */
};

void creds_http_answer_init(struct creds_http_answer *a);
void creds_http_answer_free(struct creds_http_answer *a);

/* Sends `method` (GET or PUT, no body) to url with the extra headers and waits at most
 * timeout_ms for the whole answer. Returns CFDR_OK when an HTTP answer arrived, whatever its
 * status; CFDR_E_NET when none did (a->error and a->timed_out say why); CFDR_E_TOOBIG when the
 * body exceeds CREDS_HTTP_MAX_BODY; CFDR_E_CONFIG for a URL libcurl refuses; CFDR_E_NOMEM /
 * CFDR_E_INTERNAL for local failures. err names the URL (which never carries a secret). */
cfdr_code creds_http_send(const char *method, const char *url, const struct creds_http_header *h,
                          size_t nh, long timeout_ms, struct creds_http_answer *a, cfdr_err *err);

#endif
