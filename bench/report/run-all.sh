#!/usr/bin/env bash
# make bench: every bench target in turn, each one's exit status, time and load average recorded in
# bench/out/<name>/status.json and its output in bench/out/<name>/output.txt; a failing bench does
# not stop the others. Then the report (bench/REPORT.md, bench/plots/*.svg) from what they wrote.
#   BENCHES="solver-service impedance" make bench   runs only those (the report lists the rest as not run).
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
if ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  echo "installing Debian python3-matplotlib (the report's plots)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y python3-matplotlib >&2; else sudo apt-get install -y python3-matplotlib >&2; fi
fi
all="solver solver-service impedance codec verifier gateway coordination recovery"
# Benches other issues add: every bench-* target of the Makefile not listed above, after them.
for t in $(grep -oE '^bench-[a-z-]+:' Makefile | tr -d : | sed 's/^bench-//'); do
  case " $all " in *" $t "*) ;; *) all="$all $t" ;; esac
done
load() { cut -d' ' -f1-3 /proc/loadavg | sed 's/ /, /g'; }
for name in ${BENCHES:-$all}; do
  dir="bench/out/$name"
  mkdir -p "$dir"
  # note.md says how a hand-run differed from the defaults: stale once make bench runs it plainly.
  rm -f "$dir/status.json" "$dir/figures.json" "$dir/note.md"
  [ "$name" = solver ] && rm -f "$dir/results.json"
  before="$(load)"
  start=$(date +%s)
  echo "=== make bench-$name (load average $before)" >&2
  # BENCH_MAKE_FLAGS: e.g. "-o up -o build" where the infra is up and dist built already.
  make --no-print-directory ${BENCH_MAKE_FLAGS:-} "bench-$name" 2>&1 | tee "$dir/output.txt"
  code=${PIPESTATUS[0]}
  printf '{"bench":"%s","target":"make bench-%s","exit":%d,"seconds":%d,"loadBefore":[%s],"loadAfter":[%s]}\n' \
    "$name" "$name" "$code" "$(( $(date +%s) - start ))" "$before" "$(load)" > "$dir/status.json"
  [ "$code" = 0 ] || echo "=== make bench-$name failed (exit $code); going on" >&2
done
npx tsx bench/report/generate.ts
