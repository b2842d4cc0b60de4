#!/usr/bin/env bash
# make bench-server: the map server's four figures, load from other processes on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh wrk chromium chromium-driver libjs-leaflet -- selenium >/dev/null
swift build -c release --product monnemo-server >&2
export MONNEMO_SERVER="$(swift build -c release --show-bin-path)/monnemo-server"
python3 bench/server_bench.py "$@"
