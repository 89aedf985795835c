#!/usr/bin/env bash
# Installs the real MTAs that test/e2e/mta drives on loopback: Postfix and Exim, side by side.
#
# Debian's postfix and exim4-daemon-light conflict as packages (both provide
# mail-transport-agent), so only Postfix is installed as a package (debconf: "No
# configuration", so no system instance is configured or started). Exim's two packages are
# fetched with `apt-get download` and unpacked with `dpkg -x` into $HOOKD_EXIM_ROOT
# (default /opt/hookd-exim); its shared libraries come from apt as ordinary packages. The
# harness (test/e2e/mta/exim.ts) runs that binary as root with its own config file (-C),
# spool and log paths, and lists that config in Exim's compiled-in TRUSTED_CONFIG_LIST
# (/etc/exim4/trusted_configs) while it runs, so Exim keeps root as an installed one does.
# Nothing here starts a daemon or touches /etc/postfix/main.cf.
# Takes ~10 s on a fresh Debian 12 machine (apt-get update included), ~0.2 s when done.
#
# Idempotent: a second run with everything in place does no apt-get at all.
# Output: one line per step; exits non-zero with the failing step named.
set -euo pipefail

EXIM_ROOT=${HOOKD_EXIM_ROOT:-/opt/hookd-exim}
EXIM_BIN="$EXIM_ROOT/usr/sbin/exim4"
# Shared libraries exim4-daemon-light links against (its Depends, minus exim4-base/debconf).
EXIM_LIBS=(libcrypt1 libdb5.3 libgnutls-dane0 libgnutls30 libidn12 libidn2-0 libnsl2 libpcre2-8-0)
export DEBIAN_FRONTEND=noninteractive

t0=$(date +%s)
say() { printf 'install-mta: %s\n' "$*"; }
die() { printf 'install-mta: FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get, dpkg)"
command -v apt-get >/dev/null || die "apt-get not found: this script expects Debian"

postfix_ok() {
  dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q 'install ok installed' &&
    [ -x /usr/sbin/postfix ] && [ -x /usr/lib/postfix/sbin/postlogd ]
}
libs_ok() {
  local p
  for p in "${EXIM_LIBS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || return 1
  done
}
exim_ok() { [ -x "$EXIM_BIN" ] && libs_ok && ! ldd "$EXIM_BIN" 2>/dev/null | grep -q 'not found'; }

updated=0
apt_update() {
  if [ "$updated" -eq 0 ]; then
    say "apt-get update"
    apt-get update -qq || die "apt-get update"
    updated=1
  fi
}

# --- Postfix ---------------------------------------------------------------------------
if postfix_ok; then
  say "postfix already installed: $(dpkg-query -W -f='${Version}' postfix)"
else
  say "preseeding debconf: postfix 'No configuration'"
  printf '%s\n' \
    "postfix postfix/main_mailer_type select No configuration" \
    "postfix postfix/mailname string hookd-test.invalid" | debconf-set-selections
  apt_update
  say "apt-get install postfix"
  apt-get install -y -qq --no-install-recommends postfix >/dev/null || die "apt-get install postfix"
  say "postfix installed: $(dpkg-query -W -f='${Version}' postfix)"
fi
# A package install must not leave a system instance running (it would not with "No
# configuration", but a machine handed over from elsewhere might have one).
if [ -f /etc/postfix/main.cf ] && /usr/sbin/postfix status >/dev/null 2>&1; then
  say "note: a system postfix instance is running; the tests use their own instance and ports"
fi

# --- Exim (unpacked, not installed) -------------------------------------------------------
# The binary looks up its compiled-in user (EXIM_USER=ref:Debian-exim) before it reads any
# config, so the system user the package's postinst would have created must exist.
if ! id Debian-exim >/dev/null 2>&1; then
  say "adding system user Debian-exim"
  adduser --system --group --quiet --home /nonexistent --no-create-home --allow-bad-names Debian-exim 2>/dev/null ||
    adduser --system --group --quiet --home /nonexistent --no-create-home --force-badname Debian-exim ||
    die "adduser Debian-exim"
fi
if exim_ok; then
  say "exim already unpacked in $EXIM_ROOT: $(cat "$EXIM_ROOT/.version" 2>/dev/null || echo '?')"
else
  apt_update
  if ! libs_ok; then
    say "apt-get install exim's libraries: ${EXIM_LIBS[*]}"
    apt-get install -y -qq --no-install-recommends "${EXIM_LIBS[@]}" >/dev/null || die "apt-get install ${EXIM_LIBS[*]}"
  fi
  dl=$(mktemp -d)
  trap 'rm -rf "$dl"' EXIT
  say "apt-get download exim4-daemon-light exim4-base"
  (cd "$dl" && chmod 777 . && apt-get download -qq exim4-daemon-light exim4-base) >/dev/null || die "apt-get download exim4-daemon-light exim4-base"
  rm -rf "$EXIM_ROOT.new"
  mkdir -p "$EXIM_ROOT.new"
  for deb in "$dl"/*.deb; do
    dpkg -x "$deb" "$EXIM_ROOT.new" || die "dpkg -x $deb"
  done
  dpkg-deb -f "$dl"/exim4-daemon-light_*.deb Version > "$EXIM_ROOT.new/.version"
  rm -rf "$EXIM_ROOT"
  mv "$EXIM_ROOT.new" "$EXIM_ROOT"
  exim_ok || die "exim unpacked to $EXIM_ROOT but $EXIM_BIN does not run (ldd: $(ldd "$EXIM_BIN" 2>&1 | grep 'not found' | tr '\n' ' '))"
  say "exim unpacked in $EXIM_ROOT: $(cat "$EXIM_ROOT/.version")"
fi

say "done in $(( $(date +%s) - t0 ))s (postfix $(/usr/sbin/postconf -d -h mail_version 2>/dev/null), exim $("$EXIM_BIN" -C /dev/null -bV 2>/dev/null | sed -n 's/^Exim version \([^ ]*\).*/\1/p'))"
