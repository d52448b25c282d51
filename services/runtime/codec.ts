// Avro codec over the schema registry. Subjects follow TopicRecordNameStrategy
// (`<topic>-<record full name>`), so one topic carries several event types. Schema ids are
// cached both ways; a writer schema seen for the first time is fetched once and resolved
// against our reader schema, so records written with an older (compatible) schema decode.
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import TimeoutMiddleware from 'mappersmith/middleware/timeout';
import type avro from 'avsc';
import { loadEventSchemas, type EventSchema } from '../../schemas/catalog';
import type { SolvermeshEvent } from '../../schemas/generated/events';
import { registryAuth } from './credentials';
import { poison, transient, SolvermeshError } from './errors';
import { registryAdmin, REGISTRY_REQUEST_TIMEOUT_MS, type RegistryAdmin } from './registry-admin';
import { DEFAULT_UNKNOWN_ID_POLICY, LIST_SUBJECTS, UnknownSchemaIds, type UnknownIdPolicy } from './unknown-schema-ids';
import { frame, framedSchemaId, HEADER_SIZE } from './wire-format';

export interface Decoded {
  /** The record's fields plus `type`, the record name. */
  readonly event: SolvermeshEvent;
  readonly schemaId: number;
}

/** See services/cli/schemas/check.ts for why FULL and not BACKWARD only. */
export const COMPATIBILITY_LEVEL = 'FULL_TRANSITIVE';

export const subjectFor = (topic: string, fullName: string) => `${topic}-${fullName}`;

interface ReaderForId {
  readonly schema: EventSchema;
  /** Decodes the Avro body that starts at `pos` and ends with `buf`. */
  readonly read: (buf: Buffer, pos: number) => Record<string, unknown>;
}

export interface CodecOptions {
  readonly unknownIds?: UnknownIdPolicy;
  /** Wall clock for the unknown-id policy (infrastructure timing, not event time). */
  readonly clock?: () => number;
  /** Where the registry credentials are read (credentials.ts); the process's environment by default. */
  readonly env?: NodeJS.ProcessEnv;
}

export class EventCodec {
  private readonly registry: SchemaRegistry;
  private readonly admin: RegistryAdmin;
  private readonly schemas: Map<string, EventSchema>;
  private readonly byFullName = new Map<string, EventSchema>();
  private readonly idBySubject = new Map<string, Promise<number>>();
  /** Schema ids registered already, by topic and event type: encodeKnown needs no promise for them. */
  private readonly readyIds = new Map<string, Map<string, number>>();
  private readonly readerById = new Map<number, Promise<ReaderForId>>();
  /** Readers already resolved: the runner's per-record decode needs no promise for them. */
  private readonly readyById = new Map<number, ReaderForId>();

  private readonly unknownIds: UnknownSchemaIds;
  private readonly clock: () => number;

  constructor(registryUrl: string, schemas: Map<string, EventSchema> = loadEventSchemas(), opts: CodecOptions = {}) {
    const auth = registryAuth(opts.env);
    this.registry = new SchemaRegistry({ host: registryUrl, clientId: 'solvermesh', retry: { retries: 2 }, middlewares: [TimeoutMiddleware(REGISTRY_REQUEST_TIMEOUT_MS)], ...(auth ? { auth } : {}) });
    this.admin = registryAdmin(registryUrl, opts.env);
    this.clock = opts.clock ?? Date.now;
    this.unknownIds = new UnknownSchemaIds(opts.unknownIds ?? DEFAULT_UNKNOWN_ID_POLICY, this.clock());
    this.schemas = schemas;
    for (const s of schemas.values()) this.byFullName.set(s.fullName, s);
  }

  eventSchema(type: string): EventSchema {
    const s = this.schemas.get(type);
    if (!s) throw poison('UNKNOWN_EVENT_TYPE', `no schema for event type ${JSON.stringify(type)}`);
    return s;
  }

