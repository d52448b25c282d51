// `solvermesh mcp`: the solver and mesh as MCP tools over stdio (services/mcp), for a local
// client that spawns it (README "MCP").
import type { Command } from 'commander';
import { runMcpStdio } from '../../mcp/stdio';

export function register(program: Command): void {
  program
    .command('mcp')
    .description('serve the solver and mesh tools over the Model Context Protocol on stdio (JSON-RPC on stdin/stdout, logs on stderr); tools filtered by the token\'s or the given scopes')
    .option('--token <t>', 'a gateway bearer token (MCP_TOKEN), looked up in GATEWAY_TOKENS / GATEWAY_TOKENS_FILE')
    .option('--scopes <list>', 'without a token: comma-separated scopes read, costs, open, admin (MCP_SCOPES, default read)')
    .option('--subject <name>', 'without a token: the owner of sessions opened (MCP_SUBJECT, default mcp)')
    .option('--gateway-url <url>', 'the gateway session streams are linked to (MCP_GATEWAY_URL)')
    .action(async (o: { token?: string; scopes?: string; subject?: string; gatewayUrl?: string }) => {
      await runMcpStdio(o);
    });
}
