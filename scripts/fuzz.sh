#!/usr/bin/env bash
# Runs each fuzz target for FUZZTIME (default 15s), one after another, one worker each:
#
#   scripts/fuzz.sh                      # every target, 15s each
#   FUZZTIME=10m scripts/fuzz.sh FuzzOpen  # one target, longer
#
# FUZZTIME takes what go test -fuzztime takes: a duration (30s, 2h) or a count (5000x).
# A failing input is written to the package's testdata/fuzz/<Target>/ and the script fails;
# commit it with the fix as a regression seed (docs/fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-15s}"
# New interesting inputs are minimised for up to 60s by default; on slow inputs (decoded
# images, signed PDFs) that eats a short run. Crashers are still minimised, just sooner cut off.
minimize="${FUZZMINIMIZETIME:-5s}"

targets=(
	"./scan FuzzOpen"
	"./certify/pades FuzzVerify"
	"./config FuzzLoad"
)

want=("$@")
status=0
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " =~ " $name " ]]; then
		continue
	fi
	echo "== $name ($pkg) for $fuzztime"
	start=$(date +%s)
	# -timeout 0: the targets carry their own watchdog for a hanging input; a long FUZZTIME
	# must not hit go test's default 10 minutes.
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" \
		-parallel 1 -timeout 0 "$pkg"; then
		echo "== $name FAILED: the failing input is in $pkg/testdata/fuzz/$name/" >&2
		status=1
	fi
	echo "== $name ran $(($(date +%s) - start))s"
done
exit $status
