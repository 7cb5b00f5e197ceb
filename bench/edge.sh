#!/usr/bin/env bash
# bench/edge.sh: cfdr's edge (the real `cfdr edge` command) against nginx and HAProxy as reverse
# proxies in front of the same fast origin (nginx, 1 worker, a small fixed 200), loopback only.
#
#  1. Throughput and latency: wrk against each proxy, with 1 worker each (cfdr --workers 1,
#     nginx worker_processes 1, HAProxy nbthread 1) and with 2 (the machine's cores). Keep-alive
#     to the origin and no access log for all three. Runs alternate between the proxies (the
#     order reverses every round) so that drift on a shared machine hits them alike; the medians
#     are printed with the ratios to cfdr's, and the CPU each proxy spent per request.
#  2. The failover cost: the latency of one request at a time (wrk -c1) through a cfdr edge whose
#     primary answers 503 (so every request fails over to the secondary), minus the same through
#     an edge whose primary answers 200, against one origin round trip (wrk -c1 to the origin).
#     Goal: at most one origin round trip + 1 ms.
# Every process started here is stopped by PID.
#
#   bench/edge.sh [ROUNDS=3] [SECONDS=5] [CONNECTIONS=50] [WORKER_COUNTS="1 2"]
#   WRK_THREADS=1 FAILOVER_ROUNDS=5 FAILOVER_SECONDS=3 BUILD=build ONLY=throughput|failover \
#     BASELINE=/path/to/another/cfdr bench/edge.sh
# BASELINE adds another cfdr binary (an older build, say) as a fourth proxy, "base", to the
# alternated throughput runs: before/after figures from one run.
set -euo pipefail

ROUNDS=${1:-3}
SECS=${2:-5}
CONNS=${3:-50}
WORKER_COUNTS=${4:-"1 2"}
WRK_THREADS=${WRK_THREADS:-1}
FO_SECS=${FAILOVER_SECONDS:-3}
FO_ROUNDS=${FAILOVER_ROUNDS:-5}
ONLY=${ONLY:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
CFDR=$BUILD/cfdr
BASELINE=${BASELINE:-}
[ -z "$BASELINE" ] || [ -x "$BASELINE" ] || { echo "bench/edge.sh: BASELINE $BASELINE is not an executable" >&2; exit 2; }
for tool in wrk nginx haproxy curl; do
  command -v "$tool" >/dev/null || { echo "bench/edge.sh: $tool is missing (apt-get install wrk nginx-light haproxy curl)" >&2; exit 2; }
done
[ -x "$CFDR" ] || { echo "bench/edge.sh: $CFDR is missing; run make build first" >&2; exit 2; }
(( ROUNDS >= 1 && ROUNDS <= 9 && SECS >= 1 && SECS <= 60 )) || { echo "bench/edge.sh: 1-9 rounds of 1-60 s" >&2; exit 2; }

DIR=$(mktemp -d /tmp/cfdr-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT

NPORTS=$((5 + 4 * 3))
read -r -a PORTS < <(/usr/bin/python3 -c '
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])' "$NPORTS")
P_OK=${PORTS[0]} P_OK2=${PORTS[1]} P_503=${PORTS[2]} P_ADMIN=${PORTS[3]} P_NORMAL=${PORTS[4]}
mkdir -p "$DIR/logs"

cat > "$DIR/origin.conf" <<EOF
worker_processes 1;
pid $DIR/origin.pid;
error_log $DIR/logs/origin-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$P_OK backlog=4096;
           location / { add_header x-region primary always; return 200 "hello from the origin\n"; } }
  server { listen 127.0.0.1:$P_OK2 backlog=4096;
           location / { add_header x-region secondary always; return 200 "hello from the origin\n"; } }
  server { listen 127.0.0.1:$P_503 backlog=4096;
           location / { add_header x-region primary always; return 503 "primary is down\n"; } }
}
EOF
nginx -p "$DIR" -c "$DIR/origin.conf" -g 'daemon off;' & PIDS+=($!)

