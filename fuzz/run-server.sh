#!/usr/bin/env bash
# Builds the map server's input fuzzer (libFuzzer + AddressSanitizer) over the Telemetry sources and
# the OsmAnd parser, and runs it for SECONDS. Exits non-zero when the fuzzer finds a crash.
set -euo pipefail
seconds="${1:-30}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/.build-fuzz/server"
corpus="$build/corpus"
mkdir -p "$build" "$corpus"
# One module: the OsmAnd parser's `import Telemetry` goes, its types are compiled alongside.
sed '/^import Telemetry$/d' "$root/Sources/MapServer/OsmAndReport.swift" > "$build/OsmAndReport.swift"
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name ServerFuzz \
  "$root"/Sources/Telemetry/*.swift "$build/OsmAndReport.swift" "$root/fuzz/server/FuzzIngest.swift" \
  -o "$build/fuzz-server"
printf '\x00{"records":[{"seq":41,"time":"2006-07-12T10:00:00.250Z","kind":"fix","lat":48.85,"lon":2.35,"alt":35,"speed":8.3,"track":271.5,"mode":3,"eph":4.2},{"seq":42,"time":"2006-07-12T10:00:05Z","kind":"climate","temperature":27.4,"humidity":48}]}' > "$corpus/batch"
printf '\x01id=phone-1&lat=48.8566&lon=2.3522&timestamp=1152698400&speed=5.4&bearing=90&altitude=35&accuracy=4&batt=80' > "$corpus/query"
printf '\x02{"device_id":"phone-1","location":{"timestamp":"2006-07-12T10:00:00Z","coords":{"latitude":48.85,"longitude":2.35,"speed":2,"heading":90}}}' > "$corpus/json"
printf '\x032006-07-12T10:00:00.250+02:00' > "$corpus/time"
export SWIFT_BACKTRACE=enable=no
"$build/fuzz-server" "$corpus" -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 \
  -artifact_prefix="$build/" -print_final_stats=1 2>&1 | tail -5
exit "${PIPESTATUS[0]}"
