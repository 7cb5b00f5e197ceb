/* cmd_sign: `cfdr sign` — show every SigV4 stage for a request, to debug signature errors. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "aws/buf.h"
#include "aws/creds.h"
#include "cmd/commands.h"
#include "sigv4/sigv4.h"

#define SIGN_MAX_HEADERS 64
#define REDACTED_TOKEN "<session token redacted>"

static int valid_amz_date(const char *s)
{
    struct tm tm;
    static const char shape[] = "dddddddd"
                                "Tdddddd"
                                "Z";
    if (strlen(s) != 16)
        return 0;
    for (int i = 0; i < 16; i++) {
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return 0;
    }
    memset(&tm, 0, sizeof(tm));
    return strptime(s, "%Y%m%dT%H%M%SZ", &tm) != NULL && tm.tm_mon < 12 && tm.tm_mday >= 1 &&
           tm.tm_hour < 24 && tm.tm_min < 60 && tm.tm_sec < 61;
}

static cfdr_code read_file(const char *path, struct buf *out, cfdr_err *err)
{
    char chunk[65536];
    size_t n;
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(err, CFDR_E_IO, "--body-file: cannot open %s: %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_add(out, chunk, n) != CFDR_OK) {
            fclose(f);
            return err_set(err, CFDR_E_TOOBIG, "--body-file: %s is larger than %zu bytes", path,
                           out->max);
        }
    }
    if (ferror(f)) {
        fclose(f);
        return err_set(err, CFDR_E_IO, "--body-file: cannot read %s", path);
    }
    fclose(f);
    return CFDR_OK;
}

/* Replaces every occurrence of secret in b with REDACTED_TOKEN. */
static cfdr_code redact(struct buf *b, const char *secret, cfdr_err *err)
{
    struct buf tmp;
    const char *p, *hit;
    size_t slen;
    cfdr_code rc = CFDR_OK;

    if (!secret || !*secret)
        return CFDR_OK;
    slen = strlen(secret);
    buf_init(&tmp, b->max);
    for (p = buf_str(b); (hit = strstr(p, secret)) != NULL; p = hit + slen) {
        if ((rc = buf_add(&tmp, p, (size_t)(hit - p))) || (rc = buf_adds(&tmp, REDACTED_TOKEN)))
            goto out;
    }
    if ((rc = buf_adds(&tmp, p)))
        goto out;
    buf_reset(b);
    rc = buf_add(b, buf_str(&tmp), buf_len(&tmp));
out:
    buf_free(&tmp);
    if (rc)
        return err_set(err, rc, "out of memory formatting the signature");
    return CFDR_OK;
}

