#!/usr/bin/env bash
# node.sh: makes the project's Node.js LTS line available. A machine whose `node` is already on
# that major line is used as it is; any other (older, or a newer line nothing was tested on) gets
# the pinned release from the npm registry (node-<os>-<arch>, binary plus headers for node-gyp)
# under .tools/, which the Makefile and bin/solvermesh put first on PATH. Prints the bin dir used.
source "$(dirname "$0")/lib.sh"
TOOLS=$ROOT/.tools
want_major=${NODE_VERSION%%.*}
if [ -x "$TOOLS/node/bin/node" ] && [ "$("$TOOLS/node/bin/node" --version)" = "v$NODE_VERSION" ]; then
  echo "$TOOLS/node/bin"; exit 0
fi
sys_major=$(node --version 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p')
if [ "${sys_major:-0}" = "$want_major" ] && [ ! -e "$TOOLS/node" ]; then
  dirname "$(command -v node)"; exit 0
fi
command -v npm >/dev/null 2>&1 || fail "node" "Node.js $NODE_VERSION is needed and npm (to fetch it from the npm registry) is not on PATH; install Node.js $want_major LTS"
case "$(uname -m)" in x86_64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) fail "node" "no Node.js build for $(uname -m) on the npm registry; install Node.js $want_major LTS and put it on PATH" ;; esac
pkg=node-$(uname -s | tr 'A-Z' 'a-z')-$arch@$NODE_VERSION
say "fetching Node.js $NODE_VERSION ($pkg) from the npm registry into .tools/ (machine has ${sys_major:-no} node${sys_major:+ v$sys_major})" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$pkg" >"$LOG_DIR/node-fetch.log" 2>&1) \
  || fail "node" "npm pack $pkg failed (is the npm registry reachable?); see $LOG_DIR/node-fetch.log"
tar xzf "$tmp"/node-*.tgz -C "$tmp" || fail "node" "could not unpack $pkg"
[ -x "$tmp/package/bin/node" ] || fail "node" "$pkg has no bin/node"
mkdir -p "$TOOLS"
rm -rf "$TOOLS/node-v$NODE_VERSION"
mv "$tmp/package" "$TOOLS/node-v$NODE_VERSION"
ln -sfn "node-v$NODE_VERSION" "$TOOLS/node"
echo "$TOOLS/node/bin"
