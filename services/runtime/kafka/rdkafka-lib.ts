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
