"""The HTTP server: one loopback port for every service and the control API.

A request goes: route by the SigV4 credential scope's service -> verify the signature
-> find the operation (protocol) -> injected faults -> parse into parameters ->
validate against the model -> back end -> serialize. Every step's failure is answered
the way AWS answers it for that protocol, and every request is logged (GET
/__control/requests). See README.md for the command line and the control API.
"""

import argparse
import http.server
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
import urllib.parse

from . import errors, models
from .apprunner import AppRunnerBackend
from .awsjson import AwsJsonProtocol
from .backend import Call, Context
from .cloudfront import CloudFrontBackend
from .cloudwatch import CloudWatchBackend
from .control import Control, ControlError, is_loopback_host
from .errors import ApiError
from .query import QueryProtocol
from .request import RawRequest, decode_pairs
from .restxml import RestXmlProtocol, new_request_id
from .shapes import ShapeError
from .sigv4 import AuthFailure, Credential, SigV4Verifier, auth_api_error
from .sns import SnsBackend
from .validation import validate

MAX_BODY = 8 * 1024 * 1024
PROTOCOLS = {"rest-xml": RestXmlProtocol, "json": AwsJsonProtocol, "query": QueryProtocol}


class Endpoint:
    """Everything the server holds: context, back ends, protocols, verifier, control."""

    def __init__(self, credentials, account_id="123456789012", seed=None):
        self.ctx = Context(account_id=account_id, seed=seed)
        self.control = Control()
        self.verifier = SigV4Verifier({c.access_key: c for c in credentials}, clock=self.ctx.now)
        self.protocols = {}
        self.backends = {}
        sns = SnsBackend(self.ctx, models.service_model("sns"))
        for backend in (
            CloudFrontBackend(self.ctx, models.service_model("cloudfront")),
            AppRunnerBackend(self.ctx, models.service_model("apprunner")),
            CloudWatchBackend(self.ctx, models.service_model("monitoring"), sns=sns),
            sns,
        ):
            name = backend.signing_name
            self.backends[name] = backend
            model = backend.model
            self.protocols[name] = PROTOCOLS[model.protocol](model)
        self.port = None
        self.dump_path = None
        self.log_file = None

    # ---- routing before authentication ---------------------------------------------------
    def guess_service(self, req):
        """The service an unsigned or badly signed request was meant for (for the error format)."""
        target = req.header("X-Amz-Target") or ""
        if target.startswith(self.protocols["apprunner"].prefix + "."):
            return "apprunner"
        if req.raw_path.startswith("/2020-05-31/"):
            return "cloudfront"
        pairs = req.query_pairs()
        if req.method == "POST":
            try:
                pairs = decode_pairs(req.body.decode("utf-8"), plus_is_space=True)
            except UnicodeDecodeError:
                pairs = []
        version = dict(pairs).get("Version")
        if version == self.backends["sns"].model.api_version:
            return "sns"
        return "monitoring"

    def region_rule(self, service):
        spec = models.SERVICES[service]
        if spec.global_region:
            return lambda region: region == spec.global_region
        return models.valid_region

    # ---- the pipeline -------------------------------------------------------------------
    def handle(self, req):
        """Return ('drop', None) or ('answer', (status, headers, body))."""
        request_id = new_request_id()
        req.request_id = request_id
        entry = {
            "at": time.time(),
            "method": req.method,
            "path": req.raw_path,
            "service": None,
            "region": None,
            "operation": None,
            "access_key": None,
            "status": None,
            "error": None,
            "stage": None,
            "message": None,
            "validation": None,
            "fault": None,
            "request_id": request_id,
        }
        events = []
        service = None
        protocol = None
        try:
            auth = None
            try:
                auth = self.verifier.parse(req)
                service = auth.service
                entry["access_key"] = auth.access_key
                entry["region"] = auth.region
            except AuthFailure as failure:
                service = self.guess_service(req)
                raise self._stage(auth_api_error(failure, self._protocol_name(service)), "auth")
            if service not in self.backends:
                guessed = self.guess_service(req)
                failure = AuthFailure("signature", "Credential should be scoped to correct service: '%s'." % guessed)
                service = guessed
                raise self._stage(auth_api_error(failure, self._protocol_name(service)), "auth")
            entry["service"] = service
            protocol = self.protocols[service]
            backend = self.backends[service]
            try:
                self.verifier.verify(req, auth, expect_service=service, region_ok=self.region_rule(service))
            except AuthFailure as failure:
                if failure.detail:
                    entry["auth_detail"] = failure.detail
                raise self._stage(auth_api_error(failure, protocol.name), "auth")
            with self.ctx.lock:
                for b in self.backends.values():
                    b.tick(self.ctx.now(), events)
            try:
                op = protocol.find_operation(req)
            except ApiError as e:
                raise self._stage(e, "route")
            entry["operation"] = op.name
            delay, terminal = self.control.pick_faults(service, op.name, auth.access_key)
            if delay is not None:
                entry["fault"] = "delay"
                time.sleep(delay.delay_s)
            if terminal is not None:
                entry["fault"] = terminal.kind
                if terminal.kind == "drop":
                    entry["stage"] = "fault"
                    return "drop", None
                if terminal.kind == "throttle":
                    raise self._stage(errors.throttling(protocol.name), "fault")
                if terminal.kind == "internal":
                    raise self._stage(errors.internal_failure(), "fault")
                raise self._stage(errors.service_unavailable(), "fault")
            try:
                params = protocol.parse(req, op)
            except ShapeError as e:
                entry["validation"] = "%s: %s" % (e.path, e.reason)
                raise self._stage(backend.shape_error(op, e), "parse")
            except ApiError as e:
                raise self._stage(e, "parse")
            violations = validate(params, op.input_shape)
            if req.ignored_members:
                entry["ignored_members"] = list(req.ignored_members)
            if violations:
                entry["validation"] = "; ".join(v.message for v in violations)
                raise self._stage(backend.validation_error(op, violations), "validate")
            entry["validation"] = "ok"
            entry["params"] = json.loads(json.dumps(params, default=str))
            call = Call(op, params, auth.region, req, auth.access_key)
            try:
                result = backend.handle(call)
            finally:
                events.extend(call.events)
            answer = protocol.serialize(op, result or {}, request_id)
            entry["status"] = answer[0]
            return "answer", answer
        except ApiError as e:
            entry["status"] = e.status
            entry["error"] = e.code
            entry["stage"] = e.stage or "state"
            entry["message"] = e.message
            proto = protocol or self.protocols.get(service or "monitoring")
            return "answer", proto.serialize_error(e, request_id)
        except Exception:  # noqa: BLE001 - a bug here must still answer like AWS, and be seen
            traceback.print_exc(file=sys.stderr)
            e = errors.internal_failure()
            entry["status"] = e.status
            entry["error"] = e.code
            entry["stage"] = "bug"
            proto = protocol or self.protocols.get(service or "monitoring")
            return "answer", proto.serialize_error(e, request_id)
        finally:
            self.control.fire(events)
            entry["events"] = events
            self.control.record(entry)
            if self.log_file is not None:
                with self.control.lock:
                    self.log_file.write(json.dumps(entry, default=str) + "\n")
                    self.log_file.flush()

    def _protocol_name(self, service):
        return self.backends[service].model.protocol

    @staticmethod
    def _stage(err, stage):
        err.stage = stage
        return err

    def tick(self):
        events = []
        with self.ctx.lock:
            for b in self.backends.values():
                b.tick(self.ctx.now(), events)
        self.control.fire(events)

    # ---- state --------------------------------------------------------------------------
    def dump_state(self):
        with self.ctx.lock:
            return {
                "account_id": self.ctx.account_id,
                "settings": self.ctx.settings.to_json(),
                "clock_offset": self.ctx.clock_offset,
                "services": {name: b.dump() for name, b in self.backends.items()},
            }

    def load_state(self, data):
        with self.ctx.lock:
            for name, part in (data.get("services") or {}).items():
                if name not in self.backends:
                    raise ControlError("unknown service %s in state" % name)
                self.backends[name].load(part)
            if "settings" in data:
                self.ctx.settings.update(data["settings"])

    # ---- control API --------------------------------------------------------------------
    def control_request(self, method, path, query, body):
        """Return (status, json document)."""
        try:
            doc = json.loads(body.decode("utf-8")) if body.strip() else {}
        except ValueError:
            return 400, {"error": "body must be JSON"}
        sub = path[len("/__control"):].strip("/")
        try:
            return self._control(method, sub, query, doc)
        except (ControlError, ValueError, KeyError, TypeError) as e:
            return 400, {"error": "%s: %s" % (type(e).__name__, e)}

    def _control(self, method, sub, query, doc):
        if sub == "" and method == "GET":
            return 200, {
                "port": self.port,
                "services": {n: {"protocol": b.model.protocol, "api_version": b.model.api_version} for n, b in self.backends.items()},
                "settings": self.ctx.settings.to_json(),
                "account_id": self.ctx.account_id,
                "routes": CONTROL_ROUTES,
            }
        if sub == "requests":
            if method == "GET":
                since = int(query.get("since", ["0"])[0])
                return 200, {"requests": self.control.log_json(since)}
            if method == "DELETE":
                self.control.clear_log()
                return 200, {"ok": True}
        if sub == "faults":
            if method == "POST":
                return 200, self.control.add_fault(doc)
            if method == "GET":
                return 200, {"faults": self.control.faults_json()}
            if method == "DELETE":
                self.control.clear_faults()
                return 200, {"ok": True}
        if sub == "hooks":
            if method == "POST":
                return 200, self.control.add_hook(doc)
            if method == "GET":
                return 200, self.control.hooks_json()
            if method == "DELETE":
                self.control.clear_hooks()
                return 200, {"ok": True}
        if sub == "state":
            if method == "GET":
                return 200, self.dump_state()
            if method == "PUT":
                self.load_state(doc)
                return 200, {"ok": True}
        if sub == "settings":
            if method == "PUT":
                with self.ctx.lock:
                    self.ctx.settings.update(doc)
            if method in ("GET", "PUT"):
                return 200, self.ctx.settings.to_json()
        if sub == "clock" and method == "POST":
            with self.ctx.lock:
                self.ctx.clock_offset = float(doc.get("offset_s", 0))
            return 200, {"offset_s": self.ctx.clock_offset, "now": self.ctx.now()}
        if sub == "credentials" and method == "POST":
            cred = Credential(doc["access_key"], doc["secret_key"], doc.get("token"))
            self.verifier.credentials[cred.access_key] = cred
            return 200, {"access_key": cred.access_key}
        if sub == "apprunner/services" and method == "POST":
            region = doc["region"]
            if not models.valid_region(region):
                raise ControlError("not an AWS region: %s" % region)
            service = self.backends["apprunner"].seed_service(region, doc["name"], doc.get("status", "RUNNING"), doc.get("url"))
            return 200, json.loads(json.dumps(service, default=str))
        if sub == "apprunner/status" and method == "POST":
            events = []
            service = self.backends["apprunner"].force_status(doc["service"], doc.get("region"), doc["status"], events)
            self.control.fire(events)
            return 200, json.loads(json.dumps(service, default=str))
        if sub == "cloudfront/deploy" and method == "POST":
            with self.ctx.lock:
                done = []
                for rec in self.backends["cloudfront"].distributions.values():
                    if doc.get("id") in (None, rec["id"]) and rec["status"] == "InProgress":
                        rec["status"] = "Deployed"
                        done.append(rec["id"])
            return 200, {"deployed": done}
        if sub == "sns/confirm" and method == "POST":
            return 200, {"confirmed": self.backends["sns"].confirm_all()}
        return 404, {"error": "no control route %s %s" % (method, sub), "routes": CONTROL_ROUTES}


