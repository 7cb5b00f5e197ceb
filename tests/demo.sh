#!/usr/bin/env bash
# make demo: the offline cycle. Until the offline commands exist (issue 4), this shows what the
# binary offers and says plainly that the offline cycle is not built yet.
set -euo pipefail
bin=${1:-build/cfdr}
"$bin" --version
"$bin" --help
echo
echo "make demo: the offline cycle (init, create, drill outage, verify-failback, report, destroy"
echo "with --local) is not built yet; this build offers the commands above. 'cfdr sign' and"
echo "'cfdr init' work today."
