#!/usr/bin/env bash
# End-to-end test of `cfdr edge --distribution-config FILE --origin-map DOMAIN=HOST:PORT`: two
# local App Runner stand-ins (us-east-1, us-west-2) behind an edge configured from CloudFront
# DistributionConfig files. Failover on a paused primary, failback, 403 for a method the
# behaviour does not allow, path-pattern behaviours, the Host header the origins see, region
# labels in the metrics, and the configuration errors (exit 2, the field named).
# Every process started here is stopped by its PID, also on failure; every wait is bounded.
set -u
bin=${CFDR_BIN:?CFDR_BIN must point at the cfdr binary}
data=${CFDR_TESTDATA:-${CFDR_SOURCE_DIR:?}/tests/data}
fixture=$data/aws/distribution-config-with-tags.json
behaviors=$data/distconfig/behaviors.json
group_post=$data/distconfig/group-allows-post.json
east_domain=abcdefghij.us-east-1.awsapprunner.com
west_domain=klmnopqrst.us-west-2.awsapprunner.com
work=$(mktemp -d)
pids=()

stop_all() {
  local p i
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT
cd "$work" || exit 1
export NO_COLOR=1

pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
has() { # has HAYSTACK NEEDLE DESCRIPTION
  case "$1" in *"$2"*) ok ;; *) bad "$3: '$2' not found in: $1" ;; esac
}
eq() { # eq GOT WANT DESCRIPTION
  if [ "$1" = "$2" ]; then ok; else bad "$3: got '$1', want '$2'"; fi
}
die() { echo "FAIL: $*" >&2; exit 1; }
# Under make test-asan the children report memory errors and leaks in their logs as they exit.
clean_logs() {
  local f
  for f in "$work"/*.log; do
    if grep -q 'Sanitizer\|runtime error' "$f"; then bad "$f: $(cat "$f")"; else ok; fi
  done
}

# wait_ready FILE NAME LOG: the ready line a child wrote on CFDR_READY_FD (bounded: 10 s).
wait_ready() {
  local i
  for i in $(seq 1 100); do
    if grep -q '}' "$1" 2>/dev/null; then cat "$1"; return 0; fi
    sleep 0.1
  done
  echo "$2 did not become ready in 10 s; its log: $(cat "$3" 2>/dev/null)" >&2
  return 1
}
json_field() { # json_field LINE NAME -> the number after "NAME":
  printf '%s' "$1" | sed -n "s/.*\"$2\":\([0-9][0-9]*\).*/\1/p"
}

# start_standin NAME REGION: sets ${NAME}_port and ${NAME}_control.
start_standin() {
  local name=$1 region=$2 line
  # The redirection below truncates the file in the background child, maybe after wait_ready
  # has read a previous run's ready line (a stale port): start from no file at all.
  rm -f "$work/$name.ready"
  CFDR_READY_FD=3 "$bin" _standin --region "$region" --service "dr-$name" \
    --listen 127.0.0.1:0 --control 127.0.0.1:0 3>"$work/$name.ready" >"$work/$name.log" 2>&1 &
  pids+=($!)
  line=$(wait_ready "$work/$name.ready" "stand-in $name" "$work/$name.log") || die "no $name"
  printf -v "${name}_port" '%s' "$(json_field "$line" port)"
  printf -v "${name}_control" '%s' "$(json_field "$line" control_port)"
}

