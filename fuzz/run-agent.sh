#!/usr/bin/env bash
# Fuzz the agent's reading of server answers (UploadVerdict) with libFuzzer for SECONDS (default 30).
# Exits non-zero when the fuzzer finds a crash. Run from the repository root.
set -euo pipefail
SECONDS_TO_RUN="${1:-30}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/.build-fuzz-agent"
mkdir -p "$OUT/corpus"
swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name AgentFuzz \
  "$ROOT/Sources/OnboardAgent/UploadVerdict.swift" "$ROOT/fuzz/agent/UploadVerdictFuzzEntry.swift" -o "$OUT/fuzz-verdict"
# Seeds: a status byte (200 = 100 + 2*50, 201 ≈ 100 + 2*50, 422 = 100 + 2*161) and a count byte, then a body.
for f in "$ROOT"/fuzz/agent/seeds/*; do
  { printf '\x32\x04'; cat "$f"; } > "$OUT/corpus/200-$(basename "$f")"
  { printf '\xa1\x04'; cat "$f"; } > "$OUT/corpus/422-$(basename "$f")"
done
cd "$OUT"
SWIFT_BACKTRACE=enable=no ./fuzz-verdict -max_total_time="$SECONDS_TO_RUN" -max_len=2048 -timeout=10 \
  -print_final_stats=1 corpus
