#!/usr/bin/env bash
# Dual-stack mobility (the 2006 DSMIPv6 scenario): the Tour de France with an IPv4-only cellular
# network on the way. Each mobile router registers its IPv4 care-of address with the home agent
# over IPv4 (RFC 5555) beside its IPv6 hotspot one, and keeps its IPv6 home address and prefix: the
# onboard programs never see the IPv4 network. Same report as `make demo`, in demo-data/dual-stack/.
# Needs what `make demo` needs over namespaces (root, /dev/net/tun); arguments go to tour.py.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN_DIR=${BIN_DIR:-$(swift build -c release --show-bin-path 2>/dev/null || echo .build/release)}
exec python3 Demos/tour/tour.py --bin-dir "$BIN_DIR" --ipv4-cellular --prefix ds --data demo-data/dual-stack "$@"
