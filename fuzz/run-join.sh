#!/usr/bin/env bash
# Builds the join-answer fuzzer (what `nemo mr --join` does with a Home Agent service's answer:
# JoinAnswer JSON → JoinSeal.open → MobileRouterFile → the vehicle keys and the checks before a run)
# with libFuzzer + ASan and runs it for SECONDS (default 30).
# Exits non-zero when the build fails or the fuzzer finds a crash. Run from the repo root.
set -euo pipefail
SECONDS_TO_RUN="${1:-30}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="$ROOT/fuzz/join/build"
mkdir -p "$OUT/corpus"
# Library dependencies (Mobility, Telemetry, Timekeeping, NIOCore, Crypto and what they pull in) come from an ordinary
# SwiftPM build; only the join's own sources are compiled with the fuzzer's instrumentation.
swift build --target MobilityLinux >/dev/null || { echo "run-join.sh: swift build --target MobilityLinux failed" >&2; exit 1; }
BIN="$(swift build --show-bin-path)"
OBJS=()
for dir in "$BIN"/*.build; do
  # Only what these sources link against: the package has many other targets whose objects would pull in
  # libraries this fuzzer does not link.
  case "$(basename "$dir")" in
    Mobility.build|Telemetry.build|Timekeeping.build|NIOCore.build|NIOConcurrencyHelpers.build|_NIODataStructures.build|_NIOBase64.build|CNIOAtomics.build|CNIODarwin.build|CNIOLinux.build|CNIOWindows.build|CNIOWASI.build|CNIOPosix.build|Atomics.build|_AtomicsShims.build|DequeModule.build|InternalCollectionsUtilities.build|ContainersPreview.build|BasicContainers.build|Crypto.build|CCryptoBoringSSL.build|CCryptoBoringSSLShims.build|CryptoBoringWrapper.build|CXKCP.build|CXKCPShims.build|SystemSupport.build) ;;
    *) continue ;;
  esac
  while IFS= read -r -d '' o; do OBJS+=("$o"); done < <(find "$dir" -name '*.o' -print0)
done
# C modules the Swift modules import: their module maps, generated or shipped.
MAPS=()
while IFS= read -r -d '' m; do MAPS+=(-Xcc "-fmodule-map-file=$m"); done < <(find "$BIN" .build/checkouts -name module.modulemap -not -path "*/include/module.modulemap" -print0; find .build/checkouts -path "*/include/module.modulemap" -print0)
# One module: the Joining and HTTPTransport imports go, those sources are compiled alongside.
rm -rf "$OUT/src"; mkdir -p "$OUT/src"
for f in Sources/Joining/*.swift Sources/HTTPTransport/HTTPClientError.swift Sources/HTTPTransport/HTTPResponseParseError.swift \
         Sources/MobilityLinux/Configuration.swift Sources/MobilityLinux/VehicleLocalKeys.swift Sources/MobilityLinux/JoinAnswerReader.swift \
         Sources/MobilityLinux/ServiceErrorAnswer.swift Sources/MobilityLinux/ServiceJoinError.swift; do
  sed '/^import Joining$/d; /^import HTTPTransport$/d' "$f" > "$OUT/src/$(basename "$f")"
done
# A failed build must fail this script: never fuzz a binary left over from an older tree.
rm -f "$OUT/fuzz-join"
if ! swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name JoinFuzz -I "$BIN/Modules" -I "$BIN" \
  "${MAPS[@]}" \
  "$OUT"/src/*.swift fuzz/join/main.swift "${OBJS[@]}" -lstdc++ -o "$OUT/fuzz-join" >"$OUT/build.log" 2>&1; then
  grep -v 'warning:' "$OUT/build.log" >&2 || true
  echo "run-join.sh: the fuzzer did not build (full log: $OUT/build.log)" >&2
  exit 1
fi
test -x "$OUT/fuzz-join" || { echo "run-join.sh: no fuzzer binary after the build" >&2; exit 1; }
# Seeds: a first byte (the mode, see fuzz/join/main.swift), then what that mode reads.
{ printf '\x01'; cat Demos/nemo/mr.json; } > "$OUT/corpus/sealed-mr.json"
{ printf '\x02'; cat Demos/nemo/mr.json; } > "$OUT/corpus/flipped-mr.json"
cp fuzz/join/seeds/* "$OUT/corpus/"
SWIFT_BACKTRACE=enable=no "$OUT/fuzz-join" -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 \
  -print_final_stats=1 "$OUT/corpus"
