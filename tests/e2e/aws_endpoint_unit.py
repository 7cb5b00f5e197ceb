#!/usr/bin/python3
"""Unit tests of the local AWS endpoint (tests/servers/aws_endpoint), in process.

- The SigV4 verifier against AWS's published SigV4 test suite (CFDR_SIGV4_SUITE), every
  case verified and every case tampered with (signature, signed header, query, body),
  and against requests botocore signs: unknown key, skew, missing Host, session token,
  scope date, service and region, x-amz-content-sha256.
- The request parsers: for every operation the endpoint implements, example parameters
  are serialized by botocore's own serializer and parsed back to the same parameters;
  results and errors serialized by the endpoint are parsed by botocore's parsers into
  the same values.
- The validation and the service semantics through the whole in-process pipeline.
Prints "N passed, N failed" last; exits 1 on any failure.
"""

import calendar
import copy
import datetime
import hashlib
import json
import os
import sys
import time
import traceback
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("CFDR_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "servers"))

from botocore import parsers  # noqa: E402
from botocore.awsrequest import HTTPHeaders  # noqa: E402
from botocore.utils import ArgumentGenerator  # noqa: E402

from aws_endpoint import models, shapes  # noqa: E402
from aws_endpoint.awsjson import JsonShapeError  # noqa: E402
from aws_endpoint.client import RawClient, parse_response, to_raw_request  # noqa: E402
from aws_endpoint.errors import ApiError  # noqa: E402
from aws_endpoint.query import QueryShapeError  # noqa: E402
from aws_endpoint.request import RawRequest  # noqa: E402
from aws_endpoint.restxml import XmlShapeError  # noqa: E402
from aws_endpoint.server import Endpoint  # noqa: E402
from aws_endpoint.shapes import ShapeError  # noqa: E402
from aws_endpoint.sigv4 import AuthFailure, Credential, SigV4Verifier  # noqa: E402
from aws_endpoint.validation import validate  # noqa: E402

SUITE = os.environ.get("CFDR_SIGV4_SUITE") or os.path.join(SOURCE, "..", "shared", "testdata", "aws-sig-v4-test-suite")
FIXTURE = os.path.join(SOURCE, "tests", "data", "aws", "distribution-config-with-tags.json")
SUITE_KEY = Credential("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SUITE_NOW = calendar.timegm((2015, 8, 30, 12, 36, 0, 0, 0, 0))
AKID, SECRET = "AKIDUNITTEST", "unit-test-secret"
URL = "http://127.0.0.1:4566"

RESULTS = {"passed": 0, "failed": 0}
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def expect_auth_failure(kind, fn, contains=None):
    try:
        fn()
    except AuthFailure as e:
        check(e.kind == kind, "expected AuthFailure %s, got %s (%s)" % (kind, e.kind, e.message))
        if contains:
            check(contains in e.message, "message %r lacks %r" % (e.message, contains))
        return e
    raise AssertionError("expected AuthFailure %s, nothing raised" % kind)


# ---- SigV4 test suite ---------------------------------------------------------------------
def _parse_http(text):
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    first = lines[0]
    method, rest = first.split(" ", 1)
    target = rest.rsplit(" ", 1)[0]
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            headers[-1] = (headers[-1][0], headers[-1][1] + "\n" + line)
            continue
        k, _, v = line.partition(":")
        headers.append((k, v))
    return method, target, headers, body.encode("utf-8")


def suite_cases():
    """(name, RawRequest, credential, expected canonical request, consistent) per case.

    The request is the signed request (.sreq) with the Authorization header of .authz
    (the published .sreq of get-vanilla-with-session-token carries another case's
    signature) and a Content-Length when the signature covers one. consistent is False
    for a vector whose string to sign does not hash its own canonical request (the
    published post-x-www-form-urlencoded-parameters): its signature cannot verify, so only
    the canonical request is compared.
    """
    if not os.path.isdir(SUITE):
        raise AssertionError("SigV4 test suite not found at %s (set CFDR_SIGV4_SUITE)" % SUITE)
    cases = []
    for dirpath, _, files in sorted(os.walk(SUITE)):
        for f in sorted(files):
            if not f.endswith(".sreq"):
                continue
            name = f[:-5]

            def read(ext):
                with open(os.path.join(dirpath, name + ext), encoding="utf-8") as fh:
                    return fh.read()

            method, target, headers, body = _parse_http(read(".sreq"))
            headers = [(k, v) for k, v in headers if k.lower() != "authorization"]
            authz = read(".authz").strip()
            signed = authz.split("SignedHeaders=")[1].split(",")[0].split(";")
            if "content-length" in signed and not any(k.lower() == "content-length" for k, _ in headers):
                headers.append(("Content-Length", str(len(body))))
            headers.append(("Authorization", authz))
            cred = SUITE_KEY
            token = [v for k, v in headers if k.lower() == "x-amz-security-token"]
            if token:
                cred = Credential(SUITE_KEY.access_key, SUITE_KEY.secret_key, token[0])
            creq = read(".creq")
            sts_hash = read(".sts").strip().split("\n")[-1]
            consistent = hashlib.sha256(creq.encode("utf-8")).hexdigest() == sts_hash
            cases.append((name, RawRequest(method, target, headers, body), cred, creq, consistent))
    check(len(cases) >= 25, "expected the whole suite, found %d cases" % len(cases))
    return cases


def suite_verifier(cred, now=SUITE_NOW):
    return SigV4Verifier({cred.access_key: cred}, clock=lambda: now)


@test
def sigv4_suite_verifies_every_case():
    bad = []
    unverifiable = []
    verified = 0
    for name, req, cred, creq, consistent in suite_cases():
        verifier = suite_verifier(cred)
        auth = verifier.parse(req)
        _, canonical, _ = verifier.compute(req, auth, cred, req.header("X-Amz-Date"))
        if cred.token:
            creq = creq.replace(cred.token, "<redacted>")
        # post-x-www-form-urlencoded's .creq signs content-length, its .authz does not:
        # the wire (Authorization) decides, so compare only when they agree.
        agree = creq.split("\n")[-2].split(";") == auth.signed_headers
        if agree and canonical != creq:
            bad.append("%s: canonical request differs:\n%s\n---\n%s" % (name, canonical, creq))
        try:
            verifier.verify(req)
            verified += 1
        except AuthFailure as e:
            if agree and not consistent:
                unverifiable.append(name)
            else:
                bad.append("%s: %s" % (name, e.message))
    check(not bad, "cases rejected: %s" % bad)
    check(len(unverifiable) <= 1, "more broken vectors than the one known: %s" % unverifiable)
    check(verified >= 28, "only %d cases verified" % verified)


def _with_header(req, name, value):
    headers = [(k, value if k.lower() == name.lower() else v) for k, v in req.header_list]
    return RawRequest(req.method, req.raw_path + ("?" + req.raw_query if req.raw_query else ""), headers, req.body)


@test
def sigv4_suite_tampering_is_rejected():
    tried = 0
    for name, req, cred, _, consistent in suite_cases():
        if not consistent:
            continue
        authz = req.header("Authorization")
        sig = authz.rsplit("Signature=", 1)[1]
        flipped = authz[: -len(sig)] + ("0" if sig[0] != "0" else "1") + sig[1:]
        expect_auth_failure("signature", lambda: suite_verifier(cred).verify(_with_header(req, "Authorization", flipped)))
        signed = authz.split("SignedHeaders=")[1].split(",")[0].split(";")
        victim = [h for h in signed if h not in ("host", "x-amz-date", "x-amz-security-token")]
        if victim:
            changed = _with_header(req, victim[0], "tampered")
            expect_auth_failure("signature", lambda: suite_verifier(cred).verify(changed))
        target = req.raw_path + "?" + (req.raw_query + "&" if req.raw_query else "") + "extra=1"
        more = RawRequest(req.method, target, req.header_list, req.body)
        expect_auth_failure("signature", lambda: suite_verifier(cred).verify(more))
        if req.body:
            body = RawRequest(req.method, req.raw_path + ("?" + req.raw_query if req.raw_query else ""), req.header_list, req.body + b"x")
            expect_auth_failure("signature", lambda: suite_verifier(cred).verify(body))
        tried += 1
    check(tried >= 25, "tampered only %d cases" % tried)


@test
def sigv4_skew_window_is_15_minutes():
    name, req, cred = [c for c in suite_cases() if c[0] == "get-vanilla"][0][:3]
    suite_verifier(cred, SUITE_NOW + 14 * 60).verify(req)
    suite_verifier(cred, SUITE_NOW - 14 * 60).verify(req)
    expect_auth_failure("signature", lambda: suite_verifier(cred, SUITE_NOW + 16 * 60).verify(req), "Signature expired")
    expect_auth_failure("signature", lambda: suite_verifier(cred, SUITE_NOW - 16 * 60).verify(req), "not yet current")


@test
def sigv4_unknown_key_missing_and_malformed_headers():
    name, req, cred = [c for c in suite_cases() if c[0] == "get-vanilla"][0][:3]
    other = Credential("AKIDOTHER", "x")
    expect_auth_failure("unknown_key", lambda: suite_verifier(other).verify(req))
    no_auth = RawRequest("GET", "/", [(k, v) for k, v in req.header_list if k != "Authorization"], b"")
    expect_auth_failure("missing", lambda: suite_verifier(cred).verify(no_auth))
    authz = req.header("Authorization")
    no_sig = _with_header(req, "Authorization", authz.split(", Signature=")[0])
    expect_auth_failure("incomplete", lambda: suite_verifier(cred).verify(no_sig), "'Signature'")
    no_host = _with_header(req, "Authorization", authz.replace("SignedHeaders=host;x-amz-date", "SignedHeaders=x-amz-date"))
    expect_auth_failure("incomplete", lambda: suite_verifier(cred).verify(no_host), "'Host'")
    wrong_date = _with_header(req, "Authorization", authz.replace("/20150830/", "/20150831/"))
    expect_auth_failure("signature", lambda: suite_verifier(cred).verify(wrong_date), "Credential scope")
    v4a = _with_header(req, "Authorization", authz.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"))
    expect_auth_failure("incomplete", lambda: suite_verifier(cred).verify(v4a), "algorithm")
    no_date = RawRequest("GET", "/", [(k, v) for k, v in req.header_list if k.lower() != "x-amz-date"], b"")
    expect_auth_failure("incomplete", lambda: suite_verifier(cred).verify(no_date), "X-Amz-Date")
    expect_auth_failure("signature", lambda: suite_verifier(cred).verify(req, expect_service="cloudfront"), "correct service")
    expect_auth_failure(
        "signature", lambda: suite_verifier(cred).verify(req, region_ok=lambda r: r == "us-west-2"), "valid region"
    )


def _botocore_signed(service, op, params, region, cred=None, before_sign=None):
    cred = cred or Credential(AKID, SECRET)
    client = RawClient(URL, cred.access_key, cred.secret_key, cred.token)
    return to_raw_request(client.build(service, op, params, region, before_sign=before_sign))


@test
def sigv4_botocore_requests_verify_and_token_rules():
    cred = Credential(AKID, SECRET)
    verifier = SigV4Verifier({AKID: cred})
    req = _botocore_signed("apprunner", "ListServices", {}, "eu-west-1")
    got = verifier.verify(req, expect_service="apprunner")
    check(got.region == "eu-west-1" and got.service == "apprunner", "scope not reported")
    # A session credential needs its token, exactly.
    scred = Credential("ASIAUNITTEST", "session-secret", "the-session-token")
    sverifier = SigV4Verifier({scred.access_key: scred})
    sreq = _botocore_signed("cloudfront", "ListDistributions", {}, "us-east-1", cred=scred)
    sverifier.verify(sreq)
    check("the-session-token" in str(sreq.header_list), "botocore did not send the token")
    unsigned_token = RawRequest(sreq.method, sreq.raw_path, [(k, v) for k, v in sreq.header_list if k.lower() != "x-amz-security-token"], b"")
    expect_auth_failure("token", lambda: sverifier.verify(unsigned_token))
    wrong = _botocore_signed("cloudfront", "ListDistributions", {}, "us-east-1", cred=Credential(scred.access_key, scred.secret_key, "other-token"))
    expect_auth_failure("token", lambda: sverifier.verify(wrong))
    # A token sent with long-term keys is refused too.
    extra = _botocore_signed("cloudfront", "ListDistributions", {}, "us-east-1", cred=Credential(AKID, SECRET, "stray-token"))
    expect_auth_failure("token", lambda: verifier.verify(extra))
    # The secret never shows, the token is redacted from the mismatch detail.
    bad = _botocore_signed("cloudfront", "ListDistributions", {}, "us-east-1", cred=Credential(scred.access_key, "wrong-secret", scred.token))
    failure = expect_auth_failure("signature", lambda: sverifier.verify(bad))
    check("the-session-token" not in json.dumps(failure.detail), "token leaked into the failure detail")
    check("session-secret" not in json.dumps(failure.detail) + failure.message, "secret leaked")


@test
def sigv4_content_sha256_must_match_body():
    def add_hash(request):
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(request.body).hexdigest()

    params = {"ServiceArn": "arn:aws:apprunner:us-east-1:123456789012:service/x/0123"}
    good = _botocore_signed("apprunner", "DescribeService", params, "us-east-1", before_sign=add_hash)
    SigV4Verifier({AKID: Credential(AKID, SECRET)}).verify(good)

    def wrong_hash(request):
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(b"something else").hexdigest()

    bad = _botocore_signed("apprunner", "DescribeService", params, "us-east-1", before_sign=wrong_hash)
    expect_auth_failure("signature", lambda: SigV4Verifier({AKID: Credential(AKID, SECRET)}).verify(bad), "x-amz-content-sha256")


# ---- parsers and serializers -------------------------------------------------------------------
def _endpoint():
    return Endpoint([Credential(AKID, SECRET)], seed=7)


def supported_operations():
    ep = _endpoint()
    out = []
    for name, backend in ep.backends.items():
        for op_name in backend.model.operation_names:
            if backend.supports(op_name):
                out.append((name, op_name, ep.protocols[name], backend.model))
    check(len(out) >= 25, "too few operations: %d" % len(out))
    return out


@test
def parsers_round_trip_every_supported_operation():
    bad = []
    count = 0
    for service, op_name, protocol, model in supported_operations():
        op = model.operation_model(op_name)
        if op.input_shape is None:
            continue
        examples = [
            shapes.ExampleGenerator().generate(op.input_shape),
            shapes.strip_none(ArgumentGenerator(use_member_names=True).generate_skeleton(op.input_shape)),
        ]
        for params in examples:
            req = _botocore_signed(service, op_name, params, "us-east-1")
            try:
                found = protocol.find_operation(req)
                check(found.name == op_name, "routed to %s" % found.name)
                parsed = protocol.parse(req, found)
                if shapes.normalize(parsed) != shapes.normalize(params):
                    bad.append("%s.%s: %r != %r" % (service, op_name, parsed, params))
            except (ApiError, ShapeError, AssertionError) as e:
                bad.append("%s.%s: %s" % (service, op_name, e))
            count += 1
    check(count >= 50, "only %d round trips" % count)
    check(not bad, "\n".join(bad[:5]))


@test
def parsers_round_trip_all_operations_of_the_models():
    """Beyond the implemented operations: every operation of the four models parses back."""
    ep = _endpoint()
    bad = []
    count = 0
    for service, protocol in ep.protocols.items():
        model = protocol.model
        for op_name in model.operation_names:
            op = model.operation_model(op_name)
            if op.input_shape is None:
                continue
            params = shapes.ExampleGenerator().generate(op.input_shape)
            req = _botocore_signed(service, op_name, params, "us-east-1")
            try:
                found = protocol.find_operation(req)
                parsed = protocol.parse(req, found)
                if found.name != op_name or shapes.normalize(parsed) != shapes.normalize(params):
                    bad.append("%s.%s" % (service, op_name))
            except (ApiError, ShapeError) as e:
                bad.append("%s.%s: %s" % (service, op_name, e))
            count += 1
    check(count > 150, "only %d operations" % count)
    check(not bad, "operations that did not round trip: %s" % bad[:10])


def _botocore_parse(model, op, status, headers, body):
    hdrs = HTTPHeaders()
    for k, v in headers:
        hdrs[k] = v
    return parsers.create_parser(model.protocol).parse({"status_code": status, "headers": hdrs, "body": body}, op.output_shape)


@test
def serializers_round_trip_every_supported_operation():
    bad = []
    for service, op_name, protocol, model in supported_operations():
        op = model.operation_model(op_name)
        if op.output_shape is None:
            status, headers, body = protocol.serialize(op, {}, "rid")
            check(status == op.http.get("responseCode", 200), "%s status %d" % (op_name, status))
            continue
        result = shapes.ExampleGenerator().generate(op.output_shape)
        status, headers, body = protocol.serialize(op, result, "rid-1")
        parsed = _botocore_parse(model, op, status, headers, body)
        meta = parsed.pop("ResponseMetadata", {})
        if meta.get("RequestId") != "rid-1":
            bad.append("%s.%s: request id %r" % (service, op_name, meta.get("RequestId")))
        if shapes.normalize(parsed) != shapes.normalize(result):
            bad.append("%s.%s: %r != %r" % (service, op_name, parsed, result))
    check(not bad, "\n".join(bad[:5]))


@test
def errors_parse_as_botocore_expects():
    ep = _endpoint()
    for service, protocol in ep.protocols.items():
        model = protocol.model
        op = model.operation_model(model.operation_names[0])
        err = ApiError("SomeError", "what & <why>", status=409)
        status, headers, body = protocol.serialize_error(err, "rid-9")
        parsed = _botocore_parse(model, op, status, headers, body)
        check(status == 409, "status")
        check(parsed["Error"]["Code"] == "SomeError", "%s code %r" % (service, parsed["Error"]))
        check(parsed["Error"]["Message"] == "what & <why>", "%s message %r" % (service, parsed["Error"]))
        check(parsed["ResponseMetadata"]["RequestId"] == "rid-9", "%s request id" % service)
        if model.protocol == "rest-xml":
            check(b"<Type>Sender</Type>" in body and b"<ErrorResponse" in body, "rest-xml error body")
        if model.protocol == "json":
            check(("x-amzn-ErrorType", "SomeError") in headers, "x-amzn-ErrorType")


def _cf_request(xml_body, path="/2020-05-31/distribution?WithTags"):
    return RawRequest("POST", path, [("Host", "x"), ("Content-Length", str(len(xml_body)))], xml_body)


@test
def restxml_parser_rejects_what_cloudfront_rejects():
    ep = _endpoint()
    proto = ep.protocols["cloudfront"]
    ns = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
    good = ('<DistributionConfigWithTags xmlns="%s"><Tags><Items><Tag><Key>k</Key></Tag></Items></Tags></DistributionConfigWithTags>' % ns).encode()
    req = _cf_request(good)
    op = proto.find_operation(req)
    check(op.name == "CreateDistributionWithTags", "routing by ?WithTags")
    check(proto.parse(req, op) == {"DistributionConfigWithTags": {"Tags": {"Items": [{"Key": "k"}]}}}, "good body")
    cases = {
        "wrong namespace": good.replace(ns.encode(), b"http://cloudfront.amazonaws.com/doc/2019-03-26/"),
        "no namespace": good.replace((' xmlns="%s"' % ns).encode(), b""),
        "unknown element": good.replace(b"<Key>k</Key>", b"<Key>k</Key><Colour>red</Colour>"),
        "repeated element": good.replace(b"<Key>k</Key>", b"<Key>k</Key><Key>j</Key>"),
        "wrong root": good.replace(b"DistributionConfigWithTags", b"DistributionConfig"),
        "not xml": b"<DistributionConfigWithTags",
        "doctype": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>' + good,
        "list item name": good.replace(b"<Tag>", b"<Item>").replace(b"</Tag>", b"</Item>"),
    }
    for what, body in cases.items():
        try:
            proto.parse(_cf_request(body), op)
        except XmlShapeError:
            continue
        raise AssertionError("accepted a body with %s" % what)
    dist = "/2020-05-31/distribution/EDFDVBD6EXAMPLE/config"
    update = proto.find_operation(RawRequest("PUT", dist, [], b""))
    check(update.name == "UpdateDistribution", "PUT .../config is UpdateDistribution")
    bad_int = ('<DistributionConfig xmlns="%s"><Enabled>yes</Enabled></DistributionConfig>' % ns).encode()
    try:
        proto.parse(RawRequest("PUT", dist, [("If-Match", "E1")], bad_int), update)
        raise AssertionError("accepted Enabled=yes")
    except XmlShapeError:
        pass
    labelled = RawRequest("PUT", dist, [("If-Match", "E1")], b"")
    proto.find_operation(labelled)
    parsed = proto.parse(labelled, update)
    check(parsed == {"Id": "EDFDVBD6EXAMPLE", "IfMatch": "E1"}, "labels and headers: %r" % parsed)


@test
def json_and_query_parsers_reject_bad_values():
    ep = _endpoint()
    ar = ep.protocols["apprunner"]
    op = ar.model.operation_model("ListServices")

    def jreq(body, target="AppRunner.ListServices", ctype="application/x-amz-json-1.0"):
        return RawRequest("POST", "/", [("X-Amz-Target", target), ("Content-Type", ctype)], body)

    for body in (b'{"MaxResults": "5"}', b'{"MaxResults": 5.5}', b'{"MaxResults": true}', b"[1]", b"{"):
        try:
            ar.parse(jreq(body), op)
            raise AssertionError("accepted %r" % body)
        except JsonShapeError:
            pass
    req = jreq(b'{"MaxResults": 5, "Bogus": 1}')
    check(ar.parse(req, op) == {"MaxResults": 5}, "unknown JSON members are ignored")
    check(req.ignored_members == ["Bogus"], "and recorded: %r" % req.ignored_members)
    for target, ctype in (("AppRunner.Nope", "application/x-amz-json-1.0"), ("Other.ListServices", "application/x-amz-json-1.0"), ("AppRunner.ListServices", "application/json")):
        try:
            ar.find_operation(jreq(b"{}", target, ctype))
            raise AssertionError("routed %s %s" % (target, ctype))
        except ApiError:
            pass
    cw = ep.protocols["monitoring"]

    def qreq(body):
        return RawRequest("POST", "/", [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body)

    base = b"Action=DeleteAlarms&Version=2010-08-01"
    op = cw.find_operation(qreq(base))
    check(op.name == "DeleteAlarms", "Action routing")
    r = qreq(base + b"&AlarmNames.member.2=b&AlarmNames.member.1=a+b")
    cw.find_operation(r)
    check(cw.parse(r, op) == {"AlarmNames": ["a b", "b"]}, "list order by index, + is space")
    for bad in (b"&AlarmNames.member.1=a&AlarmNames.member.3=c", b"&AlarmNames.member.0=a", b"&AlarmNames.member.1=a&AlarmNames.member.1=b"):
        r = qreq(base + bad)
        cw.find_operation(r)
        try:
            cw.parse(r, op)
            raise AssertionError("accepted %r" % bad)
        except QueryShapeError:
            pass
    for bad in (b"Action=DeleteAlarms&Version=2011-01-01", b"Version=2010-08-01", b"Action=Nope&Version=2010-08-01"):
        try:
            cw.find_operation(qreq(bad))
            raise AssertionError("routed %r" % bad)
        except ApiError as e:
            check(e.code in ("InvalidAction", "MissingAction"), "code %s" % e.code)


@test
def validation_adds_what_botocore_does_not_check():
    model = models.service_model("apprunner")
    shape = model.operation_model("CreateService").input_shape
    src = {"ImageRepository": {"ImageIdentifier": "public.ecr.aws/a/b:latest", "ImageRepositoryType": "ECR_PUBLIC"}}
    check(validate({"ServiceName": "good-name", "SourceConfiguration": src}, shape) == [], "valid input")
    kinds = lambda params: sorted(v.kind for v in validate(params, shape))  # noqa: E731
    check(kinds({"ServiceName": "x" * 41, "SourceConfiguration": src}) == ["max"], "max length")
    check(kinds({"ServiceName": "-bad", "SourceConfiguration": src}) == ["pattern"], "pattern")
    check(kinds({"ServiceName": "abc", "SourceConfiguration": src}) == ["min", "pattern"], "min length")
    wrong_enum = copy.deepcopy(src)
    wrong_enum["ImageRepository"]["ImageRepositoryType"] = "DOCKER"
    violations = validate({"ServiceName": "good-name", "SourceConfiguration": wrong_enum}, shape)
    check([v.kind for v in violations] == ["enum"], "enum: %r" % violations)
    check("sourceConfiguration.imageRepository.imageRepositoryType" in violations[0].message, violations[0].message)
    check(kinds({"SourceConfiguration": src}) == ["missing"], "required")
    hc = {"ServiceName": "good-name", "SourceConfiguration": src, "HealthCheckConfiguration": {"Interval": 21}}
    check(kinds(hc) == ["max"], "max range")


# ---- the in-process pipeline ------------------------------------------------------------------
def _call(ep, service, op, params, region="us-east-1", cred=None):
    req = _botocore_signed(service, op, params, region, cred=cred)
    action, answer = ep.handle(req)
    check(action == "answer", "no answer")
    status, headers, body = answer
    parsed = parse_response(service, op, status, headers, body)
    check(parsed is not None, "botocore could not parse %s" % op)
    return status, parsed, dict((k.lower(), v) for k, v in headers)


def _code(parsed):
    return parsed.get("Error", {}).get("Code")


def _fixture():
    with open(FIXTURE, encoding="utf-8") as f:
        return json.load(f)


@test
def cloudfront_semantic_checks():
    cases = []

    def mutate(label, expected, fn):
        cfg = _fixture()
        fn(cfg["DistributionConfig"])
        cases.append((label, expected, cfg))

    group = lambda c: c["OriginGroups"]["Items"][0]  # noqa: E731
    origin = lambda c, i=0: c["Origins"]["Items"][i]  # noqa: E731
    mutate("status code 302", "InvalidArgument", lambda c: group(c)["FailoverCriteria"]["StatusCodes"].update(Items=[302, 503, 504, 500, 502, 404]))
    mutate("quantity", "InconsistentQuantities", lambda c: group(c)["FailoverCriteria"]["StatusCodes"].update(Quantity=5))
    mutate("origins quantity", "InconsistentQuantities", lambda c: c["Origins"].update(Quantity=3))
    mutate("three members", "InvalidArgument", lambda c: group(c)["Members"].update(Quantity=3, Items=group(c)["Members"]["Items"] + [{"OriginId": "primary-us-east-1"}]))
    mutate("same member twice", "InvalidArgument", lambda c: group(c)["Members"]["Items"][1].update(OriginId="primary-us-east-1"))
    mutate("unknown member", "NoSuchOrigin", lambda c: group(c)["Members"]["Items"][1].update(OriginId="nope"))
    mutate("unknown target", "NoSuchOrigin", lambda c: c["DefaultCacheBehavior"].update(TargetOriginId="nope"))
    all7 = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
    mutate("POST on group", "InvalidArgument", lambda c: c["DefaultCacheBehavior"]["AllowedMethods"].update(Quantity=7, Items=all7))
    mutate("attempts 4", "InvalidArgument", lambda c: origin(c).update(ConnectionAttempts=4))
    mutate("attempts 0", "InvalidArgument", lambda c: origin(c).update(ConnectionAttempts=0))
    mutate("timeout 11", "InvalidArgument", lambda c: origin(c, 1).update(ConnectionTimeout=11))
    mutate("read timeout 61", "InvalidOriginReadTimeout", lambda c: origin(c)["CustomOriginConfig"].update(OriginReadTimeout=61))
    mutate("keepalive 61", "InvalidOriginKeepaliveTimeout", lambda c: origin(c)["CustomOriginConfig"].update(OriginKeepaliveTimeout=61))
    mutate("cache policy", "NoSuchCachePolicy", lambda c: c["DefaultCacheBehavior"].update(CachePolicyId="00000000-0000-0000-0000-000000000000"))
    mutate("origin request policy", "NoSuchOriginRequestPolicy", lambda c: c["DefaultCacheBehavior"].update(OriginRequestPolicyId="00000000-0000-0000-0000-000000000000"))
    mutate("no cache policy, no ForwardedValues", "InvalidArgument", lambda c: c["DefaultCacheBehavior"].pop("CachePolicyId"))
    mutate("empty caller reference", "InvalidArgument", lambda c: c.update(CallerReference=""))
    mutate("bad enum", "InvalidArgument", lambda c: c["DefaultCacheBehavior"].update(ViewerProtocolPolicy="https"))
    mutate("missing CallerReference", "MalformedInput", lambda c: c.pop("CallerReference"))
    mutate("missing Origins", "MalformedInput", lambda c: c.pop("Origins"))
    mutate("domain", "InvalidArgument", lambda c: origin(c).update(DomainName="not a host"))
    mutate("duplicate origin id", "InvalidArgument", lambda c: origin(c, 1).update(Id="primary-us-east-1"))
    ep = _endpoint()
    for label, expected, cfg in cases:
        status, parsed, _ = _call(ep, "cloudfront", "CreateDistributionWithTags", {"DistributionConfigWithTags": cfg})
        check(_code(parsed) == expected, "%s: expected %s, got %s %s" % (label, expected, status, parsed.get("Error")))
        check(400 <= status < 500, "%s: status %d" % (label, status))
    # The quota raises the read timeout limit to 180.
    ep.ctx.settings.update({"max_origin_read_timeout": 180})
    cfg = _fixture()
    cfg["DistributionConfig"]["Origins"]["Items"][0]["CustomOriginConfig"]["OriginReadTimeout"] = 120
    status, parsed, _ = _call(ep, "cloudfront", "CreateDistributionWithTags", {"DistributionConfigWithTags": cfg})
    check(status == 201, "read timeout 120 with the quota: %s" % parsed.get("Error"))
    log = ep.control.log_json()
    check(len(log) == len(cases) + 1, "every request logged")
    check(all(e["error"] for e in log[:-1]), "errors logged")


@test
def cloudfront_lifecycle_in_process():
    ep = _endpoint()
    cfg = _fixture()
    status, created, headers = _call(ep, "cloudfront", "CreateDistributionWithTags", {"DistributionConfigWithTags": cfg})
    check(status == 201, "created: %s" % created.get("Error"))
    dist = created["Distribution"]
    check(created["ETag"] == headers["etag"] and created["Location"].endswith("/distribution/" + dist["Id"]), "headers")
    check(dist["DomainName"] == dist["Id"].lower() + ".cloudfront.net", "domain")
    # Idempotent retry and a conflicting one.
    status, again, _ = _call(ep, "cloudfront", "CreateDistributionWithTags", {"DistributionConfigWithTags": cfg})
    check(status == 201 and again["Distribution"]["Id"] == dist["Id"], "same caller reference, same config")
    other = copy.deepcopy(cfg)
    other["DistributionConfig"]["Comment"] = "changed"
    status, conflict, _ = _call(ep, "cloudfront", "CreateDistributionWithTags", {"DistributionConfigWithTags": other})
    check(status == 409 and _code(conflict) == "DistributionAlreadyExists", "conflict %s" % conflict.get("Error"))
    # Deployed after three GetDistribution polls.
    statuses = [_call(ep, "cloudfront", "GetDistribution", {"Id": dist["Id"]})[1]["Distribution"]["Status"] for _ in range(3)]
    check(statuses == ["InProgress", "InProgress", "Deployed"], "statuses %s" % statuses)
    _, got, _ = _call(ep, "cloudfront", "GetDistributionConfig", {"Id": dist["Id"]})
    etag = got["ETag"]
    config = got["DistributionConfig"]
    check(config["OriginGroups"] == cfg["DistributionConfig"]["OriginGroups"], "origin groups kept")
    status, parsed, _ = _call(ep, "cloudfront", "DeleteDistribution", {"Id": dist["Id"], "IfMatch": etag})
    check(status == 409 and _code(parsed) == "DistributionNotDisabled", "delete enabled: %s" % parsed.get("Error"))
    config["Enabled"] = False
    status, parsed, _ = _call(ep, "cloudfront", "UpdateDistribution", {"Id": dist["Id"], "DistributionConfig": config})
    check(status == 400 and _code(parsed) == "InvalidIfMatchVersion", "update without If-Match: %s" % parsed.get("Error"))
    status, parsed, _ = _call(ep, "cloudfront", "UpdateDistribution", {"Id": dist["Id"], "DistributionConfig": config, "IfMatch": "ESTALE"})
    check(status == 412 and _code(parsed) == "PreconditionFailed", "stale update")
    status, updated, _ = _call(ep, "cloudfront", "UpdateDistribution", {"Id": dist["Id"], "DistributionConfig": config, "IfMatch": etag})
    check(status == 200 and updated["ETag"] != etag, "update makes a new ETag")
    check(updated["Distribution"]["Status"] == "InProgress", "update sets InProgress")
    status, parsed, _ = _call(ep, "cloudfront", "DeleteDistribution", {"Id": dist["Id"], "IfMatch": updated["ETag"]})
    check(status == 409 and _code(parsed) == "DistributionNotDisabled", "delete before Deployed")
    status, parsed, _ = _call(ep, "cloudfront", "DeleteDistribution", {"Id": dist["Id"], "IfMatch": etag})
    check(status == 412 and _code(parsed) == "PreconditionFailed", "delete with stale ETag")
    status, parsed, _ = _call(ep, "cloudfront", "DeleteDistribution", {"Id": dist["Id"]})
    check(status == 400 and _code(parsed) == "InvalidIfMatchVersion", "delete without If-Match")
    for _ in range(3):
        _call(ep, "cloudfront", "GetDistribution", {"Id": dist["Id"]})
    status, parsed, _ = _call(ep, "cloudfront", "DeleteDistribution", {"Id": dist["Id"], "IfMatch": updated["ETag"]})
    check(status == 204, "delete: %s" % parsed.get("Error"))
    status, parsed, _ = _call(ep, "cloudfront", "GetDistribution", {"Id": dist["Id"]})
    check(status == 404 and _code(parsed) == "NoSuchDistribution", "gone")


@test
def cloudfront_monitoring_subscription_in_process():
    ep = _endpoint()
    _, created, _ = _call(ep, "cloudfront", "CreateDistributionWithTags", {"DistributionConfigWithTags": _fixture()})
    dist_id = created["Distribution"]["Id"]
    enabled = {"RealtimeMetricsSubscriptionConfig": {"RealtimeMetricsSubscriptionStatus": "Enabled"}}
    status, parsed, _ = _call(ep, "cloudfront", "GetMonitoringSubscription", {"DistributionId": dist_id})
    check(status == 404 and _code(parsed) == "NoSuchMonitoringSubscription", "none yet: %r" % parsed)
    status, parsed, _ = _call(ep, "cloudfront", "CreateMonitoringSubscription", {"DistributionId": "ENOSUCHDIST000", "MonitoringSubscription": enabled})
    check(status == 404 and _code(parsed) == "NoSuchDistribution", "unknown distribution: %r" % parsed)
    status, parsed, _ = _call(ep, "cloudfront", "CreateMonitoringSubscription", {"DistributionId": dist_id, "MonitoringSubscription": {"RealtimeMetricsSubscriptionConfig": {"RealtimeMetricsSubscriptionStatus": "On"}}})
    check(status == 400 and _code(parsed) == "InvalidArgument", "enum checked: %r" % parsed)
    status, parsed, _ = _call(ep, "cloudfront", "CreateMonitoringSubscription", {"DistributionId": dist_id, "MonitoringSubscription": enabled})
    check(status == 200 and parsed["MonitoringSubscription"] == enabled, "created: %r" % parsed)
    status, parsed, _ = _call(ep, "cloudfront", "GetMonitoringSubscription", {"DistributionId": dist_id})
    check(status == 200 and parsed["MonitoringSubscription"] == enabled, "read back: %r" % parsed)
    status, parsed, _ = _call(ep, "cloudfront", "DeleteMonitoringSubscription", {"DistributionId": dist_id})
    check(status == 200, "deleted: %r" % parsed)
    status, parsed, _ = _call(ep, "cloudfront", "DeleteMonitoringSubscription", {"DistributionId": dist_id})
    check(status == 404 and _code(parsed) == "NoSuchMonitoringSubscription", "deleted twice: %r" % parsed)
    # The subscription belongs to the distribution: deleting the distribution removes it.
    _call(ep, "cloudfront", "CreateMonitoringSubscription", {"DistributionId": dist_id, "MonitoringSubscription": enabled})
    _, got, _ = _call(ep, "cloudfront", "GetDistributionConfig", {"Id": dist_id})
    config = got["DistributionConfig"]
    config["Enabled"] = False
    _, updated, _ = _call(ep, "cloudfront", "UpdateDistribution", {"Id": dist_id, "DistributionConfig": config, "IfMatch": got["ETag"]})
    for _ in range(3):
        _call(ep, "cloudfront", "GetDistribution", {"Id": dist_id})
    status, _, _ = _call(ep, "cloudfront", "DeleteDistribution", {"Id": dist_id, "IfMatch": updated["ETag"]})
    check(status == 204, "distribution deleted")
    status, parsed, _ = _call(ep, "cloudfront", "GetMonitoringSubscription", {"DistributionId": dist_id})
    check(status == 404 and _code(parsed) == "NoSuchDistribution", "gone with it: %r" % parsed)


@test
def cloudfront_list_pagination_and_tags():
    ep = _endpoint()
    ids = []
    for i in range(5):
        cfg = _fixture()
        cfg["DistributionConfig"]["CallerReference"] = "ref-%d" % i
        status, created, _ = _call(ep, "cloudfront", "CreateDistributionWithTags", {"DistributionConfigWithTags": cfg})
        ids.append(created["Distribution"]["Id"])
    seen = []
    marker = None
    for _ in range(5):
        params = {"MaxItems": "2"}
        if marker:
            params["Marker"] = marker
        _, page, _ = _call(ep, "cloudfront", "ListDistributions", params)
        listing = page["DistributionList"]
        seen += [d["Id"] for d in listing.get("Items", [])]
        check(listing["Quantity"] == len(listing.get("Items", [])), "quantity")
        if not listing["IsTruncated"]:
            break
        marker = listing["NextMarker"]
    check(seen == ids, "pages %s != %s" % (seen, ids))
    status, parsed, _ = _call(ep, "cloudfront", "ListDistributions", {"MaxItems": "many"})
    check(_code(parsed) == "InvalidArgument", "MaxItems must be a number")
    arn = "arn:aws:cloudfront::123456789012:distribution/" + ids[0]
    _, tags, _ = _call(ep, "cloudfront", "ListTagsForResource", {"Resource": arn})
    check(tags["Tags"]["Items"] == [{"Key": "cfdr:project", "Value": "dr-demo"}], "tags %r" % tags)
    status, _, _ = _call(ep, "cloudfront", "TagResource", {"Resource": arn, "Tags": {"Items": [{"Key": "owner", "Value": "sre"}]}})
    check(status == 204, "tag")
    _, tags, _ = _call(ep, "cloudfront", "ListTagsForResource", {"Resource": arn})
    check(len(tags["Tags"]["Items"]) == 2, "merged tags")
    status, parsed, _ = _call(ep, "cloudfront", "ListTagsForResource", {"Resource": "arn:aws:cloudfront::123456789012:distribution/ENOPE"})
    check(status == 404 and _code(parsed) == "NoSuchResource", "unknown resource")


@test
def apprunner_state_machine_and_hooks_events():
    ep = _endpoint()
    ep.ctx.settings.update({"service_polls": 2})
    seeded = ep.backends["apprunner"].seed_service("us-east-1", "dr-demo-east")
    arn = seeded["ServiceArn"]
    check(arn.startswith("arn:aws:apprunner:us-east-1:123456789012:service/dr-demo-east/"), arn)
    check(seeded["ServiceUrl"].endswith(".us-east-1.awsapprunner.com"), seeded["ServiceUrl"])
    _, listed, _ = _call(ep, "apprunner", "ListServices", {}, region="us-west-2")
    check(listed["ServiceSummaryList"] == [], "regions are separate")
    status, paused, _ = _call(ep, "apprunner", "PauseService", {"ServiceArn": arn})
    check(status == 200 and paused["Service"]["Status"] == "OPERATION_IN_PROGRESS", "pause starts")
    status, again, _ = _call(ep, "apprunner", "PauseService", {"ServiceArn": arn})
    check(_code(again) == "InvalidStateException", "pause while in progress: %s" % again.get("Error"))
    seen = [_call(ep, "apprunner", "DescribeService", {"ServiceArn": arn})[1]["Service"]["Status"] for _ in range(2)]
    check(seen == ["OPERATION_IN_PROGRESS", "PAUSED"], "seen %s" % seen)
    events = [e for entry in ep.control.log_json() for e in entry["events"]]
    check([e["status"] for e in events] == ["OPERATION_IN_PROGRESS", "PAUSED"], "events %s" % events)
    _, parsed, _ = _call(ep, "apprunner", "DescribeService", {"ServiceArn": arn}, region="us-west-2")
    check(_code(parsed) == "ResourceNotFoundException", "other region")
    _, ops, _ = _call(ep, "apprunner", "ListOperations", {"ServiceArn": arn})
    check([(o["Type"], o["Status"]) for o in ops["OperationSummaryList"]] == [("PAUSE_SERVICE", "SUCCEEDED")], "ops %r" % ops)
    _, parsed, _ = _call(ep, "apprunner", "CreateService", {"ServiceName": "x", "SourceConfiguration": {}})
    check(_code(parsed) == "InvalidRequestException" and "serviceName" in parsed["Error"]["Message"], "validation %r" % parsed)
    _, parsed, _ = _call(ep, "apprunner", "ListServices", {"NextToken": "garbage"})
    check(_code(parsed) == "InvalidRequestException", "bad token")


@test
def cloudwatch_and_sns_in_process():
    ep = _endpoint()
    _, topic, _ = _call(ep, "sns", "CreateTopic", {"Name": "dr-demo-alerts"})
    arn = topic["TopicArn"]
    check(arn == "arn:aws:sns:us-east-1:123456789012:dr-demo-alerts", arn)
    _, sub, _ = _call(ep, "sns", "Subscribe", {"TopicArn": arn, "Protocol": "email", "Endpoint": "oncall@example.com"})
    check(sub["SubscriptionArn"] == "pending confirmation", "pending")
    _, parsed, _ = _call(ep, "sns", "Subscribe", {"TopicArn": arn, "Protocol": "https", "Endpoint": "http://x"})
    check(_code(parsed) == "InvalidParameter", "protocol mismatch: %r" % parsed)
    alarm = {
        "AlarmName": "dr-demo-failover-active", "MetricName": "Requests", "Namespace": "AWS/AppRunner",
        "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "AlarmActions": [arn], "OKActions": [arn],
        "Dimensions": [{"Name": "ServiceName", "Value": "dr-demo-west"}], "TreatMissingData": "notBreaching",
    }
    status, parsed, _ = _call(ep, "monitoring", "PutMetricAlarm", alarm)
    check(status == 200, "put alarm %r" % parsed)
    other_region = dict(alarm, AlarmActions=["arn:aws:sns:us-west-2:123456789012:dr-demo-alerts"])
    _, parsed, _ = _call(ep, "monitoring", "PutMetricAlarm", other_region)
    check(_code(parsed) == "ValidationError" and "us-west-2" in parsed["Error"]["Message"], "cross-region action %r" % parsed)
    _, parsed, _ = _call(ep, "monitoring", "PutMetricAlarm", dict(alarm, Period=45))
    check(_code(parsed) == "ValidationError", "period 45")
    _, parsed, _ = _call(ep, "monitoring", "PutMetricAlarm", dict(alarm, ComparisonOperator="Bigger"))
    check(_code(parsed) == "ValidationError", "enum")
    _, described, _ = _call(ep, "monitoring", "DescribeAlarms", {"AlarmNames": ["dr-demo-failover-active"]})
    got = described["MetricAlarms"][0]
    check(got["StateValue"] == "INSUFFICIENT_DATA" and got["Dimensions"] == alarm["Dimensions"], "described %r" % got)
    status, _, _ = _call(ep, "monitoring", "SetAlarmState", {"AlarmName": alarm["AlarmName"], "StateValue": "ALARM", "StateReason": "test"})
    check(status == 200, "set state")
    check(len(ep.backends["sns"].notifications) == 1, "alarm action notified the topic")
    _, parsed, _ = _call(ep, "monitoring", "SetAlarmState", {"AlarmName": "nope", "StateValue": "ALARM", "StateReason": "t"})
    check(_code(parsed) == "ResourceNotFound", "unknown alarm %r" % parsed)
    _, parsed, _ = _call(ep, "monitoring", "DeleteAlarms", {"AlarmNames": [alarm["AlarmName"]]})
    _, described, _ = _call(ep, "monitoring", "DescribeAlarms", {})
    check(described["MetricAlarms"] == [], "deleted")
    status, _, _ = _call(ep, "sns", "DeleteTopic", {"TopicArn": arn})
    check(status == 200, "delete topic")
    _, parsed, _ = _call(ep, "sns", "ListSubscriptionsByTopic", {"TopicArn": arn})
    check(_code(parsed) == "NotFound", "topic gone %r" % parsed)


@test
def pipeline_answers_auth_errors_per_protocol():
    ep = _endpoint()
    wrong = Credential(AKID, "not-the-secret")
    for service, op, params, code, status in (
        ("cloudfront", "ListDistributions", {}, "SignatureDoesNotMatch", 403),
        ("apprunner", "ListServices", {}, "InvalidSignatureException", 403),
        ("monitoring", "DescribeAlarms", {}, "SignatureDoesNotMatch", 403),
        ("sns", "ListTopics", {}, "SignatureDoesNotMatch", 403),
    ):
        got_status, parsed, _ = _call(ep, service, op, params, cred=wrong)
        check((got_status, _code(parsed)) == (status, code), "%s: %s %s" % (service, got_status, parsed.get("Error")))
    for service, op, code in (("cloudfront", "ListDistributions", "InvalidClientTokenId"), ("apprunner", "ListServices", "UnrecognizedClientException")):
        _, parsed, _ = _call(ep, service, op, {}, cred=Credential("AKIDNOBODY", "x"))
        check(_code(parsed) == code, "%s unknown key: %s" % (service, parsed.get("Error")))
    client = RawClient(URL, AKID, SECRET)
    unsigned = to_raw_request(client.build("apprunner", "ListServices", {}, "us-east-1", sign=False))
    _, (status, headers, body) = ep.handle(unsigned)
    parsed = parse_response("apprunner", "ListServices", status, headers, body)
    check(_code(parsed) == "MissingAuthenticationTokenException", "missing auth %r" % parsed)
    doc = json.loads(body)
    check(doc["__type"] == "com.amazon.coral.service#MissingAuthenticationTokenException", "Coral __type %r" % doc)
    check(("x-amzn-ErrorType", "MissingAuthenticationTokenException") in headers, "x-amzn-ErrorType %r" % headers)
    # Clock skew: the server clock is 20 minutes ahead.
    ep.ctx.clock_offset = 20 * 60
    _, parsed, _ = _call(ep, "cloudfront", "ListDistributions", {})
    check(_code(parsed) == "SignatureDoesNotMatch" and "Signature expired" in parsed["Error"]["Message"], "skew %r" % parsed)
    ep.ctx.clock_offset = 0
    # CloudFront signed for another region.
    _, parsed, _ = _call(ep, "cloudfront", "ListDistributions", {}, region="eu-west-1")
    check(_code(parsed) == "SignatureDoesNotMatch", "cloudfront region %r" % parsed)
    # An old timestamp from botocore itself.
    past = datetime.datetime.utcnow() - datetime.timedelta(minutes=20)
    with mock.patch("botocore.auth.datetime") as fake:
        fake.datetime.utcnow.return_value = past
        fake.datetime.strptime = datetime.datetime.strptime
        _, parsed, _ = _call(ep, "apprunner", "ListServices", {})
    check(_code(parsed) == "InvalidSignatureException" and "expired" in parsed["Error"]["Message"], "old request %r" % parsed)


@test
def faults_fire_as_configured():
    ep = _endpoint()
    ep.control.add_fault({"kind": "throttle", "service": "apprunner", "count": 2})
    codes = [_code(_call(ep, "apprunner", "ListServices", {})[1]) for _ in range(3)]
    check(codes == ["ThrottlingException", "ThrottlingException", None], "throttle count %s" % codes)
    ep.control.clear_faults()
    ep.control.add_fault({"kind": "unavailable", "every": 2, "operation": "ListDistributions"})
    results = [_call(ep, "cloudfront", "ListDistributions", {})[0] for _ in range(4)]
    check(results == [200, 503, 200, 503], "every 2nd: %s" % results)
    ep.control.clear_faults()
    ep.control.add_fault({"kind": "drop", "count": 1})
    action, _ = ep.handle(_botocore_signed("sns", "ListTopics", {}, "us-east-1"))
    check(action == "drop", "drop")
    ep.control.add_fault({"kind": "delay", "delay_s": 0.2, "count": 1})
    t0 = time.monotonic()
    status, _, _ = _call(ep, "sns", "ListTopics", {})
    check(status == 200 and time.monotonic() - t0 >= 0.2, "delay")
    for bad in ({"kind": "explode"}, {"kind": "throttle", "count": 0}, {"kind": "delay", "delay_s": 100}):
        try:
            ep.control.add_fault(bad)
            raise AssertionError("accepted fault %r" % bad)
        except Exception as e:  # noqa: BLE001
            check(type(e).__name__ == "ControlError", "fault error type %s" % type(e).__name__)


@test
def error_mapping_uses_declared_errors_for_every_operation():
    from aws_endpoint.validation import Violation

    common = {"MalformedInput", "InvalidArgument", "SerializationException", "MissingParameter", "ValidationError", "InvalidParameterValue"}
    for service, op_name, protocol, model in supported_operations():
        ep = _endpoint()
        backend = ep.backends[service]
        op = model.operation_model(op_name)
        declared = {s.metadata.get("error", {}).get("code", s.name) for s in op.error_shapes}
        for kind in ("missing", "type", "enum", "max", "pattern"):
            err = backend.validation_error(op, [Violation(kind, "X", "Value at 'x' failed")])
            check(isinstance(err, ApiError) and 400 <= err.status < 500, "%s %s" % (op_name, kind))
            check(err.code in declared or err.code in common, "%s.%s answers undeclared %s" % (service, op_name, err.code))
        err = backend.shape_error(op, ShapeError("X", "bad"))
        check(err.code in declared or err.code in common, "%s.%s shape error %s" % (service, op_name, err.code))


@test
def control_api_state_settings_and_routes():
    ep = _endpoint()
    status, doc = ep.control_request("GET", "/__control", {}, b"")
    check(status == 200 and any(r.endswith("/__control/faults") for r in doc["routes"]), "index")
    status, doc = ep.control_request("PUT", "/__control/settings", {}, b'{"deploy_polls": 1, "service_seconds": 0.5}')
    check(status == 200 and doc["deploy_polls"] == 1 and doc["service_seconds"] == 0.5, "settings %r" % doc)
    status, doc = ep.control_request("PUT", "/__control/settings", {}, b'{"bogus": 1}')
    check(status == 400 and "unknown setting" in doc["error"], "bad setting %r" % doc)
    status, doc = ep.control_request("POST", "/__control/apprunner/services", {}, b'{"region": "eu-west-1", "name": "svc-one"}')
    check(status == 200 and doc["Status"] == "RUNNING", "seed %r" % doc)
    status, doc = ep.control_request("POST", "/__control/apprunner/services", {}, b'{"region": "moon-1", "name": "svc-two"}')
    check(status == 400, "region checked")
    _call(ep, "cloudfront", "CreateDistributionWithTags", {"DistributionConfigWithTags": _fixture()})
    status, state = ep.control_request("GET", "/__control/state", {}, b"")
    check(status == 200 and len(state["services"]["cloudfront"]["distributions"]) == 1, "state")
    other = _endpoint()
    status, doc = other.control_request("PUT", "/__control/state", {}, json.dumps(state).encode())
    check(status == 200, "load %r" % doc)
    _, again = other.control_request("GET", "/__control/state", {}, b"")
    check(again["services"] == state["services"], "state round trip")
    _, listed, _ = _call(other, "apprunner", "ListServices", {}, region="eu-west-1")
    check([s["ServiceName"] for s in listed["ServiceSummaryList"]] == ["svc-one"], "loaded service answers")
    status, doc = other.control_request("POST", "/__control/apprunner/status", {}, b'{"service": "svc-one", "status": "PAUSED"}')
    check(status == 200 and doc["Status"] == "PAUSED", "force status")
    status, doc = other.control_request("POST", "/__control/cloudfront/deploy", {}, b"{}")
    check(status == 200 and len(doc["deployed"]) == 1, "deploy %r" % doc)
    for body, what in ((b"{", "JSON"), (b'{"status": "PAUSED", "url": "http://10.0.0.1/x"}', "loopback"), (b'{"status": "GONE", "url": "http://127.0.0.1:1/x"}', "status")):
        status, doc = ep.control_request("POST", "/__control/hooks", {}, body)
        check(status == 400, "hook %s accepted: %r" % (what, doc))
    status, _ = ep.control_request("POST", "/__control/nothing", {}, b"")
    check(status == 404, "unknown route")
    status, doc = ep.control_request("POST", "/__control/credentials", {}, b'{"access_key": "AKIDNEW", "secret_key": "s"}')
    check(status == 200, "credentials")
    status, _, _ = _call(ep, "sns", "ListTopics", {}, cred=Credential("AKIDNEW", "s"))
    check(status == 200, "the new key works")


@test
def time_based_transitions_and_ticker_hooks():
    ep = _endpoint()
    ep.ctx.settings.update({"deploy_polls": 100, "deploy_seconds": 0.2, "service_polls": 100, "service_seconds": 0.2})
    arn = ep.backends["apprunner"].seed_service("us-east-1", "svc-timed")["ServiceArn"]
    # A hook whose target refuses connections (a port just closed): the call is attempted
    # and its error recorded.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    ep.control.add_hook({"status": "PAUSED", "service": "svc-timed", "url": "http://127.0.0.1:%d/mode" % closed_port, "body": "paused"})
    _, created, _ = _call(ep, "cloudfront", "CreateDistributionWithTags", {"DistributionConfigWithTags": _fixture()})
    dist = created["Distribution"]["Id"]
    _call(ep, "apprunner", "PauseService", {"ServiceArn": arn})
    ep.tick()
    check(ep.backends["apprunner"].services[arn]["status"] == "OPERATION_IN_PROGRESS", "not yet")
    time.sleep(0.25)
    ep.tick()
    check(ep.backends["apprunner"].services[arn]["status"] == "PAUSED", "paused by time")
    check(ep.backends["cloudfront"].distributions[dist]["status"] == "Deployed", "deployed by time")
    calls = ep.control.hooks_json()["calls"]
    check(len(calls) == 1 and "error" in calls[0] and calls[0]["event"]["status"] == "PAUSED", "ticker fired the hook: %r" % calls)


def main():
    for fn in TESTS:
        t0 = time.monotonic()
        try:
            fn()
            RESULTS["passed"] += 1
            print("PASS %s (%.2fs)" % (fn.__name__, time.monotonic() - t0))
        except Exception:  # noqa: BLE001 - report every failure and keep going
            RESULTS["failed"] += 1
            print("FAIL %s" % fn.__name__)
            traceback.print_exc(file=sys.stdout)
    print("%d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]))
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
