import assert from 'node:assert/strict';
import { arbitraryEvent, seededRng } from '../../../schemas/arbitrary';
import { loadEventSchemas } from '../../../schemas/catalog';
import type { EventOf } from '../../../schemas/generated/events';
import { packFloat64, packInt32 } from '../../../schemas/packed';
import { DEFAULT_LIMITS, validateEvent, type IssueCode, type ValidationIssue } from '../../../schemas/validate';

const rng = seededRng(42);

/** A valid 3x3 chunk: rows 0..2, tridiagonal-ish. */
function chunk(): EventOf<'MatrixChunkAppended'> {
  const e = arbitraryEvent('MatrixChunkAppended', rng);
  return Object.assign(e, {
    rows: 3, cols: 3, row_start: 0, row_count: 3, chunk_index: 0, chunk_count: 1,
    row_pointers: packInt32([0, 2, 4, 5]),
    col_indices: packInt32([0, 1, 0, 1, 2]),
    values: packFloat64([4, -1, -1, 4, 2]),
    b_values: packFloat64([1, 2, 3]),
  });
}

// Decoded events arrive after Avro; pass them through it so Buffers are realistic slices.
function decoded<T extends { type: string }>(event: T): T {
  const avro = loadEventSchemas().get(event.type)!.type;
  const { type, ...body } = event;
  return { type, ...(avro.fromBuffer(avro.toBuffer(body)) as object) } as T;
}

function expectIssue(issues: ValidationIssue[], code: IssueCode, path: string, mentions: RegExp): void {
  const hit = issues.find((i) => i.code === code && i.path === path);
  assert.ok(hit, `expected ${code} at ${path}, got ${JSON.stringify(issues)}`);
  assert.match(hit.message, mentions);
}

