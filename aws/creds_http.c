/* creds_http: see creds_http.h. */
#include "aws/creds_http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#ifndef CFDR_VERSION
#define CFDR_VERSION "0"
#endif

void creds_http_answer_init(struct creds_http_answer *a)
{
    memset(a, 0, sizeof(*a));
    buf_init(&a->body, CREDS_HTTP_MAX_BODY);
}

void creds_http_answer_free(struct creds_http_answer *a)
{
    if (!a)
        return;
    if (a->body.p)
        explicit_bzero(a->body.p, a->body.cap);
    buf_free(&a->body);
}

struct sink {
    struct buf *body;
    int toobig;
    int nomem;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;
    cfdr_code rc = buf_add(s->body, data, n);
    if (rc == CFDR_E_TOOBIG) {
        s->toobig = 1;
        return 0;
    }
    if (rc) {
        s->nomem = 1;
        return 0;
    }
    return n;
}

cfdr_code creds_http_send(const char *method, const char *url, const struct creds_http_header *h,
                          size_t nh, long timeout_ms, struct creds_http_answer *a, cfdr_err *err)
{
    CURL *c = NULL;
    struct curl_slist *list = NULL, *tmp;
    struct sink s = {&a->body, 0, 0};
    struct buf line;
    CURLcode sc = CURLE_OK, cc;
    cfdr_code rc = CFDR_OK;
    int global = 0;

    a->status = 0;
    a->timed_out = 0;
    a->error[0] = '\0';
    buf_reset(&a->body);
    buf_init(&line, BUF_MAX_SMALL);
    if (strcmp(method, "GET") != 0 && strcmp(method, "PUT") != 0) {
        rc = err_set(err, CFDR_E_INTERNAL, "creds_http_send: method %s not supported", method);
        goto out;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rc = err_set(err, CFDR_E_INTERNAL, "libcurl could not be initialised");
        goto out;
    }
    global = 1;
    c = curl_easy_init();
    if (!c) {
        rc = err_set(err, CFDR_E_NOMEM, "libcurl could not create a handle");
        goto out;
    }
    for (size_t i = 0; i < nh && !rc; i++) {
        buf_reset(&line);
        if (strchr(h[i].value, '\r') || strchr(h[i].value, '\n')) {
            rc = err_set(err, CFDR_E_INTERNAL, "header %s has a line break", h[i].name);
            break;
        }
        rc = *h[i].value ? buf_addf(&line, "%s: %s", h[i].name, h[i].value)
                         : buf_addf(&line, "%s;", h[i].name);
        if (rc) {
            rc = err_set(err, rc, "building the request to %s", url);
            break;
        }
        tmp = curl_slist_append(list, buf_str(&line));
        if (!tmp) {
            rc = err_set(err, CFDR_E_NOMEM, "out of memory");
            break;
        }
        list = tmp;
    }
    if (!rc) {
        /* ours, plus "Name:" to remove headers libcurl would add on its own */
        const char *fixed[] = {"User-Agent: cfdr/" CFDR_VERSION, "Expect:", "Content-Type:"};
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) && !rc; i++) {
            tmp = curl_slist_append(list, fixed[i]);
            if (!tmp)
                rc = err_set(err, CFDR_E_NOMEM, "out of memory");
            else
                list = tmp;
        }
    }
    if (rc)
        goto out;

#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (sc == CURLE_OK)                                                                        \
            sc = curl_easy_setopt(c, opt, val);                                                    \
    } while (0)
    SETOPT(CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_NOPROXY, "*");
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    SETOPT(CURLOPT_TIMEOUT_MS, timeout_ms);
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CREDS_HTTP_MAX_BODY);
    SETOPT(CURLOPT_HTTPHEADER, list);
    SETOPT(CURLOPT_ERRORBUFFER, a->error);
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_WRITEDATA, &s);
    if (strcmp(method, "PUT") == 0) {
        SETOPT(CURLOPT_CUSTOMREQUEST, "PUT");
        SETOPT(CURLOPT_POSTFIELDS, "");
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    } else {
        SETOPT(CURLOPT_HTTPGET, 1L);
    }
#undef SETOPT
    if (sc != CURLE_OK) {
        rc = err_set(err, sc == CURLE_OUT_OF_MEMORY ? CFDR_E_NOMEM : CFDR_E_INTERNAL,
                     "libcurl refused an option for %s: %s", url, curl_easy_strerror(sc));
        goto out;
    }
    cc = curl_easy_perform(c);
    if (s.nomem) {
        rc = err_set(err, CFDR_E_NOMEM, "out of memory reading the answer from %s", url);
        goto out;
    }
    if (s.toobig || cc == CURLE_FILESIZE_EXCEEDED) {
        buf_reset(&a->body);
        rc = err_set(err, CFDR_E_TOOBIG, "the answer from %s is larger than %u bytes", url,
                     CREDS_HTTP_MAX_BODY);
        goto out;
    }
    if (cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL) {
        rc = err_set(err, CFDR_E_CONFIG, "cannot send to %s: %s", url,
                     a->error[0] ? a->error : curl_easy_strerror(cc));
        goto out;
    }
    if (cc != CURLE_OK) {
        if (!a->error[0])
            snprintf(a->error, sizeof(a->error), "%s", curl_easy_strerror(cc));
        a->timed_out = cc == CURLE_OPERATION_TIMEDOUT;
        buf_reset(&a->body);
        rc = err_set(err, CFDR_E_NET, "no answer from %s: %s", url, a->error);
        goto out;
    }
    if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status) != CURLE_OK || a->status < 100) {
        a->status = 0;
        snprintf(a->error, sizeof(a->error), "no HTTP status line");
        rc = err_set(err, CFDR_E_NET, "no HTTP answer from %s", url);
        goto out;
    }
out:
    if (c)
        curl_easy_cleanup(c);
    curl_slist_free_all(list);
    buf_free(&line);
    if (global)
        curl_global_cleanup();
    return rc;
}
