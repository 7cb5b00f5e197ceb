/* endpoint: see endpoint.h. Overrides follow botocore's ConfiguredEndpointProvider (the
 * environment part of it) and its is_valid_endpoint_url() host rules. */
#include "endpoint.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct svc_info {
    const char *name;    /* service id, for messages */
    const char *env;     /* AWS_ENDPOINT_URL_<env> */
    const char *prefix;  /* host name before .<region>.amazonaws.com */
    const char *signing; /* SigV4 service name */
    int global;          /* one endpoint, signed for us-east-1 */
};

static const struct svc_info services[AWS_SVC_COUNT] = {
    [AWS_SVC_CLOUDFRONT] = {"CloudFront", "CLOUDFRONT", "cloudfront", "cloudfront", 1},
    [AWS_SVC_APPRUNNER] = {"App Runner", "APPRUNNER", "apprunner", "apprunner", 0},
    [AWS_SVC_CLOUDWATCH] = {"CloudWatch", "CLOUDWATCH", "monitoring", "monitoring", 0},
    [AWS_SVC_SNS] = {"SNS", "SNS", "sns", "sns", 0},
    [AWS_SVC_STS] = {"STS", "STS", "sts", "sts", 0},
    [AWS_SVC_SSO] = {"SSO", "SSO", "portal.sso", "awsssoportal", 0},
};

/* The aws partition's regionRegex from botocore/data/endpoints.json, in POSIX ERE. */
#define AWS_REGION_ERE "^(us|eu|ap|sa|ca|me|af|il|mx)-[[:alnum:]_]+-[0-9]+$"

const char *endpoint_service_name(enum aws_service_id svc)
{
    return (unsigned)svc < AWS_SVC_COUNT ? services[svc].name : "unknown service";
}

const char *endpoint_service_env_suffix(enum aws_service_id svc)
{
    return (unsigned)svc < AWS_SVC_COUNT ? services[svc].env : "UNKNOWN";
}

int endpoint_region_valid(const char *region)
{
    regex_t re;
    int ok;

    if (!region || !*region)
        return 0;
    /* Compiled per call: no global state, and it is cheap next to a request. */
    if (regcomp(&re, AWS_REGION_ERE, REG_EXTENDED | REG_NOSUB) != 0)
        return 0;
    ok = regexec(&re, region, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* botocore's host rule: dot-separated labels of 1-63 letters, digits and '-', not starting or
 * ending with '-', an optional final dot; at most 255 characters. */
static int host_name_valid(const char *h, size_t n)
{
    size_t label = 0;
    if (n == 0 || n > 255)
        return 0;
    if (h[n - 1] == '.')
        n--;
    if (n == 0)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || h[i] == '.') {
            if (label == 0 || label > 63 || h[i - 1] == '-' || h[i - label] == '-')
                return 0;
            label = 0;
        } else if (is_alnum((unsigned char)h[i]) || h[i] == '-') {
            label++;
        } else {
            return 0;
        }
    }
    return 1;
}

static int ipv6_valid(const char *h, size_t n)
{
    size_t colons = 0;
    if (n < 2)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (c == ':')
            colons++;
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                   c == '.'))
            return 0;
    }
    return colons >= 2;
}

