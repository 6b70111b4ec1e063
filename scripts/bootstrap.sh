#!/usr/bin/env bash
# Creates .venv on first use and (re)installs leadflow whenever pyproject.toml changes.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "leadflow: creating $venv (first run only)" >&2
  python3 -m venv "$venv"
fi
stamp="$venv/.stamp-$(sha256sum "$root/pyproject.toml" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "leadflow: installing dependencies (first run, or pyproject.toml changed)" >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -e "$root[dev]" >&2
  rm -f "$venv"/.stamp-*
  touch "$stamp"
fi
