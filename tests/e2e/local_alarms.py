#!/usr/bin/python3
"""End to end, offline: the local alarms (docs/ALARMS.md, Local mode) through the cfdr binary.

create --local, alarms setup (webhook on loopback, e-mail through tests/servers/smtp_sink.py, the
JSON-lines file), alarms test, a drill, verify-failback, alarms status, destroy — asserting that
the failover-active ALARM reaches the webhook < 2 s after the outage started and the report's
alert_seconds < 2, that the OK follows the failback, that mail arrives, that a webhook that is
down gets everything in order once it is back, that a refusing SMTP server is retried and
reported, that bad addresses and periods are refused, and that destroy leaves no process.
Also: alert_seconds is the webhook's (a webhook that answers 1.5 s late makes it 1.5 s later than
the file's delivery) and the report says so (alert_target); two webhooks on one host, one
answering 500, are told apart by alarms test; destroy discards (and counts) what the spool held,
removes alarmd.json, and a later create + setup receives nothing of the destroyed setup.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIN = os.environ.get("CFDR_BIN")
SRC = os.path.abspath(os.environ.get("CFDR_SOURCE_DIR",
                                     os.path.join(os.path.dirname(__file__), "..", "..")))
PY = os.environ.get("PYTHON", "/usr/bin/python3")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr, flush=True)
    return cond


def wait_for(pred, timeout, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Webhook:
    """An HTTP receiver on 127.0.0.1 that records each POST with its receipt time. It can be
    stopped and started again on the same port (a receiver that is down for a while)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.got = []
        self.port = 0
        self.server = None
        self.thread = None
        self.delay = 0.0  # seconds to wait before answering (a slow receiver)

    def start(self):
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                t = time.time()
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc = None
                bad = "/bad" in self.path  # a second webhook on this host that fails
                with hook.lock:
                    if not bad:
                        hook.got.append({"at": t, "doc": doc,
                                         "type": self.headers.get("x-amz-sns-message-type")})
                    delay = hook.delay
                if delay:
                    time.sleep(delay)
                self.send_response(500 if bad else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def messages(self):
        """[(receipt time, alarm name, new state, message id)] in receipt order."""
        out = []
        with self.lock:
            for g in self.got:
                d = g["doc"] or {}
                try:
                    m = json.loads(d.get("Message", "{}"))
                except ValueError:
                    m = {}
                out.append((g["at"], m.get("AlarmName"), m.get("NewStateValue"),
                            d.get("MessageId")))
        return out


def cfdr(*args, env=None, timeout=120):
    e = dict(os.environ)
    e["NO_COLOR"] = "1"
    if env:
        e.update(env)
    p = subprocess.run([BIN, "--local"] + list(args), capture_output=True, text=True,
                       timeout=timeout, env=e)
    return p.returncode, p.stdout, p.stderr


def start_smtp(record, *extra):
    p = subprocess.Popen([PY, os.path.join(SRC, "tests", "servers", "smtp_sink.py"), "--record",
                          record, "--max-seconds", "300"] + list(extra),
                         stdout=subprocess.PIPE, text=True)
    port = int(p.stdout.readline().strip())
    return p, port


def mails(record):
    try:
        with open(record) as f:
            return [json.loads(l) for l in f if l.strip()]
    except FileNotFoundError:
        return []


def write_config(path, **alarms):
    with open(path) as f:
        text = re.sub(r"(?m)^\s*//[^\n]*", "", f.read())
    cfg = json.loads(text)
    cfg["drill"]["rate"] = 20
    cfg["drill"]["duration_s"] = 3
    cfg["alarms"].update(alarms)
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)


def iso_to_wall(s):
    import calendar
    base, frac = s.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) + float("0." + frac)


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def state_pids():
    try:
        with open(".cfdr/state.json") as f:
            d = json.load(f)
    except (FileNotFoundError, ValueError):
        return []
    return [r["pid"] for r in d["resources"] if "pid" in r]