# One proxy of each kind per worker count; all idle except the one being measured.
declare -A PORT PID
i=5
[ "$ONLY" = failover ] && WORKER_COUNTS=""
for w in $WORKER_COUNTS; do
  PORT[cfdr-$w]=${PORTS[$i]} PORT[nginx-$w]=${PORTS[$((i + 1))]} PORT[haproxy-$w]=${PORTS[$((i + 2))]}
  PORT[base-$w]=${PORTS[$((i + 3))]}
  i=$((i + 4))
  cat > "$DIR/nginx-$w.conf" <<EOF
worker_processes $w;
pid $DIR/nginx-$w.pid;
error_log $DIR/logs/nginx-$w-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream origin { server 127.0.0.1:$P_OK; keepalive 256; keepalive_requests 1000000; }
  server { listen 127.0.0.1:${PORT[nginx-$w]} backlog=4096;
           location / { proxy_pass http://origin; proxy_http_version 1.1;
                        proxy_set_header Connection ""; } }
}
EOF
  cat > "$DIR/haproxy-$w.cfg" <<EOF
global
  nbthread $w
  maxconn 4096
defaults
  mode http
  timeout connect 10s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:${PORT[haproxy-$w]}
  default_backend be
backend be
  http-reuse always
  server origin 127.0.0.1:$P_OK
EOF
  "$CFDR" edge --listen "127.0.0.1:${PORT[cfdr-$w]}" --admin 127.0.0.1:0 --workers "$w" \
    --primary "http://127.0.0.1:$P_OK" --secondary "http://127.0.0.1:$P_OK2" \
    --failover-codes 403,404,500,502,503,504 --access-log off >"$DIR/logs/cfdr-$w.log" 2>&1 &
  PIDS+=($!) PID[cfdr-$w]=$!
  if [ -n "$BASELINE" ]; then
    "$BASELINE" edge --listen "127.0.0.1:${PORT[base-$w]}" --admin 127.0.0.1:0 --workers "$w" \
      --primary "http://127.0.0.1:$P_OK" --secondary "http://127.0.0.1:$P_OK2" \
      --failover-codes 403,404,500,502,503,504 --access-log off >"$DIR/logs/base-$w.log" 2>&1 &
    PIDS+=($!) PID[base-$w]=$!
  else
    unset "PORT[base-$w]"
  fi
  nginx -p "$DIR" -c "$DIR/nginx-$w.conf" -g 'daemon off;' & PIDS+=($!) PID[nginx-$w]=$!
  haproxy -f "$DIR/haproxy-$w.cfg" -db >"$DIR/logs/haproxy-$w.log" 2>&1 & PIDS+=($!) PID[haproxy-$w]=$!
done
# The failover-cost edges, one worker each: the same settings, one with a primary that always
# answers 503.
"$CFDR" edge --listen "127.0.0.1:0" --admin "127.0.0.1:$P_ADMIN" --workers 1 \
  --primary "http://127.0.0.1:$P_503" --secondary "http://127.0.0.1:$P_OK2" \
  --failover-codes 403,404,500,502,503,504 --access-log off >"$DIR/logs/cfdr-fo.log" 2>&1 &
PIDS+=($!)
"$CFDR" edge --listen "127.0.0.1:$P_NORMAL" --admin "127.0.0.1:0" --workers 1 \
  --primary "http://127.0.0.1:$P_OK" --secondary "http://127.0.0.1:$P_OK2" \
  --failover-codes 403,404,500,502,503,504 --access-log off >"$DIR/logs/cfdr-normal.log" 2>&1 &
PIDS+=($!)

