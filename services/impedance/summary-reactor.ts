// Reactor: the 5 s event-time tick of the summary partition's fold answered with cluster,
// sector and mesh summaries of what the registry holds (seed 002 §4).
import type { TopicName } from '../../topics/catalog';
import type { Emit } from '../runtime/processor';
import type { RegistryStore } from './registry-store';
import { summarize } from './summaries';

const SUMMARIES: TopicName = 'mesh.summaries';

export function summaryReactor(store: RegistryStore): (tickUs: number) => Promise<Emit[]> {
  return async (tick) => {
    const [snapshots, accuracy] = await Promise.all([store.snapshots(), store.accuracy(Math.floor(tick / 1000))]);
    const s = summarize(snapshots, tick, accuracy);
    return [
      ...s.clusters.map((e) => ({ topic: SUMMARIES, key: `cluster:${e.cluster_id}`, event: e })),
      ...s.sectors.map((e) => ({ topic: SUMMARIES, key: `sector:${e.sector_id}`, event: e })),
      { topic: SUMMARIES, key: 'mesh', event: s.mesh },
    ];
  };
}