  /** Registers (or finds) the schema of `type` under the topic's subject; cached per subject. */
  schemaId(topic: string, type: string): Promise<number> {
    const schema = this.eventSchema(type);
    const subject = subjectFor(topic, schema.fullName);
    let id = this.idBySubject.get(subject);
    if (!id) {
      id = this.registerOnce(subject, schema).then((n) => {
        let byType = this.readyIds.get(topic);
        if (!byType) { byType = new Map(); this.readyIds.set(topic, byType); }
        byType.set(type, n);
        return n;
      }, (err: unknown) => {
        this.idBySubject.delete(subject);
        throw err instanceof SolvermeshError ? err : registryError(`register ${subject}`, err);
      });
      this.idBySubject.set(subject, id);
    }
    return id;
  }

  /**
   * A schema registered already is looked up, which changes nothing: where only the operator
   * may register (the secured stack's registry proxy), a service finds the ids the operator's
   * `solvermesh schemas register` created. Otherwise it is registered: a new subject gets the
   * catalog's level; the level of an existing one (perhaps set by an operator) is left alone.
   */
  private async registerOnce(subject: string, schema: EventSchema): Promise<number> {
    const known = await this.admin.lookup(subject, schema.schema);
    if (known !== undefined) return known;
    const isNew = (await this.admin.versions(subject)).length === 0;
    const id = await this.admin.register(subject, schema.schema);
    if (isNew) await this.admin.setCompatibility(subject, COMPATIBILITY_LEVEL);
    return id;
  }

  async encode(topic: string, event: SolvermeshEvent): Promise<Buffer> {
    const schema = this.eventSchema(event.type);
    const id = await this.schemaId(topic, event.type);
    return frame(id, encodeBody(schema, event));
  }

  /** encode() without a promise once the schema is registered under the topic; else undefined (call encode()). */
  encodeKnown(topic: string, event: SolvermeshEvent): Buffer | undefined {
    const id = this.readyIds.get(topic)?.get(event.type);
    return id === undefined ? undefined : frame(id, encodeBody(this.eventSchema(event.type), event));
  }

  /**
   * `from`: where the record was read and when it was produced (lets an unknown id be checked
   * against the topic's subjects when lookups are rationed: unknown-schema-ids.ts).
   */
  async decode(value: Buffer | null | undefined, from?: { readonly topic: string; readonly producedAtMs: number }): Promise<Decoded> {
    const schemaId = framedSchemaId(value);
    const { event } = read(await this.readerFor(schemaId, from), schemaId, value!);
    return { event: { ...event }, schemaId };
  }

  /**
   * The runner's hot path: decode() without a promise when the writer schema was seen before,
   * undefined when it must be fetched first (then call decode()); throws what decode() rejects
   * with. The event is the decoded Avro record itself (an avsc record instance, as its nested
   * records always were) with `type` set, not a plain copy: the copy cost as much as decoding.
   */
  decodeKnown(value: Buffer | null | undefined): Decoded | undefined {
    const schemaId = framedSchemaId(value);
    const reader = this.readyById.get(schemaId);
    return reader ? read(reader, schemaId, value!) : undefined;
  }

  /** The ids of every version of every subject of `topic` (a registry outage is transient). */
  private async subjectIds(topic: string): Promise<number[]> {
    try {
      const mine = (await this.admin.subjects()).filter((s) => s.startsWith(`${topic}-`));
      return (await Promise.all(mine.map((s) => this.admin.versions(s)))).flat().map((v) => v.id);
    } catch (err) {
      throw err instanceof SolvermeshError ? err : transient('REGISTRY_UNAVAILABLE', `schema registry: listing the subjects of ${topic} failed: ${(err as Error)?.message ?? String(err)}`, err);
    }
  }

  private readerFor(id: number, from?: { readonly topic: string; readonly producedAtMs: number }): Promise<ReaderForId> {
    let r = this.readerById.get(id);
    if (!r) {
      r = this.fetchReader(id, from);
      this.readerById.set(id, r);
      r.then((ready) => this.readyById.set(id, ready), () => undefined);
      // Only definitive answers about ids the registry has stay cached: a registry outage must not
      // poison an id forever, and unknown ids live in the bounded table instead.
      r.catch((err: unknown) => {
        if (!(err instanceof SolvermeshError) || err.retriable || err.code === 'UNKNOWN_SCHEMA_ID') this.readerById.delete(id);
      });
    }
    return r;
  }

