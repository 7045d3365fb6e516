#!/usr/bin/env bash
# Benchmarks a crawl: PATIENTS synthetic patients (default 1,000, from gen-sample) served by a local
# FHIR server (cmd/crawl-server, plain HTTP on loopback), crawled for 8 types by
# `cumulus-etl export URL/Group/G1 DIR --export-mode crawl`.
# Usage: scripts/bench-crawl.sh [PATIENTS]
# Prints resources/s, requests/s (wall and per CPU-second of cumulus-etl) and its peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
patients=${1:-1000}
types=Patient,Encounter,Condition,Observation,MedicationRequest,Procedure,DocumentReference,Immunization
work=$(mktemp -d)
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT

go build -o "$work/cumulus-etl" ./cmd/cumulus-etl
go build -o "$work/crawl-server" ./cmd/crawl-server
go run ./cmd/gen-sample -out "$work/data" -patients "$patients" -seed 7 >/dev/null
"$work/crawl-server" -in "$work/data" >"$work/url" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
base=$(head -1 "$work/url")
before=$(curl -s "${base%fhir/}stats")

/usr/bin/time -v "$work/cumulus-etl" export "${base}Group/G1" "$work/crawl" --export-mode crawl --type "$types" \
  --no-default-filters --quiet >"$work/stdout" 2>"$work/time" || { cat "$work/stdout" "$work/time"; exit 1; }

requests=$(( $(curl -s "${base%fhir/}stats") - before ))
resources=$(cat "$work"/crawl/*.ndjson | grep -vc '"eventId"' || true)
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time")
user=$(awk -F': ' '/User time/ {print $2}' "$work/time")
sys=$(awk -F': ' '/System time/ {print $2}' "$work/time")
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
awk -v p="$patients" -v r="$resources" -v q="$requests" -v w="$wall" -v u="$user" -v s="$sys" -v k="$rss_kb" 'BEGIN {
  cpu = u + s
  printf "crawl: %d patients x 8 types: %d resources, %d requests\n", p, r, q
  printf "wall: %.2f s, CPU: %.2f s (user %.2f + sys %.2f)\n", w, cpu, u, s
  printf "throughput: %.0f resources/s, %.0f requests/s wall\n", r/w, q/w
  printf "per core:   %.0f resources/CPU-s, %.0f requests/CPU-s\n", r/cpu, q/cpu
  printf "peak RSS: %.1f MB\n", k/1024
}'
