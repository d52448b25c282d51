import assert from 'node:assert/strict';
import { CONFIG_DOC, loadConfig, RUNTIME_KNOBS } from '../../../services/runtime/config';

describe('configuration from the environment', () => {
  it('gives the documented defaults for an empty environment', () => {
    const c = loadConfig({});
    assert.deepEqual(c.kafkaBrokers, ['127.0.0.1:9092']);
    assert.equal(c.schemaRegistryUrl, 'http://127.0.0.1:8081/apis/ccompat/v7');
    assert.equal(c.redisUrl, 'redis://127.0.0.1:6379');
    assert.equal(c.kafkaClient, 'rdkafka');
  });

  it('reads several brokers and trims a trailing slash from the registry URL', () => {
    const c = loadConfig({ KAFKA_BROKERS: 'a:1, b:2', SCHEMA_REGISTRY_URL: 'http://r:8081/apis/ccompat/v7/' });
    assert.deepEqual(c.kafkaBrokers, ['a:1', 'b:2']);
    assert.equal(c.schemaRegistryUrl, 'http://r:8081/apis/ccompat/v7');
  });

  it('reports every problem at once, each saying what to set', () => {
    assert.throws(
      () => loadConfig({ KAFKA_BROKERS: 'nohost', KAFKA_CLIENT: 'java', HTTP_PORT: '99999', REDIS_URL: 'http://x' }),
      (err: Error) => {
        assert.match(err.message, /KAFKA_BROKERS="nohost": comma-separated host:port, at least one; e\.g\. KAFKA_BROKERS=127\.0\.0\.1:9092/);
        assert.match(err.message, /KAFKA_CLIENT="java": one of rdkafka, kafkajs; e\.g\. KAFKA_CLIENT=rdkafka/);
        assert.match(err.message, /HTTP_PORT="99999": an integer in \[0, 65535\]; e\.g\. HTTP_PORT=9400/);
        assert.match(err.message, /REDIS_URL="http:\/\/x": a URL with redis: or rediss:/);
        return true;
      },
    );
  });

  it('gives each process its own instance id unless INSTANCE_ID is set', () => {
    assert.notEqual(loadConfig({}).instanceId, loadConfig({}).instanceId);
    assert.equal(loadConfig({ INSTANCE_ID: 'pod-0' }).instanceId, 'pod-0');
  });

  it('documents exactly the declared variables (CONFIG_DOC is derived, not a second table)', () => {
    assert.deepEqual(CONFIG_DOC.map((d) => d.env), Object.values(RUNTIME_KNOBS).map((k) => k.env));
    assert.equal(CONFIG_DOC.find((d) => d.env === 'INSTANCE_ID')?.default, '(random)');
  });
});
