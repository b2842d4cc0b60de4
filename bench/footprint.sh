#!/usr/bin/env bash
# footprint.sh: the onboard stack's resident memory, release builds linked two ways and measured in
# the same run, side by side: the Swift runtime and Foundation as shared libraries (dynamic, as
# `make build-demo` builds them) and linked into each binary (`--static-swift-stdlib`).
#
# Each variant rides the same scenario for FOOTPRINT_SECONDS (default 40) in the NEMO test network
# of Tests/MobilityLinuxTests/Fixtures/topology.sh (root, network namespaces): `nemo ha` and
# `nemo mr` with two uplinks; behind the mobile router `monnemo-agent run` replaying a Tour de
# France route at 5x into `monnemo-server` on the correspondent node, `softphone call` (iLBC,
# recorded) to `softphone answer --auto`, and `xcast6 send` (the car's camera) to an `xcast6
# relay`; uplink B is cut for 3 s in the middle (a handover). RSS is sampled every 0.2 s from
# /proc/PID/status, as Demos/tour/report.py does. Prints `bench:` lines:
#   footprint_bicycle_static_vs_dynamic_rss    peak RSS sum of nemo mr + monnemo-agent + softphone, static / dynamic
#   footprint_bicycle_pages_static_vs_dynamic  the same three's resident pages with each physical page
#                counted once (from /proc/PID/pagemap, every 2 s): what the box has to hold. A shared
#                library's pages are in the RSS of every process that maps them but in RAM once.
#   footprint_bicycle_rss_mb, footprint_bicycle_pages_mb, footprint_agent_rss_mb, footprint_car_rss_mb
#   footprint_NAME_rss_mb  each process's own peak (VmHWM)
# (dynamic figures against the targets, the static ones beside them) and, on stderr, each process's
# largest mappings by RSS at the end of both rides (smaps).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
SECS="${FOOTPRINT_SECONDS:-40}"
[ "$(id -u)" = 0 ] || { echo "footprint: needs root (network namespaces)" >&2; exit 1; }
[ -e /dev/net/tun ] || { echo "footprint: needs /dev/net/tun" >&2; exit 1; }
PRODUCTS=(nemo monnemo-agent softphone xcast6 monnemo-server)
FIX=Tests/MobilityLinuxTests/Fixtures
CN=2001:db8:c::5
P="fp$$"
TMP="$(mktemp -d /tmp/footprint.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash "$FIX/topology.sh" down "$P" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# The dynamic variant where the demo's is (.build), the static one in its own build folder
# (.build-static: the flag changes how the modules are compiled, so sharing one folder would
# rebuild most of the package at every switch).
for variant in dynamic static; do
  flags=()
  [ "$variant" = static ] && flags=(--static-swift-stdlib --scratch-path .build-static)
  for p in "${PRODUCTS[@]}"; do swift build -c release "${flags[@]}" --product "$p" >&2; done
  mkdir -p "$TMP/$variant"
  for p in "${PRODUCTS[@]}"; do cp "$(swift build -c release "${flags[@]}" --show-bin-path)/$p" "$TMP/$variant/"; done
done

# Resident pages of several processes together, each physical page counted once (pages the
# processes share, such as the Swift runtime's text when it is a shared library, count once): kB.
union_kb() {  # the demo report's counter (Demos/tour/report.py, Footprint._distinct_kb)
  python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import report; print(report.Footprint._distinct_kb(sys.argv[2:]))' \
    "$ROOT/Demos/tour" "$@"
}

in_ns() { local n="$1"; shift; ip netns exec "$P$n" "$@"; }
# Started in the background (`spawn NS … &`): the subshell becomes the program, so $! is its pid.
spawn() { local n="$1"; shift; exec ip netns exec "$P$n" "$@"; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || true; }

# Largest mappings of a process by RSS, grouped by file ([heap], [stack], anonymous as "anon").
mappings() {
  awk '/^[0-9a-f]+-[0-9a-f]+ / {name = (NF >= 6 ? $6 : "anon"); sub(".*/", "", name)}
       /^Rss:/ {rss[name] += $2}
       END {for (n in rss) if (rss[n] >= 256) printf "%6.1f MB  %s\n", rss[n] / 1024, n}' "/proc/$1/smaps" | sort -rn | head -12
}

