// kill -9 of services while they work through the fuzz flood (issue 15, `make soak`): each named
// service is killed at a seeded moment inside the time it took to drain the same flood in an
// uninterrupted run (20-90% of it, from the start; a fast service commits its whole flood in one
// transaction, so its commits cannot place the kill), or without that time once its group has
// committed a seeded share (10-70%) of the flood; restarted at once under the same INSTANCE_ID (as
// a pod keeps its name), and timed:
//   first progress  restart -> its group commits past where the killed process had committed
//                   (the first output past the kill point: outputs commit with the input offsets)
//   caught up       restart -> its group past every record that was on its inputs, unread, at the
//                   restart: the rest of its flood and what the other services had written there
//                   meanwhile (reports, copies): a kill after its last flood commit still leaves those
// Committed offsets are polled every 20 ms through one admin connection.
import { seededRng } from '../../schemas/arbitrary';
import type { GroupProgress } from './fuzz';
import type { SolverChild } from '../int/solver/support';

export interface KillResult {
  readonly service: string;
  /** 1-based, per service. */
  readonly round: number;
  /** Ms from the (re)start to the kill. */
  readonly killedAfterMs: number;
  /** Fuzzed records of its inputs its group had committed at the kill, of all. */
  readonly committedAtKill: number;
  readonly records: number;
  /** Records on its inputs its group had not committed at the restart (fuzzed or written by the services). */
  readonly unreadAtRestart: number;
  /** Restart -> first commit past the kill point; undefined when nothing was left to commit. */
  readonly firstProgressMs: number | undefined;
  /** Restart -> past every record unread at the restart (the last round only: earlier ones are cut short by the next kill). */
  readonly caughtUpMs: number | undefined;
}

export interface KillPlan {
  readonly services: readonly string[];
  readonly times: number;
  readonly seed: number;
  readonly progress: GroupProgress;
  readonly child: (service: string) => SolverChild;
  /** SIGKILL and wait for the exit. */
  readonly kill: (service: string) => Promise<void>;
  readonly restart: (service: string) => void;
  readonly log: (msg: string) => void;
  readonly timeoutMs?: number;
  /** When the services started. */
  readonly startedAt: number;
  /** Each service's drain time in an uninterrupted run. */
  readonly within?: Readonly<Record<string, number>>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(f: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Fuzzed records (of the service's inputs) its group has committed. */
function done(committed: ReadonlyMap<string, number>, need: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const [id, last] of need) n += Math.min(Math.max(committed.get(id) ?? 0, 0), last + 1);
  return n;
}

/** The services' kills run side by side, each service's rounds one after the other. */
export async function killDuringLoad(p: KillPlan): Promise<KillResult[]> {
  const timeout = p.timeoutMs ?? 240_000;
  const perService = async (service: string, i: number): Promise<KillResult[]> => {
    const rng = seededRng(p.seed * 31 + i + 1);
    const need = p.progress.needOf(service);
    const records = [...need.values()].reduce((a, b) => a + b + 1, 0);
    const out: KillResult[] = [];
    let restartedAtPrev = p.startedAt;
    for (let round = 1; round <= p.times; round++) {
      const since = round === 1 ? p.startedAt : restartedAtPrev;
      const T = p.within?.[service];
      if (T !== undefined) {
        await sleep(Math.max(0, since + (0.2 + 0.7 * rng()) * T - Date.now()));
      } else {
        // Mid-flood: at a seeded share of its records, further on each round.
        const share = Math.min(0.95, (round - 1) / p.times + (0.1 + 0.6 * rng()) / p.times);
        await until(async () => (done(await p.progress.committed(service), need) >= share * records ? true : undefined), timeout, `${service} to commit ${(100 * share).toFixed(0)}% of its flood`);
      }
      const killedAfterMs = Date.now() - since;
      await p.kill(service);
      // Read after the exit: nothing the dead process wrote can commit later.
      const atKill = await p.progress.committed(service);
      const committedAtKill = done(atKill, need);
      const restartedAt = Date.now();
      restartedAtPrev = restartedAt;
      p.restart(service);
      // Read while the new process starts (it commits nothing for seconds): what it has to catch up on.
      const unread = await p.progress.unread(service, atKill);
      const unreadAtRestart = [...unread.values()].reduce((n, u) => n + u.count, 0);
      const past = (now: ReadonlyMap<string, number>, id: string) => (now.get(id) ?? -1) > unread.get(id)!.last;
      let firstProgressMs: number | undefined;
      if (unread.size > 0) {
        firstProgressMs = await until(async () => {
          const now = await p.progress.committed(service);
          return [...unread.keys()].some((id) => (now.get(id) ?? -1) > (atKill.get(id) ?? -1)) ? Date.now() - restartedAt : undefined;
        }, timeout, `${service} to commit past its kill point`);
      }
      const caughtUpMs = round < p.times ? undefined
        : await until(async () => {
          const now = await p.progress.committed(service);
          return [...unread.keys()].every((id) => past(now, id)) ? Date.now() - restartedAt : undefined;
        }, timeout, `${service} to catch up after its kill`);
      const r = { service, round, killedAfterMs, committedAtKill, records, unreadAtRestart, firstProgressMs, caughtUpMs };
      p.log(`kill -9 ${service} #${round}, ${(killedAfterMs / 1000).toFixed(1)} s after its start: ${committedAtKill}/${records} flood records committed at the kill, ${unreadAtRestart} records on its inputs unread at the restart; first progress ${firstProgressMs === undefined ? '-' : `${(firstProgressMs / 1000).toFixed(1)} s`}, caught up ${caughtUpMs === undefined ? '(next kill first)' : `${(caughtUpMs / 1000).toFixed(1)} s`} after the restart`);
      out.push(r);
      if (p.child(service).proc.exitCode !== null) throw new Error(`${service} exited after its restart: ${p.child(service).output().slice(-2000)}`);
    }
    return out;
  };
  return (await Promise.all(p.services.map(perService))).flat();
}
