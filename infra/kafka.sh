#!/usr/bin/env bash
# kafka.sh start|stop <brokers>: a KRaft cluster of 1 or 3 combined broker+controller nodes.
# Node i listens on 127.0.0.1:(KAFKA_PORT_BASE+100*(i-1)) (base 9092), its controller one above.
# SECURE=1: the secured cluster (infra/secure.sh) beside it, with its own ports (base 19092), data
# and PID files, SASL/SCRAM listeners and ACLs (infra/kafka/secure.properties.tmpl).
source "$(dirname "$0")/lib.sh"
cmd=${1:?start|stop}; brokers=${2:-1}
case "$brokers" in 1|3) ;; *) fail "kafka" "BROKERS must be 1 or 3, got '$brokers'";; esac

LIBS=$INFRA_DIR/kafka/libs
if [ "${SECURE:-0}" = 1 ]; then
  source "$(dirname "$0")/secure-lib.sh"
  TAG=secure-$brokers
  PORT_BASE=${KAFKA_SECURE_PORT_BASE:-19092}
else
  TAG=$brokers
  PORT_BASE=${KAFKA_PORT_BASE:-9092}
fi
CLUSTER_DIR=$INFRA_DIR/kafka/cluster-$TAG
broker_port()     { echo $((PORT_BASE + 100 * ($1 - 1))); }
controller_port() { echo $((PORT_BASE + 1 + 100 * ($1 - 1))); }
bootstrap() { local i out=""; for i in $(seq 1 "$brokers"); do out+="${out:+,}127.0.0.1:$(broker_port "$i")"; done; echo "$out"; }

start() {
  require_java
  [ -f "$LIBS/.complete-$KAFKA_VERSION" ] || fail "kafka" "Kafka jars missing: run infra/fetch.sh"
  local rf=1 isr=1 voters="" i
  [ "$brokers" = 3 ] && rf=3 isr=2
  for i in $(seq 1 "$brokers"); do voters+="${voters:+,}$i@127.0.0.1:$(controller_port "$i")"; done
  mkdir -p "$CLUSTER_DIR"
  # One cluster id per data set, kept beside the data so a re-format never happens by accident.
  if [ ! -f "$CLUSTER_DIR/cluster-id" ]; then
    java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1 >"$CLUSTER_DIR/cluster-id" \
      || fail "kafka format" "could not generate a cluster id"
  fi
  local cid; cid=$(cat "$CLUSTER_DIR/cluster-id")
  for i in $(seq 1 "$brokers"); do
    local name=kafka-$TAG-$i pidf="$RUN_DIR/kafka-$TAG-$i.pid" bport cport data conf
    bport=$(broker_port "$i"); cport=$(controller_port "$i")
    data=$CLUSTER_DIR/node-$i/data; conf=$CLUSTER_DIR/node-$i/server.properties
    if pid_alive "$pidf"; then say "$name already running (pid $(cat "$pidf"))"; continue; fi
    for p in "$bport" "$cport"; do
      port_open "$p" && fail "kafka start" "port $p is taken by another process (not started by infra/); stop it or run 'make down' if it is an older solvermesh broker"
    done
    mkdir -p "$data"
    sed -e "s|@NODE_ID@|$i|" -e "s|@BROKER_PORT@|$bport|" -e "s|@CONTROLLER_PORT@|$cport|" \
        -e "s|@VOTERS@|$voters|" -e "s|@DATA_DIR@|$data|" -e "s|@RF@|$rf|g" -e "s|@MIN_ISR@|$isr|g" \
        "$ROOT/infra/kafka/server.properties.tmpl" >"$conf"
    local format_args=(format -t "$cid" -c "$conf" --ignore-formatted)
    if [ "${SECURE:-0}" = 1 ]; then
      # The listeners, SASL and ACL settings override the template's (a later key wins); the file
      # holds the broker's and controller's passwords, so only its owner reads it.
      chmod 600 "$conf"
      secure_broker_properties "$bport" "$cport" >>"$conf"
      # SCRAM users live in the metadata log: KRaft takes them at format (--add-scram). The
      # arguments go through a Java @argfile, so no password is on a command line.
      mapfile -t scram < <(secure_scram_args)
      format_args+=("${scram[@]}")
    fi
    if [ ! -f "$data/meta.properties" ]; then
      local argfile=$CLUSTER_DIR/node-$i/format.args
      (umask 077; printf '%s\n' kafka.tools.StorageTool "${format_args[@]}" >"$argfile")
      java -cp "$LIBS/*" "@$argfile" \
        >"$LOG_DIR/$name-format.log" 2>&1 || { rm -f "$argfile"; fail "kafka format" "StorageTool format failed; see $LOG_DIR/$name-format.log"; }
      rm -f "$argfile"
    fi
    # Same JVM flags as kafka-run-class.sh / kafka-server-start.sh, with a modest heap.
    setsid nohup java -Xms${KAFKA_HEAP:-1g} -Xmx${KAFKA_HEAP:-1g} -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 \
      -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$ROOT/infra/kafka/log4j2.properties" \
      -Dsolvermesh.kafka.log="$LOG_DIR/$name.log" -Dsolvermesh.kafka.authorizer.log="$LOG_DIR/$name-authorizer.log" -Dsolvermesh.infra="$INFRA_DIR" \
      -cp "$LIBS/*" kafka.Kafka "$conf" >"$LOG_DIR/$name.out" 2>&1 </dev/null &
    echo $! >"$pidf"
    say "started $name on 127.0.0.1:$bport (pid $!)"
  done
  # Three JVMs recovering a KRaft log on two busy cores have taken over 90 s to open a port
  # (a failed CI run): a slow start is not a failed one, so the wait is generous and settable.
  local ready=${KAFKA_START_TIMEOUT:-240}
  for i in $(seq 1 "$brokers"); do
    wait_for "kafka" "$ready" port_open "$(broker_port "$i")" \
      || fail "kafka ready" "broker $i did not open port $(broker_port "$i") within $ready s; see $LOG_DIR/kafka-$TAG-$i.log"
  done
  node "$ROOT/infra/kafka-ready.mjs" "$(bootstrap)" "$brokers" "$ready" \
    || fail "kafka ready" "cluster did not answer describeCluster with $brokers broker(s); see $LOG_DIR/kafka-$TAG-*.log"
  if [ "${SECURE:-0}" = 1 ]; then echo "$brokers" >"$RUN_DIR/secure-brokers"; else echo "$brokers" >"$RUN_DIR/brokers"; fi
  say "Kafka ready at $(bootstrap)"
}

stop() {
  stop_pids $(for i in $(seq 1 "$brokers"); do echo "kafka-$TAG-$i"; done)
}

case "$cmd" in
  start) start;;
  stop) stop;;
  bootstrap) bootstrap;;
  *) fail "kafka" "unknown command $cmd";;
esac
