// `solvermesh mcp`: the MCP tools over stdio for a local client. JSON-RPC on stdin/stdout, logs
// on stderr. It stands on the gateway's core (the log read to its end into the projection before
// it serves), and exits when the client closes stdin.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { startCore } from '../gateway/core';
import { createGatewayMetrics } from '../gateway/metrics';
import { registryPrefix } from '../impedance';
import { RegistryStore } from '../impedance/registry-store';
import { createLogger } from '../runtime/logger';
import { loadMcpConfig, type McpFlags } from './config';
import { CostsSent } from './deps';
import { guardScopes, mcpServerFor } from './server';

export async function runMcpStdio(flags: McpFlags): Promise<void> {
  const config = loadMcpConfig(flags);
  const logger = createLogger(config.runtime.logLevel, 'mcp');
  const metrics = createGatewayMetrics();
  const core = await startCore(config.runtime, logger, metrics, config.historyEvents);
  await core.follower.caughtUp;
  const deps = {
    hub: core.hub, sender: core.sender, metrics, verifierRunning: core.verifierRunning, runtime: config.runtime,
    registry: new RegistryStore(core.redis, registryPrefix(config.runtime.topicPrefix)), costsSent: new CostsSent(),
  };
  const server = mcpServerFor({ deps, principal: config.principal, gatewayUrl: config.gatewayUrl });
  const transport = new StdioServerTransport();
  let closing = false;
  const close = async () => {
    // server.close() closes the transport, whose onclose comes back here: once is enough.
    if (closing) return;
    closing = true;
    await server.close().catch(() => undefined);
    await core.close();
    logger.flush();
    process.exit(0);
  };
  transport.onclose = () => void close();
  process.stdin.once('end', () => void close());
  process.once('SIGTERM', () => void close());
  process.once('SIGINT', () => void close());
  await server.connect(guardScopes(transport, config.principal));
  logger.info({ subject: config.principal.subject, scopes: [...config.principal.scopes], records: core.hub.recordsSeen }, 'mcp server on stdio');
}
