// One McpServer per caller: the tools its scopes allow are registered (so tools/list shows only
// those), and a call to a tool it may not use is answered as a tool error naming the missing scope
// by a thin guard on the transport, before the server's own "not found".
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isJSONRPCRequest, type CallToolResult, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Principal, Scope } from '../gateway/auth';
import type { ToolContext } from './deps';
import { TOOLS } from './tools';

const VERSION = '1';

export const allowed = (p: Principal, scope: Scope) => p.scopes.has('admin') || p.scopes.has(scope);

export function mcpServerFor(ctx: ToolContext): McpServer {
  const server = new McpServer({ name: 'solvermesh', version: VERSION }, {
    instructions: 'Streaming sparse solver sessions (open, push costs, wait, verify, estimate) and the agent mesh (status, best agents, coordination, conflicts) over a Kafka event log. Long work returns a session id and a stream link; waits are bounded by their timeout.',
  });
  for (const t of TOOLS) if (allowed(ctx.principal, t.scope)) t.register(server, ctx);
  return server;
}

/** Why `p` may not call tool `name`, or undefined (an unknown name is left to the server). */
export function scopeRefusal(p: Principal, name: string): string | undefined {
  const t = TOOLS.find((x) => x.name === name);
  if (!t || allowed(p, t.scope)) return undefined;
  return `FORBIDDEN: token of ${p.subject} lacks scope "${t.scope}", which ${name} needs (it has ${[...p.scopes].join(', ') || 'none'})`;
}

/** The transport, with calls to tools `p` may not use answered by a tool error. */
export function guardScopes(inner: Transport, p: Principal): Transport {
  let handler: Transport['onmessage'];
  inner.onmessage = (message: JSONRPCMessage, extra) => {
    if (isJSONRPCRequest(message) && message.method === 'tools/call') {
      const name = (message.params as { name?: unknown } | undefined)?.name;
      const refusal = typeof name === 'string' ? scopeRefusal(p, name) : undefined;
      if (refusal) {
        const result: CallToolResult = { isError: true, content: [{ type: 'text', text: refusal }] };
        void inner.send({ jsonrpc: '2.0', id: message.id, result }, { relatedRequestId: message.id });
        return;
      }
    }
    handler?.(message, extra);
  };
  return {
    start: () => inner.start(),
    send: (m, o) => inner.send(m, o),
    close: () => inner.close(),
    get onmessage() { return handler; },
    set onmessage(h) { handler = h; },
    get onclose() { return inner.onclose; },
    set onclose(h) { inner.onclose = h; },
    get onerror() { return inner.onerror; },
    set onerror(h) { inner.onerror = h; },
    get sessionId() { return inner.sessionId; },
    setProtocolVersion: (v: string) => inner.setProtocolVersion?.(v),
  };
}
