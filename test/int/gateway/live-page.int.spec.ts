// The live page in Debian's Chromium (driven by playwright-core), against the real gateway,
// solver and impedance services: the page is opened first, a session converges and re-converges
// while it watches, and what it plots and draws is compared with what the API streamed. The page
// exposes its state as window.__gateway. A screenshot is kept under test-artifacts/.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { HeartbeatReceived, OperationalModeChanged } from '../../../schemas/generated/events';
import { projectRoot } from '../../../schemas/project-root';
import type { RunningGateway } from '../../../services/gateway';
import type { RunningService } from '../../../services/runtime/service';
import { derivedEventId } from '../../../services/runtime/ids';
import { poisson2d } from '../../../wasm/src/problems';
import { TestKafka, waitFor } from '../../support/kafka';
import { hb, S } from '../../unit/impedance/helpers';
import { freePort, PrivateRedis, startImpedance, waitCaughtUp } from '../impedance/support';
import { startSolver, type SolverChild } from '../solver/support';
import { bearer, json, solveBody, startTestGateway, StreamReader, TOKENS } from './support';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(projectRoot(), 'test-artifacts', 'live-page.png');

/** What the page holds for one session: the uPlot series as plotted, and its own reading of the stream. */
interface PageSession { x: number[]; y: number[]; converged: { iteration: number; residual: number } | null; head: string }
interface PageMesh { clusters: Array<{ sector_id: string; cluster_id: string; mean_impedance: number; agent_count: number }>; mode: { mode: string } | null; conflicts: Array<{ conflict_type: string; agent_id: string; cluster_id: string | null }> }

/** The page's globals the spec reads inside the browser (the project compiles without the DOM library). */
interface PageGlobals {
  __gateway?: {
    sessions: Record<string, { view: { el: Element; plot: UPlot; head: { textContent: string | null } }; converged: PageSession['converged'] }>;
    mesh: PageMesh | null;
    heat: Array<{ sector_id: string; cluster_id: string; x: number; y: number; w: number; h: number }>;
    errors: string[];
  };
  document: { getElementById(id: string): Canvas };
}
interface Canvas { width: number; height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } }
interface Element { querySelector(selector: string): Canvas | null }
/** The parts of a uPlot instance the spec reads: the series as plotted, and where a value is drawn (canvas pixels). */
interface UPlot { data: number[][]; valToPos(value: number, scale: string, canvasPixels: boolean): number }

const pageSession = (page: Page, id: string) => page.evaluate((sid) => {
  const s = (globalThis as unknown as PageGlobals).__gateway!.sessions[sid];
  return s ? { x: [...s.view.plot.data[0]!], y: [...s.view.plot.data[1]!], converged: s.converged, head: s.view.head.textContent ?? '' } : null;
}, id);

