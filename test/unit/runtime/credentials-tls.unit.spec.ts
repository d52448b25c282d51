// How the environment's TLS and SASL settings become each Kafka engine's client settings
// (credentials.ts): the CA comes from a file named in the environment, never the command line.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkajsConfig, rdkafkaAuth } from '../../../services/runtime/credentials';

describe('credentials: TLS towards Kafka (KAFKA_SSL_CA_FILE)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sm-cred-tls-'));
  const ca = join(dir, 'ca.crt');
  const password = join(dir, 'kafka.password');
  const pem = '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n';
  writeFileSync(ca, pem);
  writeFileSync(password, 'pw\n');
  after(() => rmSync(dir, { recursive: true, force: true }));
  const sasl = { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'solver', KAFKA_SASL_PASSWORD_FILE: password };
  const base = { clientId: 'c', brokers: ['127.0.0.1:19092'] };

  it('given SASL and a CA file, when the engines are configured, then kafkajs trusts only that CA and node-rdkafka speaks sasl_ssl with it', () => {
    const env = { ...sasl, KAFKA_SSL_CA_FILE: ca };
    const js = kafkajsConfig(base, env);
    assert.deepEqual(js.ssl, { ca: [pem.trimEnd()], rejectUnauthorized: true });
    assert.deepEqual(js.sasl, { mechanism: 'scram-sha-512', username: 'solver', password: 'pw' });
    assert.deepEqual(rdkafkaAuth(env), {
      'security.protocol': 'sasl_ssl', 'ssl.ca.location': ca, 'ssl.endpoint.identification.algorithm': 'https',
      'sasl.mechanisms': 'SCRAM-SHA-512', 'sasl.username': 'solver', 'sasl.password': 'pw',
    });
  });

  it('given SASL without a CA file, when the engines are configured, then both stay on plaintext SASL', () => {
    assert.equal(kafkajsConfig(base, sasl).ssl, false);
    assert.equal(rdkafkaAuth(sasl)['security.protocol'], 'sasl_plaintext');
    assert.equal(rdkafkaAuth(sasl)['ssl.ca.location'], undefined);
  });

  it('given a CA file without SASL, when the engines are configured, then both speak TLS without authenticating', () => {
    const env = { KAFKA_SSL_CA_FILE: ca };
    assert.deepEqual(kafkajsConfig(base, env).ssl, { ca: [pem.trimEnd()], rejectUnauthorized: true });
    assert.equal(kafkajsConfig(base, env).sasl, undefined);
    assert.equal(rdkafkaAuth(env)['security.protocol'], 'ssl');
  });

  it('given neither, when the engines are configured, then nothing is added (the default stack)', () => {
    assert.deepEqual(kafkajsConfig(base, {}), base);
    assert.deepEqual(rdkafkaAuth({}), {});
  });

  it('given a CA file that cannot be read, when kafkajs is configured, then it fails naming the variable', () => {
    assert.throws(() => kafkajsConfig(base, { KAFKA_SSL_CA_FILE: join(dir, 'missing.crt') }), /KAFKA_SSL_CA_FILE=.*missing\.crt.*cannot read/);
  });
});