/* Fills out->url and out->host from an endpoint URL taken from variable var. */
static cfdr_code parse_url(const char *v, const char *var, struct aws_endpoint *out, cfdr_err *err)
{
    const char *scheme, *auth, *auth_end, *host, *host_end, *port = NULL, *path, *path_end;
    size_t slen;
    long portnum = 0;
    int https;
    /* The value is quoted in messages unless it might carry a password. */
    const char *shown = strchr(v, '@') ? "(value not shown)" : v;

    for (const char *q = v; *q; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f)
            return err_set(err, CFDR_E_CONFIG,
                           "%s='%s' contains a space or control character; give a URL such as "
                           "http://127.0.0.1:4566",
                           var, shown);
    if (strncasecmp(v, "https://", 8) == 0) {
        https = 1;
        slen = 8;
    } else if (strncasecmp(v, "http://", 7) == 0) {
        https = 0;
        slen = 7;
    } else {
        return err_set(err, CFDR_E_CONFIG,
                       "%s='%s' is not an http:// or https:// URL; give one such as "
                       "http://127.0.0.1:4566",
                       var, shown);
    }
    scheme = https ? "https" : "http";
    auth = v + slen;
    auth_end = auth + strcspn(auth, "/?#");
    if (strpbrk(v, "?#"))
        return err_set(err, CFDR_E_CONFIG,
                       "%s='%s' has a query or fragment; give only "
                       "scheme://host[:port][/path]",
                       var, shown);
    if (memchr(auth, '@', (size_t)(auth_end - auth)))
        return err_set(err, CFDR_E_CONFIG,
                       "%s has user information before the host; give only "
                       "scheme://host[:port][/path]",
                       var);
    host = auth;
    if (*host == '[') {
        host_end = memchr(host, ']', (size_t)(auth_end - host));
        if (!host_end || !ipv6_valid(host + 1, (size_t)(host_end - host - 1)))
            return err_set(err, CFDR_E_CONFIG, "%s='%s' has an invalid IPv6 address", var, shown);
        host_end++;
        if (host_end < auth_end && *host_end != ':')
            return err_set(err, CFDR_E_CONFIG, "%s='%s' has text after the IPv6 address", var,
                           shown);
    } else {
        host_end = memchr(host, ':', (size_t)(auth_end - host));
        if (!host_end)
            host_end = auth_end;
        if (host_end == host)
            return err_set(err, CFDR_E_CONFIG,
                           "%s='%s' has no host; give a URL such as http://127.0.0.1:4566", var,
                           shown);
        if (!host_name_valid(host, (size_t)(host_end - host)))
            return err_set(err, CFDR_E_CONFIG, "%s='%s' has an invalid host name", var, shown);
    }
    if (host_end < auth_end) { /* ":port" */
        port = host_end + 1;
        if (port == auth_end || auth_end - port > 5)
            return err_set(err, CFDR_E_CONFIG, "%s='%s' has an invalid port", var, shown);
        for (const char *q = port; q < auth_end; q++) {
            if (*q < '0' || *q > '9')
                return err_set(err, CFDR_E_CONFIG, "%s='%s' has an invalid port", var, shown);
            portnum = portnum * 10 + (*q - '0');
        }
        if (portnum < 1 || portnum > 65535)
            return err_set(err, CFDR_E_CONFIG, "%s='%s' has port %ld, outside 1-65535", var, shown,
                           portnum);
    }
    path = auth_end;
    path_end = path + strlen(path);
    while (path_end > path && path_end[-1] == '/')
        path_end--;

    int n = snprintf(out->url, sizeof(out->url), "%s://%.*s%.*s", scheme, (int)(auth_end - auth),
                     auth, (int)(path_end - path), path);
    if (n < 0 || (size_t)n >= sizeof(out->url))
        return err_set(err, CFDR_E_CONFIG, "%s is longer than %zu characters", var,
                       sizeof(out->url) - 1);
    /* The Host header omits the scheme's default port, as botocore and curl do. */
    if (port && portnum == (https ? 443 : 80))
        port = NULL;
    n = snprintf(out->host, sizeof(out->host), "%.*s%s%.*s", (int)(host_end - host), host,
                 port ? ":" : "", port ? (int)(auth_end - port) : 0, port ? port : "");
    if (n < 0 || (size_t)n >= sizeof(out->host))
        return err_set(err, CFDR_E_CONFIG, "%s has a host longer than %zu characters", var,
                       sizeof(out->host) - 1);
    return CFDR_OK;
}

cfdr_code endpoint_resolve(enum aws_service_id svc, const char *region, struct aws_endpoint *out,
                           cfdr_err *err)
{
    const struct svc_info *si;
    const char *ignore, *v, *var;
    char svc_var[64];

    memset(out, 0, sizeof(*out));
    if ((unsigned)svc >= AWS_SVC_COUNT)
        return err_set(err, CFDR_E_INTERNAL, "unknown AWS service id %d", (int)svc);
    si = &services[svc];
    snprintf(out->signing_name, sizeof(out->signing_name), "%s", si->signing);
    if (si->global) {
        /* Global: the region asked for does not matter. */
        snprintf(out->signing_region, sizeof(out->signing_region), "us-east-1");
        snprintf(out->url, sizeof(out->url), "https://%s.amazonaws.com", si->prefix);
        snprintf(out->host, sizeof(out->host), "%s.amazonaws.com", si->prefix);
    } else {
        if (!region || !*region)
            return err_set(err, CFDR_E_CONFIG,
                           "no region given for %s; set one such as us-east-1 (--region or "
                           "AWS_REGION)",
                           si->name);
        if (strlen(region) >= sizeof(out->signing_region) || !endpoint_region_valid(region))
            return err_set(err, CFDR_E_CONFIG,
                           "'%.64s' is not a region of the aws partition (such as us-east-1 or "
                           "eu-west-1); check the region given for %s",
                           region, si->name);
        snprintf(out->signing_region, sizeof(out->signing_region), "%s", region);
        snprintf(out->url, sizeof(out->url), "https://%s.%s.amazonaws.com", si->prefix, region);
        snprintf(out->host, sizeof(out->host), "%s.%s.amazonaws.com", si->prefix, region);
    }

    ignore = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    if (ignore && strcasecmp(ignore, "true") == 0)
        return CFDR_OK;
    snprintf(svc_var, sizeof(svc_var), "AWS_ENDPOINT_URL_%s", si->env);
    var = svc_var;
    v = getenv(var);
    if (!v || !*v) {
        var = "AWS_ENDPOINT_URL";
        v = getenv(var);
    }
    if (!v || !*v)
        return CFDR_OK;
    cfdr_code rc = parse_url(v, var, out, err);
    if (rc) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    out->overridden = 1;
    return CFDR_OK;
}
