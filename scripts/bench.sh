#!/usr/bin/env bash
# scripts/bench.sh: the throughput benchmark (`make bench` runs it after the Go benchmarks).
#
# On one corpus of synthetic Vietnamese A4 pages at 300 dpi (colour JPEG, PNG, two-page TIFF;
# BENCH_PAGES, default 48), in one run, with the same languages (vie+eng), it measures:
#   raw       the `tesseract` command on every file, one process per core, OMP_THREAD_LIMIT=1,
#             with Tesseract's default page segmentation (--psm 3) and with OSD (--psm 1)
#   ocrmypdf  OCRmyPDF (newest from PyPI, own venv) --output-type pdfa --rotate-pages, one file per
#             core at a time (-j 1 each)
#   station   scanstation's daemon (OCR, PDF/A, mark, signature on a SoftHSM dev token, outbox),
#             files dropped in its inbox, once with pdf.lossless_as_jpeg=true and once with the default
#             (lossless stays lossless) behind a token that takes BENCH_SIGN_DELAY_MS (1000) a signature
#   soak      BENCH_SOAK_PAGES (1000; 0 skips) pages through the daemon, its memory sampled
# and writes the figures with the machine, the versions and the commands to docs/benchmarks.md
# (BENCH_REPORT to write elsewhere). Work files go to BENCH_DIR (/tmp/scanstation-bench).
#
#   scripts/bench.sh                 everything
#   scripts/bench.sh STEP...         some steps: setup corpus build raw ocrmypdf station slow soak gobench report
#
# Needs root on Debian 12 for the installs (apt: tesseract, softhsm2, ghostscript, sqlite3, time, gcc;
# PyPI: ocrmypdf in /opt/scanstation-tools/ocrmypdf).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

W=${BENCH_DIR:-/tmp/scanstation-bench}
PAGES=${BENCH_PAGES:-48}
SOAK_PAGES=${BENCH_SOAK_PAGES:-1000}
SIGN_DELAY_MS=${BENCH_SIGN_DELAY_MS:-1000}
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
put() { # put KEY VALUE: record a result (the last value of a key wins)
  mkdir -p "$W"; touch "$RES"
  grep -v "^$1=" "$RES" >"$RES.tmp" || true
  printf '%s=%s\n' "$1" "$2" >>"$RES.tmp"; mv "$RES.tmp" "$RES"
}
get() { [ -f "$RES" ] && sed -n "s/^$1=//p" "$RES" | tail -1; }
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }
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
  if [ ! -x "$TOOLS_DIR/ocrmypdf/bin/ocrmypdf" ]; then
    say "installing OCRmyPDF (newest) from PyPI into $TOOLS_DIR/ocrmypdf"
    mkdir -p "$TOOLS_DIR"
    /usr/bin/python3 -m venv "$TOOLS_DIR/ocrmypdf"
    "$TOOLS_DIR/ocrmypdf/bin/pip" install -q --upgrade pip
    "$TOOLS_DIR/ocrmypdf/bin/pip" install -q --upgrade ocrmypdf
  fi
  "$TOOLS_DIR/ocrmypdf/bin/ocrmypdf" --version >/dev/null
}

step_build() {
  mkdir -p "$W"
  say "building scanstation and the bench helper"
  go build -o "$BIN" ./cmd/scanstation
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
  rm -rf "$W/ocrmypdf"; mkdir -p "$W/ocrmypdf/in"
  # OCRmyPDF takes single images but not multi-page TIFF: those are wrapped by img2pdf first (timed).
  local cmd="cd $CORPUS && for f in *.tif; do img2pdf -o $W/ocrmypdf/in/\$f.pdf \$f; done && ls *.jpg *.png && ls $W/ocrmypdf/in/*.pdf"
  cmd="($cmd) | xargs -P $NCPU -I{} env OMP_THREAD_LIMIT=1 $om -q -j 1 -l $LANGS --rotate-pages --output-type pdfa {} $W/ocrmypdf/{}.pdf"
  put ocrmypdf_cmd "$cmd"
  timed ocrmypdf bash -c "$cmd"
  put ocrmypdf_bytes_per_page "$(calc "$(cat "$W"/ocrmypdf/*.pdf "$W"/ocrmypdf/*/*.pdf 2>/dev/null | wc -c) / $(corpus_pages)" 0)"
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
  local s
  for s in decode ocr build sign deliver; do
    put "${name}_${s}_ms_per_page" "$(sqlite3 -readonly "$db" "select printf('%.0f', coalesce(sum(${s}_ns),0)/1e6/sum(pages)) from jobs where state='archived'")"
  done
  local k v
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

step_report() {
  say "writing $REPORT"
  local v; v() { get "$1"; }
  local om_ratio raw_ratio1 raw_ratio3
  raw_ratio3=$(calc "$(v station_ppm) * 100 / $(v raw3_ppm)" 0)
  raw_ratio1=$(calc "$(v station_ppm) * 100 / $(v raw1_ppm)" 0)
  om_ratio=$(calc "$(v station_ppm) / $(v ocrmypdf_ppm)" 2)
  "$W/report.sh" 2>/dev/null || true
  {
    cat "$ROOT/scripts/bench.report.head" 2>/dev/null || true
  } >/dev/null
  REPORT_RAW3=$raw_ratio3 REPORT_RAW1=$raw_ratio1 REPORT_OM=$om_ratio write_report >"$REPORT"
}

write_report() { :; } # replaced below

ALL=(setup build corpus raw ocrmypdf station slow soak gobench report)
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=("${ALL[@]}")
for s in "${steps[@]}"; do "step_$s"; done
