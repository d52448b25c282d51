import assert from 'node:assert/strict';
import { CommitPipeline, type PipelinePorts } from '../../../services/runtime/kafka/commit-pipeline';

/** A commit the spec ends by hand, as the broker would. */
interface Pending { readonly batches: readonly string[]; resolve(): void; reject(err: Error): void }

function world(overlap: boolean, opts: { failProcess?: string; failOffsets?: string; carry?: { maxAgeMs: number; now: () => number } } = {}) {
  const log: string[] = [];
  const commits: Pending[] = [];
  const ports: PipelinePorts<string, string> = {
    process: async (batches) => {
      log.push(`process ${batches.join(',')}`);
      if (batches.includes(opts.failProcess ?? '')) throw new Error(`handling ${opts.failProcess} failed`);
      // Batches named e... produce nothing.
      return batches.every((b) => b.startsWith('e')) ? '' : `out(${batches.join(',')})`;
    },
    commit: async (batches, outputs) => {
      log.push(`begin ${outputs}`);
      if (batches.includes(opts.failOffsets ?? '')) throw new Error(`offsets of ${opts.failOffsets} refused`);
      const committed = new Promise<void>((resolve, reject) => {
        commits.push({ batches, resolve: () => { log.push(`committed ${batches.join(',')}`); resolve(); }, reject });
      });
      return { committed };
    },
    aborted: (batches) => log.push(`aborted ${batches.join(',')}`),
    settled: () => log.push('settled'),
    empty: (outputs) => outputs === '',
  };
  return { pipeline: new CommitPipeline(ports, overlap, opts.carry), log, commits };
}

const tick = () => new Promise((r) => setImmediate(r));

/** Batch b1 committing behind the loop and b2 stepped after it: b2's step (wrapped: awaiting it waits for b1's commit). */
async function b2BehindB1(pipeline: CommitPipeline<string, string>, settleFirst = false) {
  await pipeline.step(['b1']);
  const second = pipeline.step(['b2'], settleFirst);
  await tick();
  return { second };
}

describe('commit pipeline: a batch commits while the next is processed (overlapCommit)', () => {
  it('given overlap, when batch 2 arrives during batch 1\'s commit, then 2 is processed at once and its transaction begins only after 1 committed', async () => {
    const { pipeline, log, commits } = world(true);
    assert.equal(await pipeline.step(['b1']), undefined);
    assert.ok(pipeline.committing);
    const second = pipeline.step(['b2']);
    await tick();
    assert.deepEqual(log, ['process b1', 'begin out(b1)', 'process b2']);
    commits[0]!.resolve();
    assert.equal(await second, undefined);
    assert.deepEqual(log, ['process b1', 'begin out(b1)', 'process b2', 'committed b1', 'settled', 'begin out(b2)']);
    commits[1]!.resolve();
    assert.equal(await pipeline.settle(), undefined);
    assert.equal(pipeline.committing, false);
  });

  it('given overlap, when batch 1\'s commit fails after batch 2 was processed, then 2 is aborted too and both are rewound', async () => {
    const { pipeline, log, commits } = world(true);
    const { second } = await b2BehindB1(pipeline);
    commits[0]!.reject(new Error('fenced'));
    const rewind = await second;
    assert.deepEqual(rewind?.batches, ['b1', 'b2']);
    assert.match(String(rewind?.error), /fenced/);
    assert.deepEqual(log, ['process b1', 'begin out(b1)', 'process b2', 'settled', 'aborted b2']);
    assert.equal(commits.length, 1, 'batch 2 never began a transaction');
  });

  it('given overlap, when handling batch 2 fails while batch 1 commits, then only 2 is rewound if 1 commits', async () => {
    const { pipeline, commits } = world(true, { failProcess: 'b2' });
    const { second } = await b2BehindB1(pipeline);
    commits[0]!.resolve();
    const rewind = await second;
    assert.deepEqual(rewind?.batches, ['b2']);
    assert.match(String(rewind?.error), /handling b2 failed/);
  });

  it('given overlap, when handling batch 2 fails and batch 1\'s commit fails too, then both are rewound', async () => {
    const { pipeline, commits } = world(true, { failProcess: 'b2' });
    const { second } = await b2BehindB1(pipeline);
    commits[0]!.reject(new Error('broker gone'));
    assert.deepEqual((await second)?.batches, ['b1', 'b2']);
  });

  it('given a rebalance during the commit (settleFirst), then the commit ends before the next batch is processed, and a failed one rewinds the unprocessed batch with it', async () => {
    const { pipeline, log, commits } = world(true);
    const { second } = await b2BehindB1(pipeline, true);
    assert.deepEqual(log, ['process b1', 'begin out(b1)'], 'nothing processed before the commit ended');
    commits[0]!.reject(new Error('rebalance in progress'));
    assert.deepEqual((await second)?.batches, ['b1', 'b2']);
    assert.deepEqual(log, ['process b1', 'begin out(b1)', 'settled']);
  });

  it('given an idle poll (no records), then the commit under way is still waited for and its failure reported', async () => {
    const { pipeline, commits } = world(true);
    await pipeline.step(['b1']);
    const idle = pipeline.step([]);
    await tick();
    commits[0]!.reject(new Error('timed out'));
    assert.deepEqual((await idle)?.batches, ['b1']);
  });

  it('given overlap, when sending batch 2\'s offsets fails (before its commit runs behind the loop), then batch 2 alone is rewound at once', async () => {
    const { pipeline, log, commits } = world(true, { failOffsets: 'b2' });
    const { second } = await b2BehindB1(pipeline);
    commits[0]!.resolve();
    const rewind = await second;
    assert.deepEqual(rewind?.batches, ['b2']);
    assert.match(String(rewind?.error), /offsets of b2 refused/);
    assert.equal(pipeline.committing, false);
    assert.deepEqual(log, ['process b1', 'begin out(b1)', 'process b2', 'committed b1', 'settled', 'begin out(b2)']);
  });

  it('given no overlap, then each batch commits before step returns, and a failed commit rewinds that batch alone', async () => {
    const { pipeline, log, commits } = world(false);
    const first = pipeline.step(['b1']);
    await tick();
    assert.ok(!pipeline.committing);
    commits[0]!.resolve();
    assert.equal(await first, undefined);
    const second = pipeline.step(['b2']);
    await tick();
    commits[1]!.reject(new Error('fenced'));
    assert.deepEqual((await second)?.batches, ['b2']);
    assert.deepEqual(log, ['process b1', 'begin out(b1)', 'committed b1', 'process b2', 'begin out(b2)']);
  });
});

