#!/usr/bin/env bash
# Tests the Debian package on this machine, as root: builds it (scripts/deb.sh), installs it with
# dpkg -i (apt-get install -f brings its dependencies), and checks
#   - the files, their owners and modes; the configuration is a conffile; the binary's libraries
#   - the system user scanstation and the folders, with their owners and modes
#   - `scanstation config check` names exactly the unfilled signing keys, and passes once a
#     SoftHSM2 dev token is configured, as root and as the service would run it (user
#     scanstation, PIN from a credentials folder, no new privileges)
#   - `systemd-analyze verify` on the installed unit is clean; `systemd-analyze security`
#     (offline) scores the unit no worse than docs/packaging.md says
#   - dpkg -r removes the program and keeps the configuration, the user, the journal and the
#     scans; dpkg --purge removes the configuration and still keeps the data
# Idempotent: a run cleans up what an earlier run left. It refuses to touch a machine where
# scanstation was installed by someone else (no marker from this script in /srv/scanstation).
# Prints 'test-deb: N passed, N failed' at the end; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

MARKER=/srv/scanstation/.test-deb
MAX_EXPOSURE=${MAX_EXPOSURE:-1.4} # the score in docs/packaging.md; a weaker unit fails
pass=0 fail=0
ok() { pass=$((pass + 1)); printf '  ok    %s\n' "$*"; }
bad() { fail=$((fail + 1)); printf '  FAIL  %s\n' "$*"; }
check() { # description command...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}
say() { printf '==> %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then echo "test-deb: run as root (it installs a package)" >&2; exit 2; fi

# --- Start from a clean machine: undo what an earlier run of this script left. -------------
cleanup() {
  if dpkg-query -W -f='${Status}' scanstation 2>/dev/null | grep -q 'install\|config-files\|unpacked\|half'; then
    dpkg --purge scanstation >/dev/null 2>&1 || true
  fi
  if [ -f "$MARKER" ]; then rm -rf /srv/scanstation /var/lib/scanstation; fi
  if getent passwd scanstation >/dev/null && [ ! -e /srv/scanstation ] && [ ! -e /var/lib/scanstation ]; then
    userdel scanstation 2>/dev/null || true
    getent group scanstation >/dev/null && groupdel scanstation 2>/dev/null || true
  fi
}
if { dpkg-query -W -f='${Status}' scanstation 2>/dev/null | grep -q installed || [ -e /srv/scanstation ]; } &&
  [ ! -f "$MARKER" ] && [ "${SCANSTATION_TEST_DEB_FORCE:-}" != 1 ]; then
  echo "test-deb: scanstation is installed here, or /srv/scanstation exists, and not by this test;" >&2
  echo "          it would remove them. Run it on a test machine, or set SCANSTATION_TEST_DEB_FORCE=1." >&2
  exit 2
fi
cleanup

# --- Build and install. ---------------------------------------------------------------------
say "building the package"
deb=$(bash scripts/deb.sh | tail -n 1)
[ -f "$deb" ] || { echo "test-deb: scripts/deb.sh made no package" >&2; exit 1; }
say "installing $deb"
export DEBIAN_FRONTEND=noninteractive
if ! dpkg -i "$deb" >/tmp/test-deb.dpkg.log 2>&1; then
  # A clean machine lacks the dependencies: dpkg leaves the package unconfigured, apt fixes it.
  apt-get update -qq
  apt-get install -f -y -qq --no-install-recommends >/tmp/test-deb.apt.log 2>&1 ||
    { cat /tmp/test-deb.dpkg.log /tmp/test-deb.apt.log >&2; exit 1; }
fi
touch "$MARKER"
trap 'cleanup' EXIT
# Every dependency is a package Debian has (apt resolves them all, even where they are installed).
check "apt can resolve every dependency of the package" apt-get install -s -y --reinstall "./$deb"
check "dpkg says scanstation is installed" \
  sh -c "dpkg-query -W -f='\${Status}' scanstation | grep -qx 'install ok installed'"

# --- Files. -------------------------------------------------------------------------------
say "files"
want_stat() { # path "mode owner:group"
  local got
  got=$(stat -c '%a %U:%G' "$1" 2>/dev/null || echo missing)
  if [ "$got" = "$2" ]; then ok "$1 is $2"; else bad "$1 is $got, want $2"; fi
}
want_stat /usr/bin/scanstation "755 root:root"
want_stat /lib/systemd/system/scanstation.service "644 root:root"
want_stat /etc/scanstation "755 root:root"
want_stat /etc/scanstation/scanstation.yaml "644 root:root"
for d in README.md config.md token.md quality.md packaging.md; do
  want_stat /usr/share/doc/scanstation/$d "644 root:root"
done
check "the configuration is a conffile" \
  sh -c "dpkg-query -W -f='\${Conffiles}' scanstation | grep -q ' /etc/scanstation/scanstation.yaml '"
check "every library of the binary is found" sh -c '! ldd /usr/bin/scanstation | grep -q "not found"'
check "scanstation runs (help)" /usr/bin/scanstation help
check "the installed unit is the packaged one" cmp /lib/systemd/system/scanstation.service packaging/scanstation.service

# --- User and folders. --------------------------------------------------------------------
say "user and folders"
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd scanstation || echo "x:x:-1:-1:x:x:x")
if [ "$uid" -ge 100 ] && [ "$uid" -lt 1000 ]; then ok "scanstation is a system user (uid $uid)"; else bad "scanstation uid is $uid"; fi
[ "$(getent group scanstation | cut -d: -f3)" = "$gid" ] && ok "its primary group is scanstation" || bad "its primary group is $gid"
[ "$home" = /var/lib/scanstation ] && ok "its home is /var/lib/scanstation" || bad "its home is $home"
[ "$shell" = /usr/sbin/nologin ] && ok "it cannot log in" || bad "its shell is $shell"
want_stat /var/lib/scanstation "700 scanstation:scanstation"
want_stat /srv/scanstation "750 scanstation:scanstation"
for d in inbox outbox failed; do want_stat /srv/scanstation/$d "2770 scanstation:scanstation"; done
for d in archive review; do want_stat /srv/scanstation/$d "750 scanstation:scanstation"; done

# --- The configuration as shipped: exactly the unfilled signing section. -----------------
say "scanstation config check"
clean_env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)
set +e
out=$("${clean_env[@]}" scanstation config check --config /etc/scanstation/scanstation.yaml 2>&1)
rc=$?
set -e
keys=$(printf '%s\n' "$out" | sed -n 's/^  \([^ :]*\): .*/\1/p' | sort | tr '\n' ' ')
want="signing.key_label signing.module signing.pin_file signing.token_label "
if [ "$rc" = 1 ] && [ "$keys" = "$want" ]; then
  ok "unfilled: exit 1 and exactly: $want"
