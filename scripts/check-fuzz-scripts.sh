#!/usr/bin/env bash
# Every fuzz/run-*.sh must fail when its build fails, instead of fuzzing a stale binary or nothing.
# Each script runs here with a `swiftc` on PATH that fails, but first leaves an executable where it was
# asked to write one (as a stale binary from an earlier build would be); `swift` pretends to succeed.
# A script that ignores the failure runs that stand-in, which says so.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fake=$(mktemp -d); trap 'rm -rf "$fake"' EXIT
mkdir -p "$fake/bin/Modules"
cat > "$fake/swiftc" <<'SH'
#!/bin/bash
out=""; while [ $# -gt 0 ]; do [ "$1" = -o ] && { out="$2"; shift; }; shift; done
if [ -n "$out" ]; then mkdir -p "$(dirname "$out")"; printf '#!/bin/sh\necho STALE-FUZZER-RAN\n' > "$out"; chmod +x "$out"; fi
echo "check-fuzz-scripts: this swiftc always fails" >&2
exit 1
SH
cat > "$fake/swift" <<SH
#!/bin/bash
case " \$* " in *" --show-bin-path "*) echo "$fake/bin";; esac
exit 0
SH
chmod +x "$fake/swiftc" "$fake/swift"
fail=0 count=0
for script in "$root"/fuzz/run-*.sh; do
  count=$((count + 1))
  if out=$(cd "$root" && PATH="$fake:$PATH" timeout 120 bash "$script" 1 2>&1); then
    echo "FAIL: $(basename "$script") exited 0 although its build failed"; tail -3 <<<"$out"; fail=1
  elif grep -q STALE-FUZZER-RAN <<<"$out"; then
    echo "FAIL: $(basename "$script") ran a binary its failed build left behind"; fail=1
  fi
done
[ "$fail" -eq 0 ] && echo "fuzz scripts: all $count fail when their build fails"
exit "$fail"
