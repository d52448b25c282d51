# Shared by the secured stack's scripts (infra/secure.sh, infra/kafka.sh with SECURE=1). Sourced
# after lib.sh. Secrets are random per data set, kept in $SECURE_DIR/secrets (mode 600), and
# reach the servers through files and Java @argfiles, never through a command line.
SECURE_DIR=$INFRA_DIR/secure
SECRETS=$SECURE_DIR/secrets
SECURE_REDIS_PORT=${SECURE_REDIS_PORT:-6380}
SECURE_REGISTRY_PORT=${SECURE_REGISTRY_PORT:-18081}
SECURE_APICURIO_PORT=${SECURE_APICURIO_PORT:-18082}
SECURE_APICURIO_MGMT_PORT=${SECURE_APICURIO_MGMT_PORT:-18092}

# One principal per service, as topics/access.ts declares them (a unit spec keeps the two equal).
SERVICE_PRINCIPALS="solver verifier consensus coordinator guardian impedance gateway simulator"
# broker: inter-broker (SCRAM); controller: the KRaft controller listener (PLAIN, in the broker's
# config: SCRAM users live in the metadata the controllers serve); operator: admin, ACLs, schema
# registration; registry: Apicurio's kafkasql storage; nobody: a valid login without any ACL.
KAFKA_PRINCIPALS="broker operator registry nobody $SERVICE_PRINCIPALS"

# secret <name>: the password of <name>, created on first use.
secret() {
  local f=$SECRETS/$1.password
  if [ ! -s "$f" ]; then
    (umask 077; mkdir -p "$SECRETS"; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$f")
  fi
  cat "$f"
}

# The StorageTool arguments creating every SCRAM user (one per line, for an @argfile).
secure_scram_args() {
  local p
  for p in $KAFKA_PRINCIPALS; do
    printf '%s\n' --add-scram "SCRAM-SHA-512=[name=$p,password=$(secret "kafka-$p")]"
  done
}

# secure_broker_properties <broker port> <controller port>: appended to a node's server.properties.
# SASL_PLAINTEXT: every listener is bound to 127.0.0.1, where only local processes connect and
# reading loopback traffic needs root; SASL authenticates each of them and ACLs confine it.
secure_broker_properties() {
  cat <<PROPS
# --- secured cluster (infra/secure-lib.sh) ---
listeners=SASL_PLAINTEXT://127.0.0.1:$1,CONTROLLER://127.0.0.1:$2
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:$1
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
sasl.mechanism.controller.protocol=PLAIN
listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$(secret kafka-broker)";
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="$(secret kafka-controller)" user_controller="$(secret kafka-controller)";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:broker;User:controller;User:operator
PROPS
}

# The Redis ACL file: the default user is off (no password, no access); each service's user has
# the commands and key patterns it needs. Keys are <TOPIC_PREFIX>mesh:* (the impedance registry,
# services/impedance) and <prefix>gateway:rate:* (the gateway's rate limits). %R~ is read-only.
secure_redis_acl() {
  # After the categories: -@dangerous takes INFO, which ioredis's ready check sends.
  local common='+ping +info +hello +client|setname +select'
  cat <<ACL
user default off nopass -@all
user operator on #$(printf %s "$(secret redis-operator)" | sha256sum | cut -d' ' -f1) ~* &* +@all
user impedance on #$(printf %s "$(secret redis-impedance)" | sha256sum | cut -d' ' -f1) ~*mesh:* resetchannels -@all +@read +@write +@scripting -@dangerous +scan +unlink $common
user gateway on #$(printf %s "$(secret redis-gateway)" | sha256sum | cut -d' ' -f1) %R~*mesh:* ~*gateway:rate:* resetchannels -@all +@read +@write +@scripting -@dangerous $common
user cli on #$(printf %s "$(secret redis-cli)" | sha256sum | cut -d' ' -f1) %R~*mesh:* resetchannels -@all +@read +@scripting -@dangerous $common
ACL
}

# The identities the registry proxy knows: operator may write, every other may read.
REGISTRY_IDENTITIES="operator $SERVICE_PRINCIPALS cli"
