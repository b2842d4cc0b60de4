#!/usr/bin/env bash
# Builds the Mobility parser fuzzer with libFuzzer + ASan and runs it for SECONDS (default 30).
# Exits non-zero when the fuzzer finds a crash. Run from the repo root.
set -euo pipefail
SECONDS_TO_RUN="${1:-30}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="$ROOT/fuzz/mobility/build"
mkdir -p "$OUT/corpus"
# Library dependencies (NIOCore, Crypto and what they pull in) come from an ordinary SwiftPM build;
# only our own sources are compiled with the fuzzer's instrumentation.
swift build --target Mobility >/dev/null
BIN="$(swift build --show-bin-path)"
OBJS=()
for dir in "$BIN"/*.build; do
  # Only what Mobility links against (NIOCore, Crypto and their own dependencies): the package has
  # many other targets whose objects would pull in libraries this fuzzer does not link.
  case "$(basename "$dir")" in
    NIOCore.build|NIOConcurrencyHelpers.build|_NIODataStructures.build|_NIOBase64.build|CNIOAtomics.build|CNIODarwin.build|CNIOLinux.build|CNIOWindows.build|CNIOWASI.build|CNIOPosix.build|Atomics.build|_AtomicsShims.build|DequeModule.build|InternalCollectionsUtilities.build|ContainersPreview.build|BasicContainers.build|Crypto.build|CCryptoBoringSSL.build|CCryptoBoringSSLShims.build|CryptoBoringWrapper.build) ;;
    *) continue ;;
  esac
  while IFS= read -r -d '' o; do OBJS+=("$o"); done < <(find "$dir" -name '*.o' -print0)
done
# C modules the Swift modules import: their module maps, generated or shipped.
MAPS=()
while IFS= read -r -d '' m; do MAPS+=(-Xcc "-fmodule-map-file=$m"); done < <(find "$BIN" .build/checkouts -name module.modulemap -not -path "*/include/module.modulemap" -print0; find .build/checkouts -path "*/include/module.modulemap" -print0)
SRCS=(Sources/Mobility/*.swift fuzz/mobility/main.swift)
swiftc -sanitize=fuzzer,address -parse-as-library -module-name MobilityFuzz -I "$BIN/Modules" -I "$BIN" \
  "${MAPS[@]}" \
  "${SRCS[@]}" "${OBJS[@]}" -lstdc++ -o "$OUT/fuzz-mobility" > "$OUT/build.log" 2>&1 \
  || { grep -v warning "$OUT/build.log" >&2; echo "fuzz: building fuzz-mobility failed" >&2; rm -f "$OUT/fuzz-mobility"; exit 1; }
# Seed with the spec's worked examples.
printf '%s' 3b0605006d520007c44000960612004020010db8aaaa00010000000000000000010023140001000120010db8000100000000000000000100 | xxd -r -p > "$OUT/corpus/a.bin"
printf '%s' 3b0a050013eb0009c40000960104000000002314000100012001 | xxd -r -p > "$OUT/corpus/c.bin"
SWIFT_BACKTRACE=enable=no "$OUT/fuzz-mobility" -max_total_time="$SECONDS_TO_RUN" -max_len=512 "$OUT/corpus"
