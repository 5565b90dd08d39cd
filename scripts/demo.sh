#!/usr/bin/env bash
# Sets up a fresh machine and runs the demo station: a local station in ./demo with a SoftHSM2
# development token and a test PKI (CA, OCSP responder, CRL and TSA on loopback, started here
# and stopped at the end), which turns a bundled sample scan (made by our own code) into a
# signed, searchable PDF/A in demo/outbox at PAdES B-LTA: the copy carries what a verifier needs
# decades later.
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

if [ ! -f "$demo/dev-pki.json" ]; then
  echo "$demo was made by an older scanstation, without the test PKI: move it away and run this again" >&2
  exit 1
fi
echo "==> starting the TEST PKI (OCSP, CRL, TSA on loopback; never for real documents)"
bin/scanstation dev-pki serve --dir "$demo" >"$demo/dev-pki.log" 2>&1 &
pki=$!
trap 'kill $pki 2>/dev/null || true' EXIT
listen=$(sed -n 's/.*"listen": *"\([^"]*\)".*/\1/p' "$demo/dev-pki.json")
for _ in $(seq 50); do
  grep -q "listening on" "$demo/dev-pki.log" && break
  kill -0 $pki 2>/dev/null || { cat "$demo/dev-pki.log" >&2; exit 1; }
  sleep 0.2
done
# The demo's copies are B-LTA, timestamped and validated by the test PKI; a real station sets
# timestamp.url and signing.level in its scanstation.yaml (docs/trust.md).
export SCANSTATION_TIMESTAMP_URL="http://$listen/tsa" SCANSTATION_SIGNING_LEVEL=B-LTA SCANSTATION_TIMESTAMP_ON_UNAVAILABLE=wait

echo "==> making the sample scans"
go run ./scripts/gensamples -out "$demo/samples"

echo "==> processing the sample scan"
bin/scanstation process --config "$demo/scanstation.yaml" "$demo/samples/sample-a4.jpg"

out=$(ls -t "$demo"/outbox/*.pdf | head -n 1)
echo "==> verifying $out"
bin/scanstation verify --trust "$demo/dev-ca.pem" "$out"
echo
echo "Done. The signed PDF/A (PAdES B-LTA) is $out; its record is ${out%.pdf}.json."
echo "Run the daemon at B-LTA with the test PKI:"
echo "  bin/scanstation dev-pki serve --dir $demo &"
echo "  SCANSTATION_TIMESTAMP_URL=$SCANSTATION_TIMESTAMP_URL SCANSTATION_SIGNING_LEVEL=B-LTA bin/scanstation run --config $demo/scanstation.yaml"
echo "and drop scans into $demo/inbox."
