// Partition snapshots: the whole PartitionCore (every session's A, b, x, counters, queued jobs)
// serialized at a position where no solve is half-way (kernel recurrences cannot be saved, and
// every solve restarts fresh from x anyway), split into pieces for the compacted topic.
// Layout: u32 header length, JSON header (scalars and array descriptors), then the arrays.
import type { CostUpdated, SessionSnapshotted } from '../../schemas/generated/events';
import { SolverSession } from '../../wasm';
import { derivedEventId } from '../runtime/ids';
import { addUpdate, noUpdates, PartitionCore, positionsToWire, type Positions, type SessionState } from './domain';

type Arr = Float64Array | Int32Array;
interface ArrRef { readonly at: number; readonly len: number; readonly kind: 'f64' | 'i32' }

/** Bytes of serialized state per snapshot event (under the 256 KiB bytes limit). */
export const PIECE_BYTES = 240 * 1024;

class Writer {
  private readonly parts: Buffer[] = [];
  private size = 0;
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

function read(body: Buffer, ref: ArrRef | null): Arr | undefined {
  if (!ref) return undefined;
  const bytes = ref.len * (ref.kind === 'f64' ? 8 : 4);
  const copy = new Uint8Array(bytes);
  copy.set(body.subarray(ref.at, ref.at + bytes));
  return ref.kind === 'f64' ? new Float64Array(copy.buffer) : new Int32Array(copy.buffer);
}

/** True when the partition can be snapshotted now. */
export function quiescent(core: PartitionCore): boolean {
  for (const s of core.sessions.values()) if (s.solve) return false;
  return true;
}

export function serialize(core: PartitionCore): Buffer {
  const w = new Writer();
  const sessions = [...core.sessions.values()].map((s) => {
    const { solver, csr, b, prevX, chunks, solve, ...rest } = s;
    void solve;
    return {
      ...rest,
      csr: csr ? { n: csr.n, rowPtr: w.put(csr.rowPtr), colIdx: w.put(csr.colIdx), values: w.put(csr.values) } : null,
      b: w.put(b), x: w.put(solver?.readX()), prevX: w.put(prevX),
      chunks: [...chunks.values()].map((c) => ({
        ...c, row_pointers: w.put(new Int32Array(c.row_pointers.buffer.slice(c.row_pointers.byteOffset, c.row_pointers.byteOffset + c.row_pointers.byteLength))),
        col_indices: c.col_indices.toString('base64'), values: c.values.toString('base64'), b_values: c.b_values.toString('base64'),
      })),
    };
  });
  return w.finish({ partition: core.partition, folded: core.folded, streamTime: core.streamTime, orphans: [...core.orphans.entries()], sessions });
}

export function deserialize(buf: Buffer, into: PartitionCore): void {
  const hlen = buf.readUInt32LE(0);
  const header = JSON.parse(buf.subarray(4, 4 + hlen).toString()) as ReturnType<typeof JSON.parse>;
  const body = buf.subarray(4 + hlen);
  Object.assign(into.folded, header.folded as Positions);
  into.streamTime = header.streamTime as number;
  for (const [id, list] of header.orphans as Array<[string, never[]]>) into.orphans.set(id, list);
  for (const raw of header.sessions as Array<Record<string, unknown>>) {
    const csrRaw = raw.csr as { n: number; rowPtr: ArrRef; colIdx: ArrRef; values: ArrRef } | null;
    const csr = csrRaw ? { n: csrRaw.n, rowPtr: read(body, csrRaw.rowPtr) as Int32Array, colIdx: read(body, csrRaw.colIdx) as Int32Array, values: read(body, csrRaw.values) as Float64Array } : undefined;
    const b = read(body, raw.b as ArrRef | null) as Float64Array | undefined;
    const x = read(body, raw.x as ArrRef | null) as Float64Array | undefined;
    const chunks = new Map((raw.chunks as Array<Record<string, unknown>>).map((c) => [c.chunk_index as number, {
      ...c, row_pointers: Buffer.from((read(body, c.row_pointers as ArrRef) as Int32Array).buffer),
      col_indices: Buffer.from(c.col_indices as string, 'base64'), values: Buffer.from(c.values as string, 'base64'), b_values: Buffer.from(c.b_values as string, 'base64'),
    }])) as unknown as SessionState['chunks'];
    let solver: SolverSession | undefined;
    if (csr && b && x) {
      solver = SolverSession.open(csr, into.backend);
      solver.setB(b);
      solver.setX(x);
    }
    legacyPending(raw);
    const s: SessionState = {
      ...(raw as unknown as SessionState),
      csr, b, prevX: read(body, raw.prevX as ArrRef | null) as Float64Array | undefined, chunks, solver, solve: undefined,
    };
    into.sessions.set(s.id, s);
  }
}

/**
 * Snapshots written before cost groups were kept flat hold the CostUpdated events themselves,
 * and those written before deferred flushes have no tick state (nothing was deferred then).
 */
function legacyPending(raw: Record<string, unknown>): void {
  raw.lastClose ??= 0;
  raw.deferredFlush ??= false;
  raw.tickPending ??= false;
  const flat = (u: unknown) => {
    if (!Array.isArray(u)) return u;
    const p = noUpdates();
    for (const e of u as CostUpdated[]) addUpdate(p, e);
    return p;
  };
  raw.open = flat(raw.open);
  for (const j of (raw.jobs ?? []) as Array<{ kind: string; group?: { updates: unknown } }>) if (j.group) j.group.updates = flat(j.group.updates);
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

/** Picks the newest complete snapshot among pieces read back from the topic. */
export function assembleLatest(pieces: SessionSnapshotted[]): Buffer | undefined {
  const byId = new Map<string, SessionSnapshotted[]>();
  for (const p of pieces) byId.set(p.snapshot_id, [...(byId.get(p.snapshot_id) ?? []), p]);
  let best: { at: number; buf: Buffer } | undefined;
  for (const list of byId.values()) {
    const count = list[0]!.chunk_count;
    const parts = new Map(list.map((p) => [p.chunk_index, p]));
    if (parts.size !== count) continue;
    const at = list[0]!.applied_through.reduce((acc, p) => acc + p.offset, 0);
    if (best && best.at >= at) continue;
    best = { at, buf: Buffer.concat([...Array(count).keys()].map((i) => parts.get(i)!.state ?? Buffer.alloc(0))) };
  }
  return best?.buf;
}
