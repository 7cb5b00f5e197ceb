#!/usr/bin/env bash
# End-to-end tests of the cfdr command line: grammar, help, exit codes, init, sign, secrecy.
set -u
bin=${CFDR_BIN:?CFDR_BIN must point at the cfdr binary}
suite=${CFDR_SIGV4_SUITE:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
export AWS_CONFIG_FILE=$work/no-config AWS_SHARED_CREDENTIALS_FILE=$work/no-credentials
export HOME=$work NO_COLOR=1

pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# run EXPECTED_STATUS cmd...: runs, captures stdout/stderr in $out/$errout, checks the status.
run() {
  local want=$1; shift
  "$@" >"$work/stdout" 2>"$work/stderr"; local got=$?
  out=$(cat "$work/stdout"); errout=$(cat "$work/stderr")
  if [ "$got" = "$want" ]; then ok; else bad "$* exited $got, expected $want; stderr: $errout"; fi
}
has() { # has HAYSTACK NEEDLE DESCRIPTION
  case "$1" in *"$2"*) ok ;; *) bad "$3: '$2' not found in: $1" ;; esac
}
hasnt() {
  case "$1" in *"$2"*) bad "$3: '$2' must not appear" ;; *) ok ;; esac
}

# --- version and help
run 0 "$bin" --version; has "$out" "cfdr 0." "--version"
run 0 "$bin" --help
main_help=$out
for c in "init" "create" "status" "drill outage" "verify-failback" "alarms setup" "alarms status" \
         "alarms test" "destroy" "edge" "report" "sign" "iam-policy"; do
  has "$main_help" "  $c " "--help lists '$c'"
  # shellcheck disable=SC2086
  run 0 "$bin" $c --help; has "$out" "Usage: cfdr $c" "$c --help"
done
for g in --config --local --state-dir --profile --json --verbose --quiet --no-color --dry-run \
         --help --version; do
  has "$main_help" "$g" "global option $g in help"
done
run 0 "$bin" help drill outage; has "$out" "--fault KIND" "help drill outage"
run 0 "$bin" drill outage --help; has "$out" "--duration S" "drill outage options"
run 0 "$bin" edge --help; has "$out" "--origin-map DOMAIN=HOST:PORT" "edge options"
run 0 "$bin" report --help; has "$out" "-o, --output FILE" "report options"

# --- usage errors exit 2 and say what to do
run 2 "$bin"; has "$errout" "no command given" "no command"
run 2 "$bin" frobnicate; has "$errout" "unknown command 'frobnicate'" "unknown command"
run 2 "$bin" drill; has "$errout" "needs one of: outage" "missing subcommand"
run 2 "$bin" alarms explode; has "$errout" "unknown subcommand 'cfdr alarms explode'" "bad sub"
run 2 "$bin" create --bogus; has "$errout" "unknown option --bogus" "unknown option"
has "$errout" "cfdr create --help" "unknown option hint"
run 2 "$bin" destroy --yes --yes; has "$errout" "given twice" "repeated flag"
run 2 "$bin" sign; has "$errout" "needs URL" "sign without URL"
run 2 "$bin" sign --service s --region us-east-1 http://x/ extra; has "$errout" "unexpected argument 'extra'" "extra arg"
run 2 "$bin" init --no-color --config; has "$errout" "needs a value FILE" "missing value"
run 2 "$bin" -q -v status; has "$errout" "contradict" "-q with -v"

# --- the alarms commands need a configuration (and, past it, what create made): they say so,
# touch nothing, exit 2 (tests/e2e/local_alarms.py runs them for real)
for c in "alarms setup" "alarms status" "alarms test"; do
  # shellcheck disable=SC2086
  run 2 "$bin" $c; has "$errout" "cfdr init" "$c without cfdr.json"
done
[ ! -e .cfdr ] && ok || bad "alarms commands without a configuration created a state directory"
run 2 "$bin" --json alarms setup
has "$out" '"ok":false' "--json error document"
has "$out" '"code":"not_found"' "--json error code"
/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["error"]["exit_status"]==2' \
  <"$work/stdout" && ok || bad "--json error is not one valid JSON document"

# --- iam-policy: one JSON policy, narrowed to the configured services when there is a cfdr.json
run 0 "$bin" iam-policy
has "$errout" "any service" "iam-policy without cfdr.json says what it grants"
/usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["Version"] == "2012-10-17", d
acts = [a for s in d["Statement"] for a in s["Action"]]
assert "cloudfront:CreateDistribution" in acts and "apprunner:PauseService" in acts, acts
assert not any("*" in a for a in acts), acts
' <"$work/stdout" && ok || bad "iam-policy prints a policy document"