CONTROL_ROUTES = [
    "GET /__control",
    "GET|DELETE /__control/requests[?since=SEQ]",
    "POST|GET|DELETE /__control/faults",
    "POST|GET|DELETE /__control/hooks",
    "GET|PUT /__control/state",
    "GET|PUT /__control/settings",
    "POST /__control/clock",
    "POST /__control/credentials",
    "POST /__control/apprunner/services",
    "POST /__control/apprunner/status",
    "POST /__control/cloudfront/deploy",
    "POST /__control/sns/confirm",
]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AmazonLocalEndpoint"
    sys_version = ""

    def log_message(self, fmt, *args):  # the request log replaces http.server's stderr lines
        pass

    def _read_body(self):
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(100)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(10)
            return b"".join(chunks)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        n = int(length)
        if n < 0 or n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n)

    def _answer(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _dispatch(self):
        endpoint = self.server.endpoint
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._answer(413, [("Content-Type", "text/plain")], b"request body too large\n")
            return
        # http.server decodes the request line as Latin-1; the bytes are UTF-8.
        target = self.path.encode("latin-1").decode("utf-8", "replace")
        if target.split("?", 1)[0].rstrip("/") == "/__control" or target.startswith("/__control/"):
            if not is_loopback_host(self.client_address[0]):
                self._answer(403, [("Content-Type", "application/json")], b'{"error":"loopback only"}')
                return
            parts = urllib.parse.urlsplit(target)
            status, doc = endpoint.control_request(self.command, parts.path, urllib.parse.parse_qs(parts.query), body)
            self._answer(status, [("Content-Type", "application/json")], json.dumps(doc, default=str).encode())
            return
        headers = [(k, v) for k, v in self.headers.raw_items()]
        req = RawRequest(self.command, target, headers, body, peer=self.client_address)
        action, answer = endpoint.handle(req)
        if action == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._answer(*answer)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _dispatch


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, endpoint, ipv6=False):
        if ipv6:
            self.address_family = socket.AF_INET6
        self.endpoint = endpoint
        super().__init__(address, Handler)


