// Used only where a Docker engine answers: Kafka (KRaft), Apicurio and Redis as containers.
import { GenericContainer, Network, Wait } from 'testcontainers';
import type { InfraEnv } from './infra';

export async function startContainers(): Promise<InfraEnv> {
  const network = await new Network().start();
  const kafka = await new GenericContainer('apache/kafka:4.1.0')
    .withNetwork(network)
    .withNetworkAliases('kafka')
    .withExposedPorts({ container: 9092, host: 19092 })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,INTERNAL://:29092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://127.0.0.1:19092,INTERNAL://kafka:29092',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  const registry = await new GenericContainer('apicurio/apicurio-registry:3.3.3')
    .withNetwork(network)
    .withExposedPorts(8080)
    .withEnvironment({ APICURIO_STORAGE_KIND: 'kafkasql', APICURIO_KAFKASQL_BOOTSTRAP_SERVERS: 'kafka:29092' })
    .withWaitStrategy(Wait.forHttp('/health/ready', 8080))
    .start();
  const redis = await new GenericContainer('redis:7').withExposedPorts(6379).start();
  return {
    KAFKA_BROKERS: `127.0.0.1:${kafka.getMappedPort(9092)}`,
    SCHEMA_REGISTRY_URL: `http://127.0.0.1:${registry.getMappedPort(8080)}/apis/ccompat/v7`,
    REDIS_URL: `redis://127.0.0.1:${redis.getMappedPort(6379)}`,
  };
}
