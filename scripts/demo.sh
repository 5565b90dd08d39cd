#!/usr/bin/env bash
# Sets up a fresh machine and runs the demo station: a local station in ./demo with a SoftHSM2
# development token, which turns a bundled sample scan (made by our own code) into a signed,
# searchable PDF/A in demo/outbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="${SCANSTATION_TOOLS:-/opt/scanstation-tools}/bin:/usr/local/bin:$PATH"
demo=${1:-demo}

echo "==> building scanstation"
go build -o bin/scanstation ./cmd/scanstation

if [ ! -f "$demo/scanstation.yaml" ]; then
  echo "==> creating the demo station in $demo (SoftHSM2 dev token)"
  bin/scanstation init --dir "$demo" --dev-token
fi

echo "==> making the sample scans"
go run ./scripts/gensamples -out "$demo/samples"

echo "==> processing the sample scan"
bin/scanstation process --config "$demo/scanstation.yaml" "$demo/samples/sample-a4.jpg"

out=$(ls -t "$demo"/outbox/*.pdf | head -n 1)
echo "==> verifying $out"
bin/scanstation verify --trust "$demo/dev-ca.pem" "$out"
echo
echo "Done. The signed PDF/A is $out; its record is ${out%.pdf}.json."
echo "Run the daemon with: bin/scanstation run --config $demo/scanstation.yaml"
echo "and drop scans into $demo/inbox."
