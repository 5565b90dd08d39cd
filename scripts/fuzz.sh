#!/usr/bin/env bash
# Runs each fuzz target, one after another, one worker each:
#
#   scripts/fuzz.sh                        # every target for its count of inputs (what CI runs)
#   FUZZTIME=10m scripts/fuzz.sh FuzzOpen  # one target, longer
#
# FUZZTIME takes what go test -fuzztime takes: a duration (30s, 2h) or a count (5000x). Without
# it each target runs a count of inputs, about ten seconds' worth on a quiet machine: Go 1.26's
# fuzzing coordinator can report "context deadline exceeded" at the end of a duration when a
# worker is mid-input (golang/go#75804, fixed in Go 1.27), which failed a CI run on a loaded
# machine with no failing input; a count has no deadline to race.
# A failing input is written to the package's testdata/fuzz/<Target>/ and the script fails;
# commit it with the fix as a regression seed (docs/fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-}"
# New interesting inputs are minimised for up to 60s by default; on slow inputs (decoded
# images, signed PDFs) that eats a short run. Crashers are still minimised, just sooner cut off.
minimize="${FUZZMINIMIZETIME:-5s}"

targets=(
	"./scan FuzzOpen 8000x"
	"./certify/pades FuzzVerify 5000x"
	"./config FuzzLoad 5000x"
)

want=("$@")
status=0
for t in "${targets[@]}"; do
	read -r pkg name count <<<"$t"
	if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " =~ " $name " ]]; then
		continue
	fi
	budget=${fuzztime:-$count}
	echo "== $name ($pkg) for $budget"
	start=$(date +%s)
	# -timeout 0: the targets carry their own watchdog for a hanging input; a long FUZZTIME
	# must not hit go test's default 10 minutes.
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$budget" -fuzzminimizetime "$minimize" \
		-parallel 1 -timeout 0 "$pkg"; then
		echo "== $name FAILED: the failing input is in $pkg/testdata/fuzz/$name/" >&2
		status=1
	fi
	echo "== $name ran $(($(date +%s) - start))s"
done
exit $status
