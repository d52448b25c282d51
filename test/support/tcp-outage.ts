// A TCP pass-through in front of a server the specs share (the schema registry), that the spec can
// take down and bring back on the same port: to a client behind it, the server is gone (connection
// refused, open connections cut) without the shared server being touched.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpOutage {
  private server: Server | undefined;
  private readonly open = new Set<Socket>();
  private port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  /** `http://127.0.0.1:<port><path>` through the pass-through. */
  url(path = ''): string { return `http://127.0.0.1:${this.port}${path}`; }

  /** Listens (on a free port the first time, on the same port after `down`). */
  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(this.target);
      for (const s of [client, upstream]) { this.open.add(s); s.on('close', () => this.open.delete(s)); s.on('error', () => s.destroy()); }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(this.port, '127.0.0.1', resolve); });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Stops listening and cuts every open connection. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.open) s.destroy();
    if (server) await new Promise((r) => server.close(r));
  }
}
