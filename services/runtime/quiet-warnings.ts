// kafkajs (2.2.4) schedules its request queue's next look at `throttledUntil - Date.now()`, which
// is negative whenever the broker never throttled it, and Node 24 prints a TimeoutNegativeWarning
// for that on stderr from every process with a kafkajs client (every CLI command, interleaved
// with its output). The timer fires after 1 ms exactly as before, so that warning tells an
// operator nothing; every other warning is still printed.
const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const name = warning instanceof Error ? warning.name : typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
  if (name === 'TimeoutNegativeWarning') return;
  emitWarning(warning, ...rest);
}) as typeof process.emitWarning;
