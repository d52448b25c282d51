// A missing topic would leave a log reader waiting for partition ends that never come: say
// which topic is missing and how to create it, at once.
import { Kafka, logLevel } from 'kafkajs';
import { kafkajsConfig } from '../runtime/credentials';

export async function requireTopics(brokers: readonly string[], topics: readonly string[]): Promise<void> {
  const admin = new Kafka(kafkajsConfig({ clientId: 'solvermesh-cli', brokers: [...brokers], logLevel: logLevel.NOTHING })).admin();
  await admin.connect();
  try {
    const known = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !known.has(t));
    if (missing.length > 0) throw new Error(`topic ${missing.join(', ')} does not exist (run 'solvermesh topics apply'?)`);
  } finally {
    await admin.disconnect();
  }
}