describe('commit pipeline: batches without outputs wait for the next transaction (carryEmpty)', () => {
  const clock = () => { let t = 0; return { now: () => t, advance: (ms: number) => { t += ms; } }; };

  it('given carry, when batches without outputs come before one with outputs, then they begin no transaction and their offsets commit with it', async () => {
    const c = clock();
    const { pipeline, log, commits } = world(true, { carry: { maxAgeMs: 100, now: c.now } });
    assert.equal(await pipeline.step(['e1']), undefined);
    assert.equal(await pipeline.step(['e2']), undefined);
    assert.deepEqual(pipeline.waiting, ['e1', 'e2']);
    assert.equal(commits.length, 0, 'no transaction for batches that produced nothing');
    await pipeline.step(['b3']);
    assert.deepEqual(commits.map((x) => x.batches), [['e1', 'e2', 'b3']]);
    assert.deepEqual(log, ['process e1', 'process e2', 'process b3', 'begin out(b3)']);
    assert.deepEqual(pipeline.waiting, []);
  });

  it('given carry, when the loop idles with batches waiting, then they commit in a transaction of their own', async () => {
    const c = clock();
    const { pipeline, log, commits } = world(false, { carry: { maxAgeMs: 100, now: c.now } });
    await pipeline.step(['e1']);
    const idle = pipeline.step([]);
    await tick();
    assert.deepEqual(commits.map((x) => x.batches), [['e1']]);
    commits[0]!.resolve();
    assert.equal(await idle, undefined);
    assert.deepEqual(log, ['process e1', 'begin ', 'committed e1']);
  });

  it('given carry, when batches without outputs keep coming for longer than maxAgeMs, then they commit without waiting for outputs', async () => {
    const c = clock();
    const { pipeline, commits } = world(true, { carry: { maxAgeMs: 100, now: c.now } });
    await pipeline.step(['e1']);
    c.advance(60);
    await pipeline.step(['e2']);
    assert.equal(commits.length, 0);
    c.advance(60);
    await pipeline.step(['e3']);
    assert.deepEqual(commits.map((x) => x.batches), [['e1', 'e2', 'e3']]);
  });

  it('given carry, when the commit under way fails, then the batches waiting behind it are aborted and rewound with it', async () => {
    const c = clock();
    const { pipeline, log, commits } = world(true, { carry: { maxAgeMs: 100, now: c.now } });
    await pipeline.step(['b1']);
    await pipeline.step(['e2']);
    const third = pipeline.step(['b3']);
    await tick();
    commits[0]!.reject(new Error('fenced'));
    const rewind = await third;
    assert.deepEqual(rewind?.batches, ['b1', 'e2', 'b3']);
    assert.deepEqual(log, ['process b1', 'begin out(b1)', 'process e2', 'process b3', 'settled', 'aborted e2,b3']);
    assert.deepEqual(pipeline.waiting, []);
  });

  it('given carry, when handling a batch fails with batches waiting, then they are rewound with it', async () => {
    const c = clock();
    const { pipeline } = world(true, { failProcess: 'b2', carry: { maxAgeMs: 100, now: c.now } });
    await pipeline.step(['e1']);
    assert.deepEqual((await pipeline.step(['b2']))?.batches, ['e1', 'b2']);
  });

  it('given carry, when a rebalance drops the waiting batches, then the next transaction commits only its own batch', async () => {
    const c = clock();
    const { pipeline, commits } = world(true, { carry: { maxAgeMs: 100, now: c.now } });
    await pipeline.step(['e1']);
    pipeline.dropCarried();
    await pipeline.step(['b2']);
    assert.deepEqual(commits.map((x) => x.batches), [['b2']]);
  });

  it('given no carry, then a batch without outputs commits in a transaction of its own', async () => {
    const { pipeline, commits } = world(true);
    await pipeline.step(['e1']);
    assert.deepEqual(commits.map((x) => x.batches), [['e1']]);
  });
});
