// make soak: the fuzz suite (test/support/fuzz.ts) at a larger size. SOAK_RECORDS records per
// input topic (default 500), SOAK_SEED (default: the clock). Writes the table to
// bench/out/soak/soak-<seed>.md and prints it; exits 1 when a record was mishandled or a service
// crashed. Peak RSS is each service's VmHWM: idle (started, before the flood) and after it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runFuzz } from '../../test/support/fuzz';

async function main(): Promise<void> {
  const perTopic = Number(process.env.SOAK_RECORDS ?? 500);
  const seed = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000);
  console.log(`soak: ${perTopic} records per input topic, seed ${seed} (SOAK_SEED=${seed} replays it)`);
  const t0 = Date.now();
  const r = await runFuzz({ perTopic, seed, label: 'soak', timeoutMs: Math.max(120_000, perTopic * 600), log: (m) => console.log(m) });
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  const pct = (a: number, b: number) => (b === 0 ? '-' : `${((100 * a) / b).toFixed(1)}%`);
  const lines = [
    `# soak: ${perTopic} records per input topic, seed ${seed}, ${secs} s`,
    '',
    '| topic | services | records | invalid | invalid to DLQ with reason | valid lost | valid refused by a domain rule |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...r.topics.map((t) => `| ${t.topic} | ${t.services.join(', ')} | ${t.records} | ${t.invalid} | ${t.invalidDeadLettered} (${pct(t.invalidDeadLettered, t.invalid)}) | ${t.validLost} | ${t.validRefused} |`),
    '',
    `Crashes: ${r.crashed.length === 0 ? '0' : r.crashed.join(', ')}. Mishandled records: ${r.failures.length}.`,
    '',
    '| service | peak RSS after start (MiB) | peak RSS after the flood (MiB) | ratio |',
    '|---|---:|---:|---:|',
    ...Object.entries(r.rss).map(([s, m]) => `| ${s} | ${(m.idleKb / 1024).toFixed(0)} | ${(m.peakKb / 1024).toFixed(0)} | ${(m.peakKb / m.idleKb).toFixed(2)} |`),
    '',
    ...r.failures.slice(0, 20).map((f) => `- ${f}`),
  ];
  const dir = join(__dirname, '..', 'out', 'soak');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `soak-${seed}.md`);
  writeFileSync(file, lines.join('\n') + '\n');
  console.log(lines.join('\n'));
  console.log(`written to ${file}`);
  process.exit(r.failures.length === 0 && r.crashed.length === 0 ? 0 : 1);
}

main().catch((err) => { console.error(err); process.exit(2); });
