#!/usr/bin/python3
"""The local AWS endpoint proved against the real AWS CLI (Debian's /usr/bin/aws).

Starts tests/servers/aws_endpoint.py (stopped by PID, also on failure), then drives the
scenarios cfdr's AWS mode needs with `aws --endpoint-url`: the CloudFront distribution
with its origin group from tests/data/aws (create, idempotent retry, poll to Deployed,
get the config, disable with If-Match, stale ETag, delete while enabled, delete), App
Runner (list, describe, pause and resume with a status hook that takes a stand-in origin
down and up, create, delete), CloudWatch alarms and SNS topics; and checks the CLI parses
every answer into the expected fields, reports a wrong secret as SignatureDoesNotMatch,
retries injected throttling, 5xx and dropped connections to success, and that requests
the CLI would refuse to send (serialized raw by botocore) are rejected with the model's
errors. Prints "N passed, N failed" last; exits 1 on any failure.
"""

import copy
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("CFDR_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "servers"))

from aws_endpoint.client import EndpointProcess, RawClient  # noqa: E402

AWS = "/usr/bin/aws"
FIXTURE = os.path.join(SOURCE, "tests", "data", "aws", "distribution-config-with-tags.json")
AKID, SECRET = "AKIDCLITEST0000001", "cli-test-secret-key/with+chars"
# One access key per lane: lanes run in parallel and each reads its own requests from
# the log and aims its faults at its own key.
LANE_KEYS = {"cloudfront": AKID, "apprunner": "AKIDCLITEST0000003", "faults": "AKIDCLITEST0000004"}
SESSION = ("ASIACLITEST0000002", "cli-session-secret", "cli-session-token/abc==")
CLI_TIMEOUT = 30
DEPLOY_POLLS = 3
SERVICE_POLLS = 2
ID_RE = re.compile(r"^E[A-Z0-9]{13}$")

RESULTS = {"passed": 0, "failed": 0}
LANES = {"cloudfront": [], "apprunner": [], "faults": []}
S = {}  # state shared by the scenarios of a lane, in order
LOCAL = threading.local()  # the lane a thread runs
PRINT = threading.Lock()


def test(lane):
    def register(fn):
        LANES[lane].append(fn)
        return fn

    return register


def lane_cli():
    return S["cli:" + LOCAL.lane]


def check(cond, what):
    if not cond:
        raise AssertionError(what)


class Cli:
    """Runs the AWS CLI against the endpoint with an isolated HOME and config."""

    def __init__(self, endpoint_url, home, access_key):
        self.endpoint_url = endpoint_url
        self.home = home
        config = os.path.join(home, "config-" + access_key)
        with open(config, "w", encoding="utf-8") as f:
            f.write("[default]\nregion = us-east-1\noutput = json\n")
        self.env = {
            "PATH": "/usr/bin:/bin",
            "HOME": home,
            "AWS_CONFIG_FILE": config,
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "no-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ACCESS_KEY_ID": access_key,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_RETRY_MODE": "standard",
            "AWS_MAX_ATTEMPTS": "3",
            "AWS_PAGER": "",
            "LC_ALL": "C.UTF-8",
        }
        self.calls = 0

    def run(self, *args, region="us-east-1", env=None):
        """(exit code, parsed JSON stdout or None, stderr)."""
        cmd = [AWS, "--no-cli-pager", "--output", "json", "--endpoint-url", self.endpoint_url, "--region", region] + list(args)
        full_env = dict(self.env)
        full_env.update(env or {})
        self.calls += 1
        proc = subprocess.run(cmd, env=full_env, capture_output=True, timeout=CLI_TIMEOUT, text=True)
        out = None
        if proc.stdout.strip():
            try:
                out = json.loads(proc.stdout)
            except ValueError:
                out = proc.stdout
        return proc.returncode, out, proc.stderr

    def ok(self, *args, **kw):
        rc, out, err = self.run(*args, **kw)
        check(rc == 0, "aws %s failed (%d): %s" % (" ".join(args[:2]), rc, err.strip()[-500:]))
        return out

    def fails(self, code, *args, **kw):
        """Run a command that must fail with the error code; return stderr."""
        rc, out, err = self.run(*args, **kw)
        check(rc != 0, "aws %s succeeded, expected %s" % (" ".join(args[:2]), code))
        check("An error occurred (%s)" % code in err, "aws %s: expected %s, got: %s" % (" ".join(args[:2]), code, err.strip()[-500:]))
        return err


class StandIn:
    """A stand-in origin's control port: records PUT /mode bodies (paused/running)."""

    def __init__(self):
        self.modes = []
        modes = self.modes

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self):
                n = int(self.headers.get("Content-Length") or 0)
                modes.append((self.path, self.rfile.read(n).decode()))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def requests_since(seq, operation=None):
    """This lane's requests (by access key) after seq."""
    status, doc = S["ep"].control("GET", "/requests?since=%d" % seq)
    check(status == 200, "control requests")
    key = LANE_KEYS[LOCAL.lane]
    return [r for r in doc["requests"] if r["access_key"] == key and (operation is None or r["operation"] == operation)]


