// Readiness probe used by infra/kafka.sh: succeeds once describeCluster answers with the
// expected number of brokers. Usage: node kafka-ready.mjs <bootstrap> <brokers> <timeoutSec>
import { readFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
// The same request-queue fix every service's kafkajs client gets (Node strips the types); without it
// each probe connection runs a 1 ms timer loop and prints TimeoutNegativeWarning.
import '../services/runtime/kafka/kafkajs-request-queue.ts';

const [bootstrap, expected, timeoutSec] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutSec) * 1000;
// The secured cluster (infra/secure.sh) is probed as its operator, named like services name theirs.
const mechanism = process.env.KAFKA_SASL_MECHANISM ?? 'none';
const sasl = mechanism === 'none' ? undefined : {
  mechanism, username: process.env.KAFKA_SASL_USERNAME, password: readFileSync(process.env.KAFKA_SASL_PASSWORD_FILE, 'utf8').trim(),
};
// Over TLS when the cluster's CA is named (the secured stack's listeners are SASL_SSL).
const caFile = process.env.KAFKA_SSL_CA_FILE ?? '';
const kafka = new kafkajs.Kafka({
  clientId: 'solvermesh-infra-ready',
  ...(sasl ? { sasl } : {}),
  ...(caFile !== '' ? { ssl: { ca: [readFileSync(caFile, 'utf8')] } } : {}),
  brokers: bootstrap.split(','),
  logLevel: kafkajs.logLevel.NOTHING,
  retry: { retries: 0 },
});
let last = 'no answer';
while (Date.now() < deadline) {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const { brokers } = await admin.describeCluster();
    if (brokers.length >= Number(expected)) { await admin.disconnect(); process.exit(0); }
    last = `${brokers.length} of ${expected} brokers registered`;
  } catch (err) {
    last = err.message;
  }
  await admin.disconnect().catch(() => {});
  await new Promise((r) => setTimeout(r, 500));
}
console.error(`[infra] kafka not ready: ${last}`);
process.exit(1);
