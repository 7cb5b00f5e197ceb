#!/usr/bin/python3
"""Random SigV4 requests signed by botocore, for tests/unit/test_sigv4_botocore.c.

Prints one JSON object per line. Every request is generated from a fixed seed, so the output is
the same on every run. Each line carries the request exactly as sigv4_sign receives it (method,
path and query as sent on the wire, the header list in order, the body as base64, credentials,
region, service, signing time) and what botocore's SigV4Auth made of it (canonical request,
string to sign, Authorization, and the final header list it would send).

How the requests are built, and why this is fair to botocore:

* botocore's real clients never hand SigV4Auth raw strings. Their serializers percent-encode URI
  labels with botocore.utils.percent_encode and query strings with percent_encode_sequence, and
  prepare_request_dict puts both into the URL; SigV4Auth then splits the URL again. Its
  canonical query (_canonical_query_string_url) only splits the query on '&' and '=' and sorts
  the raw pieces: it relies on the serializer having encoded them canonically. So the "match"
  requests are built the same way: paths are percent_encode()d per segment (or, like the AWS
  suite's get-space and get-utf8 cases, left raw when they hold no '%', '?' or '#'), queries come
  from percent_encode_sequence (plus bare keys without '='), and the JSON carries exactly the
  path and query of the URL botocore signed.
* Headers are added through botocore's HTTPHeaders, so repeated names stay repeated. Values are
  printable ASCII with extra spaces and tabs, now and then a folded line (obs-fold); botocore
  collapses whitespace with str.split().
* botocore reads the clock with datetime.datetime.utcnow() inside SigV4Auth.add_auth; the
  helper replaces botocore.auth.datetime with a stand-in whose utcnow() returns the request's
  fixed time. The time varies per request (from the seed) so that the date-keyed HMAC chain is
  exercised too.

The "differ" and "rejects" lines are probes of inputs where cfdr's signer and botocore do not
agree. They document real divergences, and the C test asserts that each one still exists in
exactly the canonical-request parts listed, so a change on either side is noticed:

* query-raw-subdelims, query-lowercase-hex, query-raw-plus, query-raw-equals-in-value: botocore
  signs a URL's query pieces as they are; sigv4 decodes each name and value and re-encodes it
  (what aws-c-auth does, and the only reading under which a server and a client agree on a
  query they did not encode themselves).
* query-params-space: with AWSRequest(params=...), botocore signs the value "a b" as a%20b but
  puts a+b on the wire (urllib's urlencode). sigv4 reads '+' as a literal plus (RFC 3986), as
  aws-c-common does, so the wire query signs as a%2Bb. A botocore inconsistency; its real
  clients never use params for query strings.
* query-empty-piece: for "a=1&&b=2" botocore signs an extra empty pair ("=&a=1&b=2"); sigv4
  skips empty pieces.
* header-nbsp: Python's str.split() treats U+00A0 (and other Unicode spaces) as whitespace, so
  botocore collapses them; sigv4 collapses only SP, HTAB and folded line breaks, the HTTP
  whitespace.
* date-header: with a Date header botocore signs Date (rewritten) and sends no X-Amz-Date;
  sigv4 always signs X-Amz-Date, as aws-c-auth does.
* lowercase-method: botocore upper-cases the method in the canonical request; sigv4 signs the
  method as sent (HTTP methods are case-sensitive).
The "rejects" probes are inputs botocore silently rewrites and sigv4 refuses with an error: an
X-Amz-Date or X-Amz-Security-Token header that differs from the signing date or session token
(botocore replaces them), X-Amz-Content-SHA256 not matching the body (botocore signs the header
instead of the body), no Host header (botocore derives it from the URL), control characters in a
header value (botocore treats some as whitespace).

Usage: botocore_sign.py [--seed N] [--count N]
"""
import argparse
import base64
import datetime
import hashlib
import json
import random
import sys
import types
from unittest import mock

