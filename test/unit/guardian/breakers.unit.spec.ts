import assert from 'node:assert/strict';
import {
  EMPTY_BOARD, SEED_BREAKER_POLICY as P, breakerOf, decide, evolve, isRoutable, type BreakerBoard, type BreakerChanged, type BreakerInput,
} from '../../../services/guardian/breakers';
import { S } from './events';

const down = (_agentId: string, clusterId: string, sectorId: string, at: number, isDown = true): BreakerInput =>
  (isDown ? { kind: 'agent', at, was: null, now: { clusterId, sectorId } } : { kind: 'agent', at, was: { clusterId, sectorId }, now: null });
const time = (at: number): BreakerInput => ({ kind: 'time', at });

/** given inputs, when folded in order: the changes of each and the final board. */
function run(inputs: BreakerInput[], board: BreakerBoard = EMPTY_BOARD): { changes: BreakerChanged[][]; board: BreakerBoard } {
  const changes: BreakerChanged[][] = [];
  for (const i of inputs) {
    const c = decide(board, i, P);
    changes.push(c);
    board = [i, ...c].reduce(evolve, board);
  }
  return { changes, board };
}

const agents = (n: number, cluster: string, sector: string, at: number, from = 0) => Array.from({ length: n }, (_, k) => down(`${cluster}-a${from + k}`, cluster, sector, at));
const brief = (c: BreakerChanged) => `${c.scope}:${c.id} ${c.from}->${c.to.status} ${c.failures}/${c.threshold}`;

