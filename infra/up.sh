#!/usr/bin/env bash
# up.sh [brokers]: fetch (cached), then start Kafka (KRaft), the schema registry and Redis, each
# only if not already running, and write .infra/env. Safe to run again: a second run is quick.
source "$(dirname "$0")/lib.sh"
brokers=${1:-${BROKERS:-1}}
if [ -f "$RUN_DIR/brokers" ] && [ "$(cat "$RUN_DIR/brokers")" != "$brokers" ] && pid_alive "$RUN_DIR/kafka-$(cat "$RUN_DIR/brokers")-1.pid"; then
  fail "kafka" "a $(cat "$RUN_DIR/brokers")-broker cluster is running; run 'make down' before 'make up BROKERS=$brokers'"
fi
"$ROOT/infra/fetch.sh"
"$ROOT/infra/kafka.sh" start "$brokers"
bootstrap=$("$ROOT/infra/kafka.sh" bootstrap "$brokers")
"$ROOT/infra/registry.sh" start "$bootstrap" "$brokers"
"$ROOT/infra/redis.sh" start
cat >"$INFRA_DIR/env" <<ENV
KAFKA_BROKERS=$bootstrap
SCHEMA_REGISTRY_URL=http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
ENV
say "all up; environment in $INFRA_DIR/env:"
sed 's/^/  /' "$INFRA_DIR/env"
