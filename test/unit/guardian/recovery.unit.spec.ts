// Recovery time per incident (seed 002 §11.1 recovery_time: <= 5 min for a cluster, <= 15 min
// for a sector): the breaker change that restores an incident carries its time from detection,
// failed probes and a relapse while half-open included, and `mesh health` reports it per scope.
import assert from 'node:assert/strict';
import type { CircuitStateChanged, SolvermeshEvent } from '../../../schemas/generated/events';
import { GuardianCore, type GuardianInput } from '../../../services/guardian/core';
import { formatHealth, healthOf } from '../../../services/guardian/health';
import { toEmits } from '../../../services/guardian/outputs';
import { SEED_POLICY } from '../../../services/guardian/policy';
import { formatRecovery, recoveryKpis, RECOVERY_TARGET_US } from '../../../services/guardian/recovery';
import { S, agent, tick } from './events';

const T0 = 1_800_000_000 * S;
const MIN = 60 * S;

const cluster = (id: string, sector: string, n: number, state: 'OFFLINE' | 'ACTIVE', at: number) =>
  Array.from({ length: n }, (_, k) => agent(`${id}-${k}`, id, sector, state, at + k));

function fold(inputs: GuardianInput[], core: GuardianCore): CircuitStateChanged[] {
  return inputs.flatMap((e) => toEmits(e.meta.event_id, core.fold(e)).map((x) => x.event))
    .filter((e: SolvermeshEvent): e is CircuitStateChanged => e.type === 'CircuitStateChanged');
}

const row = (c: CircuitStateChanged) => [`${c.scope_id} ${c.previous_state}->${c.new_state}`, c.incident_detected_at, c.recovery_time_us];