ride() {  # ride VARIANT: prints "bicycle_kb car_kb agent_kb mr_hwm agent_hwm call_hwm send_hwm bicycle_pages_kb"
  local v="$1" bin="$TMP/$1" w="$TMP/run-$1"
  mkdir -p "$w"
  bash "$FIX/topology.sh" up "$P" >/dev/null
  spawn ha "$bin/nemo" ha --config "$FIX/ha.json" --control "$w/ha.sock" --state-dir "$w/ha-state" >"$w/ha.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do [ -S "$w/ha.sock" ] && break; sleep 0.1; done
  spawn mr "$bin/nemo" mr --config "$FIX/mr.json" --control "$w/mr.sock" >"$w/mr.log" 2>&1 &
  local mr=$!; PIDS+=($mr)
  for _ in $(seq 1 300); do
    [ "$(in_ns mr "$bin/nemo" status --control "$w/mr.sock" --json 2>/dev/null | grep -o '"registered"' | wc -l)" -ge 2 ] && break
    sleep 0.1
  done
  local token
  token=$("$bin/monnemo-server" vehicle add fp --data "$w/server" | tail -n 1)
  (umask 077; echo "$token" >"$w/token")
  spawn cn "$bin/monnemo-server" serve --data "$w/server" --bind :: --http-port 8080 --osmand-port=-1 \
    --log-level warning >"$w/server.log" 2>&1 &
  PIDS+=($!)
  spawn cn "$bin/softphone" answer --auto --listen "[$CN]:5070" --tone 330 --json >"$w/answer.jsonl" 2>&1 &
  PIDS+=($!)
  printf '::/0 direct\n' >"$w/relay.table"
  spawn cn "$bin/xcast6" relay --listen "[$CN]:5004" --table "$w/relay.table" >"$w/relay.log" 2>&1 &
  PIDS+=($!)
  spawn cn "$bin/xcast6" recv --listen "[$CN]:5006" >"$w/recv.log" 2>&1 &
  PIDS+=($!)
  sleep 1
  spawn h "$bin/monnemo-agent" run --server "http://[$CN]:8080" --token-file "$w/token" --data "$w/agent" \
    --gpx Sensors/traces/tdf-bike-1.gpx --speed 5 --loop --climate synthetic --climate-interval 10 \
    --camera test --picture-interval 30 --picture-size 320x240 --retry-cap 2 --request-timeout 5 >"$w/agent.log" 2>&1 &
  local agent=$!; PIDS+=($agent)
  spawn h "$bin/softphone" call "sip:cn@[$CN]:5070" --codec ilbc --rtp-ports 16384-16483 --duration "$((SECS + 10))" \
    --answer-timeout 20 --tone 440 --record "$w/call.wav" --json >"$w/call.jsonl" 2>&1 &
  local call=$!; PIDS+=($call)
  spawn h "$bin/xcast6" send --camera test --size 320x240 --fps 10 --quality 60 --relay "[$CN]:5004" \
    --session fp --receiver "[$CN]:5006" >"$w/send.log" 2>&1 &
  local send=$!; PIDS+=($send)
  local bike=0 car=0 ag=0 hwm_mr=0 hwm_agent=0 hwm_call=0 hwm_send=0 end=$((SECONDS + SECS)) cut=0 ubike=0 next_u=0
  while [ $SECONDS -lt $end ]; do
    local r_mr r_agent r_call r_send
    r_mr=$(status_kb $mr VmRSS); r_agent=$(status_kb $agent VmRSS); r_call=$(status_kb $call VmRSS); r_send=$(status_kb $send VmRSS)
    local b=$(( ${r_mr:-0} + ${r_agent:-0} + ${r_call:-0} )) c=$(( ${r_mr:-0} + ${r_agent:-0} + ${r_send:-0} ))
    [ $b -gt $bike ] && bike=$b; [ $c -gt $car ] && car=$c
    [ "${r_agent:-0}" -gt $ag ] && ag=${r_agent:-0}
    local h
    h=$(status_kb $mr VmHWM); [ "${h:-0}" -gt $hwm_mr ] && hwm_mr=$h
    h=$(status_kb $agent VmHWM); [ "${h:-0}" -gt $hwm_agent ] && hwm_agent=$h
    h=$(status_kb $call VmHWM); [ "${h:-0}" -gt $hwm_call ] && hwm_call=$h
    h=$(status_kb $send VmHWM); [ "${h:-0}" -gt $hwm_send ] && hwm_send=$h
    if [ $SECONDS -ge $next_u ]; then   # every 2 s: the three processes' pages, shared ones once
      local u; u=$(union_kb $mr $agent $call); [ "${u:-0}" -gt $ubike ] && ubike=$u
      next_u=$((SECONDS + 2))
    fi
    if [ $cut = 0 ] && [ $SECONDS -ge $((end - SECS / 2)) ]; then   # the handover: uplink B cut for 3 s
      ip -n "${P}mr" link set wb down; (sleep 3; ip -n "${P}mr" link set wb up) & cut=1
    fi
    sleep 0.2
  done
  for x in "nemo-mr $mr" "monnemo-agent $agent" "softphone-call $call" "xcast6-send $send"; do
    set -- $x
    echo "footprint: $1 ($v), largest mappings by RSS at the end of the ride:" >&2
    mappings "$2" >&2 || true
  done
  grep -q '"incoming"\|"answered"\|"established"' "$w/call.jsonl" "$w/answer.jsonl" 2>/dev/null ||
    echo "footprint: warning: the $v call did not connect (see softphone's events)" >&2
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
  bash "$FIX/topology.sh" down "$P" >/dev/null 2>&1 || true
  echo "$bike $car $ag $hwm_mr $hwm_agent $hwm_call $hwm_send $ubike"
}

