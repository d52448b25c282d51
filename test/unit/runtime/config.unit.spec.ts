import assert from 'node:assert/strict';
import { loadConfig } from '../../../services/runtime/config';

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
        assert.match(err.message, /KAFKA_BROKERS entry "nohost" is not host:port/);
        assert.match(err.message, /KAFKA_CLIENT="java" must be kafkajs or rdkafka/);
        assert.match(err.message, /HTTP_PORT="99999" is not an integer in \[0, 65535\]/);
        assert.match(err.message, /REDIS_URL=http:\/\/x must use redis: or rediss:/);
        return true;
      },
    );
  });
});
