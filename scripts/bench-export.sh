#!/usr/bin/env bash
# Benchmarks `cumulus-etl export` against `curl --parallel` on many small files (issue 12): nginx on
# loopback serves 170 ndjson files of about 2.9 MiB (490 MiB, ten resource types made from
# ../shared/data/synthea-60) behind a static manifest, and both clients fetch them all with 5
# downloads at once into a folder on disk. The export checks every line, hashes every file and
# makes each durable before it counts; curl does none of that.
#
# Usage: scripts/bench-export.sh [RUNS]     (default 3; the runs alternate export, curl, export, ...)
#        BENCH_DIR=/tmp/exbench keeps the binary and data between calls
#        BENCH_SERVE=1 only starts nginx and prints the two commands, for timing them with other tools
# Needs nginx (Debian: apt-get install nginx-light) and curl. Prints each run, the medians, the
# ratio curl/export (1.0 = as fast as curl), the CPU ratio export/curl (both from the medians, and
# as the median of the run-by-run pairs) and the export's peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
work=${BENCH_DIR:-$(mktemp -d)}
port=${BENCH_PORT:-18321}
command -v nginx >/dev/null || { echo "nginx is needed (apt-get install nginx-light)"; exit 1; }
command -v curl >/dev/null || { echo "curl is needed"; exit 1; }

go build -o "$work/cumulus-etl" ./cmd/cumulus-etl

# Data: ten types, each one file of ~2.9 MB made of its synthea-60 lines repeated, copied 17 times.
types="Observation Claim ExplanationOfBenefit Encounter DiagnosticReport Condition Procedure MedicationRequest Immunization CarePlan"
data="$work/www/files"
if [ ! -f "$data/done" ]; then
  mkdir -p "$data"
  for t in $types; do
    zcat "../shared/data/synthea-60/$t.000.ndjson.gz" | awk -v max=3020000 '
      { line[NR] = $0 } END { n = 0; while (n < max) for (i = 1; i <= NR && n < max; i++) { print line[i]; n += length(line[i]) + 1 } }' >"$data/$t.base"
    for i in $(seq -w 0 16); do cp "$data/$t.base" "$data/$t.$i.ndjson"; done
    rm "$data/$t.base"
  done
  touch "$data/done"
fi
files=$(ls "$data"/*.ndjson | wc -l)
bytes=$(cat "$data"/*.ndjson | wc -c)

# The static manifest and the nginx that serves it.
base="http://127.0.0.1:$port"
{
  printf '{"transactionTime":"2024-01-01T00:00:00Z","request":"%s/fhir/$export","requiresAccessToken":false,"output":[' "$base"
  sep=""
  for f in "$data"/*.ndjson; do
    n=$(basename "$f"); printf '%s{"type":"%s","url":"%s/files/%s"}' "$sep" "${n%%.*}" "$base" "$n"; sep=","
  done
  printf '],"error":[]}\n'
} >"$work/www/manifest.json"
chmod -R a+rX "$work/www"
mkdir -p "$work/nginx/logs"
# A CapabilityStatement listing the types, as a server's would.
cs() {
  printf '{"resourceType":"CapabilityStatement","fhirVersion":"4.0.1","rest":[{"mode":"server","resource":['
  sep=""; for t in $types; do printf '%s{"type":"%s"}' "$sep" "$t"; sep=","; done
  printf ']}]}'
}
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000;
  server {
    listen 127.0.0.1:$port;
    root $work/www;
    location /files/ { default_type application/fhir+ndjson; }
    location = /fhir/metadata { default_type application/fhir+json; return 200 '$(cs)'; }
    location = /fhir/\$export { add_header Content-Location $base/status always; return 202; }
    location = /status { if (\$request_method = DELETE) { return 202; } default_type application/json; try_files /manifest.json =404; }
  }
}
EOF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf"
trap 'nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -s stop; [ -z "${BENCH_DIR:-}" ] && rm -rf "$work"' EXIT
sleep 0.3

out="$work/out"
export_cmd=("$work/cumulus-etl" export "$base/fhir" "$out/export" --type "${types// /,}" --parallel 5 --quiet)
curl_args=(--parallel --parallel-max 5 -sS --fail)
for f in "$data"/*.ndjson; do n=$(basename "$f"); curl_args+=(-o "$out/curl/$n" "$base/files/$n"); done
printf '%s\n' "${curl_args[@]}" | sed 's/^/  /' >"$work/curl-args.txt"
if [ -n "${BENCH_SERVE:-}" ]; then
  echo "serving $files files ($bytes bytes) at $base; clean $out before each run"
  echo "export: ${export_cmd[*]}"
  echo "curl:   curl ${curl_args[*]:0:6} ... (all args in $work/curl-args.txt)"
  trap - EXIT
  exit 0
fi

# One timed run: wall, user, sys and peak RSS from GNU time. Each starts with no dirty pages
# left by the run before (sync), so neither pays for the other's writes to disk.
timed() {
  rm -rf "$out" && mkdir -p "$out/curl" && sync && sleep 1
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || { cat "$work/stderr"; exit 1; }
  cat "$work/time"
}
declare -a ew ec cw cc rss
for r in $(seq "$runs"); do
  read -r w u s m < <(timed "${export_cmd[@]}")
  ew+=("$w"); ec+=("$(echo "$u + $s" | bc)"); rss+=("$m")
  read -r w u s m < <(timed curl "${curl_args[@]}")
  cw+=("$w"); cc+=("$(echo "$u + $s" | bc)")
  printf 'run %d: export %ss (cpu %ss, %d MiB RSS), curl %ss (cpu %ss)\n' "$r" "${ew[-1]}" "${ec[-1]}" $((rss[-1] / 1024)) "${cw[-1]}" "${cc[-1]}"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
me=$(median "${ew[@]}"); mc=$(median "${cw[@]}"); mec=$(median "${ec[@]}"); mcc=$(median "${cc[@]}"); mr=$(median "${rss[@]}")
declare -a pr pc # pair by pair, so a drift of the machine's speed during the runs cancels out
for i in "${!ew[@]}"; do pr+=("$(echo "${cw[i]} / ${ew[i]}" | bc -l)"); pc+=("$(echo "${ec[i]} / ${cc[i]}" | bc -l)"); done
mpr=$(median "${pr[@]}"); mpc=$(median "${pc[@]}")
awk -v f="$files" -v b="$bytes" -v me="$me" -v mc="$mc" -v mec="$mec" -v mcc="$mcc" -v mr="$mr" -v n="$runs" -v mpr="$mpr" -v mpc="$mpc" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
  printf "%d files, %.0f MiB, 5 at once, median of %d (load %s)\n", f, b/1048576, n, load
  printf "export: %.2f s (%.0f MiB/s), CPU %.2f s, peak RSS %.0f MiB\n", me, b/1048576/me, mec, mr/1024
  printf "curl:   %.2f s (%.0f MiB/s), CPU %.2f s\n", mc, b/1048576/mc, mcc
  printf "throughput ratio (curl time / export time): %.2f; CPU ratio (export / curl): %.2f\n", mc/me, mec/mcc
  printf "the same, median of the pairs: %.2f and %.2f\n", mpr, mpc
}'
