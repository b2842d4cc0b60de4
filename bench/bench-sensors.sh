#!/usr/bin/env bash
# Sensors benchmarks. Run from the repository root. Builds an optimised
# benchmark program from the Sensors sources, then prints `bench:` lines.
# The YUYV encoder is compared with ffmpeg's MJPEG encoder on the same frames.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/.build-bench-sensors"
mkdir -p "$OUT"

source "$ROOT/scripts/shared-folder.sh"

# One module: the Sensors sources' `import Timekeeping` lines go, Timekeeping is compiled alongside.
rm -rf "$OUT/src"; mkdir -p "$OUT/src"
while IFS= read -r f; do
  sed '/^import Timekeeping$/d' "$f" > "$OUT/src/$(echo "${f#"$ROOT/"}" | tr / _)"
done < <(find "$ROOT/Sensors" -name '*.swift' | sort)
swiftc -O -module-name Sensors -I "$ROOT/Sources/CGPS" -I "$ROOT/Sources/CV4L2" -I "$ROOT/Sources/CTurboJPEG" \
  "$OUT"/src/*.swift "$ROOT"/Sources/Timekeeping/*.swift "$ROOT/bench/sensors/main.swift" -o "$OUT/bench-sensors" 2> "$OUT/build.log" \
  || { cat "$OUT/build.log"; exit 1; }

RESULT="$("$OUT/bench-sensors" "$SHARED/traces/gps/bundg_zeus_9.log" "$OUT/frames.yuv")"
echo "$RESULT" | grep '^bench:'
OURS="$(echo "$RESULT" | awk '/^yuyv_fps/ {print $2}')"

if command -v ffmpeg > /dev/null; then
  START=$(date +%s.%N)
  ffmpeg -v error -stream_loop 4 -f rawvideo -pix_fmt yuyv422 -s 640x480 -i "$OUT/frames.yuv" -c:v mjpeg -q:v 4 -f null - 
  END=$(date +%s.%N)
  FFMPEG=$(echo "500 / ($END - $START)" | bc -l)
  printf 'bench: yuyv_to_jpeg_vs_ffmpeg_mjpeg %.2f ratio target >= 0.5 (ffmpeg %.1f fps, ours %.1f fps)\n' \
    "$(echo "$OURS / $FFMPEG" | bc -l)" "$FFMPEG" "$OURS"
fi
rm -f "$OUT/frames.yuv"
