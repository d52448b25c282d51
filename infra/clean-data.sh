#!/usr/bin/env bash
# clean-data.sh: wipes broker data and the registry's state together. The registry keeps its
# schemas in Kafka (kafkasql), so they go in one step; keeping one without the other would let
# new schema ids collide with ids baked into old records.
source "$(dirname "$0")/lib.sh"
for f in "$RUN_DIR"/kafka-*.pid "$RUN_DIR/registry.pid"; do
  [ -e "$f" ] && pid_alive "$f" && fail "clean-data" "servers are running; run 'make down' first"
done
rm -rf "$INFRA_DIR"/kafka/cluster-* "$INFRA_DIR/env"
say "broker and registry data removed"
