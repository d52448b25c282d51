import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AclOperationTypes as Op, AclResourceTypes as Res } from 'kafkajs';
import { SOURCES } from '../../../services/guardian/processor';
import { SEQUENCED as SEQUENCED_INPUT } from '../../../services/guardian/ticks';
import { INPUTS as SOLVER_INPUTS } from '../../../services/solver/processor';
import { INPUTS as VERIFIER_INPUTS } from '../../../services/verifier/processor';
import { AclPermissionTypes, ResourcePatternTypes } from 'kafkajs';
import { CONFLICTS, WITNESSES } from '../../../services/runtime/message-guard';
import { KEYS_TOPIC } from '../../../services/identity/key-source';
import { accessOf, aclBindings, aclKey, OBSERVATIONS, registryAcls, SERVICE_ACCESS, serviceAcls, SIGNING, staleAcls } from '../../../topics/access';
import { STRUCTURAL_TOPIC } from '../../../services/runtime/structural';
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

  it('given the simulator, when its ACLs are made under a prefix, then it writes heartbeats, acks and its agents\' keys only, never costs', () => {
    assert.deepEqual(written('simulator', 'p.'), ['p.mesh.acks', 'p.mesh.agent-keys', 'p.mesh.heartbeats']);
  });

  it('given the gateway, when its ACLs are made, then it writes sessions and costs (and commands, joins with their keys) and nothing the services own', () => {
    assert.deepEqual(written('gateway'), ['mesh.agent-keys', 'mesh.heartbeats', 'solver.commands', 'solver.costs', 'solver.sessions']);
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

  it('given the brokers hold a namespace\'s derived ACLs plus one access.ts dropped, another namespace\'s and a foreign principal\'s, when the stale ones of the namespace are asked, then only the dropped one is', () => {
    const acl = (principal: string, resourceName: string, operation = Op.WRITE) => ({
      principal: `User:${principal}`, host: '*', permissionType: AclPermissionTypes.ALLOW, resourceType: Res.TOPIC, resourceName, resourcePatternType: ResourcePatternTypes.LITERAL, operation,
    });
    const ns = 't-x.';
    const wanted = aclBindings(ns);
    const dropped = acl('simulator', `${ns}solver.costs`);
    const existing = [...wanted, ...aclBindings('t-y.'), ...aclBindings(''), ...registryAcls(), dropped, acl('alice', `${ns}solver.costs`)];
    assert.deepEqual(staleAcls(existing, wanted, ns).map(aclKey), [aclKey(dropped)]);
    // Under the unprefixed namespace the other namespaces' ACLs are not its own either.
    assert.deepEqual(staleAcls(existing, aclBindings(''), '').map(aclKey), []);
    // The registry's are managed only when asked for.
    const oldRegistry = { ...registryAcls()[0]!, resourceName: 'old-journal-' };
    assert.deepEqual(staleAcls([...existing, oldRegistry], [...wanted, ...registryAcls()], ns, true).map(aclKey).filter((k) => k.startsWith('User:registry')), [aclKey(oldRegistry)]);
  });

  it('given signing (message guard, key publisher), when the verifying and registering principals\' ACLs are derived, then they read the guard\'s keys topic and write its conflicts and witnesses, and registrars append keys', () => {
    assert.equal(SIGNING.keys, KEYS_TOPIC);
    assert.deepEqual([...SIGNING.verifier.writes].sort(), [CONFLICTS, WITNESSES].sort());
    for (const p of ['impedance', 'coordinator', 'consensus']) {
      assert.ok(written(p).includes(CONFLICTS) && written(p).includes(WITNESSES), p);
      assert.ok(serviceAcls(accessOf(p), '').some((a) => a.resourceName === KEYS_TOPIC && a.operation === Op.READ), p);
    }
    for (const p of ['simulator', 'gateway', 'verifier']) assert.ok(written(p).includes(KEYS_TOPIC), p);
    assert.ok(!written('solver').includes(KEYS_TOPIC));
  });

  it('given the services the runtime runs (a consumer group each), when their ACLs are derived, then each writes its structural observations (lag spikes, slow slices) onto mesh.witnesses; the gateway and simulator do not', () => {
    assert.equal(OBSERVATIONS, STRUCTURAL_TOPIC);
    for (const p of ['solver', 'verifier', 'consensus', 'coordinator', 'guardian', 'impedance']) assert.ok(written(p).includes(STRUCTURAL_TOPIC), p);
    for (const p of ['gateway', 'simulator']) assert.ok(!written(p).includes(STRUCTURAL_TOPIC), p);
  });
});
