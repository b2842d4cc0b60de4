#!/usr/bin/env bash
# Checks the Makefile's own promises: `make bench` and each `make bench-PART` reach bench/bench-PART.sh
# (GNU make never applies an implicit pattern rule to a .PHONY target: once they printed
# "Nothing to be done"), and scripts/run-bench.sh runs the script and keeps its figures.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
fail=0
parts=$(ls bench/bench-*.sh | sed 's|bench/bench-\(.*\)\.sh|\1|')
all=$(make -n bench 2>&1)
for p in $parts; do
  one=$(make -n "bench-$p" 2>&1)
  if ! grep -q "scripts/run-bench.sh $p\$" <<<"$one"; then echo "FAIL: make bench-$p does not run its script: $one" | head -3; fail=1; fi
  if ! grep -q "scripts/run-bench.sh $p\$" <<<"$all"; then echo "FAIL: make bench does not run bench-$p"; fail=1; fi
done
# run-bench.sh really runs the script and keeps its lines; it fails on a failing script.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '#!/bin/bash\necho "bench: probe_figure 42 units target >= 1"\n' > "$tmp/bench-probe.sh"
printf '#!/bin/bash\necho "bench: half 1 units target >= 1"; exit 3\n' > "$tmp/bench-broken.sh"
BENCH_DIR="$tmp" BENCH_RESULTS="$tmp/results" bash scripts/run-bench.sh probe >/dev/null
grep -q '^bench: probe_figure 42 units' "$tmp/results/probe.txt" || { echo "FAIL: run-bench.sh kept no figures"; fail=1; }
grep -q '^# machine: ' "$tmp/results/probe.txt" || { echo "FAIL: run-bench.sh did not record the machine"; fail=1; }
if BENCH_DIR="$tmp" BENCH_RESULTS="$tmp/results" bash scripts/run-bench.sh broken >/dev/null 2>&1; then
  echo "FAIL: run-bench.sh passed a failing benchmark"; fail=1
fi
[ ! -e "$tmp/results/broken.txt" ] || { echo "FAIL: a failing benchmark overwrote its results"; fail=1; }
# Every figure the docs quote as a `bench:` line is one a benchmark printed (bench/results/).
while IFS= read -r line; do
  [[ $(awk '{print $3}' <<<"$line") =~ ^-?[0-9.]+$ ]] || continue   # a template, not a figure
  if ! grep -qhF -- "$line" bench/results/*.txt 2>/dev/null; then
    echo "FAIL: docs quote '$line' but no bench/results/*.txt has it"; fail=1
  fi
done < <(grep -ho '`bench: [^`]*`' README.md docs/*.md | tr -d '`' | sort -u)
[ "$fail" -eq 0 ] && echo "make targets: $(wc -w <<<"$parts") bench parts reach their scripts; run-bench keeps figures; docs quote only measured lines"
exit "$fail"
