#!/usr/bin/python3
"""cfdr's AWS mode end to end, offline.

The strict local AWS endpoint (tests/servers/aws_endpoint.py) plays CloudFront and App Runner,
seeded with the two services of cfdr.json whose URLs are the hosts of two local App Runner
stand-ins (`cfdr _standin`, us-east-1 and us-west-2). A local `cfdr edge` is configured from the
DistributionConfig cfdr created (read back with GetDistributionConfig, as the AWS CLI prints
it), and endpoint hooks take the primary stand-in down when PauseService makes it PAUSED and
bring it back when ResumeService makes it RUNNING. The drills reach that edge through
CFDR_EDGE_URL_OVERRIDE (the AWS provider's test hook) instead of https://<distribution domain>/.
The stand-ins answer like App Runner's sample image: no x-region header and the same page in
both regions (`_standin --identify none`), so the drills tell the origins apart by probing the
primary directly (CFDR_PRIMARY_URL_OVERRIDE instead of https://<ServiceUrl>/), and see from those
probes when the primary really stopped serving. The secondary is never probed directly (its
requests are the failover alarm's metric): every request it gets during a drill came through
the edge.

Lanes, in order, each with its own --state-dir:
  main       create (waits Deployed), a re-run, a create whose answer was lost (same caller
             reference: no second distribution), status, drill outage, verify-failback, dry-run
             destroy (nothing sent), destroy (zero distributions left), destroy again
  storm      every second request throttled during create and destroy: both complete
  ctrl-c     SIGINT while create waits for Deployed: exit 130, then destroy leaves nothing
  lost       the state has a caller reference but no id: destroy finds and deletes it
  services   create --with-services creates both services, destroy deletes all three
  alarms     alarms setup (topics per region, email/https/http subscriptions, the monitoring
             subscription, the two alarms of PRODUCT.md section 5, checked field by field), setup
             again (reads only), a drifted alarm put back, alarms status, alarms test
             (SetAlarmState and the SNS notifications), destroy leaves zero alarms, topics,
             subscriptions and monitoring subscriptions.
  dry-run    --dry-run create sends nothing, prints the CreateDistributionWithTags body, no secret
Finally: every request cfdr sent passed the endpoint's signature and model validation, and each
operation seen maps to an action of `cfdr iam-policy`.

Every process started here is stopped by its PID, also on failure; every wait is bounded.
Prints "N passed, N failed" last; exits 1 on any failure.
"""

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("CFDR_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "servers"))

from aws_endpoint.client import EndpointProcess, RawClient  # noqa: E402

BIN = os.environ.get("CFDR_BIN")
AKID, SECRET = "AKIDCFDRCYCLE0000001", "cycle-secret/Key+0123456789abcdefghijKL"
STORM_AKID = "AKIDCFDRCYCLE0000002"
HOST_A = "abcdefghij.us-east-1.awsapprunner.com"
HOST_B = "klmnopqrst.us-west-2.awsapprunner.com"
WAIT_SCALE = "0.01"
CMD_TIMEOUT = 60

RESULTS = {"passed": 0, "failed": 0}
CHILDREN = []


def check(cond, what):
    if cond:
        RESULTS["passed"] += 1
    else:
        RESULTS["failed"] += 1
        print("FAIL: " + what, file=sys.stderr, flush=True)
    return cond


def die(what):
    raise RuntimeError(what)


def sanitizer_clean(text, what):
    check("Sanitizer" not in text and "runtime error" not in text, what + ": sanitizer report: " + text[-2000:])


class Cfdr:
    """Runs the cfdr binary in the work directory against the endpoint."""

    def __init__(self, work, endpoint_url):
        self.work = work
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("CFDR_EDGE")}
        self.env.update(
            {
                "AWS_ENDPOINT_URL": endpoint_url,
                "AWS_ACCESS_KEY_ID": AKID,
                "AWS_SECRET_ACCESS_KEY": SECRET,
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": os.path.join(work, "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": os.path.join(work, "no-aws-credentials"),
                "AWS_MAX_ATTEMPTS": "5",
                "CFDR_WAIT_SCALE": WAIT_SCALE,
                "HOME": work,
                "NO_COLOR": "1",
            }
        )

    def run(self, args, extra_env=None, timeout=CMD_TIMEOUT, drop_env=()):
        env = dict(self.env)
        env.update(extra_env or {})
        for k in drop_env:
            env.pop(k, None)
        p = subprocess.run([BIN] + args, cwd=self.work, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        out, err = p.stdout.decode(), p.stderr.decode()
        sanitizer_clean(err, "cfdr " + " ".join(args))
        return p.returncode, out, err

    def popen(self, args, out_path, err_path, extra_env=None):
        env = dict(self.env)
        env.update(extra_env or {})
        with open(out_path, "wb") as o, open(err_path, "wb") as e:
            proc = subprocess.Popen([BIN] + args, cwd=self.work, env=env, stdin=subprocess.DEVNULL, stdout=o, stderr=e)
        CHILDREN.append(proc)
        return proc


def start_child(args, log_path, timeout=10.0):
    """Starts `cfdr ARGS` with CFDR_READY_FD and returns (proc, the ready line as JSON)."""
    r, w = os.pipe()
    env = dict(os.environ, CFDR_READY_FD=str(w))
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([BIN] + args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, pass_fds=(w,), env=env)
    CHILDREN.append(proc)
    os.close(w)
    line = b""
    deadline = time.monotonic() + timeout
    try:
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                die("%s: no ready line in %.0f s; log: %s" % (args[0], timeout, open(log_path).read()))
            ready, _, _ = select.select([r], [], [], left)
            if ready:
                chunk = os.read(r, 256)
                if not chunk:
                    if line:
                        break
                    die("%s exited before it was ready; log: %s" % (args[0], open(log_path).read()))
                line += chunk
    finally:
        os.close(r)
    return proc, json.loads(line.decode().strip())


def stop_children():
    for p in CHILDREN:
        if p.poll() is None:
            p.terminate()
    for p in CHILDREN:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    CHILDREN.clear()


def http_get(url, timeout=5):
    req = urllib.request.Request(url)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict((k.lower(), v) for k, v in e.headers.items()), e.read()


def standin_mode(control_port):
    status, _, body = http_get("http://127.0.0.1:%d/mode" % control_port)
    return json.loads(body)["mode"] if status == 200 else None


def standin_requests(control_port):
    status, _, body = http_get("http://127.0.0.1:%d/stats" % control_port)
    return json.loads(body)["requests"] if status == 200 else -1


def edge_secondary_attempts(admin_port):
    """The edge's attempts to reach the secondary, whatever their result (Prometheus /metrics)."""
    status, _, body = http_get("http://127.0.0.1:%d/metrics" % admin_port)
    total = 0
    for line in body.decode().splitlines() if status == 200 else []:
        if line.startswith("cfdr_edge_origin_attempts_total{") and 'origin="secondary"' in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def load_state(work, state_dir):
    path = os.path.join(work, state_dir, "state.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def resource(state, kind, rid):
    for r in (state or {}).get("resources", []):
        if r["kind"] == kind and r["id"] == rid:
            return r
    return None


def distributions(ep):
    _, st = ep.control("GET", "/state")
    return st["services"]["cloudfront"]["distributions"]


def apprunner_services(ep):
    """{(region, name): status} of the endpoint's App Runner services (deleted ones included)."""
    _, st = ep.control("GET", "/state")
    return {(v["region"], v["name"]): v["status"] for v in st["services"]["apprunner"]["services"].values()}


def requests_log(ep):
    _, doc = ep.control("GET", "/requests")
    return doc["requests"]


SEEN = []  # every request-log entry of the run, kept before the log is cleared


def drain(ep):
    SEEN.extend(requests_log(ep))
    ep.control("DELETE", "/requests")


def write_config(work, name, project, rate=20, duration=3):
    cfg = {
        "project": project,
        "primary": {"region": "us-east-1", "service": project + "-east"},
        "secondary": {"region": "us-west-2", "service": project + "-west"},
        "origin_group": {
            "failover_status_codes": [403, 404, 500, 502, 503, 504],
            "connection_timeout_s": 2,
            "connection_attempts": 1,
            "response_timeout_s": 10,
        },
        "alarms": {"email": [], "https": [], "period_s": 60},
        "drill": {"rate": rate, "duration_s": duration, "served_by_header": "x-region"},
    }
    with open(os.path.join(work, name), "w") as f:
        json.dump(cfg, f, indent=2)


# ---- lanes ---------------------------------------------------------------------------------


def lane_main(ep, cf, work, standins):
    a_ctl, b_ctl = standins["a"]["control_port"], standins["b"]["control_port"]
    for status, body in (("PAUSED", "paused"), ("RUNNING", "running")):
        code, _ = ep.control("POST", "/hooks", {"status": status, "service": "dr-demo-east", "region": "us-east-1",
                                                "method": "PUT", "url": "http://127.0.0.1:%d/mode" % a_ctl, "body": body})
        check(code == 200, "hook for %s registered" % status)

    # --- create: records both services (found, not created) and the distribution, waits Deployed
    rc, out, err = cf.run(["--state-dir", "st", "create"])
    check(rc == 0, "create exits 0 (%d): %s" % (rc, err[-1500:]))
    st = load_state(work, "st")
    dist = resource(st, "distribution", "distribution") or {}
    dist_id, domain = dist.get("distribution_id", ""), dist.get("domain", "")
    check(re.match(r"^E[A-Z0-9]{13}$", dist_id or "") is not None, "distribution id recorded: %r" % dist_id)
    check(out.strip() == "https://%s/" % domain and domain.endswith(".cloudfront.net"), "create prints https://<domain>/: %r" % out)
    check(dist.get("caller_reference", "").startswith("cfdr-dr-demo-") and dist.get("etag") and dist.get("arn"),
          "caller reference, ETag and ARN recorded: %r" % dist)
    check(dist.get("status") == "Deployed" and dist.get("enabled") is True, "the recorded distribution is Deployed and enabled")
    for which, host in (("primary", HOST_A), ("secondary", HOST_B)):
        svc = resource(st, "service", which) or {}
        check(svc.get("host") == host and svc.get("created_by_cfdr") is False and svc.get("arn", "").startswith("arn:aws:apprunner:"),
              "%s service recorded as found, not created: %r" % (which, svc))
    check("estimated CloudFront cost" in err and "$0.0100 per 10,000" in err and "checked on 2026-11-25" in err and "docs/COSTS.md" in err,
          "create states the drill cost estimate, with the date its prices were checked")
    check("waiting for Deployed" in err and "Deployed" in err, "create shows the wait for Deployed")
    dists = distributions(ep)
    check(list(dists) == [dist_id], "the endpoint has exactly the one distribution: %r" % list(dists))

    # the configuration cfdr created, as the CLI would print it, runs the local edge
    resp = RawClient(ep.url, AKID, SECRET).call("cloudfront", "GetDistributionConfig", {"Id": dist_id}, "us-east-1")
    check(resp.status == 200, "GetDistributionConfig through botocore: %s" % resp.status)
    doc = {k: v for k, v in resp.parsed.items() if k != "ResponseMetadata"}
    dc = doc["DistributionConfig"]
    group = dc["OriginGroups"]["Items"][0]
    check(sorted(group["FailoverCriteria"]["StatusCodes"]["Items"]) == [403, 404, 500, 502, 503, 504], "failover codes as configured")
    check([m["OriginId"] for m in group["Members"]["Items"]] == ["primary-us-east-1", "secondary-us-west-2"], "group members, primary first")
    origins = {o["Id"]: o for o in dc["Origins"]["Items"]}
    check(origins["primary-us-east-1"]["DomainName"] == HOST_A and origins["secondary-us-west-2"]["DomainName"] == HOST_B,
          "origins are the service URLs")
    check(all(o["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only" and o["ConnectionAttempts"] == 1
              and o["ConnectionTimeout"] == 2 and o["CustomOriginConfig"]["OriginReadTimeout"] == 10 for o in origins.values()),
          "HTTPS only, attempts and timeouts as configured")
    check(dc["DefaultCacheBehavior"]["TargetOriginId"] == group["Id"], "the default behaviour targets the group")
    dc_path = os.path.join(work, "dc.json")
    with open(dc_path, "w") as f:
        json.dump(doc, f, default=str)
    _, edge = start_child(["edge", "--distribution-config", dc_path, "--origin-map", "%s=127.0.0.1:%d" % (HOST_A, standins["a"]["port"]),
                           "--origin-map", "%s=127.0.0.1:%d" % (HOST_B, standins["b"]["port"]), "--listen", "127.0.0.1:0",
                           "--admin", "127.0.0.1:0", "--access-log", os.path.join(work, "edge-access.log")],
                          os.path.join(work, "edge.log"))
    edge_url = "http://127.0.0.1:%d/" % edge["port"]
    status, headers, body = http_get(edge_url)
    check(status == 200 and "x-region" not in headers and b"us-east-1" not in body,
          "the primary serves through the local edge, without saying who it is: %r %r" % (headers, body))
    hook = {"CFDR_EDGE_URL_OVERRIDE": edge_url,
            "CFDR_PRIMARY_URL_OVERRIDE": "http://127.0.0.1:%d/" % standins["a"]["port"]}
    edge_admin = edge["admin_port"]

    # --- a re-run reuses everything
    rc, out, err = cf.run(["--state-dir", "st", "create"])
    check(rc == 0 and "reused" in err and out.strip() == "https://%s/" % domain, "a second create reuses: %s" % err[-800:])

    # --- cfdr.json changed under a reused distribution: create shows the difference and updates it
    def live_config():
        resp = RawClient(ep.url, AKID, SECRET).call("cloudfront", "GetDistributionConfig", {"Id": dist_id}, "us-east-1")
        return resp.parsed["DistributionConfig"], resp.parsed.get("ETag")
    _, etag_before = live_config()
    cfg_path = os.path.join(work, "cfdr.json")
    original_cfg = open(cfg_path).read()
    changed = json.loads(original_cfg)
    changed["origin_group"]["connection_timeout_s"] = 3
    changed["origin_group"]["failover_status_codes"] = [500, 502, 503, 504]
    with open(cfg_path, "w") as f:
        json.dump(changed, f)
    drain(ep)
    rc, out, err = cf.run(["--state-dir", "st", "create"])
    check(rc == 0, "create after cfdr.json changed (%d): %s" % (rc, err[-1500:]))
    check("differs from cfdr.json (3 differences)" in err and "connection timeout 2 s, cfdr.json says 3 s" in err
          and "failover status codes 403,404,500,502,503,504, cfdr.json says 500,502,503,504" in err,
          "create names the differences: %s" % err[-1500:])
    check("updated" in err and "Deployed" in err, "create updates the distribution and waits for Deployed: %s" % err[-800:])
    ops = [e.get("operation") for e in requests_log(ep)]
    check("UpdateDistribution" in ops and ops.index("GetDistributionConfig") < ops.index("UpdateDistribution"),
          "GetDistributionConfig, then UpdateDistribution: %r" % ops)
    dc_now, etag_now = live_config()
    group_now = dc_now["OriginGroups"]["Items"][0]
    check(sorted(group_now["FailoverCriteria"]["StatusCodes"]["Items"]) == [500, 502, 503, 504]
          and all(o["ConnectionTimeout"] == 3 and o["ConnectionAttempts"] == 1 and o["CustomOriginConfig"]["OriginReadTimeout"] == 10
                  for o in dc_now["Origins"]["Items"]),
          "the live configuration matches cfdr.json now: %r" % dc_now["Origins"])
    check(dc_now["Comment"] == dc["Comment"] and dc_now["DefaultCacheBehavior"] == dc["DefaultCacheBehavior"]
          and [o["DomainName"] for o in dc_now["Origins"]["Items"]] == [HOST_A, HOST_B], "everything else is kept")
    check(etag_now != etag_before and (resource(load_state(work, "st"), "distribution", "distribution") or {}).get("etag") == etag_now,
          "the new ETag is recorded")
    rc, out, err = cf.run(["--state-dir", "st", "create"])
    check(rc == 0 and "differs" not in err and "reused" in err, "a create with nothing changed updates nothing: %s" % err[-600:])
    with open(cfg_path, "w") as f:
        f.write(original_cfg)
    rc, out, err = cf.run(["--state-dir", "st", "create"])
    check(rc == 0 and "(3 differences)" in err and "updated" in err, "putting cfdr.json back updates it back: %s" % err[-800:])
    dc_back, _ = live_config()
    check(dc_back["Origins"] == dc["Origins"] and dc_back["OriginGroups"] == dc["OriginGroups"], "the original origins and group are back")

    # --- a create whose answer was lost: the state has the caller reference, not the id
    st = load_state(work, "st")
    for r in st["resources"]:
        if r["kind"] == "distribution":
            for k in ("distribution_id", "arn", "domain", "url", "etag", "status", "enabled"):
                r.pop(k, None)
    with open(os.path.join(work, "st", "state.json"), "w") as f:
        json.dump(st, f)
    rc, out, err = cf.run(["--state-dir", "st", "create"])
    check(rc == 0 and "same caller reference" in err, "create with a recorded caller reference retries it: %s" % err[-800:])
    check((resource(load_state(work, "st"), "distribution", "distribution") or {}).get("distribution_id") == dist_id,
          "the retried create adopts the same distribution")
    check(list(distributions(ep)) == [dist_id], "no second distribution was made")

    # --- status
    rc, out, err = cf.run(["--state-dir", "st", "status"])
    check(rc == 0 and "3 resources" in out and "mode=Deployed" in out and out.count("healthy") == 3,
          "status shows the services and the Deployed distribution: %s %s" % (out, err[-500:]))
    check("distribution distribution" not in out and ("distribution %s " % dist_id) in out,
          "status names the distribution by its id: %s" % out)
    rc, out, err = cf.run(["--state-dir", "st", "--json", "status"])
    doc = json.loads(out) if rc == 0 else {}
    check(rc == 0 and sorted(r.get("status") for r in doc.get("resources", [])) == ["Deployed", "RUNNING", "RUNNING"],
          "status --json: live statuses")

    # --- drill outage: PauseService, PAUSED takes the primary stand-in down, the edge fails over
    b_before, via_edge_before = standin_requests(b_ctl), edge_secondary_attempts(edge_admin)
    rc, out, err = cf.run(["--state-dir", "st", "drill", "outage"], extra_env=hook, timeout=90)
    check(rc == 0, "drill outage exits 0 (%d): %s" % (rc, err[-2000:]))
    b_got, via_edge = standin_requests(b_ctl) - b_before, edge_secondary_attempts(edge_admin) - via_edge_before
    check(b_got > 0 and b_got == via_edge,
          "the secondary got only the edge's failed-over requests, no direct probe (%d requests, %d through the edge)"
          % (b_got, via_edge))
    check("TEST HOOK" in err, "the edge override is announced loudly")
    report = os.path.join(work, out.strip())
    if check(os.path.isfile(report), "drill report written: %r" % report):
        r = json.load(open(report))
        check(r["result"] == "pass" and r["client_errors"] == 0 and r["mode"] == "aws" and r["fault"] == "pause",
              "drill report: pass, no viewer error: %r" % {k: r.get(k) for k in ("result", "client_errors", "mode", "fault")})
        check(r["served_by"].get("secondary", 0) > 0 and r["served_by"].get("primary", 0) > 0 and r["served_by"]["unknown"] == 0,
              "both origins served, every probe attributed: %r" % r["served_by"])
        check(r["served_by_method"] == "primary-health" and r["served_by_uncertain"] <= 4,
              "origins told apart by the primary's health: %r" % {k: r.get(k) for k in ("served_by_method", "served_by_uncertain")})
        # PauseService is asynchronous: the outage starts when the direct probes see it
        check(r["fault_requested_s"] is not None and r["outage_started_s"] > r["fault_requested_s"]
              and r["fault_requested_at"] < r["outage_started_at"],
              "the outage starts after the pause was requested: %r" % {k: r.get(k) for k in ("fault_requested_s", "outage_started_s")})
        check(r["failover_seconds"] is not None and r["failover_seconds"] < 1.0, "failover_seconds measured from the real outage: %r" % r["failover_seconds"])
        before = [t for t in r["timeline"] if t[0] < r["outage_started_s"] - 0.15]
        check(before and all(t[3] == "primary" for t in before), "probes before the primary stopped were served by it")
    check(standin_mode(a_ctl) == "paused", "the PAUSED hook took the primary stand-in down")
    check(apprunner_services(ep).get(("us-east-1", "dr-demo-east")) == "PAUSED", "App Runner says the primary is PAUSED")
    check(resource(load_state(work, "st"), "service", "primary").get("paused_by_cfdr") is True, "the state knows cfdr paused it")
    # a second drill on the PAUSED primary would measure nothing: refused before the baseline
    journal = len(load_state(work, "st").get("journal", []))
    rc, out, err = cf.run(["--state-dir", "st", "drill", "outage"], extra_env=hook, timeout=30)
    check(rc == 2 and "the primary is already down (PAUSED" in err and "run cfdr verify-failback first" in err,
          "a drill on a PAUSED primary is refused (%d): %s" % (rc, err[-600:]))
    check(len(load_state(work, "st").get("journal", [])) == journal, "the refused drill is not journaled")

    # --- verify-failback: ResumeService, RUNNING brings the stand-in back
    rc, out, err = cf.run(["--state-dir", "st", "verify-failback"], extra_env=hook, timeout=90)
    check(rc == 0, "verify-failback exits 0 (%d): %s" % (rc, err[-2000:]))
    report = os.path.join(work, out.strip())
    if check(os.path.isfile(report), "failback report written: %r" % report):
        r = json.load(open(report))
        check(r["result"] == "pass" and r["client_errors"] == 0 and r["failback_seconds"] is not None, "failback report: pass")
        check(r["served_by_method"] == "primary-health" and r["resume_started_s"] > r["resume_requested_s"],
              "failback counts from when the primary served again: %r" % {k: r.get(k) for k in ("resume_requested_s", "resume_started_s")})
    check(standin_mode(a_ctl) == "running", "the RUNNING hook brought the primary stand-in back")
    check(apprunner_services(ep).get(("us-east-1", "dr-demo-east")) == "RUNNING", "App Runner says the primary is RUNNING")
    # again on the RUNNING primary: nothing to fail back, said at once (not after --timeout)
    t0 = time.monotonic()
    rc, out, err = cf.run(["--state-dir", "st", "verify-failback", "--timeout", "20"], extra_env=hook, timeout=30)
    check(rc == 2 and "the primary is already serving (RUNNING)" in err and "run cfdr drill outage first" in err
          and time.monotonic() - t0 < 10, "verify-failback on a RUNNING primary is refused at once (%d): %s" % (rc, err[-600:]))
    check(len(load_state(work, "st").get("journal", [])) == journal + 1, "only the real failback is journaled")
    rc, out, err = cf.run(["--state-dir", "st", "--dry-run", "drill", "outage"], extra_env=hook, timeout=30)
    check(rc == 2 and "works with create, destroy, alarms setup and alarms test" in err,
          "--dry-run drill names the commands --dry-run works with (%d): %s" % (rc, err[-400:]))

    # --- Ctrl-C while the drill waits for PAUSED: exit 130, and the primary is brought back
    ep.control("PUT", "/settings", {"service_polls": 100000})
    proc = cf.popen(["--state-dir", "st", "drill", "outage", "--duration", "30"], os.path.join(work, "dint.out"),
                    os.path.join(work, "dint.err"), extra_env=hook)
    deadline = time.monotonic() + 20
    paused = False
    while time.monotonic() < deadline and proc.poll() is None and not paused:
        paused = (resource(load_state(work, "st"), "service", "primary") or {}).get("paused_by_cfdr") is True
        time.sleep(0.05)
    check(paused, "the drill sent PauseService and waits for PAUSED")
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    ep.control("PUT", "/settings", {"service_polls": 2})
    try:
        rc = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait(5)
    err = open(os.path.join(work, "dint.err")).read()
    sanitizer_clean(err, "interrupted drill")
    check(rc == 130, "Ctrl-C in the drill exits 130 (got %s): %s" % (rc, err[-1500:]))
    check("ResumeService sent" in err, "the interrupted drill resumes the primary")
    check(apprunner_services(ep).get(("us-east-1", "dr-demo-east")) == "RUNNING", "the primary is RUNNING after Ctrl-C")
    check(standin_mode(a_ctl) == "running", "the primary stand-in serves again after Ctrl-C")
    check((resource(load_state(work, "st"), "service", "primary") or {}).get("paused_by_cfdr") is False,
          "the state knows the primary was resumed")

    # --- dry-run destroy: prints, sends nothing, changes nothing
    before = open(os.path.join(work, "st", "state.json"), "rb").read()
    lock_path = os.path.join(work, "st", "lock")
    lock_before = (open(lock_path, "rb").read(), os.stat(lock_path).st_mtime_ns)
    listing_before = sorted(os.listdir(os.path.join(work, "st")))
    drain(ep)
    rc, out, err = cf.run(["--state-dir", "st", "--dry-run", "destroy"])
    check((open(lock_path, "rb").read(), os.stat(lock_path).st_mtime_ns) == lock_before
          and sorted(os.listdir(os.path.join(work, "st"))) == listing_before,
          "dry-run destroy did not touch the lock or add a file")
    check(rc == 0 and "GetDistributionConfig" in out and "dry run: not sent" in out, "dry-run destroy prints the requests: %s" % err[-600:])
    check(requests_log(ep) == [], "dry-run destroy sent no request")
    check(open(os.path.join(work, "st", "state.json"), "rb").read() == before, "dry-run destroy left the state as it was")
    check(SECRET not in out + err, "no secret in dry-run destroy output")

    # --- dry-run create with the distribution recorded: shows the reconcile read (which a real
    # run answers before it may update) and says an update may follow; sends and changes nothing
    drain(ep)
    rc, out, err = cf.run(["--state-dir", "st", "--dry-run", "create"])
    check(rc == 0 and ("/distribution/%s/config" % dist_id) in out and "dry run: not sent" in out,
          "dry-run create prints the GetDistributionConfig of the reconcile step (%d): %s" % (rc, out[-800:]))
    check("UpdateDistribution" in err and "If-Match" in err and "whether an update would follow is not known" in err,
          "dry-run create says an UpdateDistribution may follow: %s" % err[-800:])
    check(requests_log(ep) == [] and open(os.path.join(work, "st", "state.json"), "rb").read() == before,
          "dry-run create sent and changed nothing")

    # --- destroy: disable, wait, delete; services left alone; zero distributions
    rc, out, err = cf.run(["--state-dir", "st", "destroy", "--yes"])
    check(rc == 0 and "1 removed, 0 already gone" in out, "destroy: %s %s" % (out, err[-1500:]))
    check("disabling distribution" in err and "deleted distribution" in err and "left as it is" in err, "destroy says what it did")
    check(distributions(ep) == {}, "no distribution left: %r" % list(distributions(ep)))
    svcs = apprunner_services(ep)
    check(svcs.get(("us-east-1", "dr-demo-east")) == "RUNNING" and svcs.get(("us-west-2", "dr-demo-west")) == "RUNNING",
          "services cfdr did not create are left running: %r" % svcs)
    rc, out, err = cf.run(["--state-dir", "st", "destroy", "--yes"])
    check(rc == 0 and "nothing to destroy" in err, "destroy again: nothing to do")


def lane_storm(ep, cf, work):
    storm = {"AWS_ACCESS_KEY_ID": STORM_AKID}
    code, _ = ep.control("POST", "/faults", {"kind": "throttle", "access_key": STORM_AKID, "every": 2, "count": 8})
    check(code == 200, "throttling storm armed")
    rc, out, err = cf.run(["--state-dir", "storm", "create"], extra_env=storm, timeout=90)
    check(rc == 0, "create through a throttling storm (%d): %s" % (rc, err[-1500:]))
    rc, out, err = cf.run(["--state-dir", "storm", "destroy", "--yes"], extra_env=storm, timeout=90)
    check(rc == 0 and "1 removed" in out, "destroy through a throttling storm (%d): %s" % (rc, err[-1500:]))
    _, faults = ep.control("GET", "/faults")
    fired = sum(f.get("fired", 0) for f in faults.get("faults", faults if isinstance(faults, list) else []))
    check(fired >= 4, "the storm throttled requests: %r" % faults)
    check(distributions(ep) == {}, "no distribution left after the storm")
    ep.control("DELETE", "/faults")


def lane_ctrl_c(ep, cf, work):
    ep.control("PUT", "/settings", {"deploy_polls": 100000})
    proc = cf.popen(["--state-dir", "intr", "create"], os.path.join(work, "intr.out"), os.path.join(work, "intr.err"))
    recorded = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        recorded = (resource(load_state(work, "intr"), "distribution", "distribution") or {}).get("distribution_id")
        if recorded:
            break
        time.sleep(0.05)
    check(recorded is not None, "the distribution was recorded while create waits")
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    try:
        rc = proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait(5)
    err = open(os.path.join(work, "intr.err")).read()
    sanitizer_clean(err, "interrupted create")
    check(rc == 130, "Ctrl-C during create exits 130 (got %s): %s" % (rc, err[-800:]))
    check("cfdr destroy" in err and "create again" in err, "the interrupted create says how to resume or destroy")
    check(recorded in distributions(ep), "the distribution is still there (and in the state)")
    ep.control("PUT", "/settings", {"deploy_polls": 2})
    rc, out, err = cf.run(["--state-dir", "intr", "destroy", "--yes"])
    check(rc == 0 and "1 removed" in out, "destroy after Ctrl-C: %s" % err[-1000:])
    check(distributions(ep) == {}, "nothing left after Ctrl-C and destroy")


def lane_lost_answer(ep, cf, work):
    rc, out, err = cf.run(["--state-dir", "lost", "create", "--no-wait"])
    check(rc == 0 and "--no-wait" in err, "create --no-wait: %s" % err[-600:])
    st = load_state(work, "lost")
    for r in st["resources"]:
        if r["kind"] == "distribution":
            for k in ("distribution_id", "arn", "domain", "url", "etag", "status", "enabled"):
                r.pop(k, None)
    with open(os.path.join(work, "lost", "state.json"), "w") as f:
        json.dump(st, f)
    rc, out, err = cf.run(["--state-dir", "lost", "destroy", "--yes"])
    check(rc == 0 and "made by an interrupted create" in err and "1 removed" in out,
          "destroy finds a distribution known only by its caller reference: %s %s" % (out, err[-1000:]))
    check(distributions(ep) == {}, "nothing left after the lost-answer destroy")


def lane_services(ep, cf, work):
    write_config(work, "made.json", "dr-made")
    rc, out, err = cf.run(["-c", "made.json", "--state-dir", "made", "create"])
    check(rc == 2 and "--with-services" in err, "create without the services says to use --with-services: %s" % err[-500:])
    rc, out, err = cf.run(["-c", "made.json", "--state-dir", "made", "create", "--with-services"])
    check(rc == 0, "create --with-services (%d): %s" % (rc, err[-1500:]))
    st = load_state(work, "made")
    for which in ("primary", "secondary"):
        svc = resource(st, "service", which) or {}
        check(svc.get("created_by_cfdr") is True and svc.get("status") == "RUNNING", "%s service created and RUNNING: %r" % (which, svc))
    svcs = apprunner_services(ep)
    check(svcs.get(("us-east-1", "dr-made-east")) == "RUNNING" and svcs.get(("us-west-2", "dr-made-west")) == "RUNNING",
          "the endpoint runs both new services: %r" % svcs)
    rc, out, err = cf.run(["-c", "made.json", "--state-dir", "made", "destroy", "--yes"])
    check(rc == 0 and "3 removed" in out, "destroy deletes the distribution and both services: %s %s" % (out, err[-1000:]))
    svcs = apprunner_services(ep)
    check(all(svcs.get(k, "DELETED") == "DELETED" for k in (("us-east-1", "dr-made-east"), ("us-west-2", "dr-made-west"))),
          "the services cfdr created are deleted: %r" % svcs)
    check(svcs.get(("us-east-1", "dr-demo-east")) == "RUNNING", "the other project's services are untouched")
    check(distributions(ep) == {}, "no distribution left")


def lane_dry_run(ep, cf, work):
    drain(ep)
    rc, out, err = cf.run(["--state-dir", "dry", "--dry-run", "create", "--with-services"])
    check(rc == 0, "dry-run create exits 0: %s" % err[-800:])
    check(requests_log(ep) == [], "dry-run create sent no request")
    check("# CloudFront CreateDistributionWithTags (dry run: not sent)" in out and "<DistributionConfigWithTags" in out
          and "<CallerReference>cfdr-dr-demo-" in out, "dry-run create prints the CreateDistributionWithTags body")
    check("AppRunner.ListServices" in out and "AppRunner.CreateService" in out, "dry-run create prints the App Runner requests")
    check("Signature=REDACTED" in out and SECRET not in out + err, "no secret in dry-run output")
    check("depend on CloudFront's answers" in err, "dry-run says where it stops")
    check(not os.path.exists(os.path.join(work, "dry")), "dry-run create wrote nothing, not even the state directory or its lock")
    # without credentials it signs with a placeholder and says so
    rc, out, err = cf.run(["--state-dir", "dry", "--dry-run", "create"], drop_env=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))
    check(rc == 0 and "placeholder" in out and "placeholder" in err, "dry run without credentials: placeholder key")
    # a profile's static keys are used; an assume-role profile is not resolved (no STS call)
    creds_file, config_file = os.path.join(work, "dry-credentials"), os.path.join(work, "dry-config")
    with open(creds_file, "w") as f:
        f.write("[keys]\naws_access_key_id = AKIDDRYRUNPROFILE001\naws_secret_access_key = %s\n" % SECRET)
    with open(config_file, "w") as f:
        f.write("[profile roley]\nrole_arn = arn:aws:iam::123456789012:role/cfdr\nsource_profile = keys\n")
    files = {"AWS_SHARED_CREDENTIALS_FILE": creds_file, "AWS_CONFIG_FILE": config_file}
    rc, out, err = cf.run(["--state-dir", "dry", "--profile", "keys", "--dry-run", "create"], extra_env=files)
    check(rc == 0 and "Credential=AKIDDRYRUNPROFILE001/" in out and "placeholder" not in out,
          "dry run signs with the profile's static keys: %s" % err[-400:])
    rc, out, err = cf.run(["--state-dir", "dry", "--profile", "roley", "--dry-run", "create"], extra_env=files)
    check(rc == 0 and "role_arn" in err and "placeholder" in out, "dry run does not assume a role: %s" % err[-400:])
    check(SECRET not in out + err, "no secret in the profile dry runs")
    check(requests_log(ep) == [], "still no request (no STS call either)")
    check(not os.path.exists(os.path.join(work, "dry")), "still nothing written after every dry run")
    rc, out, err = cf.run(["--state-dir", "dry", "--local", "--dry-run", "create"])
    check(rc == 2 and "--dry-run" in err and not os.path.exists(os.path.join(work, "dry")),
          "--dry-run with --local is refused and writes nothing: %s" % err[-300:])


def endpoint_state(ep):
    _, st = ep.control("GET", "/state")
    return st["services"]


MUTATING = {"CreateTopic", "Subscribe", "Unsubscribe", "DeleteTopic", "PutMetricAlarm", "DeleteAlarms", "SetAlarmState",
            "CreateMonitoringSubscription", "DeleteMonitoringSubscription"}


def lane_alarms(ep, cf, work):
    """PRODUCT.md section 5 in AWS mode: cfdr alarms setup (twice: the second sends no mutating request),
    status, test (SetAlarmState and the SNS notifications), then destroy leaves nothing."""
    token = "T0KEN-s3cr3t-in-the-path"
    hook_https = "https://hooks.example.com/cfdr/" + token
    hook_http = "http://127.0.0.1:9/cfdr-hook"
    write_config(work, "alarms.json", "dr-alarms")
    cfg = json.load(open(os.path.join(work, "alarms.json")))
    cfg["primary"]["service"], cfg["secondary"]["service"] = "dr-demo-east", "dr-demo-west"
    cfg["alarms"] = {"email": ["oncall@example.com"], "https": [hook_https, hook_http], "period_s": 60}
    with open(os.path.join(work, "alarms.json"), "w") as f:
        json.dump(cfg, f)
    cfg["alarms"]["period_s"] = 30
    with open(os.path.join(work, "alarms-30.json"), "w") as f:
        json.dump(cfg, f)
    base = ["-c", "alarms.json", "--state-dir", "al"]
    rc, out, err = cf.run(base + ["create"])
    check(rc == 0, "create for the alarms lane (%d): %s" % (rc, err[-1500:]))
    st = load_state(work, "al")
    dist_id = (resource(st, "distribution", "distribution") or {}).get("distribution_id")
    service_id = (resource(st, "service", "secondary") or {}).get("service_id")
    check(bool(dist_id) and bool(service_id), "distribution and secondary service id recorded")

    # --- a period CloudWatch cannot use on these metrics: refused, nothing sent
    drain(ep)
    rc, out, err = cf.run(["-c", "alarms-30.json", "--state-dir", "al", "alarms", "setup"])
    check(rc == 2 and "60 s" in err and "alarms.period_s" in err, "a 30 s period is refused in AWS mode (%d): %s" % (rc, err[-600:]))
    check(requests_log(ep) == [], "the refused setup sent no request")

    # --- setup: topics, subscriptions, monitoring subscription, the two alarms
    rc, out, err = cf.run(base + ["--json", "alarms", "setup"])
    check(rc == 0, "alarms setup exits 0 (%d): %s" % (rc, err[-2000:]))
    doc = json.loads(out) if rc == 0 else {}
    check(sorted(a.get("name") for a in doc.get("alarms", [])) == ["dr-alarms-edge-5xx", "dr-alarms-failover-active"],
          "setup reports the two alarms: %r" % doc.get("alarms"))
    check("confirmation mail" in err and "SubscribeURL" in err, "setup says email and webhook subscribers must confirm: %s" % err[-1500:])
    check(token not in out + err, "the webhook's token is never shown")
    check(doc.get("webhooks") == 2 and doc.get("emails") == 1, "setup reports 2 webhooks, 1 e-mail address: %r"
          % {k: doc.get(k) for k in ("webhooks", "emails")})
    check((doc.get("monitoring_subscription") or {}).get("created") is True, "the first setup created the monitoring subscription")
    sv = endpoint_state(ep)
    topic_w = "arn:aws:sns:us-west-2:123456789012:dr-alarms-alarms"
    topic_e = "arn:aws:sns:us-east-1:123456789012:dr-alarms-alarms"
    topics = sv["sns"]["topics"]
    check(sorted(a for a in topics if "dr-alarms" in a) == [topic_e, topic_w], "one topic per alarm region: %r" % list(topics))
    for arn in (topic_e, topic_w):
        t = topics.get(arn, {"tags": [], "subscriptions": []})
        check(t["tags"] == [{"Key": "cfdr:project", "Value": "dr-alarms"}], "topic %s tagged cfdr:project" % arn)
        check(sorted((x["protocol"], x["endpoint"], x["confirmed"]) for x in t["subscriptions"]) ==
              [("email", "oncall@example.com", False), ("http", hook_http, False), ("https", hook_https, False)],
              "topic %s: every endpoint subscribed, pending: %r" % (arn, t["subscriptions"]))
    west = sv["monitoring"]["alarms"].get("us-west-2", {}).get("dr-alarms-failover-active", {}).get("params", {})
    check(west.get("Namespace") == "AWS/AppRunner" and west.get("MetricName") == "Requests" and west.get("Statistic") == "Sum"
          and west.get("ComparisonOperator") == "GreaterThanOrEqualToThreshold" and west.get("Threshold") == 1.0
          and west.get("Period") == 60 and west.get("EvaluationPeriods") == 1 and west.get("TreatMissingData") == "notBreaching",
          "failover-active: AWS/AppRunner Requests Sum >= 1 over one period, missing data not breaching: %r" % west)
    check(sorted((d["Name"], d["Value"]) for d in west.get("Dimensions", [])) == [("ServiceID", service_id), ("ServiceName", "dr-demo-west")],
          "failover-active watches the secondary service by name and id: %r" % west.get("Dimensions"))
    check(west.get("AlarmActions") == [topic_w] and west.get("OKActions") == [topic_w], "failover-active notifies its region's topic on ALARM and OK")
    east = sv["monitoring"]["alarms"].get("us-east-1", {}).get("dr-alarms-edge-5xx", {}).get("params", {})
    check(east.get("Namespace") == "AWS/CloudFront" and east.get("MetricName") == "5xxErrorRate" and east.get("Statistic") == "Average"
          and east.get("Threshold") == 5.0 and east.get("Period") == 60, "edge-5xx: AWS/CloudFront 5xxErrorRate Average >= 5 %%: %r" % east)
    check(sorted((d["Name"], d["Value"]) for d in east.get("Dimensions", [])) == [("DistributionId", dist_id), ("Region", "Global")],
          "edge-5xx: dimensions DistributionId and Region=Global")
    check(east.get("AlarmActions") == [topic_e] and east.get("OKActions") == [topic_e], "edge-5xx lives in us-east-1 with its topic")
    check(sv["cloudfront"]["distributions"].get(dist_id, {}).get("monitoring") ==
          {"RealtimeMetricsSubscriptionConfig": {"RealtimeMetricsSubscriptionStatus": "Enabled"}},
          "the distribution's additional metrics are enabled")
    st = load_state(work, "al")
    kinds = sorted(r["kind"] for r in st["resources"])
    check(kinds.count("alarm") == 2 and kinds.count("alarm_topic") == 2 and kinds.count("alarm_subscription") == 6
          and kinds.count("monitoring_subscription") == 1, "every alarm resource recorded: %r" % kinds)
    check(token not in json.dumps(st), "the state keeps no webhook token (a hash and scheme://host only)")
    check(err.count("alarm dr-alarms-failover-active (us-west-2)") == 1,
          "setup names each alarm once: %s" % err[-1200:])

    # --- alarms test before anyone confirmed: nobody would receive it, so nothing is set
    drain(ep)
    rc, out, err = cf.run(base + ["alarms", "test"])
    check(rc == 1 and "nobody would receive it" in err and "confirmation mail" in err and "SubscribeURL" in err
          and "waiting" not in err and "notification published" not in err
          and not [r for r in requests_log(ep) if r["operation"] == "SetAlarmState"],
          "alarms test with every subscription pending sets nothing and says what to do: %d %s" % (rc, err[-1000:]))

    # --- setup again: reads, changes nothing
    drain(ep)
    rc, out, err = cf.run(base + ["alarms", "setup"])
    check(rc == 0, "alarms setup again exits 0: %s" % err[-1000:])
    again = requests_log(ep)
    ops = sorted({r["operation"] for r in again})
    check(ops == ["DescribeAlarms", "GetMonitoringSubscription", "ListSubscriptionsByTopic"] and not any(r.get("error") for r in again),
          "the second setup only reads: %r" % [(r["operation"], r.get("error")) for r in again])
    check("notifications: 2 webhooks, 1 e-mail address" in err and "already enabled" in err,
          "the second setup counts the notification targets and says the metrics were already enabled: %s" % err[-800:])
    check(load_state(work, "al")["resources"] == st["resources"] or
          [(r["kind"], r["id"]) for r in load_state(work, "al")["resources"]] == [(r["kind"], r["id"]) for r in st["resources"]],
          "the second setup records the same resources")

    # --- an alarm changed behind cfdr's back is put back, and only it
    full = endpoint_state(ep)
    full["monitoring"]["alarms"]["us-east-1"]["dr-alarms-edge-5xx"]["params"]["Threshold"] = 50.0
    ep.control("PUT", "/state", {"services": full})
    drain(ep)
    rc, out, err = cf.run(base + ["alarms", "setup"])
    puts = [r for r in requests_log(ep) if r["operation"] in MUTATING]
    check(rc == 0 and [(r["operation"], r["region"]) for r in puts] == [("PutMetricAlarm", "us-east-1")] and "Threshold differed" in err,
          "a drifted alarm is updated, nothing else: %r %s" % ([(r["operation"], r["region"]) for r in puts], err[-600:]))

    # --- status: states and subscriptions (confirmed once the owners click)
    ep.control("POST", "/sns/confirm", {})
    rc, out, err = cf.run(base + ["--json", "alarms", "status"])
    doc = json.loads(out) if rc == 0 else {}
    check(rc == 0 and sorted((a["name"], a["region"], a["state"]) for a in doc.get("alarms", [])) ==
          [("dr-alarms-edge-5xx", "us-east-1", "INSUFFICIENT_DATA"), ("dr-alarms-failover-active", "us-west-2", "INSUFFICIENT_DATA")],
          "alarms status: each alarm's state: %s %s" % (out[-800:], err[-500:]))
    check(all(a.get("reason") and a.get("updated_at") for a in doc.get("alarms", [])), "alarms status: reason and updated time")
    subs = doc.get("subscriptions", [])
    check(len(subs) == 6 and all(x["confirmed"] for x in subs), "alarms status: 6 subscriptions, confirmed: %r" % subs)
    check(token not in out + err and any(x["endpoint"] == "https://hooks.example.com/..." for x in subs), "webhook shown as scheme://host only")

    # --- test: SetAlarmState ALARM on both, each topic records a notification to its subscribers
    drain(ep)
    notes_before = len(endpoint_state(ep)["sns"]["notifications"])
    rc, out, err = cf.run(base + ["--json", "alarms", "test"])
    doc = json.loads(out) if rc == 0 else {}
    check(rc == 0 and sorted(t["name"] for t in doc.get("tested", [])) == ["dr-alarms-edge-5xx", "dr-alarms-failover-active"],
          "alarms test fires both: %s %s" % (out[-600:], err[-600:]))
    sets = [r for r in requests_log(ep) if r["operation"] == "SetAlarmState"]
    check(sorted((r["region"], r["params"]["AlarmName"], r["params"]["StateValue"]) for r in sets) ==
          [("us-east-1", "dr-alarms-edge-5xx", "ALARM"), ("us-west-2", "dr-alarms-failover-active", "ALARM")]
          and all("cfdr alarms test" in r["params"]["StateReason"] for r in sets), "SetAlarmState ALARM with a cfdr test reason: %r" % sets)
    notes = endpoint_state(ep)["sns"]["notifications"][notes_before:]
    check(sorted(n["topic"] for n in notes) == [topic_e, topic_w], "one notification per topic: %r" % notes)
    for n in notes:
        msg = json.loads(n["message"])
        check(msg["NewStateValue"] == "ALARM" and "cfdr alarms test" in msg["NewStateReason"], "the notification says ALARM, a cfdr test")
        check(sorted(n["delivered_to"]) == sorted(["oncall@example.com", hook_https, hook_http]), "delivered to every confirmed subscriber")
    drain(ep)
    rc, out, err = cf.run(base + ["alarms", "test", "dr-alarms-edge-5xx"])
    sets = [r for r in requests_log(ep) if r["operation"] == "SetAlarmState"]
    check(rc == 0 and [r["params"]["AlarmName"] for r in sets] == ["dr-alarms-edge-5xx"], "alarms test NAME fires that one only")
    check("set to ALARM with SetAlarmState" in err and "waiting" not in err and "notification published" not in err
          and "3 confirmed subscribers" in err, "AWS alarms test says what it did, not a delivery: %s" % err[-800:])
    rc, out, err = cf.run(base + ["report", "--format", "md"])
    check(rc == 0 and "SetAlarmState sent (AWS does not report deliveries)" in out
          and "not notified: nobody would receive it" in out and "received by 0 of 0" not in out,
          "the report's journal tells a sent test from one nobody could receive: %s" % out[-1500:])
    rc, out, err = cf.run(base + ["alarms", "test", "no-such-alarm"])
    check(rc == 2 and "dr-alarms-failover-active" in err, "an unknown alarm name is a usage error naming the alarms: %s" % err[-400:])
    rc, out, err = cf.run(base + ["--json", "alarms", "status"])
    doc = json.loads(out) if rc == 0 else {}
    check(sorted(a["state"] for a in doc.get("alarms", [])) == ["ALARM", "ALARM"], "alarms status shows ALARM after the test")
    rc, out, err = cf.run(base + ["--json", "status"])
    doc = json.loads(out) if rc == 0 else {}
    modes = {(r["kind"], r["id"]): r.get("mode") for r in doc.get("resources", [])}
    check(rc == 0 and modes.get(("alarm", "us-west-2:dr-alarms-failover-active")) == "ALARM", "cfdr status shows the alarm states: %r" % modes)
    rc, out, err = cf.run(base + ["status"])
    check(rc == 0 and out.count("dr-alarms-failover-active") == 1 and out.count("dr-alarms-edge-5xx") == 1
          and "dr-alarms-failover-active" in out and "ALARM since" in out,
          "cfdr status shows each alarm once, with its state: %s" % out)

    # --- dry runs of setup and test print the requests and send none
    drain(ep)
    before = open(os.path.join(work, "al", "state.json"), "rb").read()
    for args, needle in ((["alarms", "setup"], "Action=DescribeAlarms"), (["alarms", "test"], "Action=SetAlarmState")):
        rc, out, err = cf.run(base + ["--dry-run"] + args)
        check(rc == 0 and needle in out and "dry run: not sent" in out and SECRET not in out + err,
              "--dry-run %s prints its requests (%d): %s" % (" ".join(args), rc, err[-600:]))
    check(requests_log(ep) == [] and open(os.path.join(work, "al", "state.json"), "rb").read() == before,
          "dry-run setup and test sent and changed nothing")


    # --- dry-run destroy shows the alarm requests and sends none
    drain(ep)
    rc, out, err = cf.run(base + ["--dry-run", "destroy"])
    check(rc == 0 and "Action=DeleteAlarms" in out and "Action=DeleteTopic" in out and "/monitoring-subscription/" in out,
          "dry-run destroy prints the alarm, topic and monitoring subscription deletes: %s" % err[-600:])
    check(requests_log(ep) == [] and open(os.path.join(work, "al", "state.json"), "rb").read() == before, "dry-run destroy sent and changed nothing")

    # --- the webhook's token stays hidden in the verbose and dry-run request dumps too
    # (aws/transport.c shows an SNS Endpoint as scheme://host[:port] only)
    for args in (["-v", "alarms", "setup"], ["--dry-run", "alarms", "setup"], ["-v", "alarms", "status"]):
        rc, out, err = cf.run(base + args)
        check(rc == 0, "%s exits 0 (%d): %s" % (" ".join(args), rc, err[-600:]))
        check(token not in out + err, "the webhook's token is never shown by %s" % " ".join(args))
    check(token not in open(os.path.join(work, "al", "state.json")).read(), "nor kept in the state")

    # --- destroy: alarms, topics (with their subscriptions), monitoring subscription, distribution
    rc, out, err = cf.run(base + ["destroy", "--yes"])
    check(rc == 0 and "12 removed, 0 already gone" in out, "destroy removes 2 alarms, 2 topics, 6 subscriptions, the monitoring "
          "subscription and the distribution: %s %s" % (out, err[-1500:]))
    sv = endpoint_state(ep)
    check(all(not a for a in sv["monitoring"]["alarms"].values()), "zero alarms left: %r" % sv["monitoring"]["alarms"])
    check(not [a for a in sv["sns"]["topics"] if "dr-alarms" in a], "zero topics (and so subscriptions) left")
    check(dist_id not in sv["cloudfront"]["distributions"], "the distribution and its monitoring subscription are gone")
    dels = [r["operation"] for r in requests_log(ep) if r["operation"] in MUTATING or r["operation"] == "DeleteDistribution"]
    check(dels.index("DeleteMonitoringSubscription") < dels.index("DeleteDistribution"), "the monitoring subscription goes before the distribution")
    rc, out, err = cf.run(base + ["destroy", "--yes"])
    check(rc == 0 and "nothing to destroy" in err, "destroy again: nothing to do")


def check_request_log(ep, cf):
    drain(ep)
    entries = SEEN
    check(len(entries) > 40, "the endpoint logged cfdr's requests (%d)" % len(entries))
    bad_stage = [e for e in entries if e.get("stage") in ("auth", "route", "parse", "validate", "bug")]
    check(bad_stage == [], "every request passed signature and model checks: %r" % bad_stage[:3])
    not_ok = [e for e in entries if e.get("stage") != "fault" and e.get("validation") != "ok"]
    check(not_ok == [], "every request was validated ok: %r" % not_ok[:3])
    # alarms setup reads the monitoring subscription before it creates one (Create would
    # overwrite an existing one without saying so): a first setup's read finds none
    errors = [e for e in entries if e.get("error") and e.get("stage") != "fault"
              and (e.get("operation"), e.get("error")) != ("GetMonitoringSubscription", "NoSuchMonitoringSubscription")]
    check(errors == [], "no AWS error answers other than injected faults: %r" % [(e["operation"], e["error"]) for e in errors][:5])
    keys = {e.get("access_key") for e in entries}
    check(keys <= {AKID, STORM_AKID}, "only the test keys signed: %r" % keys)
    rc, out, err = cf.run(["iam-policy"])
    policy = json.loads(out) if rc == 0 else {"Statement": []}
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    ops = {(e["service"], e["operation"]) for e in entries if e.get("operation")}
    for service, op in sorted(ops):
        # the request log names services by signing name: CloudWatch signs as "monitoring"
        need = "cloudfront:CreateDistribution" if op == "CreateDistributionWithTags" else "%s:%s" % (
            {"monitoring": "cloudwatch"}.get(service, service), op)
        check(need in actions, "iam-policy grants %s (for %s seen in the log)" % (need, op))
    check(len(ops) >= 12, "the run exercised the operations: %r" % sorted(ops))


def main():
    if not BIN:
        print("CFDR_BIN must point at the cfdr binary", file=sys.stderr)
        return 2
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="cfdr-aws-cycle-")
    ep = None
    try:
        standins = {}
        for key, region, name in (("a", "us-east-1", "dr-demo-east"), ("b", "us-west-2", "dr-demo-west")):
            _, standins[key] = start_child(["_standin", "--region", region, "--service", name, "--listen", "127.0.0.1:0",
                                            "--control", "127.0.0.1:0", "--identify", "none"], os.path.join(work, "standin-%s.log" % key))
        ep = EndpointProcess(["--credentials", "%s:%s" % (AKID, SECRET), "--credentials", "%s:%s" % (STORM_AKID, SECRET),
                              "--seed-service", "us-east-1:dr-demo-east=" + HOST_A, "--seed-service", "us-west-2:dr-demo-west=" + HOST_B,
                              "--deploy-polls", "2", "--service-polls", "2"], stderr_path=os.path.join(work, "endpoint.log")).start()
        cf = Cfdr(work, ep.url)
        write_config(work, "cfdr.json", "dr-demo")
        for lane in (lambda: lane_main(ep, cf, work, standins), lambda: lane_storm(ep, cf, work),
                     lambda: lane_ctrl_c(ep, cf, work), lambda: lane_lost_answer(ep, cf, work),
                     lambda: lane_services(ep, cf, work), lambda: lane_alarms(ep, cf, work)):
            lane()
            drain(ep)
        lane_dry_run(ep, cf, work)
        check_request_log(ep, cf)
        for name in os.listdir(work):
            if name.endswith(".log") and name != "endpoint.log" and name != "edge-access.log":
                sanitizer_clean(open(os.path.join(work, name), errors="replace").read(), name)
    except Exception:
        traceback.print_exc()
        RESULTS["failed"] += 1
    finally:
        stop_children()
        if ep is not None:
            ep.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("aws_cycle: %d passed, %d failed (%.1f s)" % (RESULTS["passed"], RESULTS["failed"], time.monotonic() - started))
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
