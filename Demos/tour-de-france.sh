#!/usr/bin/env bash
# The main demo: monnemo-server on http://localhost:8080 with an embedded SQLite database under
# demo-data/, and three vehicles (two bicycles and a car) reporting live from the project's own
# routes in Sensors/traces. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-demo-data}
PORT=${PORT:-8080}
OSMAND_PORT=${OSMAND_PORT:-5055}
BIN=${BIN:-$(swift build -c release --show-bin-path)/monnemo-server}
mkdir -p "$DATA/tokens" "$DATA/demo-pictures"

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping the demo…"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

# Pictures "of the surroundings": generated test images (no camera here), made once.
if [ -z "$(ls "$DATA/demo-pictures" 2>/dev/null)" ] && command -v ffmpeg >/dev/null; then
  ffmpeg -v error -f lavfi -i "testsrc2=size=640x480:rate=1" -frames:v 12 -q:v 5 "$DATA/demo-pictures/pic-%02d.jpg"
fi

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

seed=1
for id in bike-1 bike-2 car; do
  python3 Demos/replay-vehicle.py --server "http://127.0.0.1:$PORT" --token "$(cat "$DATA/tokens/$id")" \
    --gpx "Sensors/traces/tdf-$id.gpx" --name "$id" --pictures "$DATA/demo-pictures" --seed $seed &
  pids+=($!)
  seed=$((seed + 1))
done

echo
echo "  Nautilus demo running: open http://localhost:$PORT/  (Ctrl-C stops everything)"
echo
wait "${pids[0]}" || true
