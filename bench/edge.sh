#!/usr/bin/env bash
# bench/edge.sh: throughput of cfdr's edge against nginx and HAProxy as reverse proxies, all in
# front of the same fast origin (nginx answering a small static body), on loopback only.
# Runs alternate between proxies so that drift on the machine hits them alike; prints the median
# requests/s of each and the ratios. Needs: make build; Debian's wrk, nginx-light, haproxy.
#
#   bench/edge.sh [ROUNDS=3] [SECONDS=5] [CONNECTIONS=64] [WORKERS=1]
set -euo pipefail

ROUNDS=${1:-3}
SECS=${2:-5}
CONNS=${3:-64}
WORKERS=${4:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
for tool in wrk nginx haproxy cc; do
  command -v "$tool" >/dev/null || { echo "bench/edge.sh: $tool is missing (apt-get install wrk nginx-light haproxy)" >&2; exit 2; }
done
[ -f "$BUILD/libcfdr_core.a" ] || { echo "bench/edge.sh: run make build first" >&2; exit 2; }

DIR=$(mktemp -d /tmp/cfdr-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT

cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$ROOT" "$ROOT/bench/edge_run.c" \
  "$BUILD/libcfdr_core.a" $(pkg-config --libs libcurl json-c libxml-2.0 libevent libevent_pthreads) \
  -lssl -lcrypto -lpthread -lm -o "$DIR/edge_run"

read -r P_ORIGIN P_ORIGIN2 P_NGINX P_HAPROXY P_EDGE P_ADMIN < <(/usr/bin/python3 -c '
import socket
ss = [socket.socket() for _ in range(6)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')

mkdir -p "$DIR/logs"
cat > "$DIR/origin.conf" <<EOF
worker_processes 1;
pid $DIR/origin.pid;
error_log $DIR/logs/origin-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$P_ORIGIN; listen 127.0.0.1:$P_ORIGIN2;
           location / { add_header x-region origin; return 200 "hello from the origin\n"; } }
}
EOF
cat > "$DIR/nginx.conf" <<EOF
worker_processes $WORKERS;
pid $DIR/nginx.pid;
error_log $DIR/logs/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream origin { server 127.0.0.1:$P_ORIGIN; keepalive 256; }
  server { listen 127.0.0.1:$P_NGINX;
           location / { proxy_pass http://origin; proxy_http_version 1.1;
                        proxy_set_header Connection ""; } }
}
EOF
cat > "$DIR/haproxy.cfg" <<EOF
global
  nbthread $WORKERS
defaults
  mode http
  timeout connect 10s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:$P_HAPROXY
  default_backend be
backend be
  http-reuse always
  server origin 127.0.0.1:$P_ORIGIN
EOF

nginx -p "$DIR" -c "$DIR/origin.conf" -g 'daemon off;' & PIDS+=($!)
nginx -p "$DIR" -c "$DIR/nginx.conf" -g 'daemon off;' & PIDS+=($!)
haproxy -f "$DIR/haproxy.cfg" -db >/dev/null 2>&1 & PIDS+=($!)
"$DIR/edge_run" "127.0.0.1:$P_EDGE" "http://127.0.0.1:$P_ORIGIN" "http://127.0.0.1:$P_ORIGIN2" \
  "$WORKERS" "127.0.0.1:$P_ADMIN" >/dev/null & PIDS+=($!)

for port in $P_ORIGIN $P_NGINX $P_HAPROXY $P_EDGE; do
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  curl -sf -o /dev/null "http://127.0.0.1:$port/" || { echo "bench/edge.sh: nothing answers on $port" >&2; exit 1; }
done

declare -A RESULTS
names=(origin cfdr nginx haproxy)
declare -A PORT=([origin]=$P_ORIGIN [cfdr]=$P_EDGE [nginx]=$P_NGINX [haproxy]=$P_HAPROXY)
echo "wrk -t2 -c$CONNS -d${SECS}s, $ROUNDS rounds, $WORKERS worker(s) per proxy, $(nproc) cores"
for round in $(seq "$ROUNDS"); do
  for n in "${names[@]}"; do
    rps=$(wrk -t2 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:${PORT[$n]}/" | awk '/Requests\/sec/ {print $2}')
    errs=$(curl -s "http://127.0.0.1:$P_ADMIN/metrics" | awk '/outcome="error_50[24]"/ {s += $2} END {print s + 0}')
    RESULTS[$n]="${RESULTS[$n]:-} $rps"
    printf 'round %d %-8s %10s req/s\n' "$round" "$n" "$rps"
  done
done
[ "$errs" = 0 ] || echo "warning: the edge answered $errs 502/504 during the run" >&2

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
declare -A MED
for n in "${names[@]}"; do MED[$n]=$(echo "${RESULTS[$n]}" | median); done
echo "median req/s: origin direct ${MED[origin]}, cfdr ${MED[cfdr]}, nginx ${MED[nginx]}, haproxy ${MED[haproxy]}"
awk -v c="${MED[cfdr]}" -v n="${MED[nginx]}" -v h="${MED[haproxy]}" \
  'BEGIN {printf "ratios: cfdr/nginx %.2f, cfdr/haproxy %.2f\n", c / n, c / h}'
