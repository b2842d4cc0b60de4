#!/usr/bin/env bash
# iLBC benchmarks: encoder speed, decoder speed against ffmpeg's iLBC decoder on the same
# 10-minute bitstream, and PESQ of our encoder+decoder next to the reference's.
# Run from the repository root. Needs ffmpeg, python3 with `pesq` and `numpy`.
# The reference figures are the vectors README's: PESQ 3.159 (20 ms) and 3.010 (30 ms).
set -euo pipefail
root="$(pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

source "$(dirname "$0")/../scripts/shared-folder.sh"
shared="$SHARED"
vectors="$shared/vectors/ilbc"
[ -d "$vectors" ] || { echo "bench-ilbc: shared/vectors/ilbc not found (set NAUTILUS_SHARED)" >&2; exit 1; }

swift build -c release --product ilbc >&2
ilbc="$(swift build -c release --show-bin-path)/ilbc"

# 10 minutes of speech: the shared speech inputs, repeated.
seconds=600
bytes=$((seconds * 16000))
: > "$work/long.pcm"
while [ "$(stat -c %s "$work/long.pcm")" -lt "$bytes" ]; do
    cat "$vectors"/sp_*[a-z0-9].pcm >> "$work/long.pcm"
done
head -c "$bytes" "$work/long.pcm" > "$work/input.pcm"

# CPU seconds (user + system) of a command, median of 3 runs (getrusage: microseconds).
cpu() {
    python3 - "$@" <<'PY'
import resource, subprocess, sys
runs = []
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    runs.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
print(f"{sorted(runs)[1]:.4f}")
PY
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

for mode in 20 30; do
    t=$(cpu "$ilbc" encode --quiet --mode "$mode" "$work/input.pcm" "$work/long.$mode.lbc")
    "$ilbc" encode --quiet --mode "$mode" "$work/input.pcm" "$work/long.$mode.lbc"
    echo "bench: ilbc_encode_speed_${mode}ms $(ratio $seconds "$t") x_realtime target >= 300"
done

for mode in 20 30; do
    ours=$(cpu "$ilbc" decode --quiet --no-enhancer "$work/long.$mode.lbc" "$work/ours.pcm")
    ffmpeg=$(cpu ffmpeg -hide_banner -loglevel error -y -i "$work/long.$mode.lbc" -f s16le -acodec pcm_s16le "$work/ffmpeg.pcm")
    enhanced=$(cpu "$ilbc" decode --quiet "$work/long.$mode.lbc" "$work/ours.pcm")
    echo "bench: ilbc_decode_speed_${mode}ms_vs_ffmpeg $(ratio "$ffmpeg" "$ours") ratio target >= 1.0"
    echo "bench: ilbc_decode_speed_${mode}ms_enhancer_vs_ffmpeg $(ratio "$ffmpeg" "$enhanced") ratio target >= 1.0"
    # Targets: the reference C decoder's speed on this machine type (vectors README); its
    # 20 ms no-enhancer figure is slowed by a bug, so the enhancer-on figure stands in.
    plain_target=$([ "$mode" = 20 ] && echo 863 || echo 1540)
    enhanced_target=$([ "$mode" = 20 ] && echo 863 || echo 992)
    echo "bench: ilbc_decode_speed_${mode}ms $(ratio $seconds "$ours") x_realtime target >= $plain_target"
    echo "bench: ilbc_decode_speed_${mode}ms_enhancer $(ratio $seconds "$enhanced") x_realtime target >= $enhanced_target"
done

# PESQ of our encoder and decoder on the shared speech, next to the reference's means.
for input in "$vectors"/sp_*[a-z0-9].pcm; do
    name="$(basename "$input" .pcm)"
    for mode in 20 30; do
        "$ilbc" encode --quiet --mode "$mode" "$input" "$work/$name.$mode.lbc"
        "$ilbc" decode --quiet "$work/$name.$mode.lbc" "$work/$name.$mode.ours.pcm"
    done
done
python3 "$root/Tests/ILBCTests/pesq_check.py" "$work" "$vectors" > "$work/pesq.jsonl" || {
    echo "bench-ilbc: PESQ skipped: $(cat "$work/pesq.jsonl")" >&2
    exit 0
}
python3 - "$work/pesq.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
for mode, reference in ((20, 3.159), (30, 3.010)):
    sel = [r for r in rows if r["mode"] == mode]
    ours = sum(r["ours"] for r in sel) / len(sel)
    ff_ours = sum(r["ffmpeg_ours"] for r in sel) / len(sel)
    ff_ref = sum(r["ffmpeg_ref"] for r in sel) / len(sel)
    print(f"bench: ilbc_pesq_{mode}ms {ours:.3f} mos target >= {reference - 0.05:.3f}")
    print(f"bench: ilbc_pesq_{mode}ms_minus_reference {ours - reference:+.3f} mos target >= -0.05")
    print(f"bench: ilbc_pesq_{mode}ms_ffmpeg_decoder {ff_ours:.3f} mos target >= {ff_ref - 0.05:.3f}")
PY
