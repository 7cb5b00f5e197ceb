#!/usr/bin/python3
"""Credential endpoints on 127.0.0.1 for the credential-source tests (tests/unit/test_creds_sources.c).

Usage: creds_server.py --state FILE --record FILE [--max-seconds N]

Listens on an ephemeral port of 127.0.0.1, prints the port on stdout (one line) and serves,
answering the way AWS does:

  POST /                                    STS AssumeRole (query protocol). The request must be
                                            SigV4-signed for service "sts" by credentials the
                                            server knows (state "sts.sources", plus every set it
                                            issued); the signature is verified with botocore's
                                            signer (tests/servers/aws_endpoint/sigv4.py).
  GET  /federation/credentials              IAM Identity Center GetRoleCredentials: bearer token in
                                            x-amz-sso_bearer_token, no SigV4.
  GET  /container/...                       container credentials endpoint (Authorization header).
  PUT  /latest/api/token                    IMDSv2 token.
  GET  /latest/meta-data/iam/security-credentials/[role]   IMDS role name / credentials.

The state file (JSON) is read again for every request, so a test changes behaviour by
rewriting it:
  {"sts": {"sources": {"AKID": ["secret", "token or null"]},
           "roles": {"<RoleArn>": {"key_prefix": "ASIAROLEA", "expiration": "2030-...Z"}},
           "deny": "<message>" | null,          # AccessDenied for every AssumeRole
           "region": "us-east-1" | null},       # the credential scope region required
   "sso": {"token": "...", "account_id": "...", "role_name": "...",
           "credentials": {"accessKeyId": ..., "secretAccessKey": ..., "sessionToken": ...,
                           "expiration": <epoch ms>}},
   "container": {"authorization": "..." | null, "fail_first": N, "status": 200,
                 "credentials": {"AccessKeyId": ..., "SecretAccessKey": ..., "Token": ...,
                                 "Expiration": ...}},
   "imds": {"mode": "v2" | "v1only" | "token400" | "token_hang", "role": "name" | null,
            "credentials": {...same keys as container...}}}
Issued AssumeRole credentials are numbered per role: AccessKeyId = key_prefix + "%04d" % n,
SecretAccessKey = "secret-" + AccessKeyId, SessionToken = "token-" + AccessKeyId.

Every request is appended to the record file as one JSON line before it is answered:
  {"n": 0, "method": "POST", "path": "/", "query": "...", "headers": [[name, value], ...],
   "body": "...", "form": {...} (STS), "sigv4": "ok" | "<why not>" (STS)}
The server exits on SIGTERM, when its parent dies (the C test sets PR_SET_PDEATHSIG), or after
--max-seconds (default 120).
"""
import argparse
import calendar
import http.server
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from aws_endpoint.request import RawRequest, decode_pairs  # noqa: E402
from aws_endpoint.sigv4 import AuthFailure, Credential, SigV4Verifier  # noqa: E402

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
IMDS_TOKEN = "imds-session-token-AQAEAExample=="
XML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def xml_escape(text):
    return "".join(XML_ESCAPES.get(c, c) for c in text)


