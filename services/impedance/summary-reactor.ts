// Reactor: the 5 s event-time tick of the summary partition's fold answered with cluster,
// sector and mesh summaries of what the registry holds (seed 002 §4). The entries, the positions
// they are as of and the partitions' accuracy cells there are read in one MULTI, and every
// summary names the positions, so the summary replay (summary-replay.ts) refolds exactly what
// was read, prediction accuracy included.
import type { TopicName } from '../../topics/catalog';
import type { Emit } from '../runtime/processor';
import { NO_CELLS, windowAccuracy } from './accuracy';
import type { RegistryStore } from './registry-store';
import { summarize } from './summaries';

const SUMMARIES: TopicName = 'mesh.summaries';

export function summaryReactor(store: RegistryStore): (tickUs: number) => Promise<Emit[]> {
  return async (tick) => {
    const read = await store.readSummary();
    // The partitions the summary names: their accuracy at the positions named.
    const accuracy = windowAccuracy(read.positions.map((p) => read.accuracy.get(p.partition) ?? NO_CELLS), Math.floor(tick / 1000));
    const s = summarize(read.agents, tick, accuracy, read.positions);
    return [
      ...s.clusters.map((e) => ({ topic: SUMMARIES, key: `cluster:${e.cluster_id}`, event: e })),
      ...s.sectors.map((e) => ({ topic: SUMMARIES, key: `sector:${e.sector_id}`, event: e })),
      { topic: SUMMARIES, key: 'mesh', event: s.mesh },
    ];
  };
}