def main():
    if not BIN:
        print("CFDR_BIN must point at the cfdr binary", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="cfdr-alarms-")
    os.chdir(work)
    hook = Webhook()
    hook.start()
    sink = bad_sink = None
    record = os.path.join(work, "mail.jsonl")
    bad_record = os.path.join(work, "mail-refused.jsonl")
    try:
        sink, sport = start_smtp(record)
        rc, out, err = cfdr("init")
        check(rc == 0, "init: " + err)
        hook_url = "http://127.0.0.1:%d/hook/secret-token" % hook.port
        smtp_url = "smtp://127.0.0.1:%d" % sport

        # --- bad input first: refused with exit 2 and the JSON path, nothing started
        rc, out, err = cfdr("create")
        check(rc == 0, "create: " + err)
        write_config("cfdr.json", email=["not-an-address"], smtp=smtp_url, period_s=1)
        rc, out, err = cfdr("alarms", "setup")
        check(rc == 2 and "alarms.email[0]" in err and "not an email address" in err,
              "a bad e-mail address is refused: %d %s" % (rc, err))
        write_config("cfdr.json", email=["oncall@example.com"], smtp=None, period_s=1)
        with open("cfdr.json") as f:
            c = json.load(f)
        del c["alarms"]["smtp"]
        with open("cfdr.json", "w") as f:
            json.dump(c, f)
        rc, out, err = cfdr("alarms", "setup")
        check(rc == 2 and "alarms.smtp" in err, "e-mail without a mail server is refused: " + err)
        for bad in (15, 45, 0):
            write_config("cfdr.json", email=[], https=[], period_s=bad)
            rc, out, err = cfdr("alarms", "setup")
            check(rc == 2 and ("alarms.period_s: %d is not allowed" % bad) in err,
                  "period %d is refused: %d %s" % (bad, rc, err))
        check("alarmd" not in json.dumps(json.load(open(".cfdr/state.json"))["resources"]),
              "nothing was started by refused setups")
        write_config("cfdr.json", email=[], https=[], period_s=1)
        rc, out, err = cfdr("alarms", "test")
        check(rc == 2 and "alarms setup" in err, "test before setup says what to do: " + err)
        rc, out, err = cfdr("alarms", "status")
        check(rc == 0 and "no alarms are set up" in err, "status before setup: " + err)

        # --- setup: the evaluator runs; a second setup changes nothing
        write_config("cfdr.json", email=["oncall@example.com"], https=[hook_url], smtp=smtp_url,
                     period_s=1)
        rc, out, err = cfdr("--json", "alarms", "setup")
        check(rc == 0, "alarms setup: " + err)
        doc = json.loads(out) if rc == 0 else {}
        names = [a["name"] for a in doc.get("alarms", [])]
        check(names == ["dr-demo-failover-active", "dr-demo-edge-5xx"], "alarm names %s" % names)
        check("secret-token" not in err and "secret-token" not in out,
              "webhook tokens are not shown")
        pid = doc.get("evaluator", {}).get("pid")
        check(pid and alive(pid), "the evaluator runs")
        rc, out, err = cfdr("--json", "alarms", "setup")
        doc2 = json.loads(out) if rc == 0 else {}
        check(rc == 0 and doc2.get("changed") is False and doc2["evaluator"]["pid"] == pid,
              "a second setup reuses the evaluator: %s" % out[:300])
        with open("cfdr.json") as f:
            c = json.load(f)
        c["drill"]["rate"] = 25  # not something the alarms depend on
        with open("cfdr.json", "w") as f:
            json.dump(c, f)
        rc, out, err = cfdr("--json", "alarms", "setup")
        check(rc == 0 and json.loads(out).get("changed") is False,
              "a change the alarms do not depend on keeps the evaluator: %s" % out[:300])
        rc, out, err = cfdr("--dry-run", "alarms", "setup")
        check(rc == 2 and "without --dry-run" in err, "--local --dry-run is refused: " + err)
        # new alarms go INSUFFICIENT_DATA -> OK and notify (CloudWatch runs OK actions then)
        check(wait_for(lambda: {(a, s) for _, a, s, _ in hook.messages()} >=
                       {("dr-demo-failover-active", "OK"), ("dr-demo-edge-5xx", "OK")}, 5),
              "the webhook got the first OK of both alarms: %s" % hook.messages())

        # --- alarms test: the real path, every target
        rc, out, err = cfdr("alarms", "test")
        check(rc == 0, "alarms test: %s %s" % (out, err))
        check("dr-demo-failover-active notified 3/3" in out and
              "dr-demo-edge-5xx notified 3/3" in out, "test reached all three targets: " + out)
        check(any(a == "dr-demo-failover-active" and s == "ALARM" for _, a, s, _ in
                  hook.messages()), "the webhook got the test ALARM")
        check(wait_for(lambda: any("ALARM: \"dr-demo-failover-active\"" in m.get("data", "")
                                   for m in mails(record)), 5), "the test ALARM was mailed")
        rc, out, err = cfdr("alarms", "test", "no-such-alarm")
        check(rc == 2 and "no alarm is named" in err, "an unknown alarm name: " + err)
        # the next evaluation puts them back to OK
        check(wait_for(lambda: json.loads(cfdr("--json", "alarms", "status")[1])["alarms"][0]
                       ["state"] == "OK", 4), "the test ALARM goes back to OK")

        # --- drill: failover-active ALARM < 2 s after the outage started
        rc, out, err = cfdr("--json", "drill", "outage")
        check(rc == 0, "drill: " + err)
        rep = json.loads(out) if out.strip() else {}
        start = iso_to_wall(rep.get("outage_started_at", "1970-01-01T00:00:00.000Z"))
        alarms_after = [(t, mid) for t, a, s, mid in hook.messages()
                        if a == "dr-demo-failover-active" and s == "ALARM" and t >= start]
        check(alarms_after, "the webhook got the failover ALARM: %s" % hook.messages())
        if alarms_after:
            check(alarms_after[0][0] - start < 2.0,
                  "webhook ALARM %.3f s after the outage started (goal < 2)"
                  % (alarms_after[0][0] - start))
        a_s = rep.get("alert_seconds")
        check(a_s is not None and 0 < a_s < 2.0, "report alert_seconds %s < 2" % a_s)
        # the webhook or the mail, whichever took it first; never the JSON-lines file
        check(rep.get("alert_target") in ("webhook", "email"),
              "alert_seconds is a webhook's or e-mail's: %s" % rep.get("alert_target"))
        reports = sorted(os.listdir(".cfdr/reports"))
        mdf = [f for f in reports if f.startswith("drill-") and f.endswith(".md")]
        if check(mdf, "drill markdown report"):
            check("first notification" in open(".cfdr/reports/" + mdf[-1]).read(),
                  "the Markdown report states the first notification")

        # --- failback: the OK follows
        rc, out, err = cfdr("--json", "verify-failback")
        check(rc == 0, "verify-failback: " + err)
        fb = json.loads(out) if out.strip() else {}
        resume = iso_to_wall(fb.get("resume_started_at", "1970-01-01T00:00:00.000Z"))
        check(wait_for(lambda: any(a == "dr-demo-failover-active" and s == "OK" and t >= resume
                                   for t, a, s, _ in hook.messages()), 4),
              "the webhook got the OK after failback")
        check(fb.get("alert_seconds") is not None, "failback report has alert_seconds (the OK)")

        # --- alert_seconds is when the webhook took it, not when the JSON-lines file did: a
        # webhook that answers 1.5 s late makes the figure 1.5 s later than the file's delivery
        # (the webhook alone, so that the mail does not take the figure)
        write_config("cfdr.json", email=[], https=[hook_url], smtp=smtp_url, period_s=1)
        rc, out, err = cfdr("alarms", "setup")
        check(rc == 0, "setup with the webhook alone: " + err)
        check(wait_for(lambda: json.loads(cfdr("--json", "alarms", "status")[1])
                       ["notifications"]["pending"] == 0, 5), "nothing pending before drill 2")
        hook.delay = 1.5
        try:
            rc, out, err = cfdr("--json", "drill", "outage")
        finally:
            hook.delay = 0.0
        check(rc == 0, "slow-webhook drill: " + err)
        rep2 = json.loads(out) if out.strip() else {}
        start2 = iso_to_wall(rep2.get("outage_started_at", "1970-01-01T00:00:00.000Z"))
        file_at = None
        with open(".cfdr/alarms/deliveries.jsonl") as f:
            for l in f:
                d = json.loads(l)
                if (d["kind"] == "file" and d["alarm"] == "dr-demo-failover-active" and
                        d["state"] == "ALARM" and d["published_at"] >= start2):
                    file_at = d["delivered_at"] if file_at is None else min(file_at,
                                                                             d["delivered_at"])
        a2 = rep2.get("alert_seconds")
        check(file_at is not None, "the file got the drill-2 ALARM")
        check(a2 is not None and file_at is not None and a2 - (file_at - start2) >= 1.3,
              "alert_seconds %s is the slow webhook's, not the file's (%s)"
              % (a2, None if file_at is None else round(file_at - start2, 3)))
        check(rep2.get("alert_target") == "webhook", "report says webhook: %s"
              % rep2.get("alert_target"))
        mdf = sorted(f for f in os.listdir(".cfdr/reports")
                     if f.startswith("drill-") and f.endswith(".md"))
        if mdf:
            check("started (webhook)" in open(".cfdr/reports/" + mdf[-1]).read(),
                  "the Markdown report names the webhook")
        rc, out, err = cfdr("--json", "verify-failback")
        check(rc == 0, "verify-failback after drill 2: " + err)
        write_config("cfdr.json", email=["oncall@example.com"], https=[hook_url], smtp=smtp_url,
                     period_s=1)
        rc, out, err = cfdr("alarms", "setup")
        check(rc == 0, "setup back with e-mail: " + err)
        check(wait_for(lambda: any("OK: \"dr-demo-failover-active\"" in m.get("data", "") and
                                   m.get("rcpt_tos") == ["oncall@example.com"]
                                   for m in mails(record)), 5), "the OK was mailed")

        rc, out, err = cfdr("--json", "alarms", "status")
        st = json.loads(out) if rc == 0 else {}
        check(rc == 0 and st.get("running") is True, "alarms status: " + err)
        check(all(a["state"] in ("OK", "ALARM") and a["updated_at"] for a in st.get("alarms", [])),
              "status states and times")
        # (the evaluator was just restarted: its first evaluation comes within a period)
        check(wait_for(lambda: json.loads(cfdr("--json", "alarms", "status")[1])["alarms"][0]
                       .get("datapoints"), 3), "status has datapoints")
        check(wait_for(lambda: json.loads(cfdr("--json", "alarms", "status")[1])
                       ["notifications"]["pending"] == 0, 5), "nothing pending")
        rc, out, err = cfdr("status")
        check(rc == 0 and "dr-demo-failover-active" in out, "cfdr status shows alarm states")

        # --- an unreachable webhook: retried, reported, and nothing lost once it is back
        hook.stop()
        before = len(hook.messages())
        rc, out, err = cfdr("alarms", "test", "dr-demo-failover-active",
                            env={"CFDR_ALARMS_TEST_WAIT_S": "1.5"})
        check(rc == 1 and "NOT yet received by webhook http://127.0.0.1:%d" % hook.port in err,
              "a down webhook is reported by alarms test: %d %s" % (rc, err))
        check("secret-token" not in err, "the webhook token stays hidden in errors")
        time.sleep(1.2)  # the OK of the next evaluation queues behind the ALARM
        rc, out, err = cfdr("--json", "alarms", "status")
        st = json.loads(out) if rc == 0 else {}
        nt = st.get("notifications", {})
        check(nt.get("pending", 0) >= 2 and nt.get("failed_attempts", 0) >= 1 and
              "webhook" in (nt.get("last_error") or ""),
              "status reports the pending webhook notifications: %s" % nt)
        rc, out, err = cfdr("alarms", "status")
        check("last delivery error" in out, "human status shows the delivery error: " + out)
        hook.start()  # same port
        check(wait_for(lambda: json.loads(cfdr("--json", "alarms", "status")[1])
                       ["notifications"]["pending"] == 0, 15, 0.25),
              "the webhook gets its backlog once it is back")
        after = hook.messages()[before:]
        states = [(a, s) for _, a, s, _ in after]
        check(states[:2] == [("dr-demo-failover-active", "ALARM"),
                             ("dr-demo-failover-active", "OK")],
              "the backlog arrives in order: %s" % states)
        # nothing lost: the webhook got every notification the file target got
        with open(".cfdr/alarms/notifications.jsonl") as f:
            filed = [json.loads(l)["MessageId"] for l in f if l.strip()]
        hooked = [mid for _, _, _, mid in hook.messages()]
        check(filed == hooked, "webhook and file got the same notifications in the same order "
              "(%d vs %d)" % (len(hooked), len(filed)))

        # --- an SMTP server that refuses the recipient: retried and reported; a new mail
        # server (a changed cfdr.json restarts the evaluator) delivers the backlog
        bad_sink, bad_port = start_smtp(bad_record, "--reject-rcpt")
        write_config("cfdr.json", email=["oncall@example.com"], https=[hook_url],
                     smtp="smtp://127.0.0.1:%d" % bad_port, period_s=1)
        rc, out, err = cfdr("--json", "alarms", "setup")
        check(rc == 0 and json.loads(out).get("changed") is True and
              json.loads(out)["evaluator"]["pid"] != pid, "a changed config restarts: " + err)
        pid = json.loads(out)["evaluator"]["pid"] if rc == 0 else pid
        n_mail = len(mails(record))
        rc, out, err = cfdr("alarms", "test", "dr-demo-edge-5xx",
                            env={"CFDR_ALARMS_TEST_WAIT_S": "1.5"})
        check(rc == 1 and "NOT yet received by email oncall@example.com" in err,
              "a refusing SMTP server is reported: %d %s" % (rc, err))
        check(wait_for(lambda: any(m["event"] == "rcpt_rejected" for m in mails(bad_record)), 3),
              "the refusing server was tried")
        rc, out, err = cfdr("--json", "alarms", "status")
        nt = json.loads(out).get("notifications", {}) if rc == 0 else {}
        check(nt.get("pending", 0) >= 1 and "email" in (nt.get("last_error") or ""),
              "status names the e-mail failure: %s" % nt)
        write_config("cfdr.json", email=["oncall@example.com"], https=[hook_url], smtp=smtp_url,
                     period_s=1)
        rc, out, err = cfdr("alarms", "setup")
        check(rc == 0, "setup back to the good mail server: " + err)
        check(wait_for(lambda: any("ALARM: \"dr-demo-edge-5xx\"" in m.get("data", "")
                                   for m in mails(record)[n_mail:]), 10, 0.2),
              "the refused mail is delivered by the next server")

        # --- two webhooks on one host and port: /good answers 200, /bad 500. They show the same
        # http://127.0.0.1:port; alarms test must not count the good one's delivery for both.
        write_config("cfdr.json", email=[], smtp=smtp_url, period_s=1,
                     https=[hook_url, "http://127.0.0.1:%d/bad/other-token" % hook.port])
        rc, out, err = cfdr("alarms", "setup")
        check(rc == 0, "setup with two webhooks on one host: " + err)
        rc, out, err = cfdr("alarms", "test", "dr-demo-edge-5xx",
                            env={"CFDR_ALARMS_TEST_WAIT_S": "1.5"})
        check(rc == 1 and "dr-demo-edge-5xx notified 2/3" in out and
              ("NOT yet received by webhook http://127.0.0.1:%d (alarms.https[1])" % hook.port)
              in err and
              ("received by webhook http://127.0.0.1:%d (alarms.https[0])" % hook.port) in err,
              "a failing webhook next to a good one on the same host is reported: %d %s %s"
              % (rc, out, err))
        check("other-token" not in err and "other-token" not in out, "its token stays hidden")

        # --- a 20 s period is one local mode accepts
        write_config("cfdr.json", email=[], https=[], period_s=20)
        rc, out, err = cfdr("--json", "alarms", "setup")
        check(rc == 0 and json.loads(out).get("period_s") == 20, "period 20 is accepted: " + err)

        # --- an alarm in ALARM already: a day-long period keeps it there (the next evaluation
        # is at midnight UTC). A second alarms test publishes nothing and says what to do next,
        # at once; a drill then finds no ALARM notification due, and says so.
        write_config("cfdr.json", email=[], https=[], period_s=86400)
        rc, out, err = cfdr("alarms", "setup")
        check(rc == 0, "setup with a day-long period: " + err)
        cfdr("alarms", "test", "dr-demo-failover-active")  # to ALARM (or in ALARM already)
        t0 = time.monotonic()
        rc, out, err = cfdr("--json", "alarms", "test", "dr-demo-failover-active")
        took = time.monotonic() - t0
        doc = json.loads(out) if out.strip() else {}
        check(rc == 1 and "in ALARM already" in err and
              "wait for the next evaluation (period_s 86400 s) to return it to OK, then run" in err,
              "a test of an alarm in ALARM says what to do next: %d %s" % (rc, err))
        check(doc.get("wait_limit_s") == 10 and 0 <= doc.get("waited_s", 99) <= took < 5,
              "waited_s is the time waited (%.3f s run), not the limit: %s"
              % (took, {k: doc.get(k) for k in ("waited_s", "wait_limit_s")}))
        rc, out, err = cfdr("--json", "drill", "outage")
        rep = json.loads(out) if out.strip() else {}
        check(rep.get("alert_seconds") is None and
              "no ALARM notification of dr-demo-failover-active was due: the alarm was in ALARM "
              "already when the outage started" in (rep.get("alert_note") or ""),
              "the drill says no notification was due, not that one was lost: %d %s %s"
              % (rc, rep.get("alert_note"), err[-600:]))
        rc, out, err = cfdr("--json", "verify-failback")
        check(rc == 0, "verify-failback after the drill in ALARM: " + err)

        # --- report shows the alarms
        rc, out, err = cfdr("report", "--format", "md")
        check(rc == 0 and "alarms setup" in out and "alarms test" in out,
              "cfdr report lists alarms setup and test")
        check("dr-demo-failover-active: received by 3 of 3 targets" in out and
              "dr-demo-failover-active: not notified: the alarm is in ALARM already" in out and
              "received by 0 of 0" not in out,
              "the report's journal tells a delivered test from a refused one: " + out[-2000:])

        # --- destroy with the webhook down and notifications pending: it says what it
        # discards, removes the configuration (webhook URLs with tokens) and the spool, stops
        # the evaluator, and leaves no process
        write_config("cfdr.json", email=[], https=[hook_url], smtp=smtp_url, period_s=1)
        rc, out, err = cfdr("alarms", "setup")
        check(rc == 0, "setup before destroy: " + err)
        check(wait_for(lambda: json.loads(cfdr("--json", "alarms", "status")[1])
                       ["notifications"]["pending"] == 0, 10, 0.25), "nothing pending yet")
        hook.stop()
        rc, out, err = cfdr("alarms", "test", env={"CFDR_ALARMS_TEST_WAIT_S": "1"})
        check(rc == 1, "alarms test with the webhook down: %d %s" % (rc, err))
        time.sleep(1.2)  # the OKs of the next evaluation queue behind the ALARMs
        before_ids = {mid for _, _, _, mid in hook.messages()}
        pids = state_pids()
        check(len(pids) == 4, "four processes recorded: %s" % pids)
        rc, out, err = cfdr("destroy", "--yes")
        check(rc == 0 and "stopped alarmd alarmd" in err, "destroy stops the evaluator: " + err)
        m = re.search(r"discarded (\d+) undelivered notifications? \((\d+) to webhooks", err)
        check(m and int(m.group(1)) >= 4 and int(m.group(2)) >= 4,
              "destroy says how many undelivered notifications it discarded: " + err)
        check("secret-token" not in err and "secret-token" not in out,
              "destroy shows no webhook token")
        check(not os.path.exists(".cfdr/alarms/alarmd.json") and
              not os.path.exists(".cfdr/alarms/status.json") and
              not os.path.exists(".cfdr/notify-spool"),
              "destroy removes alarmd.json, status.json and the spool: %s"
              % os.listdir(".cfdr/alarms"))
        check(os.path.exists(".cfdr/alarms/deliveries.jsonl"), "the deliveries record stays")
        for name in os.listdir(".cfdr/alarms"):
            with open(os.path.join(".cfdr/alarms", name), errors="replace") as f:
                check("secret-token" not in f.read(), "%s holds no webhook token" % name)
        check(wait_for(lambda: not any(alive(p) for p in pids), 3),
              "no process left after destroy")
        # a new setup with the webhook up gets nothing of the destroyed one
        hook.start()  # same port
        n_before = len(hook.messages())
        rc, out, err = cfdr("create")
        check(rc == 0, "create after destroy: " + err)
        rc, out, err = cfdr("alarms", "setup")
        check(rc == 0, "setup after destroy: " + err)
        check(wait_for(lambda: len(hook.messages()) >= n_before + 2, 5),
              "the new setup's first OKs arrive")
        time.sleep(1.5)
        new = hook.messages()[n_before:]
        check(not any(mid in before_ids for _, _, _, mid in new) and
              all(s == "OK" for _, _, s, _ in new) and len(new) == 2,
              "no stale notification from the destroyed setup: %s"
              % [(a, s) for _, a, s, _ in new])
        pids = state_pids()
        rc, out, err = cfdr("destroy", "--yes")
        check(rc == 0 and "nothing was left undelivered" in err,
              "a destroy with nothing pending says so: " + err)
        check(wait_for(lambda: not any(alive(p) for p in pids), 3),
              "no process left after the second destroy")
    finally:
        hook.stop()
        try:
            cfdr("destroy", "--yes", timeout=30)
        except subprocess.TimeoutExpired:
            pass
        for pid in state_pids():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in (sink, bad_sink):
            if p:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        os.chdir("/")
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        return 1
    print("local alarms: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
