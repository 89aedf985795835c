#!/usr/bin/env bash
# Debian's Chromium, and a font so pages render text, for the admin page's browser tests
# (test/admin/). playwright-core drives /usr/bin/chromium; it never downloads a browser.
# Idempotent: exits at once when both are installed.
set -euo pipefail

if [ -x /usr/bin/chromium ] && dpkg -s fonts-dejavu-core >/dev/null 2>&1; then
  echo "install-browser.sh: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser.sh: needs apt-get (Debian or Ubuntu); install Chromium so that /usr/bin/chromium exists" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
install() { $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; }
# Fetch the package lists only when needed: none yet, or stale ones the install trips on.
if ! apt-cache show chromium >/dev/null 2>&1; then
  $SUDO apt-get update -qq
fi
if ! install; then
  $SUDO apt-get update -qq
  install
fi
echo "install-browser.sh: $(/usr/bin/chromium --version 2>/dev/null) installed"
