// The codec's answer to schema ids the registry does not know: a lagging registry gets a grace
// period, a flood of made-up ids gets neither a request storm, unbounded memory nor a stall.
import assert from 'node:assert/strict';
import { LIST_SUBJECTS, UnknownSchemaIds, type UnknownIdPolicy } from '../../../services/runtime/unknown-schema-ids';

const policy: UnknownIdPolicy = { graceMs: 10_000, cooldownMs: 60_000, rememberMs: 60_000, capacity: 100, missBurst: 20, missesPerSecond: 2, listRefreshMs: 1_000 };

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

  it('given a backlog of 100,000 made-up ids read over 1,000 seconds, then the burst and then missesPerSecond reach the registry, and the table stays within its capacity', () => {
    const ids = new UnknownSchemaIds({ ...policy, graceMs: 0 }, 0);
    let asked = 0;
    let probes = 0;
    for (let id = 1; id <= 100_000; id++) {
      const now = id * 10;
      let refused = ids.beforeLookup(id, now, 'mesh.acks', 0);
      if (refused === LIST_SUBJECTS) {
        probes++;
        ids.onListed('mesh.acks', [2_000_000], now); // the topic's one real id: every id here is made up
        refused = ids.beforeLookup(id, now, 'mesh.acks', 0);
      }
      assert.notEqual(refused, LIST_SUBJECTS);
      if (refused && refused !== LIST_SUBJECTS) {
        assert.equal(refused.retriable, false);
        continue;
      }
      asked++;
      assert.equal(ids.onNotFound(id, now).retriable, false);
    }
    assert.ok(asked <= 20 + 2 * 1_000, `asked ${asked}`);
    assert.ok(asked >= 2 * 1_000 - 1, `asked ${asked}: the budget refills`);
    assert.ok(ids.size <= 100, `remembered ${ids.size}`);
    assert.equal(probes, 1, 'one listing, made after they were all produced, judges them all');
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
    assert.match((ids.beforeLookup(1_000_003, 0) as Error).message, /not looked up: more than 2 unknown schema ids a second/);
    assert.equal(ids.beforeLookup(1_000_003, 500), undefined);
  });

  it('given the budget spent by made-up ids on a backlog, when an id the registry lists under the record\'s topic comes, then it is still asked; an unlisted one produced before the listing is not', () => {
    const ids = new UnknownSchemaIds({ ...policy, graceMs: 0, missBurst: 2, missesPerSecond: 0.001 }, 10_000);
    for (const made of [7_777_777, 8_888_888]) {
      assert.equal(ids.beforeLookup(made, 10_000, 'p.mesh.acks', 9_000), undefined);
      ids.onNotFound(made, 10_000);
    }
    assert.equal(ids.beforeLookup(3567, 10_000, 'p.mesh.acks', 9_000), LIST_SUBJECTS);
    ids.onListed('p.mesh.acks', [978, 3567], 10_000); // a producer registered 3567 under p.mesh.acks-...AckReceived
    assert.equal(ids.beforeLookup(3567, 10_000, 'p.mesh.acks', 9_000), undefined);
    ids.onFound(3567);
    assert.match((ids.beforeLookup(9_999_999, 10_000, 'p.mesh.acks', 9_500) as Error).message, /the registry does not list it under p\.mesh\.acks/);
    assert.match((ids.beforeLookup(4000, 10_000) as Error).message, /not looked up/, 'no topic: nothing to list');
    assert.equal(ids.beforeLookup(4000, 10_000, 'p.mesh.heartbeats', 9_000), LIST_SUBJECTS, 'each topic has its own listing');
  });

  it('given a listing, when a record produced after it has an unlisted id, then it waits (retriable) until the next listing may be made, and that one judges it; a record dated in the future counts as produced now', () => {
    const ids = new UnknownSchemaIds({ ...policy, graceMs: 0, missBurst: 0, missesPerSecond: 0.001 }, 0);
    assert.equal(ids.beforeLookup(85, 10_000, 'p.mesh.impedance', 9_000), LIST_SUBJECTS);
    ids.onListed('p.mesh.impedance', [], 10_000);
    // The impedance service registers its subject and writes id 85 at 10,200.
    const early = ids.beforeLookup(85, 10_300, 'p.mesh.impedance', 10_200);
    assert.equal(typeof early === 'object' && early.retriable, true, 'produced after the listing: wait for the next');
    assert.equal(ids.beforeLookup(85, 11_000, 'p.mesh.impedance', 10_200), LIST_SUBJECTS);
    ids.onListed('p.mesh.impedance', [85], 11_000);
    assert.equal(ids.beforeLookup(85, 11_000, 'p.mesh.impedance', 10_200), undefined);
    // Dated a year ahead: judged by the first listing made after it was first seen.
    const future = 11_000 + 365 * 86_400_000;
    const waiting = ids.beforeLookup(666, 11_500, 'p.mesh.impedance', future);
    assert.equal(typeof waiting === 'object' && waiting.retriable, true);
    assert.equal(ids.beforeLookup(666, 12_000, 'p.mesh.impedance', future), LIST_SUBJECTS);
    ids.onListed('p.mesh.impedance', [85], 12_000);
    const judged = ids.beforeLookup(666, 12_000, 'p.mesh.impedance', future);
    assert.equal(typeof judged === 'object' && judged.retriable, false);
  });

});
