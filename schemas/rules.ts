// Cross-field rules per event type, run after the generic walk in validate.ts has passed (so
// packed lengths are whole and numbers finite). Indices are checked against dimensions the
// event carries itself; checking against a session known from earlier events is the solver's job.
import type { EventOf, EventType } from './generated/events';
import { unpackInt32 } from './packed';
import type { IssueSink } from './validate';

/**
 * What the impedance registry splits on (services/impedance/registry-store.ts): ',' joins an
 * agent's capabilities, '|' a summary's fields, ':' a Redis key's parts; '*', '?', '[' and ']'
 * are SCAN patterns. An id holding one would split into other entries or match other keys.
 */
const REGISTRY_SEPARATORS = /[,|:*?[\]\s\u0000-\u001f]/;

function registryId(v: string, path: string, s: IssueSink): void {
  if (v.length === 0 || v.length > 256) s.add('OUT_OF_RANGE', path, `${path} has ${v.length} characters; the registry takes 1 to 256`);
  const m = REGISTRY_SEPARATORS.exec(v);
  if (m) s.add('INCONSISTENT', path, `${path} ${JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v)} holds ${JSON.stringify(m[0])}, a separator of the registry's keys and summaries`);
}

function capabilities(list: readonly string[], path: string, s: IssueSink): void {
  if (list.length > s.limits.maxCapabilities) {
    s.add('TOO_LARGE', path, `${path} has ${list.length} entries, over maxCapabilities ${s.limits.maxCapabilities} (each is an index entry of the registry)`);
    return;
  }
  list.forEach((c, i) => registryId(c, `${path}[${i}]`, s));
}

type Rule<T extends EventType> = (e: EventOf<T>, s: IssueSink) => void;
export type EventRules = { readonly [T in EventType]?: Rule<T> };

function chunk(e: { chunk_index: number; chunk_count: number }, s: IssueSink): void {
  if (e.chunk_index >= e.chunk_count) {
    s.add('INDEX_OUT_OF_RANGE', 'chunk_index', `chunk_index ${e.chunk_index} is not below chunk_count ${e.chunk_count}`);
  }
}

function dimension(value: number, path: string, s: IssueSink): void {
  if (value > s.limits.maxDimension) s.add('TOO_LARGE', path, `${path} = ${value} is over maxDimension ${s.limits.maxDimension}`);
}

function sameLength(a: { length: number }, b: { length: number }, pa: string, pb: string, s: IssueSink): boolean {
  if (a.length === b.length) return true;
  s.add('LENGTH_MISMATCH', pb, `${pa} has ${a.length} entries but ${pb} has ${b.length}`);
  return false;
}

function indicesBelow(indices: ArrayLike<number>, bound: number, path: string, boundName: string, s: IssueSink): void {
  let bad = 0;
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i]!;
    if (v >= 0 && v < bound) continue;
    if (bad++ < 3) s.add('INDEX_OUT_OF_RANGE', `${path}[${i}]`, `${path}[${i}] = ${v} is outside [0, ${boundName} = ${bound})`);
  }
  if (bad > 3) s.add('INDEX_OUT_OF_RANGE', path, `${path} has ${bad} indices outside [0, ${boundName} = ${bound})`);
}

function vectorChunk(e: { n: number; offset: number }, count: number, field: string, s: IssueSink): void {
  dimension(e.n, 'n', s);
  if (e.offset + count > e.n) {
    s.add('INDEX_OUT_OF_RANGE', field, `offset ${e.offset} + ${count} ${field} exceeds n = ${e.n}`);
  }
}

function notAbove(value: number, bound: number, path: string, boundName: string, s: IssueSink): void {
  if (value > bound) s.add('INCONSISTENT', path, `${path} = ${value} is greater than ${boundName} = ${bound}`);
}

function requireWhen(cond: boolean, value: unknown, path: string, when: string, s: IssueSink): void {
  if (cond && value === null) s.add('INCONSISTENT', path, `${path} is required when ${when}`);
  if (!cond && value !== null) s.add('INCONSISTENT', path, `${path} must be null unless ${when}`);
}

