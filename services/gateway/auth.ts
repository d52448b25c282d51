// Bearer tokens, configured as SHA-256 hashes (the gateway never holds a token in the clear),
// each with a subject (the owner recorded in SessionOpened.owner) and scopes (seed 000 §6.2).
import { createHash } from 'node:crypto';
import { GatewayError } from './errors';

export const SCOPES = ['read', 'costs', 'open', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Principal {
  readonly subject: string;
  readonly scopes: ReadonlySet<Scope>;
}

/** By SHA-256 hex of the token. */
export type TokenTable = ReadonlyMap<string, Principal>;

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function parseTokens(text: string): TokenTable {
  const out = new Map<string, Principal>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [subject, hash, scopes, ...rest] = line.split(/\s+/);
    if (!subject || !hash || !scopes || rest.length > 0 || !/^[0-9a-f]{64}$/.test(hash)) {
      throw new Error(`token line ${i + 1}: expected "<subject> <sha256 hex> <scope,scope>", got ${JSON.stringify(line.slice(0, 40))}`);
    }
    const set = new Set<Scope>();
    for (const s of scopes.split(',')) {
      if (!(SCOPES as readonly string[]).includes(s)) throw new Error(`token line ${i + 1}: scope ${JSON.stringify(s)} is not one of ${SCOPES.join(', ')}`);
      set.add(s as Scope);
    }
    out.set(hash, { subject, scopes: set });
  });
  return out;
}

/** The principal of an Authorization header; 401 when it is missing or unknown. */
export function authenticate(tokens: TokenTable, header: string | undefined): Principal {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) throw new GatewayError('UNAUTHENTICATED', header ? 'Authorization must be "Bearer <token>"' : 'no bearer token: send Authorization: Bearer <token>');
  const hash = hashToken(m[1]!);
  // Looked up by hash: timing reveals at most something about a hash, never about a token.
  const p = tokens.get(hash);
  if (!p) throw new GatewayError('UNAUTHENTICATED', 'unknown bearer token');
  return p;
}

export function requireScope(p: Principal, scope: Scope): void {
  if (!p.scopes.has(scope) && !p.scopes.has('admin')) throw new GatewayError('FORBIDDEN', `token of ${p.subject} lacks scope "${scope}"`);
}

/** Whether p may see a session owned by `owner` (admin sees all; internal sessions only admin). */
export const mayRead = (p: Principal, owner: string | null | undefined) => p.scopes.has('admin') || (owner !== null && owner !== undefined && owner === p.subject);
