#!/usr/bin/env bash
# Builds the map server's input fuzzer (libFuzzer + AddressSanitizer) over the Telemetry sources and
# the OsmAnd parser, and runs it for SECONDS. Exits non-zero when the fuzzer finds a crash.
set -euo pipefail
seconds="${1:-30}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/.build-fuzz/server"
corpus="$build/corpus"
mkdir -p "$build" "$corpus"
# One module: the `import Telemetry` / `import Timekeeping` lines go, those types are compiled alongside.
rm -rf "$build/telemetry"; mkdir -p "$build/telemetry"
for f in OsmAndReport ReadQuery JPEGSanitizer; do
  sed '/^import Telemetry$/d' "$root/Sources/MapServer/$f.swift" > "$build/$f.swift"
done
for f in "$root"/Sources/Telemetry/*.swift; do
  sed '/^import Timekeeping$/d' "$f" > "$build/telemetry/$(basename "$f")"
done
# set -e: a failed build fails the script (no stale binary is fuzzed).
rm -f "$build/fuzz-server"
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name ServerFuzz \
  "$build"/telemetry/*.swift "$root"/Sources/Timekeeping/*.swift "$build/OsmAndReport.swift" "$build/ReadQuery.swift" "$build/JPEGSanitizer.swift" \
  "$root/fuzz/server/FuzzIngest.swift" -o "$build/fuzz-server"
printf '\x00{"records":[{"seq":41,"time":"2006-07-12T10:00:00.250Z","kind":"fix","lat":48.85,"lon":2.35,"alt":35,"speed":8.3,"track":271.5,"mode":3,"eph":4.2},{"seq":42,"time":"2006-07-12T10:00:05Z","kind":"climate","temperature":27.4,"humidity":48}]}' > "$corpus/batch"
printf '\x00{"records":[{"seq":7,"time":"2006-07-12T10:00:01.5Z","kind":"handover","from":"wlan0","to":"wwan0","from_tech":"wlan","to_tech":"cellular","cause":"uplink-lost","delay_ms":41.5,"outage_ms":0,"lost":3,"lat":48.1,"lon":-1.6},{"seq":8,"time":"2006-07-12T10:00:00Z","kind":"handover","to":"wlan0","cause":"startup"},{"seq":9,"time":"2006-07-12T10:00:09Z","kind":"handover","from":"wwan0","to":"sat0","from_tech":"cellular","to_tech":"satellite","cause":"preferred-uplink","delay_ms":3600000,"outage_ms":604800000,"lost":9007199254740992,"lat":-90,"lon":180}]}' > "$corpus/batch-handover"
printf '\x00{"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"handover","from":null,"to":"eth0.1_a-b","from_tech":"other","to_tech":"ethernet","cause":"startup","delay_ms":null,"lost":0}]}' > "$corpus/batch-handover-nulls"
printf '\x04\x03from=2006-07-12T10:00:00Z&limit=100' > "$corpus/query-handovers"
printf '\x01id=phone-1&lat=48.8566&lon=2.3522&timestamp=1152698400&speed=5.4&bearing=90&altitude=35&accuracy=4&batt=80' > "$corpus/query"
printf '\x02{"device_id":"phone-1","location":{"timestamp":"2006-07-12T10:00:00Z","coords":{"latitude":48.85,"longitude":2.35,"speed":2,"heading":90}}}' > "$corpus/json"
printf '\x032006-07-12T10:00:00.250+02:00' > "$corpus/time"
printf '\x04\x00from=2006-07-12T10:00:00Z&to=1152698400&limit=9223372036854775807&simplify=2.5' > "$corpus/query-track"
printf '\x04\x01kind=climate&limit=10&from=1e300' > "$corpus/query-readings"
printf '\x04\x02limit=0&to=2006-07-12T10:00:00.5-01:30' > "$corpus/query-pictures"
# A JPEG with an EXIF (APP1) segment and a comment around a minimal frame and scan.
printf '\x05\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xe1\x00\x0eExif\x00\x00GPS\x00\x00\x00\xff\xfe\x00\x05hi!\xff\xc0\x00\x0b\x08\x00\x01\x00\x01\x01\x01\x11\x00\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00\x12\xff\x00\x34\xff\xd0\x56\xff\xd9' > "$corpus/jpeg"
export SWIFT_BACKTRACE=enable=no
"$build/fuzz-server" "$corpus" -dict="$root/fuzz/server/server.dict" -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 \
  -artifact_prefix="$build/" -print_final_stats=1 2>&1 | tail -5
exit "${PIPESTATUS[0]}"
