#!/usr/bin/env bash
# The E-Bag (a 2006 scenario): a walker carries a personal network, one NEMO mobile router with a
# laptop and a phone behind it on a bridged LAN, and walks between hotspots and the cellular
# network. The laptop's monnemo-agent puts the walker on the map, the phone holds an iLBC call;
# both keep their addresses through every handover. Its own report, in demo-data/ebag/.
# Needs what `make demo` needs over namespaces (root, /dev/net/tun); arguments go to tour.py
# (--speed 10 makes the walker ten times faster; --duration S stops and reports).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN_DIR=${BIN_DIR:-$(swift build -c release --show-bin-path 2>/dev/null || echo .build/release)}
exec python3 Demos/tour/tour.py --bin-dir "$BIN_DIR" --scenario ebag --prefix eb --data demo-data/ebag "$@"
