import assert from 'node:assert/strict';
import { loadEventSchemas } from '../../../schemas/catalog';
import type { AgentStateChanged, ConflictReported, ImpedanceUpdated } from '../../../schemas/generated/events';
import { foldOffence, NO_ACKS, OWN_KEY_OFFENCE_LIMIT, OWN_KEY_OFFENCE_WINDOW_MS, QUARANTINE_HOLD_MS } from '../../../services/impedance/ack-fold';
import { fromImpedanceUpdated, toImpedanceUpdated } from '../../../services/impedance/agent-fold';
import { PartitionFold } from '../../../services/impedance/partition-fold';
import { payloadMismatchReport } from '../../../services/identity/reports';
import { ackOf, hb, S, T0 } from './helpers';

// Seed 002 §9.2 rogue_agent: an agent that keeps sending messages only its own key could have
// signed, and that are wrong, is quarantined; forgeries by others never count.
const AGENT = 'agent-1';
const MIN = 60 * S;

/** A refusal of one of AGENT's acks (a wrong payload_hash) at `atUs`, with own_key as given, copied to its mesh.agent-acks partition. */
function offence(atUs: number, n: number, ownKey = true): ConflictReported {
  const ack = { ...ackOf({ agent: AGENT, at: atUs, message: `m${n}` }), payload_hash: 'not-what-was-sent' };
  return payloadMismatchReport(ack, 'sent', ownKey, { topic: 'mesh.acks', partition: 0, offset: String(100 + n) }, 'coordinator');
}

function roundTrip(e: ImpedanceUpdated): ImpedanceUpdated {
  const schema = loadEventSchemas().get('ImpedanceUpdated')!;
  return { ...(schema.type.fromBuffer(schema.type.toBuffer(e)) as object), type: 'ImpedanceUpdated' } as ImpedanceUpdated;
}

describe('impedance: own-key offences quarantine the agent (seed 002 §9.2 rogue agent)', () => {
  it(`given ${OWN_KEY_OFFENCE_LIMIT} own-key offences within ${OWN_KEY_OFFENCE_WINDOW_MS / 60_000} min of event time, then the agent is quarantined (BYZANTINE_BEHAVIOR) from the last, for the hold`, () => {
    let t = NO_ACKS;
    for (let i = 0; i < OWN_KEY_OFFENCE_LIMIT - 1; i++) {
      t = foldOffence(t, offence(T0 + i * 10 * MIN, i), i)!;
      assert.equal(t.quarantinedUntil, null, `not after ${i + 1}`);
    }
    const last = T0 + 20 * MIN + 5 * S;
    t = foldOffence(t, offence(last, 9), 9)!;
    assert.deepEqual([t.quarantineCause, t.quarantinedAt, t.quarantinedUntil], ['BYZANTINE_BEHAVIOR', last, last + QUARANTINE_HOLD_MS * 1000]);
    assert.match(t.quarantineDetail!, /only its own key could have signed.*PAYLOAD_HASH_MISMATCH/);
    assert.deepEqual(t.offences, [], 'the count starts again');
  });

  it('given offences spread wider than the window, then the older ones have dropped out and there is no quarantine', () => {
    let t = NO_ACKS;
    const step = OWN_KEY_OFFENCE_WINDOW_MS * 1000 / (OWN_KEY_OFFENCE_LIMIT - 1) + S;
    for (let i = 0; i < OWN_KEY_OFFENCE_LIMIT + 2; i++) t = foldOffence(t, offence(T0 + i * step, i), i)!;
    assert.equal(t.quarantinedUntil, null);
    assert.ok(t.offences.length < OWN_KEY_OFFENCE_LIMIT);
  });

  it('given forgeries by others (own_key false: a bad signature, an unknown key, unsigned), then none counts, however many', () => {
    let t = NO_ACKS;
    for (let i = 0; i < 10; i++) t = foldOffence(t, offence(T0 + i * S, i, false), i) ?? t;
    assert.deepEqual([t.offences, t.quarantinedUntil, t.count], [[], null, 0]);
  });

  it('given one refusal copied twice (impedance and the coordinator both report it) or a replayed offset, then it counts once', () => {
    const once = foldOffence(NO_ACKS, offence(T0, 1), 5)!;
    assert.equal(foldOffence(once, offence(T0, 1), 6), undefined, 'same conflict id at a new offset');
    assert.equal(foldOffence(once, offence(T0 + S, 2), 5), undefined, 'offset folded before');
    assert.equal(once.offences.length, 1);
  });

  it('given the partition fold, when the third offence lands, then an AgentStateChanged QUARANTINED; the count survives the changelog round trip in between', () => {
    const fold = new PartitionFold();
    fold.apply(hb({ agent: AGENT, at: T0 }));
    const changed: AgentStateChanged[] = [];
    changed.push(...fold.applyOffence(offence(T0 + S, 1), 0).changed, ...fold.applyOffence(offence(T0 + 2 * S, 2), 1).changed);
    fold.commit();
    assert.deepEqual(changed, []);
    // a new owner restores the agent from its changelog entry: the two offences are still counted
    const entry = roundTrip(toImpedanceUpdated(fold.agents.get(AGENT)!));
    assert.deepEqual(entry.ack_tally?.own_key_offences, [T0 + S, T0 + 2 * S]);
    const restored = fromImpedanceUpdated(entry);
    assert.deepEqual(restored.acks.offences, [T0 + S, T0 + 2 * S]);
    const out = fold.applyOffence(offence(T0 + 3 * S, 3), 2).changed;
    assert.deepEqual(out.map((c) => [c.agent_id, c.new_state, c.cause, c.meta.occurred_at]), [[AGENT, 'QUARANTINED', 'BYZANTINE_BEHAVIOR', T0 + 3 * S]]);
  });
});
