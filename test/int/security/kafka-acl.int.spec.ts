// Attack suite, Kafka (issue 20): the secured cluster (make up SECURE=1) speaks only TLS, with a
// certificate its throwaway CA signed, and refuses a client that does not check it against that CA
// or speaks plaintext; it refuses a principal without ACLs and a service principal writing a topic
// it does not own, while a service running under its own principal goes on answering. The operator sets the spec's namespace up as an
// operator would (topics, ACLs, schemas through the CLI); every other client names its identity
// explicitly, so the default stack of the other specs is left alone.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { Kafka, logLevel, Partitioners, type Consumer, type KafkaConfig } from 'kafkajs';
import type * as Rd from 'node-rdkafka';
import { EventCodec } from '../../../services/runtime/codec';
import { kafkajsConfig, rdkafkaAuth } from '../../../services/runtime/credentials';
import { cb, rd } from '../../../services/runtime/kafka/rdkafka-lib';
import { openSession } from '../../../services/solver/events';
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';
import { runCli, spawnCli, type Child } from '../../support/process';
import { ensureSecureInfra, identity, until, type Identity } from '../../support/secure-infra';

const client = (who: Identity, clientId: string): Kafka =>
  new Kafka(kafkajsConfig({ clientId, brokers: who.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING, retry: { retries: 1 } } satisfies KafkaConfig, who));

/** How kafkajs (TOPIC_AUTHORIZATION_FAILED, "Not authorized to access topics") and librdkafka say it. */
const AUTH_REFUSED = /authori[sz]ation.failed|not authori[sz]ed/i;

/** The error a promise rejects with (assert.rejects keeps none). */
async function failure(p: Promise<unknown>): Promise<{ type?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { type?: string; message: string };
  }
  assert.fail('expected a refusal, got success');
}

