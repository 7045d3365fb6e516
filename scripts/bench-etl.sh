#!/usr/bin/env bash
# Benchmarks the whole ETL on synthea-60 scaled up to about a million resources, in each output
# format: a first write into an empty OUTPUT and, for deltalake, an upsert of 10% of the rows
# (the first tenth of the copies sent again, as an incremental export would) into that table.
# Usage: scripts/bench-etl.sh [COPIES]   (default 65 copies: ~1.0 M resources that tasks read, plus
# ~0.36 M of types no task reads, such as Claim). FORMATS="deltalake parquet ndjson" picks formats;
# BATCH sets --batch-size; set BENCH_DIR to keep the scaled input between runs.
# Prints resources/s, input MB/s (wall and per CPU-second), output size and peak RSS. Only the
# files that tasks read count as input.
set -euo pipefail
cd "$(dirname "$0")/.."
copies=${1:-65}
formats=${FORMATS:-deltalake parquet ndjson}
work=${BENCH_DIR:-$(mktemp -d)}
trap '[ -z "${BENCH_DIR:-}" ] && rm -rf "$work"' EXIT

go build -o "$work/cumulus-etl" ./cmd/cumulus-etl
go build -o "$work/scale-export" ./cmd/scale-export
scale() { # scale COPIES DIR
  [ -d "$2" ] || "$work/scale-export" -in ../shared/data/synthea-60 -out "$2" -copies "$1" -one-file-per-type -gzip-level 1 >/dev/null
}
scale "$copies" "$work/input"
scale $(( (copies + 9) / 10 )) "$work/input-10pct"
task_types=$("$work/cumulus-etl" etl --task help x y z | awk 'NR>1 {print $2}')

# measure NAME INPUT OUT FORMAT: runs the ETL under /usr/bin/time and prints the figures.
measure() {
  local name=$1 input=$2 out=$3 format=$4 files=() f type
  for f in "$input"/*.ndjson*; do
    type=$(basename "$f"); type=${type%%.*}
    grep -qx "$type" <<<"$task_types" && files+=("$f")
  done
  read -r resources in_bytes < <(zcat -f "${files[@]}" | wc -lc)
  /usr/bin/time -v "$work/cumulus-etl" etl "$input" "$out" "$work/phi" --output-format "$format" \
    ${BATCH:+--batch-size "$BATCH"} --export-group bench --export-timestamp 2024-01-01T00:00:00Z \
    >"$work/stdout" 2>"$work/time" || { cat "$work/stdout" "$work/time"; exit 1; }
  local out_bytes
  out_bytes=$(du -sb --exclude=JobConfig "$out" | cut -f1)
  awk -F': ' -v name="$name" -v b="$in_bytes" -v r="$resources" -v o="$out_bytes" '
    /Elapsed \(wall clock\)/ {n=split($2,a,":"); w=0; for(i=1;i<=n;i++) w=w*60+a[i]}
    /User time/ {u=$2} /System time/ {s=$2} /Maximum resident set size/ {k=$2}
    END {
      cpu = u + s
      printf "%s: %d resources, %.1f MB of ndjson in (uncompressed), %.1f MB out\n", name, r, b/1e6, o/1e6
      printf "  wall %.2f s, CPU %.2f s (user %.2f + sys %.2f)\n", w, cpu, u, s
      printf "  %.0f resources/s, %.1f MB/s wall; %.0f resources/CPU-s, %.1f MB/CPU-s; peak RSS %.1f MB\n",
        r/w, b/1e6/w, r/cpu, b/1e6/cpu, k/1024
    }' "$work/time"
}

for format in $formats; do
  rm -rf "$work/out-$format" "$work/phi"
  measure "$format first write" "$work/input" "$work/out-$format" "$format"
  if [ "$format" = deltalake ]; then
    measure "$format upsert of 10%" "$work/input-10pct" "$work/out-$format" "$format"
  fi
done
