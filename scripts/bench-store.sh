#!/usr/bin/env bash
# Benchmarks the ETL writing to local disk and to an S3-compatible server (versitygw on 127.0.0.1),
# on the same input: synthea-60 scaled to about a million resources that tasks read.
# Usage: scripts/bench-store.sh [COPIES]   (default 65: ~1.0 M resources). Set BENCH_DIR to keep the
# scaled input between runs. Needs versitygw (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0).
# Prints, for each OUTPUT+PHI place, input MB/s (wall) and peak RSS. INPUT is a local folder both times.
# FORMAT=deltalake|parquet|ndjson picks the output format (default ndjson, as in README's figures).
set -euo pipefail
cd "$(dirname "$0")/.."
copies=${1:-65}
format=${FORMAT:-ndjson}
work=${BENCH_DIR:-$(mktemp -d)}
vgw=${CUMULUS_TEST_VERSITYGW:-$(go env GOPATH)/bin/versitygw}
trap '[ -n "${vgw_pid:-}" ] && kill "$vgw_pid"; [ -z "${BENCH_DIR:-}" ] && rm -rf "$work"' EXIT

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

rm -rf "$work/s3" && mkdir -p "$work/s3/bench"   # a top-level folder is a bucket
port=$((20000 + RANDOM % 40000))
"$vgw" --access bench --secret benchsecret --port "127.0.0.1:$port" --quiet posix "$work/s3" &
vgw_pid=$!
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=benchsecret \
  AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

printf "input: %d resources, %.1f MB of ndjson (uncompressed)\n" "$resources" "$(awk -v b="$in_bytes" 'BEGIN{print b/1e6}')"
measure() { # NAME OUTPUT PHI
  /usr/bin/time -v "$work/cumulus-etl" etl "$work/input" "$2" "$3" \
    --output-format "$format" --export-group bench --export-timestamp 2024-01-01T00:00:00Z >"$work/stdout" 2>"$work/time" || { cat "$work/stdout" "$work/time"; exit 1; }
  awk -F': ' -v name="$1" -v b="$in_bytes" '
    /Elapsed \(wall clock\)/ {n=split($2,a,":"); w=0; for(i=1;i<=n;i++) w=w*60+a[i]}
    /Maximum resident set size/ {k=$2}
    END {printf "%-6s wall %.2f s, %.1f MB/s, peak RSS %.1f MB\n", name, w, b/1e6/w, k/1024}' "$work/time"
}
measure local "$work/out-$format" "$work/phi"
measure s3 "s3://bench/out-$format" s3://bench/phi
