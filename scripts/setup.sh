#!/usr/bin/env bash
# Installs everything scanstation and its tests need on a Debian 12 machine, as root:
# Debian packages, veraPDF (Maven Central), pyHanko (PyPI), EU DSS (Maven Central), Tesseract's
# models (Debian, pinned), Go modules.
# Every outside tool is pinned to an exact version and checked by hash (scripts/pins/,
# docs/pins.md says how to move a pin). Safe to run again: a tool whose pin has not changed
# is not installed again.
#
# SCANSTATION_TOOLS (default /opt/scanstation-tools) is where the tools go; their commands
# are linked into $SCANSTATION_TOOLS/bin, which scripts/test.sh puts first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

DEFAULT_TOOLS_DIR=/opt/scanstation-tools
TOOLS_DIR=${SCANSTATION_TOOLS:-$DEFAULT_TOOLS_DIR}
PINS=scripts/pins
VERAPDF_VERSION=$(cat "$PINS/verapdf.version")
MAVEN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

say() { printf '==> %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# Go: the version go.mod's toolchain line names, or newer. GOTOOLCHAIN=local: we ask what this
# machine has, not what Go would download.
want_go=$(awk '$1 == "toolchain" { sub(/^go/, "", $2); print $2 }' go.mod)
have_go=$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null | sed 's/^go//') ||
  die "Go is not installed. scanstation builds with Go $want_go or newer (go.mod's toolchain line); install it from https://go.dev/dl/ and run this again."
if [ "$(printf '%s\n%s\n' "$want_go" "$have_go" | sort -V | head -n 1)" != "$want_go" ]; then
  die "this machine has Go $have_go, but scanstation builds with Go $want_go or newer (go.mod's toolchain line). Install Go $want_go from https://go.dev/dl/ and run this again."
fi

debian_packages=(
  libtesseract-dev libleptonica-dev tesseract-ocr tesseract-ocr-osd tesseract-ocr-eng
  tesseract-ocr-vie tesseract-ocr-script-viet
  fonts-liberation2 icc-profiles-free softhsm2 opensc poppler-utils qpdf
  libnss3-tools img2pdf libtiff-tools python3-venv pkg-config openjdk-17-jdk-headless maven openssl
  jbig2dec libopenjp2-tools
  chromium
)
missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# chromium is the console's test browser and is not pinned (docs/pins.md): say which one the
# end-to-end tests will drive, so a changed result can be matched to a Debian security update.
say "chromium $(dpkg-query -W -f='${Version}' chromium) from Debian (bookworm-security); tested with 156.0.8078.129-1~deb12u1"

mkdir -p "$TOOLS_DIR/bin"

# installed TOOL PINFILE... succeeds when TOOL was installed from exactly these pin files.
pin_stamp() { cat "$@" | sha256sum | cut -d' ' -f1; }
installed() {
  local tool=$1; shift
  [ -f "$TOOLS_DIR/$tool/.pin" ] && [ "$(cat "$TOOLS_DIR/$tool/.pin")" = "$(pin_stamp "$@")" ]
}

# veraPDF, the PDF/A judge, from Maven Central: the version in verapdf.version, every jar
# checked against verapdf.sha256.
if ! installed verapdf "$PINS/verapdf.version" "$PINS/verapdf.sha256"; then
  say "installing veraPDF $VERAPDF_VERSION from Maven Central"
  work=$(mktemp -d)
  cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>scanstation</groupId><artifactId>verapdf-fetch</artifactId><version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.verapdf.apps</groupId><artifactId>greenfield-apps</artifactId>
      <version>$VERAPDF_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
  mvn -q -B -Dstyle.color=never -f "$work/pom.xml" "$MAVEN_DEPENDENCY_PLUGIN:copy-dependencies" -DoutputDirectory="$work/lib"
  (cd "$work/lib" && sha256sum --quiet --strict -c "$OLDPWD/$PINS/verapdf.sha256") ||
    die "veraPDF's jars from Maven Central do not match $PINS/verapdf.sha256"
  extra=$(cd "$work/lib" && ls | grep -vxF -f <(awk '{ print $2 }' "$OLDPWD/$PINS/verapdf.sha256") || true)
  [ -z "$extra" ] || die "Maven Central brought jars that $PINS/verapdf.sha256 does not list: $extra"
  rm -rf "$TOOLS_DIR/verapdf"
  mkdir -p "$TOOLS_DIR/verapdf"
  mv "$work/lib" "$TOOLS_DIR/verapdf/lib"
  rm -rf "$work"
  pin_stamp "$PINS/verapdf.version" "$PINS/verapdf.sha256" >"$TOOLS_DIR/verapdf/.pin"
