/* commands: the command table (see cli.h). */
#include "commands.h"

static const struct cli_option init_opts[] = {
    {"force", 0, NULL, 0, "overwrite an existing configuration file"},
    {0},
};

static const struct cli_option create_opts[] = {
    {"with-services", 0, NULL, 0,
     "AWS: create both App Runner services from a public sample image and wait until RUNNING"},
    {"no-wait", 0, NULL, 0, "AWS: do not wait for the distribution to be Deployed"},
    {0},
};

static const struct cli_option drill_opts[] = {
    {"fault", 0, "KIND", 0,
     "how the primary fails: pause (default; AWS and local), local only: error, refuse, "
     "blackhole, slow"},
    {"duration", 0, "S", 0, "seconds of outage to probe, 1-3600 (default drill.duration_s)"},
    {"rate", 0, "N", 0, "probes per second (default drill.rate)"},
    {"resume", 0, NULL, 0, "resume the primary at the end instead of leaving it down"},
    {"report", 0, "DIR", 0, "where to write the report (default <state-dir>/reports)"},
    {0},
};

static const struct cli_option failback_opts[] = {
    {"timeout", 0, "S", 0, "give up when the primary has not served again after S seconds"},
    {"report", 0, "DIR", 0, "where to write the report (default <state-dir>/reports)"},
    {0},
};

static const struct cli_option destroy_opts[] = {
    {"yes", 0, NULL, 0, "do not ask for confirmation"},
    {"delete-services", 0, NULL, 0, "also delete App Runner services cfdr did not create"},
    {0},
};

static const struct cli_option edge_opts[] = {
    {"listen", 0, "ADDR", 0, "viewer address, HOST:PORT (default 127.0.0.1:8080)"},
    {"admin", 0, "ADDR", 0, "admin address for /metrics, HOST:PORT"},
    {"primary", 0, "URL", 0, "primary origin, http://HOST:PORT"},
    {"secondary", 0, "URL", 0, "secondary origin, http://HOST:PORT"},
    {"failover-codes", 0, "LIST", 0, "status codes that fail over, e.g. 403,404,500,502,503,504"},
    {"connection-timeout", 0, "S", 0, "seconds per connection attempt (1-10)"},
    {"connection-attempts", 0, "N", 0, "connection attempts per origin (1-3)"},
    {"response-timeout", 0, "S", 0, "seconds to wait for a response (1-60)"},
    {"distribution-config", 0, "FILE", 0,
     "take origins and behaviours from a CloudFront DistributionConfig JSON"},
    {"origin-map", 0, "DOMAIN=HOST:PORT", 1,
     "point a DistributionConfig origin at a local stand-in"},
    {"primary-region", 0, "R", 0, "region label of the primary, for metrics and logs"},
    {"secondary-region", 0, "R", 0, "region label of the secondary"},
    {"access-log", 0, "FILE", 0, "append the JSON access log to FILE, or off (default: stdout)"},
    {"workers", 0, "N", 0, "event loops serving viewers (default 1)"},
    {0},
};

static const struct cli_option report_opts[] = {
    {"format", 0, "FMT", 0, "md, html or json (default md)"},
    {"output", 'o', "FILE", 0, "write to FILE instead of stdout"},
    {0},
};

static const struct cli_option sign_opts[] = {
    {"method", 0, "M", 0, "HTTP method (default GET)"},
    {"header", 0, "NAME:VALUE", 1, "a request header to sign"},
    {"body-file", 0, "F", 0, "request body from file F"},
    {"date", 0, "YYYYMMDDTHHMMSSZ", 0, "signing time (default now, UTC)"},
    {"service", 0, "S", 0, "signing name, e.g. cloudfront, apprunner, monitoring (required)"},
    {"region", 0, "R", 0, "signing region, e.g. us-east-1 (required)"},
    {0},
};

static const struct cli_option standin_opts[] = {
    {"region", 0, "R", 0, "region this stand-in plays"},
    {"service", 0, "S", 0, "service name it answers as"},
    {"listen", 0, "ADDR", 0, "service address (default 127.0.0.1:0)"},
    {"control", 0, "ADDR", 0, "control address (default 127.0.0.1:0)"},
    {"mode", 0, "MODE", 0, "initial mode"},
    {"slow-ms", 0, "MS", 0, "delay in mode slow"},
    {"identify", 0, "HOW", 0, "header (default), body or none: how answers name the region"},
    {0},
};

