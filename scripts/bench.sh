#!/usr/bin/env bash
# scripts/bench.sh: the throughput benchmark (`make bench` runs it after the Go benchmarks).
#
# On one corpus of synthetic Vietnamese A4 pages at 300 dpi (colour JPEG, PNG, two-page TIFF;
# BENCH_PAGES, default 48), in one run, with the same languages (vie+eng), it measures:
#   raw       the `tesseract` command on every file, one process per core, OMP_THREAD_LIMIT=1,
#             with Tesseract's default page segmentation (--psm 3) and with OSD (--psm 1)
#   ocrmypdf  OCRmyPDF (pinned, scripts/pins/bench.lock, own venv) --output-type pdfa --rotate-pages, one file per
#             core at a time (-j 1 each)
#   station   scanstation's daemon (OCR, PDF/A, mark, signature on a SoftHSM dev token, outbox),
#             files dropped in its inbox, once with pdf.lossless_as_jpeg=true and once with the default
#             (lossless stays lossless) on the dev token, then behind a token that takes BENCH_SIGN_DELAY_MS
#             (1000) a signature, and one that takes BENCH_BACKLOG_DELAY_MS (5000), slower than OCR
#   soak      BENCH_SOAK_PAGES (1000; 0 skips) pages through the daemon, its memory sampled
# and writes the figures with the machine, the versions and the commands to docs/benchmarks.md
# (BENCH_REPORT to write elsewhere). Work files go to BENCH_DIR (/tmp/scanstation-bench).
#
#   scripts/bench.sh                 everything
#   scripts/bench.sh STEP...         some steps: setup build corpus raw ocrmypdf station slow backlog gobench soak report
#
# A full run takes about 45 minutes on 2 shared cores, two thirds of it the soak
# (BENCH_SOAK_PAGES=0 skips it). Needs root on Debian 12 for the installs (apt: tesseract, softhsm2, ghostscript, sqlite3, time, gcc;
# PyPI: ocrmypdf in /opt/scanstation-tools/ocrmypdf, pinned by scripts/pins/bench.lock).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

W=${BENCH_DIR:-/tmp/scanstation-bench}
PAGES=${BENCH_PAGES:-48}
SOAK_PAGES=${BENCH_SOAK_PAGES:-1000}
SIGN_DELAY_MS=${BENCH_SIGN_DELAY_MS:-1000}
BACKLOG_DELAY_MS=${BENCH_BACKLOG_DELAY_MS:-5000}
REPORT=${BENCH_REPORT:-$ROOT/docs/benchmarks.md}
TOOLS_DIR=${SCANSTATION_TOOLS:-/opt/scanstation-tools}
NCPU=$(nproc)
LANGS=vie+eng
BIN=$W/scanstation
HELPER=$W/benchhelper
RES=$W/results.env
CORPUS=$W/corpus

say() { printf '==> %s\n' "$*" >&2; }
now() { date +%s.%N; }
put() { # put KEY VALUE: record a result (the last value of a key wins; steps may run side by side)
  mkdir -p "$W"
  (
    flock 9; touch "$RES"
    grep -v "^$1=" "$RES" >"$RES.$$" || true
    printf '%s=%s\n' "$1" "$2" >>"$RES.$$"; mv "$RES.$$" "$RES"
  ) 9>"$W/.results.lock"
}
get() { [ -f "$RES" ] && sed -n "s/^$1=//p" "$RES" | tail -1; }
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }" 2>/dev/null || printf -- '-'; } # - when a figure is missing
load() { cut -d' ' -f1 /proc/loadavg; }
corpus_files() { grep -v '^#' "$CORPUS/manifest.tsv" | cut -f1; }
corpus_pages() { awk -F'\t' '{ s += $3 } END { print s }' "$CORPUS/manifest.tsv"; }

step_setup() {
  local pkgs=(tesseract-ocr tesseract-ocr-osd tesseract-ocr-eng tesseract-ocr-vie softhsm2 opensc
    libtesseract-dev libleptonica-dev ghostscript sqlite3 time gcc python3-venv img2pdf pngquant
    unpaper fonts-liberation2 icc-profiles-free qpdf poppler-utils) missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # OCRmyPDF, the peer, pinned with every package it needs by hash (scripts/pins/bench.lock,
  # docs/pins.md); installed again only when the lock changes.
  local lock=$ROOT/scripts/pins/bench.lock stamp
  stamp=$(sha256sum "$lock" | cut -d' ' -f1)
  if [ "$(cat "$TOOLS_DIR/ocrmypdf/.pin" 2>/dev/null)" != "$stamp" ]; then
    say "installing OCRmyPDF from PyPI ($lock) into $TOOLS_DIR/ocrmypdf"
    mkdir -p "$TOOLS_DIR"
    rm -rf "$TOOLS_DIR/ocrmypdf"
    /usr/bin/python3 -m venv "$TOOLS_DIR/ocrmypdf"
    "$TOOLS_DIR/ocrmypdf/bin/pip" install -q --disable-pip-version-check --no-deps --require-hashes -r "$lock"
    "$TOOLS_DIR/ocrmypdf/bin/pip" check -q >/dev/null
    echo "$stamp" >"$TOOLS_DIR/ocrmypdf/.pin"
  fi
  "$TOOLS_DIR/ocrmypdf/bin/ocrmypdf" --version >/dev/null
}