else
  bad "unfilled: exit $rc, problems [$keys], want [$want]:"; printf '%s\n' "$out"
fi
check "unfilled: it says the PIN file is missing" \
  grep -q 'signing.pin_file: /etc/scanstation/token.pin does not exist' <<<"$out"

# A PIN file others can read is refused.
install -m 0644 /dev/null /etc/scanstation/token.pin
out=$("${clean_env[@]}" scanstation config check --config /etc/scanstation/scanstation.yaml 2>&1 || true)
check "a PIN file readable by others is refused (chmod 600)" grep -q 'signing.pin_file: .*chmod 600' <<<"$out"
rm -f /etc/scanstation/token.pin

# A SoftHSM2 dev token, under /srv/scanstation where the unit lets the service write.
say "with a SoftHSM2 dev token"
if ! command -v softhsm2-util >/dev/null; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends softhsm2 >/dev/null
fi
dev=/srv/scanstation/devtoken
"${clean_env[@]}" scanstation init --dir "$dev" --dev-token >/dev/null
for key in module token_label key_label chain_file softhsm2_conf; do
  line=$(grep -m1 "^  $key: " "$dev/scanstation.yaml")
  sed -i "s|^  $key: .*|${line//|/\\|}|" /etc/scanstation/scanstation.yaml
done
devpin=$(sed -n 's/^  pin_file: "\{0,1\}\([^"#]*\)"\{0,1\}.*/\1/p' "$dev/scanstation.yaml" | sed 's/[[:space:]]*$//')
install -m 0600 -o root -g root "$devpin" /etc/scanstation/token.pin
chown -R scanstation:scanstation "$dev"
out=$("${clean_env[@]}" scanstation config check --config /etc/scanstation/scanstation.yaml 2>&1) &&
  ok "dev token: no problems (as root)" || { bad "dev token, as root:"; printf '%s\n' "$out"; }