class State:
    def __init__(self, state_path, record_path):
        self.state_path = state_path
        self.record_path = record_path
        self.lock = threading.Lock()
        self.count = 0
        self.issued = {}  # access key id -> Credential
        self.per_role = {}  # role arn -> number issued

    def load(self):
        try:
            with open(self.state_path, encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def record(self, entry):
        with self.lock:
            entry["n"] = self.count
            self.count += 1
            with open(self.record_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
                f.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "creds_server"
    sys_version = ""

    def log_message(self, *args):
        pass

    # ---- plumbing ----

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def answer(self, status, body, content_type="application/json", headers=None):
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def entry(self, body):
        path, _, query = self.path.partition("?")
        return {
            "method": self.command,
            "path": path,
            "query": query,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("utf-8", "replace"),
        }

    def do_PUT(self):
        self.dispatch()

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def dispatch(self):
        body = self.read_body()
        st = self.server.state
        state = st.load()
        entry = self.entry(body)
        path = entry["path"]
        try:
            if self.command == "POST" and path == "/":
                self.sts(state, entry, body)
            elif path == "/federation/credentials":
                st.record(entry)
                self.sso(state, entry)
            elif path.startswith("/container/"):
                st.record(entry)
                self.container(state, entry)
            elif path.startswith("/latest/"):
                st.record(entry)
                self.imds(state, entry)
            else:
                st.record(entry)
                self.answer(404, '{"message": "no such path"}')
        except (BrokenPipeError, ConnectionResetError):
            pass

    # ---- STS ----

    def sts_error(self, status, code, message):
        body = (
            '<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code>'
            "<Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>"
            % (STS_NS, code, xml_escape(message), uuid.uuid4())
        )
        self.answer(status, body, "text/xml")

    def sts(self, state, entry, body):
        st = self.server.state
        cfg = state.get("sts", {})
        form = dict(decode_pairs(body.decode("utf-8"), plus_is_space=True))
        entry["form"] = form
        known = {k: Credential(k, v[0], v[1]) for k, v in cfg.get("sources", {}).items()}
        with st.lock:
            known.update(st.issued)
        req = RawRequest(self.command, self.path, list(self.headers.items()), body)
        verifier = SigV4Verifier(known, max_skew=10**10)
        region = cfg.get("region")
        try:
            verified = verifier.verify(
                req, expect_service="sts", region_ok=(lambda r: r == region) if region else None
            )
            entry["sigv4"] = "ok"
            entry["signed_by"] = verified.access_key
            entry["signed_region"] = verified.region
        except AuthFailure as e:
            entry["sigv4"] = "%s: %s" % (e.kind, e.message)
        st.record(entry)
        if entry["sigv4"] != "ok":
            kind = entry["sigv4"].split(":")[0]
            code = {
                "missing": "MissingAuthenticationToken",
                "unknown_key": "InvalidClientTokenId",
                "token": "InvalidClientTokenId",
            }.get(kind, "SignatureDoesNotMatch")
            return self.sts_error(403, code, entry["sigv4"])
        if form.get("Action") != "AssumeRole" or form.get("Version") != "2011-06-15":
            return self.sts_error(400, "InvalidAction", "Could not find operation %s" % form.get("Action"))
        for required in ("RoleArn", "RoleSessionName"):
            if not form.get(required):
                return self.sts_error(400, "MissingParameter",
                                      "The request must contain the parameter %s" % required)
        arn = form["RoleArn"]
        if cfg.get("deny"):
            return self.sts_error(403, "AccessDenied", cfg["deny"])
        role = cfg.get("roles", {}).get(arn)
        if role is None:
            return self.sts_error(403, "AccessDenied",
                                  "User: arn:aws:iam::123456789012:user/test is not authorized to "
                                  "perform: sts:AssumeRole on resource: %s" % arn)
        if "SerialNumber" in form and not form.get("TokenCode"):
            return self.sts_error(403, "AccessDenied", "MultiFactorAuthentication failed, no TokenCode")
        with st.lock:
            n = st.per_role.get(arn, 0) + 1
            st.per_role[arn] = n
            akid = "%s%04d" % (role["key_prefix"], n)
            st.issued[akid] = Credential(akid, "secret-" + akid, "token-" + akid)
        expiration = role.get("expiration")
        if not expiration:
            signed = calendar.timegm(time.strptime(self.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
            duration = int(form.get("DurationSeconds") or 3600)
            expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(signed + duration))
        name = arn.rsplit("/", 1)[-1]
        body = (
            '<AssumeRoleResponse xmlns="%s"><AssumeRoleResult><AssumedRoleUser>'
            "<AssumedRoleId>AROAEXAMPLE:%s</AssumedRoleId>"
            "<Arn>arn:aws:sts::123456789012:assumed-role/%s/%s</Arn></AssumedRoleUser>"
            "<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>"
            "<SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>"
            "</AssumeRoleResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>"
            "</AssumeRoleResponse>"
            % (STS_NS, xml_escape(form["RoleSessionName"]), xml_escape(name),
               xml_escape(form["RoleSessionName"]), akid, "secret-" + akid, "token-" + akid,
               expiration, uuid.uuid4())
        )
        self.answer(200, body, "text/xml")

    # ---- IAM Identity Center ----

    def sso(self, state, entry):
        cfg = state.get("sso", {})
        q = dict(urllib.parse.parse_qsl(entry["query"]))
        token = self.headers.get("x-amz-sso_bearer_token")
        if self.command != "GET":
            return self.answer(405, '{"message": "method"}')
        if not token or token != cfg.get("token"):
            return self.answer(401, '{"message": "Session token not found or invalid"}',
                               headers={"x-amzn-ErrorType": "UnauthorizedException"})
        if q.get("account_id") != cfg.get("account_id") or q.get("role_name") != cfg.get("role_name"):
            return self.answer(403, '{"message": "No access"}',
                               headers={"x-amzn-ErrorType": "ForbiddenException"})
        self.answer(200, json.dumps({"roleCredentials": cfg["credentials"]}))

    # ---- container ----

    def container(self, state, entry):
        st = self.server.state
        cfg = state.get("container", {})
        want = cfg.get("authorization")
        with st.lock:
            # fail_first counts the requests since the state last changed
            text = json.dumps(cfg, sort_keys=True)
            if getattr(st, "container_state", None) != text:
                st.container_state = text
                st.container_calls = 0
            st.container_calls += 1
            calls = st.container_calls
        if want is not None and self.headers.get("Authorization") != want:
            return self.answer(401, '{"message": "bad authorization"}')
        if calls <= cfg.get("fail_first", 0) or cfg.get("status", 200) != 200:
            return self.answer(cfg.get("status", 200) if cfg.get("status", 200) != 200 else 500,
                               '{"message": "try again"}')
        self.answer(200, json.dumps(cfg["credentials"]))

    # ---- instance metadata ----

    def imds(self, state, entry):
        cfg = state.get("imds", {})
        mode = cfg.get("mode", "v2")
        path = entry["path"]
        base = "/latest/meta-data/iam/security-credentials/"
        if path == "/latest/api/token":
            if self.command != "PUT":
                return self.answer(405, "", "text/plain")
            if mode == "v1only":
                return self.answer(404, "", "text/plain")
            if mode == "token400":
                return self.answer(400, "", "text/plain")
            if mode == "token_hang":
                time.sleep(3)
                return self.answer(200, IMDS_TOKEN, "text/plain")
            ttl = self.headers.get("x-aws-ec2-metadata-token-ttl-seconds", "")
            if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return self.answer(400, "", "text/plain")
            return self.answer(200, IMDS_TOKEN, "text/plain")
        token = self.headers.get("x-aws-ec2-metadata-token")
        if mode == "v2" and token != IMDS_TOKEN:
            return self.answer(401, "", "text/plain")
        if self.command != "GET" or not path.startswith(base):
            return self.answer(404, "", "text/plain")
        role = cfg.get("role")
        if not role:
            return self.answer(404, "", "text/plain")
        if path == base:
            return self.answer(200, role, "text/plain")
        if path[len(base):] != role:
            return self.answer(404, "", "text/plain")
        creds = dict(cfg["credentials"])
        creds.update({"Code": "Success", "LastUpdated": "2029-12-31T23:00:00Z", "Type": "AWS-HMAC"})
        self.answer(200, json.dumps(creds), "text/plain")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--max-seconds", type=int, default=120)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.state = State(args.state, args.record)
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    timer = threading.Timer(args.max_seconds, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
