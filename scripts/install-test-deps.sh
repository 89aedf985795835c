#!/usr/bin/env bash
# The real programs hookd's tests drive, from Debian: Postfix and Exim (.ci/install-mta.sh),
# Chromium (.ci/install-browser.sh), and pflogsumm, OpenDKIM and PostgreSQL. `npm test` runs
# this first, so the README's test command passes on a fresh Debian machine run as root.
# Idempotent and quick when everything is there (no apt-get at all). Not root, or not
# Debian: it says what is missing and carries on; the tests that need it then fail, naming
# the package (a test is never skipped for a missing package).
set -uo pipefail
cd "$(dirname "$0")/.."

# package → a file it installs, to tell without dpkg whether it is there.
declare -A PACKAGES=(
  [pflogsumm]=/usr/sbin/pflogsumm
  [opendkim]=/usr/sbin/opendkim
  [opendkim-tools]=/usr/sbin/opendkim-genkey
  [postgresql]="/usr/lib/postgresql/*/bin/postgres"
)
missing=()
for p in "${!PACKAGES[@]}"; do compgen -G "${PACKAGES[$p]}" >/dev/null || missing+=("$p"); done
mta_ok() { [ -x /usr/sbin/postfix ] && [ -x "${HOOKD_EXIM_ROOT:-/opt/hookd-exim}/usr/sbin/exim4" ] && id Debian-exim >/dev/null 2>&1; }
browser_ok() { [ -x /usr/bin/chromium ] && dpkg -s fonts-dejavu-core >/dev/null 2>&1; }

if [ ${#missing[@]} -eq 0 ] && mta_ok && browser_ok; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: not root on Debian, so nothing installed; missing: ${missing[*]} $(mta_ok || echo 'postfix/exim') $(browser_ok || echo chromium)" >&2
  echo "install-test-deps: as root: bash scripts/install-test-deps.sh (the tests that need them fail until then)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
mta_ok || bash .ci/install-mta.sh || echo "install-test-deps: .ci/install-mta.sh failed" >&2
browser_ok || bash .ci/install-browser.sh || echo "install-test-deps: .ci/install-browser.sh failed" >&2
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-test-deps: apt-get install ${missing[*]}"
  # Install without starting anything: the tests run their own OpenDKIM and PostgreSQL.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  { apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; } ||
    echo "install-test-deps: apt-get install ${missing[*]} failed" >&2
  rm -f /usr/sbin/policy-rc.d
fi
exit 0
