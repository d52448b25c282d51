// Partition snapshots: the whole PartitionCore (every session's A, b, x, counters, queued jobs)
// serialized at a position where no solve is half-way (kernel recurrences cannot be saved, and
// every solve restarts fresh from x anyway), split into pieces for the compacted topic.
// Layout: u32 header length, JSON header (scalars and array descriptors), then the arrays.
import type { CostUpdated, InputPosition, MatrixChunkAppended, SessionOpened, SessionSnapshotted } from '../../schemas/generated/events';
import type { KernelFactory, Method, Preconditioner } from '../../wasm';
import { derivedEventId } from '../runtime/ids';
import type { Orphan, PartitionCore } from './domain';
import { positionsToWire } from './outputs';
import {
  METHOD, PRECOND, addUpdate, isOpen, noUpdates, type Active, type Assembling, type Ended, type Intake, type Job, type Open, type PendingUpdates,
  type Positions, type SessionState, type Verdict,
} from './state';

type Arr = Float64Array | Int32Array;
interface ArrRef { readonly at: number; readonly len: number; readonly kind: 'f64' | 'i32' }

/** Bytes of serialized state per snapshot event (under the 256 KiB bytes limit). */
export const PIECE_BYTES = 240 * 1024;

/**
 * One session in the header: the flat layout of every snapshot written so far, whatever the
 * session's stage (fields a stage lacks hold their initial values; older snapshots may lack the
 * later fields, and tombstones the active-only ones).
 */
interface SessionRecord {
  readonly id: string;
  readonly partition: number;
  readonly status: SessionState['status'];
  readonly opened: SessionOpened;
  readonly method?: Method;
  readonly precond?: Preconditioner;
  readonly omega?: number;
  readonly credits?: number;
  readonly open?: PendingUpdates | CostUpdated[];
  readonly jobs?: Job[];
  readonly initialOwed?: boolean;
  readonly applied?: Positions;
  readonly iteration?: number;
  readonly outSeq?: number;
  readonly lastPublished?: number;
  readonly lastActivity?: number;
  readonly updatesApplied?: number;
  readonly conflicts?: number;
  readonly lastResidual?: number | null;
  readonly interval?: number;
  readonly verdict?: Verdict | null;
  readonly lastClose?: number;
  readonly lastUpdateAt?: number;
  readonly deferredFlush?: boolean;
  readonly tickPending?: boolean;
  readonly why?: string;
  readonly csr: { n: number; rowPtr: ArrRef; colIdx: ArrRef; values: ArrRef } | null;
  readonly b: ArrRef | null;
  readonly x: ArrRef | null;
  readonly prevX: ArrRef | null;
  readonly chunks: ReadonlyArray<ChunkRecord>;
  /** The kernel had analysed A (SolverSession.analyzed); absent before it was recorded. */
  readonly analyzed?: boolean;
}

type ChunkRecord = Omit<MatrixChunkAppended, 'row_pointers' | 'col_indices' | 'values' | 'b_values'> & {
  row_pointers: ArrRef; col_indices: string; values: string; b_values: string;
};

class Writer {
  private readonly parts: Buffer[] = [];
  private size = 0;
  put(a: Arr): ArrRef;
  put(a: Arr | undefined): ArrRef | null;
  put(a: Arr | undefined): ArrRef | null {
    if (!a) return null;
    const buf = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const ref: ArrRef = { at: this.size, len: a.length, kind: a instanceof Float64Array ? 'f64' : 'i32' };
    this.parts.push(Buffer.from(buf));
    this.size += buf.length;
    return ref;
  }
  finish(header: unknown): Buffer {
    const h = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(h.length);
    return Buffer.concat([len, h, ...this.parts]);
  }
}

/**
 * A snapshot that cannot be trusted: unreadable, inconsistent, non-finite, or not the service's
 * own. Restore passes over it to an older one or refolds the log from the start.
 */
export class SnapshotRefused extends Error {
  override readonly name = 'SnapshotRefused';
}