wait_port() {
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.05; done
  echo "bench/edge.sh: nothing answers on port $1 (logs in $DIR/logs)" >&2; cat "$DIR"/logs/* >&2; exit 1
}
P_FO=""
for _ in $(seq 100); do
  P_FO=$(sed -n 's#.*edge listening on http://127.0.0.1:\([0-9]*\)/.*#\1#p' "$DIR/logs/cfdr-fo.log")
  [ -n "$P_FO" ] && break; sleep 0.05
done
for p in $P_OK $P_OK2 $P_FO $P_NORMAL ${PORT[@]+"${PORT[@]}"}; do wait_port "$p"; done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_503/")" = 503 ] || { echo "bench/edge.sh: the 503 origin is not answering 503" >&2; exit 1; }
[ "$(curl -s -D - -o /dev/null "http://127.0.0.1:$P_FO/" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-region" {print $2}')" = secondary ] ||
  { echo "bench/edge.sh: the failover edge does not serve from the secondary" >&2; exit 1; }

# CPU ticks (user + system) of a process and its children (nginx's workers).
cpu_ticks() {
  local t=0 p
  for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
    [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat")))
  done
  echo "$t"
}
# "2.31ms" -> milliseconds
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
HZ=$(getconf CLK_TCK)

# One measured wrk run: sets RPS, AVG (for -c1 runs), P50, P99 (ms), ERRS (non-2xx + socket errors).
run_wrk() { # port threads conns secs
  local out
  out=$(wrk -t"$2" -c"$3" -d"$4s" --latency "http://127.0.0.1:$1/")
  RPS=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  # closed loop: with one connection the mean latency is exactly 1 / rate (wrk's own "Latency
  # avg" is skewed by its sampling)
  AVG=$(awk -v r="$RPS" 'BEGIN {printf "%.4f", 1000 / r}')
  P50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  P99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  ERRS=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(/[^0-9 ]/, " "); for (i = 1; i <= NF; i++) n += $i} END {print n + 0}' <<<"$out")
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), Linux $(uname -r)"
echo "load before: $(uptime | sed 's/.*load average/load average/')"
declare -A R_RPS R_P99 R_CPU R_ERR
if [ "$ONLY" != failover ]; then
echo "wrk -t$WRK_THREADS -c$CONNS -d${SECS}s --latency, $ROUNDS rounds, order reversed every round, 1 s warm-up per run"
for w in $WORKER_COUNTS; do
  names=("cfdr-$w" "nginx-$w" "haproxy-$w")
  if [ -n "$BASELINE" ]; then names+=("base-$w"); fi
  for round in $(seq "$ROUNDS"); do
    order=("${names[@]}")
    if (( round % 2 == 0 )); then
      order=()
      for (( k = ${#names[@]} - 1; k >= 0; k-- )); do order+=("${names[$k]}"); done
    fi
    for n in "${order[@]}"; do
      wrk -t"$WRK_THREADS" -c"$CONNS" -d1s "http://127.0.0.1:${PORT[$n]}/" >/dev/null
      c0=$(cpu_ticks "${PID[$n]}")
      run_wrk "${PORT[$n]}" "$WRK_THREADS" "$CONNS" "$SECS"
      c1=$(cpu_ticks "${PID[$n]}")
      cpu=$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v r="$RPS" -v s="$SECS" 'BEGIN {printf "%.1f", d / hz * 1e6 / (r * s)}')
      R_RPS[$n]="${R_RPS[$n]:-} $RPS" R_P99[$n]="${R_P99[$n]:-} $P99" R_CPU[$n]="${R_CPU[$n]:-} $cpu"
      R_ERR[$n]=$(( ${R_ERR[$n]:-0} + ERRS ))
      printf '  %d worker(s) round %d %-10s %9.0f req/s  p50 %6.3f ms  p99 %6.3f ms  %5s us CPU/req\n' \
        "$w" "$round" "${n%-*}" "$RPS" "$P50" "$P99" "$cpu"
    done
  done
done
echo "load after throughput runs: $(uptime | sed 's/.*load average/load average/')"
echo
echo "== throughput and p99 (medians of $ROUNDS rounds)"
printf '%-8s %-8s %10s %9s %9s %13s %12s %8s\n' workers proxy "req/s" "p99 ms" "CPU us/req" "cfdr/x req/s" "cfdr/x p99" errors
for w in $WORKER_COUNTS; do
  c_rps=$(echo "${R_RPS[cfdr-$w]}" | median) c_p99=$(echo "${R_P99[cfdr-$w]}" | median)
  for p in cfdr nginx haproxy ${BASELINE:+base}; do
    n=$p-$w
    rps=$(echo "${R_RPS[$n]}" | median) p99=$(echo "${R_P99[$n]}" | median) cpu=$(echo "${R_CPU[$n]}" | median)
    awk -v w="$w" -v p="$p" -v r="$rps" -v l="$p99" -v c="$cpu" -v cr="$c_rps" -v cl="$c_p99" -v e="${R_ERR[$n]}" \
      'BEGIN {printf "%-8s %-8s %10.0f %9.3f %9.1f %13.2f %12.2f %8d\n", w, p, r, l, c, cr / r, cl / l, e}'
  done
done
echo "(cfdr/x req/s >= 1 and cfdr/x p99 <= 1 mean cfdr is at least as good as x)"
if [ -n "$BASELINE" ]; then echo "(base: $BASELINE)"; fi
fi
[ "$ONLY" = throughput ] && exit 0

echo
echo "== failover cost: one request at a time (wrk -t1 -c1 -d${FO_SECS}s), $FO_ROUNDS rounds alternated"
declare -A F_P50 F_P99 F_AVG
fo_names=(origin normal failover)
declare -A FO_PORT=([origin]=$P_OK [normal]=$P_NORMAL [failover]=$P_FO)
for round in $(seq "$FO_ROUNDS"); do
  order=("${fo_names[@]}")
  (( round % 2 == 0 )) && order=(failover normal origin)
  for n in "${order[@]}"; do
    wrk -t1 -c1 -d1s "http://127.0.0.1:${FO_PORT[$n]}/" >/dev/null
    run_wrk "${FO_PORT[$n]}" 1 1 "$FO_SECS"
    F_P50[$n]="${F_P50[$n]:-} $P50" F_P99[$n]="${F_P99[$n]:-} $P99" F_AVG[$n]="${F_AVG[$n]:-} $AVG"
    printf '  round %d %-9s mean %6.3f ms  p50 %6.3f ms  p99 %6.3f ms  (%s req/s, %s errors)\n' \
      "$round" "$n" "$AVG" "$P50" "$P99" "$RPS" "$ERRS"
  done
done
o50=$(echo "${F_P50[origin]}" | median) o99=$(echo "${F_P99[origin]}" | median)
n50=$(echo "${F_P50[normal]}" | median) n99=$(echo "${F_P99[normal]}" | median)
f50=$(echo "${F_P50[failover]}" | median) f99=$(echo "${F_P99[failover]}" | median)
oav=$(echo "${F_AVG[origin]}" | median) nav=$(echo "${F_AVG[normal]}" | median) fav=$(echo "${F_AVG[failover]}" | median)
fo_errs=$(curl -s "http://127.0.0.1:$P_ADMIN/metrics" | awk '/outcome="(error_502|error_504|origin_status|aborted)"/ {s += $2} END {print s + 0}')
awk -v o50="$o50" -v o99="$o99" -v n50="$n50" -v n99="$n99" -v f50="$f50" -v f99="$f99" -v e="$fo_errs" \
  -v oav="$oav" -v nav="$nav" -v fav="$fav" 'BEGIN {
  printf "failover cost (medians): mean %.3f ms (failed over %.3f - normal %.3f), p50 %.3f ms (%.3f - %.3f), p99 %.3f ms (%.3f - %.3f)\n",
    fav - nav, fav, nav, f50 - n50, f50, n50, f99 - n99, f99, n99
  printf "one origin round trip: mean %.3f ms, p50 %.3f ms, p99 %.3f ms\n", oav, o50, o99
  printf "goal (cost <= one round trip + 1 ms): mean %s, p50 %s, p99 %s; viewer errors on the failover edge: %d\n",
    (fav - nav <= oav + 1) ? "met" : "NOT met", (f50 - n50 <= o50 + 1) ? "met" : "NOT met",
    (f99 - n99 <= o99 + 1) ? "met" : "NOT met", e }'
echo "load at the end: $(uptime | sed 's/.*load average/load average/')"