function csr(e: EventOf<'MatrixChunkAppended'>, s: IssueSink): void {
  chunk(e, s);
  dimension(e.rows, 'rows', s);
  dimension(e.cols, 'cols', s);
  if (e.row_start + e.row_count > e.rows) {
    s.add('INDEX_OUT_OF_RANGE', 'row_count', `row_start ${e.row_start} + row_count ${e.row_count} exceeds rows = ${e.rows}`);
  }
  if (e.row_count > s.limits.maxChunkRows) {
    s.add('TOO_LARGE', 'row_count', `row_count ${e.row_count} is over maxChunkRows ${s.limits.maxChunkRows}`);
  }
  const rp = unpackInt32(e.row_pointers, 'row_pointers');
  const cols = unpackInt32(e.col_indices, 'col_indices');
  const nValues = e.values.length / 8;
  if (rp.length !== e.row_count + 1) {
    s.add('LENGTH_MISMATCH', 'row_pointers', `row_pointers has ${rp.length} entries, expected row_count + 1 = ${e.row_count + 1}`);
  } else {
    if (rp[0] !== 0) s.add('INCONSISTENT', 'row_pointers[0]', `row_pointers[0] = ${rp[0]} must be 0`);
    for (let i = 1; i < rp.length; i++) {
      if (rp[i]! < rp[i - 1]!) {
        s.add('NOT_MONOTONE', `row_pointers[${i}]`, `row_pointers[${i}] = ${rp[i]} is below row_pointers[${i - 1}] = ${rp[i - 1]}`);
        break;
      }
    }
    if (rp[rp.length - 1] !== nValues) {
      s.add('LENGTH_MISMATCH', `row_pointers[${rp.length - 1}]`, `last row pointer ${rp[rp.length - 1]} differs from the ${nValues} values`);
    }
  }
  sameLength({ length: nValues }, cols, 'values', 'col_indices', s);
  indicesBelow(cols, e.cols, 'col_indices', 'cols', s);
  if (e.b_values.length / 8 !== e.row_count) {
    s.add('LENGTH_MISMATCH', 'b_values', `b_values has ${e.b_values.length / 8} values, expected row_count = ${e.row_count}`);
  }
}