import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import urlsplit
from botocore.credentials import Credentials
from botocore.utils import percent_encode, percent_encode_sequence

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
HOSTS = [
    "cloudfront.amazonaws.com",
    "apprunner.us-east-1.amazonaws.com",
    "monitoring.eu-west-3.amazonaws.com",
    "sts.amazonaws.com",
    "127.0.0.1:4566",
    "localhost:8080",
    "[::1]:9000",
]
REGIONS = ["us-east-1", "us-west-2", "eu-west-3", "ap-southeast-2", "sa-east-1", "cn-north-1"]
SERVICES = ["cloudfront", "apprunner", "monitoring", "sts", "execute-api", "service"]
UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
SUBDELIMS = "!$&'()*+,;=:@"
UNICODE = ["é", "ß", "ሴ", "日本", "😀", "Ω", "ñ", "€"]
TCHARS = UNRESERVED + "!#$%&'*+^`|"
HEADER_NAMES = [
    "X-Custom",
    "x-amz-meta-Foo",
    "Content-Type",
    "Accept",
    "X-Amz-Target",
    "My-Header1",
    "If-Match",
    "Cache-Control",
]
UNSIGNED_NAMES = ["User-Agent", "Expect", "X-Amzn-Trace-Id", "Authorization", "user-agent"]
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
VCHAR = "".join(chr(c) for c in range(0x21, 0x7F))
# obs-fold: a line break followed by a space or tab continues a header value (the suite's
# get-header-value-multiline); http.client accepts it, and both signers see whitespace.
FOLDS = ["\r\n ", "\r\n\t", "\n  ", "\n\t "]


def rand_text(rng, pool_parts, lo, hi):
    """A string of lo..hi pieces drawn from the given pools."""
    return "".join(rng.choice(rng.choice(pool_parts)) for _ in range(rng.randint(lo, hi)))


def rand_segment(rng, raw):
    r = rng.random()
    if r < 0.07:
        return "."
    if r < 0.14:
        return ".."
    if r < 0.20:
        return ""  # makes "//"
    if not raw and r < 0.24:
        return rng.choice(["%2E%2E", "a%2Fb", "%"])  # literal text, percent_encode()d below
    pools = [UNRESERVED, UNRESERVED, SUBDELIMS, " ", UNICODE]
    if not raw:
        pools += ["/?#%", "\"<>[]{}|\\^`"]
    return rand_text(rng, pools, 1, 8)


def rand_path(rng):
    """Returns the path as sent on the wire."""
    if rng.random() < 0.03:
        return ""
    raw = rng.random() < 0.25
    segs = [rand_segment(rng, raw) for _ in range(rng.randint(0, 5))]
    if raw:
        path = "/" + "/".join(segs)
    else:
        path = "/" + "/".join(percent_encode(s) for s in segs)
    if rng.random() < 0.2:
        path += "/"
    return path


def rand_query_value(rng):
    if rng.random() < 0.2:
        return ""
    return rand_text(rng, [UNRESERVED, SUBDELIMS, " ", "/?#%+", UNICODE, "\"<>[]{}"], 1, 10)


def rand_query(rng):
    """Returns the query as percent_encode_sequence writes it, or "" for none."""
    if rng.random() < 0.2:
        return ""
    pairs, keys = [], []
    for _ in range(rng.randint(1, 6)):
        if keys and rng.random() < 0.3:
            key = rng.choice(keys)  # repeated key
        elif rng.random() < 0.03:
            key = ""
        else:
            key = rand_text(rng, [UNRESERVED, UNRESERVED, SUBDELIMS, " ", UNICODE], 1, 8)
        keys.append(key)
        pairs.append((key, rand_query_value(rng)))
    query = percent_encode_sequence(pairs)
    if rng.random() < 0.15:
        # a bare key with no '=', as in "?uploads" or "?tagging"
        bare = rand_text(rng, [UNRESERVED], 1, 6)
        pieces = query.split("&")
        pieces.insert(rng.randint(0, len(pieces)), bare)
        query = "&".join(pieces)
    return query


def rand_ws(rng):
    return rand_text(rng, [" ", " ", "\t"], 0, 4)


def rand_header_value(rng):
    r = rng.random()
    if r < 0.08:
        return ""
    if r < 0.14:
        return rand_ws(rng) + " "
    words = [rand_text(rng, [VCHAR], 1, 12) for _ in range(rng.randint(1, 4))]
    out = rand_ws(rng)
    for i, w in enumerate(words):
        if i:
            if rng.random() < 0.05:
                out += rng.choice(FOLDS)
            else:
                out += rng.choice([" ", "  ", "\t", " \t ", "   "])
        out += w
    return out + rand_ws(rng)


def rand_header_name(rng):
    if rng.random() < 0.6:
        name = rng.choice(HEADER_NAMES)
    else:
        name = rand_text(rng, [TCHARS], 1, 12)
    return "".join(c.upper() if rng.random() < 0.3 else c for c in name)