function read(body: Buffer, ref: ArrRef, kind: 'f64', what?: string): Float64Array;
function read(body: Buffer, ref: ArrRef, kind: 'i32'): Int32Array;
function read(body: Buffer, ref: ArrRef, kind: ArrRef['kind'], what?: string): Arr {
  if (ref?.kind !== kind) throw new SnapshotRefused(`snapshot array at ${ref?.at} holds ${ref?.kind}, expected ${kind}`);
  const bytes = ref.len * (ref.kind === 'f64' ? 8 : 4);
  if (!Number.isSafeInteger(ref.at) || !Number.isSafeInteger(ref.len) || ref.at < 0 || ref.len < 0 || ref.at + bytes > body.length) {
    throw new SnapshotRefused(`snapshot array at ${ref.at} of ${ref.len} ${kind} lies outside the ${body.length}-byte body`);
  }
  const copy = new Uint8Array(bytes);
  copy.set(body.subarray(ref.at, ref.at + bytes));
  if (ref.kind === 'i32') return new Int32Array(copy.buffer);
  const a = new Float64Array(copy.buffer);
  const bad = firstNonFinite(a);
  if (bad >= 0) throw new SnapshotRefused(`snapshot ${what ?? 'array'}[${bad}] is not finite (${a[bad]})`);
  return a;
}

const firstNonFinite = (a: Float64Array): number => {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
};

/**
 * Why the partition's state must not be snapshotted: an active session holding a non-finite
 * value (the work ends such sessions, so this guards the writer, not a known path).
 */
export function nonFiniteState(core: PartitionCore): string | undefined {
  for (const s of core.sessions.values()) {
    if (s.status !== 'active') continue;
    for (const [what, a] of [['b', s.b], ['x', s.kernel.readX()], ['A', s.csr.values]] as const) {
      const i = firstNonFinite(a);
      if (i >= 0) return `session ${s.id}: ${what}[${i}] is not finite (${a[i]})`;
    }
  }
  return undefined;
}

/** True when the partition can be snapshotted now. */
export function quiescent(core: PartitionCore): boolean {
  for (const s of core.sessions.values()) if (s.status === 'active' && s.solve) return false;
  return true;
}

function openRecord(s: Open, w: Writer): SessionRecord {
  const a = s.status === 'active' ? s : undefined;
  const i = s.intake;
  return {
    id: s.id, partition: s.partition, status: s.status, opened: s.opened,
    method: a?.method ?? METHOD[s.opened.method], precond: a?.precond ?? PRECOND[s.opened.options.preconditioner], omega: a?.omega ?? 1,
    credits: i.credits, open: i.open, jobs: i.jobs, initialOwed: a?.initialOwed ?? false, applied: s.applied,
    iteration: a?.iteration ?? 0, outSeq: s.outSeq, lastPublished: a?.lastPublished ?? -1, lastActivity: s.lastActivity,
    updatesApplied: a?.updatesApplied ?? 0, conflicts: a?.conflicts ?? 0, lastResidual: a?.lastResidual ?? null,
    interval: a?.interval ?? s.opened.options.verification_interval, verdict: a?.verdict ?? null,
    lastClose: i.lastClose, lastUpdateAt: i.lastUpdateAt, deferredFlush: i.deferredFlush, tickPending: i.tickPending,
    csr: a ? { n: a.csr.n, rowPtr: w.put(a.csr.rowPtr), colIdx: w.put(a.csr.colIdx), values: w.put(a.csr.values) } : null,
    b: w.put(a?.b), x: w.put(a?.kernel.readX()), prevX: w.put(a?.prevX),
    chunks: s.status === 'assembling' ? [...s.chunks.values()].map((c) => ({
      ...c, row_pointers: w.put(new Int32Array(c.row_pointers.buffer.slice(c.row_pointers.byteOffset, c.row_pointers.byteOffset + c.row_pointers.byteLength))),
      col_indices: c.col_indices.toString('base64'), values: c.values.toString('base64'), b_values: c.b_values.toString('base64'),
    })) : [],
    ...(a ? { analyzed: a.kernel.analyzed } : {}),
  };
}

function endedRecord(s: Ended): SessionRecord {
  const { status, id, partition, opened, why, iteration, updatesApplied, conflicts, lastResidual } = s;
  return { id, partition, status, opened, why, iteration, updatesApplied, conflicts, lastResidual, csr: null, b: null, x: null, prevX: null, chunks: [] };
}

export function serialize(core: PartitionCore): Buffer {
  const w = new Writer();
  const sessions = [...core.sessions.values()].map((s) => (isOpen(s) ? openRecord(s, w) : endedRecord(s)));
  return w.finish({ partition: core.partition, folded: core.folded, streamTime: core.streamTime, orphans: [...core.orphans.entries()], sessions });
}