# --- AWS mode without credentials: refused before any request (the endpoint is a closed
# loopback port all the same); --dry-run signs with a placeholder and sends nothing
run 0 "$bin" init --force
run 0 "$bin" iam-policy
has "$out" "service/dr-demo-east/*" "iam-policy names the configured services"
AWS_ENDPOINT_URL=http://127.0.0.1:9 run 2 "$bin" create
has "$errout" "credentials" "AWS create without credentials says so"
[ ! -e .cfdr/state.json ] && ok || bad "a create without credentials left a state file"
AWS_ENDPOINT_URL=http://127.0.0.1:9 run 0 "$bin" --dry-run create
has "$out" "CreateDistributionWithTags" "dry-run create prints the create request"
has "$out" "placeholder" "dry-run without credentials says it signs with a placeholder"
[ ! -e .cfdr/state.json ] && ok || bad "a dry-run create left a state file"
rm -f cfdr.json

# --- commands that need a configuration say how to get one
run 2 "$bin" --local create; has "$errout" "cfdr init" "create without cfdr.json"
run 2 "$bin" edge; has "$errout" "--primary" "edge without origins"
run 2 "$bin" edge --primary http://127.0.0.1:1 --secondary http://127.0.0.1:2 --failover-codes 302
has "$errout" "allowed: 400, 403, 404" "edge --failover-codes validation"
run 2 "$bin" edge --primary http://127.0.0.1:1 --secondary http://127.0.0.1:2 --connection-attempts 5
has "$errout" "1 to 3" "edge --connection-attempts range"

# --- init writes a starter file, refuses to overwrite, --force overwrites
run 0 "$bin" init; has "$out" "cfdr.json" "init prints the path"
[ -s cfdr.json ] && ok || bad "init did not write cfdr.json"
echo '{"edited": true}' > cfdr.json
run 2 "$bin" init; has "$errout" "--force" "init refuses to overwrite"
grep -q edited cfdr.json && ok || bad "init overwrote without --force"
run 0 "$bin" init --force
grep -q edited cfdr.json && bad "init --force did not overwrite" || ok
run 0 "$bin" --local -c local.json init; [ -s local.json ] && ok || bad "init -c FILE"
run 0 "$bin" init --config=eq.json; [ -s eq.json ] && ok || bad "init --config=FILE"

# --- sign: the suite's get-vanilla case, credentials from the environment
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
run 0 "$bin" sign --service service --region us-east-1 --date 20150830T123600Z \
  https://example.amazonaws.com/
has "$out" "Authorization: $(cat "$suite/get-vanilla/get-vanilla.authz")" "sign get-vanilla"
has "$out" "$(cat "$suite/get-vanilla/get-vanilla.creq")" "sign get-vanilla creq"
has "$out" "$(cat "$suite/get-vanilla/get-vanilla.sts")" "sign get-vanilla sts"
hasnt "$out$errout" "wJalrXUtnFEMI" "secret key in sign output"
run 0 "$bin" sign --method POST --service service --region us-east-1 --date 20150830T123600Z \
  --header 'My-Header1:value1' 'https://example.amazonaws.com/?Param1=value1'
run 0 "$bin" --json sign --service service --region us-east-1 --date 20150830T123600Z \
  'https://example.amazonaws.com/?Param2=value2&Param1=value1'
/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[2]))
want = open(sys.argv[1] + "/get-vanilla-query-order-key-case/get-vanilla-query-order-key-case.authz").read()
assert d["authorization"] == want, (d["authorization"], want)
assert d["credential_source"] == "environment", d
assert d["ok"] is True
' "$suite" "$work/stdout" && ok || bad "sign --json get-vanilla-query-order-key-case"
run 2 "$bin" sign --service service --region us-east-1 --date 2015-08-30 https://x/
has "$errout" "YYYYMMDDTHHMMSSZ" "bad --date"
run 2 "$bin" sign --region us-east-1 https://x/; has "$errout" "--service" "sign needs --service"
run 2 "$bin" sign --service s --region us-east-1 --header nocolon https://x/
has "$errout" "NAME:VALUE" "bad --header"

# --- secrets: a session token and secret key never appear, even with -v
token="FQoGZXIvYXdzEXAMPLESESSIONTOKENxyz0123456789"
secret="SECRETexampleKEYdoNotPrint1234567890abcd"
export AWS_ACCESS_KEY_ID=AKIAEXAMPLE AWS_SECRET_ACCESS_KEY=$secret AWS_SESSION_TOKEN=$token
run 0 "$bin" -v sign --service cloudfront --region us-east-1 https://cloudfront.amazonaws.com/
hasnt "$out$errout" "$token" "session token in sign -v output"
hasnt "$out$errout" "$secret" "secret key in sign -v output"
has "$out" "x-amz-security-token" "the token header is signed"
run 0 "$bin" -v --json sign --service cloudfront --region us-east-1 https://cloudfront.amazonaws.com/
hasnt "$out$errout" "$token" "session token in sign --json output"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
run 2 "$bin" sign --service s --region us-east-1 https://x/; has "$errout" "credentials" "no credentials"

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
