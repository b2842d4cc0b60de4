#!/usr/bin/env bash
# bench-xcast: our relay against GStreamer's fan-out (multiudpsink, and tee + udpsink) as the
# baseline, in one run, on loopback: the same sender (`xcast6 send`, 720p30 test pattern MJPEG) and
# the same receivers (`xcast6 sink`, recvmmsg over N ports), only the forwarder swapped.
# N = 8, 32, 125 receivers. Prints `bench:` lines; figures are ratios against the baseline.
#   XCAST_BENCH_SECONDS (default 10) stream length per run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
SECS="${XCAST_BENCH_SECONDS:-10}"
command -v gst-launch-1.0 >/dev/null || { echo "bench-xcast: gst-launch-1.0 missing (make deps installs deps/apt-xcast.txt)" >&2; exit 1; }
swift build -c release --product xcast6 >/dev/null
XC="$(swift build -c release --show-bin-path)/xcast6"
TMP="$(mktemp -d /tmp/bench-xcast.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
TICKS=$(getconf CLK_TCK)
# malloc counter preloaded into the fan-out relay: allocations per datagram once its buffers are warm
cc -shared -fPIC -O2 -I bench/alloc-counter/include -o "$TMP/alloc.so" bench/alloc-counter/alloc_counter.c
# total, user and system CPU seconds of a process
cpu_seconds() { awk -v t="$TICKS" '{print ($14 + $15) / t, $14 / t, $15 / t}' "/proc/$1/stat"; }

# run FORWARDER N  → writes $TMP/FORWARDER-N.{sink.json,timing,cpu}
run() {
  local fwd="$1" n="$2" base=20000 r1=19000 r2=19002 in=19004
  local tag="$fwd-$n" sinkpid fpid spid sendargs=()
  rm -f "$TMP/$tag.sink.json" "$TMP/$tag.sink.json.ready"
  "$XC" sink --address :: --port $base --count "$n" --output "$TMP/$tag.sink.json" --idle 3 --duration $((SECS + 60)) &
  sinkpid=$!; PIDS+=("$sinkpid")
  for _ in $(seq 100); do [ -e "$TMP/$tag.sink.json.ready" ] && break; sleep 0.05; done
  case "$fwd" in
    xcast|xcast_r1nogso)
      echo "::/0 relay [::1]:$r2" > "$TMP/r1.table"; echo "::/0 direct" > "$TMP/r2.table"
      LD_PRELOAD="$TMP/alloc.so" "$XC" relay --listen "[::1]:$r2" --table "$TMP/r2.table" --allow-loopback 2>"$TMP/$tag.relay2.log" & fpid=$!; PIDS+=("$fpid")
      local r1gso=(); [ "$fwd" = xcast_r1nogso ] && r1gso=(--no-gso)
      "$XC" relay --listen "[::1]:$r1" --table "$TMP/r1.table" --allow-loopback "${r1gso[@]}" 2>"$TMP/$tag.relay1.log" & local f1=$!; PIDS+=("$f1")
      sendargs=(--relay "[::1]:$r1")
      for i in $(seq 0 $((n - 1))); do sendargs+=(--receiver "[::1]:$((base + 2 * i))"); done ;;
    multiudpsink)
      local cl; cl=$(for i in $(seq 0 $((n - 1))); do printf "localhost:%d," $((base + 2 * i)); done); cl=${cl%,}
      gst-launch-1.0 -q udpsrc address=::1 port=$in buffer-size=8388608 ! multiudpsink clients="$cl" sync=false async=false buffer-size=8388608 \
        >"$TMP/$tag.gst.log" 2>&1 & fpid=$!; PIDS+=("$fpid")
      sendargs=(--receiver "[::1]:$in") ;;
    tee)
      local branches=()
      for i in $(seq 0 $((n - 1))); do branches+=(t. ! queue ! udpsink host=::1 port=$((base + 2 * i)) sync=false async=false buffer-size=4194304); done
      gst-launch-1.0 -q udpsrc address=::1 port=$in buffer-size=8388608 ! tee name=t "${branches[@]}" >"$TMP/$tag.gst.log" 2>&1 & fpid=$!; PIDS+=("$fpid")
      sendargs=(--receiver "[::1]:$in") ;;
  esac
  sleep 1.5
  "$XC" send --camera test --size 1280x720 --fps 30 --duration "$SECS" --session bench --allow-loopback \
    --timing "$TMP/$tag.timing" "${sendargs[@]}" 2>"$TMP/$tag.send.log"
  for _ in $(seq 200); do kill -0 "$sinkpid" 2>/dev/null || break; sleep 0.05; done
  cpu_seconds "$fpid" > "$TMP/$tag.cpu"
  [ -n "${f1:-}" ] && cpu_seconds "$f1" > "$TMP/$tag.cpu1"
  kill -INT "$sinkpid" 2>/dev/null || true; wait "$sinkpid" 2>/dev/null || true
  kill -INT "$fpid" 2>/dev/null || true; [ -n "${f1:-}" ] && kill -INT "$f1" 2>/dev/null || true
  wait "$fpid" 2>/dev/null || true; [ -n "${f1:-}" ] && { wait "$f1" 2>/dev/null || true; }
  grep '^xcast6: sent' "$TMP/$tag.send.log" | awk '{print $5}' > "$TMP/$tag.sent"
}