describe('security: Kafka ACLs on the secured cluster', function () {
  // A cold secured stack (two Kafka-backed JVMs) took 4 min to start on the loaded 2-core box.
  this.timeout(600_000);
  const prefix = `t-sec-${Date.now().toString(36)}${randomBytes(3).toString('hex')}.`;
  let operator: Identity;
  let solver: Child | undefined;
  let solverPort = 0;
  const closers: Array<() => Promise<unknown>> = [];

  before(async () => {
    await ensureSecureInfra();
    operator = identity('operator');
    const env = { ...process.env, ...operator, TOPIC_PREFIX: prefix };
    for (const args of [['topics', 'apply'], ['acls', 'apply'], ['schemas', 'register']]) {
      const r = await runCli(args, env);
      assert.equal(r.code, 0, `solvermesh ${args.join(' ')} as operator: ${r.stderr}`);
    }
    solver = spawnCli(['run', 'solver'], { ...process.env, ...identity('solver'), TOPIC_PREFIX: prefix, HTTP_PORT: '0', LOG_LEVEL: 'info' });
    solverPort = await until('the solver\'s ops port', async () => {
      const m = /"port":(\d+)[^\n]*ops server listening/.exec(solver!.output());
      return m ? Number(m[1]) : undefined;
    });
  });

  after(async () => {
    for (const c of closers.splice(0)) await c().catch(() => undefined);
    solver?.proc.kill('SIGTERM');
    await solver?.exited;
    // The namespace's topics go with the spec (as the operator: no service may delete).
    const admin = client(operator, 'sec-cleanup').admin();
    await admin.connect();
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 30_000 }).catch(() => undefined);
    await admin.disconnect();
  });

  const health = async () => (await fetch(`http://127.0.0.1:${solverPort}/health`)).status;

  /** The identity as it would be without the stack's CA: SASL in plaintext. */
  const withoutCa = (who: Identity): Identity => Object.fromEntries(Object.entries(who).filter(([k]) => k !== 'KAFKA_SSL_CA_FILE'));
  const quick = { connectionTimeout: 5_000, authenticationTimeout: 5_000, requestTimeout: 5_000, retry: { retries: 0 } } as const;

  /** What the broker's port answers a TLS handshake with, trusting `ca` (undefined: the system's CAs). */
  const handshake = (ca: string | undefined) => new Promise<{ cert: PeerCertificate; protocol: string | null }>((resolve, reject) => {
    const [host, port] = operator.KAFKA_BROKERS!.split(',')[0]!.split(':') as [string, string];
    const s = tlsConnect({ host, port: Number(port), ...(ca !== undefined ? { ca } : {}) }, () => {
      const r = { cert: s.getPeerCertificate(), protocol: s.getProtocol() };
      s.destroy();
      resolve(r);
    });
    s.on('error', reject);
  });

  /** node-rdkafka's metadata request with these properties: the brokers it saw, or the error. */
  const rdMetadata = (props: Record<string, string>) => new Promise<{ brokers?: unknown[]; error?: string }>((resolve) => {
    const p: Rd.Producer = new (rd().Producer)({ 'metadata.broker.list': operator.KAFKA_BROKERS!, ...props }, {});
    p.connect({ timeout: 8_000 }, (err, meta) => {
      // A client whose connect failed is not connected: nothing to disconnect.
      if (err) resolve({ error: err.message });
      else p.disconnect(() => resolve({ brokers: meta.brokers }));
    });
  });

  it('given the secured listener, when a client with valid SASL credentials connects in plaintext or without the stack\'s CA, with either engine, then it is refused, and with the CA both engines are served over TLS by the certificate the CA signed', async () => {
    const solver = identity('solver');
    const caFile = solver.KAFKA_SSL_CA_FILE!;
    assert.ok(caFile, 'the secured stack names its CA in each identity (KAFKA_SSL_CA_FILE)');
    const ca = readFileSync(caFile, 'utf8');

    // The port speaks TLS, with a certificate for 127.0.0.1 issued by the stack's CA, and nothing
    // else vouches for it: a client trusting only the system's CAs rejects it.
    const served = await handshake(ca);
    assert.match(served.protocol ?? '', /^TLSv1\.[23]$/);
    assert.match(String(served.cert.issuer.CN), /^solvermesh secured stack CA/);
    assert.match(served.cert.subjectaltname ?? '', /IP Address:127\.0\.0\.1/);
    const untrusted = await failure(handshake(undefined));
    assert.match(`${(untrusted as { code?: string }).code} ${untrusted.message}`, /SELF_SIGNED_CERT_IN_CHAIN|self.signed certificate/i);

    // kafkajs: in plaintext (SASL_PLAINTEXT against SASL_SSL), and over TLS trusting the system's
    // CAs instead of the stack's, the same valid principal never gets an answer.
    const base = { clientId: 'sec-tls', brokers: solver.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING, ...quick } satisfies KafkaConfig;
    for (const config of [kafkajsConfig(base, withoutCa(solver)), { ...kafkajsConfig(base, withoutCa(solver)), ssl: true }]) {
      const admin = new Kafka(config).admin();
      const refused = await failure(admin.connect().then(() => admin.describeCluster()));
      await admin.disconnect().catch(() => undefined);
      assert.ok(refused.message.length > 0);
      assert.doesNotMatch(refused.message, AUTH_REFUSED, 'refused by the transport, before any ACL');
    }
    // node-rdkafka likewise: sasl_plaintext, and sasl_ssl with the system's CA bundle.
    const plain = rdkafkaAuth(withoutCa(solver));
    assert.equal(plain['security.protocol'], 'sasl_plaintext');
    assert.ok((await rdMetadata(plain)).error, 'plaintext metadata refused');
    const systemCas = { ...rdkafkaAuth(solver), 'ssl.ca.location': 'probe' };
    assert.ok((await rdMetadata(systemCas)).error, 'metadata over TLS with the system\'s CAs refused');

    // With the CA, as every service configures its clients (credentials.ts), both engines are served.
    const tls = rdkafkaAuth(solver);
    assert.equal(tls['security.protocol'], 'sasl_ssl');
    assert.equal(tls['ssl.ca.location'], caFile);
    assert.deepEqual((await rdMetadata(tls)).error, undefined);
    const admin = client(solver, 'sec-tls-ok').admin();
    await admin.connect();
    closers.push(() => admin.disconnect());
    assert.ok((await admin.describeCluster()).brokers.length >= 1);
  });

  it('given a principal without ACLs, when it produces and consumes, then both are refused as unauthorised and the running solver stays healthy and keeps answering sessions', async () => {
    const nobody = identity('nobody');
    const producer = client(nobody, 'sec-nobody').producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    closers.push(() => producer.disconnect());
    const produced = await failure(producer.send({ topic: prefix + 'solver.costs', acks: -1, messages: [{ key: 'k', value: 'forged' }] }));
    assert.match(produced.message, AUTH_REFUSED);

    const consumer: Consumer = client(nobody, 'sec-nobody-c').consumer({ groupId: `${prefix}solvermesh.solver`, retry: { retries: 0, restartOnFailure: async () => false } });
    closers.push(() => consumer.disconnect());
    await consumer.connect();
    const crashed = new Promise<never>((_, reject) => consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error)));
    // Refused at the subscription's metadata or at the group join, whichever the broker meets first.
    const consumed = await failure(consumer.subscribe({ topics: [prefix + 'solver.sessions'], fromBeginning: true })
      .then(() => consumer.run({ eachMessage: async () => assert.fail('nobody read a record') }))
      .then(() => crashed));
    assert.match(`${consumed.type ?? ''} ${consumed.message}`, AUTH_REFUSED);

    // The service under attack is unaffected: healthy, and a session sent by the gateway's
    // principal is solved (the solver's own ACLs let it read its inputs and write its outputs).
    assert.equal(await health(), 200);
    const gateway = identity('gateway');
    const codec = new EventCodec(gateway.SCHEMA_REGISTRY_URL!, undefined, { env: gateway });
    const sender = client(gateway, 'sec-gateway').producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await sender.connect();
    closers.push(() => sender.disconnect());
    const sid = randomUUID();
    const a = poisson2d(4);
    const events = openSession(sid, a, smoothRhs(a.n), { occurredAt: Date.now() * 1000, producer: 'gateway' });
    await sender.send({ topic: prefix + 'solver.sessions', acks: -1, messages: await Promise.all(events.map(async (e) => ({ key: sid, value: await codec.encode(prefix + 'solver.sessions', e) }))) });

    const reader = client(operator, 'sec-reader').consumer({ groupId: `sec-reader-${randomUUID()}` });
    closers.push(() => reader.disconnect());
    const readCodec = new EventCodec(operator.SCHEMA_REGISTRY_URL!, undefined, { env: operator });
    let answered: string | undefined;
    await reader.connect();
    await reader.subscribe({ topics: [prefix + 'solver.iterations'], fromBeginning: true });
    await reader.run({ eachMessage: async ({ message }) => {
      const { event } = await readCodec.decode(message.value);
      if ('session_id' in event && event.session_id === sid) answered ??= event.type;
    } });
    const type = await until('the solver\'s answer to the session', async () => answered, 120_000);
    assert.match(type, /^(IterationCompleted|ConvergenceReached)$/);
    assert.equal(await health(), 200, solver!.output().slice(-2000));
  });

  it('given the simulator\'s principal, when it writes solver.costs (not its topic) with either client, then the broker refuses it, and its own heartbeats topic is accepted', async () => {
    const simulator = identity('simulator');
    const producer = client(simulator, 'sec-sim').producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    closers.push(() => producer.disconnect());
    const js = await failure(producer.send({ topic: prefix + 'solver.costs', acks: -1, messages: [{ key: 'k', value: 'forged' }] }));
    assert.match(js.message, AUTH_REFUSED);

    // node-rdkafka, configured as every rdkafka client of the services is (credentials.ts).
    const p: Rd.Producer = new (rd().Producer)({ 'metadata.broker.list': simulator.KAFKA_BROKERS!, ...rdkafkaAuth(simulator), dr_cb: true }, {});
    await cb((done) => p.connect({}, (err) => done(err)));
    p.setPollInterval(20);
    closers.push(() => cb((done) => p.disconnect((err) => done(err))));
    const delivered = new Map<string, (err: unknown) => void>();
    p.on('delivery-report', (err, report) => delivered.get(String(report.opaque))?.(err));
    const produce = (topic: string, id: string) => new Promise<void>((resolve, reject) => {
      delivered.set(id, (err) => (err ? reject(err) : resolve()));
      p.produce(prefix + topic, null, Buffer.from('x'), 'k', Date.now(), id);
    });
    const refused = await failure(produce('solver.costs', 'costs'));
    assert.match(refused.message, AUTH_REFUSED);
    await produce('mesh.heartbeats', 'heartbeats');
    assert.equal(await health(), 200);
  });
});