const pageErrors = (page: Page) => page.evaluate(() => (globalThis as unknown as PageGlobals).__gateway!.errors);

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  let last: T | undefined;
  try {
    await waitFor(async () => ok(last = await read()), timeoutMs, what);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)?.slice(0, 600)}`);
  }
  return last!;
}

describe('gateway live page in Chromium (playwright-core)', function () {
  this.timeout(180_000);
  let k: TestKafka;
  let solver: SolverChild;
  let redis: PrivateRedis;
  let impedance: RunningService;
  let gw: RunningGateway;
  let base: string;
  let browser: Browser;
  let page: Page;
  /** Uncaught exceptions and console errors of the page: a plot that throws while drawing stays blank. */
  const browserErrors: string[] = [];
  let sessionId: string;
  const a = poisson2d(16);

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: the browser spec drives Debian's chromium package (make deps installs it)`);
    k = await TestKafka.create('gateway-page');
    solver = startSolver(k);
    redis = new PrivateRedis(await freePort());
    await redis.start();
    impedance = await startImpedance(k, redis.url);
    gw = await startTestGateway(k.prefix);
    base = `http://127.0.0.1:${gw.port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('pageerror', (err) => browserErrors.push(err.message));
    page.on('console', (m) => { if (m.type() === 'error') browserErrors.push(`${m.text()} (${m.location().url})`); });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`--- solver output ---\n${solver?.output().slice(-3000)}\n`);
  });
  after(async () => {
    if (page) {
      mkdirSync(join(projectRoot(), 'test-artifacts'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true }).then(() => process.stdout.write(`      live page screenshot: ${SCREENSHOT}\n`), () => undefined);
    }
    await browser?.close();
    await gw?.stop(0);
    await impedance?.stop();
    await redis?.stop();
    solver?.proc.kill('SIGKILL');
    await k?.close();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer('alice') }, body: JSON.stringify(body) });

  it('given the page open with a token, when a session converges and then re-converges after a cost update, then its plot holds exactly the streamed iterations up to the final one', async () => {
    await page.goto(`${base}/#token=${TOKENS.alice}`);
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).__gateway !== undefined);

    // when a session is opened and streamed to its first convergence
    const opened = await post('/api/v1/solve-stream?follow=false', solveBody(a));
    assert.equal(opened.status, 200);
    const first = json(await new StreamReader(opened).readUntil(() => false));
    sessionId = String(first[0]!.session_id);
    const firstConvergence = first.find((e) => e.type === 'ConvergenceReached')!;
    assert.ok(firstConvergence, JSON.stringify(first.slice(-3)));
    // then the page found it by itself and plots it to that convergence
    await until('the page plotting the first convergence', () => pageSession(page, sessionId), (s) => s?.converged?.iteration === firstConvergence.iteration);

    // when a cost update arrives while the page follows (its stale old_value is also a conflict)
    const follow = new StreamReader(await fetch(`${base}/api/v1/sessions/${sessionId}/events`, { headers: bearer('alice') }));
    const cost = await post('/api/v1/swarm/costs', {
      session_id: sessionId, delta_costs: { indices: [1, 7], values: [0.5, -0.25] },
      matrix_updates: [{ row: 3, col: 3, old_value: 99, new_value: 4.2 }], source_node: 'browser-spec-node',
    });
    assert.equal(cost.status, 200, await cost.clone().text());
    const streamed = json(await follow.readUntil((xs) => xs.filter((x) => x.includes('"ConvergenceReached"')).length >= 2)).filter((e) => e.id);
    await follow.cancel();
    const final = streamed.filter((e) => e.type === 'ConvergenceReached').at(-1)!;
    const its = streamed.filter((e) => e.type === 'IterationCompleted');

    // then the page's plot reaches the final iteration, point for point what the API streamed
    const shown = await until('the page plotting the re-convergence', () => pageSession(page, sessionId), (s) => s !== null && s.converged?.iteration === final.iteration && s.x.at(-1) === final.iteration);
    assert.ok((final.iteration as number) > (firstConvergence.iteration as number));
    assert.deepEqual(shown!.x, its.map((e) => e.iteration));
    assert.deepEqual(shown!.y, its.map((e) => Math.max(e.residual_norm as number, 1e-300)));
    assert.ok(shown!.y.at(-1)! < 1e-8 * 10, `final residual ${shown!.y.at(-1)}`);
    assert.match(shown!.head, new RegExp(`^${sessionId} · iteration ${final.iteration} · residual .* · converged$`));
    // and uPlot drew it: the residual line's last segment, up to the final iteration, is on the canvas
    const drawn = await page.evaluate((sid) => {
      const { plot, el } = (globalThis as unknown as PageGlobals).__gateway!.sessions[sid]!.view;
      const [xs, ys] = [plot.data[0]!, plot.data[1]!];
      const n = xs.length;
      // Inline, no helper functions: tsx names them with a __name() the page does not have.
      const cx = Math.round((plot.valToPos(xs[n - 2]!, 'x', true) + plot.valToPos(xs[n - 1]!, 'x', true)) / 2);
      const cy = Math.round((plot.valToPos(ys[n - 2]!, 'y', true) + plot.valToPos(ys[n - 1]!, 'y', true)) / 2);
      const px = el.querySelector('canvas')!.getContext('2d').getImageData(cx - 4, cy - 4, 9, 9).data;
      let stroke = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i + 2]! > 120 && px[i + 2]! - px[i]! > 60) stroke++;
      return { stroke, midpoint: [cx, cy] };
    }, sessionId);
    assert.ok(drawn.stroke > 0, `no pixel of the residual line (#1f77b4) around ${drawn.midpoint}`);
    assert.deepEqual(await pageErrors(page), []);
    assert.deepEqual(browserErrors, []);
  });

  it('when agents\' heartbeats are summarised, the solver reports the conflict and the mode changes, then the heat map, the conflict feed and the mode show them', async () => {
    // given 16 agents in 2 sectors x 2 clusters, each cluster slower than the last, over three 5 s ticks of event time
    const t0 = Math.floor(Date.now() / 5_000) * 5_000 * 1000;
    const beats: HeartbeatReceived[] = [];
    for (let r = 0; r < 3; r++) {
      for (let i = 0; i < 16; i++) {
        const sector = `page-S${i % 2}`;
        const cluster = `${sector}-C${(i >> 1) % 2}`;
        const slow = (i % 2) * 2 + ((i >> 1) % 2);
        beats.push(hb({ agent: `page-agent-${i}`, at: t0 + r * 5 * S + i * 1000, sector, cluster, latency: 20 + slow * 300, processing: 10 + slow * 100, queue: slow * 5 }));
      }
    }
    // The first round is in the registry before a tick is crossed: a summary reads the registry.
    const send = (xs: HeartbeatReceived[]) => k.sendEvents('mesh.heartbeats', xs.map((e) => ({ key: e.agent_id, event: e })));
    await send(beats.slice(0, 16));
    await waitCaughtUp(k, 'mesh.heartbeats');
    await send(beats.slice(16));
    // No service emits mode changes yet (degradation modes are issue 19's): the spec
    // writes the event the coordinator will write, onto the topic the page's fold reads.
    const mode: OperationalModeChanged = {
      type: 'OperationalModeChanged',
      meta: { event_id: derivedEventId('page-spec', 'mode'), correlation_id: 'global', causation_id: null, occurred_at: Date.now() * 1000, producer: 'test', sequence: null },
      previous_mode: 'FULL', new_mode: 'DEGRADED_LIGHT', active_rate: 0.9, active_agents: 9, total_agents: 10, description: 'Minor capacity reduction', restrictions: [],
    };
    await k.sendEvents('mesh.circuits', [{ key: 'global', event: mode }]);

    // then the page's mesh state holds the four clusters, the solver's conflict and the mode.
    // The agents go on beating every 3 s, a period (5 s of event time) a beat, as a live mesh
    // does: the impedance service summarises a tick once every heartbeat partition reached it or
    // has been quiet for 10 s, and it looks again at the next batch that crosses a tick (a mesh
    // that falls silent altogether has its last tick summarised at its next heartbeat).
    let round = 3;
    let beatAt = Date.now();
    const meshOf = async () => {
      if (Date.now() - beatAt >= 3_000) {
        beatAt = Date.now();
        await send(beats.slice(0, 16).map((b) => ({ ...b, meta: { ...b.meta, event_id: randomUUID(), occurred_at: b.meta.occurred_at + round * 5 * S }, received_at: b.received_at + round * 5 * S })));
        round++;
      }
      return page.evaluate(() => (globalThis as unknown as PageGlobals).__gateway!.mesh);
    };
    const mesh = await until('the page showing the summaries, the conflict and the mode', meshOf,
      (m) => m?.clusters.filter((c) => c.sector_id.startsWith('page-S') && c.agent_count === 4).length === 4 && (m?.conflicts.length ?? 0) > 0 && m?.mode?.mode === 'DEGRADED_LIGHT', 90_000);
    const clusters = mesh!.clusters.filter((c) => c.sector_id.startsWith('page-S'));
    assert.deepEqual(clusters.map((c) => c.agent_count), [4, 4, 4, 4]);
    assert.ok(new Set(clusters.map((c) => c.mean_impedance)).size > 1, `all clusters alike: ${JSON.stringify(clusters)}`);

    // and the heat map has a cell per cluster (rows sectors, columns each sector's clusters),
    // painted in the colour of the cluster's mean impedance
    const cells = await page.evaluate(() => {
      const w0 = globalThis as unknown as PageGlobals;
      const g = w0.document.getElementById('heat').getContext('2d');
      return w0.__gateway!.heat.map((c) => ({ ...c, rgb: [...g.getImageData(Math.floor(c.x + c.w / 2), Math.floor(c.y + c.h / 2), 1, 1).data].slice(0, 3) }));
    });
    const mine = cells.filter((c) => c.sector_id.startsWith('page-S'));
    assert.deepEqual(mine.map((c) => c.cluster_id).sort(), clusters.map((c) => c.cluster_id).sort());
    const row = (sector: string) => mine.filter((c) => c.sector_id === sector);
    for (const sector of ['page-S0', 'page-S1']) {
      const [c0, c1] = row(sector);
      assert.ok(c0 && c1 && c0.y === c1.y && c0.x !== c1.x, `${sector}: its two clusters side by side in one row: ${JSON.stringify(row(sector))}`);
    }
    assert.notEqual(row('page-S0')[0]!.y, row('page-S1')[0]!.y);
    for (const cell of mine) {
      const t = Math.min(1, clusters.find((c) => c.cluster_id === cell.cluster_id)!.mean_impedance / 1000);
      assert.deepEqual(cell.rgb, [Math.round(255 * t), Math.round(200 * (1 - t)), 60], `cell of ${cell.cluster_id}`);
    }

    // and the conflict feed lists the solver's report of the stale old_value, the title the mode
    const feed = await page.locator('#conflicts li').allTextContents();
    assert.ok(feed.some((l) => l.includes(`DATA_CONTRADICTION from browser-spec-node in ${sessionId}`)), JSON.stringify(feed));
    assert.equal(await page.locator('#mode').textContent(), '· mode DEGRADED_LIGHT');
    assert.deepEqual(await pageErrors(page), []);
    assert.deepEqual(browserErrors, []);
  });
});
