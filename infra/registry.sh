#!/usr/bin/env bash
# registry.sh start|stop: Apicurio Registry with Kafka-backed (kafkasql) storage, so schema ids
# live in the same log as the records that carry them and survive restarts.
source "$(dirname "$0")/lib.sh"
cmd=${1:?start|stop}; bootstrap=${2:-127.0.0.1:9092}; brokers=${3:-1}
REG_DIR=$INFRA_DIR/apicurio/$APICURIO_VERSION
PIDF=$RUN_DIR/registry.pid

ready() { curl -fsS "http://127.0.0.1:$REGISTRY_MGMT_PORT/health/ready" >/dev/null 2>&1 \
          && curl -fsS "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7/subjects" >/dev/null 2>&1; }

# Stops waiting early when the JVM has died: a crash must not cost the whole timeout.
ready_or_dead() { ready || [ ! -d "/proc/$1" ]; }

start() {
  local java21
  java21=$(find_java21) || fail "registry java" "Apicurio $APICURIO_VERSION needs Java 21+; none found (checked \$REGISTRY_JAVA, java on PATH, /usr/lib/jvm/*). Install a JDK 21+ and set REGISTRY_JAVA=/path/to/bin/java"
  [ -f "$REG_DIR/.complete" ] || fail "registry" "Apicurio missing: run infra/fetch.sh"
  if pid_alive "$PIDF"; then say "registry already running (pid $(cat "$PIDF"))"; return; fi
  for p in "$REGISTRY_PORT" "$REGISTRY_MGMT_PORT"; do
    port_open "$p" && fail "registry start" "port $p is taken by another process (not started by infra/)"
  done
  setsid nohup "$java21" -Xms128m -Xmx384m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dsolvermesh.infra="$INFRA_DIR" \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MGMT_PORT" \
    -Dapicurio.storage.kind=kafkasql \
    -Dapicurio.kafkasql.bootstrap.servers="$bootstrap" \
    -Dapicurio.rest.deletion.artifact.enabled=true \
    -Dapicurio.rest.deletion.artifact-version.enabled=true \
    -Dquarkus.log.level=INFO \
    -jar "$REG_DIR/quarkus-run.jar" >"$LOG_DIR/registry.log" 2>&1 </dev/null &
  echo $! >"$PIDF"
  say "started registry on 127.0.0.1:$REGISTRY_PORT (pid $!)"
  local pid=$!
  wait_for "registry" 120 ready_or_dead "$pid" \
    || fail "registry ready" "no answer on http://127.0.0.1:$REGISTRY_MGMT_PORT/health/ready within 120 s; see $LOG_DIR/registry.log"
  [ -d "/proc/$pid" ] || fail "registry start" "registry exited during startup; see $LOG_DIR/registry.log"
  say "registry ready at http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"
}

case "$cmd" in
  start) start;;
  stop) stop_pid registry;;
  *) fail "registry" "unknown command $cmd";;
esac