cfdr_code cmd_sign(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err)
{
    struct sigv4_header headers[SIGN_MAX_HEADERS + 1];
    char *hnames[SIGN_MAX_HEADERS + 1] = {0};
    size_t nh = 0;
    struct aws_credentials creds = {0};
    struct creds_options copts = {0};
    struct sigv4_result res;
    struct sigv4_config cfg;
    struct sigv4_request req;
    struct buf body, hostbuf;
    char *host = NULL, *port = NULL, *path = NULL, *query = NULL, *scheme = NULL;
    char amz_date[17];
    const char *method = cli_get(inv, "method") ? cli_get(inv, "method") : "GET";
    const char *service = cli_get(inv, "service"), *region = cli_get(inv, "region");
    const char *date = cli_get(inv, "date"), *url = inv->args[0];
    int have_host = 0;
    CURLU *u = NULL;
    CURLUcode uc;
    cfdr_code rc = CFDR_OK;

    sigv4_result_init(&res);
    buf_init(&body, BUF_MAX_LARGE);
    buf_init(&hostbuf, BUF_MAX_SMALL);

    if (!service || !*service || !region || !*region) {
        rc = err_set(err, CFDR_E_USAGE,
                     "cfdr sign needs --service (e.g. cloudfront) and --region (e.g. us-east-1)");
        goto out;
    }
    for (const char *m = method; *m; m++) {
        if (!isupper((unsigned char)*m)) {
            rc = err_set(err, CFDR_E_USAGE, "--method: '%s' is not an HTTP method (e.g. GET, POST)",
                         method);
            goto out;
        }
    }
    if (date && !valid_amz_date(date)) {
        rc = err_set(err, CFDR_E_USAGE, "--date: '%s' is not a UTC time YYYYMMDDTHHMMSSZ", date);
        goto out;
    }
    if (!date) {
        sigv4_format_amz_date((long long)time(NULL), amz_date);
        date = amz_date;
    }

    /* The URL is parsed by libcurl, keeping the path exactly as given (no dot removal): what is
     * signed must be what would be sent. */
    u = curl_url();
    if (!u) {
        rc = err_set(err, CFDR_E_NOMEM, "out of memory");
        goto out;
    }
    uc = curl_url_set(u, CURLUPART_URL, url, CURLU_PATH_AS_IS | CURLU_NON_SUPPORT_SCHEME);
    if (uc != CURLUE_OK || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        rc = err_set(err, CFDR_E_USAGE, "'%s' is not a URL (%s); expected e.g. https://host/path",
                     url, uc != CURLUE_OK ? curl_url_strerror(uc) : "no host");
        goto out;
    }
    curl_url_get(u, CURLUPART_PORT, &port, 0); /* absent unless given */
    if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
        rc = err_set(err, CFDR_E_USAGE, "'%s': cannot read the path", url);
        goto out;
    }
    curl_url_get(u, CURLUPART_QUERY, &query, 0); /* absent when none */

    for (size_t i = 0; i < cli_count(inv, "header"); i++) {
        const char *h = cli_get_nth(inv, "header", i);
        const char *colon = strchr(h, ':');
        if (!colon || colon == h) {
            rc = err_set(err, CFDR_E_USAGE, "--header: '%s' is not NAME:VALUE", h);
            goto out;
        }
        if (nh == SIGN_MAX_HEADERS) {
            rc = err_set(err, CFDR_E_USAGE, "--header: at most %d headers", SIGN_MAX_HEADERS);
            goto out;
        }
        hnames[nh] = strndup(h, (size_t)(colon - h));
        if (!hnames[nh]) {
            rc = err_set(err, CFDR_E_NOMEM, "out of memory");
            goto out;
        }
        if (strcasecmp(hnames[nh], "host") == 0)
            have_host = 1;
        headers[nh].name = hnames[nh];
        headers[nh].value = colon + 1;
        nh++;
    }
    if (!have_host) {
        if ((rc = buf_addf(&hostbuf, "%s%s%s", host, port ? ":" : "", port ? port : ""))) {
            rc = err_set(err, rc, "host name too long");
            goto out;
        }
        headers[nh].name = "Host";
        headers[nh].value = buf_str(&hostbuf);
        nh++;
    }
    if (cli_get(inv, "body-file") && (rc = read_file(cli_get(inv, "body-file"), &body, err)))
        goto out;

    copts.profile = app->g.profile;
    copts.log = &app->log;
    if ((rc = creds_resolve(&copts, &creds, err))) {
        err_wrap(err, "cfdr sign needs credentials");
        goto out;
    }

    memset(&cfg, 0, sizeof(cfg));
    cfg.region = region;
    cfg.service = service;
    cfg.amz_date = date;
    cfg.creds.access_key_id = creds.access_key_id;
    cfg.creds.secret_access_key = creds.secret_access_key;
    cfg.creds.session_token = creds.session_token;
    cfg.double_uri_encode = 1;
    cfg.normalize_uri_path = 1;
    cfg.sign_session_token = 1;
    memset(&req, 0, sizeof(req));
    req.method = method;
    req.path = path;
    req.query = query;
    req.headers = headers;
    req.nheaders = nh;
    req.body = buf_str(&body);
    req.body_len = buf_len(&body);
    if ((rc = sigv4_sign(&cfg, &req, &res, err)))
        goto out;
    if ((rc = redact(&res.canonical_request, creds.session_token, err)))
        goto out;

    if (app->g.json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "canonical_request",
                               json_object_new_string(buf_str(&res.canonical_request)));
        json_object_object_add(o, "string_to_sign",
                               json_object_new_string(buf_str(&res.string_to_sign)));
        json_object_object_add(o, "signed_headers",
                               json_object_new_string(buf_str(&res.signed_headers)));
        json_object_object_add(o, "signature", json_object_new_string(buf_str(&res.signature)));
        json_object_object_add(o, "authorization",
                               json_object_new_string(buf_str(&res.authorization)));
        json_object_object_add(o, "amz_date", json_object_new_string(date));
        json_object_object_add(o, "credential_source", json_object_new_string(creds.source));
        json_object_object_add(
            o, "session_token",
            json_object_new_boolean(creds.session_token && *creds.session_token));
        app_set_result(app, o);
    } else {
        fprintf(app->out, "Canonical request:\n%s\n\nString to sign:\n%s\n\n",
                buf_str(&res.canonical_request), buf_str(&res.string_to_sign));
        fprintf(app->out, "Authorization: %s\n", buf_str(&res.authorization));
        for (size_t i = 0; i < res.nadd_headers; i++) {
            const char *v = res.add_headers[i].value;
            if (creds.session_token && strcmp(v, creds.session_token) == 0)
                v = REDACTED_TOKEN;
            fprintf(app->out, "%s: %s\n", res.add_headers[i].name, v);
        }
        app_say(app, "signed with credentials from %s", creds.source);
    }
out:
    for (size_t i = 0; i < nh; i++)
        free(hnames[i]);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(u);
    creds_free(&creds);
    sigv4_result_free(&res);
    buf_free(&body);
    buf_free(&hostbuf);
    return rc;
}
