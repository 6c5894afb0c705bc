#!/usr/bin/env bash
# Hive Gateway next to the catalogue gateway and a raw aiohttp fan-out, on the same
# simulated CKAN platforms (see README.md). Extra arguments go to bench.federation, e.g.
#   bench/peer/run.sh --rounds 1 --requests 300
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"

# The exact Node packages of package-lock.json, into bench/peer/node_modules (git-ignored).
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
cd "$root"
exec "$python" -m bench.federation peer "$@"
