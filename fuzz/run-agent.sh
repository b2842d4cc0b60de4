#!/usr/bin/env bash
# Fuzz the agent's reading of server answers with libFuzzer for SECONDS each (default 30): what an answer
# means (UploadVerdict), then the HTTP/1.1 response parser of its own client (HTTPResponseParser), then
# the mobile router's SONAR answers it collects handovers from (SonarAnswer, with the Telemetry rules).
# Exits non-zero when a build fails or a fuzzer finds a crash. Run from the repository root.
set -euo pipefail
SECONDS_TO_RUN="${1:-30}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/.build-fuzz-agent"
mkdir -p "$OUT/corpus" "$OUT/corpus-http" "$OUT/corpus-sonar"
# No stale binary may survive a failed build (set -e stops the script at the failing swiftc).
rm -f "$OUT/fuzz-verdict" "$OUT/fuzz-http" "$OUT/fuzz-sonar"
swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name AgentHTTPFuzz \
  "$ROOT/Sources/HTTPTransport/HTTPResponseParser.swift" "$ROOT/Sources/HTTPTransport/HTTPResponse.swift" \
  "$ROOT/Sources/HTTPTransport/HTTPResponseParseError.swift" "$ROOT/fuzz/agent/HTTPResponseParserFuzzEntry.swift" \
  -o "$OUT/fuzz-http"
# One module: the Telemetry and Timekeeping imports go, those types are compiled alongside.
rm -rf "$OUT/sonar-src"; mkdir -p "$OUT/sonar-src"
for f in "$ROOT"/Sources/Telemetry/*.swift; do sed '/^import Timekeeping$/d' "$f" > "$OUT/sonar-src/$(basename "$f")"; done
sed '/^import Telemetry$/d' "$ROOT/Sources/OnboardAgent/SonarAnswer.swift" > "$OUT/sonar-src/SonarAnswer.swift"
# The verdict reads answers with Telemetry's JSONObjectReader: compiled with the same sources.
rm -rf "$OUT/verdict-src"; cp -r "$OUT/sonar-src" "$OUT/verdict-src"; rm "$OUT/verdict-src/SonarAnswer.swift"
sed '/^import Telemetry$/d' "$ROOT/Sources/OnboardAgent/UploadVerdict.swift" > "$OUT/verdict-src/UploadVerdict.swift"
swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name AgentFuzz \
  "$OUT"/verdict-src/*.swift "$ROOT"/Sources/Timekeeping/*.swift "$ROOT/fuzz/agent/UploadVerdictFuzzEntry.swift" -o "$OUT/fuzz-verdict"
swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name AgentSonarFuzz \
  "$OUT"/sonar-src/*.swift "$ROOT"/Sources/Timekeeping/*.swift "$ROOT/fuzz/agent/SonarAnswerFuzzEntry.swift" -o "$OUT/fuzz-sonar"
cp "$ROOT"/fuzz/agent/sonar-seeds/* "$OUT/corpus-sonar/"
# Seeds: a status byte (200 = 100 + 2*50, 201 ≈ 100 + 2*50, 422 = 100 + 2*161) and a count byte, then a body.
for f in "$ROOT"/fuzz/agent/seeds/*; do
  { printf '\x32\x04'; cat "$f"; } > "$OUT/corpus/200-$(basename "$f")"
  { printf '\xa1\x04'; cat "$f"; } > "$OUT/corpus/422-$(basename "$f")"
done
# HTTP seeds: a first byte (the piece size for the split feed), then a response.
for f in "$ROOT"/fuzz/agent/http-seeds/*; do
  { printf '\x03'; cat "$f"; } > "$OUT/corpus-http/$(basename "$f")"
done
cd "$OUT"
SWIFT_BACKTRACE=enable=no ./fuzz-verdict -max_total_time="$SECONDS_TO_RUN" -max_len=2048 -timeout=10 \
  -print_final_stats=1 corpus
SWIFT_BACKTRACE=enable=no ./fuzz-http -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 \
  -print_final_stats=1 corpus-http
SWIFT_BACKTRACE=enable=no ./fuzz-sonar -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 \
  -print_final_stats=1 corpus-sonar