step_build() {
  mkdir -p "$W"
  say "building scanstation and the bench helper"
  go build -o "$BIN" ./cmd/scanstation
  local rev; rev=$(git rev-parse --short HEAD)
  git diff --quiet HEAD -- . ':!docs/benchmarks.md' || rev="$rev with uncommitted changes"
  put build_rev "$rev"
  go build -o "$HELPER" ./scripts/bench
  # A PKCS#11 module that is SoftHSM2 with every C_Sign delayed: a slow token without touching
  # the station's code. It hands out SoftHSM's own function list with one entry replaced.
  local inc
  inc=$(go list -m -f '{{.Dir}}' github.com/miekg/pkcs11)
  cat >"$W/slowtoken.c" <<'C'
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pkcs11go.h"
static CK_FUNCTION_LIST slow;
static CK_C_Sign real_sign;
static CK_RV slow_sign(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG n, CK_BYTE_PTR sig, CK_ULONG_PTR sn) {
  const char *e = getenv("SLOWTOKEN_DELAY_MS");
  long ms = e ? atol(e) : 1000;
  if (sig != NULL && ms > 0) { /* delay the signature, not the length query */
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
  }
  return real_sign(s, d, n, sig, sn);
}
CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out) {
  const char *path = getenv("SLOWTOKEN_MODULE");
  void *h = dlopen(path ? path : "/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL);
  if (!h) return CKR_GENERAL_ERROR;
  CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
  CK_FUNCTION_LIST_PTR real;
  if (!get || get(&real) != CKR_OK) return CKR_GENERAL_ERROR;
  memcpy(&slow, real, sizeof slow);
  real_sign = real->C_Sign;
  slow.C_Sign = slow_sign;
  *out = &slow;
  return CKR_OK;
}
C
  gcc -shared -fPIC -O2 -I"$inc" -o "$W/libslowtoken.so" "$W/slowtoken.c" -ldl
}

step_corpus() {
  say "rendering $PAGES pages into $CORPUS"
  rm -rf "$CORPUS"
  "$HELPER" corpus -out "$CORPUS" -pages "$PAGES" >&2
  put corpus_pages "$(corpus_pages)"
  put corpus_files "$(corpus_files | wc -l)"
  for f in jpeg png tiff; do
    put "corpus_${f}_bytes_per_page" "$(awk -F'\t' -v f=$f '$2==f { b += $4; p += $3 } END { printf "%d", b/p }' "$CORPUS/manifest.tsv")"
  done
}

# timed NAME CMD...: runs CMD under /usr/bin/time -v, records wall seconds and the peak RSS of the
# largest single process, and the load average before.
timed() {
  local name=$1; shift
  put "${name}_load_before" "$(load)"
  local t0 t1
  t0=$(now)
  /usr/bin/time -v -o "$W/$name.time" "$@"
  t1=$(now)
  put "${name}_seconds" "$(calc "$t1 - $t0" 2)"
  put "${name}_peak_rss_kib" "$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$W/$name.time")"
  put "${name}_cpu_seconds" "$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.1f", s }' "$W/$name.time")"
  put "${name}_ppm" "$(calc "$(corpus_pages) * 60 / ($t1 - $t0)")"
}

step_raw() {
  local psm
  for psm in 3 1; do
    say "raw limit: tesseract --psm $psm, $NCPU processes, one thread each"
    rm -rf "$W/raw$psm"; mkdir -p "$W/raw$psm"
    local cmd="cd $CORPUS && ls *.jpg *.png *.tif | xargs -P $NCPU -I{} env OMP_THREAD_LIMIT=1 tesseract {} $W/raw$psm/{} -l $LANGS --psm $psm quiet"
    put "raw${psm}_cmd" "$cmd"
    timed "raw$psm" bash -c "$cmd"
  done
}