fi
cat >"$TOOLS_DIR/bin/verapdf" <<SH
#!/bin/sh
exec java -cp '$TOOLS_DIR/verapdf/lib/*' org.verapdf.apps.GreenfieldCliWrapper "\$@"
SH

# pyHanko, the signature judge, from PyPI, in its own venv so it never fights the system
# Python; every package pinned and checked by hash.
if ! installed pyhanko "$PINS/judges.lock"; then
  say "installing pyHanko from PyPI ($PINS/judges.lock)"
  rm -rf "$TOOLS_DIR/pyhanko"
  /usr/bin/python3 -m venv "$TOOLS_DIR/pyhanko"
  "$TOOLS_DIR/pyhanko/bin/pip" install -q --disable-pip-version-check --no-deps --require-hashes \
    -r "$PINS/judges.lock"
  "$TOOLS_DIR/pyhanko/bin/pip" check -q >/dev/null
  pin_stamp "$PINS/judges.lock" >"$TOOLS_DIR/pyhanko/.pin"
fi
ln -sf "$TOOLS_DIR/pyhanko/bin/pyhanko" "$TOOLS_DIR/bin/pyhanko"
# The tests ask pyHanko's library directly (internal/judge); a venv's Python must be started
# from inside the venv to see its packages, so this is a wrapper, not a link.
cat >"$TOOLS_DIR/bin/pyhanko-python" <<SH
#!/bin/sh
exec '$TOOLS_DIR/pyhanko/bin/python' "\$@"
SH
chmod 755 "$TOOLS_DIR/bin/verapdf" "$TOOLS_DIR/bin/pyhanko-python"

# With the default tools folder the judges are also on everyone's PATH.
if [ "$TOOLS_DIR" = "$DEFAULT_TOOLS_DIR" ]; then
  for tool in verapdf pyhanko pyhanko-python; do
    ln -sf "$TOOLS_DIR/bin/$tool" "/usr/local/bin/$tool"
  done
fi

# --- EU DSS, the signature judge the EU's own validator is built on -------------------------
# From Maven Central: the artifacts scripts/pins/dss/pom.xml names and what they need, every jar
# checked against dss.sha256. internal/judge/dss/DSSJudge.java, the program the tests run
# (dss-judge), is compiled against them with this machine's javac; it is compiled again when its
# source changes, the jars are fetched again only when their pin does.
if ! installed dss "$PINS/dss/pom.xml" "$PINS/dss.sha256"; then
  say "installing EU DSS $(sed -n 's:.*<dss.version>\(.*\)</dss.version>.*:\1:p' "$PINS/dss/pom.xml") from Maven Central"
  work=$(mktemp -d)
  mvn -q -B -Dstyle.color=never -f "$PINS/dss/pom.xml" "$MAVEN_DEPENDENCY_PLUGIN:copy-dependencies" -DoutputDirectory="$work/lib"
  (cd "$work/lib" && sha256sum --quiet --strict -c "$OLDPWD/$PINS/dss.sha256") ||
    die "EU DSS's jars from Maven Central do not match $PINS/dss.sha256"
  extra=$(cd "$work/lib" && ls | grep -vxF -f <(awk '{ print $2 }' "$OLDPWD/$PINS/dss.sha256") || true)
  [ -z "$extra" ] || die "Maven Central brought jars that $PINS/dss.sha256 does not list: $extra"
  rm -rf "$TOOLS_DIR/dss"
  mkdir -p "$TOOLS_DIR/dss"
  mv "$work/lib" "$TOOLS_DIR/dss/lib"
  rm -rf "$work"
  pin_stamp "$PINS/dss/pom.xml" "$PINS/dss.sha256" >"$TOOLS_DIR/dss/.pin"
