#!/usr/bin/env bash
# secure.sh start|stop [brokers]: the secured stack (issue 20), beside the default one and
# sharing nothing with it but the downloads: Kafka with SASL/SCRAM over TLS and ACLs (ports
# 19092.., infra/kafka.sh SECURE=1; a throwaway CA in $SECURE_DIR/tls), Redis with an ACL user per service (6380), and Apicurio behind an
# authenticating proxy (18081) that lets only the operator register schemas. Writes
# $SECURE_DIR/env (the operator's identity) and $SECURE_DIR/<service>.env (each service's).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/secure-lib.sh"
cmd=${1:?start|stop|env}; brokers=${2:-${BROKERS:-1}}

operator_env() {
  cat <<ENV
KAFKA_BROKERS=$(SECURE=1 "$ROOT/infra/kafka.sh" bootstrap "$brokers")
KAFKA_SASL_MECHANISM=scram-sha-512
KAFKA_SSL_CA_FILE=$TLS_CA
SCHEMA_REGISTRY_URL=http://127.0.0.1:$SECURE_REGISTRY_PORT/apis/ccompat/v7
REDIS_URL=redis://127.0.0.1:$SECURE_REDIS_PORT
ENV
}

# identity_env <kafka user> <redis user> <registry user>: the variables naming one identity.
identity_env() {
  cat <<ENV
KAFKA_SASL_USERNAME=$1
KAFKA_SASL_PASSWORD_FILE=$SECRETS/kafka-$1.password
REDIS_USERNAME=$2
REDIS_PASSWORD_FILE=$SECRETS/redis-$2.password
SCHEMA_REGISTRY_USERNAME=$3
SCHEMA_REGISTRY_PASSWORD_FILE=$SECRETS/registry-$3.password
ENV
}

redis_user_of() {
  case "$1" in impedance|gateway) echo "$1";; *) echo cli;; esac
}

write_env() {
  mkdir -p "$SECURE_DIR"
  { operator_env; identity_env operator operator operator; } >"$SECURE_DIR/env"
  local p
  for p in $KAFKA_PRINCIPALS; do
    case "$p" in broker|registry) continue;; esac
    secret "kafka-$p" >/dev/null
    local r; r=$(redis_user_of "$p")
    [ "$p" = operator ] && r=operator
    secret "redis-$r" >/dev/null
    local g=$p; [ "$p" = nobody ] && g=cli
    secret "registry-$g" >/dev/null
    { operator_env; identity_env "$p" "$r" "$g"; } >"$SECURE_DIR/$p.env"
  done
}

start_kafka() {
  SECURE=1 KAFKA_HEAP=${KAFKA_SECURE_HEAP:-512m} KAFKA_SASL_MECHANISM=scram-sha-512 KAFKA_SASL_USERNAME=operator KAFKA_SSL_CA_FILE="$TLS_CA" \
    KAFKA_SASL_PASSWORD_FILE="$SECRETS/kafka-operator.password" "$ROOT/infra/kafka.sh" start "$brokers"
}

with_operator() { (set -a; . "$SECURE_DIR/env"; set +a; "$@"); }

apply_acls() {
  # The services' ACLs for the unprefixed namespace (make demo SECURE=1) and the registry's own;
  # a run under a TOPIC_PREFIX applies its own (bin/solvermesh acls apply).
  with_operator npx --no-install tsx "$ROOT/services/cli/main.ts" acls apply --registry >"$LOG_DIR/secure-acls.log" 2>&1 \
    || fail "acls" "could not apply the ACLs; see $LOG_DIR/secure-acls.log"
  say "ACLs applied (topics/access.ts)"
}

redis_ping() { REDISCLI_AUTH=$(secret redis-operator) redis-cli -p "$SECURE_REDIS_PORT" --user operator ping 2>/dev/null | grep -q PONG; }

start_redis() {
  local pidf=$RUN_DIR/redis-secure.pid
  command -v redis-server >/dev/null 2>&1 || fail "redis" "redis-server not found: run make up (it installs it) or apt-get install -y redis-server"
  (umask 077; mkdir -p "$SECURE_DIR/redis"; secure_redis_acl >"$SECURE_DIR/redis.acl")
  if pid_alive "$pidf"; then
    # A running server takes a changed ACL file on ACL LOAD.
    REDISCLI_AUTH=$(secret redis-operator) redis-cli -p "$SECURE_REDIS_PORT" --user operator acl load >/dev/null
    say "secured Redis already running (pid $(cat "$pidf")), ACLs reloaded"; return
  fi
  port_open "$SECURE_REDIS_PORT" && fail "redis start" "port $SECURE_REDIS_PORT is taken by another process"
  # No persistence, as the default stack's: Redis is a projection rebuilt from the log.
  setsid nohup redis-server --bind 127.0.0.1 --port "$SECURE_REDIS_PORT" --save "" --appendonly no \
    --aclfile "$SECURE_DIR/redis.acl" --dir "$SECURE_DIR/redis" --logfile "$LOG_DIR/redis-secure.log" </dev/null >/dev/null 2>&1 &
  echo $! >"$pidf"
  wait_for "redis" 20 redis_ping || fail "redis ready" "no PONG from the operator on port $SECURE_REDIS_PORT within 20 s; see $LOG_DIR/redis-secure.log"
  say "started secured Redis on 127.0.0.1:$SECURE_REDIS_PORT (pid $(cat "$pidf")), default user off"
}

