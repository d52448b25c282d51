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

export interface PollLoop {
  /** Stops the loop; resolves once its last consume call returned, so the consumer may be disconnected. */
  stop(): Promise<void>;
}

/**
 * Reads `consumer` in our own loop instead of node-rdkafka's flowing consume(): its loop thread
 * can call back into a consumer that disconnect() is closing ("pure virtual method called", or
 * SIGSEGV, and the process dies), and it sleeps 500 ms after an empty wait. Each turn waits up to
 * `waitMs` for one record, then takes up to `maxAvailable` already fetched without waiting.
 * Records reach the consumer's 'data' listeners in order, as with consume().
 */
export function pollLoop(consumer: Rd.KafkaConsumer, o: { waitMs: number; maxAvailable: number; onError: (err: Error) => void }): PollLoop {
  let running = true;
  const take = (n: number, timeoutMs: number) => {
    consumer.setDefaultConsumeTimeout(timeoutMs);
    return cb<Rd.Message[]>((done) => consumer.consume(n, (err, m) => done(err, m)));
  };
  const loop = (async () => {
    while (running) {
      try {
        const first = await take(1, o.waitMs);
        if (running && first.length > 0) await take(o.maxAvailable, 0);
      } catch (err) {
        if (!running) break;
        o.onError(err as Error);
        await new Promise((r) => setTimeout(r, o.waitMs));
      }
    }
  })();
  return { stop: async () => { running = false; await loop; } };
}