def parse_args(argv):
    p = argparse.ArgumentParser(description="Strict local AWS endpoint (CloudFront, App Runner, CloudWatch, SNS).")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (127.0.0.1 or ::1)")
    p.add_argument("--port", type=int, default=0, help="port (0: an ephemeral port, printed on stdout)")
    p.add_argument("--credentials", action="append", default=[], metavar="AKID:SECRET[:TOKEN]", help="known credentials (repeat)")
    p.add_argument("--account-id", default="123456789012")
    p.add_argument("--seed-service", action="append", default=[], metavar="REGION:NAME[=HOST]", help="an existing RUNNING App Runner service, optionally with its ServiceUrl host (repeat)")
    p.add_argument("--deploy-polls", type=int, default=3, help="GetDistribution calls until Deployed")
    p.add_argument("--deploy-seconds", type=float, default=None, help="seconds until Deployed (also)")
    p.add_argument("--service-polls", type=int, default=3, help="DescribeService calls until an operation completes")
    p.add_argument("--service-seconds", type=float, default=None, help="seconds until an operation completes (also)")
    p.add_argument("--max-origin-read-timeout", type=int, default=60, help="CloudFront origin read timeout quota (60, up to 180)")
    p.add_argument("--dump-state", metavar="FILE", help="write the state as JSON here on exit")
    p.add_argument("--load-state", metavar="FILE", help="start from a state written by --dump-state")
    p.add_argument("--request-log", metavar="FILE", help="append every request's log entry as a JSON line")
    p.add_argument("--seed", type=int, default=None, help="random seed for ids (reproducible runs)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    if not is_loopback_host(args.host) or args.host == "localhost":
        print("aws_endpoint: --host must be a loopback address (127.0.0.1 or ::1)", file=sys.stderr)
        return 2
    try:
        creds = [Credential.parse(c) for c in args.credentials]
    except ValueError as e:
        print("aws_endpoint: %s" % e, file=sys.stderr)
        return 2
    if not creds:
        print("aws_endpoint: give at least one --credentials AKID:SECRET[:TOKEN]", file=sys.stderr)
        return 2
    endpoint = Endpoint(creds, account_id=args.account_id, seed=args.seed)
    endpoint.ctx.settings.update(
        {
            "deploy_polls": args.deploy_polls,
            "deploy_seconds": args.deploy_seconds,
            "service_polls": args.service_polls,
            "service_seconds": args.service_seconds,
            "max_origin_read_timeout": args.max_origin_read_timeout,
        }
    )
    if args.load_state:
        with open(args.load_state, encoding="utf-8") as f:
            endpoint.load_state(json.load(f))
    for seed in args.seed_service:
        region, sep, rest = seed.partition(":")
        name, _, url = rest.partition("=")
        if not sep or not models.valid_region(region) or not name:
            print("aws_endpoint: --seed-service wants REGION:NAME[=SERVICE_URL_HOST], got %s" % seed, file=sys.stderr)
            return 2
        try:
            endpoint.backends["apprunner"].seed_service(region, name, url=url or None)
        except ValueError as e:
            print("aws_endpoint: --seed-service %s: %s" % (seed, e), file=sys.stderr)
            return 2
    if args.request_log:
        endpoint.log_file = open(args.request_log, "a", encoding="utf-8")
    server = Server((args.host, args.port), endpoint, ipv6=":" in args.host)
    endpoint.port = server.server_address[1]
    host = "[%s]" % args.host if ":" in args.host else args.host
    print(json.dumps({"port": endpoint.port, "control": "http://%s:%d/__control" % (host, endpoint.port)}), flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    serving.start()
    while not stop.wait(0.2):
        try:
            endpoint.tick()
        except Exception:  # noqa: BLE001 - keep serving; the traceback tells what broke
            traceback.print_exc(file=sys.stderr)
    server.shutdown()
    server.server_close()
    if args.dump_state:
        tmp = args.dump_state + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(endpoint.dump_state(), f, indent=1, sort_keys=True, default=str)
        os.replace(tmp, args.dump_state)
    if endpoint.log_file is not None:
        endpoint.log_file.close()
    return 0
