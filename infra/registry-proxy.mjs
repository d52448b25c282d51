// The secured stack's schema registry front (issue 20). Apicurio 3 authenticates only through
// OIDC (quarkus.oidc, a Keycloak-like server, none here) or client credentials checked against
// that same OIDC server, so "only the operator registers schemas" is enforced here instead:
// HTTP basic auth against the stack's secrets; every known identity may read (GET, and the
// Confluent API's read-only POSTs: a schema lookup under a subject, a compatibility check);
// everything else (register, set compatibility, delete) only a writer (the operator).
// Usage: node registry-proxy.mjs <listen port> <upstream port> <secrets dir> <identities> <writers>
// (identities and writers comma-separated; identity <n>'s password is <secrets dir>/registry-<n>.password).
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';

const [listenPort, upstreamPort, secretsDir, identities, writers] = process.argv.slice(2);
const writerSet = new Set(writers.split(','));
// Digests, so the comparison takes the same time whatever the lengths.
const digest = (s) => createHash('sha256').update(s).digest();
const users = new Map(identities.split(',').map((name) => [name, digest(readFileSync(join(secretsDir, `registry-${name}.password`), 'utf8').trim())]));

/** The authenticated identity, or undefined. */
function identify(header) {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return undefined;
  const name = text.slice(0, i);
  const want = users.get(name);
  return want && timingSafeEqual(want, digest(text.slice(i + 1))) ? name : undefined;
}

/** Requests that change nothing: reads, a lookup of a schema under a subject, a compatibility test. */
function readOnly(method, path) {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return true;
  if (method !== 'POST') return false;
  return /^\/apis\/ccompat\/v\d+\/subjects\/[^/]+$/.test(path) || /^\/apis\/ccompat\/v\d+\/compatibility\//.test(path);
}

function refuse(res, status, message) {
  res.writeHead(status, { 'content-type': 'application/json', ...(status === 401 ? { 'www-authenticate': 'Basic realm="solvermesh registry"' } : {}) });
  res.end(JSON.stringify({ error_code: status * 100 + 1, message }));
}

const server = http.createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  const who = identify(req.headers.authorization);
  if (!who) return refuse(res, 401, 'authentication required');
  if (!readOnly(req.method, path) && !writerSet.has(who)) {
    process.stderr.write(`${new Date().toISOString()} refused ${who} ${req.method} ${path}\n`);
    return refuse(res, 403, `${who} may read the registry; only ${[...writerSet].join(', ')} may change it`);
  }
  const headers = { ...req.headers };
  delete headers.authorization;
  const up = http.request({ host: '127.0.0.1', port: Number(upstreamPort), method: req.method, path: req.url, headers }, (ur) => {
    res.writeHead(ur.statusCode ?? 502, ur.headers);
    ur.pipe(res);
  });
  up.on('error', (err) => { if (!res.headersSent) refuse(res, 502, `registry unreachable: ${err.message}`); else res.destroy(); });
  req.pipe(up);
});
server.listen(Number(listenPort), '127.0.0.1', () => process.stderr.write(`registry proxy on 127.0.0.1:${listenPort} -> ${upstreamPort}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
