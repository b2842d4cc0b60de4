#!/usr/bin/env bash
# `make demo`: the Tour de France over the mobility stack (Demos/tour/tour.py: two bicycles and a
# car as NEMO mobile networks in network namespaces, handing over between hotspots and a cellular
# network, feeding the map, streaming video over XCAST6 and holding a SIP call; a report of what was
# lost at the end) wherever the machine allows it: root, network namespaces, /dev/net/tun.
# Elsewhere it says exactly what is missing and runs the loopback demo (Demos/loopback.sh: the map
# server and three agents on this host, no mobility). Both serve http://localhost:8080/.
# Arguments go to tour.py (e.g. --duration 120, --speed 5, --single-coa); see tour.py --help.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN_DIR=${BIN_DIR:-$(swift build -c release --show-bin-path 2>/dev/null || echo .build/release)}
export BIN_DIR
if why=$(python3 Demos/tour/tour.py --check --bin-dir "$BIN_DIR" 2>&1); then
  exec python3 Demos/tour/tour.py --bin-dir "$BIN_DIR" "$@"
fi
echo "$why" >&2
echo "tour: running the loopback demo instead (map server and agents on this host, no mobility stack)" >&2
exec bash Demos/loopback.sh
