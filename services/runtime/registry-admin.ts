// The schema registry's subject API (Confluent-compatible), for registering the catalog and
// checking changes against every registered version (BACKWARD_TRANSITIVE).
import { transient, poison } from './errors';

export interface RegistryAdmin {
  subjects(): Promise<string[]>;
  versions(subject: string): Promise<Array<{ version: number; id: number; schema: Record<string, unknown> }>>;
  register(subject: string, schema: Record<string, unknown>): Promise<number>;
  setCompatibility(subject: string, level: string): Promise<void>;
  /** The subject's compatibility level (Apicurio answers the global default when none is set). */
  compatibility(subject: string): Promise<string | null>;
  /** The registry's own verdict against the latest version, with its reasons when given. */
  compatible(subject: string, schema: Record<string, unknown>): Promise<{ ok: boolean; messages: string[] }>;
}

const CONTENT = 'application/vnd.schemaregistry.v1+json';

export function registryAdmin(baseUrl: string): RegistryAdmin {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { accept: CONTENT, ...(body ? { 'content-type': CONTENT } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw transient('REGISTRY_UNAVAILABLE', `schema registry at ${baseUrl} is unreachable (${(err as Error).message}); is it up? (make up)`, err);
    }
    const text = await res.text();
    if (!res.ok) {
      const err = (res.status >= 500 ? transient : poison)(
        res.status >= 500 ? 'REGISTRY_UNAVAILABLE' : 'REJECTED', `${method} ${path}: HTTP ${res.status}: ${text.slice(0, 500)}`);
      (err as { status?: number }).status = res.status;
      throw err;
    }
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const enc = encodeURIComponent;
  return {
    subjects: () => call<string[]>('GET', '/subjects'),
    versions: async (subject) => {
      let list: number[];
      try {
        list = await call<number[]>('GET', `/subjects/${enc(subject)}/versions`);
      } catch (err) {
        if ((err as { status?: number }).status === 404) return [];
        throw err;
      }
      return Promise.all(list.map(async (v) => {
        const r = await call<{ version: number; id: number; schema: string }>('GET', `/subjects/${enc(subject)}/versions/${v}`);
        return { version: r.version, id: r.id, schema: JSON.parse(r.schema) as Record<string, unknown> };
      }));
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
        if ((err as { status?: number }).status === 404) return null;
        throw err;
      }
    },
    compatible: async (subject, schema) => {
      try {
        const r = await call<{ is_compatible: boolean; messages?: string[] }>('POST', `/compatibility/subjects/${enc(subject)}/versions/latest?verbose=true`, { schema: JSON.stringify(schema) });
        return { ok: r.is_compatible, messages: r.messages ?? [] };
      } catch (err) {
        if ((err as { status?: number }).status === 404) return { ok: true, messages: [] };
        throw err;
      }
    },
  };
}
