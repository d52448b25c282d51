#!/usr/bin/env bash
# redis.sh start|stop: reuse the Redis answering on $REDIS_URL; otherwise start our own on that
# port (installing redis-server from Debian when missing). Only a Redis we started is stopped.
source "$(dirname "$0")/lib.sh"
cmd=${1:?start|stop}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
hostport=${REDIS_URL#redis://}; hostport=${hostport#*@}; hostport=${hostport%%/*}
port=${hostport##*:}; [ "$port" = "$hostport" ] && port=6379
PIDF=$RUN_DIR/redis.pid

ping() { redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG; }

start() {
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    say "redis-server not found, installing from Debian"
    (apt-get install -y -q redis-server || { apt-get update -q && apt-get install -y -q redis-server; }) \
      >"$LOG_DIR/apt-redis.log" 2>&1 || fail "redis install" "apt-get install redis-server failed; see $LOG_DIR/apt-redis.log"
  fi
  if ping; then say "reusing Redis at $REDIS_URL"; return; fi
  if pid_alive "$PIDF"; then fail "redis" "our Redis (pid $(cat "$PIDF")) runs but does not answer PING at $REDIS_URL"; fi
  port_open "$port" && fail "redis start" "port $port is taken by a process that does not answer Redis PING"
  mkdir -p "$INFRA_DIR/redis"
  # No persistence: Redis is a projection rebuilt from the log (DESIGN.md invariant 1).
  setsid nohup redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
    --dir "$INFRA_DIR/redis" --logfile "$LOG_DIR/redis.log" </dev/null >/dev/null 2>&1 &
  echo $! >"$PIDF"
  wait_for "redis" 20 ping || fail "redis ready" "no PONG from $REDIS_URL within 20 s; see $LOG_DIR/redis.log"
  say "started Redis at $REDIS_URL (pid $(cat "$PIDF"))"
}

case "$cmd" in
  start) start;;
  stop) stop_pid redis;;
  *) fail "redis" "unknown command $cmd";;
esac
