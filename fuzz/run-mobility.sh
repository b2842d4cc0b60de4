#!/usr/bin/env bash
# Builds the Mobility fuzzer (parsers, and the MR and HA state machines driven by fuzzed
# messages) with libFuzzer + ASan and runs it for SECONDS (default 30).
# Exits non-zero when the build fails or the fuzzer finds a crash. Run from the repo root.
set -euo pipefail
SECONDS_TO_RUN="${1:-30}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="$ROOT/fuzz/mobility/build"
mkdir -p "$OUT/corpus"
# Library dependencies (Timekeeping, NIOCore, Crypto and what they pull in) come from an ordinary SwiftPM build;
# only our own sources are compiled with the fuzzer's instrumentation.
swift build --target Mobility >/dev/null || { echo "run-mobility.sh: swift build --target Mobility failed" >&2; exit 1; }
BIN="$(swift build --show-bin-path)"
OBJS=()
for dir in "$BIN"/*.build; do
  # Only what Mobility links against (Timekeeping, NIOCore, Crypto and their own dependencies): the package has
  # many other targets whose objects would pull in libraries this fuzzer does not link.
  case "$(basename "$dir")" in
    Timekeeping.build|NIOCore.build|NIOConcurrencyHelpers.build|_NIODataStructures.build|_NIOBase64.build|CNIOAtomics.build|CNIODarwin.build|CNIOLinux.build|CNIOWindows.build|CNIOWASI.build|CNIOPosix.build|Atomics.build|_AtomicsShims.build|DequeModule.build|InternalCollectionsUtilities.build|ContainersPreview.build|BasicContainers.build|Crypto.build|CCryptoBoringSSL.build|CCryptoBoringSSLShims.build|CryptoBoringWrapper.build|CXKCP.build|CXKCPShims.build|SystemSupport.build) ;;
    *) continue ;;
  esac
  while IFS= read -r -d '' o; do OBJS+=("$o"); done < <(find "$dir" -name '*.o' -print0)
done
# C modules the Swift modules import: their module maps, generated or shipped.
MAPS=()
while IFS= read -r -d '' m; do MAPS+=(-Xcc "-fmodule-map-file=$m"); done < <(find "$BIN" .build/checkouts -name module.modulemap -not -path "*/include/module.modulemap" -print0; find .build/checkouts -path "*/include/module.modulemap" -print0)
SRCS=(Sources/Mobility/*.swift fuzz/mobility/main.swift)
# A failed build must fail this script: never fuzz a binary left over from an older tree.
rm -f "$OUT/fuzz-mobility"
if ! swiftc -sanitize=fuzzer,address -parse-as-library -module-name MobilityFuzz -I "$BIN/Modules" -I "$BIN" \
  "${MAPS[@]}" \
  "${SRCS[@]}" "${OBJS[@]}" -lstdc++ -o "$OUT/fuzz-mobility" >"$OUT/build.log" 2>&1; then
  grep -v 'warning:' "$OUT/build.log" >&2 || true
  echo "run-mobility.sh: the fuzzer did not build (full log: $OUT/build.log)" >&2
  exit 1
fi
test -x "$OUT/fuzz-mobility" || { echo "run-mobility.sh: no fuzzer binary after the build" >&2; exit 1; }
# Seed with the spec's worked examples.
printf '%s' 3b0605006d520007c44000960612004020010db8aaaa00010000000000000000010023140001000120010db8000100000000000000000100 | xxd -r -p > "$OUT/corpus/a.bin"
printf '%s' 3b0a050013eb0009c40000960104000000002314000100012001 | xxd -r -p > "$OUT/corpus/c.bin"
# State-machine seeds: op 1 (a BA re-signed with the outstanding sequence and timestamp), op 3
# (a BU re-signed with a fresh timestamp), op 4 (clock), op 0 (a forged BA with status 146).
BA=3b0206000000000000640096230400010001010400000000
printf '%s' "610018${BA}0400020100a10018${BA}" | xxd -r -p > "$OUT/corpus/sm-ba.bin"
printf '%s' "230038"3b0605006d520007c44000960612004020010db8aaaa00010000000000000000010023140001000120010db8000100000000000000000100"040003000a00" | xxd -r -p > "$OUT/corpus/sm-bu.bin"
printf '%s' "2000183b0206000000924000650000010a00000000000000000000" | xxd -r -p > "$OUT/corpus/sm-146.bin"
SWIFT_BACKTRACE=enable=no "$OUT/fuzz-mobility" -max_total_time="$SECONDS_TO_RUN" -max_len=1024 "$OUT/corpus"