static const struct cli_option alarmd_opts[] = {
    {"dir", 0, "DIR", 0, "the alarm service's directory (holding alarmd.json)"},
    {0},
};

const struct cli_command cli_commands[] = {
    {"init", NULL, NULL, 0, 0, "write a commented starter cfdr.json",
     "Writes the file named by --config (default ./cfdr.json). With --local the starter suits an\n"
     "offline rehearsal. Refuses to overwrite an existing file without --force.",
     init_opts, cmd_init},
    {"create", NULL, NULL, 0, 0,
     "create the distribution with the origin group, record it in state",
     "AWS: finds both App Runner services by name (or creates them with --with-services), creates\n"
     "the CloudFront distribution whose default behaviour targets the origin group, records every\n"
     "resource in the state file the moment it exists, waits until Deployed and prints the edge\n"
     "URL. Re-running is safe. --local: starts two regional services and the edge.",
     create_opts, cmd_create},
    {"status", NULL, NULL, 0, 0, "what exists, its status, service health, alarm states", NULL,
     NULL, cmd_status},
    {"drill", "outage", NULL, 0, 0, "take the primary down, probe the edge, measure failover",
     "Probes the edge at a steady rate: a 2 s baseline, then the outage on the primary, then\n"
     "--duration seconds of probing. Writes a report. Exit 0 when failover happened with no\n"
     "viewer-visible error, 1 otherwise. The primary stays down until verify-failback, unless\n"
     "--resume.",
     drill_opts, cmd_drill_outage},
    {"verify-failback", NULL, NULL, 0, 0, "resume the primary and measure how fast traffic returns",
     NULL, failback_opts, cmd_verify_failback},
    {"alarms", "setup", NULL, 0, 0, "create notification topics, subscriptions and the alarms",
     "Creates the alarms <project>-failover-active (the secondary serves traffic) and\n"
     "<project>-edge-5xx (viewers get 5xx), notifying every alarms.email and alarms.https on\n"
     "ALARM and on OK. --local: starts a background evaluator on the local edge's metrics\n"
     "(periods down to 1 s) that also appends every notification to a JSON-lines file in the\n"
     "state directory. Re-running changes nothing unless cfdr.json's alarms changed.",
     NULL, cmd_alarms_setup},
    {"alarms", "status", NULL, 0, 0, "show each alarm's state",
     "Each alarm's state, reason, when it changed and its last datapoints; --local also the\n"
     "notifications delivered, pending and the last delivery error.",
     NULL, cmd_alarms_status},
    {"alarms", "test", "[NAME]", 0, 1, "fire a real notification for one alarm or all",
     "Sets the alarm (every alarm without NAME) to ALARM the way SetAlarmState does, so the real\n"
     "notification path runs; the next evaluation puts it back. --local waits (at most 10 s) and\n"
     "says which targets received it; exit 1 when some did not (they are retried).",
     NULL, cmd_alarms_test},
    {"destroy", NULL, NULL, 0, 0, "remove everything cfdr created, and nothing else",
     "Removes, in reverse order, everything the state file records as created by cfdr.\n"
     "Resumable and idempotent. Asks for confirmation on a terminal unless --yes.",
     destroy_opts, cmd_destroy},
    {"edge", NULL, NULL, 0, 0, "run the local edge proxy (CloudFront origin-group failover)", NULL,
     edge_opts, cmd_edge},
    {"report", NULL, NULL, 0, 0, "render the journal of everything done so far", NULL, report_opts,
     cmd_report},
    {"sign", NULL, "URL", 1, 1, "print the SigV4 canonical request, string to sign, Authorization",
     "For debugging signature errors: signs the request described by the options with the\n"
     "credentials of the normal chain and prints each stage. The session token, when there is\n"
     "one, is shown redacted.",
     sign_opts, cmd_sign},
    {"iam-policy", NULL, NULL, 0, 0, "print the least-privilege IAM policy cfdr needs",
     "Prints the IAM policy (JSON) that allows exactly the CloudFront and App Runner calls cfdr\n"
     "makes, and nothing else. With a cfdr.json (-c) the App Runner actions name its two\n"
     "services; without one they apply to any service.",
     NULL, cmd_iam_policy},
    {"_alarmd", NULL, NULL, 0, 0, "internal: the local alarm service in the foreground", NULL,
     alarmd_opts, cmd_alarmd},
    {"_standin", NULL, NULL, 0, 0, "internal: one local App Runner stand-in in the foreground",
     NULL, standin_opts, cmd_standin},
    {0},
};