step_ocrmypdf() {
  local om="$TOOLS_DIR/ocrmypdf/bin/ocrmypdf"
  put ocrmypdf_version "$("$om" --version)"
  put gs_version "$(gs --version)"
  say "OCRmyPDF $("$om" --version): --output-type pdfa, $NCPU files at a time"
  rm -rf "$W/ocrmypdf"; mkdir -p "$W/ocrmypdf"
  # OCRmyPDF (17) takes the images themselves, multi-page TIFF included.
  local cmd="cd $CORPUS && ls *.jpg *.png *.tif | xargs -P $NCPU -I{} env OMP_THREAD_LIMIT=1 $om -q -j 1 -l $LANGS --rotate-pages --output-type pdfa {} $W/ocrmypdf/{}.pdf"
  put ocrmypdf_cmd "$cmd"
  timed ocrmypdf bash -c "$cmd"
  put ocrmypdf_bytes_per_page "$(calc "$(cat "$W"/ocrmypdf/*.pdf | wc -c) / $(corpus_pages)" 0)"
  put ocrmypdf_jpg_out_per_page "$(calc "$(cat "$W"/ocrmypdf/*.jpg.pdf | wc -c) / $(ls "$CORPUS"/*.jpg | wc -l)" 0)"
}

# station_run NAME FILES_DIR ENV...: a fresh station in $W/st-NAME, the files in its inbox before the
# daemon starts; waits until every file is in the outbox or failed/, sampling the journal's states
# every second (timeline.txt: seconds, pages built, documents built, signed, archived) and the
# memory of the daemon and its OCR workers (rss.txt).
station_run() {
  local name=$1 src=$2; shift 2
  local d="$W/st-$name"
  rm -rf "$d"
  "$BIN" init --dir "$d" --dev-token >/dev/null
  local n=0 f
  for f in "$src"/*; do
    case $f in *.tsv) continue ;; esac
    cp "$f" "$d/inbox/"; n=$((n + 1))
  done
  put "${name}_load_before" "$(load)"
  local t0 t1
  t0=$(now)
  env SCANSTATION_WATCH_SETTLE=200ms SCANSTATION_WATCH_RESCAN=2s "$@" "$BIN" run --config "$d/scanstation.yaml" >"$d/log" 2>&1 &
  local pid=$!
  "$HELPER" rss -pid "$pid" -out "$d/rss.txt" >"$d/rss.peak" &
  local rsspid=$!
  local db="$d/state/journal.db" done=0 last=-1 q
  q="select coalesce(sum(pages),0), count(*), sum(state in ('signed','delivered','archived')), sum(state='archived') from jobs where state not in ('received','spooled')"
  : >"$d/timeline.txt"
  while [ "$done" -lt "$n" ]; do
    sleep 1
    done=$(( $(find "$d/outbox" -name '*.pdf' | wc -l) + $(find "$d/failed" -name '*.error.txt' | wc -l) ))
    if [ -f "$db" ]; then
      printf '%s %s\n' "$(calc "$(now) - $t0")" "$(sqlite3 -readonly -separator ' ' -cmd '.timeout 3000' "$db" "$q" 2>/dev/null || echo '? ? ? ?')" >>"$d/timeline.txt"
    fi
    if ! kill -0 "$pid" 2>/dev/null; then say "the daemon ended early; see $d/log"; return 1; fi
    if [ "$done" != "$last" ] && [ $((done % 100)) -eq 0 ] && [ "$n" -gt 100 ]; then say "$name: $done of $n files"; fi
    last=$done
  done
  t1=$(now)
  # The archive move follows delivery; give it a moment, then stop the daemon.
  sleep 1
  kill -TERM "$pid"; wait "$pid" || true; wait "$rsspid" || true
  local pages secs
  pages=$(sqlite3 -readonly "$db" "select coalesce(sum(pages),0) from jobs where state='archived'")
  secs=$(calc "$t1 - $t0" 2)
  put "${name}_files" "$n"
  put "${name}_failed" "$(find "$d/failed" -name '*.error.txt' | wc -l)"
  put "${name}_pages" "$pages"
  put "${name}_seconds" "$secs"
  put "${name}_ppm" "$(calc "$pages * 60 / $secs")"
  # Per stage: mean wall milliseconds a page (each document's stage time, summed, over the pages).
  put "${name}_sign_ms_per_doc" "$(sqlite3 -readonly "$db" "select printf('%.0f', avg(sign_ns)/1e6) from jobs where state='archived'")"
  local s
  for s in decode ocr build sign deliver; do
    put "${name}_${s}_ms_per_page" "$(sqlite3 -readonly "$db" "select printf('%.0f', coalesce(sum(${s}_ns),0)/1e6/sum(pages)) from jobs where state='archived'")"
  done
  local k v
  local kv
  for kv in $(cat "$d/rss.peak"); do k=${kv%%=*}; v=${kv#*=}; put "${name}_${k}" "$v"; done
  put "${name}_bytes_per_page" "$(calc "$(cat "$d"/outbox/*.pdf | wc -c) / $pages" 0)"
  # Output against input, per format (JPEG: the scan is embedded as it is).
  local fmt
  for fmt in jpg png tif; do
    local in out
    in=$(cat "$d"/archive/*."$fmt" 2>/dev/null | wc -c)
    out=0
    for f in "$d"/archive/*."$fmt"; do
      [ -f "$f" ] || continue
      local base; base=$(basename "$f"); base=${base%.*}
      out=$((out + $(stat -c %s "$d/outbox/$base.pdf")))
    done
    local np
    np=$(awk -F'\t' -v e=".$fmt" 'index($1, e) { p += $3 } END { print p+0 }' "$CORPUS/manifest.tsv")
    [ "$in" -gt 0 ] || continue
    put "${name}_${fmt}_in_per_page" "$(calc "$in / $np" 0)"
    put "${name}_${fmt}_out_per_page" "$(calc "$out / $np" 0)"
    put "${name}_${fmt}_growth_pct" "$(calc "($out - $in) * 100 / $in" 1)"
  done
  # The OCR window: when the last page was recognised (all documents built).
  put "${name}_all_built_s" "$(awk -v n="$n" '$3 == n { print $1; exit }' "$d/timeline.txt")"
  put "${name}_cmd" "SCANSTATION_WATCH_SETTLE=200ms SCANSTATION_WATCH_RESCAN=2s $* scanstation run --config $d/scanstation.yaml (files in $d/inbox before the start)"
}

step_station() {
  say "scanstation daemon, pdf.lossless_as_jpeg=true, $NCPU OCR workers"
  station_run station "$CORPUS" SCANSTATION_PDF_LOSSLESS_AS_JPEG=true
}

step_slow() {
  say "scanstation daemon behind a token that takes ${SIGN_DELAY_MS} ms a signature"
  local softhsm
  softhsm=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so 2>/dev/null | head -1)
  station_run fast "$CORPUS"
  station_run slow "$CORPUS" SCANSTATION_SIGNING_MODULE="$W/libslowtoken.so" SLOWTOKEN_MODULE="$softhsm" SLOWTOKEN_DELAY_MS="$SIGN_DELAY_MS"
}

# A token far slower than OCR (BENCH_BACKLOG_DELAY_MS, 5000, a signature): the signer falls behind
# and documents wait built on disk; OCR should finish as early as with a fast token.
step_backlog() {
  local softhsm
  softhsm=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so 2>/dev/null | head -1)
  say "scanstation daemon behind a token that takes ${BACKLOG_DELAY_MS} ms a signature"
  station_run backlog "$CORPUS" SCANSTATION_SIGNING_MODULE="$W/libslowtoken.so" SLOWTOKEN_MODULE="$softhsm" SLOWTOKEN_DELAY_MS="$BACKLOG_DELAY_MS"
}

step_soak() {
  [ "$SOAK_PAGES" -gt 0 ] || return 0
  say "soak: $SOAK_PAGES pages through the daemon (the corpus again and again, under new names)"
  local src="$W/soak-in" i=0 p=0 f
  rm -rf "$src"; mkdir -p "$src"
  while [ "$p" -lt "$SOAK_PAGES" ]; do
    i=$((i + 1))
    while IFS=$'\t' read -r f _ np _; do
      [ "$p" -lt "$SOAK_PAGES" ] || break
      ln "$CORPUS/$f" "$src/r$(printf %03d $i)-$f" 2>/dev/null || cp "$CORPUS/$f" "$src/r$(printf %03d $i)-$f"
      p=$((p + np))
    done <"$CORPUS/manifest.tsv"
  done
  station_run soak "$src" SCANSTATION_PDF_LOSSLESS_AS_JPEG=true
}

step_gobench() {
  say "Go benchmarks: PDF builder and signer"
  local out="$W/gobench.txt"
  go test -run '^$' -bench 'BenchmarkWrite$' -benchmem -count 3 ./certify/pdfa >"$out" 2>&1
  go test -run '^$' -bench 'Sign' -benchmem -count 3 ./certify/pades ./certify/token >>"$out" 2>&1
  grep -E '^(Benchmark|ok|FAIL|goos|cpu)' "$out" >&2 || true
}

# ---------------------------------------------------------------------------------------------
# The report: docs/benchmarks.md from $W/results.env, the journals' timelines and rss samples.

yesno() { if awk "BEGIN { exit !($1) }" 2>/dev/null; then echo "**met**"; else echo "**not met**"; fi; }

# soak_table: pages built, and the memory at that moment (root = the daemon, workers = the rest).
soak_table() {
  local d="$W/st-soak"
  [ -f "$d/timeline.txt" ] && [ -f "$d/rss.txt" ] || { echo "(no soak run)"; return; }
  echo "| pages recognised | from second | daemon RSS, MiB (max in the window) | OCR workers RSS, MiB (max) | processes (max) |"
  echo "|---:|---:|---:|---:|---:|"
  awk 'NR == FNR { if ($2 ~ /^[0-9]+$/) { tt[++n] = $1; pp[n] = $2 } ; next }
       /^#/ { next }
       { t = $1; # the pages recognised at time t: last timeline row at or before t
         while (k < n && tt[k+1] <= t) k++
         pages = (k ? pp[k] : 0); w = (pages > 0 ? int((pages - 1) / 100) : 0); if (w > top) top = w
         if ($5 > root[w]) root[w] = $5
         if ($2 - $5 > work[w]) work[w] = $2 - $5
         if ($3 > procs[w]) procs[w] = $3
         if (!(w in first)) first[w] = t }
       END { for (w = 0; w <= top; w++) if (w in first)
               printf "| %d-%d | %.0f | %.1f | %.1f | %d |\n", w ? w*100+1 : 0, w*100+100, first[w], root[w]/1024, work[w]/1024, procs[w] }' \
    "$d/timeline.txt" "$d/rss.txt"
}

timeline_table() {
  local other=${1:-slow}
  [ -f "$W/st-fast/timeline.txt" ] && [ -f "$W/st-$other/timeline.txt" ] || { echo "(not run)"; return; }
  echo "| seconds | fast token: pages recognised | documents signed | $other token: pages recognised | documents signed |"
  echo "|---:|---:|---:|---:|---:|"
  join -a1 -a2 -e - -o 0,1.2,1.4,2.2,2.4 \
    <(awk '$2 ~ /^[0-9]+$/ { printf "%d %s %s %s\n", int($1 / 5 + 0.5) * 5, $2, $3, $4 }' "$W/st-fast/timeline.txt" | awk '!s[$1]++' ) \
    <(awk '$2 ~ /^[0-9]+$/ { printf "%d %s %s %s\n", int($1 / 5 + 0.5) * 5, $2, $3, $4 }' "$W/st-$other/timeline.txt" | awk '!s[$1]++' ) 2>/dev/null |
    sort -n | awk '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }'
}

step_report() {
  say "writing $REPORT"
  v() { get "$1"; }
  local st=station raw3 raw1 om
  raw3=$(calc "$(v station_ppm) * 100 / $(v raw3_ppm)" 0)
  raw1=$(calc "$(v station_ppm) * 100 / $(v raw1_ppm)" 0)
  om=$(calc "$(v station_ppm) / $(v ocrmypdf_ppm)" 2)
  # The same ratios from CPU seconds a page (steadier on a shared machine).
  local spp raw3c raw1c omc
  spp=$(calc "$(v station_cpu_seconds) / $(v station_pages)" 4)
  raw3c=$(calc "$(v raw3_cpu_seconds) / $(v corpus_pages) * 100 / $spp" 0)
  raw1c=$(calc "$(v raw1_cpu_seconds) / $(v corpus_pages) * 100 / $spp" 0)
  omc=$(calc "$(v ocrmypdf_cpu_seconds) / $(v corpus_pages) / $spp" 2)
  local soak_first soak_last
  # Flat: in the last window of the soak, daemon and workers hold no more than 10% above their
  # maxima in the second window (the first is the warm-up).
  local soak_rows soak_second soak_last soak_w2 soak_wl soak_flat
  soak_rows=$(soak_table | awk -F'|' 'NR > 2 && $2 ~ /[0-9]/ { print $4 + 0, $5 + 0, $2 }')
  soak_second=$(echo "$soak_rows" | sed -n 2p | cut -d' ' -f1); soak_w2=$(echo "$soak_rows" | sed -n 2p | cut -d' ' -f2)
  soak_last=$(echo "$soak_rows" | tail -1 | cut -d' ' -f1); soak_wl=$(echo "$soak_rows" | tail -1 | cut -d' ' -f2)
  soak_flat=$(yesno "$(v soak_pages) >= 1000 && $soak_last <= 1.1 * $soak_second && $soak_wl <= 1.1 * $soak_w2")
  # The signer's backlog when the last page was recognised, with the slowest token.
  local behind
  behind=$(awk -v n="$(v backlog_files)" '$3 == n { print $3 - $4; exit }' "$W/st-backlog/timeline.txt" 2>/dev/null)
  local mib; mib() { calc "$(v "$1") / 1024" 0; }
  # What people wrote under the marker in the last report is kept.
  local marker='<!-- Everything below this line is kept by scripts/bench.sh when it rewrites the file. -->'
  local notes=""
  [ -f "$REPORT" ] && notes=$(awk -v m="$marker" 'f { print } $0 == m { f = 1 }' "$REPORT")
  {
cat <<MD
# Benchmarks

Written by \`scripts/bench.sh\` (\`make bench\` runs it after the Go benchmarks) on $(date -u '+%Y-%m-%d %H:%M UTC').
Every figure below comes from one run of the script on the same corpus; the commands are at the end.

## Machine and versions

- $(lscpu | sed -n 's/^Model name: *//p' | head -1), $NCPU cores, $(free -g | awk '/^Mem:/ { print $2 }') GB RAM, Linux $(uname -r), Debian $(cat /etc/debian_version).
  **Shared**: other engineers' builds and tests ran at the same time. The 1-minute load average
  before each measurement is given; with 2 cores, anything above 2 means the measurement shared the
  CPU, so the figures are comparable with each other (same run, similar load) more than absolute.
- scanstation built from $(v build_rev) (the working tree at the start of the run), $(go version | cut -d' ' -f3)
- $(tesseract --version 2>&1 | head -1), $(tesseract --version 2>&1 | sed -n 2p | xargs), Debian models vie + eng, osd
- OCRmyPDF $(v ocrmypdf_version) (PyPI, pinned in scripts/pins/bench.lock), Ghostscript $(v gs_version)
- SoftHSM $(softhsm2-util --version) (the dev token made by \`scanstation init --dev-token\`)

## The corpus

$(v corpus_pages) synthetic A4 pages at 300 dpi in colour (2480×3508), rendered by
\`internal/samplescan\` with Liberation Serif: letters of a provincial People's Committee whose
number, date, subject and 18-20 body lines are drawn per page from a seeded generator, so no two
pages are alike (\`scripts/bench/main.go\`). $(v corpus_files) files: JPEG quality 85 (one page a file,
$(calc "$(v corpus_jpeg_bytes_per_page) / 1000" 0) kB a page), PNG ($(calc "$(v corpus_png_bytes_per_page) / 1000" 0) kB a page)
and two-page TIFF ($(calc "$(v corpus_tiff_bytes_per_page) / 1000" 0) kB a page). All upright. The
pages are clean renderings without paper texture or noise, so every format is smaller than a real
scan of the same page, the lossless ones much smaller.

## Pages per minute

Same files, same languages (\`vie+eng\`), $NCPU processes or workers, one thread each.

| what | pages/min | wall s | CPU s | CPU s a page | pages/min from CPU | peak RSS | load before |
|---|---:|---:|---:|---:|---:|---:|---:|
| \`tesseract\`, default segmentation (\`--psm 3\`, no orientation detection) | $(v raw3_ppm) | $(v raw3_seconds) | $(v raw3_cpu_seconds) | $(calc "$(v raw3_cpu_seconds) / $(v corpus_pages)" 2) | $(calc "$NCPU * 60 * $(v corpus_pages) / $(v raw3_cpu_seconds)") | $(mib raw3_peak_rss_kib) MiB a process | $(v raw3_load_before) |
| \`tesseract --psm 1\` (with OSD, as the station reads) | $(v raw1_ppm) | $(v raw1_seconds) | $(v raw1_cpu_seconds) | $(calc "$(v raw1_cpu_seconds) / $(v corpus_pages)" 2) | $(calc "$NCPU * 60 * $(v corpus_pages) / $(v raw1_cpu_seconds)") | $(mib raw1_peak_rss_kib) MiB a process | $(v raw1_load_before) |
| OCRmyPDF \`--output-type pdfa --rotate-pages\` | $(v ocrmypdf_ppm) | $(v ocrmypdf_seconds) | $(v ocrmypdf_cpu_seconds) | $(calc "$(v ocrmypdf_cpu_seconds) / $(v corpus_pages)" 2) | $(calc "$NCPU * 60 * $(v corpus_pages) / $(v ocrmypdf_cpu_seconds)") | $(mib ocrmypdf_peak_rss_kib) MiB a process | $(v ocrmypdf_load_before) |
| **scanstation** daemon, full pipeline, \`pdf.lossless_as_jpeg: true\` | **$(v station_ppm)** | $(v station_seconds) | $(v station_cpu_seconds) | $(calc "$(v station_cpu_seconds) / $(v station_pages)" 2) | $(calc "$NCPU * 60 * $(v station_pages) / $(v station_cpu_seconds)") | $(mib station_peak_total_kib) MiB all processes ($(mib station_peak_root_kib) daemon, $(mib station_peak_single_kib) largest) | $(v station_load_before) |
| scanstation, default settings (lossless stays lossless) | $(v fast_ppm) | $(v fast_seconds) | $(v fast_cpu_seconds) | $(calc "$(v fast_cpu_seconds) / $(v fast_pages)" 2) | $(calc "$NCPU * 60 * $(v fast_pages) / $(v fast_cpu_seconds)") | $(mib fast_peak_total_kib) MiB all processes | $(v fast_load_before) |

Peak RSS of \`tesseract\` and OCRmyPDF is the largest single process (\`/usr/bin/time -v\`); for
scanstation it is sampled every 0.5 s from \`/proc\` over the daemon and its OCR worker processes
(the sum, the daemon alone, the largest single process). CPU seconds for scanstation are the
daemon's and its workers' (user + system, from \`/proc/PID/stat\`, replaced workers included).
"Pages/min from CPU" is what the CPU time a page would give on $NCPU cores doing nothing else
($NCPU × 60 / CPU s a page): on a shared machine it is steadier than the wall clock, and it is
what a dedicated station could reach at best.

By the wall clock, scanstation reached **$raw3%** of plain \`tesseract\`'s pages per minute and
**$raw1%** of \`tesseract --psm 1\` (with orientation detection), and **${om}×** OCRmyPDF's. By CPU
time a page (pages per minute from CPU), it reaches **$raw3c%** of \`tesseract\`, **$raw1c%** of
\`tesseract --psm 1\` and **${omc}×** OCRmyPDF.

### scanstation's time per stage

Mean wall milliseconds a page, from the journal (\`jobs.*_ns\`, summed over documents, divided by
pages). A document's OCR time runs from opening the file to its last page recognised, so it holds
decoding and the time its pages waited for a free worker; decoding is not timed apart (\`decode_ns\`
is empty in this version).

| run | decode | OCR (incl. decode and queueing) | PDF build | signature | outbox |
|---|---:|---:|---:|---:|---:|
| lossless as JPEG | $(v station_decode_ms_per_page) | $(v station_ocr_ms_per_page) | $(v station_build_ms_per_page) | $(v station_sign_ms_per_page) | $(v station_deliver_ms_per_page) |
| default | $(v fast_decode_ms_per_page) | $(v fast_ocr_ms_per_page) | $(v fast_build_ms_per_page) | $(v fast_sign_ms_per_page) | $(v fast_deliver_ms_per_page) |
| slow token (${SIGN_DELAY_MS} ms a signature) | $(v slow_decode_ms_per_page) | $(v slow_ocr_ms_per_page) | $(v slow_build_ms_per_page) | $(v slow_sign_ms_per_page) | $(v slow_deliver_ms_per_page) |

## Output bytes per page

| input | in, bytes a page | scanstation out, default | growth | out, \`lossless_as_jpeg: true\` | growth |
|---|---:|---:|---:|---:|---:|
| JPEG | $(v fast_jpg_in_per_page) | $(v fast_jpg_out_per_page) | $(v fast_jpg_growth_pct)% | $(v station_jpg_out_per_page) | $(v station_jpg_growth_pct)% |
| PNG | $(v fast_png_in_per_page) | $(v fast_png_out_per_page) | $(v fast_png_growth_pct)% | $(v station_png_out_per_page) | $(v station_png_growth_pct)% |
| TIFF | $(v fast_tif_in_per_page) | $(v fast_tif_out_per_page) | $(v fast_tif_growth_pct)% | $(v station_tif_out_per_page) | $(v station_tif_growth_pct)% |
| all | | $(v fast_bytes_per_page) | | $(v station_bytes_per_page) | |

OCRmyPDF's PDF/A: $(v ocrmypdf_bytes_per_page) bytes a page over the whole corpus, $(v ocrmypdf_jpg_out_per_page) a JPEG page (it re-encodes through Ghostscript).

## A slow token does not stall OCR

The same corpus through the daemon three times with default settings: on the SoftHSM dev token,
then on the same token behind \`libslowtoken.so\`, a 30-line PKCS#11 module built by the script that
hands out SoftHSM's own function list with \`C_Sign\` wrapped in a sleep, of ${SIGN_DELAY_MS} ms and
then of ${BACKLOG_DELAY_MS} ms (\`SCANSTATION_SIGNING_MODULE\` points at it; no station code is changed).

| | fast token | ${SIGN_DELAY_MS} ms a signature | ${BACKLOG_DELAY_MS} ms a signature |
|---|---:|---:|---:|
| signature, ms a document (journal \`sign_ns\`) | $(v fast_sign_ms_per_doc) | $(v slow_sign_ms_per_doc) | $(v backlog_sign_ms_per_doc) |
| every page recognised after, s | $(v fast_all_built_s) | $(v slow_all_built_s) | $(v backlog_all_built_s) |
| every document delivered after, s | $(v fast_seconds) | $(v slow_seconds) | $(v backlog_seconds) |
| CPU s (daemon and workers) | $(v fast_cpu_seconds) | $(v slow_cpu_seconds) | $(v backlog_cpu_seconds) |
| load before | $(v fast_load_before) | $(v slow_load_before) | $(v backlog_load_before) |

Progress over time (journal sampled every second, shown every 5 s; pages recognised = pages of
documents built):

$(timeline_table)

With a token slower than OCR (${BACKLOG_DELAY_MS} ms a signature):

$(timeline_table backlog)

## Memory over $(v soak_pages) pages

The corpus again and again under new names ($(v soak_files) files, $(v soak_pages) pages, \`lossless_as_jpeg: true\`),
dropped in the inbox before the start; memory sampled every 0.5 s, grouped by how many pages had
been recognised. $(v soak_failed) files failed. $(v soak_ppm) pages/min over the run (load before: $(v soak_load_before)).
Peak: $(mib soak_peak_total_kib) MiB all processes, $(mib soak_peak_root_kib) MiB the daemon, $(mib soak_peak_single_kib) MiB the largest single process.

$(soak_table)

## Targets

| target | measured | |
|---|---|---|
| ≥ 90% of the raw limit's pages/min, wall clock (loads differed: $(v station_load_before) vs $(v raw3_load_before) / $(v raw1_load_before)) | $raw3% of \`tesseract\` (psm 3), $raw1% of \`tesseract --psm 1\` | $(yesno "$raw3 >= 90") / $(yesno "$raw1 >= 90") |
| the same, from CPU time a page | $raw3c% of \`tesseract\` (psm 3), $raw1c% of \`tesseract --psm 1\` | $(yesno "$raw3c >= 90") / $(yesno "$raw1c >= 90") |
| ≥ 2× OCRmyPDF, wall clock / CPU | ${om}× / ${omc}× | $(yesno "$om >= 2") / $(yesno "$omc >= 2") |
| JPEG pages no more than 5% larger | +$(v station_jpg_growth_pct)% | $(yesno "$(v station_jpg_growth_pct) <= 5") |
| lossless 300 dpi colour page as JPEG under 1 MB | PNG $(v station_png_out_per_page), TIFF $(v station_tif_out_per_page) bytes a page | $(yesno "$(v station_png_out_per_page) < 1000000 && $(v station_tif_out_per_page) < 1000000") |
| RSS flat over 1,000 pages | $(v soak_pages) pages; daemon max $soak_second MiB in pages 101-200, $soak_last MiB in the last 100; workers $soak_w2 → $soak_wl MiB | $soak_flat |
| a slow token never stalls OCR | all pages recognised after $(v fast_all_built_s) s (fast token), $(v slow_all_built_s) s (${SIGN_DELAY_MS} ms), $(v backlog_all_built_s) s (${BACKLOG_DELAY_MS} ms, with the signer ${behind:-?} documents behind, done at $(v backlog_seconds) s) | see the notes |

MD
cat <<MD

## Go benchmarks

\`make bench\` first runs every Go benchmark (\`go test -run '^\$' -bench . -benchmem ./...\`). The ones
for the PDF builder and the signer, run here with \`-count 3\`:

\`\`\`
$(grep -E '^(Benchmark|pkg:|cpu:)' "$W/gobench.txt" 2>/dev/null)
\`\`\`

- \`certify/pdfa\` \`BenchmarkWrite\`: a 10-page PDF/A of A4 JPEG pages at 300 dpi (ns/op is per document).
- \`certify/pades\` \`BenchmarkSign1MB\`, \`BenchmarkSignContext\`: a PAdES signature (with an in-memory key) on a 1 MB PDF and on a one-page PDF/A with the mark.
- \`certify/token\` \`BenchmarkSign\`, \`BenchmarkKeeperSign\`: one RSA-2048 signature on SoftHSM, bare and through the Keeper.

## Commands

\`\`\`sh
make bench                        # Go benchmarks, then scripts/bench.sh
scripts/bench.sh                  # setup build corpus raw ocrmypdf station slow backlog gobench soak report
scripts/bench.sh station report   # some steps (results accumulate in \$BENCH_DIR/results.env)
BENCH_PAGES=96 BENCH_SOAK_PAGES=0 BENCH_SIGN_DELAY_MS=2000 BENCH_DIR=/tmp/b scripts/bench.sh
\`\`\`

As run:

- raw, psm 3: \`$(v raw3_cmd)\`
- raw, psm 1: \`$(v raw1_cmd)\`
- OCRmyPDF: \`$(v ocrmypdf_cmd)\`
- scanstation: \`$(v station_cmd)\`
- slow token: \`$(v slow_cmd)\`

$marker
MD
    printf '%s\n' "$notes"
  } >"$REPORT.tmp"
  mv "$REPORT.tmp" "$REPORT"
}

ALL=(setup build corpus raw ocrmypdf station slow backlog gobench soak report)
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=("${ALL[@]}")
for s in "${steps[@]}"; do "step_$s"; done
