#!/usr/bin/env bash
# bench/drill.sh: the drill engine's probe schedule and cost, and the whole offline cycle.
#  1. cfdr's prober at RATE probes/s for SECONDS against the local edge (cfdr --local create):
#     send lateness p50/p99/max and CPU per core, side by side with the paced Python client of
#     ../shared/peers (loadclient.py, one connection per request) at the same rate: ROUNDS
#     alternating runs of SECONDS/ROUNDS each, so that load on the machine hits both alike;
#     medians of the rounds.
#  2. The make demo cycle (init, create, 5 s outage drill, verify-failback, report, destroy),
#     timed after the build.
# Loopback only; every process started here is stopped by PID.
#
#   bench/drill.sh [RATE=1000] [SECONDS=30] [ROUNDS=3]
set -euo pipefail
RATE=${1:-1000}
SECS=${2:-30}
ROUNDS=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
PEERS=${PEERS:-$ROOT/../shared/peers}
[ -x "$BUILD/cfdr" ] || { echo "bench/drill.sh: run make build first" >&2; exit 2; }
DIR=$(mktemp -d /tmp/cfdr-drill-bench.XXXXXX)
cleanup() { (cd "$DIR/cycle" 2>/dev/null && "$BUILD/cfdr" --local destroy --yes >/dev/null 2>&1) || true
            (cd "$DIR" && "$BUILD/cfdr" --local destroy --yes >/dev/null 2>&1) || true; rm -rf "$DIR"; }
trap cleanup EXIT
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$ROOT" "$ROOT/bench/prober_bench.c" \
  "$BUILD/libcfdr_core.a" $(pkg-config --libs libcurl json-c libxml-2.0 libevent libevent_pthreads) \
  -lssl -lcrypto -lpthread -lm -o "$DIR/prober_bench"

cd "$DIR"
"$BUILD/cfdr" -q --local init
URL=$("$BUILD/cfdr" -q --local create)
echo "machine: $(nproc) cores, $(uname -r); target: cfdr's local edge at $URL"
echo "== 1. probing at $RATE/s for $SECS s in total, $ROUNDS alternating rounds per client ($(uptime | sed 's/.*load/load/'))"
ROUND_S=$(( SECS / ROUNDS ))
: >"$DIR/rounds.jsonl"
for r in $(seq 1 "$ROUNDS"); do
  "$DIR/prober_bench" "$URL" "$RATE" "$ROUND_S" | tee -a "$DIR/rounds.jsonl"
  /usr/bin/python3 - "$PEERS/loadclient.py" "$URL" "$RATE" "$ROUND_S" "$DIR/py.csv" <<'PY' | tee -a "$DIR/rounds.jsonl"
import csv, json, resource, subprocess, sys, time
client, url, rate, secs, out = sys.argv[1:]
t0 = time.monotonic()
subprocess.run(["/usr/bin/python3", client, "--url", url, "--rate", rate, "--duration", secs,
                "--out", out], check=True, stdout=subprocess.DEVNULL)
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
rows = list(csv.DictReader(open(out)))
late = sorted(float(r["send_s"]) - int(r["seq"]) / float(rate) for r in rows)
errs = sum(1 for r in rows if not r["status"].isdigit() or int(r["status"]) >= 400)
n = len(late)
print(json.dumps({"client": "peers-loadclient.py", "probes": n, "errors": errs,
                  "lateness_p50_ms": round(late[n // 2] * 1e3, 3),
                  "lateness_p99_ms": round(late[int(n * 0.99)] * 1e3, 3),
                  "lateness_max_ms": round(late[-1] * 1e3, 3),
                  "cpu_s": round(ru.ru_utime + ru.ru_stime, 3), "wall_s": round(wall, 3),
                  "cpu_pct_of_core": round(100 * (ru.ru_utime + ru.ru_stime) / wall, 1)}))
PY
done
/usr/bin/python3 - "$DIR/rounds.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(client, key):
    return statistics.median(r[key] for r in rows if r["client"] == client)
c, p = "cfdr-prober", "peers-loadclient.py"
for name in (c, p):
    print(f"median {name:20s} lateness p50 {med(name, 'lateness_p50_ms'):.3f} ms, "
          f"p99 {med(name, 'lateness_p99_ms'):.3f} ms, CPU {med(name, 'cpu_pct_of_core'):.1f}% "
          f"of a core, errors {sum(r['errors'] for r in rows if r['client'] == name)}")
print(f"ratio (python / cfdr): lateness p99 {med(p, 'lateness_p99_ms') / max(med(c, 'lateness_p99_ms'), 1e-3):.1f}x, "
      f"CPU {med(p, 'cpu_s') / max(med(c, 'cpu_s'), 1e-3):.1f}x")
print(f"goal: cfdr p99 lateness < 1 ms: {'yes' if med(c, 'lateness_p99_ms') < 1 else 'NO'}; "
      f"CPU < 25% of a core: {'yes' if med(c, 'cpu_pct_of_core') < 25 else 'NO'}")
PY
"$BUILD/cfdr" -q --local destroy --yes >/dev/null

echo "== 2. the make demo cycle with a 5 s outage"
start=$(date +%s%N)
CFDR_DEMO_DIR="$DIR/cycle" bash "$ROOT/tests/demo.sh" "$BUILD/cfdr" >/dev/null 2>"$DIR/cycle.err" ||
  { cat "$DIR/cycle.err" >&2; exit 1; }
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "demo cycle: $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s (goal: under 20 s)"