echo "footprint: riding $SECS s with the dynamic binaries…" >&2
ride dynamic >"$TMP/dynamic.txt"
read -r D_BIKE D_CAR D_AGENT D_MR D_AGH D_CALL D_SEND D_UBIKE <"$TMP/dynamic.txt"
echo "footprint: riding $SECS s with the static binaries…" >&2
ride static >"$TMP/static.txt"
read -r S_BIKE S_CAR S_AGENT S_MR S_AGH S_CALL S_SEND S_UBIKE <"$TMP/static.txt"

mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
echo "bench: footprint_bicycle_static_vs_dynamic_rss $(ratio "$S_BIKE" "$D_BIKE") ratio target < 1 (peak RSS sum of nemo mr + monnemo-agent + softphone: static $(mb "$S_BIKE") MB, dynamic $(mb "$D_BIKE") MB)"
echo "bench: footprint_bicycle_pages_static_vs_dynamic $(ratio "$S_UBIKE" "$D_UBIKE") ratio target < 1 (the same three's resident pages, each counted once: static $(mb "$S_UBIKE") MB, dynamic $(mb "$D_UBIKE") MB)"
echo "bench: footprint_bicycle_rss_mb $(mb "$D_BIKE") MB target <= 64 (dynamic, as the demo builds them; static $(mb "$S_BIKE") MB)"
echo "bench: footprint_bicycle_pages_mb $(mb "$D_UBIKE") MB target <= 64 (dynamic, each page counted once; static $(mb "$S_UBIKE") MB)"
echo "bench: footprint_agent_rss_mb $(mb "$D_AGENT") MB target <= 20 (dynamic; static $(mb "$S_AGENT") MB)"
echo "bench: footprint_car_rss_mb $(mb "$D_CAR") MB target > 0 (nemo mr + monnemo-agent + xcast6 send, dynamic; static $(mb "$S_CAR") MB)"
echo "bench: footprint_nemo_mr_rss_mb $(mb "$D_MR") MB target > 0 (VmHWM, dynamic; static $(mb "$S_MR") MB)"
echo "bench: footprint_monnemo_agent_rss_mb $(mb "$D_AGH") MB target <= 20 (VmHWM, dynamic; static $(mb "$S_AGH") MB)"
echo "bench: footprint_softphone_call_rss_mb $(mb "$D_CALL") MB target > 0 (VmHWM, dynamic; static $(mb "$S_CALL") MB)"
echo "bench: footprint_xcast6_send_rss_mb $(mb "$D_SEND") MB target > 0 (VmHWM, dynamic; static $(mb "$S_SEND") MB)"