interface Header {
  readonly partition?: number;
  readonly folded: Positions;
  readonly streamTime: number;
  readonly orphans: Array<[string, Orphan[]]>;
  readonly sessions: SessionRecord[];
}

function parseHeader(buf: Buffer): { header: Header; body: Buffer } {
  if (buf.length < 4) throw new SnapshotRefused(`snapshot of ${buf.length} bytes has no header`);
  const hlen = buf.readUInt32LE(0);
  if (4 + hlen > buf.length) throw new SnapshotRefused(`snapshot header of ${hlen} bytes is longer than the ${buf.length}-byte snapshot`);
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(4, 4 + hlen).toString()) as Header;
  } catch (err) {
    throw new SnapshotRefused(`snapshot header is not JSON: ${(err as Error).message}`);
  }
  const positions = header && typeof header.folded === 'object' && header.folded !== null
    && Object.values(header.folded).every((o) => Number.isSafeInteger(o) && o >= -1);
  if (!positions || !Number.isFinite(header.streamTime) || !Array.isArray(header.orphans) || !Array.isArray(header.sessions)) {
    throw new SnapshotRefused('snapshot header lacks its positions, stream time, orphans or sessions');
  }
  return { header, body: buf.subarray(4 + hlen) };
}

/** The input positions a snapshot says it folded (what restore checks against the log). */
export function snapshotPositions(buf: Buffer): Positions {
  return parseHeader(buf).header.folded;
}

/**
 * Restores a snapshot into an empty core: all of it or, throwing SnapshotRefused, none of it
 * (kernels opened for it freed), so a refused snapshot leaves nothing behind.
 */
export function deserialize(buf: Buffer, into: PartitionCore): void {
  const { header, body } = parseHeader(buf);
  if (header.partition !== undefined && header.partition !== into.partition) throw new SnapshotRefused(`snapshot of partition ${header.partition} offered to partition ${into.partition}`);
  const sessions: SessionState[] = [];
  try {
    for (const r of header.sessions) {
      if (typeof r?.id !== 'string' || r.opened?.session_id !== r.id) throw new SnapshotRefused(`snapshot session ${r?.id} does not match the SessionOpened it holds`);
      sessions.push(restoreSession(r, body, into));
    }
  } catch (err) {
    for (const s of sessions) if (s.status === 'active') s.kernel.free();
    if (err instanceof SnapshotRefused) throw err;
    throw new SnapshotRefused(`snapshot does not restore: ${(err as Error).message}`);
  }
  Object.assign(into.folded, header.folded);
  into.streamTime = header.streamTime;
  for (const [id, list] of header.orphans) into.holdOrphans(id, list);
  for (const s of sessions) into.sessions.set(s.id, s);
}

function restoreSession(r: SessionRecord, body: Buffer, into: PartitionCore): SessionState {
  switch (r.status) {
    case 'closed':
    case 'rejected':
      return {
        status: r.status, id: r.id, partition: r.partition, opened: r.opened, why: r.why ?? '',
        iteration: r.iteration ?? 0, updatesApplied: r.updatesApplied ?? 0, conflicts: r.conflicts ?? 0, lastResidual: r.lastResidual ?? null,
      };
    case 'assembling': {
      const chunks = new Map(r.chunks.map((c): [number, MatrixChunkAppended] => [c.chunk_index, {
        ...c, row_pointers: Buffer.from(read(body, c.row_pointers, 'i32').buffer),
        col_indices: Buffer.from(c.col_indices, 'base64'), values: Buffer.from(c.values, 'base64'), b_values: Buffer.from(c.b_values, 'base64'),
      }]));
      return { ...openFields(r), status: 'assembling', chunks };
    }
    case 'active': return restoreActive(r, body, into.kernel);
    default: { const never: never = r.status; throw new Error(`snapshot session with unknown status ${String(never)}`); }
  }
}