describe('recovery time per incident (seed 002 §11.1)', () => {
  it('given a cluster that fails a probe, recovers, relapses while half-open and recovers again, every change names the detection and only the close carries the recovery time', () => {
    const core = new GuardianCore(SEED_POLICY);
    const detected = T0 + 5; // the 6th agent (> 5) down
    const changes = fold([
      ...cluster('c1', 's1', 6, 'OFFLINE', T0),
      tick(T0 + 30 * S + 5), // probe: still 6 down, next in 60 s
      ...cluster('c1', 's1', 6, 'ACTIVE', T0 + 40 * S),
      tick(T0 + 90 * S + 5), // probe: recovered, half-open until +150 s
      ...cluster('c1', 's1', 6, 'OFFLINE', T0 + 100 * S), // relapse: open, probed 60 s later
      ...cluster('c1', 's1', 6, 'ACTIVE', T0 + 110 * S),
      tick(T0 + 160 * S + 5), tick(T0 + 220 * S + 5),
    ], core);
    assert.deepEqual(changes.map(row), [
      ['c1 CLOSED->OPEN', detected, null],
      ['c1 OPEN->OPEN', detected, null],
      ['c1 OPEN->HALF_OPEN', detected, null],
      ['c1 HALF_OPEN->OPEN', detected, null],
      ['c1 OPEN->HALF_OPEN', detected, null],
      ['c1 HALF_OPEN->CLOSED', detected, T0 + 220 * S + 5 - detected],
    ]);
  });

  it('given a closed incident, the next opening is a new incident with its own detection', () => {
    const core = new GuardianCore(SEED_POLICY);
    const changes = fold([
      ...cluster('c1', 's1', 6, 'OFFLINE', T0), ...cluster('c1', 's1', 6, 'ACTIVE', T0 + S), tick(T0 + 31 * S), tick(T0 + 92 * S),
      ...cluster('c1', 's1', 6, 'OFFLINE', T0 + 200 * S),
    ], core);
    assert.deepEqual(changes.map(row), [
      ['c1 CLOSED->OPEN', T0 + 5, null],
      ['c1 OPEN->HALF_OPEN', T0 + 5, null],
      ['c1 HALF_OPEN->CLOSED', T0 + 5, T0 + 92 * S - (T0 + 5)],
      ['c1 CLOSED->OPEN', T0 + 200 * S + 5, null],
    ]);
  });

  it('given the seed targets, 5 min for a cluster and 15 min for a sector, the KPI counts restored incidents within them, the median (lower middle), the max, and those under way', () => {
    assert.deepEqual(RECOVERY_TARGET_US, { CLUSTER: 5 * MIN, SECTOR: 15 * MIN, GLOBAL: null });
    const core = new GuardianCore(SEED_POLICY);
    // c1: 90 s; c2: 5.5 min (two failed probes: over 5); s1 (60 agents of 12 clusters of 5 down,
    // > 50; the clusters 2 s apart, so no cascade): 13.8 min; c13 still open.
    const inputs: GuardianInput[] = [
      ...cluster('c1', 's0', 6, 'OFFLINE', T0), ...cluster('c1', 's0', 6, 'ACTIVE', T0 + S), tick(T0 + 30 * S + 5), tick(T0 + 90 * S + 5),
      ...cluster('c2', 's0', 6, 'OFFLINE', T0 + 100 * S), tick(T0 + 130 * S + 5), tick(T0 + 190 * S + 5), tick(T0 + 250 * S + 5),
      ...cluster('c2', 's0', 6, 'ACTIVE', T0 + 311 * S), tick(T0 + 370 * S + 5), tick(T0 + 430 * S + 5),
    ];
    const fold1 = fold(inputs, core);
    assert.deepEqual(fold1.filter((c) => c.new_state === 'CLOSED').map((c) => [c.scope_id, c.recovery_time_us]), [['c1', 90 * S], ['c2', 330 * S]]);
    const sectorDown = Array.from({ length: 12 }, (_, k) => cluster(`d${k}`, 's1', 5, 'OFFLINE', T0 + 1000 * S + k * 2 * S)).flat();
    const sectorUp = Array.from({ length: 12 }, (_, k) => cluster(`d${k}`, 's1', 5, 'ACTIVE', T0 + 1700 * S + k * 2 * S)).flat();
    const sectorFold = fold([...sectorDown, tick(T0 + 1100 * S), ...sectorUp, tick(T0 + 1790 * S), tick(T0 + 1850 * S)], core);
    // Opened by d10's first agent (the 51st) at +1020 s; failed probes at +1100 s and at the first
    // agent back (+1700 s, 59 still down); half-open at +1790 s, closed at +1850 s.
    assert.deepEqual(sectorFold.map(row), [
      ['s1 CLOSED->OPEN', T0 + 1020 * S, null], ['s1 OPEN->OPEN', T0 + 1020 * S, null], ['s1 OPEN->OPEN', T0 + 1020 * S, null],
      ['s1 OPEN->HALF_OPEN', T0 + 1020 * S, null], ['s1 HALF_OPEN->CLOSED', T0 + 1020 * S, 830 * S],
    ]);
    const open = fold([...cluster('c13', 's2', 6, 'OFFLINE', T0 + 1900 * S), tick(T0 + 1960 * S)], core);
    assert.deepEqual(open.map((c) => c.new_state), ['OPEN', 'OPEN']);

    const all = [...fold1, ...sectorFold, ...open];
    const kpis = recoveryKpis(all, core.board, core.clock);
    assert.deepEqual(kpis, [
      { scope: 'CLUSTER', targetUs: 5 * MIN, restored: 2, withinTarget: 1, medianUs: 90 * S, maxUs: 330 * S, underWay: 1, longestUnderWayUs: 60 * S - 5 },
      { scope: 'SECTOR', targetUs: 15 * MIN, restored: 1, withinTarget: 1, medianUs: 830 * S, maxUs: 830 * S, underWay: 0, longestUnderWayUs: null },
    ]);
    assert.equal(formatRecovery(kpis[0]!), 'CLUSTER  2 restored, median 1.5 min, max 5.5 min, 1/2 within <= 5.0 min; 1 under way, longest 1.0 min');
    const text = formatHealth(healthOf(core, [], all));
    assert.match(text, /recovery time per incident \(detection to restored; seed 002 §11\.1\):\n {4}CLUSTER {2}2 restored/);
    assert.match(text, /\n {4}SECTOR {3}1 restored, median 13\.8 min, max 13\.8 min, 1\/1 within <= 15\.0 min$/);
  });

  it('given no incident, the KPI is empty and health says so', () => {
    const core = new GuardianCore(SEED_POLICY);
    assert.deepEqual(recoveryKpis([], core.board, core.clock), []);
    assert.match(formatHealth(healthOf(core, [], [])), /recovery time per incident \(detection to restored; seed 002 §11\.1\): no incidents$/);
  });
});