# the sendmmsg packet-rate limit of this machine, measured now: 1400-octet datagrams to one sink
"$XC" sink --address ::1 --port 21000 --count 1 --output "$TMP/blast.json" --idle 2 --duration 30 & BS=$!; PIDS+=("$BS")
sleep 0.5
LIMIT=$("$XC" blast --to "[::1]:21000" --size 1400 --seconds 2 | awk '{print $10}')
kill -INT "$BS" 2>/dev/null || true; wait "$BS" 2>/dev/null || true

for n in 8 32 125; do
  run xcast "$n"
  run multiudpsink "$n"
  [ "$n" -le 32 ] && run tee "$n"
done
# the first relay (one copy to the fan-out relay per Xcast packet) without UDP GSO, for its line below
run xcast_r1nogso 125

python3 - "$TMP" "$LIMIT" "$SECS" <<'PY'
import json, os, sys
tmp, limit, secs = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def load(tag):
    j = json.load(open(os.path.join(tmp, tag + '.sink.json')))
    sent = int(open(os.path.join(tmp, tag + '.sent')).read().split()[0])
    cpu, user, system = (float(x) for x in open(os.path.join(tmp, tag + '.cpu')).read().split())
    delivered = sum(j['packets'])
    lost = sum(max(0, sent - u) for u in j['unique'])
    gaps = sum(1 for u in j['unique'] if u < sent)
    timing = {}
    for line in open(os.path.join(tmp, tag + '.timing')):
        ts, cap, snd = line.split()
        timing[ts] = float(cap)
    lat = sorted((t - timing[ts]) * 1000 for ts, t in j['marker_times'].items() if ts in timing)
    return dict(sent=sent, delivered=delivered, lost=lost, dups=sum(j['duplicates']), frames=j['frames'], cpu=cpu, user=user, system=system,
                receivers_short=gaps, lat=lat)
res = {}
for n in (8, 32, 125):
    for fwd in ('xcast', 'multiudpsink', 'tee', 'xcast_r1nogso'):
        if os.path.exists(os.path.join(tmp, f'{fwd}-{n}.sink.json')):
            r = load(f'{fwd}-{n}')
            res[(fwd, n)] = r
            per = r['cpu'] / max(r['delivered'], 1) * 1e6
            print(f"bench-xcast: {fwd:12s} N={n:3d}: sent {r['sent']} RTP packets, delivered {r['delivered']}, lost {r['lost']}, "
                  f"dups {r['dups']}, frames/receiver {min(r['frames'])}..{max(r['frames'])}, forwarder CPU {r['cpu']:.2f} s "
                  f"(user {r['user']:.2f}, system {r['system']:.2f}) = {per:.2f} s per million delivered")
            print(f"bench: xcast_{fwd}_cpu_per_mpkt_n{n} {per:.3f} s target info")
def per(fwd, n):
    r = res[(fwd, n)]
    return r['cpu'] / max(r['delivered'], 1)
ratio = per('xcast', 125) / max(per('multiudpsink', 125), 1e-12)
print(f"bench: xcast_relay_cpu_vs_gstreamer {ratio:.3f} ratio target <= 0.5")
for n in (8, 32):
    print(f"bench: xcast_relay_cpu_vs_gstreamer_n{n} {per('xcast', n) / max(per('multiudpsink', n), 1e-12):.3f} ratio target info")
    if ('tee', n) in res:
        print(f"bench: xcast_relay_cpu_vs_gst_tee_n{n} {per('xcast', n) / max(per('tee', n), 1e-12):.3f} ratio target info")
uratio = (res[('xcast', 125)]['user'] / max(res[('xcast', 125)]['delivered'], 1)) / max(res[('multiudpsink', 125)]['user'] / max(res[('multiudpsink', 125)]['delivered'], 1), 1e-12)
def first(fwd):
    r = res[(fwd, 125)]
    cpu1 = float(open(os.path.join(tmp, f'{fwd}-125.cpu1')).read().split()[0])
    return cpu1 / max(r['delivered'], 1)
print(f"bench: xcast_first_relay_cpu_per_mpkt_n125 {first('xcast') * 1e6:.3f} s target info")
print(f"bench: xcast_first_relay_gso_cpu_vs_no_gso {first('xcast') / max(first('xcast_r1nogso'), 1e-12):.3f} ratio target info")
print(f"bench: xcast_relay_user_cpu_vs_gstreamer {uratio:.3f} ratio target info")
print(f"bench: xcast_lost_packets {res[('xcast', 125)]['lost']} packets target == 0")
print(f"bench: gstreamer_lost_packets_n125 {res[('multiudpsink', 125)]['lost']} packets target info")
lat = res[('xcast', 125)]['lat']
p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else float('nan')
print(f"bench: xcast_latency_p99_two_relays {p99:.1f} ms target < 50")
import re
m = re.search(r'allocations: (\d+) over the (\d+) datagrams', open(os.path.join(tmp, 'xcast-125.relay2.log')).read())
if m:
    print(f"bench: xcast_relay_allocations_per_packet {int(m.group(1)) / max(int(m.group(2)), 1):.4f} allocations target < 0.01")
else:
    print("bench: xcast_relay_allocations_per_packet nan allocations target < 0.01")
print(f"bench: sendmmsg_packet_rate_limit {limit:.0f} packets/s target info")
rate = res[('xcast', 125)]['delivered'] / secs
print(f"bench: xcast_relay_rate_vs_sendmmsg_limit {rate / limit:.3f} ratio target info")
PY
