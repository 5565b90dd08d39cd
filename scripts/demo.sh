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

# The console: a second hot-folder whose scans wait for the clerk's approval, and two DEMO
# users. Their passwords are printed below and known to anyone who reads this script: they
# are for this demo folder only (its users file, demo/state/users.json), never for a station
# that certifies real documents.
review="$(cd "$demo" && pwd)/cho-duyet"
mkdir -p "$review"
if ! grep -q "path: \"$review\"" "$demo/scanstation.yaml"; then
  echo "==> adding the hot-folder $review, whose scans wait for the clerk's approval in the console"
  awk -v path="$review" '/^folders:/ { print "  - path: \"" path "\"\n    approval: \"required\"    # the clerk approves each scan in the console\n" } { print }' \
    "$demo/scanstation.yaml" >"$demo/scanstation.yaml.tmp"
  cat "$demo/scanstation.yaml.tmp" >"$demo/scanstation.yaml" # keeps the file's owner and mode
  rm "$demo/scanstation.yaml.tmp"
  bin/scanstation config check --config "$demo/scanstation.yaml" >/dev/null
fi
demo_operator=nhapmay demo_operator_password=demo-nhapmay
demo_clerk=vanthu demo_clerk_password=demo-vanthu
users=$(bin/scanstation user list --config "$demo/scanstation.yaml")
for u in "$demo_operator:operator:$demo_operator_password" "$demo_clerk:clerk:$demo_clerk_password"; do
  IFS=: read -r name role password <<<"$u"
  if ! grep -q "^$name " <<<"$users"; then
    echo "==> adding the DEMO console user $name ($role), password $password: for this demo only"
    printf '%s\n' "$password" | bin/scanstation user add "$name" --role "$role" --password-stdin --config "$demo/scanstation.yaml" >/dev/null
  fi
done

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
echo "and drop scans into $demo/inbox (signed at once) or $demo/cho-duyet (they wait for the clerk), e.g."
echo "  cp $demo/samples/sample-upside-down.jpg $demo/cho-duyet/"
echo
echo "The console: http://127.0.0.1:9470 (console.listen) while the daemon runs. DEMO logins, for this"
echo "demo folder only (anyone who reads scripts/demo.sh knows these passwords):"
echo "  $demo_operator / $demo_operator_password   operator (nhập máy): review, turn pages, correct the record"
echo "  $demo_clerk / $demo_clerk_password     clerk (văn thư): also approve and sign, reject"
