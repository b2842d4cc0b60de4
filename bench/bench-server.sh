#!/usr/bin/env bash
# make bench-server: the map server's figures on SQLite and on PostgreSQL (one and several instances
# behind nginx), each beside its store's own limit; load from other processes on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh wrk chromium chromium-driver libjs-leaflet postgresql nginx python3-psycopg2 -- selenium pytest >/dev/null
swift build -c release --product monnemo-server >&2
export MONNEMO_SERVER="$(swift build -c release --show-bin-path)/monnemo-server"
python3 bench/server_bench.py "$@"