describe('mesh circuit breakers (seed 002 §6.2)', () => {
  it('given 5 failed agents in a cluster, it stays closed; the 6th (> 5) opens it with a probe due 30 s later', () => {
    const { changes, board } = run(agents(6, 'c1', 's1', 10 * S));
    assert.deepEqual(changes.slice(0, 5), [[], [], [], [], []]);
    assert.deepEqual(changes[5]!.map(brief), ['CLUSTER:c1 CLOSED->OPEN 6/5']);
    assert.deepEqual(breakerOf(board, 'CLUSTER', 'c1'), { status: 'OPEN', openedAt: 10 * S, probeAt: 40 * S });
    assert.equal(changes[5]![0]!.reason, '6 failed agents > 5 in cluster c1');
    assert.equal(isRoutable(board, { clusterId: 'c1', sectorId: 's1' }), false);
    assert.equal(isRoutable(board, { clusterId: 'c2', sectorId: 's1' }), true);
  });

  it('given an open cluster, the probe is not due at 29.999999 s, is at 30 s; recovered, it goes half-open and closes after 60 s of monitoring', () => {
    const opened = run(agents(6, 'c1', 's1', 0)).board;
    const recovered = run(Array.from({ length: 6 }, (_, k) => down(`c1-a${k}`, 'c1', 's1', 5 * S, false)), opened);
    assert.deepEqual(recovered.changes.flat(), [], 'recovery alone does not close an open breaker');
    const { changes, board } = run([time(30 * S - 1), time(30 * S), time(90 * S - 1), time(90 * S)], recovered.board);
    assert.deepEqual(changes.map((c) => c.map(brief)), [[], ['CLUSTER:c1 OPEN->HALF_OPEN 0/5'], [], ['CLUSTER:c1 HALF_OPEN->CLOSED 0/5']]);
    assert.deepEqual(breakerOf(board, 'CLUSTER', 'c1'), { status: 'CLOSED' });
  });

  it('given a cluster still failing at its probe, it stays open and waits 60 s (longer) for the next probe', () => {
    const { changes, board } = run([...agents(6, 'c1', 's1', 0), time(30 * S), time(89 * S), time(90 * S)]);
    assert.deepEqual(changes[6]!.map(brief), ['CLUSTER:c1 OPEN->OPEN 6/5']);
    assert.equal(changes[6]![0]!.reason, 'probe failed: 6 failed agents > 5; next probe in 60 s');
    assert.deepEqual(changes[7], []);
    assert.deepEqual(changes[8]!.map(brief), ['CLUSTER:c1 OPEN->OPEN 6/5']);
    assert.deepEqual(breakerOf(board, 'CLUSTER', 'c1'), { status: 'OPEN', openedAt: 0, probeAt: 150 * S });
  });

  it('given a half-open cluster, failures above the threshold reopen it at once', () => {
    const half = run([...agents(6, 'c1', 's1', 0), ...Array.from({ length: 6 }, (_, k) => down(`c1-a${k}`, 'c1', 's1', S, false)), time(30 * S)]).board;
    assert.equal(breakerOf(half, 'CLUSTER', 'c1').status, 'HALF_OPEN');
    const { changes, board } = run(agents(6, 'c1', 's1', 40 * S), half);
    assert.deepEqual(changes[5]!.map(brief), ['CLUSTER:c1 HALF_OPEN->OPEN 6/5']);
    assert.deepEqual(breakerOf(board, 'CLUSTER', 'c1'), { status: 'OPEN', openedAt: 40 * S, probeAt: 100 * S });
  });

  it('given 50 failed agents in a sector it stays closed; the 51st (> 50) opens it', () => {
    // 10 clusters of 5: no cluster breaker opens, only the sector's count grows.
    const inputs = Array.from({ length: 10 }, (_, c) => agents(5, `c${c}`, 's1', 0)).flat();
    inputs.push(down('extra', 'c10', 's1', 0));
    const { changes } = run(inputs);
    assert.deepEqual(changes.slice(0, 50).flat(), []);
    assert.deepEqual(changes[50]!.map(brief), ['SECTOR:s1 CLOSED->OPEN 51/50']);
  });

  it('given 10 open sectors the mesh stays closed; the 11th (> 10) opens the global breaker', () => {
    const inputs = Array.from({ length: 11 }, (_, s) => Array.from({ length: 51 }, (_, k) => down(`s${s}-a${k}`, `s${s}-c${k % 11}`, `s${s}`, 0))).flat();
    const { changes } = run(inputs);
    const flat = changes.flat().filter((c) => c.scope !== 'CLUSTER');
    assert.equal(flat.filter((c) => c.scope === 'SECTOR').length, 11);
    const global = flat.filter((c) => c.scope === 'GLOBAL');
    assert.deepEqual(global.map(brief), ['GLOBAL:global CLOSED->OPEN 11/10']);
    // The 11th sector's opening and the mesh's come from the same input, sector first.
    assert.deepEqual(changes[11 * 51 - 1]!.map(brief), ['SECTOR:s10 CLOSED->OPEN 51/50', 'GLOBAL:global CLOSED->OPEN 11/10']);
  });

  it('given a trip from the reflex, a closed cluster opens below its threshold and is probed 30 s later', () => {
    const { changes, board } = run([down('a', 'c1', 's1', 0), { kind: 'trip', at: S, scope: 'CLUSTER', id: 'c1', reason: 'cascade' }, time(31 * S)]);
    assert.deepEqual(changes[1]!.map(brief), ['CLUSTER:c1 CLOSED->OPEN 1/5']);
    assert.deepEqual(changes[2]!.map(brief), ['CLUSTER:c1 OPEN->HALF_OPEN 1/5']);
    assert.equal(breakerOf(board, 'CLUSTER', 'c1').status, 'HALF_OPEN');
  });

  it('moves a down agent\'s count when it is counted down elsewhere', () => {
    const { board } = run([down('a', 'c1', 's1', 0), { kind: 'agent', at: 2, was: { clusterId: 'c1', sectorId: 's1' }, now: { clusterId: 'c2', sectorId: 's1' } }]);
    assert.deepEqual([...board.clusterDown], [['c2', 1]]);
    assert.deepEqual([...board.sectorDown], [['s1', 1]]);
  });
});
