#!/usr/bin/env bash
# make bench-solver: installs the peers it compares against, builds the kernels, runs the bench.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
if ! /usr/bin/python3 -c 'import scipy' 2>/dev/null; then
  echo "installing Debian python3-scipy (the SciPy peer)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y python3-scipy >&2; else sudo apt-get install -y python3-scipy >&2; fi
fi
if [ ! -d bench/solver/peers/node_modules/sublinear-time-solver ]; then
  echo "installing sublinear-time-solver into bench/solver/peers (kept out of the main package.json)" >&2
  (cd bench/solver/peers && npm install --no-audit --no-fund >&2)
fi
bash wasm/build.sh >&2
mkdir -p bench/out/solver
npx tsx bench/solver/bench.ts "$@" | tee bench/out/solver/report.txt
