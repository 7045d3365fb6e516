#!/usr/bin/env bash
# Benchmarks the whole ETL on synthea-60 scaled up to about a million resources.
# Usage: scripts/bench-etl.sh [COPIES]   (default 65 copies: ~1.0 M resources that tasks read, plus
# ~0.36 M of types no task reads, such as Claim). Set BENCH_DIR to keep the scaled input between runs.
# Prints resources/s, input MB/s (wall and per CPU-second) and peak RSS. Only the files that tasks
# read count as input.
set -euo pipefail
cd "$(dirname "$0")/.."
copies=${1:-65}
work=${BENCH_DIR:-$(mktemp -d)}
trap '[ -z "${BENCH_DIR:-}" ] && rm -rf "$work"' EXIT

go build -o "$work/cumulus-etl" ./cmd/cumulus-etl
go build -o "$work/scale-export" ./cmd/scale-export
if [ ! -d "$work/input" ]; then
  "$work/scale-export" -in ../shared/data/synthea-60 -out "$work/input" -copies "$copies" -one-file-per-type -gzip-level 1 >/dev/null
fi
task_types=$("$work/cumulus-etl" etl --task help x y z | awk 'NR>1 {print $2}')
task_files=()
for f in "$work"/input/*.ndjson*; do
  type=$(basename "$f"); type=${type%%.*}
  grep -qx "$type" <<<"$task_types" && task_files+=("$f")
done
read -r resources in_bytes < <(zcat -f "${task_files[@]}" | wc -lc)

rm -rf "$work/out" "$work/phi"
/usr/bin/time -v "$work/cumulus-etl" etl "$work/input" "$work/out" "$work/phi" \
  --export-group bench --export-timestamp 2024-01-01T00:00:00Z >"$work/stdout" 2>"$work/time" || { cat "$work/stdout" "$work/time"; exit 1; }

wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time")
user=$(awk -F': ' '/User time/ {print $2}' "$work/time")
sys=$(awk -F': ' '/System time/ {print $2}' "$work/time")
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
awk -v b="$in_bytes" -v r="$resources" -v w="$wall" -v u="$user" -v s="$sys" -v k="$rss_kb" 'BEGIN {
  cpu = u + s
  printf "input: %d resources, %.1f MB of ndjson (uncompressed)\n", r, b/1e6
  printf "wall: %.2f s, CPU: %.2f s (user %.2f + sys %.2f)\n", w, cpu, u, s
  printf "throughput: %.0f resources/s, %.1f MB/s wall\n", r/w, b/1e6/w
  printf "per core:   %.0f resources/CPU-s, %.1f MB/CPU-s\n", r/cpu, b/1e6/cpu
  printf "peak RSS: %.1f MB\n", k/1024
}'
