#!/usr/bin/env bash
# The loopback demo (what `make demo` runs where network namespaces are not available: not root, or
# a container without them): monnemo-server on http://localhost:8080 with an embedded SQLite database under
# demo-data/, and three vehicles (two bicycles and a car) reporting live from the project's own
# routes in Sensors/traces, each driven by a real `monnemo-agent` process (GPX replay at real time,
# synthetic climate every 10 s, a test-pattern camera picture every 30 s, its own outbox under
# demo-data/agents/). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-demo-data}
PORT=${PORT:-8080}
OSMAND_PORT=${OSMAND_PORT:-5055}
BIN_DIR=${BIN_DIR:-$(swift build -c release --show-bin-path)}
BIN=${BIN:-$BIN_DIR/monnemo-server}
AGENT=${AGENT:-$BIN_DIR/monnemo-agent}
mkdir -p "$DATA/tokens" "$DATA/agents"

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping the demo…"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

for v in bike-1:"Bicycle 1" bike-2:"Bicycle 2" car:"Car"; do
  id=${v%%:*}; name=${v#*:}
  if [ ! -s "$DATA/tokens/$id" ]; then
    "$BIN" vehicle add "$id" --name "$name" --data "$DATA" | tail -n 1 > "$DATA/tokens/$id"
  fi
done

"$BIN" serve --data "$DATA" --http-port "$PORT" --osmand-port "$OSMAND_PORT" --web-dir Web &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "monnemo-server did not start"; exit 1; }

for id in bike-1 bike-2 car; do
  "$AGENT" run --server "http://127.0.0.1:$PORT" --token "$(cat "$DATA/tokens/$id")" --data "$DATA/agents/$id" \
    --gpx "Sensors/traces/tdf-$id.gpx" --loop \
    --climate synthetic --climate-interval 10 --camera test --picture-interval 30 \
    2>>"$DATA/agents/$id.log" &
  pids+=($!)
done
echo "  agents: logs in $DATA/agents/*.log, outbox: $AGENT status --data $DATA/agents/ID"

echo
echo "  Nautilus demo running (loopback): open http://localhost:$PORT/  (Ctrl-C stops everything)"
echo
if [ -n "${DEMO_DURATION:-}" ]; then
  sleep "$DEMO_DURATION"      # tests: run a while, then stop as Ctrl-C would
  exit 0
fi
wait "${pids[0]}" || true
