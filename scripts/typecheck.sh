#!/usr/bin/env bash
# mypy cannot follow setuptools' package-dir mapping, so check a shadow tree of links
# that lays the folders out as the installed `leadflow` package (a fresh one per run, so
# concurrent runs do not trip over each other).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shadow=$(mktemp -d "${TMPDIR:-/tmp}/leadflow-typecheck.XXXXXX")
trap 'rm -rf "$shadow"' EXIT
mkdir -p "$shadow/leadflow"
for f in "$root"/app/*; do ln -s "$f" "$shadow/leadflow/$(basename "$f")"; done
for d in domain projections consumers producers; do ln -s "$root/$d" "$shadow/leadflow/$d"; done
cd "$shadow"
"$root/.venv/bin/python" -m mypy --config-file "$root/pyproject.toml" \
  --cache-dir "$root/.mypy_cache" leadflow
