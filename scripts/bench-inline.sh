#!/usr/bin/env bash
# Benchmarks `cumulus-etl inline`: NOTES notes of SIZE bytes (default 10,000 of 5 KiB) downloaded
# from a local server (cmd/notes-server, plain HTTP on loopback) into a fresh copy of the folder.
# Usage: scripts/bench-inline.sh [NOTES] [SIZE] [MAX_CONCURRENCY]
# Prints notes/s (wall and per CPU-second) and the peak RSS of cumulus-etl.
set -euo pipefail
cd "$(dirname "$0")/.."
notes=${1:-10000}
size=${2:-5120}
conc=${3:-8}
work=$(mktemp -d)
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT

go build -o "$work/cumulus-etl" ./cmd/cumulus-etl
go build -o "$work/notes-server" ./cmd/notes-server
"$work/notes-server" -dir "$work/template" -notes "$notes" -size "$size" >"$work/url" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/url" ] && break; sleep 0.1; done
url=$(head -1 "$work/url")

cp -r "$work/template" "$work/run"
/usr/bin/time -v "$work/cumulus-etl" inline "$work/run" --fhir-url "$url" --max-concurrency "$conc" --quiet \
  >"$work/stdout" 2>"$work/time" || { cat "$work/stdout" "$work/time"; exit 1; }
inlined=$(grep -c '"data":' "$work/run/DocumentReference.000.ndjson")
[ "$inlined" -eq "$notes" ] || { echo "only $inlined of $notes notes inlined"; cat "$work/stdout"; exit 1; }

wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time")
user=$(awk -F': ' '/User time/ {print $2}' "$work/time")
sys=$(awk -F': ' '/System time/ {print $2}' "$work/time")
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
awk -v n="$notes" -v z="$size" -v w="$wall" -v u="$user" -v s="$sys" -v k="$rss_kb" -v c="$conc" 'BEGIN {
  cpu = u + s
  printf "inlined %d notes of %d bytes, up to %d at once\n", n, z, c
  printf "wall: %.2f s, CPU: %.2f s (user %.2f + sys %.2f)\n", w, cpu, u, s
  printf "throughput: %.0f notes/s wall, %.0f notes/CPU-s\n", n/w, n/cpu
  printf "peak RSS: %.1f MB\n", k/1024
}'
