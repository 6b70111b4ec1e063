#!/usr/bin/env bash
# mypy cannot follow setuptools' package-dir mapping, so check a shadow tree of links
# that lays the folders out as the installed `leadflow` package.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shadow="$root/.typecheck"
rm -rf "$shadow" && mkdir -p "$shadow/leadflow"
for f in "$root"/app/*; do ln -s "$f" "$shadow/leadflow/$(basename "$f")"; done
for d in domain projections consumers producers; do ln -s "$root/$d" "$shadow/leadflow/$d"; done
cd "$shadow"
exec "$root/.venv/bin/python" -m mypy --config-file "$root/pyproject.toml" leadflow
