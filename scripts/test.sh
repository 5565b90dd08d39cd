#!/usr/bin/env bash
# Runs every test with the real parts: Tesseract, SoftHSM through PKCS#11, veraPDF, pdfsig,
# pyHanko, qpdf. Installs what is missing first (scripts/setup.sh), so it works on a clean machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="${SCANSTATION_TOOLS:-/opt/scanstation-tools}/bin:/usr/local/bin:$PATH"
go vet ./...
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go test -count=1 -timeout 25m "$@" ./...
# The .deb: build, install with dpkg, check files, user, folders, config check, unit; remove.
bash scripts/test-deb.sh
# Each fuzz target for a short while beyond its committed seeds (docs/fuzzing.md).
bash scripts/fuzz.sh
