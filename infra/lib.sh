# Shared helpers for the infra scripts. Sourced, never run.
# Everything we start lives under $INFRA_DIR (default: <repo>/.infra); PIDs in $RUN_DIR.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INFRA_DIR=${INFRA_DIR:-$ROOT/.infra}
RUN_DIR=$INFRA_DIR/run
LOG_DIR=$INFRA_DIR/logs
mkdir -p "$RUN_DIR" "$LOG_DIR"
# The project's Node (infra/node.sh) before the machine's, for every script that runs node or npm.
[ -d "$ROOT/.tools/node/bin" ] && PATH=$ROOT/.tools/node/bin:$PATH

# The Node.js LTS release everything runs on (infra/node.sh installs it when the machine lacks it).
NODE_VERSION=24.22.3
KAFKA_VERSION=4.3.1
APICURIO_VERSION=3.3.3
REGISTRY_PORT=${REGISTRY_PORT:-8081}
REGISTRY_MGMT_PORT=${REGISTRY_MGMT_PORT:-8091}

say()  { printf '[infra] %s\n' "$*"; }
fail() { printf '[infra] FAILED at step "%s": %s\n' "$1" "$2" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A PID file is ours only while that PID still runs a command line that names our infra dir;
# a recycled PID of some other program must never be signalled.
pid_alive() {
  local f=$1 pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  # Redis rewrites its process title, so its working directory (--dir) is the mark instead
  # (resolved: /proc shows it without the symbolic links INFRA_DIR may go through).
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$INFRA_DIR" \
    || readlink "/proc/$pid/cwd" 2>/dev/null | grep -qF "$(cd "$INFRA_DIR" && pwd -P)"
}

# wait_for <step> <seconds> <command...>: polls the command every 0.5 s.
wait_for() {
  local step=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.5
  done
}

# stop_pids <name...>: SIGTERM to all at once, then wait for each to exit cleanly (Kafka flushes
# and closes its logs), KILL after 60 s. All at once matters for a KRaft quorum: stopped one by
# one, the last controllers lose their majority and cannot finish a controlled shutdown.
stop_pids() {
  local name pid
  local -a names=() pids=()
  for name in "$@"; do
    if pid_alive "$RUN_DIR/$name.pid"; then
      pid=$(cat "$RUN_DIR/$name.pid"); kill -TERM "$pid" 2>/dev/null || true
      names+=("$name"); pids+=("$pid")
    fi
    rm -f "$RUN_DIR/$name.pid"
  done
  local i
  for i in "${!pids[@]}"; do
    pid=${pids[$i]}
    for _ in $(seq 1 120); do [ -d "/proc/$pid" ] || break; sleep 0.5; done
    if [ -d "/proc/$pid" ]; then say "${names[$i]} did not stop in 60 s, killing"; kill -KILL "$pid" 2>/dev/null || true; fi
    say "stopped ${names[$i]} (pid $pid)"
  done
}
stop_pid() { stop_pids "$1"; }

require_java() {
  command -v java >/dev/null 2>&1 || fail "java" "java not found on PATH: install a JDK 17+ (apt-get install -y openjdk-17-jre-headless)"
  local v
  v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
  [ "${v:-0}" -ge 17 ] || fail "java" "Java 17+ needed, found '${v:-unknown}'"
}

# Apicurio 3.3 is compiled for Java 21 (class file 65). Debian 12's default JDK is 17, so look for
# a newer one: $REGISTRY_JAVA, then every JDK under /usr/lib/jvm (this machine kind ships Temurin).
java_major() { "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
find_java21() {
  local c v
  for c in ${REGISTRY_JAVA:-} "$(command -v java 2>/dev/null)" /usr/lib/jvm/*/bin/java; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    v=$(java_major "$c"); [ "${v:-0}" -ge 21 ] && { echo "$c"; return 0; }
  done
  return 1
}
