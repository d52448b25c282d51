// /mcp on the gateway: MCP's Streamable HTTP transport, stateless (a server and transport per
// POST, no Mcp-Session-Id), JSON responses, behind the gateway's bearer auth and rate limits,
// with Host and Origin checked against DNS rebinding. GET (server-initiated streams) and DELETE
// (session end) have nothing to serve without sessions: 405.
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { GatewayDeps } from '../gateway/app';
import { principalOf } from '../gateway/app';
import { GatewayError } from '../gateway/errors';
import { registryPrefix } from '../impedance';
import { RegistryStore } from '../impedance/registry-store';
import { errorMessage } from '../runtime/errors';
import { CostsSent, type McpDeps } from './deps';
import { refusedOrigin } from './origin';
import { guardScopes, mcpServerFor } from './server';

export function registerMcpRoute(app: FastifyInstance, deps: GatewayDeps): void {
  const runtime = deps.config.runtime;
  const mcp: McpDeps = {
    hub: deps.hub, sender: deps.sender, metrics: deps.metrics, verifierRunning: deps.verifierRunning, runtime,
    registry: new RegistryStore(deps.redis, registryPrefix(runtime.topicPrefix)), costsSent: new CostsSent(),
  };
  const k = deps.config.knobs;
  const checkOrigin = async (req: FastifyRequest) => {
    const why = refusedOrigin({ host: req.headers.host, origin: req.headers.origin }, k.gatewayMcpAllowedHosts, k.gatewayMcpAllowedOrigins);
    if (why) throw new GatewayError('FORBIDDEN', why);
  };

  app.post('/mcp', {
    config: { scope: 'authenticated' },
    onRequest: checkOrigin,
    schema: { summary: 'Model Context Protocol, Streamable HTTP (stateless, JSON responses): the solver and mesh tools the token\'s scopes allow', hide: true },
  }, async (req, reply) => {
    const principal = principalOf(req);
    const server = mcpServerFor({ deps: mcp, principal, gatewayUrl: `${req.protocol}://${req.host}` });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    void reply.hijack();
    reply.raw.on('close', () => { void transport.close(); void server.close(); });
    try {
      await server.connect(guardScopes(transport, principal));
      await transport.handleRequest(req.raw, reply.raw, req.body);
    } catch (err) {
      req.log.error({ err }, 'mcp request failed');
      if (!reply.raw.headersSent) reply.raw.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32603, message: errorMessage(err) } }));
    }
  });

  const notHere = async () => { throw new GatewayError('METHOD_NOT_ALLOWED', 'this MCP endpoint is stateless: POST JSON-RPC messages; there are no server-initiated streams (GET) or sessions to end (DELETE)', { allow: 'POST' }); };
  app.get('/mcp', { config: { scope: 'authenticated' }, onRequest: checkOrigin, schema: { hide: true } }, notHere);
  app.delete('/mcp', { config: { scope: 'authenticated' }, onRequest: checkOrigin, schema: { hide: true } }, notHere);
}
