#!/bin/bash
# Softphone benchmarks; run from the repository root. Prints one `bench:` line per figure.
#   SIP parser throughput (torture set and a captured INVITE) and allocations per message,
#   voice quality of PCMU, iLBC 20/30 and Opus through the jitter buffer at 5 % loss and 40 ms
#   jitter (segmental SNR, E-model MOS, PESQ of speech against the clean codec) and the delay
#   the buffer adds,
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
# PESQ of speech through the jitter buffer (PyPI pesq, deps/pip-phone.txt): PESQ_PYTHON, else a
# venv under /tmp made on first use; skipped with a reason when pip cannot get it
PESQ_PY=${PESQ_PYTHON:-/tmp/nautilus-phone-pesq-venv/bin/python3}
if ! "$PESQ_PY" -c 'import pesq, numpy' 2>/dev/null; then
  { python3 -m venv /tmp/nautilus-phone-pesq-venv && /tmp/nautilus-phone-pesq-venv/bin/pip install -q numpy cython \
    && /tmp/nautilus-phone-pesq-venv/bin/pip install -q --no-build-isolation pesq==0.0.4; } >/dev/null 2>&1
  PESQ_PY=/tmp/nautilus-phone-pesq-venv/bin/python3
fi
if "$PESQ_PY" -c 'import pesq, numpy' 2>/dev/null; then
  PESQ_DIR=$(mktemp -d /tmp/phone-pesq.XXXXXX)
  V="$SHARED/vectors/ilbc"
  "$BIN/phone-bench" voice-pesq "$PESQ_DIR" "$V/sp_en_us_m1.pcm" "$V/sp_de_f3.pcm" "$V/sp_es_f1.pcm" "$V/sp_it_m4.pcm"
  "$PESQ_PY" bench/phone-pesq.py "$PESQ_DIR"
  rm -rf "$PESQ_DIR"
else
  echo "skip PESQ figures: pip could not install pesq (numpy, cython, pesq==0.0.4)"
fi
PORT=${BENCH_SIP_PORT:-25060}
"$BIN/softphone" answer --auto --listen 127.0.0.1:$PORT --rtp-ports 50000-59999 --codec pcmu --run-for 30 >/dev/null 2>&1 &
ANSWER=$!
trap 'kill $ANSWER 2>/dev/null; wait $ANSWER 2>/dev/null' EXIT
sleep 1
"$BIN/phone-bench" calls "sip:bench@127.0.0.1:$PORT" 10
