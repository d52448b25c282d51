// `solvermesh mcp` (stdio) knobs, and who the stdio caller is: the principal of a gateway token
// (MCP_TOKEN, looked up in the gateway's token table), else a subject with the scopes given
// (MCP_SCOPES). Flags override the variables.
import { readFileSync } from 'node:fs';
import { RUNTIME_KNOBS, type RuntimeConfig } from '../runtime/config';
import { SolvermeshError } from '../runtime/errors';
import { combineKnobs, readKnobs, type KnobDecls } from '../runtime/knobs';
import { authenticate, parseTokens, SCOPES, type Principal, type Scope } from '../gateway/auth';
import { GATEWAY_KNOBS } from '../gateway/config';

export const MCP_KNOBS = {
  mcpToken: { env: 'MCP_TOKEN', kind: 'string', default: '', doc: 'A gateway bearer token (`--token`): looked up in `GATEWAY_TOKENS` / `GATEWAY_TOKENS_FILE`, its subject owns the sessions the stdio server opens and its scopes choose the tools. Overrides `MCP_SCOPES`.' },
  mcpScopes: { env: 'MCP_SCOPES', kind: 'list', default: ['read'], item: { pattern: /^(read|costs|open|admin)$/, name: 'scope (read, costs, open, admin)' }, doc: 'Without a token (`--scopes`): the scopes of the stdio caller, as a gateway token has them: read (status, waits, mesh and conflict queries), costs (pushing costs, coordinating), open (opening, verifying, estimating), admin (every tool and every session).' },
  mcpSubject: { env: 'MCP_SUBJECT', kind: 'string', default: 'mcp', doc: 'Without a token (`--subject`): the owner recorded on sessions the stdio server opens; it sees only its own sessions unless admin.' },
  mcpGatewayUrl: { env: 'MCP_GATEWAY_URL', kind: 'url', default: 'http://127.0.0.1:3000', protocols: ['http:', 'https:'], doc: 'The gateway the stdio server links session streams to (`--gateway-url`).' },
} as const satisfies KnobDecls;

export interface McpFlags {
  readonly token?: string;
  readonly scopes?: string;
  readonly subject?: string;
  readonly gatewayUrl?: string;
}

export interface McpStdioConfig {
  readonly runtime: RuntimeConfig;
  readonly principal: Principal;
  readonly gatewayUrl: string;
  readonly historyEvents: number;
}

export function loadMcpConfig(flags: McpFlags = {}, env: NodeJS.ProcessEnv = process.env): McpStdioConfig {
  const merged = {
    ...env,
    ...(flags.token !== undefined ? { MCP_TOKEN: flags.token } : {}),
    ...(flags.scopes !== undefined ? { MCP_SCOPES: flags.scopes } : {}),
    ...(flags.subject !== undefined ? { MCP_SUBJECT: flags.subject } : {}),
    ...(flags.gatewayUrl !== undefined ? { MCP_GATEWAY_URL: flags.gatewayUrl } : {}),
  };
  const k = readKnobs(combineKnobs(combineKnobs(RUNTIME_KNOBS, GATEWAY_KNOBS), MCP_KNOBS), merged);
  let principal: Principal;
  if (k.mcpToken) {
    let text = k.gatewayTokens;
    try {
      if (k.gatewayTokensFile) text += `\n${readFileSync(k.gatewayTokensFile, 'utf8')}`;
      principal = authenticate(parseTokens(text), `Bearer ${k.mcpToken}`);
    } catch (err) {
      throw new SolvermeshError('CONFIG_INVALID', `MCP_TOKEN: ${(err as Error).message}; the token must be one of GATEWAY_TOKENS / GATEWAY_TOKENS_FILE (or give MCP_SCOPES instead)`);
    }
  } else {
    const scopes = new Set<Scope>(k.mcpScopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)));
    principal = { subject: k.mcpSubject, scopes };
  }
  return { runtime: k, principal, gatewayUrl: k.mcpGatewayUrl, historyEvents: k.gatewayHistoryEvents };
}
