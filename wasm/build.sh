#!/usr/bin/env bash
# Builds the solver kernels: wasm/assembly/*.ts → wasm/build/solver.wasm (AssemblyScript, from npm).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
asc="$root/node_modules/.bin/asc"
if [ ! -x "$asc" ]; then
  echo "wasm/build.sh: $asc missing; run npm ci first" >&2
  exit 1
fi
mkdir -p "$here/build"
"$asc" --config "$here/assembly/asconfig.json" --target release
echo "built $here/build/solver.wasm ($(wc -c < "$here/build/solver.wasm") bytes)"
