#!/usr/bin/env bash
# The Home Agent service demonstration (a 2006 scenario): two people sign up their personal
# networks at the Home Agent service (`nemo-service`, beside `nemo ha` on the home network), each
# router joins with one command (`nemo mr --join`), and they walk from room to room (hotspot to
# hotspot, cellular between) while staying reachable at their addresses; their handovers reach the
# map as SONAR records, the operator's statistics count the registrations. Its own report, in
# demo-data/ha-service/. Needs what `make demo` needs over namespaces (root, /dev/net/tun);
# arguments go to tour.py (--speed 10 walks ten times faster; --duration S stops and reports).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN_DIR=${BIN_DIR:-$(swift build -c release --show-bin-path 2>/dev/null || echo .build/release)}
exec python3 Demos/tour/tour.py --bin-dir "$BIN_DIR" --scenario service --prefix hs --data demo-data/ha-service "$@"
