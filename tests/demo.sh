#!/usr/bin/env bash
# make demo: the whole offline cycle — init, create, alarms setup, drill outage (a short outage),
# verify-failback, report, destroy — in local mode, in a fresh folder. Leaves no process behind.
set -euo pipefail
bin=$(realpath "${1:-build/cfdr}")
dir=${CFDR_DEMO_DIR:-$PWD/demo}
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
# Whatever happens, stop what was started (destroy is idempotent and says what it found).
trap '"$bin" --local destroy --yes >/dev/null 2>&1 || true' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
step "cfdr --local init"
"$bin" --local init
step "cfdr --local create"
"$bin" --local create
step "cfdr --local alarms setup   (1 s periods; notifications go to .cfdr/alarms/notifications.jsonl)"
"$bin" --local alarms setup
step "cfdr --local drill outage --duration 5   (the primary is paused: a paused App Runner answers 404)"
"$bin" --local drill outage --duration 5
step "cfdr --local verify-failback"
"$bin" --local verify-failback
step "cfdr --local alarms status"
"$bin" --local alarms status
step "cfdr --local destroy --yes"
"$bin" --local destroy --yes
trap - EXIT
step "cfdr --local report   (the whole run: create, drill, failback, destroy)"
"$bin" --local report --format html -o report.html
"$bin" --local report --format md -o report.md
printf '\nmake demo: done. The report is %s/report.html (Markdown: %s/report.md).\n' "$dir" "$dir"
