// Seed 003 load balancing and capability routing, pure.
//
// Load: routing ranks agents by their impedance score weighted by the utilisation of their last
// heartbeat: above 0.8 (overloaded) the score counts 1.5x, below 0.3 (underused) 0.75x, in
// between or unreported 1x. An overloaded agent therefore loses its place to any agent up to 1.5x
// its impedance, and an idle one wins over agents down to 0.75x of its impedance: the busy get
// fewer routed messages, the idle more, and none is excluded for load alone.
//
// Capabilities: a request's capabilities match an agent by the share it has of them; the agent
// qualifies above 0.7 (the seed's `capability_match > 0.7`), so 3 of 4 (0.75) qualifies and
// 2 of 3 (0.667) or 7 of 10 (0.7) does not. No capabilities required matches every agent.

export const OVERLOADED_ABOVE = 0.8;
export const UNDERUSED_BELOW = 0.3;
export const OVERLOADED_WEIGHT = 1.5;
export const UNDERUSED_WEIGHT = 0.75;
export const CAPABILITY_MATCH_ABOVE = 0.7;

export function loadWeight(utilisation: number | null | undefined): number {
  if (utilisation === null || utilisation === undefined || !Number.isFinite(utilisation)) return 1;
  if (utilisation > OVERLOADED_ABOVE) return OVERLOADED_WEIGHT;
  if (utilisation < UNDERUSED_BELOW) return UNDERUSED_WEIGHT;
  return 1;
}

export interface LoadCandidate {
  readonly agentId: string;
  readonly score: number;
  readonly utilisation: number | null;
}

/** The `count` candidates with the lowest weighted score (ties by agent id), in that order. */
export function rankByLoad<T extends LoadCandidate>(candidates: readonly T[], count: number): T[] {
  return candidates
    .map((c) => ({ c, w: c.score * loadWeight(c.utilisation) }))
    .sort((x, y) => x.w - y.w || (x.c.agentId < y.c.agentId ? -1 : x.c.agentId > y.c.agentId ? 1 : 0))
    .slice(0, Math.max(0, count))
    .map((x) => x.c);
}

/** Share of the required capabilities the agent has (1 when none are required). */
export function capabilityMatch(required: readonly string[], has: readonly string[]): number {
  const need = [...new Set(required)];
  if (need.length === 0) return 1;
  const caps = new Set(has);
  return need.filter((c) => caps.has(c)).length / need.length;
}

export const capabilityQualifies = (required: readonly string[], has: readonly string[]) =>
  capabilityMatch(required, has) > CAPABILITY_MATCH_ABOVE;
