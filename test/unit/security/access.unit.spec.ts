import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AclOperationTypes as Op, AclResourceTypes as Res } from 'kafkajs';
import { SOURCES } from '../../../services/guardian/processor';
import { SEQUENCED as SEQUENCED_INPUT } from '../../../services/guardian/ticks';
import { INPUTS as SOLVER_INPUTS } from '../../../services/solver/processor';
import { INPUTS as VERIFIER_INPUTS } from '../../../services/verifier/processor';
import { accessOf, SERVICE_ACCESS, serviceAcls } from '../../../topics/access';
import { TOPICS } from '../../../topics/catalog';

const written = (principal: string, prefix = '') =>
  serviceAcls(accessOf(principal), prefix).filter((a) => a.resourceType === Res.TOPIC && a.operation === Op.WRITE).map((a) => a.resourceName).sort();

describe('service access (topics/access.ts)', () => {
  it('given the secured stack\'s script, when its principals are compared with the declarations, then they are the same services', () => {
    const lib = readFileSync(join(__dirname, '..', '..', '..', 'infra', 'secure-lib.sh'), 'utf8');
    const listed = /^SERVICE_PRINCIPALS="([^"]*)"/m.exec(lib)![1]!.split(' ').sort();
    assert.deepEqual(listed, SERVICE_ACCESS.map((s) => s.principal).sort());
  });

  it('given each processor\'s declared inputs, when compared with its principal, then it may read every one and write each one\'s dead letters', () => {
    for (const [principal, inputs] of [['solver', SOLVER_INPUTS], ['verifier', VERIFIER_INPUTS], ['guardian', [...SOURCES, SEQUENCED_INPUT]]] as const) {
      const a = accessOf(principal);
      for (const t of inputs) {
        assert.ok((a.reads as readonly string[]).includes(t), `${principal} reads ${t}`);
        assert.ok((a.dlqOfInputs as readonly string[]).includes(t), `${principal} dead-letters ${t}`);
      }
    }
  });

  it('given the simulator, when its ACLs are made under a prefix, then it writes heartbeats and acks only, never costs', () => {
    assert.deepEqual(written('simulator', 'p.'), ['p.mesh.acks', 'p.mesh.heartbeats']);
  });

  it('given the gateway, when its ACLs are made, then it writes sessions and costs (and commands, joins) and nothing the services own', () => {
    assert.deepEqual(written('gateway'), ['mesh.heartbeats', 'solver.commands', 'solver.costs', 'solver.sessions']);
    assert.ok(!written('gateway').includes('solver.iterations'));
  });

  it('given the solver, when its transactional ids and group are made, then they are its group\'s prefix only', () => {
    const acls = serviceAcls(accessOf('solver'), 'p.');
    const txn = acls.filter((a) => a.resourceType === Res.TRANSACTIONAL_ID).map((a) => a.resourceName);
    assert.deepEqual([...new Set(txn)], ['p.solvermesh.solver.']);
    assert.ok(acls.some((a) => a.resourceType === Res.GROUP && a.resourceName === 'p.solvermesh.solver' && a.operation === Op.READ));
  });

  it('given every declared access, when its topics are looked up, then each is a declared topic', () => {
    const names = new Set<string>(TOPICS.map((t) => t.name));
    for (const a of SERVICE_ACCESS) for (const t of [...a.reads, ...a.writes, ...a.dlqOfInputs]) assert.ok(names.has(t), `${a.principal}: ${t}`);
  });
});
