// Given agents written to the real Redis registry with impedance scores and utilisations, when
// `best` routes a capability, then the load weights of load.ts decide among the 2 x count lowest
// by impedance (seed 003), from what the registry's Lua write stored.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { foldHeartbeat } from '../../../services/impedance/agent-fold';
import { connectRedis, RegistryStore, unlinkPrefixed } from '../../../services/impedance/registry-store';
import { ensureInfra } from '../../support/infra';
import { hb } from '../../unit/impedance/helpers';

describe('impedance registry: routing by load against Redis', function () {
  this.timeout(60_000);

  it('given A 100 @0.9, B 120 @0.5, C 140 @0.1, D 200 @0.2, when the best 2 are routed, then C (105) and B (120); a 3rd brings A (150)', async () => {
    const infra = await ensureInfra();
    const redis = connectRedis(infra.REDIS_URL);
    const prefix = `load-spec-${randomUUID()}:`;
    const store = new RegistryStore(redis, prefix);
    try {
      const t0 = Date.now() * 1000;
      const agents = ([['A', 100, 0.9], ['B', 120, 0.5], ['C', 140, 0.1], ['D', 200, 0.2]] as const).map(([id, score, u], i) => {
        const a = foldHeartbeat(undefined, hb({ agent: id, at: t0 + i, util: u, caps: ['route'] }))!.agent;
        assert.equal(a.state, 'ACTIVE');
        return { ...a, score };
      });
      await store.writeAgents(0, agents);
      assert.deepEqual((await store.best('route', 2)).map((a) => [a.agentId, a.score]), [['C', 140], ['B', 120]]);
      // Pool of 6 holds all four: A and D tie at 150, the id decides.
      assert.deepEqual((await store.best('route', 3)).map((a) => a.agentId), ['C', 'B', 'A']);
      // A count of 1 pools the 2 lowest by impedance, A and B: B (120) beats A (150); C is outside the pool.
      assert.deepEqual((await store.best('route', 1)).map((a) => a.agentId), ['B']);
    } finally {
      await unlinkPrefixed(redis, prefix);
      redis.disconnect();
    }
  });
});
