#!/usr/bin/env bash
# End to end, offline: init, create, status, drills with every local fault, verify-failback,
# Ctrl-C in a drill, report, destroy — and the bad-input cases — through the cfdr binary.
. "$(cd "$(dirname "$0")/../tools" && pwd)/e2e_lib.sh"
# A process is gone when it has no entry or only a zombie's (its reaper may be a moment late).
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null); [ -n "$s" ] && [ "${s#Z}" = "$s" ]; }
served_by() { curl -s -o /dev/null -D - --max-time 5 "$url" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-region"{print $2}'; }

# --- init and a configuration for quick drills
run 0 "$bin" --local init
/usr/bin/python3 - <<'PY'
import json, re
text = open("cfdr.json").read()
text = re.sub(r"//[^\n]*", "", text)
cfg = json.loads(text)
cfg["drill"]["rate"] = 20
cfg["drill"]["duration_s"] = 3
json.dump(cfg, open("cfdr.json", "w"), indent=2)
PY

# --- create: under 2 s, prints the edge URL, the primary serves
start=$(date +%s%N)
run 0 "$bin" --local create
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
url=$out
has "$url" "http://127.0.0.1:" "create prints the edge URL"
[ "$elapsed_ms" -lt 2000 ] && ok || bad "create took $elapsed_ms ms (goal: under 2 s)"
has "$errout" "blackholed primary" "create states the failover budget"
[ "$(served_by)" = "us-east-1" ] && ok || bad "the primary does not serve through the edge"
run 0 "$bin" --local create
has "$errout" "reused" "a second create reuses what runs"
[ "$out" = "$url" ] && ok || bad "a second create changed the URL ($out vs $url)"

# --- concurrent runs are refused while the lock is held
flock .cfdr/lock sleep 3 & holder=$!
sleep 0.3
run 2 "$bin" --local create
has "$errout" "another cfdr is working on" "create under a held lock"
wait $holder

# --- status
run 0 "$bin" --local status
has "$out" "3 resources" "status counts"
has "$out" "healthy" "status health"
run 0 "$bin" --local --json status
[ "$(jq_ "$work/out" 'sum(1 for r in d["resources"] if r["healthy"])')" = 3 ] && ok || bad "status --json health"

# --- the default drill: pause, primary stays down
run 0 "$bin" --local drill outage
report=$out
[ -f "$report" ] && ok || bad "drill report missing: $report"
[ -f "${report%.json}.md" ] && [ -f "${report%.json}.html" ] && ok || bad "md/html reports missing"
[ "$(jq_ "$report" 'd["client_errors"]')" = 0 ] && ok || bad "pause: client errors"
[ "$(jq_ "$report" 'd["failover_seconds"] <= 1/20 + 0.05')" = True ] && ok || bad "pause: failover_seconds $(jq_ "$report" 'd["failover_seconds"]') beyond one interval + 50 ms"
[ "$(jq_ "$report" 'd["result"]')" = pass ] && ok || bad "pause: result"
[ "$(served_by)" = "us-west-2" ] && ok || bad "after the drill the secondary serves"
run 0 "$bin" --local --json status
[ "$(jq_ "$work/out" '[r["id"] for r in d["resources"] if not r["healthy"]]')" = "['primary']" ] && ok || bad "status: the paused primary is unhealthy, the rest healthy: $out"
# a second drill on the primary it left down measures nothing: refused before the baseline
journal() { jq_ .cfdr/state.json 'len(d["journal"])'; }
n=$(journal)
run 2 "$bin" --local drill outage
has "$errout" "the primary is already down" "a drill on a down primary is refused"
has "$errout" "run cfdr --local verify-failback first" "a drill on a down primary says what to do"
[ "$(journal)" = "$n" ] && ok || bad "a refused drill was journaled"
# Ctrl-C in verify-failback before the resume: the primary stays down, the message says what next
"$bin" --local verify-failback >"$work/int.out" 2>"$work/int.err" & fb=$!
sleep 1
kill -INT $fb
wait $fb; st=$?
[ "$st" = 130 ] && ok || bad "interrupted verify-failback exited $st, expected 130: $(tail -3 "$work/int.err")"
grep -q "before the primary was resumed.*verify-failback again" "$work/int.err" && ok || bad "interrupted verify-failback says to run it again: $(tail -3 "$work/int.err")"
[ "$(served_by)" = "us-west-2" ] && ok || bad "verify-failback interrupted before the resume resumed the primary"
run 0 "$bin" --local verify-failback
failback=$out
[ "$(jq_ "$failback" 'd["client_errors"]')" = 0 ] && ok || bad "failback: client errors"
[ "$(jq_ "$failback" 'd["failback_seconds"] is not None and d["failback_seconds"] < 1')" = True ] && ok || bad "failback_seconds"
[ "$(served_by)" = "us-east-1" ] && ok || bad "after failback the primary serves"
# verify-failback again: nothing to fail back, said at once (not after --timeout), no figure
n=$(journal)
start=$(date +%s%N)
run 2 "$bin" --local verify-failback --timeout 8
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
has "$errout" "the primary is already serving" "verify-failback on a serving primary is refused"
has "$errout" "run cfdr --local drill outage first" "verify-failback on a serving primary says what to do"
[ "$elapsed_ms" -lt 5000 ] && ok || bad "verify-failback on a serving primary took $elapsed_ms ms"
[ "$(journal)" = "$n" ] && ok || bad "a refused verify-failback was journaled"
# bad drill options: the faults of each mode, one duration limit
run 2 "$bin" --local drill outage --fault bogus
has "$errout" "local mode (--local) pause, error, refuse, blackhole, slow; AWS mode pause" "--fault bogus lists each mode's faults"
run 2 "$bin" --local drill outage --duration 3601
has "$errout" "duration" "--duration above drill.duration_s's limit is refused"

# --- every local fault, resumed at the end
for fault in error refuse; do
  run 0 "$bin" --local drill outage --fault $fault --resume --duration 2
  r=$out
  [ "$(jq_ "$r" 'd["client_errors"]')" = 0 ] && ok || bad "$fault: client errors"
  [ "$(jq_ "$r" 'd["fault"]')" = "$fault" ] && ok || bad "$fault: fault in report"
  [ "$(served_by)" = "us-east-1" ] && ok || bad "$fault: --resume brings the primary back"
done

# --- a blackholed primary costs attempts x connection timeout (1 x 1 s here)
/usr/bin/python3 - <<'PY'
import json
cfg = json.load(open("cfdr.json"))
cfg["origin_group"]["connection_timeout_s"] = 1
cfg["origin_group"]["connection_attempts"] = 1
json.dump(cfg, open("cfdr.json", "w"), indent=2)
PY
run 0 "$bin" --local create
has "$errout" "origin settings changed: restarting the edge" "create notices new origin settings"
url=$out
run 0 "$bin" --local drill outage --fault blackhole --resume --duration 3
r=$out
[ "$(jq_ "$r" '0.95 <= d["failover_seconds"] < 1.6')" = True ] && ok || bad "blackhole: failover_seconds $(jq_ "$r" 'd["failover_seconds"]'), expected about 1 s"
[ "$(jq_ "$r" 'd["client_errors"]')" = 0 ] && ok || bad "blackhole: client errors"

# --- Ctrl-C in the middle of a drill: primary resumed, partial report kept, exit 130
"$bin" --local drill outage --duration 60 >"$work/int.out" 2>"$work/int.err" & drill=$!
sleep 4
kill -INT $drill
wait $drill; st=$?
[ "$st" = 130 ] && ok || bad "interrupted drill exited $st, expected 130: $(tail -3 "$work/int.err")"
grep -q "partial report" "$work/int.err" && ok || bad "interrupted drill mentions the partial report"
[ "$(served_by)" = "us-east-1" ] && ok || bad "after Ctrl-C the primary serves again"
ls .cfdr/reports/drill-*.json >/dev/null 2>&1 && ok || bad "reports kept"

# --- report: the whole run in one document, three formats
run 0 "$bin" --local report --format json -o run.json
[ "$(jq_ run.json 'sum(1 for e in d["journal"] if e["event"] in ("drill","failback") and "report_document" in e)')" -ge 5 ] 2>/dev/null && ok || bad "report json: every drill and failback with its document"
run 0 "$bin" --local report
has "$out" "## What happened" "report md"
has "$out" "verify-failback" "report md lists the failback"
has "$out" "# Outage drill" "report md holds each drill"
run 0 "$bin" --local report --format html -o run.html
probes=$(jq_ run.json 'sum(e["report_document"]["probes"] for e in d["journal"] if "report_document" in e)')
marks=$(grep -o 'class="probe ' run.html | wc -l)
[ "$probes" = "$marks" ] && ok || bad "report html: $marks probe marks for $probes probes"
grep -q "<script" run.html && bad "report html has a script" || ok
run 2 "$bin" --local report --format pdf; has "$errout" "md, html, json" "report --format validation"

# --- destroy: processes gone, idempotent, survives a killed process
pids=$(jq_ .cfdr/state.json '" ".join(str(r["pid"]) for r in d["resources"])')
sec=$(jq_ .cfdr/state.json '[r["pid"] for r in d["resources"] if r["id"]=="secondary"][0]')
kill -9 "$sec"
sleep 0.2
run 0 "$bin" --local destroy --yes
has "$errout" "already gone" "destroy notices the killed stand-in"
has "$out" "2 removed, 1 already gone" "destroy counts"
for pid in $pids; do alive "$pid" && bad "process $pid survived destroy" || ok; done
run 0 "$bin" --local destroy --yes
has "$errout" "nothing to destroy" "second destroy"

# --- bad input: no edge, another project's state
run 2 "$bin" --local drill outage
has "$errout" "create" "drill without an edge says to create"
/usr/bin/python3 -c '
import json; c=json.load(open("cfdr.json")); c["project"]="another"; json.dump(c, open("other.json","w"))'
run 2 "$bin" --local -c other.json create
has "$errout" "belongs to project" "another project's state is refused"

echo "local_cycle: $pass passed, $fail failed"
[ "$fail" = 0 ]
