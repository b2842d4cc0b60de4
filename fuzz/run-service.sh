#!/usr/bin/env bash
# Builds the Home Agent service's input fuzzer (forms, sign-up and settings JSON, join requests,
# tokens; Sources/Provisioning and Sources/Joining) with libFuzzer + ASan and runs it for SECONDS
# (default 30). Exits non-zero when the build fails or the fuzzer finds a crash. Run from the repo root.
set -euo pipefail
SECONDS_TO_RUN="${1:-30}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="$ROOT/fuzz/service/build"
mkdir -p "$OUT/corpus"
# Library dependencies come from an ordinary SwiftPM build; only the service's own parsing sources
# are compiled with the fuzzer's instrumentation.
swift build --target Provisioning >/dev/null || { echo "run-service.sh: swift build --target Provisioning failed" >&2; exit 1; }
BIN="$(swift build --show-bin-path)"
OBJS=()
for dir in "$BIN"/*.build; do
  case "$(basename "$dir")" in
    Mobility.build|Telemetry.build|Timekeeping.build|NIOCore.build|NIOConcurrencyHelpers.build|_NIODataStructures.build|_NIOBase64.build|CNIOAtomics.build|CNIODarwin.build|CNIOLinux.build|CNIOWindows.build|CNIOWASI.build|CNIOPosix.build|Atomics.build|_AtomicsShims.build|DequeModule.build|InternalCollectionsUtilities.build|ContainersPreview.build|BasicContainers.build|Crypto.build|CryptoExtras.build|_CryptoExtras.build|CCryptoBoringSSL.build|CCryptoBoringSSLShims.build|CryptoBoringWrapper.build|CryptoExtrasShims.build|CXKCP.build|CXKCPShims.build|SwiftASN1.build|SystemSupport.build) ;;
    *) continue ;;
  esac
  while IFS= read -r -d '' o; do OBJS+=("$o"); done < <(find "$dir" -name '*.o' -print0)
done
MAPS=()
while IFS= read -r -d '' m; do MAPS+=(-Xcc "-fmodule-map-file=$m"); done < <(find "$BIN" .build/checkouts -name module.modulemap -not -path "*/include/module.modulemap" -print0; find .build/checkouts -path "*/include/module.modulemap" -print0)
SRCS=(Sources/Provisioning/*.swift Sources/Joining/*.swift fuzz/service/main.swift)
# A failed build must fail this script: never fuzz a binary left over from an older tree.
rm -f "$OUT/fuzz-service"
if ! swiftc -sanitize=fuzzer,address -parse-as-library -module-name ServiceFuzz -I "$BIN/Modules" -I "$BIN" \
  "${MAPS[@]}" \
  "${SRCS[@]}" "${OBJS[@]}" -lstdc++ -o "$OUT/fuzz-service" >"$OUT/build.log" 2>&1; then
  grep -v 'warning:' "$OUT/build.log" >&2 || true
  echo "run-service.sh: the fuzzer did not build (full log: $OUT/build.log)" >&2
  exit 1
fi
test -x "$OUT/fuzz-service" || { echo "run-service.sh: no fuzzer binary after the build" >&2; exit 1; }
# Seeds: one valid input for each path.
printf '\x00name=Bicycle+1&prefixes=2&uplinks=wlan0%%3Awlan%%2C+wwan0%%3Acellular&ingress=lan0&mcoa=on' > "$OUT/corpus/form.bin"
printf '\x01homePrefix=2001:db8:1::/64&homeAgentAddress=2001:db8:1::1&homeAgentEndpoints=2001:db8:ff::1,192.0.2.1&port=4191&prefixPool=2001:db8:100::/48&defaultLifetime=600&maximumPrefixesPerRouter=4&joinTokenLifetime=3600&openSignUp=on&ipv4Pool=192.0.2.64%%2F26' > "$OUT/corpus/settings.bin"
printf '\x02{"name":"Car","prefixes":1,"uplinks":[{"name":"wlan0","technology":"wlan"}],"ingress":"eth0","multiple_care_of":true}' > "$OUT/corpus/router.bin"
printf '\x04[{"vehicle":"bike-1","seq":7,"time":"2006-07-12T10:00:00.250Z","kind":"handover","from":"wa","to":"wb","from_tech":"wlan","to_tech":"cellular","cause":"uplink-lost","delay_ms":243.5,"outage_ms":12,"lost":3}]' > "$OUT/corpus/sonar.bin"
printf '\x03{"home_prefix":"2001:db8:1::/64","home_agent_address":"2001:db8:1::1","home_agent_endpoints":["2001:db8:ff::1"],"port":4191,"prefix_pool":"2001:db8:100::/48","default_lifetime":600,"maximum_prefixes_per_router":4,"multiple_care_of_allowed":true,"open_sign_up":true,"join_token_lifetime":3600}' > "$OUT/corpus/settings-json.bin"
printf '\x05{"token_id":"0123456789abcdef","nonce":"%064d","proof":"%064d"}' 0 0 > "$OUT/corpus/join.bin"
SWIFT_BACKTRACE=enable=no "$OUT/fuzz-service" -max_total_time="$SECONDS_TO_RUN" -max_len=4096 "$OUT/corpus"
