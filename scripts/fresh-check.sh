#!/usr/bin/env bash
# Runs the README's two commands as a newcomer would: a new clone in a temporary folder, an
# empty tools folder (so veraPDF and pyHanko install anew from their pins), and empty Go module
# and build caches. Prints how long each command took. Run it before saying an issue is done.
#
#   scripts/fresh-check.sh [COMMIT]     # default: HEAD of this repository
#
# Debian packages are shared with the machine (they are installed system-wide by apt); the
# machine's Go must be the one go.mod's toolchain line names or newer.
# KEEP=1 keeps the temporary folder for a look afterwards.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
rev=${1:-HEAD}

top=$(mktemp -d /tmp/scanstation-fresh.XXXXXX)
if [ "${KEEP:-}" != 1 ]; then
  # Go's module cache is read-only by design; make it removable first.
  trap 'chmod -R u+w "$top" 2>/dev/null; rm -rf "$top"' EXIT
fi
mkdir -p "$top/tools" "$top/gomodcache" "$top/gocache"
export SCANSTATION_TOOLS="$top/tools" GOMODCACHE="$top/gomodcache" GOCACHE="$top/gocache"
export GOFLAGS= CI=true

echo "==> cloning $rev into $top/scanstation"
git clone -q "$repo" "$top/scanstation"
git -C "$top/scanstation" checkout -q "$(git -C "$repo" rev-parse "$rev")"
cd "$top/scanstation"

timed() { # timed LABEL COMMAND...: runs it, logs it, prints the time and the result
  local label=$1 start rc=0
  shift
  start=$(date +%s)
  "$@" >"$top/$label.log" 2>&1 || rc=$?
  printf '%-16s %s  %ds  (log: %s)\n' "$label" "$([ $rc = 0 ] && echo PASS || echo "FAIL (exit $rc)")" \
    "$(($(date +%s) - start))" "$top/$label.log" | tee -a "$top/summary.txt"
  return $rc
}

failed=()
timed demo.sh bash scripts/demo.sh || failed+=(demo.sh)
timed test.sh bash scripts/test.sh || failed+=(test.sh)

echo
echo "clone $(git rev-parse --short HEAD), Go $(go env GOVERSION), $(nproc) cores, $(date -u +%FT%TZ)"
cat "$top/summary.txt"
for label in "${failed[@]}"; do
  echo "--- the last lines of $label's log:" >&2
  tail -n 60 "$top/$label.log" >&2
done
[ ${#failed[@]} = 0 ]
