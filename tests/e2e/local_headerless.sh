#!/usr/bin/env bash
# End to end, offline, with origins that do not say who they are: the stand-ins send no
# x-region header (CFDR_STANDIN_IDENTIFY), so drills must tell the origins apart from direct
# probes (PRODUCT.md section 4). First with bodies that still name the region (fingerprint),
# then with identical answers, like App Runner's sample image (the primary's health).
. "$(cd "$(dirname "$0")/../tools" && pwd)/e2e_lib.sh"
check() { # check FILE EXPR WHAT
  [ "$(jq_ "$1" "$2")" = True ] && ok || bad "$3: $2 does not hold in $(jq_ "$1" '{k: d.get(k) for k in ("result","served_by","served_by_method","served_by_fingerprint","served_by_uncertain","failover_seconds","failback_seconds","client_errors")}')"
}

run 0 "$bin" --local init
/usr/bin/python3 - <<'PY'
import json, re
cfg = json.loads(re.sub(r"//[^\n]*", "", open("cfdr.json").read()))
cfg["drill"]["rate"] = 20
cfg["drill"]["duration_s"] = 3
cfg["origin_group"]["connection_timeout_s"] = 1
cfg["origin_group"]["connection_attempts"] = 1
json.dump(cfg, open("cfdr.json", "w"), indent=2)
PY

# --- bodies that differ: the fingerprint tells the origins apart exactly
CFDR_STANDIN_IDENTIFY=body run 0 "$bin" --local create
url=$out
has "$errout" "TEST HOOK" "the stand-in knob is announced"
hdrs=$(curl -s -D - -o "$work/body" --max-time 5 "$url" | tr -d '\r')
case "$hdrs" in *[Xx]-[Rr]egion:*) bad "the edge's answer still carries x-region: $hdrs" ;; *) ok ;; esac
run 0 "$bin" --local drill outage
r=$out
check "$r" 'd["result"] == "pass" and d["client_errors"] == 0' "fingerprint: the drill passes"
check "$r" 'd["served_by_method"] == "fingerprint" and d["served_by_fingerprint"] == "body"' "fingerprint: method"
check "$r" 'd["served_by"]["unknown"] == 0 and d["served_by"]["primary"] >= 30 and d["served_by"]["secondary"] >= 50' "fingerprint: every probe attributed"
check "$r" 'd["served_by_uncertain"] == 0' "fingerprint: nothing uncertain"
check "$r" 'd["failover_seconds"] <= 1/20 + 0.05' "fingerprint: failover within one interval + 50 ms"
check "$r" 'd["outage_started_at"] == d["fault_requested_at"]' "local: the outage starts when the fault is injected"
check "$r" 'all(t[3] == "primary" for t in d["timeline"] if t[0] < d["outage_started_s"] - 0.01)' "fingerprint: the primary served before the outage"
check "$r" 'all(t[3] == "secondary" for t in d["timeline"] if t[0] > d["outage_started_s"] + 0.06)' "fingerprint: the secondary served during it"
has "$(cat "${r%.json}.md")" "origin told by" "the Markdown report says how origins were told apart"
has "$(cat "${r%.json}.html")" "origin told by" "the HTML report says how origins were told apart"
run 0 "$bin" --local verify-failback
f=$out
check "$f" 'd["result"] == "pass" and d["served_by_method"] == "fingerprint"' "fingerprint: failback passes"
check "$f" 'd["failback_seconds"] is not None and d["failback_seconds"] < 1' "fingerprint: failback_seconds"
run 0 "$bin" --local report --format json -o run.json
check run.json '[e["report_document"]["served_by_method"] for e in d["journal"] if "report_document" in e] == ["fingerprint", "fingerprint"]' "cfdr report keeps served_by_method"
run 0 "$bin" --local destroy --yes

# --- identical answers: attributed by the primary's directly probed health
CFDR_STANDIN_IDENTIFY=none run 0 "$bin" --local create
url=$out
run 0 "$bin" --local drill outage
r=$out
check "$r" 'd["result"] == "pass" and d["client_errors"] == 0' "primary-health: the drill passes"
check "$r" 'd["served_by_method"] == "primary-health" and d["served_by_fingerprint"] is None' "primary-health: method"
check "$r" 'd["served_by"]["unknown"] == 0 and d["served_by"]["secondary"] >= 50' "primary-health: probes attributed"
check "$r" 'd["served_by_uncertain"] <= 4' "primary-health: only the probes near the change are uncertain"
# the direct probes run at 10/s: the switch is seen within one of their intervals
check "$r" 'd["failover_seconds"] <= 1/10 + 0.05' "primary-health: failover within one direct interval + 50 ms"
run 0 "$bin" --local verify-failback
f=$out
check "$f" 'd["result"] == "pass" and d["served_by_method"] == "primary-health"' "primary-health: failback passes"
# a blackholed primary still costs attempts x connection timeout (1 x 1 s)
run 0 "$bin" --local drill outage --fault blackhole --resume --duration 3
r=$out
check "$r" 'd["served_by_method"] == "primary-health" and d["client_errors"] == 0' "blackhole: attributed, no error"
check "$r" '0.95 <= d["failover_seconds"] < 1.6' "blackhole: failover_seconds about 1 s"

echo "local_headerless: $pass passed, $fail failed"
[ "$fail" = 0 ]
