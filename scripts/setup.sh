#!/usr/bin/env bash
# Installs everything scanstation and its tests need on a Debian 12 machine, as root:
# Debian packages, veraPDF (Maven Central), pyHanko (PyPI), Go modules.
# Safe to run again: every step checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS_DIR=${SCANSTATION_TOOLS:-/opt/scanstation-tools}
VERAPDF_VERSION=${VERAPDF_VERSION:-1.28.2}

say() { printf '==> %s\n' "$*"; }

debian_packages=(
  libtesseract-dev libleptonica-dev tesseract-ocr tesseract-ocr-osd tesseract-ocr-eng
  tesseract-ocr-vie tesseract-ocr-script-viet
  fonts-liberation2 icc-profiles-free softhsm2 opensc poppler-utils qpdf
  libnss3-tools img2pdf libtiff-tools python3-venv pkg-config
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

mkdir -p "$TOOLS_DIR"

# veraPDF, the PDF/A judge, from Maven Central.
if [ ! -d "$TOOLS_DIR/verapdf/lib" ]; then
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
  mvn -q -f "$work/pom.xml" dependency:copy-dependencies -DoutputDirectory="$work/lib"
  mkdir -p "$TOOLS_DIR/verapdf"
  mv "$work/lib" "$TOOLS_DIR/verapdf/lib"
  rm -rf "$work"
fi
cat >"$TOOLS_DIR/verapdf/verapdf" <<SH
#!/bin/sh
exec java -cp '$TOOLS_DIR/verapdf/lib/*' org.verapdf.apps.GreenfieldCliWrapper "\$@"
SH
chmod 755 "$TOOLS_DIR/verapdf/verapdf"
ln -sf "$TOOLS_DIR/verapdf/verapdf" /usr/local/bin/verapdf

# pyHanko, the signature judge, from PyPI, in its own venv so it never fights the system Python.
if [ ! -x "$TOOLS_DIR/pyhanko/bin/pyhanko" ]; then
  say "installing pyHanko from PyPI"
  /usr/bin/python3 -m venv "$TOOLS_DIR/pyhanko"
  "$TOOLS_DIR/pyhanko/bin/pip" install -q 'pyhanko[opentype]' pyhanko-certvalidator pyhanko-cli
fi
ln -sf "$TOOLS_DIR/pyhanko/bin/pyhanko" /usr/local/bin/pyhanko

if [ -f go.mod ]; then
  say "downloading Go modules"
  go mod download
fi
say "setup complete"
