#!/usr/bin/env bash
# make bench-agent: the onboard agent's footprint and catch-up, against a local release monnemo-server.
#   agent_peak_rss      peak resident memory over 10 minutes of replay at 10x (GPS 1 Hz, climate every
#                       10 s, a 640x480 test-pattern picture every 30 s, uploads to a live server)
#   onboard_rss_agent_mb  the same peak, against the agent's share of the 2006 bicycles' 64 MB onboard
#                       budget (mobile router + agent + softphone)
#   agent_cpu_extrapolated_from_10x  CPU the agent used for those 10 minutes of readings (replayed at
#                       10x), as a share of one core over 10 real minutes: an estimate, not a measurement
#   agent_cpu_realtime  CPU measured over 60 s of riding at real time (1 fix/s, climate every 10 s,
#                       a picture every 30 s), as a share of one core
#   agent_catchup       time to drain 1 hour of offline readings (3600 fixes, 360 climate, 120 pictures)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh bc -- >/dev/null
swift build -c release --product monnemo-agent >&2
swift build -c release --product monnemo-server >&2
BIN=$(swift build -c release --show-bin-path)
WORK=$(mktemp -d /tmp/bench-agent.XXXXXX)
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

start_server() {
  rm -f "$WORK/ports"
  "$BIN/monnemo-server" serve --data "$WORK/server" --bind 127.0.0.1 --http-port 0 --osmand-port=-1 \
    --port-file "$WORK/ports" --log-level warning >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    [ -s "$WORK/ports" ] && grep -q http "$WORK/ports" && break
    sleep 0.05
  done
  URL="http://127.0.0.1:$(awk '$1=="http"{print $2}' "$WORK/ports")"
}

# Watches a process until it exits; prints "peak_rss_kb cpu_seconds peak_private_kb" from /proc
# (private: pages only this process holds, i.e. without the shared library text it maps).
watch_process() {
  local pid=$1 hwm=0 ticks=0 priv=0 hz
  hz=$(getconf CLK_TCK)
  while [ -e "/proc/$pid/status" ]; do
    local h t p
    h=$(awk '/VmHWM/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
    p=$(awk '/^Private_(Clean|Dirty):/{s += $2} END{print s + 0}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
    [ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
    [ -n "$t" ] && [ "$t" -gt "$ticks" ] && ticks=$t
    [ -n "$p" ] && [ "$p" -gt "$priv" ] && priv=$p
    sleep 0.2
  done
  echo "$hwm $(echo "scale=3; $ticks / $hz" | bc) $priv"
}

TOKEN=$("$BIN/monnemo-server" vehicle add bench --data "$WORK/server" | tail -n 1)
start_server

# 10 minutes of the bicycle route (600 fixes at 1 Hz).
python3 - "$WORK/ten-minutes.gpx" <<'PY'
import sys
src = open('Sensors/traces/tdf-bike-1.gpx').read().split('\n')
pts = [l for l in src if l.startswith('<trkpt')][:600]
head = [l for l in src if not l.startswith('<trkpt')]
i = head.index('</trkseg></trk>') if '</trkseg></trk>' in head else len(head) - 2
open(sys.argv[1], 'w').write('\n'.join(head[:i] + pts + head[i:]))
PY

"$BIN/monnemo-agent" run --server "$URL" --token "$TOKEN" --data "$WORK/agent-footprint" \
  --gpx "$WORK/ten-minutes.gpx" --speed 10 --climate synthetic --climate-interval 10 \
  --camera test --picture-interval 30 --picture-size 640x480 --exit-after-replay 2>"$WORK/footprint.log" &
AGENT_PID=$!
read -r RSS_KB CPU_S PRIVATE_KB < <(watch_process $AGENT_PID)
wait $AGENT_PID
BASE_KB=$( { /usr/bin/time -f "%M" "$BIN/monnemo-agent" --help >/dev/null; } 2>&1 | tail -n 1)
echo "bench: agent_peak_rss $(echo "scale=1; $RSS_KB / 1024" | bc) MB target < 40"
echo "bench: onboard_rss_agent_mb $(echo "scale=1; $RSS_KB / 1024" | bc) MB target <= 20"
echo "bench: agent_peak_private $(echo "scale=1; $PRIVATE_KB / 1024" | bc) MB target < 40"
echo "  (of the RSS, $(echo "scale=1; $BASE_KB / 1024" | bc) MB is already there for \`monnemo-agent --help\`: Swift runtime, Foundation, SQLite)" >&2
echo "bench: agent_cpu_extrapolated_from_10x $(echo "scale=3; 100 * $CPU_S / 600" | bc) percent_of_core target < 2"
echo "  (10 min of readings used $CPU_S s CPU; $(grep -c uploaded "$WORK/footprint.log") uploads)" >&2

# The same at real time, measured: 60 s of the route at 1x.
"$BIN/monnemo-agent" run --server "$URL" --token "$TOKEN" --data "$WORK/agent-realtime" \
  --gpx "$WORK/ten-minutes.gpx" --speed 1 --climate synthetic --climate-interval 10 \
  --camera test --picture-interval 30 --picture-size 640x480 2>"$WORK/realtime.log" &
AGENT_PID=$!
( sleep 60; kill -TERM $AGENT_PID 2>/dev/null ) &
STARTED=$(date +%s.%N)
read -r _ RT_CPU_S _ < <(watch_process $AGENT_PID)
ELAPSED=$(echo "$(date +%s.%N) - $STARTED" | bc)
wait $AGENT_PID || true
echo "bench: agent_cpu_realtime $(echo "scale=3; 100 * $RT_CPU_S / $ELAPSED" | bc) percent_of_core target < 2"
echo "  (measured: $RT_CPU_S s CPU in $ELAPSED s at real time)" >&2

# One hour offline: fill an outbox with the whole route while no server answers, then drain it.
"$BIN/monnemo-agent" run --server "http://127.0.0.1:9" --token "$TOKEN" --data "$WORK/agent-offline" \
  --gpx Sensors/traces/tdf-bike-1.gpx --speed 200 --climate synthetic --climate-interval 10 \
  --camera test --picture-interval 30 --picture-size 640x480 --retry-cap 60 2>"$WORK/offline.log" &
AGENT_PID=$!
for _ in $(seq 1 600); do
  fixes=$("$BIN/monnemo-agent" status --data "$WORK/agent-offline" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["fix"])' 2>/dev/null || echo 0)
  [ "$fixes" -ge 3600 ] && break
  sleep 0.5
done
kill -TERM $AGENT_PID; wait $AGENT_PID || true
"$BIN/monnemo-agent" status --data "$WORK/agent-offline" | head -1 >&2
START=$(date +%s.%N)
"$BIN/monnemo-agent" drain --server "$URL" --token "$TOKEN" --data "$WORK/agent-offline" --timeout 120 2>"$WORK/drain.log"
END=$(date +%s.%N)
"$BIN/monnemo-agent" status --data "$WORK/agent-offline" | head -1 >&2
echo "bench: agent_catchup $(echo "scale=2; ($END - $START) / 1" | bc) s target < 10"
