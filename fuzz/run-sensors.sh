#!/usr/bin/env bash
# Fuzz the NMEA replay parser with libFuzzer for SECONDS (default 30).
# Exits non-zero when the fuzzer finds a crash. Run from the repository root.
set -euo pipefail
SECONDS_TO_RUN="${1:-30}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/.build-fuzz-sensors"
mkdir -p "$OUT"

# One module: the `import Timekeeping` lines go, Timekeeping's sources are compiled alongside.
rm -rf "$OUT/src"; mkdir -p "$OUT/src"
for f in NMEA/NMEASentence NMEA/NMEAReport NMEA/NMEAFixAssembler GPS/GPSEpochCollector GPS/GPSFix; do
  sed '/^import Timekeeping$/d' "$ROOT/Sensors/$f.swift" > "$OUT/src/$(basename "$f").swift"
done
SOURCES=(
  "$OUT"/src/*.swift
  "$ROOT"/Sources/Timekeeping/*.swift
  "$ROOT/fuzz/sensors/NMEAFuzzEntry.swift"
)
# set -e: a failed build fails the script (no stale binary is fuzzed).
rm -f "$OUT/fuzz-nmea"
swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name SensorsFuzz \
  "${SOURCES[@]}" -o "$OUT/fuzz-nmea"

# Seed corpus: the shared receiver logs, one file per sentence kind, plus the logs whole.
source "$ROOT/scripts/shared-folder.sh"
CORPUS="$OUT/corpus"
mkdir -p "$CORPUS"
if [ -n "$SHARED" ] && [ -d "$SHARED/traces/gps" ]; then
  for log in "$SHARED"/traces/gps/*.log; do
    head -c 4096 "$log" > "$CORPUS/$(basename "$log").head"
    grep -a '^[$!]' "$log" | awk -F, '!seen[$1]++' | head -40 | split -l 1 - "$CORPUS/$(basename "$log" .log)-" || true
  done
fi
cp "$ROOT"/fuzz/sensors/seeds/* "$CORPUS"/ 2>/dev/null || true

cd "$OUT"
SWIFT_BACKTRACE=enable=no ./fuzz-nmea -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 \
  -print_final_stats=1 "$CORPUS"