# start_edge NAME ARGS...: sets ${NAME}_port and ${NAME}_admin; the port also comes from the
# stderr line "edge listening on http://127.0.0.1:PORT/", which must agree.
start_edge() {
  local name=$1 line said i
  shift
  rm -f "$work/$name.ready" # as in start_standin
  CFDR_READY_FD=3 "$bin" edge "$@" --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
    3>"$work/$name.ready" >"$work/$name.access" 2>"$work/$name.log" &
  pids+=($!)
  line=$(wait_ready "$work/$name.ready" "edge $name" "$work/$name.log") || die "no edge $name"
  printf -v "${name}_port" '%s' "$(json_field "$line" port)"
  printf -v "${name}_admin" '%s' "$(json_field "$line" admin_port)"
  for i in $(seq 1 50); do
    said=$(sed -n 's|.*edge listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$work/$name.log")
    [ -n "$said" ] && break
    sleep 0.1
  done
  eq "$said" "$(json_field "$line" port)" "edge $name: stderr and CFDR_READY_FD agree on the port"
}

# req METHOD URL: sets status, region (the x-region header) and body.
req() {
  status=$(curl -s -X "$1" -o "$work/body" -D "$work/headers" -w '%{http_code}' \
    --max-time 15 "$2")
  region=$(tr -d '\r' <"$work/headers" | sed -n 's/^[Xx]-[Rr]egion: *//p' | tail -n 1)
  body=$(cat "$work/body")
}

# set_mode CONTROL_PORT MODE: through the stand-in's control API.
set_mode() {
  local got
  got=$(curl -s -X PUT --data "$2" --max-time 5 "http://127.0.0.1:$1/mode")
  has "$got" "\"mode\":\"$2\"" "stand-in on control port $1 switched to $2"
}

# The Host the stand-in saw on /echo.
echo_host() {
  /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(";".join(v for k, v in d["headers"] if k.lower() == "host"))' "$work/body"
}

start_standin east us-east-1
start_standin west us-west-2
[ -n "$east_port" ] && [ -n "$west_port" ] && [ -n "$east_control" ] || die "no stand-in ports"

# --- the realistic fixture: one origin group, default behaviour on it
start_edge edge --distribution-config "$fixture" \
  --origin-map "$east_domain=127.0.0.1:$east_port" --origin-map "$west_domain=127.0.0.1:$west_port"
base=http://127.0.0.1:$edge_port

req GET "$base/"
eq "$status" 200 "GET / through the edge"
eq "$region" us-east-1 "the primary serves while it runs"
req GET "$base/echo"
eq "$(echo_host)" "$east_domain" "the primary sees its DomainName as Host"

set_mode "$east_control" paused
req GET "$base/"
eq "$status" 200 "GET / with the primary paused"
eq "$region" us-west-2 "the secondary serves while the primary is paused"
req GET "$base/echo"
eq "$(echo_host)" "$west_domain" "the secondary sees its DomainName as Host"

set_mode "$east_control" running
req GET "$base/"
eq "$status" 200 "GET / after resuming"
eq "$region" us-east-1 "failback: the primary serves again"

req POST "$base/"
eq "$status" 403 "POST on the group behaviour (GET, HEAD, OPTIONS) is refused"
req OPTIONS "$base/"
eq "$status" 200 "OPTIONS is allowed by the fixture's behaviour"

metrics=$(curl -s --max-time 5 "http://127.0.0.1:$edge_admin/metrics")
has "$metrics" 'origin_id="primary-us-east-1"' "metrics name the origin id"
has "$metrics" 'region="us-east-1"' "metrics: region derived from the App Runner domain"
has "$metrics" 'region="us-west-2"' "metrics: the secondary's region"
has "$metrics" 'cfdr_edge_failovers_total{reason="status"} 2' "two failovers, on status"
has "$(cat "$work/edge.access")" '"failover_reason":"status"' "the access log says why"
stop_all
clean_logs

# --- path-pattern behaviours, all three method sets, an S3 origin with an OriginPath
start_standin east us-east-1
start_standin west us-west-2
start_edge beh --distribution-config "$behaviors" \
  --origin-map "eastservice1.us-east-1.awsapprunner.com=127.0.0.1:$east_port" \
  --origin-map "westservice2.us-west-2.awsapprunner.com=127.0.0.1:$west_port" \
  --origin-map "cfdr-assets.s3.eu-west-1.amazonaws.com=127.0.0.1:$west_port"
base=http://127.0.0.1:$beh_port

req POST "$base/api/orders"
eq "$status" 200 "POST /api/* (all seven methods, single origin)"
eq "$region" us-east-1 "/api/* goes to the east origin"
req GET "$base/west/x"
eq "$region" us-west-2 "/west/* goes to the west origin"
req POST "$base/west/x"
eq "$status" 403 "POST /west/* (no AllowedMethods: GET, HEAD)"
req OPTIONS "$base/static/site.css"
eq "$status" 403 "OPTIONS on static/*.css (GET, HEAD)"
req GET "$base/static/site.css"
eq "$status" 200 "GET static/*.css from the S3 origin"
eq "$region" us-west-2 "the S3 origin is mapped to the west stand-in"
set_mode "$east_control" paused
req GET "$base/api/orders"
eq "$status" 404 "a single-origin behaviour does not fail over (paused primary's 404)"
req GET "$base/anything"
eq "$status" 200 "the default behaviour on the group fails over"
eq "$region" us-west-2 "the default behaviour's secondary serves"
has "$(cat "$work/beh.access")" '"path":"/static/site.css"' "access log of the S3 request"
stop_all
clean_logs

# --- configuration errors: exit 2, the field or the conflict named, nothing left running
# cfg_error DESCRIPTION NEEDLE ARGS...
cfg_error() {
  local what=$1 needle=$2 got
  shift 2
  timeout 20 "$bin" edge "$@" --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
    >"$work/err.out" 2>"$work/err.log"
  got=$?
  eq "$got" 2 "$what: exit status"
  has "$(cat "$work/err.log")" "$needle" "$what"
}
maps=(--origin-map "$east_domain=127.0.0.1:1" --origin-map "$west_domain=127.0.0.1:2")
cfg_error "a group behaviour that allows POST" \
  "DistributionConfig.DefaultCacheBehavior.AllowedMethods: a behaviour whose target is an origin group may only allow GET, HEAD and OPTIONS" \
  --distribution-config "$group_post" "${maps[@]}"
cfg_error "an unmapped origin" \
  "DistributionConfig.Origins.Items[1].DomainName: origin \"secondary-us-west-2\" has DomainName $west_domain, which no --origin-map points at a local address; add --origin-map $west_domain=HOST:PORT" \
  --distribution-config "$fixture" --origin-map "$east_domain=127.0.0.1:1"
cfg_error "--distribution-config with --primary" "mutually exclusive" \
  --distribution-config "$fixture" "${maps[@]}" --primary http://127.0.0.1:1 \
  --secondary http://127.0.0.1:2
cfg_error "--distribution-config with --failover-codes" \
  "--failover-codes conflicts with --distribution-config" \
  --distribution-config "$fixture" "${maps[@]}" --failover-codes 500
cfg_error "--origin-map without --distribution-config" "--origin-map only applies" \
  --primary http://127.0.0.1:1 --secondary http://127.0.0.1:2 "${maps[@]}"
cfg_error "a malformed --origin-map" "expected DOMAIN=HOST:PORT" \
  --distribution-config "$fixture" --origin-map "$east_domain"
sed 's/"Items": \[403, 404, 500/"Items": [403, 302, 500/' "$fixture" >"$work/bad-code.json"
cfg_error "a status code CloudFront does not accept" \
  "DistributionConfig.OriginGroups.Items[0].FailoverCriteria.StatusCodes.Items[1]: 302 is not allowed (allowed: 400, 403, 404, 416, 500, 502, 503, 504)" \
  --distribution-config "$work/bad-code.json" "${maps[@]}"

echo "edge_distconfig: $pass passed, $fail failed"
[ "$fail" = 0 ]