/** A, b and x back into a fresh kernel, in the state the snapshotted one had. */
function restoreActive(r: SessionRecord, body: Buffer, open: KernelFactory): Active {
  if (!r.csr || !r.b || !r.x) throw new Error(`snapshot of active session ${r.id} lacks its matrix, b or x`);
  const csr = { n: r.csr.n, rowPtr: read(body, r.csr.rowPtr, 'i32'), colIdx: read(body, r.csr.colIdx, 'i32'), values: read(body, r.csr.values, 'f64', 'A') };
  const b = read(body, r.b, 'f64', 'b');
  const x = read(body, r.x, 'f64', 'x');
  if (b.length !== csr.n || x.length !== csr.n || csr.n !== r.opened.rows) throw new SnapshotRefused(`snapshot of session ${r.id}: A has ${csr.n} rows, b ${b.length}, x ${x.length}, the session ${r.opened.rows}`);
  const kernel = open(csr);
  try {
    kernel.setB(b);
    kernel.setX(x);
  } catch (err) {
    kernel.free();
    throw err;
  }
  const method = r.method ?? METHOD[r.opened.method];
  // Unrecorded: a hybrid session's last solve analysed A after its last edit.
  if (r.analyzed ?? method === 'hybrid') kernel.analyze();
  return {
    ...openFields(r), status: 'active', kernel, csr, b,
    // Written before the first solve began: x has not moved since the kernel opened.
    prevX: r.prevX ? read(body, r.prevX, 'f64', 'prevX') : x,
    method, precond: r.precond ?? PRECOND[r.opened.options.preconditioner], omega: r.omega ?? 1,
    initialOwed: r.initialOwed ?? false, solve: undefined, iteration: r.iteration ?? 0, lastPublished: r.lastPublished ?? -1,
    updatesApplied: r.updatesApplied ?? 0, conflicts: r.conflicts ?? 0, lastResidual: r.lastResidual ?? null,
    // Snapshots from before the adaptive schedule: the session had followed no consensus.
    interval: r.interval ?? r.opened.options.verification_interval, verdict: r.verdict ?? null,
  };
}

/** What assembling and active sessions share, with the layouts of older snapshots brought up to date. */
function openFields(r: SessionRecord): Omit<Assembling, 'status' | 'chunks'> {
  const intake: Intake = {
    credits: r.credits ?? 0, open: flat(r.open), jobs: (r.jobs ?? []).map((j) => (j.kind === 'group' ? { ...j, group: { ...j.group, updates: flat(j.group.updates) } } : j)),
    // Snapshots written before deferred flushes have no tick state (nothing was deferred then).
    lastClose: r.lastClose ?? 0, deferredFlush: r.deferredFlush ?? false, tickPending: r.tickPending ?? false,
    // Before it was kept, a group's close time was its last record's: no later than the last update.
    lastUpdateAt: r.lastUpdateAt ?? r.lastClose ?? 0,
  };
  return { id: r.id, partition: r.partition, opened: r.opened, applied: r.applied ?? {}, outSeq: r.outSeq ?? 0, lastActivity: r.lastActivity ?? r.opened.meta.occurred_at, intake };
}

/** Snapshots written before cost groups were kept flat hold the CostUpdated events themselves. */
function flat(u: PendingUpdates | CostUpdated[] | undefined): PendingUpdates {
  if (u === undefined) return noUpdates();
  if (!Array.isArray(u)) return u;
  const p = noUpdates();
  for (const e of u) addUpdate(p, e);
  return p;
}

/** The snapshot as SessionSnapshotted events (pieces of one blob, one snapshot_id). */
export function snapshotEvents(core: PartitionCore, occurredAt: number): SessionSnapshotted[] {
  const blob = serialize(core);
  const count = Math.max(1, Math.ceil(blob.length / PIECE_BYTES));
  const where = positionsToWire(Object.fromEntries(Object.entries(core.folded).map(([t, o]) => [`${t}/${core.partition}`, o])));
  const id = partitionSessionId(core.partition);
  const snapshotId = derivedEventId(id, `snapshot:${where.map((p) => `${p.topic}/${p.offset}`).join(',')}`);
  const out: SessionSnapshotted[] = [];
  for (let c = 0; c < count; c++) {
    out.push({
      type: 'SessionSnapshotted',
      meta: { event_id: derivedEventId(snapshotId, String(c)), correlation_id: id, causation_id: null, occurred_at: occurredAt, producer: 'solver', sequence: c },
      session_id: id, snapshot_id: snapshotId, applied_through: where, iteration: 0, residual_norm: 0, n: 1,
      chunk_index: c, chunk_count: count, offset: 0, x_values: Buffer.alloc(0),
      state: blob.subarray(c * PIECE_BYTES, Math.min(blob.length, (c + 1) * PIECE_BYTES)),
    });
  }
  return out;
}

/** Partition snapshots carry a stable pseudo session id per input partition. */
export function partitionSessionId(partition: number): string {
  return derivedEventId('solver-partition-snapshot', String(partition));
}

