#!/usr/bin/env bash
# bench-demo: the Tour de France scenario (Demos/tour/tour.py, release builds, as root in network
# namespaces) ridden twice over the same route, coverage and clock, side by side in one run:
# with multiple care-of addresses (the vehicles' hotspot and cellular uplinks both registered,
# flow policies moving media at once) and, as the baseline, with a single care-of address
# (`--single-coa`). Prints `bench:` lines from the two reports:
#   demo_handover_loss_mcoa_vs_single  probe packets lost per handover, MCoA / single CoA
#   demo_readings_lost                 readings sent by the agents and not stored (both runs)
#   demo_video_frames_delivered        frames shown per frame sent while the car had an uplink (worst viewer)
#   demo_call_pesq                     PESQ of the bicycle's first call (speech from the correspondent)
#   onboard_rss_bicycle_mb, onboard_pages_bicycle_mb, onboard_rss_agent_mb, onboard_cpu_bicycle   one bicycle's onboard stack (MCoA run)
#   DEMO_BENCH_SECONDS (default 120) riding time per run, DEMO_BENCH_SPEED (default 5) replay speed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
SECS="${DEMO_BENCH_SECONDS:-120}"
SPEED="${DEMO_BENCH_SPEED:-5}"
[ "$(id -u)" = 0 ] || { echo "bench-demo: needs root (network namespaces)" >&2; exit 1; }
for p in monnemo-server monnemo-agent nemo xcast6 softphone; do swift build -c release --product "$p" >/dev/null; done
BIN="$(swift build -c release --show-bin-path)"
TMP="$(mktemp -d /tmp/bench-demo.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
PY=python3
[ -x "$ROOT/.venv/bin/python3" ] && PY="$ROOT/.venv/bin/python3"
for mode in mcoa single; do
  extra=()
  [ "$mode" = single ] && extra=(--single-coa)
  echo "bench-demo: riding $SECS s at ${SPEED}x ($mode)…"
  "$PY" Demos/tour/tour.py --bin-dir "$BIN" --prefix "bd$$" --data "$TMP/$mode" --duration "$SECS" --speed "$SPEED" \
    --port 0 --video-port 0 "${extra[@]}" > "$TMP/$mode.out" 2>&1 || { tail -40 "$TMP/$mode.out"; exit 1; }
  sed -n '/Tour de France report/,$p' "$TMP/$mode.out"
done
"$PY" - "$TMP/mcoa/report.json" "$TMP/single/report.json" <<'PY'
import json, sys
m, s = (json.load(open(p)) for p in sys.argv[1:3])
lm, ls = m['totals']['probes_lost_per_handover'] or 0.0, s['totals']['probes_lost_per_handover'] or 0.0
hm, hs = m['totals']['handovers'], s['totals']['handovers']
ratio = lm / ls if ls else (0.0 if lm == 0 else 1.0)
print(f"bench: demo_handover_loss_mcoa_vs_single {ratio:.3f} ratio target <= 0.1 "
      f"(probe packets lost per handover: MCoA {lm:.2f} over {hm} handovers, single CoA {ls:.2f} over {hs}; 2006: 0.1-0.33)")
lost = m['totals']['readings_lost'] + s['totals']['readings_lost']
sent = m['totals']['readings_sent'] + s['totals']['readings_sent']
print(f"bench: demo_readings_lost {lost} readings target == 0 (of {sent} sent in both runs)")
ratios = [r for r in m['video']['delivered_ratio_with_uplink'].values() if r is not None]
print(f"bench: demo_video_frames_delivered {min(ratios) if ratios else 0:.4f} ratio target >= 0.99 "
      f"(worst of {len(ratios)} viewers; {m['video']['sent']} frames sent, {m['video']['sent_during_outage']} while the car had no uplink)")
pesq = m['call']['pesq'].get('call-1-down') if isinstance(m['call']['pesq'], dict) else None
if isinstance(pesq, float):
    print(f"bench: demo_call_pesq {pesq:.2f} MOS-LQO (iLBC, the first call's speech through the handovers and outages)")
else:
    print(f"bench-demo: no PESQ: {m['call']['pesq_note'] or pesq}")
f = m['footprint']
print(f"bench: onboard_rss_bicycle_mb {f['bicycle']['rss_peak_mb']} MB target <= 64 (peak of nemo mr + monnemo-agent + softphone together)")
print(f"bench: onboard_pages_bicycle_mb {f['bicycle'].get('distinct_pages_peak_mb')} MB (the same three's resident pages, each physical page counted once: what the box holds)")
print(f"bench: onboard_rss_agent_mb {f['agent']['rss_peak_mb']} MB target <= 20")
print(f"bench: onboard_cpu_bicycle {f['bicycle']['cpu_percent']} % of a core (at {m['speed']}x replay: the agent's part runs {m['speed']} times faster than riding)")
print(f"bench: onboard_rss_car_mb {f['car']['rss_peak_mb']} MB (nemo mr + monnemo-agent + xcast6 send)")
PY
