#!/bin/bash
# Softphone benchmarks; run from the repository root. Prints one `bench:` line per figure.
#   SIP parser throughput (torture set and a captured INVITE) and allocations per message,
#   voice quality of PCMU and Opus through the jitter buffer at 5 % loss and 40 ms jitter,
#   calls per second one softphone process sets up and tears down against another.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SHARED=${NAUTILUS_SHARED:-}
if [ -z "$SHARED" ]; then d="$ROOT"; while [ "$d" != / ]; do [ -d "$d/shared/vectors" ] && { SHARED="$d/shared"; break; }; d=$(dirname "$d"); done; fi
swift build -c release --product softphone >/dev/null
swift build -c release --product phone-bench >/dev/null
BIN=$(swift build -c release --show-bin-path)
export SWIFT_BACKTRACE=enable=no
"$BIN/phone-bench" parse "$SHARED/vectors/sip-torture" "$SHARED/peers/sip/captures/baresip-invite.txt"
"$BIN/phone-bench" voice
PORT=${BENCH_SIP_PORT:-25060}
"$BIN/softphone" answer --auto --listen 127.0.0.1:$PORT --rtp-ports 50000-59999 --codec pcmu --run-for 30 >/dev/null 2>&1 &
ANSWER=$!
trap 'kill $ANSWER 2>/dev/null; wait $ANSWER 2>/dev/null' EXIT
sleep 1
"$BIN/phone-bench" calls "sip:bench@127.0.0.1:$PORT" 10
