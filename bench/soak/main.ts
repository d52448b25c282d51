// make soak: the fuzz suite (test/support/fuzz.ts) at a larger size, with faults. Four runs:
//   no flood      the six services on empty topics for SOAK_IDLE_MS: the peak-RSS baseline
//   reference     the flood (SOAK_RECORDS per input topic, from SOAK_SEED), uninterrupted
//   control       the same records, uninterrupted again (SOAK_CONTROL=0 skips it): what differs
//                 between two runs without any fault (fuzz-outputs.ts says what is compared)
//   kills         the same records, the SOAK_KILL services killed -9 mid-flood SOAK_KILLS times each
//                 (once their group has committed a seeded 10-70% of the flood of their inputs, so
//                 after their first commit, though a service that commits its flood in a few large
//                 batches may be past its last) and restarted at once: recovery times (to past every
//                 record unread on its inputs at the restart, what the other services wrote there
//                 included), and every effect compared, by its class (fuzz-outputs.ts): data-determined
//                 ones with the reference; the guardian's, the send schedules, the impedance summaries and the coordinator's
//                 dispatch, decisions, payload-mismatch reports and cascades with a replay of the run's own log
// Each run's outputs are read once every service has consumed what the flood caused on its inputs
// (test/support/fuzz-settle.ts), not only the flood itself.
// Prints the README's tables (and writes them to bench/out/soak/soak-<seed>.md); exits 1 when a
// record was mishandled, a service crashed, a data-determined effect differs from the reference,
// an effect was written twice by one producer, the guardian's outputs, the schedules, the summaries or the coordinator's dispatch and decisions differ from
// their replay, or a flood run crashed its service.
//   floods        one flood class at a time (floods.ts: orphans, selector amplification, oversized,
//                 unknown schema ids, raw bytes), SOAK_FLOOD_RECORDS records, on the one service that
//                 reads it alone: its peak RSS against its own in the no-flood run
//   SOAK_RECORDS (600)  SOAK_SEED (the clock)  SOAK_KILL (solver,impedance,coordinator; '' for none)
//   SOAK_KILLS (1)  SOAK_IDLE_MS (20000)  SOAK_CONTROL (1)  SOAK_FLOOD_RECORDS (5000; 0 skips the floods)
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { FLOODS, floodRss, type FloodRun } from './floods';
import { idleRss, runFuzz, type FuzzResult } from '../../test/support/fuzz';
import type { KillResult } from '../../test/support/fuzz-kills';
import { compareOutputs, differencesOf, differingIds, sameEffects, type EffectClass, type OutputComparison } from '../../test/support/fuzz-outputs';

const perTopic = Number(process.env.SOAK_RECORDS ?? 600);
const seed = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000);
const victims = (process.env.SOAK_KILL ?? 'solver,impedance,coordinator').split(',').filter(Boolean);
const killsPerService = Number(process.env.SOAK_KILLS ?? 1);
const idleMs = Number(process.env.SOAK_IDLE_MS ?? 20_000);
const control = process.env.SOAK_CONTROL !== '0';
const floodRecords = Number(process.env.SOAK_FLOOD_RECORDS ?? 5_000);

const log = (m: string) => console.log(m);
const mib = (kb: number) => (Number.isFinite(kb) ? (kb / 1024).toFixed(0) : '?');
const secs = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(1));
/** Count of ids per topic (an id starts with its topic), most first. */
const byTopic = (ids: readonly string[]) => {
  const n = new Map<string, number>();
  for (const id of ids) n.set(id.split(' ')[0]!, (n.get(id.split(' ')[0]!) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1]).map(([t, k]) => `${t} ${k}`).join(', ') || 'none';
};
const crashes = (r: FuzzResult | undefined) => (!r ? '-' : r.crashed.length === 0 ? '0' : r.crashed.join(', '));
/** A long key (a fuzzed id) would hide the reason: its head and its tail. */
const cut = (body: string) => (body.length <= 400 ? body : `${body.slice(0, 150)} … ${body.slice(-250)}`);
/** Where a kill fell in the service's work: its outputs commit with its input offsets. */
const landed = (x: KillResult) => (x.committedAtKill === 0 ? 'before its first commit' : x.committedAtKill < x.records ? 'between two commits (mid-work)'
  : x.unreadAtRestart > 0 ? 'after its last flood commit, before what the others wrote after the flood' : 'after its last commit');
const settledIn = (run: string, r: FuzzResult | undefined) =>
  (r?.settled ? [`${r.settled.caused} records caused, consumed ${secs(r.settled.ms)} s after the start (every group past every fuzzed record at ${secs(r.drainMs)} s) (${run})`] : []);
