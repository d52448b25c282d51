// Which mesh.impedance entries a restore takes (issue 15): the service's own checkpoints only.
import assert from 'node:assert/strict';
import { foldHeartbeat, toImpedanceUpdated } from '../../../services/impedance/agent-fold';
import { entryRefusal } from '../../../services/impedance/changelog-trust';
import { schemaValidator } from '../../../services/runtime/validation';
import { hb } from './helpers';

describe('impedance changelog entries a restore trusts', () => {
  const validate = schemaValidator();
  const bounds = { heartbeats: 100, acks: 10 };
  const own = toImpedanceUpdated(foldHeartbeat(undefined, hb({ agent: 'S001-C01-A01' }))!.agent, 42, 3);

  it('given the service\'s own checkpoint inside the committed positions, then it is taken', () => {
    assert.equal(entryRefusal(own, 'S001-C01-A01', bounds, validate), undefined);
  });

  it('given another producer, another key, invalid values, an id not derived from its heartbeat, or positions past the bounds, then it is refused naming why', () => {
    const cases: Array<[typeof own, string, RegExp]> = [
      [{ ...own, meta: { ...own.meta, producer: 'mallory' } }, 'S001-C01-A01', /producer mallory/],
      [own, 'S001-C01-A02', /keyed "S001-C01-A02", for agent S001-C01-A01/],
      [{ ...own, impedance_score: Number.NaN }, 'S001-C01-A01', /invalid: .*impedance_score/],
      [{ ...own, operational_state: 'OFFLINE' }, 'S001-C01-A01', /does not derive from its heartbeat, revision and state/],
      [{ ...own, applied_through: 100 }, 'S001-C01-A01', /mesh.heartbeats through offset 100, beyond 99/],
      [{ ...own, acks_applied_through: 10 }, 'S001-C01-A01', /mesh.agent-acks through offset 10, beyond 9/],
    ];
    for (const [e, key, why] of cases) assert.match(entryRefusal(e, key, bounds, validate) ?? 'taken', why);
  });
});
