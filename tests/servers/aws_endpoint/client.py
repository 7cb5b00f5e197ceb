"""Test helpers: start/stop the endpoint by PID, and a botocore-based raw client.

EndpointProcess runs tests/servers/aws_endpoint.py with /usr/bin/python3, reads the
first stdout line for the port, and always stops the process it started (terminate,
then kill) by its PID.

RawClient serializes operation parameters with botocore's own serializers (without
client-side validation, so a test can send what the AWS CLI would refuse to), signs
with botocore's SigV4Auth and sends over loopback; or hands the request to an
in-process Endpoint without a socket. Responses are parsed with botocore's parsers.
"""

import http.client
import json
import os
import select
import subprocess
import sys
import time
import urllib.parse

from botocore import parsers, serialize
from botocore.auth import SigV4Auth
from botocore.awsrequest import HTTPHeaders, create_request_object, prepare_request_dict
from botocore.credentials import Credentials

from . import models
from .request import RawRequest

HERE = os.path.dirname(os.path.abspath(__file__))
ENTRY = os.path.join(os.path.dirname(HERE), "aws_endpoint.py")
PYTHON = "/usr/bin/python3"


class EndpointProcess:
    """The endpoint as a child process. Use as a context manager; stop() is idempotent."""

    def __init__(self, args, startup_timeout=15.0, stderr_path=None):
        self.args = list(args)
        self.startup_timeout = startup_timeout
        self.stderr_path = stderr_path
        self.proc = None
        self.port = None
        self._stderr = None

    def start(self):
        self._stderr = open(self.stderr_path, "wb") if self.stderr_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [PYTHON, ENTRY] + self.args,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.startup_timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("the endpoint did not start (first line so far: %r)" % line)
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 1)
                if not chunk:
                    continue
                line += chunk
        info = json.loads(line.decode())
        self.port = info["port"]
        self.control_url = info["control"]
        return self

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self, timeout=5.0):
        """Stop the process by PID; return its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        if self.proc.stdout:
            self.proc.stdout.close()
        if self._stderr not in (None, subprocess.DEVNULL):
            self._stderr.close()
            self._stderr = None
        return self.proc.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def control(self, method, path, doc=None, timeout=10):
        return control_call(self.port, method, path, doc, timeout)


def control_call(port, method, path, doc=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        body = json.dumps(doc).encode() if doc is not None else None
        conn.request(method, "/__control" + path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read().decode() or "null")
    finally:
        conn.close()


class Response:
    def __init__(self, status, headers, body, parsed):
        self.status = status
        self.headers = headers
        self.body = body
        self.parsed = parsed

    @property
    def error_code(self):
        return (self.parsed or {}).get("Error", {}).get("Code")

    @property
    def error_message(self):
        return (self.parsed or {}).get("Error", {}).get("Message")


class RawClient:
    """Serialize with botocore, sign with botocore, send raw."""

    def __init__(self, endpoint_url, access_key, secret_key, token=None):
        self.endpoint_url = endpoint_url
        self.credentials = Credentials(access_key, secret_key, token)
        parts = urllib.parse.urlsplit(endpoint_url)
        self.host = parts.hostname
        self.port = parts.port

    def build(self, service, op_name, params, region, before_sign=None, sign=True):
        """A signed botocore AWSRequest for op_name(params)."""
        model = models.service_model(service)
        op = model.operation_model(op_name)
        request_dict = serialize.create_serializer(model.protocol, include_validation=False).serialize_to_request(params, op)
        prepare_request_dict(request_dict, self.endpoint_url, user_agent="cfdr-tests/1 botocore")
        request = create_request_object(request_dict)
        request.headers["Host"] = urllib.parse.urlsplit(self.endpoint_url).netloc
        if before_sign is not None:
            before_sign(request)
        if sign:
            SigV4Auth(self.credentials, model.signing_name, region).add_auth(request)
        return request

    def send(self, request, timeout=10):
        prepared = request.prepare()
        parts = urllib.parse.urlsplit(prepared.url)
        target = parts.path + ("?" + parts.query if parts.query else "")
        body = prepared.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(prepared.method, target, body=body, headers=dict(prepared.headers.items()))
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def call(self, service, op_name, params, region, before_sign=None, after_sign=None, sign=True):
        request = self.build(service, op_name, params, region, before_sign=before_sign, sign=sign)
        if after_sign is not None:
            after_sign(request)
        status, headers, body = self.send(request)
        return Response(status, headers, body, parse_response(service, op_name, status, headers, body))


def to_raw_request(request):
    """The RawRequest an endpoint would receive for a botocore AWSRequest."""
    prepared = request.prepare()
    parts = urllib.parse.urlsplit(prepared.url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = list(prepared.headers.items())
    if body and not any(k.lower() == "content-length" for k, _ in headers):
        headers.append(("Content-Length", str(len(body))))
    return RawRequest(prepared.method, target, headers, body, peer=("127.0.0.1", 0))


def parse_response(service, op_name, status, headers, body):
    model = models.service_model(service)
    op = model.operation_model(op_name)
    hdrs = HTTPHeaders()
    for k, v in headers:
        hdrs[k] = v
    parser = parsers.create_parser(model.protocol)
    try:
        return parser.parse({"status_code": status, "headers": hdrs, "body": body}, op.output_shape)
    except Exception as e:  # noqa: BLE001 - a response botocore cannot parse is a test failure, not a crash
        print("botocore could not parse %s %s response: %s" % (service, op_name, e), file=sys.stderr)
        return None