def rand_body(rng):
    r = rng.random()
    if r < 0.35:
        return b""
    if r < 0.55:
        return rand_text(rng, [UNRESERVED, " {}:,\"\n"], 1, 300).encode()
    if r < 0.75:
        return rand_text(rng, [UNRESERVED, UNICODE, " \n"], 1, 300).encode("utf-8")
    if r < 0.97:
        # binary-ish: UTF-8 text with raw bytes mixed in, not valid UTF-8 as a whole
        text = rand_text(rng, [UNRESERVED, UNICODE], 1, 100).encode("utf-8")
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))
        return text + junk
    return bytes(rng.randrange(256) for _ in range(rng.randint(50000, 150000)))


def rand_time(rng):
    unix = rng.randrange(946684800, 4102444800)  # 2000-01-01 .. 2100-01-01
    return unix, datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=unix)


def rand_creds(rng):
    akid = "AKIA" + rand_text(rng, ["ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"], 16, 16)
    secret = rand_text(rng, [B64], 40, 40)
    token = rand_text(rng, [B64], 100, 400) + "==" if rng.random() < 0.5 else ""
    return akid, secret, token


class RecordingSigV4Auth(SigV4Auth):
    """SigV4Auth that keeps the canonical request and string to sign it computed."""

    def canonical_request(self, request):
        self.recorded_creq = super().canonical_request(request)
        return self.recorded_creq

    def string_to_sign(self, request, canonical_request):
        self.recorded_sts = super().string_to_sign(request, canonical_request)
        return self.recorded_sts


def botocore_sign(case, params=None):
    """Signs case with botocore at case's fixed time; adds botocore's results to case."""
    url = "https://" + case["host_for_url"] + case["path"]
    if case["query"]:
        url += "?" + case["query"]
    req = AWSRequest(method=case["method"], url=url, data=case["body"], params=params)
    for name, value in case["headers"]:
        req.headers[name] = value  # HTTPHeaders appends, so repeated names stay repeated
    creds = Credentials(case["access_key"], case["secret_key"], case["token"] or None)
    auth = RecordingSigV4Auth(creds, case["service"], case["region"])
    fixed = case["when"]
    clock = types.SimpleNamespace(
        datetime=types.SimpleNamespace(
            utcnow=lambda: fixed, strptime=datetime.datetime.strptime
        )
    )
    with mock.patch.object(botocore.auth, "datetime", clock):
        auth.add_auth(req)
    assert req.context["timestamp"] == case["amz_date"], "clock stand-in not used"
    # What the signer was handed, as it will go on the wire.
    if params is not None:
        parts = urlsplit(req.prepare().url)
        case["query"] = parts.query
    else:
        parts = urlsplit(req.url)
        assert parts.path == case["path"] and parts.query == case["query"]
    case["canonical_request"] = auth.recorded_creq
    case["string_to_sign"] = auth.recorded_sts
    case["authorization"] = req.headers["Authorization"]
    case["final_headers"] = [[n, v] for n, v in req.headers.items()]
    return case


def new_case(rng, ident, kind):
    unix, when = rand_time(rng)
    akid, secret, token = rand_creds(rng)
    host = rng.choice(HOSTS)
    return {
        "id": ident,
        "kind": kind,
        "method": rng.choice(METHODS),
        "host_for_url": host,
        "path": rand_path(rng),
        "query": rand_query(rng),
        "headers": [],
        "body": b"",
        "access_key": akid,
        "secret_key": secret,
        "token": token,
        "unix_time": unix,
        "when": when,
        "amz_date": when.strftime("%Y%m%dT%H%M%SZ"),
        "region": rng.choice(REGIONS),
        "service": rng.choice(SERVICES),
    }


def random_match_case(rng, ident):
    case = new_case(rng, ident, "match")
    body = rand_body(rng)
    headers = []
    for _ in range(rng.randint(0, 6)):
        name = rand_header_name(rng)
        headers.append((name, rand_header_value(rng)))
        if rng.random() < 0.15:  # the same header again, maybe in another case
            headers.append((rng.choice([name, name.lower(), name.upper()]), rand_header_value(rng)))
    if rng.random() < 0.3:
        headers.append((rng.choice(UNSIGNED_NAMES), rand_header_value(rng) or "x"))
    if rng.random() < 0.2:
        headers.append(("X-Amz-Date", case["amz_date"]))
    if case["token"] and rng.random() < 0.3:
        headers.append(("X-Amz-Security-Token", case["token"]))
    if rng.random() < 0.2:
        headers.append(("Content-Length", str(len(body))))
    if rng.random() < 0.1:
        headers.append(("X-Amz-Content-SHA256", hashlib.sha256(body).hexdigest()))
    rng.shuffle(headers)
    headers.insert(rng.randint(0, len(headers)), (rng.choice(["Host", "host", "HOST"]), case["host_for_url"]))
    case["headers"] = headers
    case["body"] = body
    return botocore_sign(case)


