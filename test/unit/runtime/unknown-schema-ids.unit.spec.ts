// The codec's answer to schema ids the registry does not know: a lagging registry gets a grace
// period, a flood of made-up ids gets neither a request storm, unbounded memory nor a stall.
import assert from 'node:assert/strict';
import { PROBE_CEILING, UnknownSchemaIds, type UnknownIdPolicy } from '../../../services/runtime/unknown-schema-ids';

const policy: UnknownIdPolicy = { graceMs: 10_000, cooldownMs: 60_000, rememberMs: 60_000, capacity: 100, missBurst: 20, missesPerSecond: 2, plausibleAbove: 0, ceilingRefreshMs: 5_000 };

describe('unknown schema ids', () => {
  it('given a 404 for a new id, when it is answered within the grace, then the failure is retriable and the id is asked again', () => {
    const ids = new UnknownSchemaIds(policy, 0);
    assert.equal(ids.beforeLookup(7, 0), undefined);
    const first = ids.onNotFound(7, 0);
    assert.equal(first.retriable, true);
    assert.equal(first.code, 'UNKNOWN_SCHEMA_ID');
    assert.equal(ids.beforeLookup(7, 4_000), undefined, 'asked again, not answered from memory');
    assert.equal(ids.onNotFound(7, 9_999).retriable, true);
  });

  it('given an id that appears within its grace, when found, then it is forgotten as unknown', () => {
    const ids = new UnknownSchemaIds(policy, 0);
    ids.beforeLookup(7, 0);
    ids.onNotFound(7, 0);
    ids.onFound(7);
    assert.equal(ids.size, 0);
  });

  it('given an id still missing when its grace ends, then its record is dead-lettered and the id is answered from memory for rememberMs, then asked again', () => {
    const ids = new UnknownSchemaIds(policy, 0);
    ids.beforeLookup(7, 0);
    ids.onNotFound(7, 0);
    const last = ids.onNotFound(7, 10_000);
    assert.equal(last.retriable, false);
    assert.match(last.message, /schema id 7 is not in the registry after 10000 ms of asking/);
    const remembered = ids.beforeLookup(7, 30_000);
    assert.equal(typeof remembered === 'object' && remembered.retriable, false);
    assert.equal(ids.beforeLookup(7, 70_000), undefined, 'asked again after rememberMs');
  });

  it('given one grace ran out, when other unknown ids come within the cooldown, then they are dead-lettered at their first 404, and get a grace again after it', () => {
    const ids = new UnknownSchemaIds(policy, 0);
    ids.beforeLookup(1, 0);
    ids.onNotFound(1, 0);
    ids.onNotFound(1, 10_000);
    ids.beforeLookup(2, 20_000);
    assert.equal(ids.onNotFound(2, 20_000).retriable, false);
    ids.beforeLookup(3, 70_000);
    assert.equal(ids.onNotFound(3, 70_000).retriable, true);
  });

  it('given 100,000 made-up ids over 1,000 seconds, then the burst and then missesPerSecond reach the registry, and the table stays within its capacity', () => {
    const ids = new UnknownSchemaIds({ ...policy, graceMs: 0 }, 0);
    let asked = 0;
    let probes = 0;
    for (let id = 1; id <= 100_000; id++) {
      const now = id * 10;
      let refused = ids.beforeLookup(id, now);
      if (refused === PROBE_CEILING) {
        probes++;
        ids.onCeiling(0, now); // an empty registry: every id is made up
        refused = ids.beforeLookup(id, now);
      }
      assert.notEqual(refused, PROBE_CEILING);
      if (refused && refused !== PROBE_CEILING) {
        assert.equal(refused.retriable, false);
        continue;
      }
      asked++;
      assert.equal(ids.onNotFound(id, now).retriable, false);
    }
    assert.ok(asked <= 20 + 2 * 1_000, `asked ${asked}`);
    assert.ok(asked >= 2 * 1_000 - 1, `asked ${asked}: the budget refills`);
    assert.ok(ids.size <= 100, `remembered ${ids.size}`);
    assert.ok(probes <= 1_000_000 / 5_000 + 1, `${probes} probes of the registry's highest id`);
  });

  it('given the miss budget spent, when time passes, then it refills at missesPerSecond; ids that exist never spend it', () => {
    const ids = new UnknownSchemaIds({ ...policy, graceMs: 0, missBurst: 2 }, 0);
    for (let id = 100; id < 150; id++) {
      assert.equal(ids.beforeLookup(id, 0), undefined);
      ids.onFound(id);
    }
    for (const id of [1_000_001, 1_000_002]) {
      assert.equal(ids.beforeLookup(id, 0), undefined);
      ids.onNotFound(id, 0);
    }
    assert.equal(ids.beforeLookup(1_000_003, 0), PROBE_CEILING);
    ids.onCeiling(149, 0);
    assert.match((ids.beforeLookup(1_000_003, 0) as Error).message, /not looked up: more than 2 unknown schema ids a second/);
    assert.equal(ids.beforeLookup(1_000_003, 500), undefined);
  });

  it('given the budget spent by made-up ids on a backlog, when ids up to plausibleAbove over the highest confirmed come, then they are still asked, and ids beyond are not', () => {
    const ids = new UnknownSchemaIds({ ...policy, graceMs: 0, missBurst: 2, missesPerSecond: 0.001, plausibleAbove: 50 }, 0);
    ids.onFound(300); // one of the service's own schemas, registered at start
    for (const made of [7_777_777, 8_888_888]) {
      assert.equal(ids.beforeLookup(made, 0), undefined);
      ids.onNotFound(made, 0);
    }
    assert.equal(ids.beforeLookup(9_999_999, 0), PROBE_CEILING);
    ids.onCeiling(300, 0); // the probe finds nothing above our own
    assert.match((ids.beforeLookup(9_999_999, 0) as Error).message, /over 50 above 300, the registry's highest id/);
    // A producer's schema registered before the service started, and one registered just after.
    assert.equal(ids.beforeLookup(120, 0), undefined);
    ids.onFound(120);
    assert.equal(ids.beforeLookup(350, 0), undefined);
    ids.onFound(350);
    assert.equal(ids.beforeLookup(400, 0), undefined, 'the highest confirmed moved to 350');
    assert.notEqual(ids.beforeLookup(401, 0), undefined);
    // Schemas registered since by other clients: once the refresh interval passed, a probe finds them.
    assert.equal(ids.beforeLookup(2_000, 5_000), PROBE_CEILING);
    ids.onCeiling(1_990, 5_000);
    assert.equal(ids.beforeLookup(2_000, 5_000), undefined);
    assert.equal(ids.highest, 1_990);
  });
});
