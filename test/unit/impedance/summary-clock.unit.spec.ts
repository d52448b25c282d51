import assert from 'node:assert/strict';
import { mergeMarks, QUIET_PARTITION_MS, summaryTickOf, type PartitionMark } from '../../../services/impedance/summary-clock';

const S = 1_000_000;
const mark = (partition: number, watermarkUs: number, seenMs = 1_000, behind = false): PartitionMark => ({ partition, watermarkUs, seenMs, behind });

describe('impedance: the summary tick every heartbeat partition reached', () => {
  it('given partitions at 47 s, 12 s and 33 s, when a summary is due, then it is taken at 10 s (the slowest, rounded down to a 5 s tick)', () => {
    assert.equal(summaryTickOf([mark(0, 47 * S), mark(1, 12 * S), mark(2, 33 * S)], 1_000), 10 * S);
  });

  it('given a burst read as far as 80 s on partition 0 and 40.1 s on the others, then the tick is 40 s, not 80 s', () => {
    assert.equal(summaryTickOf([mark(0, 80 * S), mark(1, 40.1 * S), mark(2, 40.1 * S)], 1_000), 40 * S);
  });

  it('given a partition at the end of its log that got no batch for 10 s of wall time (its agents silent), then it is not waited for; one with records unread always is', () => {
    const marks = [mark(0, 80 * S, 10_000), mark(1, 12 * S, 10_000 - QUIET_PARTITION_MS), mark(2, 61 * S, 10_000)];
    assert.equal(summaryTickOf(marks, 10_000), 60 * S);
    // 1 ms younger: still waited for.
    assert.equal(summaryTickOf([marks[0]!, mark(1, 12 * S, 10_001 - QUIET_PARTITION_MS), marks[2]!], 10_000), 10 * S);
    assert.equal(summaryTickOf([marks[0]!, mark(1, 12 * S, 0, true), marks[2]!], 10_000), 10 * S);
  });

  it('given every partition quiet, then the slowest still bounds the tick', () => {
    assert.equal(summaryTickOf([mark(0, 80 * S, 0), mark(1, 22 * S, 0)], 60_000), 20 * S);
  });

  it('given an assigned partition without a heartbeat yet and not quiet, then no tick; once quiet, it is left out', () => {
    const marks = [mark(0, 80 * S, 1_000), mark(1, -Infinity, 1_000)];
    assert.equal(summaryTickOf(marks, 1_000), null);
    assert.equal(summaryTickOf([mark(0, 80 * S, 11_000), mark(1, -Infinity, 1_000)], 11_000), 80 * S);
    assert.equal(summaryTickOf([], 0), null);
  });

  it('given published marks and the owned folds, then the owned folds win for their partitions', () => {
    assert.deepEqual(mergeMarks([mark(2, 5 * S), mark(0, 1 * S)], [mark(0, 9 * S)]), [mark(0, 9 * S), mark(2, 5 * S)]);
  });
});