# As the unit runs ExecStartPre: user scanstation, no new privileges, the PIN from a folder like
# systemd's credentials folder ($CREDENTIALS_DIRECTORY: 0500 dir, 0400 file, the user's).
cred=$(mktemp -d /run/test-deb-cred.XXXXXX)
install -m 0400 -o scanstation -g scanstation /etc/scanstation/token.pin "$cred/token.pin"
chown scanstation:scanstation "$cred" && chmod 0500 "$cred"
as_service=(setpriv --reuid=scanstation --regid=scanstation --init-groups --no-new-privs
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 OMP_THREAD_LIMIT=1
  CREDENTIALS_DIRECTORY="$cred" SCANSTATION_SIGNING_PIN_FILE="$cred/token.pin")
out=$("${as_service[@]}" scanstation config check --config /etc/scanstation/scanstation.yaml 2>&1) &&
  ok "dev token: no problems as user scanstation with the PIN as a credential" ||
  { bad "dev token, as the service:"; printf '%s\n' "$out"; }
check "the service user cannot read /etc/scanstation/token.pin itself" \
  sh -c "! setpriv --reuid=scanstation --regid=scanstation --init-groups cat /etc/scanstation/token.pin"
rm -rf "$cred"

# --- systemd. -----------------------------------------------------------------------------
say "systemd-analyze"
out=$(systemd-analyze verify /lib/systemd/system/scanstation.service 2>&1) && [ -z "$out" ] &&
  ok "systemd-analyze verify: clean" || { bad "systemd-analyze verify:"; printf '%s\n' "$out"; }
score=$(systemd-analyze security --offline=true /lib/systemd/system/scanstation.service 2>/dev/null |
  sed -n 's/.*Overall exposure level for scanstation.service: \([0-9.]*\).*/\1/p')
if [ -n "$score" ] && awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'; then
  ok "systemd-analyze security: exposure $score (at most $MAX_EXPOSURE)"
else
  bad "systemd-analyze security: exposure '$score', want at most $MAX_EXPOSURE"
fi
check "Type=notify with a watchdog" \
  sh -c 'grep -qx "Type=notify" /lib/systemd/system/scanstation.service && grep -q "^WatchdogSec=" /lib/systemd/system/scanstation.service'

# --- Remove, then purge. ------------------------------------------------------------------
say "dpkg -r"
journal=/var/lib/scanstation/kept-by-test
echo x >"$journal" && chown scanstation:scanstation "$journal"
echo scan >/srv/scanstation/inbox/kept-by-test.jpg
if dpkg -r scanstation >/tmp/test-deb.remove.log 2>&1; then ok "dpkg -r succeeds"; else bad "dpkg -r:"; cat /tmp/test-deb.remove.log; fi
check "the program is gone" test ! -e /usr/bin/scanstation
check "the unit is gone" test ! -e /lib/systemd/system/scanstation.service
check "the configuration is kept" test -f /etc/scanstation/scanstation.yaml
check "the PIN file is kept" test -f /etc/scanstation/token.pin
check "the journal is kept" test -f "$journal"
check "the scans are kept" test -f /srv/scanstation/inbox/kept-by-test.jpg
check "the user is kept" getent passwd scanstation
check "dpkg keeps only the config files" \
  sh -c "dpkg-query -W -f='\${Status}' scanstation | grep -qx 'deinstall ok config-files'"

say "dpkg --purge"
if dpkg --purge scanstation >/tmp/test-deb.purge.log 2>&1; then ok "dpkg --purge succeeds"; else bad "dpkg --purge:"; cat /tmp/test-deb.purge.log; fi
check "the configuration folder is gone" test ! -e /etc/scanstation
check "the journal is still kept" test -f "$journal"
check "the scans are still kept" test -f /srv/scanstation/inbox/kept-by-test.jpg
check "dpkg forgot the package" sh -c "! dpkg-query -W -f='\${Status}' scanstation 2>/dev/null | grep -q ok"

# Install again over the kept data: postinst must accept an existing user and folders.
say "reinstall over the kept data"
if dpkg -i "$deb" >/tmp/test-deb.dpkg.log 2>&1; then ok "dpkg -i again succeeds"; else bad "dpkg -i again:"; cat /tmp/test-deb.dpkg.log; fi
want_stat /var/lib/scanstation "700 scanstation:scanstation"
check "the scans survive a reinstall" test -f /srv/scanstation/inbox/kept-by-test.jpg

echo "test-deb: $pass passed, $fail failed"
[ "$fail" = 0 ]