fi
if ! installed dss/classes "$PINS/dss.sha256" internal/judge/dss/DSSJudge.java; then
  say "compiling the DSS judge (internal/judge/dss/DSSJudge.java)"
  command -v javac >/dev/null || die "javac is missing; openjdk-17-jdk-headless brings it"
  rm -rf "$TOOLS_DIR/dss/classes"
  javac -nowarn --release 17 -d "$TOOLS_DIR/dss/classes" -cp "$TOOLS_DIR/dss/lib/*" internal/judge/dss/DSSJudge.java ||
    die "internal/judge/dss/DSSJudge.java does not compile against the jars in $PINS/dss.sha256"
  pin_stamp "$PINS/dss.sha256" internal/judge/dss/DSSJudge.java >"$TOOLS_DIR/dss/classes/.pin"
fi
# DSS logs through slf4j on stderr; off unless DSS_JUDGE_LOG names a level (debug, info...).
# A short-lived JVM: the serial collector and the quick compiler start fastest.
cat >"$TOOLS_DIR/bin/dss-judge" <<SH
#!/bin/sh
exec java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel="\${DSS_JUDGE_LOG:-off}" \\
  -cp '$TOOLS_DIR/dss/classes:$TOOLS_DIR/dss/lib/*' DSSJudge "\$@"
SH
chmod 755 "$TOOLS_DIR/bin/dss-judge"
if [ "$TOOLS_DIR" = "$DEFAULT_TOOLS_DIR" ]; then
  ln -sf "$TOOLS_DIR/bin/dss-judge" /usr/local/bin/dss-judge
fi
# --- end of EU DSS ----------------------------------------------------------------------------

# --- Tesseract's models (docs/ocr-models.md) ------------------------------------------------
# The models the station was measured with, as a folder of their own that ocr.tessdata can name:
# each Debian package fetched at the exact version tessdata.lock names (apt-get download, not
# install, so the system's own copies are left alone), its .deb and the model in it checked by
# SHA-256. osd.traineddata is there too: the engine looks for orientation detection's model in
# the same folder as the languages.
if ! installed tessdata "$PINS/tessdata.lock"; then
  say "installing Tesseract's models from Debian ($PINS/tessdata.lock)"
  work=$(mktemp -d)
  mkdir "$work/tessdata"
  updated=
  while read -r pkg version deb_sha file file_sha; do
    case $pkg in '' | '#'*) continue ;; esac
    mkdir "$work/$pkg"
    # A fresh machine may have no package lists yet: fetch them once, then ask again.
    if ! (cd "$work/$pkg" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$version" 2>/dev/null); then
      [ -n "$updated" ] || { apt-get update -qq; updated=1; }
      (cd "$work/$pkg" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$version") ||
        die "Debian no longer offers $pkg $version ($PINS/tessdata.lock); docs/pins.md says how to move the pin"
    fi
    deb=$(echo "$work/$pkg/"*.deb)
    echo "$deb_sha  $deb" | sha256sum --quiet --strict -c ||
      die "$pkg $version from Debian is not the package $PINS/tessdata.lock names (its SHA-256 differs)"
    dpkg-deb -x "$deb" "$work/$pkg/x"
    model=$(find "$work/$pkg/x" -type f -name "$file")
    [ -n "$model" ] || die "$pkg $version holds no $file"
    echo "$file_sha  $model" | sha256sum --quiet --strict -c ||
      die "$file in $pkg $version is not the model $PINS/tessdata.lock names (its SHA-256 differs)"
    mv "$model" "$work/tessdata/$file"
  done <"$PINS/tessdata.lock"
  chmod 755 "$work/tessdata"
  chmod 644 "$work/tessdata/"*
  rm -rf "$TOOLS_DIR/tessdata"
  mv "$work/tessdata" "$TOOLS_DIR/tessdata"
  rm -rf "$work"
  pin_stamp "$PINS/tessdata.lock" >"$TOOLS_DIR/tessdata/.pin"
fi
# An empty ocr.tessdata reads Debian's own copies; say when they are not the measured ones.
while read -r pkg version deb_sha file file_sha; do
  case $pkg in '' | '#'*) continue ;; esac
  sys=/usr/share/tesseract-ocr/5/tessdata/$file
  if [ "$(sha256sum <"$sys" 2>/dev/null | cut -d' ' -f1)" != "$file_sha" ]; then
    say "note: $sys is not the model measured in docs/ocr-models.md ($pkg $version); $TOOLS_DIR/tessdata is"
  fi
done <"$PINS/tessdata.lock"
# --- end of Tesseract's models ----------------------------------------------------------------

if [ -f go.mod ]; then
  say "downloading Go modules"
  go mod download
fi
say "setup complete"
