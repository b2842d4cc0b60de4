#!/bin/bash
# Builds the phone fuzzers (libFuzzer + AddressSanitizer) and runs each for a share of
# SECONDS: SIP messages (and digest headers), SDP + offer/answer, SDP → media set-up (MediaPlan,
# jitter buffer, packetizer, telephone events, source guard), RTP/RTCP (array and ByteBuffer) + receive path,
# WAV headers.
# Usage: fuzz/run-phone.sh SECONDS     (from the repository root). Exits non-zero on a crash.
set -euo pipefail
SECONDS_TOTAL=${1:-30}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/fuzz/phone/build"
mkdir -p "$OUT"; rm -f "$OUT/sip-fuzz" "$OUT/sdp-fuzz" "$OUT/media-fuzz" "$OUT/rtp-fuzz" "$OUT/wav-fuzz"
source "$ROOT/scripts/shared-folder.sh"
SIP_FILES="SIPParseError ByteScanner SIPURI HeaderValues SIPHeaders SIPMessage SIPFraming MessageAccessors RequestChecks DigestHeaders"
SIP_SRC=$(for f in $SIP_FILES; do echo "$ROOT/Sources/SIP/$f.swift"; done)
# RTP reads and writes ByteBuffers and takes Instants: NIOCore (and what it pulls in) and Timekeeping come from an ordinary SwiftPM build,
# only our own sources get the instrumentation.
(cd "$ROOT" && swift build --target RTP >"$OUT/swift-build.log" 2>&1) || { tail -20 "$OUT/swift-build.log"; echo "fuzz: swift build --target RTP failed"; exit 1; }
BIN="$(cd "$ROOT" && swift build --show-bin-path)"
NIO=()
for dir in "$BIN"/*.build; do
  case "$(basename "$dir")" in
    Timekeeping.build|NIOCore.build|NIOConcurrencyHelpers.build|_NIODataStructures.build|_NIOBase64.build|CNIOAtomics.build|CNIODarwin.build|CNIOLinux.build|CNIOWindows.build|CNIOWASI.build|CNIOPosix.build|Atomics.build|_AtomicsShims.build|DequeModule.build|InternalCollectionsUtilities.build|ContainersPreview.build|BasicContainers.build) ;;
    *) continue ;;
  esac
  while IFS= read -r -d '' o; do NIO+=("$o"); done < <(find "$dir" -name '*.o' -print0)
done
while IFS= read -r -d '' m; do NIO+=(-Xcc "-fmodule-map-file=$m"); done < <(find "$BIN" "$ROOT/.build/checkouts" -name module.modulemap -not -path "*/include/module.modulemap" -print0; find "$ROOT/.build/checkouts" -path "*/include/module.modulemap" -print0)
NIO+=(-I "$BIN/Modules" -I "$BIN" -lstdc++)
build() {  # NAME MODULE SOURCES...   (a failed compile stops the script: nothing stale is fuzzed)
  local name=$1 module=$2 log="$OUT/$1.build.log"; shift 2
  if ! swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name "$module" "$@" -o "$OUT/$name" >"$log" 2>&1; then
    grep -v "Cannot export" "$log" | tail -30
    echo "fuzz: building $name failed"; exit 1
  fi
  [ -x "$OUT/$name" ] || { echo "fuzz: building $name failed"; exit 1; }
}
build sip-fuzz SIPFuzz $SIP_SRC "$ROOT/fuzz/phone/sip_entry.swift"
build sdp-fuzz SDPFuzz "$ROOT"/Sources/SDP/*.swift "$ROOT/fuzz/phone/sdp_entry.swift"
build media-fuzz MediaFuzz "$ROOT"/Sources/SDP/*.swift "$ROOT"/Sources/RTP/*.swift "$ROOT/fuzz/phone/media_entry.swift" "${NIO[@]}"
build rtp-fuzz RTPFuzz "$ROOT"/Sources/RTP/*.swift "$ROOT/fuzz/phone/rtp_entry.swift" "$ROOT/fuzz/phone/rtp_buffer.swift" "${NIO[@]}"
build wav-fuzz WAVFuzz "$ROOT"/Sources/WAV/*.swift "$ROOT/fuzz/phone/wav_entry.swift"
# seed corpora: torture messages, peer captures, SDP bodies, a few RTP/RTCP packets
mkdir -p "$OUT/corpus-sip" "$OUT/corpus-sdp" "$OUT/corpus-media" "$OUT/corpus-rtp" "$OUT/corpus-wav"
cp "$ROOT"/fuzz/phone/seeds-sip/* "$OUT/corpus-sip/" 2>/dev/null || true
cp "$ROOT"/fuzz/phone/seeds-sdp/* "$OUT/corpus-sdp/" 2>/dev/null || true
cp "$ROOT"/fuzz/phone/seeds-sdp/* "$ROOT"/fuzz/phone/seeds-media/* "$OUT/corpus-media/" 2>/dev/null || true
cp "$ROOT"/fuzz/phone/seeds-rtp/* "$OUT/corpus-rtp/" 2>/dev/null || true
cp "$ROOT"/fuzz/phone/seeds-wav/* "$OUT/corpus-wav/" 2>/dev/null || true
if [ -n "$SHARED" ]; then
  cp "$SHARED"/vectors/sip-torture/*.dat "$OUT/corpus-sip/" 2>/dev/null || true
  cp "$SHARED"/peers/sip/captures/*.txt "$OUT/corpus-sip/" 2>/dev/null || true
fi
EACH=$(( SECONDS_TOTAL / 5 )); [ "$EACH" -lt 1 ] && EACH=1
export SWIFT_BACKTRACE=enable=no
status=0
for f in sip sdp media rtp wav; do
  "$OUT/$f-fuzz" -max_total_time="$EACH" -max_len=4096 -print_final_stats=1 -artifact_prefix="$OUT/" "$OUT/corpus-$f" 2>&1 | tail -3 || status=1
done
if ls "$OUT"/crash-* "$OUT"/leak-* "$OUT"/timeout-* >/dev/null 2>&1; then echo "fuzz: crash artifacts in $OUT"; status=1; fi
exit $status
