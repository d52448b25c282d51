#!/usr/bin/env bash
# down.sh: stops exactly what up.sh started, by the PIDs it recorded (registry first: it writes
# to Kafka), and nothing else. A reused Redis we did not start is left alone.
source "$(dirname "$0")/lib.sh"
stop_pid registry
for n in 3 1; do for i in 3 2 1; do stop_pid "kafka-$n-$i"; done; done
stop_pid redis
rm -f "$RUN_DIR/brokers"
say "down"
