#!/usr/bin/env bash
# Fetches Kafka's jars and the Apicurio registry through Maven Central (cached in ~/.m2 and
# .infra/). Idempotent: a complete fetch is recorded by a stamp file and skipped next time.
source "$(dirname "$0")/lib.sh"
require_java
command -v mvn >/dev/null 2>&1 || fail "maven" "mvn not found on PATH: apt-get install -y maven"

KAFKA_LIBS=$INFRA_DIR/kafka/libs
if [ ! -f "$KAFKA_LIBS/.complete-$KAFKA_VERSION" ]; then
  say "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central"
  rm -rf "$KAFKA_LIBS"
  mvn -B -q -f "$ROOT/infra/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" \
    >"$LOG_DIR/fetch-kafka.log" 2>&1 \
    || fail "fetch kafka" "Maven could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION (is Maven Central reachable?); see $LOG_DIR/fetch-kafka.log"
  touch "$KAFKA_LIBS/.complete-$KAFKA_VERSION"
fi

REG_DIR=$INFRA_DIR/apicurio/$APICURIO_VERSION
if [ ! -f "$REG_DIR/.complete" ]; then
  say "fetching Apicurio Registry $APICURIO_VERSION from Maven Central"
  artifact=io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all
  dl=$INFRA_DIR/apicurio/download
  mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy -Dartifact="$artifact" \
    -DoutputDirectory="$dl" >"$LOG_DIR/fetch-apicurio.log" 2>&1 \
    || fail "fetch registry" "Maven could not fetch $artifact (is Maven Central reachable?); see $LOG_DIR/fetch-apicurio.log"
  tgz="$dl/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
  [ -f "$tgz" ] || fail "fetch registry" "downloaded archive not found at $tgz"
  rm -rf "$REG_DIR"; mkdir -p "$REG_DIR"
  tar xzf "$tgz" -C "$REG_DIR" || fail "unpack registry" "could not unpack $tgz"
  [ -f "$REG_DIR/quarkus-run.jar" ] || fail "unpack registry" "quarkus-run.jar missing in $REG_DIR"
  rm -rf "$dl"
  touch "$REG_DIR/.complete"
fi
say "downloads present (Kafka $KAFKA_VERSION, Apicurio $APICURIO_VERSION)"
