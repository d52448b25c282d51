import assert from 'node:assert/strict';
import type { ScheduleEntry } from '../../../schemas/generated/events';
import type { ScheduleSummary } from '../../../services/impedance/coordination';
import { MESH_PARTITIONS } from '../../../topics/catalog';
import { endOffsets } from '../../../services/runtime/kafka/log-reader';
import { runCli as cli } from '../../support/process';
import { collectEvents, startImpedance, useImpedanceWorld, waitCaughtUp } from '../impedance/support';

interface Waited { correlation_id: string; target_arrival_time: number; summary: ScheduleSummary; entries: ScheduleEntry[] }

describe('solvermesh mesh coordinate (a child process) with the impedance service running', function () {
  this.timeout(120_000);
  const w = useImpedanceWorld('coordinate');

  it('given 30 agents of one cluster in the registry, when a request for the cluster at T = now + 3 s is sent with --wait, then it prints the whole schedule: one entry per agent, sends before T, skips with their reason', async () => {
    w.svc = await startImpedance(w.k, w.redisSrv.url);
    const env = { ...process.env, TOPIC_PREFIX: w.k.prefix, LOG_LEVEL: 'warn' };
    const sim = await cli(['simulate', 'mesh', '--agents', '30', '--count', '60', '--seed', '5'], env);
    assert.equal(sim.code, 0, sim.stderr);
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    const members = await w.redis.zrange(`${w.prefix}z:cluster:S000-C00`, 0, -1);
    assert.equal(members.length, 30);

    const run = await cli(['mesh', 'coordinate', '--targets', 'cluster:S000-C00', '--at', '+3s', '--weight', '1', '--wait', '60', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const got = JSON.parse(run.stdout.trim()) as Waited;
    assert.deepEqual(got.entries.map((e) => e.agent_id).sort(), [...members].sort());
    assert.equal(got.summary.scheduled + Object.values(got.summary.skipped).reduce((a, b) => a + b, 0), 30);
    for (const e of got.entries) {
      if (e.status === 'SCHEDULED') {
        assert.ok(e.send_at! < got.target_arrival_time, `${e.agent_id} sends before T`);
        assert.equal(e.send_at! - e.send_bucket_at!, e.send_at! % 10_000, '10 ms buckets');
      } else {
        // seed 002 §3.1: not enough lead time left (humans take minutes)
        assert.equal(e.skip_reason, 'INSUFFICIENT_LEAD_TIME');
        assert.ok(e.available_ms! < e.lead_time_ms, `${e.agent_id}: ${e.available_ms} ms left < ${e.lead_time_ms} ms needed`);
      }
    }
    assert.ok(got.summary.scheduled > 0, 'machine agents are scheduled');
    // and the request on the log is the one asked for
    const reqs = await collectEvents(w.k, 'mesh.coordination', (es) => es.length >= 1);
    assert.equal(reqs.length, 1);
    const req = reqs[0]!;
    assert.ok(req.type === 'CoordinationRequested');
    assert.equal(req.meta.correlation_id, got.correlation_id);
    assert.deepEqual(req.target_agent_ids, ['cluster:S000-C00']);
    assert.equal(req.payload_weight, 1);
  });

  it('given bad options, then it exits 1 naming the problem and sends nothing', async () => {
    const env = { ...process.env, TOPIC_PREFIX: w.k.prefix, LOG_LEVEL: 'warn' };
    const onLog = async () => (await endOffsets(w.k.brokers, w.k.topic('mesh.coordination'), MESH_PARTITIONS)).reduce((a, b) => a + b, 0);
    const before = await onLog();
    const cases: Array<[string[], RegExp]> = [
      [['--targets', 'class:Z'], /classes are A to F/],
      [['--targets', 'cluster:S000-C00', '--at', 'tomorrowish'], /--at "tomorrowish"/],
      [['--targets', 'cluster:S000-C00', '--priority', '9'], /priority must be 0/],
      [['--targets', 'cluster:S000-C00', '--verb', 'SHOUT'], /verb "SHOUT"/],
      [['--targets', 'cluster:S000-C00', '--wait', '0'], /--wait 0: give a number of seconds > 0/],
    ];
    for (const [args, reason] of cases) {
      const run = await cli(['mesh', 'coordinate', ...args], env);
      assert.equal(run.code, 1, `${args.join(' ')}: ${run.stdout}`);
      assert.match(run.stderr, reason);
    }
    assert.equal(await onLog(), before, 'nothing sent');
  });

  it('given no impedance service, when --wait 3 passes without a schedule, then it exits 1 saying the request was sent and none came', async () => {
    await w.svc?.stop();
    w.svc = undefined;
    const env = { ...process.env, TOPIC_PREFIX: w.k.prefix, LOG_LEVEL: 'warn' };
    const run = await cli(['mesh', 'coordinate', '--targets', 'cluster:S000-C00', '--wait', '3'], env);
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stderr, /no complete schedule for [0-9a-f-]{36} on .*mesh\.schedules within 3 s \(is the impedance service running\?\); the request was sent/);
  });
});