def last_seq():
    status, doc = S["ep"].control("GET", "/requests")
    return doc["requests"][-1]["seq"] if doc["requests"] else 0


def write_json(name, doc):
    path = os.path.join(S["home"], LOCAL.lane + "-" + name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    return "file://" + path


def poll(fn, until, limit=10):
    """Call fn up to limit times until until(result); return (results seen)."""
    seen = []
    for _ in range(limit):
        result = fn()
        seen.append(result)
        if until(result):
            return seen
    raise AssertionError("condition not reached after %d polls: %s" % (limit, seen[-3:]))


# ---- CloudFront ---------------------------------------------------------------------------
@test("cloudfront")
def cloudfront_create_distribution_with_origin_group():
    cli = lane_cli()
    with open(FIXTURE, encoding="utf-8") as f:
        S["fixture"] = json.load(f)
    out = cli.ok("cloudfront", "create-distribution-with-tags", "--distribution-config-with-tags", "file://" + FIXTURE)
    dist = out["Distribution"]
    S["dist"] = dist["Id"]
    S["etag0"] = out["ETag"]
    check(ID_RE.match(dist["Id"]), "Id %s" % dist["Id"])
    check(out["Location"] == "https://cloudfront.amazonaws.com/2020-05-31/distribution/" + dist["Id"], out["Location"])
    check(re.match(r"^E[A-Z0-9]{13}$", out["ETag"]), "ETag %s" % out["ETag"])
    check(dist["ARN"] == "arn:aws:cloudfront::123456789012:distribution/" + dist["Id"], dist["ARN"])
    check(dist["DomainName"] == dist["Id"].lower() + ".cloudfront.net", dist["DomainName"])
    check(dist["Status"] == "InProgress", dist["Status"])
    cfg = dist["DistributionConfig"]
    want = S["fixture"]["DistributionConfig"]
    group = cfg["OriginGroups"]["Items"][0]
    check(group["FailoverCriteria"]["StatusCodes"]["Items"] == [403, 404, 500, 502, 503, 504], "status codes %r" % group)
    check([m["OriginId"] for m in group["Members"]["Items"]] == ["primary-us-east-1", "secondary-us-west-2"], "members")
    check(cfg["DefaultCacheBehavior"]["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", "cache policy")
    check(cfg["DefaultCacheBehavior"]["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac", "origin request policy")
    for got, sent in zip(cfg["Origins"]["Items"], want["Origins"]["Items"]):
        check({k: got[k] for k in sent} == sent, "origin as sent: %r" % got)
    check(cfg["Enabled"] is True and cfg["CallerReference"] == want["CallerReference"], "enabled, caller reference")
    reqs = requests_since(0, "CreateDistributionWithTags")
    check(reqs and reqs[-1]["validation"] == "ok" and reqs[-1]["region"] == "us-east-1", "logged %r" % reqs[-1:])


@test("cloudfront")
def cloudfront_create_is_idempotent_on_caller_reference():
    cli = lane_cli()
    out = cli.ok("cloudfront", "create-distribution-with-tags", "--distribution-config-with-tags", "file://" + FIXTURE)
    check(out["Distribution"]["Id"] == S["dist"], "a retried create made %s" % out["Distribution"]["Id"])
    other = copy.deepcopy(S["fixture"])
    other["DistributionConfig"]["Comment"] = "same reference, different config"
    cli.fails("DistributionAlreadyExists", "cloudfront", "create-distribution-with-tags", "--distribution-config-with-tags", write_json("other.json", other))
    listed = cli.ok("cloudfront", "list-distributions")
    ids = [d["Id"] for d in listed["DistributionList"]["Items"]]
    check(ids == [S["dist"]], "exactly one distribution: %s" % ids)


@test("cloudfront")
def cloudfront_get_distribution_until_deployed():
    cli = lane_cli()
    seen = poll(lambda: cli.ok("cloudfront", "get-distribution", "--id", S["dist"]), lambda o: o["Distribution"]["Status"] == "Deployed")
    check(len(seen) == DEPLOY_POLLS, "Deployed after %d polls, expected %d" % (len(seen), DEPLOY_POLLS))
    check(all(o["ETag"] == S["etag0"] for o in seen), "ETag stable while deploying")
    tags = cli.ok("cloudfront", "list-tags-for-resource", "--resource", seen[-1]["Distribution"]["ARN"])
    check(tags["Tags"]["Items"] == [{"Key": "cfdr:project", "Value": "dr-demo"}], "tags %r" % tags)


@test("cloudfront")
def cloudfront_monitoring_subscription():
    cli = lane_cli()
    enabled = {"RealtimeMetricsSubscriptionConfig": {"RealtimeMetricsSubscriptionStatus": "Enabled"}}
    cli.fails("NoSuchMonitoringSubscription", "cloudfront", "get-monitoring-subscription", "--distribution-id", S["dist"])
    cli.fails("NoSuchDistribution", "cloudfront", "create-monitoring-subscription", "--distribution-id", "ENOSUCHDIST000",
              "--monitoring-subscription", json.dumps(enabled))
    out = cli.ok("cloudfront", "create-monitoring-subscription", "--distribution-id", S["dist"], "--monitoring-subscription", json.dumps(enabled))
    check(out["MonitoringSubscription"] == enabled, "created %r" % out)
    out = cli.ok("cloudfront", "get-monitoring-subscription", "--distribution-id", S["dist"])
    check(out["MonitoringSubscription"] == enabled, "read back %r" % out)
    rc, out, err = cli.run("cloudfront", "delete-monitoring-subscription", "--distribution-id", S["dist"])
    check(rc == 0, "delete: %s" % err[-300:])
    cli.fails("NoSuchMonitoringSubscription", "cloudfront", "delete-monitoring-subscription", "--distribution-id", S["dist"])
    # Left enabled: cloudfront_delete_when_disabled_and_deployed sees it go with the distribution.
    cli.ok("cloudfront", "create-monitoring-subscription", "--distribution-id", S["dist"], "--monitoring-subscription", json.dumps(enabled))
    reqs = requests_since(0)
    paths = [r["path"] for r in reqs if r["operation"] and "MonitoringSubscription" in r["operation"]]
    check(all(p.endswith("/monitoring-subscription/") or p.endswith("/monitoring-subscription") for p in paths), "paths %r" % paths)


@test("cloudfront")
def cloudfront_delete_while_enabled_is_refused():
    lane_cli().fails("DistributionNotDisabled", "cloudfront", "delete-distribution", "--id", S["dist"], "--if-match", S["etag0"])


@test("cloudfront")
def cloudfront_disable_with_if_match():
    cli = lane_cli()
    got = cli.ok("cloudfront", "get-distribution-config", "--id", S["dist"])
    check(got["ETag"] == S["etag0"], "config ETag")
    config = got["DistributionConfig"]
    check(config["OriginGroups"] == S["fixture"]["DistributionConfig"]["OriginGroups"], "origin group round trip")
    config["Enabled"] = False
    path = write_json("disabled.json", config)
    cli.fails("PreconditionFailed", "cloudfront", "update-distribution", "--id", S["dist"], "--if-match", "E0000000000000", "--distribution-config", path)
    out = cli.ok("cloudfront", "update-distribution", "--id", S["dist"], "--if-match", S["etag0"], "--distribution-config", path)
    check(out["ETag"] != S["etag0"], "update made a new ETag")
    check(out["Distribution"]["Status"] == "InProgress", "update sets InProgress")
    check(out["Distribution"]["DistributionConfig"]["Enabled"] is False, "disabled")
    S["etag1"] = out["ETag"]
    upd = requests_since(0, "UpdateDistribution")
    check([r["status"] for r in upd] == [412, 200], "update statuses %s" % [r["status"] for r in upd])


@test("cloudfront")
def cloudfront_delete_with_stale_etag_and_before_deployed():
    cli = lane_cli()
    cli.fails("PreconditionFailed", "cloudfront", "delete-distribution", "--id", S["dist"], "--if-match", S["etag0"])
    cli.fails("DistributionNotDisabled", "cloudfront", "delete-distribution", "--id", S["dist"], "--if-match", S["etag1"])


@test("cloudfront")
def cloudfront_delete_when_disabled_and_deployed():
    cli = lane_cli()
    poll(lambda: cli.ok("cloudfront", "get-distribution", "--id", S["dist"]), lambda o: o["Distribution"]["Status"] == "Deployed")
    rc, out, err = cli.run("cloudfront", "delete-distribution", "--id", S["dist"], "--if-match", S["etag1"])
    check(rc == 0 and out is None, "delete: %d %s" % (rc, err[-300:]))
    cli.fails("NoSuchDistribution", "cloudfront", "get-distribution", "--id", S["dist"])
    cli.fails("NoSuchDistribution", "cloudfront", "get-monitoring-subscription", "--distribution-id", S["dist"])


@test("cloudfront")
def cloudfront_list_pages_follow_next_marker():
    cli = lane_cli()
    made = []
    for i in range(3):
        doc = copy.deepcopy(S["fixture"])
        doc["DistributionConfig"]["CallerReference"] = "cfdr-page-%d" % i
        made.append(cli.ok("cloudfront", "create-distribution-with-tags", "--distribution-config-with-tags", write_json("p%d.json" % i, doc))["Distribution"]["Id"])
    seq = last_seq()
    out = cli.ok("cloudfront", "list-distributions", "--page-size", "1")
    check([d["Id"] for d in out["DistributionList"]["Items"]] == made, "all pages %r" % out)
    pages = requests_since(seq, "ListDistributions")
    check(len(pages) == 3, "the CLI fetched %d pages" % len(pages))
    check([p["params"].get("Marker") for p in pages] == [None, made[0], made[1]], "markers %r" % [p["params"] for p in pages])


# ---- App Runner -------------------------------------------------------------------------------
@test("apprunner")
def apprunner_list_and_describe_seeded_services():
    cli = lane_cli()
    east = cli.ok("apprunner", "list-services", region="us-east-1")["ServiceSummaryList"]
    west = cli.ok("apprunner", "list-services", region="us-west-2")["ServiceSummaryList"]
    check([s["ServiceName"] for s in east] == ["dr-demo-east"], "east %r" % east)
    check([s["ServiceName"] for s in west] == ["dr-demo-west"], "west %r" % west)
    check(west[0]["ServiceUrl"] == "west000001.us-west-2.awsapprunner.com", "seeded url %r" % west[0]["ServiceUrl"])
    S["east_arn"] = east[0]["ServiceArn"]
    check(re.match(r"^arn:aws:apprunner:us-east-1:123456789012:service/dr-demo-east/[0-9a-f]{32}$", S["east_arn"]), S["east_arn"])
    svc = cli.ok("apprunner", "describe-service", "--service-arn", S["east_arn"])["Service"]
    check(svc["Status"] == "RUNNING", svc["Status"])
    check(re.match(r"^[a-z0-9]{10}\.us-east-1\.awsapprunner\.com$", svc["ServiceUrl"]), svc["ServiceUrl"])
    check(svc["ServiceId"] == S["east_arn"].rsplit("/", 1)[1], "ServiceId")
    check(svc["InstanceConfiguration"] == {"Cpu": "1024", "Memory": "2048"}, "instance %r" % svc["InstanceConfiguration"])
    check(re.match(r"^\d{4}-\d\d-\d\dT", svc["CreatedAt"]), "CreatedAt parsed as a timestamp: %r" % svc["CreatedAt"])
    cli.fails("ResourceNotFoundException", "apprunner", "describe-service", "--service-arn", S["east_arn"], region="us-west-2")


@test("apprunner")
def apprunner_pause_takes_the_standin_down():
    cli = lane_cli()
    standin = S["standin"]
    base = "http://127.0.0.1:%d/mode" % standin.port
    for status, body in (("PAUSED", "paused"), ("RUNNING", "running")):
        code, doc = S["ep"].control("POST", "/hooks", {"service": "dr-demo-east", "region": "us-east-1", "status": status, "method": "PUT", "url": base, "body": body})
        check(code == 200, "hook %r" % doc)
    code, doc = S["ep"].control("POST", "/hooks", {"status": "PAUSED", "url": "http://192.0.2.1/mode"})
    check(code == 400 and "loopback" in doc["error"], "non-loopback hook refused: %r" % doc)
    out = cli.ok("apprunner", "pause-service", "--service-arn", S["east_arn"])
    check(out["Service"]["Status"] == "OPERATION_IN_PROGRESS", "pause response %s" % out["Service"]["Status"])
    check(re.match(r"^[0-9a-f-]{36}$", out["OperationId"]), "OperationId %r" % out.get("OperationId"))
    check(standin.modes == [], "stand-in told too early: %r" % standin.modes)
    modes_when_seen = []

    def describe():
        svc = cli.ok("apprunner", "describe-service", "--service-arn", S["east_arn"])["Service"]
        modes_when_seen.append((svc["Status"], list(standin.modes)))
        return svc

    seen = poll(describe, lambda s: s["Status"] == "PAUSED")
    check(len(seen) == SERVICE_POLLS, "PAUSED after %d polls" % len(seen))
    check(modes_when_seen[-1][1] == [("/mode", "paused")], "when the CLI saw PAUSED the stand-in had %r" % modes_when_seen)
    check(all(m == [] for st, m in modes_when_seen[:-1]), "stand-in told before PAUSED: %r" % modes_when_seen)
    cli.fails("InvalidStateException", "apprunner", "pause-service", "--service-arn", S["east_arn"])


@test("apprunner")
def apprunner_resume_brings_it_back():
    cli = lane_cli()
    out = cli.ok("apprunner", "resume-service", "--service-arn", S["east_arn"])
    check(out["Service"]["Status"] == "OPERATION_IN_PROGRESS", "resume response")
    poll(lambda: cli.ok("apprunner", "describe-service", "--service-arn", S["east_arn"])["Service"], lambda s: s["Status"] == "RUNNING")
    check(S["standin"].modes == [("/mode", "paused"), ("/mode", "running")], "stand-in modes %r" % S["standin"].modes)
    ops = cli.ok("apprunner", "list-operations", "--service-arn", S["east_arn"])["OperationSummaryList"]
    check([(o["Type"], o["Status"]) for o in ops] == [("RESUME_SERVICE", "SUCCEEDED"), ("PAUSE_SERVICE", "SUCCEEDED")], "operations %r" % ops)
    cli.fails("InvalidStateException", "apprunner", "resume-service", "--service-arn", S["east_arn"])
    code, hooks = S["ep"].control("GET", "/hooks")
    check([c["status"] for c in hooks["calls"]] == [204, 204], "hook calls %r" % hooks["calls"])


@test("apprunner")
def apprunner_create_and_delete_service():
    cli = lane_cli()
    source = {
        "ImageRepository": {
            "ImageIdentifier": "public.ecr.aws/aws-containers/hello-app-runner:latest",
            "ImageConfiguration": {"Port": "8000"},
            "ImageRepositoryType": "ECR_PUBLIC",
        },
        "AutoDeploymentsEnabled": False,
    }
    path = write_json("source.json", source)
    out = cli.ok("apprunner", "create-service", "--service-name", "dr-demo-extra", "--source-configuration", path,
                 "--tags", "Key=cfdr:project,Value=dr-demo", region="us-west-2")
    svc = out["Service"]
    check(svc["Status"] == "OPERATION_IN_PROGRESS" and svc["ServiceName"] == "dr-demo-extra", "create response %r" % svc["Status"])
    check(svc["ServiceUrl"].endswith(".us-west-2.awsapprunner.com"), svc["ServiceUrl"])
    check(svc["HealthCheckConfiguration"]["Protocol"] == "TCP", "defaults filled")
    arn = svc["ServiceArn"]
    cli.fails("InvalidRequestException", "apprunner", "create-service", "--service-name", "dr-demo-extra", "--source-configuration", path, region="us-west-2")
    poll(lambda: cli.ok("apprunner", "describe-service", "--service-arn", arn, region="us-west-2")["Service"], lambda s: s["Status"] == "RUNNING")
    names = [s["ServiceName"] for s in cli.ok("apprunner", "list-services", region="us-west-2")["ServiceSummaryList"]]
    check(names == ["dr-demo-west", "dr-demo-extra"], "listed %s" % names)
    out = cli.ok("apprunner", "delete-service", "--service-arn", arn, region="us-west-2")
    check(out["Service"]["Status"] == "OPERATION_IN_PROGRESS", "delete response")
    poll(lambda: cli.ok("apprunner", "describe-service", "--service-arn", arn, region="us-west-2")["Service"], lambda s: s["Status"] == "DELETED")
    cli.fails("ResourceNotFoundException", "apprunner", "describe-service", "--service-arn", arn, region="us-west-2")


# ---- CloudWatch and SNS ---------------------------------------------------------------------
@test("apprunner")
def alarms_and_topics():
    cli = lane_cli()
    topic = cli.ok("sns", "create-topic", "--name", "dr-demo-alerts", region="us-west-2")["TopicArn"]
    check(topic == "arn:aws:sns:us-west-2:123456789012:dr-demo-alerts", topic)
    check(cli.ok("sns", "create-topic", "--name", "dr-demo-alerts", region="us-west-2")["TopicArn"] == topic, "idempotent")
    sub = cli.ok("sns", "subscribe", "--topic-arn", topic, "--protocol", "email", "--notification-endpoint", "oncall@example.com", region="us-west-2")
    check(sub["SubscriptionArn"] == "pending confirmation", "subscribe %r" % sub)
    cli.ok("sns", "subscribe", "--topic-arn", topic, "--protocol", "https", "--notification-endpoint", "https://hooks.example.com/cfdr", region="us-west-2")
    subs = cli.ok("sns", "list-subscriptions-by-topic", "--topic-arn", topic, region="us-west-2")["Subscriptions"]
    check([(s["Protocol"], s["Endpoint"], s["SubscriptionArn"]) for s in subs] == [
        ("email", "oncall@example.com", "PendingConfirmation"), ("https", "https://hooks.example.com/cfdr", "PendingConfirmation")], "subs %r" % subs)
    cli.fails("InvalidParameter", "sns", "subscribe", "--topic-arn", topic, "--protocol", "https", "--notification-endpoint", "http://x", region="us-west-2")
    alarm = ["--alarm-name", "dr-demo-failover-active", "--namespace", "AWS/AppRunner", "--metric-name", "Requests",
             "--dimensions", "Name=ServiceName,Value=dr-demo-west", "--statistic", "Sum", "--period", "60",
             "--evaluation-periods", "1", "--threshold", "1", "--comparison-operator", "GreaterThanOrEqualToThreshold",
             "--treat-missing-data", "notBreaching", "--alarm-actions", topic, "--ok-actions", topic]
    cli.ok("cloudwatch", "put-metric-alarm", *alarm, region="us-west-2")
    err = cli.fails("ValidationError", "cloudwatch", "put-metric-alarm", *alarm, region="us-east-1")
    check("us-west-2" in err, "cross-region action message: %s" % err)
    got = cli.ok("cloudwatch", "describe-alarms", "--alarm-names", "dr-demo-failover-active", region="us-west-2")["MetricAlarms"]
    check(len(got) == 1 and got[0]["StateValue"] == "INSUFFICIENT_DATA" and got[0]["AlarmActions"] == [topic], "alarm %r" % got)
    check(got[0]["Threshold"] == 1.0 and got[0]["Dimensions"] == [{"Name": "ServiceName", "Value": "dr-demo-west"}], "fields")
    cli.ok("cloudwatch", "set-alarm-state", "--alarm-name", "dr-demo-failover-active", "--state-value", "ALARM", "--state-reason", "cfdr alarms test", region="us-west-2")
    got = cli.ok("cloudwatch", "describe-alarms", "--state-value", "ALARM", region="us-west-2")["MetricAlarms"]
    check([a["AlarmName"] for a in got] == ["dr-demo-failover-active"], "in ALARM")
    code, state = S["ep"].control("GET", "/state")
    notes = state["services"]["sns"]["notifications"]
    check(len(notes) == 1 and notes[0]["topic"] == topic and '"NewStateValue": "ALARM"' in notes[0]["message"], "notification %r" % notes)
    cli.fails("ResourceNotFound", "cloudwatch", "set-alarm-state", "--alarm-name", "nope", "--state-value", "OK", "--state-reason", "x", region="us-west-2")
    cli.ok("cloudwatch", "delete-alarms", "--alarm-names", "dr-demo-failover-active", region="us-west-2")
    cli.ok("sns", "delete-topic", "--topic-arn", topic, region="us-west-2")
    cli.fails("NotFound", "sns", "list-subscriptions-by-topic", "--topic-arn", topic, region="us-west-2")


# ---- authentication -----------------------------------------------------------------------------
@test("faults")
def wrong_secret_is_signature_does_not_match():
    cli = lane_cli()
    env = {"AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    err = cli.fails("SignatureDoesNotMatch", "cloudfront", "list-distributions", env=env)
    check("The request signature we calculated does not match" in err, err)
    check("not-the-secret" not in err and SECRET not in err, "secret in the message")
    cli.fails("InvalidSignatureException", "apprunner", "list-services", env=env)
    cli.fails("SignatureDoesNotMatch", "sns", "list-topics", env=env)
    cli.fails("UnrecognizedClientException", "apprunner", "list-services", env={"AWS_ACCESS_KEY_ID": "AKIDNOBODY"})
    cli.fails("InvalidClientTokenId", "cloudfront", "list-distributions", env={"AWS_ACCESS_KEY_ID": "AKIDNOBODY"})
    session = {"AWS_ACCESS_KEY_ID": SESSION[0], "AWS_SECRET_ACCESS_KEY": SESSION[1], "AWS_SESSION_TOKEN": SESSION[2]}
    cli.ok("apprunner", "list-services", env=session)
    cli.fails("UnrecognizedClientException", "apprunner", "list-services", env=dict(session, AWS_SESSION_TOKEN="wrong"))
    cli.fails("SignatureDoesNotMatch", "cloudfront", "list-distributions", region="eu-west-1")
    code, log = S["ep"].control("GET", "/requests")
    text = json.dumps(log)
    check(SECRET not in text and SESSION[1] not in text and SESSION[2] not in text, "a secret reached the request log")


# ---- raw requests the CLI would refuse to send ------------------------------------------------------
@test("cloudfront")
def malformed_requests_get_the_models_errors():
    raw = RawClient(S["ep"].url, LANE_KEYS["cloudfront"], SECRET)

    def create(mutate):
        doc = copy.deepcopy(S["fixture"])
        doc["DistributionConfig"]["CallerReference"] = "raw-%d" % time.monotonic_ns()
        mutate(doc["DistributionConfig"])
        return raw.call("cloudfront", "CreateDistributionWithTags", {"DistributionConfigWithTags": doc}, "us-east-1")

    codes = lambda c: c["OriginGroups"]["Items"][0]["FailoverCriteria"]["StatusCodes"]  # noqa: E731
    r = create(lambda c: codes(c).update(Items=[302, 404, 500, 502, 503, 504]))
    check((r.status, r.error_code) == (400, "InvalidArgument") and "302" in r.error_message, "302: %s %s" % (r.status, r.error_message))
    r = create(lambda c: c["DefaultCacheBehavior"].update(ViewerProtocolPolicy="https"))
    check((r.status, r.error_code) == (400, "InvalidArgument") and "enum" in r.error_message, "enum: %s %s" % (r.status, r.error_message))
    r = create(lambda c: c.pop("CallerReference"))
    check((r.status, r.error_code) == (400, "MalformedInput") and "CallerReference" in r.error_message, "missing: %s" % r.error_message)
    r = create(lambda c: codes(c).update(Quantity=5))
    check(r.error_code == "InconsistentQuantities", "quantities: %s" % r.error_code)
    r = create(lambda c: c["Origins"]["Items"][0]["CustomOriginConfig"].update(OriginReadTimeout=90))
    check(r.error_code == "InvalidOriginReadTimeout", "read timeout: %s" % r.error_code)
    src = {"ImageRepository": {"ImageIdentifier": "public.ecr.aws/a/b:latest", "ImageRepositoryType": "DOCKER"}}
    r = raw.call("apprunner", "CreateService", {"ServiceName": "dr-demo-raw", "SourceConfiguration": src}, "us-east-1")
    check((r.status, r.error_code) == (400, "InvalidRequestException") and "imageRepositoryType" in r.error_message, "enum: %s" % r.error_message)
    r = raw.call("apprunner", "CreateService", {"ServiceName": "dr-demo-raw"}, "us-east-1")
    check(r.error_code == "InvalidRequestException" and "sourceConfiguration" in r.error_message, "missing: %s" % r.error_message)
    r = raw.call("monitoring", "PutMetricAlarm", {"AlarmName": "x", "EvaluationPeriods": 1, "ComparisonOperator": "Bigger"}, "us-east-1")
    check(r.error_code == "ValidationError", "cloudwatch enum: %s" % r.error_code)
    # Signed fine, then the body changed in transit.
    r = raw.call("apprunner", "ListServices", {"MaxResults": 5}, "us-east-1", after_sign=lambda req: setattr(req, "data", b'{"MaxResults": 6}'))
    check((r.status, r.error_code) == (403, "InvalidSignatureException"), "tampered body: %s %s" % (r.status, r.error_code))
    stages = [e["stage"] for e in requests_since(0) if e["error"] in ("InvalidArgument", "MalformedInput", "InvalidRequestException")]
    check("validate" in stages and "state" in stages, "log stages %s" % stages)


# ---- faults -----------------------------------------------------------------------------------------
def _with_fault(spec, *cli_args, region="us-east-1"):
    code, doc = S["ep"].control("POST", "/faults", dict(spec, access_key=LANE_KEYS[LOCAL.lane]))
    check(code == 200, "fault %r" % doc)
    seq = last_seq()
    t0 = time.monotonic()
    out = lane_cli().ok(*cli_args, region=region)
    elapsed = time.monotonic() - t0
    S["ep"].control("DELETE", "/faults")
    return out, requests_since(seq), elapsed


@test("faults")
def throttling_is_retried_by_the_cli():
    out, reqs, _ = _with_fault({"kind": "throttle", "service": "cloudfront", "operation": "ListDistributions", "count": 2}, "cloudfront", "list-distributions")
    check("DistributionList" in out, "the answer after retries: %r" % out)
    check([r["error"] for r in reqs] == ["Throttling", "Throttling", None], "attempts %r" % [(r["error"], r["status"]) for r in reqs])
    out, reqs, _ = _with_fault({"kind": "throttle", "service": "apprunner", "count": 2}, "apprunner", "list-services")
    check([r["error"] for r in reqs] == ["ThrottlingException", "ThrottlingException", None], "apprunner attempts %r" % [r["error"] for r in reqs])
    out, reqs, _ = _with_fault({"kind": "throttle", "service": "sns", "count": 1}, "sns", "list-topics")
    check([r["error"] for r in reqs] == ["Throttling", None], "sns attempts %r" % [r["error"] for r in reqs])


@test("faults")
def server_errors_and_dropped_connections_are_retried():
    _, reqs, _ = _with_fault({"kind": "internal", "count": 1}, "apprunner", "list-services")
    check([(r["status"], r["error"]) for r in reqs] == [(500, "InternalFailure"), (200, None)], "500 %r" % [(r["status"], r["error"]) for r in reqs])
    _, reqs, _ = _with_fault({"kind": "unavailable", "count": 1}, "cloudfront", "list-distributions")
    check([r["status"] for r in reqs] == [503, 200], "503 %r" % [r["status"] for r in reqs])
    _, reqs, _ = _with_fault({"kind": "drop", "count": 1}, "apprunner", "list-services")
    check([r["fault"] for r in reqs] == ["drop", None] and reqs[-1]["status"] == 200, "drop %r" % [(r["fault"], r["status"]) for r in reqs])
    _, reqs, elapsed = _with_fault({"kind": "delay", "delay_s": 0.5, "count": 1}, "apprunner", "list-services")
    check(elapsed >= 0.5 and len(reqs) == 1, "delay %.2fs %d requests" % (elapsed, len(reqs)))
    code, doc = S["ep"].control("POST", "/faults", {"kind": "throttle", "count": 5, "access_key": LANE_KEYS[LOCAL.lane]})
    rc, _, err = lane_cli().run("apprunner", "list-services")
    S["ep"].control("DELETE", "/faults")
    check(rc != 0 and "ThrottlingException" in err and "max retries" in err.lower(), "gives up after 3 attempts: %s" % err[-300:])


def run_lane(lane):
    LOCAL.lane = lane
    for fn in LANES[lane]:
        t0 = time.monotonic()
        try:
            fn()
            with PRINT:
                RESULTS["passed"] += 1
                print("PASS %s/%s (%.1fs)" % (lane, fn.__name__, time.monotonic() - t0), flush=True)
        except Exception:  # noqa: BLE001 - report and continue
            with PRINT:
                RESULTS["failed"] += 1
                print("FAIL %s/%s (%.1fs)" % (lane, fn.__name__, time.monotonic() - t0), flush=True)
                traceback.print_exc(file=sys.stdout)


def main():
    home = tempfile.mkdtemp(prefix="cfdr-awscli-")
    S["home"] = home
    standin = None
    credentials = []
    for key in LANE_KEYS.values():
        credentials += ["--credentials", "%s:%s" % (key, SECRET)]
    ep = EndpointProcess(
        credentials
        + [
            "--credentials", "%s:%s:%s" % SESSION,
            "--seed-service", "us-east-1:dr-demo-east",
            "--seed-service", "us-west-2:dr-demo-west=west000001.us-west-2.awsapprunner.com",
            "--deploy-polls", str(DEPLOY_POLLS),
            "--service-polls", str(SERVICE_POLLS),
            "--dump-state", os.path.join(home, "state.json"),
        ],
        stderr_path=os.path.join(home, "endpoint.stderr"),
    )
    t_start = time.monotonic()
    clis = []
    try:
        if not os.access(AWS, os.X_OK):
            raise RuntimeError("%s not found (apt-get install awscli)" % AWS)
        ep.start()
        standin = StandIn()
        S.update(ep=ep, standin=standin)
        for lane, key in LANE_KEYS.items():
            S["cli:" + lane] = Cli(ep.url, home, key)
            clis.append(S["cli:" + lane])
        threads = [threading.Thread(target=run_lane, args=(lane,)) for lane in LANES]
        for t in threads:
            t.start()
        for t in threads:
            # Every aws call is bounded by CLI_TIMEOUT; a lane has at most ~40 of them.
            t.join(timeout=40 * CLI_TIMEOUT)
            if t.is_alive():
                raise RuntimeError("a test lane did not finish")
    except Exception:  # noqa: BLE001
        RESULTS["failed"] += 1
        print("FAIL setup")
        traceback.print_exc(file=sys.stdout)
    finally:
        if standin is not None:
            standin.stop()
        rc = ep.stop()
        if rc not in (0, None):
            RESULTS["failed"] += 1
            print("FAIL endpoint exit status %s" % rc)
        elif rc == 0 and not os.path.exists(os.path.join(home, "state.json")):
            RESULTS["failed"] += 1
            print("FAIL endpoint did not write --dump-state on SIGTERM")
        stderr_path = os.path.join(home, "endpoint.stderr")
        if os.path.exists(stderr_path) and os.path.getsize(stderr_path):
            with open(stderr_path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            if "Traceback" in text:
                RESULTS["failed"] += 1
                print("FAIL the endpoint logged a traceback:\n" + text[-3000:])
        shutil.rmtree(home, ignore_errors=True)
    print("(%d aws invocations, %.1fs)" % (sum(c.calls for c in clis), time.monotonic() - t_start))
    print("%d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]))
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
