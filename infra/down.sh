#!/usr/bin/env bash
# down.sh: stops exactly what up.sh started, by the PIDs it recorded (registry first: it writes
# to Kafka), and nothing else. A reused Redis we did not start is left alone.
source "$(dirname "$0")/lib.sh"
stop_pid registry
stop_pids kafka-3-1 kafka-3-2 kafka-3-3 kafka-1-1
stop_pid redis
rm -f "$RUN_DIR/brokers"
say "down"
