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

# The stack's TLS material (issue 20), made at `make up SECURE=1` and never committed: a throwaway
# CA whose key is deleted once it has signed the one broker certificate (for 127.0.0.1 and
# localhost, which every node of the 1- or 3-broker cluster serves), so nothing else can ever be
# issued under it. Clients trust $TLS_CA and nothing else; the brokers serve $TLS_KEYSTORE (PKCS12,
# its password a secret like the others). Reused while valid for another day, remade otherwise.
TLS_DIR=$SECURE_DIR/tls
TLS_CA=$TLS_DIR/ca.crt
TLS_KEYSTORE=$TLS_DIR/broker.p12
TLS_DAYS=${SECURE_TLS_DAYS:-30}

secure_tls() {
  if [ -s "$TLS_CA" ] && [ -s "$TLS_KEYSTORE" ] && [ -s "$TLS_DIR/broker.crt" ] \
    && openssl x509 -checkend 86400 -noout -in "$TLS_DIR/broker.crt" >/dev/null 2>&1; then
    return 0
  fi
  mkdir -p "$SECURE_DIR"
  local tmp; tmp=$(umask 077; mktemp -d "$SECURE_DIR/tls.XXXXXX")
  (
    umask 077
    cd "$tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days "$TLS_DAYS" \
      -subj "/CN=solvermesh secured stack CA $(date -u +%Y%m%dT%H%M%SZ)" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj "/CN=solvermesh-broker"
    printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
      'extendedKeyUsage=serverAuth,clientAuth' 'subjectAltName=IP:127.0.0.1,DNS:localhost' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out broker.crt \
      -days "$TLS_DAYS" -extfile broker.ext
    # The keystore password reaches openssl through a file descriptor, not its command line.
    openssl pkcs12 -export -in broker.crt -inkey broker.key -certfile ca.crt -name broker \
      -out broker.p12 -passout fd:3 3< <(secret tls-keystore)
    rm -f ca.key ca.srl broker.csr broker.ext broker.key
    chmod 644 ca.crt broker.crt
  ) >"$LOG_DIR/secure-tls.log" 2>&1 || { rm -rf "$tmp"; fail "tls" "could not make the CA and broker certificate; see $LOG_DIR/secure-tls.log"; }
  rm -rf "$TLS_DIR"; mv "$tmp" "$TLS_DIR"; chmod 755 "$TLS_DIR"
  say "TLS: throwaway CA and broker certificate in $TLS_DIR (valid $TLS_DAYS days; CA key deleted)"
}

# secure_broker_properties <broker port> <controller port>: appended to a node's server.properties.
# Clients and brokers speak SASL_SSL: SCRAM authenticates, TLS (certificate checked against the
# stack's CA, host name included) keeps passwords' exchanges and records private on the wire. The
# KRaft controller listener stays SASL_PLAINTEXT on 127.0.0.1: only the nodes themselves speak it.
secure_broker_properties() {
  cat <<PROPS
# --- secured cluster (infra/secure-lib.sh) ---
listeners=SASL_SSL://127.0.0.1:$1,CONTROLLER://127.0.0.1:$2
advertised.listeners=SASL_SSL://127.0.0.1:$1
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=SASL_SSL
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS_KEYSTORE
ssl.keystore.password=$(secret tls-keystore)
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_CA
ssl.endpoint.identification.algorithm=https
ssl.client.auth=none
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
sasl.mechanism.controller.protocol=PLAIN
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$(secret kafka-broker)";
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
  # After the categories: -@dangerous takes INFO, which ioredis's ready check sends. MULTI/EXEC
  # (not in @read or @write): the registry's writes and its summary read are one transaction each,
  # so a summary names the positions its entries are as of; the commands inside are still checked.
  local common='+ping +info +hello +client|setname +select +multi +exec +discard'
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
