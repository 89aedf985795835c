#!/usr/bin/env bash
# Debian's Chromium (and a font so pages render text) for the admin page's browser tests
# (test/admin/). playwright-core drives it at /usr/bin/chromium; it never downloads a
# browser of its own. Idempotent: does nothing when both are already installed.
set -euo pipefail

if command -v /usr/bin/chromium >/dev/null 2>&1 && dpkg -s fonts-dejavu-core >/dev/null 2>&1; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo installed)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser.sh: needs apt-get (Debian); install chromium so /usr/bin/chromium exists" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# Package lists may be absent on a fresh machine (or stale): fetch them if chromium is unknown.
if ! apt-cache show chromium >/dev/null 2>&1; then
  $SUDO apt-get update -qq
fi
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
echo "chromium: $(/usr/bin/chromium --version)"