  private async fetchReader(id: number, from?: { readonly topic: string; readonly producedAtMs: number }): Promise<ReaderForId> {
    let refused = this.unknownIds.beforeLookup(id, this.clock(), from?.topic, from?.producedAtMs);
    if (refused === LIST_SUBJECTS) {
      const now = this.clock();
      this.unknownIds.onListed(from!.topic, await this.subjectIds(from!.topic), now);
      refused = this.unknownIds.beforeLookup(id, this.clock(), from?.topic, from?.producedAtMs);
    }
    if (refused) throw refused as SolvermeshError;
    let writer: avro.Type;
    try {
      writer = (await this.registry.getSchema(id)) as unknown as avro.Type;
    } catch (err) {
      // The client reports a refused connection as status 400 and a wrong URL's 404 like a
      // missing id: only the registry's own "not found", confirmed, is about the record.
      if (statusOf(err) === 404 && !(await this.admin.schemaExists(id))) throw this.unknownIds.onNotFound(id, this.clock(), err);
      throw transient('REGISTRY_UNAVAILABLE', `schema registry: fetch schema id ${id} failed${statusOf(err) ? ` (HTTP ${statusOf(err)})` : ''}: ${(err as Error)?.message ?? String(err)}`, err);
    }
    this.unknownIds.onFound(id);
    const schema = this.byFullName.get(String(writer.name));
    if (!schema) throw poison('UNKNOWN_EVENT_TYPE', `schema id ${id} is ${String(writer.name)}, which this build does not know`);
    const reader = schema.type;
    let resolver: avro.Resolver;
    try {
      resolver = reader.createResolver(writer);
    } catch (err) {
      throw poison('DECODE_FAILED', `writer schema id ${id} is not readable as ${schema.fullName}: ${(err as Error).message}`, err);
    }
    // The writer is usually our own schema: then the resolver is needless work on every record.
    const same = writer.equals(reader);
    // decode() at the body's offset in the framed value, not fromBuffer() of a subarray: a
    // Buffer view per record cost more than its smaller fields. The checks are fromBuffer's.
    return {
      schema,
      read: (buf, pos) => {
        const { value, offset } = same ? reader.decode(buf, pos) : reader.decode(buf, pos, resolver);
        if (offset < 0) throw new Error('truncated buffer');
        if (offset < buf.length) throw new Error('trailing data');
        return value as Record<string, unknown>;
      },
    };
  }
}

function read(reader: ReaderForId, schemaId: number, framed: Buffer): Decoded {
  let record: Record<string, unknown>;
  try {
    record = reader.read(framed, HEADER_SIZE);
  } catch (err) {
    throw poison('DECODE_FAILED', `Avro body does not decode with schema id ${schemaId} (${reader.schema.name}): ${(err as Error).message}`, err);
  }
  // No schema has a field named type.
  record.type = reader.schema.name;
  // The one place bytes become a typed event: the record was read with the reader schema whose
  // name is `type`, and the generated union is that schema's TypeScript (schemas/codegen.ts).
  return { event: record as unknown as SolvermeshEvent, schemaId };
}

function encodeBody(schema: EventSchema, event: SolvermeshEvent): Buffer {
  try {
    return schema.type.toBuffer(event);
  } catch (err) {
    const paths: string[] = [];
    schema.type.isValid(event, { errorHook: (path) => paths.push(path.join('.')) });
    throw poison('VALIDATION_FAILED', `${schema.name} does not match its schema at ${paths.join(', ') || '?'}: ${(err as Error).message}`, err);
  }
}

function statusOf(err: unknown): number | undefined {
  const s = (err as { status?: unknown } | null)?.status;
  return typeof s === 'number' ? s : undefined;
}

function registryError(what: string, err: unknown): SolvermeshError {
  const status = statusOf(err);
  const msg = `schema registry: ${what} failed${status ? ` (HTTP ${status})` : ''}: ${(err as Error)?.message ?? String(err)}`;
  // 4xx other than credentials and throttling are answers (incompatible schema, bad request): not worth retrying.
  if (status && status >= 400 && status < 500 && ![401, 403, 408, 429].includes(status)) return poison('REJECTED', msg, err);
  return transient('REGISTRY_UNAVAILABLE', msg, err);
}
