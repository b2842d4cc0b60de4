#!/usr/bin/env bash
# Builds the Xcast fuzzer (header parser, branching decision, control messages, RTP header and RTP/JPEG depacketizer) with libFuzzer + ASan
# and runs it for SECONDS (default 30). Exits non-zero when the build fails or the fuzzer finds a crash.
# Run from anywhere.
set -euo pipefail
SECONDS_TO_RUN="${1:-30}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="$ROOT/fuzz/xcast/build"
mkdir -p "$OUT/corpus"
rm -f "$OUT/fuzz-xcast"
# NIOCore, Timekeeping and what they pull in come from an ordinary SwiftPM build; only Xcast's sources get the instrumentation.
swift build --target Xcast >/dev/null || { echo "run-xcast.sh: swift build --target Xcast failed" >&2; exit 1; }
BIN="$(swift build --show-bin-path)"
OBJS=()
for dir in "$BIN"/*.build; do
  case "$(basename "$dir")" in
    NIOCore.build|NIOConcurrencyHelpers.build|_NIODataStructures.build|_NIOBase64.build|CNIOAtomics.build|CNIODarwin.build|CNIOLinux.build|CNIOWindows.build|CNIOWASI.build|CNIOPosix.build|Atomics.build|_AtomicsShims.build|DequeModule.build|InternalCollectionsUtilities.build|ContainersPreview.build|BasicContainers.build|Timekeeping.build) ;;
    *) continue ;;
  esac
  while IFS= read -r -d '' o; do OBJS+=("$o"); done < <(find "$dir" -name '*.o' -print0)
done
MAPS=()
while IFS= read -r -d '' m; do MAPS+=(-Xcc "-fmodule-map-file=$m"); done < <(find "$BIN" .build/checkouts -name module.modulemap -not -path "*/include/module.modulemap" -print0; find .build/checkouts -path "*/include/module.modulemap" -print0)
# RTPJPEG's sources go into the one instrumented module together with RTP's, so `import RTP` is cut from copies of them.
rm -rf "$OUT/src"; mkdir -p "$OUT/src"
for f in Sources/RTPJPEG/*.swift; do sed '/^import RTP$/d' "$f" > "$OUT/src/RTPJPEG-$(basename "$f")"; done
SRCS=(Sources/Xcast/*.swift Sources/RTP/*.swift "$OUT"/src/*.swift fuzz/xcast/main.swift)
if ! swiftc -sanitize=fuzzer,address -parse-as-library -module-name XcastFuzz -I "$BIN/Modules" -I "$BIN" \
  "${MAPS[@]}" "${SRCS[@]}" "${OBJS[@]}" -lstdc++ -o "$OUT/fuzz-xcast" >"$OUT/build.log" 2>&1; then
  grep -v 'warning:' "$OUT/build.log" >&2 || true
  echo "run-xcast.sh: the fuzzer did not build (full log: $OUT/build.log)" >&2
  rm -f "$OUT/fuzz-xcast"; exit 1
fi
# Seeds: the docs/xcast.md example (two destinations) with an RTP header, and a join.
printf '%s' 58360100100000003c07fd001002fd9a63617234320000000000000000000000c00000000000000020010db800010000000000000000001020010db800020000000000000000002011005e04138c138e801a0001000000000000000700 | xxd -r -p > "$OUT/corpus/example.bin"
# an RTP/JPEG frame of one packet: [length][RTP header][JPEG header, type 1, Q 50, 16x16][scan]
printf '%s' 0019809a00010000000000000007000000000132020200ff00ffd9 | xxd -r -p > "$OUT/corpus/rtpjpeg.bin"
printf '%s' 5836010100000000056361723432087464662d3230323620010db80000000000000000000000201770001e | xxd -r -p > "$OUT/corpus/join.bin"
SWIFT_BACKTRACE=enable=no "$OUT/fuzz-xcast" -max_total_time="$SECONDS_TO_RUN" -max_len=4096 "$OUT/corpus"
