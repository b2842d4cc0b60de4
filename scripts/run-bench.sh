#!/usr/bin/env bash
# run-bench.sh PART: runs bench/bench-PART.sh, shows its output, and keeps its `bench:` lines with the
# date and the machine in bench/results/PART.txt, the one file the docs quote figures from.
# Fails when the script fails or prints no `bench:` line.
set -euo pipefail
part="${1:?usage: run-bench.sh PART}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${BENCH_DIR:-$root/bench}"
results="${BENCH_RESULTS:-$root/bench/results}"
script="$dir/bench-$part.sh"
[ -f "$script" ] || { echo "run-bench: $script not found (parts: $(cd "$dir" && ls bench-*.sh | sed 's/bench-\(.*\)\.sh/\1/' | tr '\n' ' '))" >&2; exit 2; }
mkdir -p "$results"
log="$(mktemp)"; trap 'rm -f "$log"' EXIT
echo "== bench-$part: $script"
set +e
bash "$script" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || { echo "run-bench: bench-$part failed (exit $status); bench/results/$part.txt left as it was" >&2; exit "$status"; }
grep -q '^bench: ' "$log" || { echo "run-bench: bench-$part printed no 'bench:' line" >&2; exit 1; }
{
  echo "# make bench-$part, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), Linux $(uname -r), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  grep '^bench: ' "$log"
} > "$results/$part.txt"
echo "run-bench: $(grep -c '^bench: ' "$log") figures kept in ${results#$root/}/$part.txt"
