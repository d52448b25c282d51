// Least privilege end to end (issue 20): every service runs under its own Kafka principal and
// Redis user on the secured stack, a short mesh flow (simulated agents with acks, a coordinated
// arrival asked by the operator's CLI) and a solver flow (a session opened through the gateway,
// verified by the verifier and consensus) go through, and the brokers' authorizer log holds no
// denial of a service principal: the ACLs topics/access.ts derives are the ones the code needs.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { kafkajsConfig } from '../../../services/runtime/credentials';
import { SERVICE_ACCESS } from '../../../topics/access';
import { poisson2d } from '../../../wasm/src/problems';
import { bearer, json, solveBody, StreamReader, tokenLines } from '../gateway/support';
import { runCli, spawnCli, type Child } from '../../support/process';
import { ensureSecureInfra, identity, until, type Identity } from '../../support/secure-infra';

const LOGS = join(__dirname, '..', '..', '..', '.infra', 'logs');
const AUTHORIZER_LOG = /^kafka-secure-.*-authorizer\.log$/;

/** Sizes of the authorizer logs now: what the flow adds is read from there. */
function authorizerMarks(): Map<string, number> {
  return new Map(readdirSync(LOGS).filter((f) => AUTHORIZER_LOG.test(f)).map((f) => [f, statSync(join(LOGS, f)).size]));
}

function authorizerSince(marks: Map<string, number>): string[] {
  const lines: string[] = [];
  for (const f of readdirSync(LOGS).filter((n) => AUTHORIZER_LOG.test(n))) {
    const path = join(LOGS, f);
    const from = marks.get(f) ?? 0;
    const size = statSync(path).size;
    if (size <= from) continue;
    const buf = Buffer.alloc(size - from);
    const fd = openSync(path, 'r');
    try { readSync(fd, buf, 0, buf.length, from); } finally { closeSync(fd); }
    lines.push(...buf.toString('utf8').split('\n'));
  }
  return lines;
}

describe('security: every service under its own principal on the secured stack', function () {
  this.timeout(600_000);
  const prefix = `t-sec-lp-${Date.now().toString(36)}${randomBytes(3).toString('hex')}.`;
  const children = new Map<string, Child>();
  let operator: Identity;
  let marks: Map<string, number>;
  let admin: ReturnType<Kafka['admin']>;

  const envOf = (who: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    ...process.env, ...identity(who), TOPIC_PREFIX: prefix, HTTP_PORT: '0', LOG_LEVEL: 'info', ...extra,
  });

  before(async () => {
    await ensureSecureInfra();
    operator = identity('operator');
    const env = { ...process.env, ...operator, TOPIC_PREFIX: prefix };
    for (const args of [['topics', 'apply'], ['acls', 'apply'], ['schemas', 'register']]) {
      const r = await runCli(args, env);
      assert.equal(r.code, 0, `solvermesh ${args.join(' ')} as operator: ${r.stderr}`);
    }
    admin = new Kafka(kafkajsConfig({ clientId: 'sec-lp-admin', brokers: operator.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING }, operator)).admin();
    await admin.connect();
    marks = authorizerMarks();
  });

  after(async () => {
    for (const c of children.values()) c.proc.kill('SIGTERM');
    await Promise.all([...children.values()].map((c) => c.exited));
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 30_000 }).catch(() => undefined);
    await admin.disconnect();
  });

  const ended = async (topic: string) =>
    (await admin.fetchTopicOffsets(prefix + topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);

  it('given each service running as itself, when a mesh coordination and a verified solver session go through, then they produce their outputs and the authorizer denied no service principal anything', async () => {
    for (const name of ['impedance', 'coordinator', 'guardian', 'solver', 'verifier', 'consensus']) {
      children.set(name, spawnCli(['run', name], envOf(name)));
    }
    children.set('gateway', spawnCli(['run', 'gateway'], envOf('gateway', { GATEWAY_PORT: '0', GATEWAY_TOKENS: tokenLines() })));
    for (const [name, c] of children) {
      await until(`${name} started`, async () => {
        if (c.proc.exitCode !== null) throw new Error(`${name} exited ${c.proc.exitCode}:\n${c.output().slice(-3000)}`);
        return /runner started|gateway listening/.test(c.output()) ? true : undefined;
      });
    }
    const gatewayPort = Number(/gateway listening on http:\/\/[^:]+:(\d+)/.exec(children.get('gateway')!.output())![1]);

    // The agents: heartbeats, and acks of what the coordinator dispatches to them.
    children.set('simulator', spawnCli(['simulate', 'mesh', '--agents', '60', '--duration', '40s', '--acks', '--conflicting', '3', '--seed', '7'], envOf('simulator', { LOG_LEVEL: 'warn' })));
    await until('the registry projected the agents', async () => ((await ended('mesh.impedance')) > 0 ? true : undefined));

    // The operator's CLI: Kafka as the operator, Redis as the read-only `cli` user.
    const cli = { ...process.env, ...operator, TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn', REDIS_USERNAME: 'cli', REDIS_PASSWORD_FILE: join(dirname(operator.REDIS_PASSWORD_FILE!), 'redis-cli.password') };
    const coord = await runCli(['mesh', 'coordinate', '--targets', 'cluster:S000-C00', '--at', '+4s', '--wait', '60', '--json'], cli);
    assert.equal(coord.code, 0, coord.stderr);
    for (const args of [['mesh', 'status'], ['mesh', 'best', '--capability', 'compute']]) {
      const r = await runCli(args, cli);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }

    // A session through the gateway: solved, and verified every 5 iterations.
    const res = await fetch(`http://127.0.0.1:${gatewayPort}/api/v1/solve-stream`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...bearer('alice') }, body: JSON.stringify(solveBody(poisson2d(6))),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const lines = json(await new StreamReader(res).readUntil(() => false, 120_000));
    assert.equal(lines.at(-1)!.reason, 'ConvergenceReached', JSON.stringify(lines.slice(-3)));

    for (const topic of ['mesh.summaries', 'mesh.schedules', 'mesh.dispatch', 'mesh.acks', 'solver.iterations', 'solver.solutions']) {
      await until(`records on ${topic}`, async () => ((await ended(topic)) > 0 ? true : undefined));
    }
    await until('votes on solver.verifications', async () => ((await ended('solver.verifications')) > 0 ? true : undefined));
    await children.get('simulator')!.exited;

    for (const [name, c] of children) {
      assert.equal(c.proc.exitCode === null || c.proc.exitCode === 0, true, `${name} failed:\n${c.output().slice(-3000)}`);
      assert.doesNotMatch(c.output(), /NOPERM|TOPIC_AUTHORIZATION|GROUP_AUTHORIZATION|TRANSACTIONAL_ID_AUTHORIZATION|not authori[sz]ed/i, `${name}:\n${c.output().slice(-3000)}`);
    }
    // Another namespace's denials (the attack specs provoke some) are not this flow's.
    const principals = new Set(SERVICE_ACCESS.map((a) => a.principal));
    const denied = authorizerSince(marks).filter((l) => /denied/i.test(l))
      .filter((l) => principals.has(/User:(\w+)/.exec(l)?.[1] ?? ''))
      .filter((l) => l.includes(prefix) || !/t-sec-/.test(l));
    assert.deepEqual(denied, []);
  });
});
