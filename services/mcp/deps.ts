// What the MCP tools stand on, the same for both transports: the gateway's core (projection and
// stream hub, producer, verifier check), the impedance registry, and the positions of the cost
// updates this process sent (so a wait for convergence covers them).
import type { GatewayDeps } from '../gateway/app';
import type { Principal } from '../gateway/auth';
import type { RegistryStore } from '../impedance/registry-store';
import type { RuntimeConfig } from '../runtime/config';

export interface McpDeps extends Pick<GatewayDeps, 'hub' | 'sender' | 'metrics' | 'verifierRunning'> {
  readonly runtime: RuntimeConfig;
  readonly registry: RegistryStore;
  readonly costsSent: CostsSent;
}

/** Per call: who calls, and where the gateway serves session streams. */
export interface ToolContext {
  readonly deps: McpDeps;
  readonly principal: Principal;
  /** The gateway's base URL (`http://host:port`), for links to session streams. */
  readonly gatewayUrl: string;
  /** Aborted when the client cancels the call or goes away. */
  readonly signal?: AbortSignal;
}

/** The latest solver.costs position sent per session and partition. */
export class CostsSent {
  private readonly bySession = new Map<string, Map<number, number>>();

  note(sessionId: string, partition: number, offset: number): void {
    let m = this.bySession.get(sessionId);
    if (!m) { m = new Map(); this.bySession.set(sessionId, m); }
    m.set(partition, Math.max(m.get(partition) ?? -1, offset));
  }

  of(sessionId: string): ReadonlyArray<{ partition: number; offset: number }> {
    return [...(this.bySession.get(sessionId) ?? [])].map(([partition, offset]) => ({ partition, offset }));
  }
}

export const streamUrl = (gatewayUrl: string, sessionId: string) => `${gatewayUrl.replace(/\/+$/, '')}/api/v1/sessions/${sessionId}/events`;
