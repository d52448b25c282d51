// node-rdkafka loaded on first use (a native addon: programs that never touch it never load it),
// and its callback API turned into promises.
import type * as Rd from 'node-rdkafka';

export type RdModule = typeof Rd;
let rdModule: RdModule | undefined;

export function rd(): RdModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  rdModule ??= require('node-rdkafka') as RdModule;
  return rdModule;
}

export const cb = <T = void>(fn: (done: (err: unknown, v?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));

/** A partition's watermarks, asked again for a while: a topic created a moment ago may not have its leader known yet. */
export async function watermarksOf(c: Rd.KafkaConsumer, topic: string, partition: number, retry = { attempts: 20, delayMs: 250 }): Promise<Rd.WatermarkOffsets> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await cb<Rd.WatermarkOffsets>((done) => c.queryWatermarkOffsets(topic, partition, 5_000, (err, w) => done(err, w)));
    } catch (err) {
      if (attempt >= retry.attempts) throw err;
      await new Promise((r) => setTimeout(r, retry.delayMs));
    }
  }
}
