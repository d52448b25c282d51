// Readiness probe used by infra/kafka.sh: succeeds once describeCluster answers with the
// expected number of brokers. Usage: node kafka-ready.mjs <bootstrap> <brokers> <timeoutSec>
import kafkajs from 'kafkajs';

const [bootstrap, expected, timeoutSec] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutSec) * 1000;
const kafka = new kafkajs.Kafka({
  clientId: 'solvermesh-infra-ready',
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
