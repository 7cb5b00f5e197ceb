"""Test hooks: fault injection, the request log, status hooks, settings.

Faults: a rule matches requests by service, operation and access key (all optional: a
test can aim at its own client only) and fires on
the next `count` matching requests, or on every `every`-th one (at most `count` times
when both are given). Kinds: throttle (the protocol's throttling error), internal (500
InternalFailure), unavailable (503 ServiceUnavailable), drop (close the connection
without an answer), delay (sleep delay_s, then answer normally).

Hooks: when an App Runner service's status changes to the hook's status, the endpoint
calls the hook's URL (loopback only) before it answers the request that observed the
change, so a client that sees PAUSED knows its stand-in origin is already down.

Everything here is guarded by one lock and owned by the Control object.
"""

import http.client
import ipaddress
import threading
import time
import urllib.parse

FAULT_KINDS = ("throttle", "internal", "unavailable", "drop", "delay")
HOOK_TIMEOUT_S = 2.0
MAX_LOG = 10000


class ControlError(Exception):
    """A bad control request (answered 400 with the message)."""


def is_loopback_host(host):
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class FaultRule:
    def __init__(self, rule_id, spec):
        kind = spec.get("kind")
        if kind not in FAULT_KINDS:
            raise ControlError("fault kind must be one of %s" % ", ".join(FAULT_KINDS))
        self.id = rule_id
        self.kind = kind
        self.service = spec.get("service")
        self.operation = spec.get("operation")
        self.access_key = spec.get("access_key")
        self.count = spec.get("count")
        self.every = spec.get("every")
        self.delay_s = float(spec.get("delay_s", 0))
        for name in ("count", "every"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                raise ControlError("%s must be a positive integer" % name)
        if self.count is None and self.every is None:
            self.count = 1
        if not 0 <= self.delay_s <= 60:
            raise ControlError("delay_s must be between 0 and 60")
        self.seen = 0
        self.fired = 0

    def active(self):
        return self.count is None or self.fired < self.count

    def consider(self, service, operation, access_key=None):
        """Count a matching request; return True when the fault fires on it."""
        if self.access_key and self.access_key != access_key:
            return False
        if self.service and self.service != service:
            return False
        if self.operation and self.operation != operation:
            return False
        if not self.active():
            return False
        self.seen += 1
        if self.every is not None and self.seen % self.every != 0:
            return False
        self.fired += 1
        return True

    def to_json(self):
        return {
            "id": self.id,
            "kind": self.kind,
            "service": self.service,
            "operation": self.operation,
            "access_key": self.access_key,
            "count": self.count,
            "every": self.every,
            "delay_s": self.delay_s,
            "seen": self.seen,
            "fired": self.fired,
            "active": self.active(),
        }


class Hook:
    def __init__(self, hook_id, spec):
        self.id = hook_id
        self.status = spec.get("status")
        if self.status not in ("PAUSED", "RUNNING", "OPERATION_IN_PROGRESS", "DELETED"):
            raise ControlError("hook status must be PAUSED, RUNNING, OPERATION_IN_PROGRESS or DELETED")
        self.service = spec.get("service")  # name or ARN; None = every service
        self.region = spec.get("region")
        self.method = (spec.get("method") or "PUT").upper()
        self.url = spec.get("url") or ""
        self.body = spec.get("body", "")
        self.headers = dict(spec.get("headers") or {})
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme != "http" or not parts.hostname:
            raise ControlError("hook url must be http://<loopback>:<port>/<path>")
        if not is_loopback_host(parts.hostname):
            raise ControlError("hook url must point at a loopback address, not %s" % parts.hostname)

    def matches(self, event):
        if event["status"] != self.status:
            return False
        if self.region and self.region != event["region"]:
            return False
        if self.service and self.service not in (event["name"], event["arn"]):
            return False
        return True

    def to_json(self):
        return {
            "id": self.id,
            "status": self.status,
            "service": self.service,
            "region": self.region,
            "method": self.method,
            "url": self.url,
            "body": self.body,
            "headers": self.headers,
        }


class Control:
    """Faults, request log, hooks and their call log. Thread safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.faults = []
        self.hooks = []
        self.hook_calls = []
        self.log = []
        self.seq = 0
        self.next_id = 1

    def _new_id(self):
        i = self.next_id
        self.next_id += 1
        return i

    # ---- faults -----------------------------------------------------------------
    def add_fault(self, spec):
        with self.lock:
            rule = FaultRule(self._new_id(), spec)
            self.faults.append(rule)
            return rule.to_json()

    def clear_faults(self):
        with self.lock:
            self.faults = []

    def faults_json(self):
        with self.lock:
            return [r.to_json() for r in self.faults]

    def pick_faults(self, service, operation, access_key=None):
        """The faults that fire on this request: a delay (or None) and one terminal kind (or None)."""
        delay = None
        terminal = None
        with self.lock:
            for rule in self.faults:
                if rule.kind == "delay":
                    if delay is None and rule.consider(service, operation, access_key):
                        delay = rule
                elif terminal is None and rule.consider(service, operation, access_key):
                    terminal = rule
        return delay, terminal

    # ---- request log ----------------------------------------------------------------
    def record(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.log.append(entry)
            if len(self.log) > MAX_LOG:
                del self.log[: len(self.log) - MAX_LOG]

    def log_json(self, since=0):
        with self.lock:
            return [dict(e) for e in self.log if e["seq"] > since]

    def clear_log(self):
        with self.lock:
            self.log = []

    # ---- hooks --------------------------------------------------------------------
    def add_hook(self, spec):
        with self.lock:
            hook = Hook(self._new_id(), spec)
            self.hooks.append(hook)
            return hook.to_json()

    def clear_hooks(self):
        with self.lock:
            self.hooks = []
            self.hook_calls = []

    def hooks_json(self):
        with self.lock:
            return {"hooks": [h.to_json() for h in self.hooks], "calls": list(self.hook_calls)}

    def fire(self, events):
        """Call every hook matching each status-change event, synchronously, in order."""
        for event in events:
            with self.lock:
                targets = [h for h in self.hooks if h.matches(event)]
            for hook in targets:
                call = {
                    "hook": hook.id,
                    "event": dict(event),
                    "method": hook.method,
                    "url": hook.url,
                    "at": time.time(),
                }
                try:
                    call["status"] = _http_call(hook.method, hook.url, hook.body, hook.headers)
                except OSError as e:
                    call["error"] = str(e)
                with self.lock:
                    self.hook_calls.append(call)


def _http_call(method, url, body, headers):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=HOOK_TIMEOUT_S)
    try:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        data = body.encode("utf-8") if isinstance(body, str) else body
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()
