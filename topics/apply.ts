// Creates or updates the declared topics: missing topics are created, partition counts only
// grow (Kafka cannot shrink them, and shrinking would break key -> partition mapping), and
// configs are brought in line. Running it twice changes nothing the second time.
import { Kafka, logLevel, ConfigResourceTypes, type Admin } from 'kafkajs';
import { kafkajsConfig } from '../services/runtime/credentials';
import type { TopicSpec } from './catalog';

export interface ApplyReport {
  readonly created: string[];
  readonly grown: string[];
  readonly reconfigured: string[];
  readonly unchanged: string[];
}

export async function applyTopics(brokers: readonly string[], specs: readonly TopicSpec[], opts: { replicationFactor?: number } = {}): Promise<ApplyReport> {
  const kafka = new Kafka(kafkajsConfig({ clientId: 'solvermesh-topics', brokers: [...brokers], logLevel: logLevel.NOTHING }));
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { brokers: live } = await admin.describeCluster();
    const rf = opts.replicationFactor ?? Math.min(3, live.length);
    const existing = new Set(await admin.listTopics());
    const report: ApplyReport = { created: [], grown: [], reconfigured: [], unchanged: [] };

    const missing = specs.filter((s) => !existing.has(s.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((s) => ({
          topic: s.name,
          numPartitions: s.partitions,
          replicationFactor: rf,
          configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })),
        })),
      });
      report.created.push(...missing.map((s) => s.name));
      await waitForLeaders(admin, missing.map((s) => s.name));
    }

    const present = specs.filter((s) => existing.has(s.name));
    if (present.length === 0) return report;
    const meta = await admin.fetchTopicMetadata({ topics: present.map((s) => s.name) });
    const partitionsOf = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
    const grow = present.filter((s) => (partitionsOf.get(s.name) ?? 0) < s.partitions);
    const shrink = present.filter((s) => (partitionsOf.get(s.name) ?? 0) > s.partitions);
    if (shrink.length > 0) {
      throw new Error(`cannot shrink partitions of ${shrink.map((s) => `${s.name} (${partitionsOf.get(s.name)} > ${s.partitions})`).join(', ')}; raise the declared count or recreate the topic`);
    }
    if (grow.length > 0) {
      await admin.createPartitions({ topicPartitions: grow.map((s) => ({ topic: s.name, count: s.partitions })) });
      report.grown.push(...grow.map((s) => s.name));
    }

    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: present.map((s) => ({ type: ConfigResourceTypes.TOPIC, name: s.name, configNames: Object.keys(s.config) })),
    });
    const toAlter: TopicSpec[] = [];
    for (const s of present) {
      const res = described.resources.find((r) => r.resourceName === s.name);
      const actual = new Map((res?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
      if (Object.entries(s.config).some(([k, v]) => actual.get(k) !== v)) toAlter.push(s);
    }
    if (toAlter.length > 0) {
      // alterConfigs replaces a topic's whole dynamic config: send every declared entry.
      await admin.alterConfigs({
        validateOnly: false,
        resources: toAlter.map((s) => ({
          type: ConfigResourceTypes.TOPIC,
          name: s.name,
          configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })),
        })),
      });
      report.reconfigured.push(...toAlter.map((s) => s.name));
    }
    const touched = new Set([...report.grown, ...report.reconfigured]);
    report.unchanged.push(...present.filter((s) => !touched.has(s.name)).map((s) => s.name));
    return report;
  } finally {
    await admin.disconnect();
  }
}

/**
 * kafkajs's own wait gives up on UNKNOWN_TOPIC_OR_PARTITION, which a busy controller answers
 * for a while after creating many topics (or while deleting others); poll until every
 * partition has a leader instead.
 */
async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics });
      if (meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
      last = 'partitions without a leader';
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`topics ${topics.slice(0, 3).join(', ')}${topics.length > 3 ? ', ...' : ''} have no leaders after ${timeoutMs} ms: ${last}`);
}

/**
 * Deletes every topic whose name starts with `prefix` (a test's, a bench run's or a demo run's
 * namespace). Each namespace holds every declared topic: leftovers add up to thousands of
 * partitions and once exhausted the broker's heap.
 */
export async function deletePrefixedTopics(brokers: readonly string[], prefix: string): Promise<number> {
  if (prefix === '') throw new Error('deletePrefixedTopics needs a non-empty prefix');
  const admin = new Kafka(kafkajsConfig({ clientId: 'solvermesh-topics', brokers: [...brokers], logLevel: logLevel.NOTHING })).admin();
  await admin.connect();
  try {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 30_000 });
    return mine.length;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