export const EVENT_RULES: EventRules = {
  SessionOpened: (e, s) => {
    dimension(e.rows, 'rows', s);
    dimension(e.cols, 'cols', s);
    if (e.nnz > e.rows * e.cols) s.add('OUT_OF_RANGE', 'nnz', `nnz ${e.nnz} exceeds rows * cols = ${e.rows * e.cols}`);
    if (e.nnz > s.limits.maxNnz) s.add('TOO_LARGE', 'nnz', `nnz ${e.nnz} is over maxNnz ${s.limits.maxNnz}`);
    if (e.options.tolerance <= 0) s.add('OUT_OF_RANGE', 'options.tolerance', `options.tolerance = ${e.options.tolerance} must be > 0`);
  },
  MatrixChunkAppended: csr,
  CostUpdated: (e, s) => {
    if (sameLength(e.delta_indices, e.delta_values, 'delta_indices', 'delta_values', s)) {
      indicesBelow(e.delta_indices, s.limits.maxDimension, 'delta_indices', 'maxDimension', s);
    }
  },
  IterationCompleted: (e, s) => {
    dimension(e.n, 'n', s);
    if (sameLength(e.x_change_indices, e.x_change_values, 'x_change_indices', 'x_change_values', s)) {
      indicesBelow(e.x_change_indices, e.n, 'x_change_indices', 'n', s);
    }
  },
  SolutionPublished: (e, s) => {
    chunk(e, s);
    vectorChunk(e, e.values.length / 8, 'values', s);
  },
  SessionSnapshotted: (e, s) => {
    chunk(e, s);
    vectorChunk(e, e.x_values.length / 8, 'x_values', s);
  },
  CorrectionRequested: (e, s) => {
    requireWhen(e.action === 'ADJUST_STEP', e.step_factor, 'step_factor', 'action = ADJUST_STEP', s);
    requireWhen(e.action === 'RESTART_PRECONDITIONER', e.preconditioner, 'preconditioner', 'action = RESTART_PRECONDITIONER', s);
    requireWhen(e.action === 'RESTART_METHOD', e.method, 'method', 'action = RESTART_METHOD', s);
  },
  VerificationCompleted: (e, s) => {
    dimension(e.n, 'n', s);
    if (sameLength(e.probe_indices, e.residual_components, 'probe_indices', 'residual_components', s)) {
      indicesBelow(e.probe_indices, e.n, 'probe_indices', 'n', s);
    }
  },
  ConsensusReached: (e, s) => {
    notAbove(e.threshold, e.participants, 'threshold', 'participants', s);
    notAbove(e.agreeing, e.participants, 'agreeing', 'participants', s);
    if (e.agreeing < e.threshold) s.add('INCONSISTENT', 'agreeing', `agreeing ${e.agreeing} is below threshold ${e.threshold}`);
  },
  EntryEstimated: (e, s) => {
    dimension(e.n, 'n', s);
    if (e.index >= e.n) s.add('INDEX_OUT_OF_RANGE', 'index', `index ${e.index} is outside [0, n = ${e.n})`);
  },
  ClusterSummarized: (e, s) => {
    notAbove(e.active_count, e.agent_count, 'active_count', 'agent_count', s);
    notAbove(e.degraded_count, e.agent_count, 'degraded_count', 'agent_count', s);
    notAbove(e.unstable_count, e.agent_count, 'unstable_count', 'agent_count', s);
  },
  SectorSummarized: (e, s) => notAbove(e.active_agents, e.total_agents, 'active_agents', 'total_agents', s),
  MeshSummarized: (e, s) => notAbove(e.active_agents, e.total_agents, 'active_agents', 'total_agents', s),
  OperationalModeChanged: (e, s) => notAbove(e.active_agents, e.total_agents, 'active_agents', 'total_agents', s),
  CoordinationRequested: (e, s) => {
    if (e.target_agent_ids.length === 0) s.add('INCONSISTENT', 'target_agent_ids', 'target_agent_ids is empty; a coordination needs at least one target');
    capabilities(e.requires_capabilities, 'requires_capabilities', s);
  },
  HeartbeatReceived: (e, s) => {
    registryId(e.agent_id, 'agent_id', s);
    registryId(e.cluster_id, 'cluster_id', s);
    registryId(e.sector_id, 'sector_id', s);
    capabilities(e.capabilities, 'capabilities', s);
  },
  ScheduleComputed: (e, s) => {
    chunk(e, s);
    e.entries.forEach((x, i) => {
      const p = `entries[${i}]`;
      const scheduled = x.status === 'SCHEDULED';
      requireWhen(scheduled, x.send_at, `${p}.send_at`, 'status = SCHEDULED', s);
      requireWhen(scheduled, x.confidence, `${p}.confidence`, 'status = SCHEDULED', s);
      requireWhen(scheduled, x.expected_processing_ms, `${p}.expected_processing_ms`, 'status = SCHEDULED', s);
      requireWhen(!scheduled, x.skip_reason, `${p}.skip_reason`, 'status = SKIP', s);
    });
  },
  AckReceived: (e, s) => requireWhen(e.state === 'CONFLICT', e.conflict, 'conflict', 'state = CONFLICT', s),
  QuorumDecided: (e, s) => {
    const sum = e.ready_count + e.transit_count + e.conflict_count;
    if (sum !== e.total) s.add('INCONSISTENT', 'total', `total ${e.total} differs from ready + transit + conflict = ${sum}`);
    if (e.achieved !== (e.decision === 'PROCEED')) s.add('INCONSISTENT', 'achieved', `achieved = ${e.achieved} contradicts decision ${e.decision}`);
  },
  StructuralEventObserved: (e, s) => {
    const k = e.kind;
    requireWhen(['REQUEST_START', 'REQUEST_END', 'CALL', 'CALL_RETURN'].includes(k), e.request_id, 'request_id', `kind is a request/call (got ${k})`, s);
    requireWhen(k === 'REQUEST_END' || k === 'CALL_RETURN', e.success, 'success', `kind = REQUEST_END or CALL_RETURN (got ${k})`, s);
    requireWhen(k === 'CALL' || k === 'CALL_RETURN', e.peer_component_id, 'peer_component_id', `kind = CALL or CALL_RETURN (got ${k})`, s);
    requireWhen(k === 'RESOURCE_SPIKE', e.resource, 'resource', `kind = RESOURCE_SPIKE (got ${k})`, s);
    requireWhen(k === 'RESOURCE_SPIKE', e.value, 'value', `kind = RESOURCE_SPIKE (got ${k})`, s);
    requireWhen(k === 'QUEUE_DEPTH', e.queue_depth, 'queue_depth', `kind = QUEUE_DEPTH (got ${k})`, s);
    requireWhen(k === 'CIRCUIT_BREAKER', e.circuit_state, 'circuit_state', `kind = CIRCUIT_BREAKER (got ${k})`, s);
  },
};
