import assert from 'node:assert/strict';
import { CommitPipeline, type PipelinePorts } from '../../../services/runtime/kafka/commit-pipeline';

/** A commit the spec ends by hand, as the broker would. */
interface Pending { readonly batches: readonly string[]; resolve(): void; reject(err: Error): void }

function world(overlap: boolean, opts: { failProcess?: string; failOffsets?: string } = {}) {
  const log: string[] = [];
  const commits: Pending[] = [];
  const ports: PipelinePorts<string, string> = {
    process: async (batches) => {
      log.push(`process ${batches.join(',')}`);
      if (batches.includes(opts.failProcess ?? '')) throw new Error(`handling ${opts.failProcess} failed`);
      return `out(${batches.join(',')})`;
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
  };
  return { pipeline: new CommitPipeline(ports, overlap), log, commits };
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
