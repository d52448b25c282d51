// The schema registry's subject API (Confluent-compatible), for registering the catalog,
// checking changes against every registered version, and telling an unknown id from a
// registry that cannot answer.
import { basicAuthHeader, registryAuth } from './credentials';
import { transient, poison } from './errors';

export interface RegistryAdmin {
  subjects(): Promise<string[]>;
  /** false only on the registry's own "schema not found" answer; other failures throw. */
  schemaExists(id: number): Promise<boolean>;
  versions(subject: string): Promise<Array<{ version: number; id: number; schema: Record<string, unknown> }>>;
  register(subject: string, schema: Record<string, unknown>): Promise<number>;
  /** The id of `schema` under `subject` when it is registered there, else undefined (changes nothing). */
  lookup(subject: string, schema: Record<string, unknown>): Promise<number | undefined>;
  setCompatibility(subject: string, level: string): Promise<void>;
  /** The subject's compatibility level (Apicurio answers the global default when none is set). */
  compatibility(subject: string): Promise<string | null>;
  /** The registry's own verdict against the latest version, with its reasons when given. */
  compatible(subject: string, schema: Record<string, unknown>): Promise<{ ok: boolean; messages: string[] }>;
}

const CONTENT = 'application/vnd.schemaregistry.v1+json';
/**
 * Longest wait for one registry request (answer and body). Without it a request the registry
 * never answers waits for undici's 300 s, and the record's partition with it: a timed-out request
 * is a retriable REGISTRY_UNAVAILABLE, asked again like a refused connection.
 */
export const REGISTRY_REQUEST_TIMEOUT_MS = 10_000;
/** The Confluent API's error_code for "schema id not found". */
const SCHEMA_NOT_FOUND = 40403;

/** The `error_code` of a Confluent-style error body; undefined when the body is not one. */
function errorCodeOf(text: string): number | undefined {
  try {
    const code = (JSON.parse(text) as { error_code?: unknown } | null)?.error_code;
    return typeof code === 'number' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** The registry's own 404 (unknown subject or version), not a wrong URL's. */
function registryNotFound(err: unknown): boolean {
  const e = err as { status?: number; registryCode?: number };
  return e.status === 404 && e.registryCode !== undefined;
}

/**
 * Whether an error status is the registry's verdict on what was asked (an incompatible schema,
 * an unknown subject): retrying cannot change it. Credentials, throttling and a 404 from
 * something that is not a registry at all are the registry's state, and pass.
 */
function answersAboutTheRequest(status: number, registryCode: number | undefined): boolean {
  if (status >= 500 || status === 401 || status === 403 || status === 408 || status === 429) return false;
  return status !== 404 || registryCode !== undefined;
}

export function registryAdmin(baseUrl: string, env?: NodeJS.ProcessEnv): RegistryAdmin {
  const auth = registryAuth(env);
  const authorization: Record<string, string> = auth ? { authorization: basicAuthHeader(auth) } : {};
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { accept: CONTENT, ...authorization, ...(body ? { 'content-type': CONTENT } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(REGISTRY_REQUEST_TIMEOUT_MS),
      });
      text = await res.text();
    } catch (err) {
      throw transient('REGISTRY_UNAVAILABLE', `schema registry at ${baseUrl} is unreachable (${(err as Error).message}); is it up? (make up)`, err);
    }
    if (!res.ok) {
      const registryCode = errorCodeOf(text);
      const what = `${method} ${baseUrl}${path}: HTTP ${res.status}: ${text.slice(0, 500)}`;
      const err = answersAboutTheRequest(res.status, registryCode)
        ? poison('REJECTED', what)
        : transient('REGISTRY_UNAVAILABLE', registryCode === undefined && res.status === 404
          ? `${what} (not a schema registry's answer: is SCHEMA_REGISTRY_URL right?)` : what);
      Object.assign(err, { status: res.status, registryCode });
      throw err;
    }
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const enc = encodeURIComponent;
  return {
    // Apicurio answers the first 1,000 subjects unless given a limit; Confluent answers them all
    // and ignores it. (A registry shared by many deployments holds thousands.)
    subjects: () => call<string[]>('GET', '/subjects?limit=1000000'),
    schemaExists: async (id) => {
      try {
        await call('GET', `/schemas/ids/${id}`);
        return true;
      } catch (err) {
        if ((err as { registryCode?: number }).registryCode === SCHEMA_NOT_FOUND) return false;
        throw err;
      }
    },
    versions: async (subject) => {
      let list: number[];
      try {
        list = await call<number[]>('GET', `/subjects/${enc(subject)}/versions`);
      } catch (err) {
        if (registryNotFound(err)) return [];
        throw err;
      }
      return Promise.all(list.map(async (v) => {
        const r = await call<{ version: number; id: number; schema: string }>('GET', `/subjects/${enc(subject)}/versions/${v}`);
        return { version: r.version, id: r.id, schema: JSON.parse(r.schema) as Record<string, unknown> };
      }));
    },
    lookup: async (subject, schema) => {
      try {
        return (await call<{ id: number }>('POST', `/subjects/${enc(subject)}`, { schema: JSON.stringify(schema) })).id;
      } catch (err) {
        if (registryNotFound(err)) return undefined;
        throw err;
      }
    },
    register: async (subject, schema) => (await call<{ id: number }>('POST', `/subjects/${enc(subject)}/versions`, { schema: JSON.stringify(schema) })).id,
    setCompatibility: async (subject, level) => {
      try {
        await call('PUT', `/config/${enc(subject)}`, { compatibility: level });
      } catch (err) {
        // Writers of a new subject race to create its rule (four verifier groups' first votes):
        // Apicurio answers the losers 409 "already exists". The rule exists now; a PUT updates it.
        if ((err as { status?: number }).status !== 409) throw err;
        await call('PUT', `/config/${enc(subject)}`, { compatibility: level });
      }
    },
    compatibility: async (subject) => {
      try {
        return (await call<{ compatibilityLevel?: string }>('GET', `/config/${enc(subject)}`)).compatibilityLevel ?? null;
      } catch (err) {
        if (registryNotFound(err)) return null;
        throw err;
      }
    },
    compatible: async (subject, schema) => {
      try {
        const r = await call<{ is_compatible: boolean; messages?: string[] }>('POST', `/compatibility/subjects/${enc(subject)}/versions/latest?verbose=true`, { schema: JSON.stringify(schema) });
        return { ok: r.is_compatible, messages: r.messages ?? [] };
      } catch (err) {
        if (registryNotFound(err)) return { ok: true, messages: [] };
        throw err;
      }
    },
  };
}
