#!/usr/bin/env bash
# System packages the test suite needs beyond Python: Debian's chromium, which the browser
# tests (tests/e2e/test_dashboard.py) drive through Playwright's `executable_path`
# (Playwright's own browser download is never used). Idempotent and quick when already
# installed; without root or apt-get it says so and leaves the browser tests to skip.
set -euo pipefail
browser=/usr/bin/chromium
packages="chromium fonts-liberation"  # the fonts: readable screenshots, metric-compatible
if [ -x "$browser" ] && dpkg-query -W -f='${Status}' fonts-liberation 2>/dev/null \
    | grep -q "ok installed"; then
  echo "system-deps: chromium already installed ($browser), nothing to do"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: no apt-get here; install chromium yourself (browser tests will skip)" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "system-deps: not root and no sudo; cannot install chromium (browser tests will skip)" >&2
    exit 0
  fi
fi
echo "system-deps: installing $packages: apt-get update && apt-get install -y $packages"
export DEBIAN_FRONTEND=noninteractive
# A failed install must not fail the suite: the browser tests then skip, saying why.
# shellcheck disable=SC2086  # $packages is a word list
if ! { $sudo apt-get update -qq && \
       $sudo apt-get install -y -qq --no-install-recommends $packages >/dev/null; }; then
  echo "system-deps: apt-get could not install $packages (browser tests will skip)" >&2
  exit 0
fi
echo "system-deps: installed $("$browser" --version 2>/dev/null || echo chromium)"
