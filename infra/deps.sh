#!/usr/bin/env bash
# deps.sh: what a fresh machine lacks. Debian packages for node-rdkafka's native build
# (it compiles librdkafka from source with node-gyp), then `npm ci` when package-lock.json
# changed since the last install. Quick when nothing is missing.
source "$(dirname "$0")/lib.sh"
need=()
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v make >/dev/null 2>&1 || need+=(make)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
for pkg in libssl-dev zlib1g-dev libzstd-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing Debian packages: ${need[*]}"
  [ "$(id -u)" = 0 ] || fail "apt" "need root to install ${need[*]}; run: sudo apt-get install -y ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -q "${need[@]}" || { apt-get update -q && apt-get install -y -q "${need[@]}"; }; } \
    >"$LOG_DIR/apt.log" 2>&1 || fail "apt" "apt-get install ${need[*]} failed; see $LOG_DIR/apt.log"
fi
command -v node >/dev/null 2>&1 || fail "node" "node not found: install Node.js 20.19+"
stamp=$ROOT/node_modules/.solvermesh-lock
if [ ! -f "$stamp" ] || ! cmp -s "$ROOT/package-lock.json" "$stamp"; then
  say "npm ci (node-rdkafka builds librdkafka from source: about 2 minutes on 2 cores)"
  (cd "$ROOT" && npm_config_nodedir=${npm_config_nodedir:-/usr} npm ci --no-audit --no-fund) >"$LOG_DIR/npm-ci.log" 2>&1 \
    || { tail -30 "$LOG_DIR/npm-ci.log" >&2; fail "npm ci" "npm ci failed; see $LOG_DIR/npm-ci.log"; }
  cp "$ROOT/package-lock.json" "$stamp"
fi
