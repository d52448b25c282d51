// The memory of a child process started with --inspect=127.0.0.1:0, after a full garbage
// collection asked for through the inspector protocol: without it the heap holds whatever garbage
// the last collection left (up to two 64 MiB semi-spaces under bin/solvermesh's flags), which
// would drown a per-stream figure.

/** process.memoryUsage() of the process whose log printed its inspector URL, after two full GCs. */
export async function memoryAfterGc(log: string): Promise<NodeJS.MemoryUsage> {
  const url = /Debugger listening on (ws:\/\/\S+)/.exec(log)?.[1];
  if (!url) throw new Error('the process printed no inspector URL (start it with --inspect=127.0.0.1:0)');
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`cannot connect to the inspector at ${url}`));
  });
  const pending = new Map<number, (r: { result?: unknown; error?: { message: string } }) => void>();
  ws.onmessage = (m) => {
    const r = JSON.parse(String(m.data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (r.id !== undefined) pending.get(r.id)?.(r);
  };
  let id = 0;
  const call = (method: string, params?: Record<string, unknown>) => new Promise<unknown>((resolve, reject) => {
    const n = ++id;
    pending.set(n, (r) => (r.error ? reject(new Error(`${method}: ${r.error.message}`)) : resolve(r.result)));
    ws.send(JSON.stringify({ id: n, method, params }));
  });
  try {
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const r = await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true }) as { result: { value: string } };
    return JSON.parse(r.result.value) as NodeJS.MemoryUsage;
  } finally {
    ws.close();
  }
}
