#!/usr/bin/env bash
# deps.sh: what a fresh machine lacks. Debian packages for node-rdkafka's native build
# (it compiles librdkafka from source with node-gyp), the project's Node.js LTS (infra/node.sh),
# then `npm ci` when package-lock.json or the Node release changed since the last install. Quick when nothing is missing.
source "$(dirname "$0")/lib.sh"
need=()
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v make >/dev/null 2>&1 || need+=(make)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v curl >/dev/null 2>&1 || need+=(curl)
# jq: the seed's curl commands (test/seed/seed-curls.sh) read the gateway's answers with it.
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# chromium: the gateway's live-page browser spec drives Debian's Chromium with playwright-core.
for pkg in libssl-dev zlib1g-dev libzstd-dev chromium chromium-driver; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing Debian packages: ${need[*]}"
  [ "$(id -u)" = 0 ] || fail "apt" "need root to install ${need[*]}; run: sudo apt-get install -y ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -q "${need[@]}" || { apt-get update -q && apt-get install -y -q "${need[@]}"; }; } \
    >"$LOG_DIR/apt.log" 2>&1 || fail "apt" "apt-get install ${need[*]} failed; see $LOG_DIR/apt.log"
fi
node_bin=$("$ROOT/infra/node.sh")
export PATH=$node_bin:$PATH
# node-gyp builds native addons (node-rdkafka) against the headers of the Node that runs them.
export npm_config_nodedir=$(cd "$node_bin/.." && pwd)
[ -f "$npm_config_nodedir/include/node/node.h" ] || export npm_config_nodedir=/usr
# Reinstall when the lock file or the Node release changed (a new ABI needs the addon rebuilt).
stamp=$ROOT/node_modules/.solvermesh-lock
want="$(node --version) $(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "npm ci on Node $(node --version) (node-rdkafka builds librdkafka from source: about 2 minutes on 2 cores)"
  (cd "$ROOT" && npm ci --no-audit --no-fund) >"$LOG_DIR/npm-ci.log" 2>&1 \
    || { tail -30 "$LOG_DIR/npm-ci.log" >&2; fail "npm ci" "npm ci failed; see $LOG_DIR/npm-ci.log"; }
  echo "$want" >"$stamp"
fi