def probe(rng, ident, kind, name, why, differs=None, code=None, **changes):
    """A probe: a plain request with the given fields changed."""
    case = new_case(rng, ident, kind)
    case["path"] = "/probe"
    case["query"] = ""
    case["headers"] = [("Host", case["host_for_url"])]
    params = changes.pop("params", None)
    case.update(changes)
    case["probe"] = name
    case["why"] = why
    if differs is not None:
        case["differs"] = differs
    if code is not None:
        case["code"] = code
    return botocore_sign(case, params)


def probes(rng, first_id):
    host = ("Host", "example.amazonaws.com")
    specs = [
        dict(kind="differ", name="query-raw-subdelims", differs=["query"], query="k=a!b*c(d)'e",
             why="botocore signs raw query pieces; sigv4 re-encodes them"),
        dict(kind="differ", name="query-lowercase-hex", differs=["query"], query="k=%e1%88%b4",
             why="botocore keeps lowercase escapes; sigv4 decodes and re-encodes as %E1"),
        dict(kind="differ", name="query-raw-plus", differs=["query"], query="k=a+b",
             why="botocore signs '+' raw; sigv4 reads a literal plus and signs %2B"),
        dict(kind="differ", name="query-raw-equals-in-value", differs=["query"], query="k=a=b",
             why="botocore signs 'a=b' raw; sigv4 encodes the value's '=' as %3D"),
        dict(kind="differ", name="query-params-space", differs=["query"], params=[("k", "a b")],
             why="botocore signs a%20b but sends a+b; sigv4 signs the wire's '+' as %2B"),
        dict(kind="differ", name="query-empty-piece", differs=["query"], query="a=1&&b=2",
             why="botocore signs an empty pair for '&&'; sigv4 skips empty pieces"),
        dict(kind="differ", name="header-nbsp", differs=["headers"],
             headers=[host, ("X-Nbsp", "a\u00a0\u00a0b")],
             why="Python's str.split() collapses U+00A0; sigv4 collapses HTTP whitespace only"),
        dict(kind="differ", name="date-header", differs=["headers", "signed_headers"],
             headers=[host, ("Date", "Mon, 01 Jan 2024 00:00:00 GMT")],
             why="botocore signs Date and no X-Amz-Date; sigv4 always signs X-Amz-Date"),
        dict(kind="differ", name="lowercase-method", differs=["method"], method="get",
             why="botocore upper-cases the method; sigv4 signs it as sent"),
        dict(kind="rejects", name="stale-x-amz-date", code="usage",
             headers=[host, ("X-Amz-Date", "20000101T000000Z")],
             why="botocore replaces a stale X-Amz-Date; sigv4 refuses it"),
        dict(kind="rejects", name="other-session-token", code="credentials",
             token="TOKEN-FROM-CREDENTIALS", headers=[host, ("X-Amz-Security-Token", "OTHER")],
             why="botocore replaces the header with the credentials' token; sigv4 refuses"),
        dict(kind="rejects", name="content-sha256-unsigned-payload", code="usage",
             headers=[host, ("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")], body=b"data",
             why="botocore signs the header's value; sigv4 signs the body's hash only"),
        dict(kind="rejects", name="no-host-header", code="usage", headers=[],
             why="botocore derives Host from the URL; sigv4 needs the Host header"),
        dict(kind="rejects", name="control-char-in-value", code="usage",
             headers=[host, ("X-Ctl", "a\x1fb")],
             why="botocore's str.split() treats 0x1f as whitespace; sigv4 refuses controls"),
    ]
    out = []
    for i, spec in enumerate(specs):
        kind, name, why = spec.pop("kind"), spec.pop("name"), spec.pop("why")
        out.append(probe(rng, first_id + i, kind, name, why, **spec))
    return out


def to_json(case):
    out = {k: v for k, v in case.items() if k not in ("when", "body", "host_for_url")}
    out["headers"] = [[n, v] for n, v in case["headers"]]
    out["body_b64"] = base64.b64encode(case["body"]).decode("ascii")
    return json.dumps(out, ensure_ascii=False, sort_keys=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=20150830)
    ap.add_argument("--count", type=int, default=250)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    for i in range(args.count):
        print(to_json(random_match_case(rng, i)))
    for case in probes(rng, args.count):
        print(to_json(case))
    return 0


if __name__ == "__main__":
    sys.exit(main())