describe('schemas/validate', () => {
  it('accepts a well-formed CSR chunk', () => {
    assert.deepEqual(validateEvent(decoded(chunk())), []);
  });

  describe('non-finite numbers', () => {
    it('NaN inside packed float64 values names the element', () => {
      // given a chunk whose second value is NaN
      const e = chunk();
      e.values = packFloat64([4, NaN, -1, 4, 2]);
      // when validated after decoding
      const issues = validateEvent(decoded(e));
      // then the issue points at values[1] and says NaN
      expectIssue(issues, 'NON_FINITE', 'values[1]', /values\[1\] is NaN/);
    });

    it('Infinity in a plain double field names the field', () => {
      const e = arbitraryEvent('IterationCompleted', rng);
      e.residual_norm = Infinity;
      expectIssue(validateEvent(e), 'NON_FINITE', 'residual_norm', /residual_norm is Infinity/);
    });

    it('-Infinity inside an Avro array<double> names the element', () => {
      const e = arbitraryEvent('CostUpdated', rng);
      e.delta_indices = [1, 2];
      e.delta_values = [0.5, -Infinity];
      expectIssue(validateEvent(e), 'NON_FINITE', 'delta_values[1]', /-Infinity/);
    });

    it('NaN in b_values of a chunk is caught too', () => {
      const e = chunk();
      e.b_values = packFloat64([1, 2, NaN]);
      expectIssue(validateEvent(decoded(e)), 'NON_FINITE', 'b_values[2]', /NaN/);
    });
  });

  describe('indices past the dimension', () => {
    it('a column index >= cols', () => {
      const e = chunk();
      e.col_indices = packInt32([0, 1, 0, 1, 3]);
      expectIssue(validateEvent(decoded(e)), 'INDEX_OUT_OF_RANGE', 'col_indices[4]', /col_indices\[4\] = 3 is outside \[0, cols = 3\)/);
    });

    it('an x change index >= n', () => {
      const e = arbitraryEvent('IterationCompleted', rng);
      Object.assign(e, { n: 10, x_change_indices: [3, 10], x_change_values: [1, 2] });
      expectIssue(validateEvent(e), 'INDEX_OUT_OF_RANGE', 'x_change_indices[1]', /= 10 is outside \[0, n = 10\)/);
    });

    it('a solution chunk running past n', () => {
      const e = arbitraryEvent('SolutionPublished', rng);
      Object.assign(e, { n: 4, offset: 2, values: packFloat64([1, 2, 3]) });
      expectIssue(validateEvent(decoded(e)), 'INDEX_OUT_OF_RANGE', 'values', /offset 2 \+ 3 values exceeds n = 4/);
    });

    it('a row block running past rows', () => {
      const e = chunk();
      e.row_start = 1;
      expectIssue(validateEvent(decoded(e)), 'INDEX_OUT_OF_RANGE', 'row_count', /row_start 1 \+ row_count 3 exceeds rows = 3/);
    });

    it('an estimate of an entry outside x', () => {
      const e = arbitraryEvent('EntryEstimated', rng);
      Object.assign(e, { n: 5, index: 5 });
      expectIssue(validateEvent(e), 'INDEX_OUT_OF_RANGE', 'index', /index 5 is outside \[0, n = 5\)/);
    });
  });

  describe('mismatched lengths', () => {
    it('cost update indices vs values', () => {
      const e = arbitraryEvent('CostUpdated', rng);
      Object.assign(e, { delta_indices: [1, 2, 3], delta_values: [0.1, 0.2] });
      expectIssue(validateEvent(e), 'LENGTH_MISMATCH', 'delta_values', /delta_indices has 3 entries but delta_values has 2/);
    });

    it('CSR row pointers must be rows + 1 long', () => {
      const e = chunk();
      e.row_pointers = packInt32([0, 2, 5]);
      expectIssue(validateEvent(decoded(e)), 'LENGTH_MISMATCH', 'row_pointers', /3 entries, expected row_count \+ 1 = 4/);
    });

    it('CSR row pointers must not decrease', () => {
      const e = chunk();
      e.row_pointers = packInt32([0, 3, 2, 5]);
      expectIssue(validateEvent(decoded(e)), 'NOT_MONOTONE', 'row_pointers[2]', /row_pointers\[2\] = 2 is below row_pointers\[1\] = 3/);
    });

    it('col indices vs values', () => {
      const e = chunk();
      e.col_indices = packInt32([0, 1, 0, 1]);
      expectIssue(validateEvent(decoded(e)), 'LENGTH_MISMATCH', 'col_indices', /values has 5 entries but col_indices has 4/);
    });

    it('packed bytes not a multiple of the element size', () => {
      const e = chunk();
      e.values = Buffer.alloc(39);
      expectIssue(validateEvent(decoded(e)), 'PACKED_LENGTH', 'values', /39 bytes, not a multiple of 8/);
    });

    it('probe indices vs residual components', () => {
      const e = arbitraryEvent('VerificationCompleted', rng);
      Object.assign(e, { n: 10, probe_indices: [1], residual_components: [0.1, 0.2] });
      expectIssue(validateEvent(e), 'LENGTH_MISMATCH', 'residual_components', /probe_indices has 1 entries/);
    });
  });

  describe('size limits', () => {
    it('an oversized chunk is TOO_LARGE, naming the limit', () => {
      // given a chunk with more values than the configured limit
      const limits = { ...DEFAULT_LIMITS, maxChunkValues: 4 };
      // when validated
      const issues = validateEvent(decoded(chunk()), limits);
      // then values (5 > 4) is reported
      expectIssue(issues, 'TOO_LARGE', 'values', /values has 5 float64le values, over maxChunkValues 4/);
    });

    it('a session over maxDimension', () => {
      const e = arbitraryEvent('SessionOpened', rng);
      Object.assign(e, { rows: DEFAULT_LIMITS.maxDimension + 1, cols: 2, nnz: 3 });
      expectIssue(validateEvent(e), 'TOO_LARGE', 'rows', /rows = 10000001 is over maxDimension/);
    });

    it('an over-long string', () => {
      const e = arbitraryEvent('HeartbeatReceived', rng);
      e.agent_id = 'x'.repeat(DEFAULT_LIMITS.maxStringLength + 1);
      expectIssue(validateEvent(e), 'TOO_LARGE', 'agent_id', /agent_id has 4097 characters/);
    });
  });

  describe('ranges and cross-field consistency', () => {
    it('conflict priority outside 0..4', () => {
      const e = arbitraryEvent('ConflictQuarantined', rng);
      e.priority = 5;
      expectIssue(validateEvent(e), 'OUT_OF_RANGE', 'priority', /priority = 5 is outside \[0, 4\]/);
    });

    it('a CONFLICT ack without conflict detail', () => {
      const e = arbitraryEvent('AckReceived', rng);
      Object.assign(e, { state: 'CONFLICT', conflict: null });
      expectIssue(validateEvent(e), 'INCONSISTENT', 'conflict', /required when state = CONFLICT/);
    });

    it('quorum counts that do not add up', () => {
      const e = arbitraryEvent('QuorumDecided', rng);
      Object.assign(e, { total: 10, ready_count: 5, transit_count: 1, conflict_count: 1 });
      expectIssue(validateEvent(e), 'INCONSISTENT', 'total', /total 10 differs from ready \+ transit \+ conflict = 7/);
    });

    it('a SCHEDULED entry without send_at', () => {
      const e = arbitraryEvent('ScheduleComputed', rng);
      e.entries = [{ agent_id: 'a', status: 'SCHEDULED', lead_time_ms: 10, send_at: null, expected_processing_ms: 5, confidence: 0.9, skip_reason: null, available_ms: null, send_bucket_at: null, registry_position: null }];
      expectIssue(validateEvent(e), 'INCONSISTENT', 'entries[0].send_at', /required when status = SCHEDULED/);
    });
  });
});
