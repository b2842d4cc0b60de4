#!/usr/bin/env bash
# Builds the iLBC decoder fuzzer (libFuzzer + AddressSanitizer) and runs it for SECONDS.
# Exits non-zero when the fuzzer finds a crash. Run from the repository root.
set -euo pipefail
seconds="${1:-30}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/.build-fuzz/ilbc"
corpus="$build/corpus"
mkdir -p "$build" "$corpus"

# ILBCCodec.swift only adapts the codec to the AudioCodec module, which the fuzzer does not need.
sources=($(ls "$root"/Sources/ILBC/*.swift | grep -v /ILBCCodec.swift) "$root"/fuzz/ilbc/*.swift)
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name ILBCFuzz \
    "${sources[@]}" -o "$build/fuzz-ilbc"

# Seed with real frames so the fuzzer starts from valid streams.
source "$root/scripts/shared-folder.sh"
shared="$SHARED"
if [ -n "$shared" ] && [ -d "$shared/vectors/ilbc" ]; then
    for mode in 20 30; do
        cp "$shared/vectors/ilbc/sp_de_f3.$mode.loss.lbc" "$corpus/file-$mode.lbc"
        size=$([ "$mode" = 20 ] && echo 38 || echo 50)
        # A control byte (0: 20 ms, 1: 30 ms), then eight frames after the 9-byte file header. No pipe
        # here: `tail | head` under pipefail fails whenever head closes first (tail gets SIGPIPE).
        { if [ "$mode" = 20 ]; then printf '\x00'; else printf '\x01'; fi
          dd if="$shared/vectors/ilbc/sp_en_us_m1.$mode.lbc" bs=1 skip=9 count=$((size * 8)) status=none; } > "$corpus/frames-$mode"
    done
fi

export SWIFT_BACKTRACE=enable=no
"$build/fuzz-ilbc" "$corpus" -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 \
    -artifact_prefix="$build/" -print_final_stats=1
