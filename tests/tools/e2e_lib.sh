# Shared prelude of the shell end-to-end tests that run an offline cycle (source it first):
# a scratch directory to work in, pass/fail counters, and a cleanup that leaves no process
# behind whatever happened: `cfdr --local destroy`, then a kill of every PID the state file
# still records (only processes this test started; never by name).
#   run EXPECTED cmd...   runs cmd, counts a failure unless it exits EXPECTED; sets $out, $errout
#   has TEXT NEEDLE WHAT  counts a failure unless TEXT contains NEEDLE
#   jq_ FILE EXPR         prints a Python expression over the JSON document d in FILE
# Needs CFDR_BIN. Sets bin, work, pass, fail.
set -u
bin=${CFDR_BIN:?CFDR_BIN must point at the cfdr binary}
work=$(mktemp -d)
cd "$work" || exit 1
export NO_COLOR=1 AWS_EC2_METADATA_DISABLED=true
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
cleanup() {
  "$bin" --local destroy --yes >/dev/null 2>&1
  for pid in $(/usr/bin/python3 -c '
import json,sys
try: d=json.load(open(".cfdr/state.json"))
except Exception: sys.exit(0)
print(" ".join(str(r["pid"]) for r in d["resources"] if "pid" in r))' 2>/dev/null); do
    kill "$pid" 2>/dev/null
  done
  cd / && rm -rf "$work"
}
trap cleanup EXIT
run() { # run EXPECTED cmd...
  local want=$1; shift
  "$@" >"$work/out" 2>"$work/err"; local got=$?
  out=$(cat "$work/out"); errout=$(cat "$work/err")
  if [ "$got" = "$want" ]; then ok; else bad "$* exited $got, expected $want; stderr: $(tail -5 "$work/err")"; fi
}
has() { case "$1" in *"$2"*) ok ;; *) bad "$3: '$2' not in: $1" ;; esac; }
jq_() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
