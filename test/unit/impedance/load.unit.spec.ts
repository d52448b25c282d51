import assert from 'node:assert/strict';
import { validateEvent } from '../../../schemas/validate';
import { capabilityMatch, capabilityQualifies, loadWeight, rankByLoad } from '../../../services/impedance/load';
import { foldHeartbeat, fromImpedanceUpdated, toImpedanceUpdated } from '../../../services/impedance/agent-fold';
import { hb } from './helpers';

describe('seed 003 load balancing and capability routing (load.ts)', () => {
  describe('load weight by utilisation', () => {
    it('given utilisations around the 0.8 and 0.3 bounds, then overloaded 1.5x, underused 0.75x, the rest and unreported 1x', () => {
      assert.deepEqual([0.81, 0.8, 0.5, 0.3, 0.29, 0, 1, null].map(loadWeight), [1.5, 1, 1, 1, 0.75, 0.75, 1.5, 1]);
    });
  });

  describe('routing order', () => {
    it('given an overloaded agent ahead by impedance and an idle one behind, when 2 are routed, then the idle one and the middle one win', () => {
      // Weighted: A 100 x 1.5 = 150, B 120 x 1 = 120, C 140 x 0.75 = 105, D 200 x 0.75 = 150.
      const cands = [
        { agentId: 'A', score: 100, utilisation: 0.9 },
        { agentId: 'B', score: 120, utilisation: 0.5 },
        { agentId: 'C', score: 140, utilisation: 0.1 },
        { agentId: 'D', score: 200, utilisation: 0.2 },
      ];
      assert.deepEqual(rankByLoad(cands, 2).map((c) => c.agentId), ['C', 'B']);
      // A and D tie at 150: agent id decides, so the order is deterministic.
      assert.deepEqual(rankByLoad(cands, 4).map((c) => c.agentId), ['C', 'B', 'A', 'D']);
    });

    it('given no utilisation reported, when routed, then the impedance order stands', () => {
      const cands = [{ agentId: 'x', score: 3, utilisation: null }, { agentId: 'y', score: 1, utilisation: null }, { agentId: 'z', score: 2, utilisation: null }];
      assert.deepEqual(rankByLoad(cands, 3).map((c) => c.agentId), ['y', 'z', 'x']);
    });

    it('given an overloaded agent far ahead by impedance (more than 1.5x), then it still comes first: load reorders, it does not exclude', () => {
      const cands = [{ agentId: 'busy', score: 50, utilisation: 0.95 }, { agentId: 'idle', score: 80, utilisation: 0.1 }];
      // busy 75, idle 60: idle first; with busy at 30 (45 < 60) busy stays first.
      assert.deepEqual(rankByLoad(cands, 1).map((c) => c.agentId), ['idle']);
      assert.deepEqual(rankByLoad([{ ...cands[0]!, score: 30 }, cands[1]!], 1).map((c) => c.agentId), ['busy']);
    });
  });

  describe('capability match', () => {
    it('given partial matches, then the share is matched / required and only above 0.7 qualifies', () => {
      assert.equal(capabilityMatch(['a', 'b', 'c', 'd'], ['a', 'b', 'c']), 0.75);
      assert.equal(capabilityQualifies(['a', 'b', 'c', 'd'], ['a', 'b', 'c']), true);
      assert.equal(capabilityMatch(['a', 'b', 'c'], ['a', 'b', 'x']), 2 / 3);
      assert.equal(capabilityQualifies(['a', 'b', 'c'], ['a', 'b', 'x']), false);
      const ten = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9'];
      assert.equal(capabilityMatch(ten, ten.slice(0, 7)), 0.7);
      assert.equal(capabilityQualifies(ten, ten.slice(0, 7)), false, '0.7 is not above the threshold');
      assert.equal(capabilityQualifies(ten, ten.slice(0, 8)), true);
      assert.equal(capabilityMatch([], ['a']), 1);
      assert.equal(capabilityMatch(['a', 'a', 'b'], ['a']), 0.5, 'a capability named twice counts once');
    });
  });

  describe('heartbeat utilisation', () => {
    it('given a heartbeat with utilisation 1.2 or -0.1, when validated, then OUT_OF_RANGE (the record goes to the DLQ); 0, 1 and null pass', () => {
      for (const u of [1.2, -0.1]) {
        const issues = validateEvent(hb({ util: u }));
        assert.ok(issues.some((i) => i.code === 'OUT_OF_RANGE' && i.path === 'utilisation'), `${u}: ${JSON.stringify(issues)}`);
      }
      for (const u of [0, 1, null]) assert.deepEqual(validateEvent(hb({ util: u })), [], String(u));
    });

    it('given a heartbeat with utilisation 0.9, when folded, then the agent state and its changelog entry carry it', () => {
      const out = foldHeartbeat(undefined, hb({ util: 0.9 }))!;
      assert.equal(out.agent.utilisation, 0.9);
      const entry = toImpedanceUpdated(out.agent);
      assert.equal(entry.utilisation, 0.9);
      assert.equal(fromImpedanceUpdated(entry).utilisation, 0.9);
    });
  });
});