apicurio_ready() { curl -fsS "http://127.0.0.1:$SECURE_APICURIO_MGMT_PORT/health/ready" >/dev/null 2>&1; }
apicurio_ready_or_dead() { apicurio_ready || [ ! -d "/proc/$1" ]; }
proxy_ready() { curl -fsS -u "operator:$(secret registry-operator)" "http://127.0.0.1:$SECURE_REGISTRY_PORT/apis/ccompat/v7/subjects" >/dev/null 2>&1; }

# Apicurio with kafkasql storage on the secured cluster as its own principal (registry), on
# ports nobody else is told about; the clients' address is the proxy's.
start_registry() {
  local pidf=$RUN_DIR/registry-secure.pid java21 conf=$SECURE_DIR/registry.properties kafka
  java21=$(find_java21) || fail "registry java" "Apicurio $APICURIO_VERSION needs Java 21+; set REGISTRY_JAVA=/path/to/bin/java"
  if pid_alive "$pidf"; then say "secured registry already running (pid $(cat "$pidf"))"; else
    for p in "$SECURE_APICURIO_PORT" "$SECURE_APICURIO_MGMT_PORT"; do
      port_open "$p" && fail "registry start" "port $p is taken by another process"
    done
    kafka="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"registry\" password=\"$(secret kafka-registry)\";"
    (umask 077; for c in producer consumer admin; do
      printf 'apicurio.kafkasql.%s.security.protocol=SASL_SSL\napicurio.kafkasql.%s.sasl.mechanism=SCRAM-SHA-512\napicurio.kafkasql.%s.sasl.jaas.config=%s\n' "$c" "$c" "$c" "$kafka"
      printf 'apicurio.kafkasql.%s.ssl.truststore.type=PEM\napicurio.kafkasql.%s.ssl.truststore.location=%s\n' "$c" "$c" "$TLS_CA"
    done >"$conf")
    setsid nohup "$java21" -Xms128m -Xmx384m -XX:+UseG1GC -Djava.awt.headless=true \
      -Dsolvermesh.infra="$INFRA_DIR" -Dquarkus.config.locations="file:$conf" \
      -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$SECURE_APICURIO_PORT" \
      -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$SECURE_APICURIO_MGMT_PORT" \
      -Dapicurio.storage.kind=kafkasql -Dapicurio.kafkasql.bootstrap.servers="$(SECURE=1 "$ROOT/infra/kafka.sh" bootstrap "$brokers")" \
      -Dapicurio.rest.deletion.artifact.enabled=true -Dapicurio.rest.deletion.artifact-version.enabled=true \
      -jar "$INFRA_DIR/apicurio/$APICURIO_VERSION/quarkus-run.jar" >"$LOG_DIR/registry-secure.log" 2>&1 </dev/null &
    echo $! >"$pidf"
    local pid=$!
    wait_for "registry" 180 apicurio_ready_or_dead "$pid" \
      || fail "registry ready" "no answer on http://127.0.0.1:$SECURE_APICURIO_MGMT_PORT/health/ready within 180 s; see $LOG_DIR/registry-secure.log"
    [ -d "/proc/$pid" ] || fail "registry start" "registry exited during startup; see $LOG_DIR/registry-secure.log"
    say "started secured registry (Apicurio, 127.0.0.1:$SECURE_APICURIO_PORT, pid $pid)"
  fi
  pidf=$RUN_DIR/registry-proxy.pid
  if pid_alive "$pidf"; then say "registry proxy already running (pid $(cat "$pidf"))"; return; fi
  port_open "$SECURE_REGISTRY_PORT" && fail "registry proxy" "port $SECURE_REGISTRY_PORT is taken by another process"
  local id
  for id in $REGISTRY_IDENTITIES; do secret "registry-$id" >/dev/null; done
  setsid nohup node "$ROOT/infra/registry-proxy.mjs" "$SECURE_REGISTRY_PORT" "$SECURE_APICURIO_PORT" "$SECRETS" \
    "$(echo $REGISTRY_IDENTITIES | tr ' ' ,)" operator >"$LOG_DIR/registry-proxy.log" 2>&1 </dev/null &
  echo $! >"$pidf"
  wait_for "registry proxy" 30 proxy_ready || fail "registry proxy" "the proxy did not answer the operator within 30 s; see $LOG_DIR/registry-proxy.log"
  say "registry proxy at http://127.0.0.1:$SECURE_REGISTRY_PORT/apis/ccompat/v7 (reads: every service; writes: operator)"
}

start() {
  "$ROOT/infra/fetch.sh"
  secure_tls
  write_env
  start_kafka
  apply_acls
  start_redis
  start_registry
  say "secured stack up; operator environment in $SECURE_DIR/env, each service's in $SECURE_DIR/<service>.env"
}

stop() {
  local b=$brokers
  [ -f "$RUN_DIR/secure-brokers" ] && b=$(cat "$RUN_DIR/secure-brokers")
  stop_pids registry-proxy registry-secure
  stop_pid redis-secure
  SECURE=1 "$ROOT/infra/kafka.sh" stop "$b"
  rm -f "$RUN_DIR/secure-brokers"
}

case "$cmd" in
  start) start;;
  stop) stop;;
  *) fail "secure" "unknown command $cmd";;
esac