/** When every service had consumed what the flood caused (not only the fuzzed records). */
const settledLine = (r: FuzzResult) => (r.settled ? `; the flood's ${r.settled.caused} effects consumed by every service ${secs(r.settled.ms)} s after the start` : '');
const pct = (a: number, b: number) => (b === 0 ? '-' : `${((100 * a) / b).toFixed(1)}%`);

async function main(): Promise<void> {
  const t0 = Date.now();
  const load0 = loadavg();
  log(`soak: ${perTopic} records per input topic, seed ${seed} (SOAK_SEED=${seed} replays it); kills: ${victims.join(', ') || 'none'} x${killsPerService}`);
  const idle = await idleRss('soak-idle', idleMs);
  log(`no-flood run: peak RSS ${JSON.stringify(idle)} kB after ${idleMs / 1000} s`);
  const timeoutMs = Math.max(180_000, perTopic * 1200);
  const ref = await runFuzz({ perTopic, seed, label: 'soak-ref', timeoutMs, outputs: true, log });
  log(`reference run: drained in ${secs(ref.drainMs)} s${settledLine(ref)}; ${ref.failures.length} mishandled records`);
  const ctl: FuzzResult | undefined = !control ? undefined
    : await runFuzz({ perTopic, seed, label: 'soak-ctl', timeoutMs, outputs: true, log, records: ref.records });
  const killed: FuzzResult | undefined = victims.length === 0 ? undefined
    : await runFuzz({ perTopic, seed, label: 'soak-kill', timeoutMs, outputs: true, log, records: ref.records, kill: victims, killsPerService });
  const floods: FloodRun[] = [];
  if (floodRecords > 0) for (const f of FLOODS) floods.push(await floodRss(f, floodRecords, log));
  const ctlCmp = ctl ? compareOutputs(ref.outputs!, ctl.outputs!) : undefined;
  const killCmp = killed ? compareOutputs(ref.outputs!, killed.outputs!) : undefined;
  const elapsed = ((Date.now() - t0) / 1000).toFixed(0);
  const load1 = loadavg();
  const records = ref.topics.reduce((n, t) => n + t.records, 0);

  const lines = [
    `# soak: ${perTopic} records per input topic (${records}), seed ${seed}, ${elapsed} s; load average ${load0[0]!.toFixed(1)} before, ${load1[0]!.toFixed(1)} after`,
    '',
    '| topic | services | records | invalid | invalid to DLQ with reason | valid lost | valid refused by a domain rule |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...ref.topics.map((t) => `| ${t.topic} | ${t.services.join(', ')} | ${t.records} | ${t.invalid} | ${t.invalidDeadLettered} (${pct(t.invalidDeadLettered, t.invalid)}) | ${t.validLost} | ${t.validRefused} |`),
    '',
    `Crashes: ${crashes(ref)} (reference run), ${crashes(ctl)} (control run), ${crashes(killed)} (kill run, planned kills aside). ` +
      `Mishandled records: ${ref.failures.length} (reference run), ${ctl ? ctl.failures.length : '-'} (control run), ${killed ? killed.failures.length : '-'} (kill run).`,
    '',
    `Outputs read once every service had consumed the records the flood caused on its inputs, not only the flood (test/support/fuzz-settle.ts): ` +
      [...settledIn('reference run', ref), ...settledIn('control run', ctl), ...settledIn('kill run', killed)].join('; ') + '.',
    '',
    `| service | peak RSS, no flood (MiB) | peak RSS under the flood, uninterrupted (MiB) | ratio | peak RSS of the restarted process, kill run (MiB) |`,
    '|---|---:|---:|---:|---:|',
    ...Object.keys(idle).map((s) => `| ${s} | ${mib(idle[s]!)} | ${mib(ref.rss[s]!.peakKb)} | ${(ref.rss[s]!.peakKb / idle[s]!).toFixed(2)} | ${killed && victims.includes(s) ? mib(killed.rss[s]!.peakKb) : '-'} |`),
    '',
  ];
  if (floods.length > 0) {
    lines.push(
      `| flood (one class, alone) | service | topic | records | dead letters | peak RSS, no flood (MiB) | peak RSS under this flood (MiB) | ratio | drained in (s) | what bounds it |`,
      '|---|---|---|---:|---:|---:|---:|---:|---:|---|',
      ...floods.map((f) => `| ${f.flood.name} | ${f.flood.service} | ${f.flood.topic} | ${f.records} | ${f.deadLetters} | ${mib(idle[f.flood.service]!)} | ${mib(f.peakKb)} | ${(f.peakKb / idle[f.flood.service]!).toFixed(2)} | ${secs(f.drainMs)} | ${f.flood.bound} |`),
      '',
    );
  }
  if (killed) {
    lines.push(
      `| kill -9 | killed after its start (s) | flood records of its inputs committed at the kill | landed | records on its inputs unread at the restart | restart -> first commit past the kill point (s) | restart -> past every record unread at the restart (s) | start -> past every flood record of its inputs, reference run (s) |`,
      '|---|---:|---:|---|---:|---:|---:|---:|',
      ...killed.kills.map((x) => `| ${x.service} #${x.round} | ${secs(x.killedAfterMs)} | ${x.committedAtKill} of ${x.records} | ${landed(x)} | ${x.unreadAtRestart} | ${secs(x.firstProgressMs)} | ${secs(x.caughtUpMs)} | ${secs(ref.serviceDrainMs[x.service])} |`),
      '',
    );
  }
  // Issue 15's "kills survived, with outputs identical to an uninterrupted run", by the test each class takes.
  const CLASS_NAME: Record<EffectClass, string> = {
    data: 'data-determined (solver, verifier, consensus, impedance fold, conflicts, dead letters): equal to the reference',
    guardian: 'guardian (breakers, modes, witnesses at its own ticks): compared with the reference for the record only',
    schedule: 'send schedules (from the registry and breakers as each request found them): compared with the reference for the record only',
    summary: 'impedance summaries (from the whole registry at ticks reached by wall time): compared with the reference for the record only',
    coordination: 'coordinator (sends, dispatch summaries, decisions, payload-mismatch reports, cascades at its own ticks): compared with the reference for the record only',
    clocked: 'clocked (the coordinator\'s ticks, and what they, schedules, summaries or coordinator outputs cause): compared with the reference for the record only',
  };
  const shared = (c: OutputComparison | undefined) => (!c ? '-' : [...c.sharedByReaders].map(([k, n]) => `${n} ${k}`).join(', ') || 'none');
  const scheduleRow = (run: string, r: FuzzResult) =>
    `| ${run} | send schedules: against a replay of this run's own log at the registry and mesh.circuits positions each names | ${r.scheduleReplay?.recorded ?? '-'} | ${r.scheduleReplay?.ok ? r.scheduleReplay.identical : '-'} | ${r.scheduleReplay?.ok ? `none: ${r.scheduleReplay.line}` : r.scheduleReplay?.line ?? '-'} | | | |`;
  const coordinationRow = (run: string, r: FuzzResult) =>
    `| ${run} | coordinator: dispatch, quorum, payload-mismatch and cascade outputs against a refold of its own partitions (mesh.schedules, mesh.acks, mesh.cascades, ticks included) | ${r.coordinationReplay?.recorded ?? '-'} | ${r.coordinationReplay?.ok ? r.coordinationReplay.identical : '-'} | ${r.coordinationReplay?.ok ? `none: ${r.coordinationReplay.line}` : r.coordinationReplay?.line ?? '-'} | | | |`;
  const summaryRow = (run: string, r: FuzzResult) =>
    `| ${run} | impedance summaries: against a replay of this run's own log at the registry positions each names (accuracy fields included) | ${r.summaryReplay?.recorded ?? '-'} | ${r.summaryReplay?.ok ? r.summaryReplay.identical : '-'} | ${r.summaryReplay?.ok ? `none: ${r.summaryReplay.line}` : r.summaryReplay?.line ?? '-'} | | | |`;
  const classRows = (run: string, c: OutputComparison, r: FuzzResult) => [
    ...(['data', 'guardian', 'schedule', 'summary', 'coordination', 'clocked'] as const).map((cls) => {
      const d = differencesOf(c, cls);
      return `| ${run} | ${CLASS_NAME[cls]} | ${c.byClass[cls].compared} | ${c.byClass[cls].identical} | ${d.other} | ${d.missing} | ${d.extra} | ${d.duplicated} |`;
    }),
    `| ${run} | guardian: against a replay of this run's own log (mesh.guardian, ticks included) | ${r.guardianReplay?.recorded ?? '-'} | ${r.guardianReplay?.ok ? r.guardianReplay.identical : '-'} | ${r.guardianReplay?.ok ? 'none' : r.guardianReplay?.line ?? '-'} | | | |`,
    scheduleRow(run, r),
    summaryRow(run, r),
    coordinationRow(run, r),
  ];
  lines.push(
    '| run | effects of the flood | in the reference | identical | other content | missing (lost) | extra | written twice by one producer (duplicated) |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    `| reference | guardian: against a replay of this run's own log (mesh.guardian, ticks included) | ${ref.guardianReplay?.recorded ?? '-'} | ${ref.guardianReplay?.ok ? ref.guardianReplay.identical : '-'} | ${ref.guardianReplay?.ok ? 'none' : ref.guardianReplay?.line ?? '-'} | | | |`,
    scheduleRow('reference', ref),
    summaryRow('reference', ref),
    coordinationRow('reference', ref),
    ...(ctlCmp && ctl ? classRows('control (uninterrupted)', ctlCmp, ctl) : []),
    ...(killCmp && killed ? classRows(`kills (${killed.kills.map((x) => `${x.service} at ${x.committedAtKill}/${x.records}`).join(', ')})`, killCmp, killed) : []),
    '',
    `Event ids written once by each of two readers of a topic (a refused record's report: its id derives from the record's position, so both name one conflict, by design): ` +
      `${shared(ctlCmp)} (control run); ${shared(killCmp)} (kill run).`,
    '',
  );
  const expected = ctlCmp ? differingIds(ctlCmp) : new Set<string>();
  const report = (name: string, c: OutputComparison, against?: Set<string>) => {
    const tag = (id: string) => ` [${c.classOf.get(id) ?? 'data'}]${against && against.has(id) ? ' (differs in the control run too)' : ''}`;
    const rank = (id: string) => (c.classOf.get(id) ?? 'data') === 'data' ? 0 : 2 - Number(!(against?.has(id) ?? false));
    const n = differingIds(c).size;
    const alsoCtl = against ? [...differingIds(c)].filter((id) => against.has(id)).length : 0;
    lines.push(
      `${name}: ${c.compared} effects of the flood in the reference (events caused by a fuzzed record, transitively, and dead letters); ${c.identical} identical; ` +
        `${c.budgetLeftOut} dead letters and records refused by the unknown-id miss budget in either run left out; ` +
        `${sameEffects(c) ? 'no difference' : `${n} differ${against ? ` (${alsoCtl} of them differ between the two uninterrupted runs too)` : ''}: ${c.differentContent.length} with other content, ${c.onlyInReference.length} missing, ${c.onlyInOther.length} extra, ${c.duplicated.length} duplicated (${c.duplicatedInReference.length} in the reference)`}. ` +
        `By topic: ${byTopic([...differingIds(c)])}; data-determined ones by topic: ${byTopic([...differingIds(c)].filter((id) => (c.classOf.get(id) ?? 'data') === 'data'))}. ` +
        `Clock-driven records (not compared): ${[...c.notRooted].map(([t, [x, y]]) => `${t} ${x}/${y}`).join(', ') || 'none'}.`,
      // The kills' own differences first (those the control run does not share), then a few of the rest.
      ...[
        ...c.differentContent.map((d) => ({ id: d.id, text: `other content${tag(d.id)}: ${d.id}\n    - reference: ${cut(d.reference)}\n    - this run:  ${cut(d.other)}` })),
        ...c.onlyInReference.map((o) => ({ id: o.id, text: `missing${tag(o.id)}: ${o.id}: ${cut(o.body)}` })),
        ...c.onlyInOther.map((o) => ({ id: o.id, text: `extra${tag(o.id)}: ${o.id}: ${cut(o.body)}` })),
      ].sort((x, y) => rank(x.id) - rank(y.id)).slice(0, 20).map((d) => `  - ${d.text}`),
      ...c.duplicated.slice(0, 8).map((d) => `  - duplicated: ${d.id} x${d.times}`),
      '',
    );
  };
  if (ctlCmp) report('Control (a second uninterrupted run) against the reference', ctlCmp);
  if (killCmp) report(`After the kills against the reference`, killCmp, expected);
  lines.push(...[...ref.failures, ...(ctl?.failures ?? []), ...(killed?.failures ?? [])].slice(0, 20).map((f) => `- ${f}`));
  const dir = join(__dirname, '..', 'out', 'soak');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `soak-${seed}.md`);
  writeFileSync(file, lines.join('\n') + '\n');
  console.log(lines.join('\n'));
  console.log(`written to ${file}`);
  const clean = (r: FuzzResult | undefined) => !r || (r.failures.length === 0 && r.crashed.length === 0);
  // Kill-run differences that the control run shows as well are not the kills' doing; nor is an
  // effect written twice in the reference too.
  // Data-determined effects must equal the reference's in every run; no effect may be written
  // twice by one producer (any class); the guardian's, the schedules, the summaries and the coordinator's must equal a replay of the run's own log.
  const dataDiffers = (c: OutputComparison | undefined) => !!c && Object.values(differencesOf(c, 'data')).some((n) => n > 0);
  const twice = (c: OutputComparison | undefined) => !!c && (c.duplicated.length > 0 || c.duplicatedInReference.length > 0);
  const replayed = (r: FuzzResult | undefined) => !r || (r.guardianReplay?.ok === true && r.scheduleReplay?.ok === true && r.summaryReplay?.ok === true && r.coordinationReplay?.ok === true);
  const floodsOk = floods.every((f) => !f.crashed);
  const ok = floodsOk && clean(ref) && clean(ctl) && clean(killed) && !dataDiffers(ctlCmp) && !dataDiffers(killCmp) && !twice(ctlCmp) && !twice(killCmp)
    && replayed(ref) && replayed(ctl) && replayed(killed);
  process.exit(ok ? 0 : 1);
}

main().catch((err) => { console.error(err); process.exit(2); });