/** Compaction keeps the latest piece per slot: `p<partition>#<piece>`. */
export const snapshotKey = (partition: number, piece: number) => `p${partition}#${piece}`;

/** A complete snapshot read back from the topic, not yet trusted beyond its envelope. */
export interface SnapshotCandidate {
  readonly snapshotId: string;
  /** The input positions it says it folded (logical topic names, this partition). */
  readonly where: readonly InputPosition[];
  readonly blob: Buffer;
}

/**
 * The complete snapshots of `partition` among pieces read back from the topic, newest first,
 * and why others were left out. A piece the solver cannot have written (another producer, an
 * id that does not derive from its positions, positions on other topics or partitions) never
 * makes a candidate: anyone who can produce to solver.snapshots could otherwise pick the state
 * a restart begins from. Incomplete snapshots (compaction racing a write) are passed over quietly.
 */
export function snapshotCandidates(pieces: readonly SessionSnapshotted[], partition: number, inputs: readonly string[]): { candidates: SnapshotCandidate[]; refused: string[] } {
  const id = partitionSessionId(partition);
  const refused: string[] = [];
  const byId = new Map<string, SessionSnapshotted[]>();
  for (const p of pieces) {
    const where = p.applied_through.map((q) => `${q.topic}/${q.offset}`).join(',');
    const why = p.meta.producer !== 'solver' ? `producer ${p.meta.producer}`
      : p.session_id !== id ? `session id ${p.session_id}`
        : p.snapshot_id !== derivedEventId(id, `snapshot:${where}`) ? `snapshot id ${p.snapshot_id} does not derive from its positions`
          : p.meta.event_id !== derivedEventId(p.snapshot_id, String(p.chunk_index)) ? `piece id ${p.meta.event_id}`
            : p.applied_through.some((q) => q.partition !== partition || !inputs.includes(q.topic) || !Number.isSafeInteger(q.offset) || q.offset < 0) ? 'positions outside the partition\'s inputs'
              : !(p.chunk_count >= 1 && p.chunk_index >= 0 && p.chunk_index < p.chunk_count) ? `piece ${p.chunk_index} of ${p.chunk_count}`
                : undefined;
    if (why) { refused.push(`snapshot ${p.snapshot_id} piece ${p.chunk_index}: ${why}`); continue; }
    byId.set(p.snapshot_id, [...(byId.get(p.snapshot_id) ?? []), p]);
  }
  const candidates: Array<SnapshotCandidate & { at: number }> = [];
  for (const [snapshotId, list] of byId) {
    const count = list[0]!.chunk_count;
    const parts = new Map(list.filter((p) => p.chunk_count === count).map((p) => [p.chunk_index, p]));
    if (parts.size !== count) continue;
    const where = list[0]!.applied_through;
    const blob = Buffer.concat([...Array(count).keys()].map((i) => parts.get(i)!.state ?? Buffer.alloc(0)));
    candidates.push({ snapshotId, where, blob, at: where.reduce((acc, p) => acc + p.offset, 0) });
  }
  candidates.sort((p, q) => q.at - p.at);
  return { candidates: candidates.map(({ at: _at, ...c }) => c), refused };
}

/**
 * Why a candidate's blob does not match its envelope or the log: positions other than those it
 * was filed under, or at or past `limits` (per logical topic: the group's committed offset, else
 * the partition's end; a snapshot commits with the inputs it folded, so it cannot be ahead).
 */
export function positionsRefusal(c: SnapshotCandidate, limits: Readonly<Record<string, number>>): string | undefined {
  const folded = snapshotPositions(c.blob);
  const filed = Object.fromEntries(c.where.map((p) => [p.topic, p.offset]));
  const topics = new Set([...Object.keys(folded), ...Object.keys(filed)]);
  for (const t of topics) {
    if (folded[t] !== filed[t]) return `its state folded ${t} through ${folded[t]}, its envelope says ${filed[t]}`;
    if (!(folded[t]! < (limits[t] ?? 0))) return `it claims ${t} through offset ${folded[t]}, but the log holds (or the group committed) only offsets below ${limits[t] ?? 0}`;
  }
  return undefined;
}

/** The ids of the sessions a snapshot holds (restore checks them against the SessionOpened in the log). */
export function snapshotSessionIds(buf: Buffer): string[] {
  return parseHeader(buf).header.sessions.map((r) => r?.id);
}
