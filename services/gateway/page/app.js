// The live page: sessions with a convergence plot each (fed by the SSE API), the mesh heat map,
// the conflict feed and the mode. The token comes from the URL fragment (#token=...), which is
// never sent to the server. window.__gateway exposes what the page shows, for the browser spec.
'use strict';
(function () {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') || localStorage.getItem('solvermesh-token') || '';
  if (token) localStorage.setItem('solvermesh-token', token);
  const auth = { Authorization: 'Bearer ' + token };
  const state = { sessions: {}, mesh: null, heat: [], errors: [] };
  window.__gateway = state;
  const status = (msg) => { document.getElementById('status').textContent = msg; };

  function card(s) {
    const el = document.createElement('div');
    el.className = 'session';
    el.id = 'session-' + s.session_id;
    const head = document.createElement('div');
    head.className = 'head';
    el.appendChild(head);
    document.getElementById('sessions').appendChild(el);
    const data = [[], []];
    const plot = new uPlot({
      width: 420, height: 220, title: s.session_id.slice(0, 8) + ' ' + (s.method || ''),
      scales: { x: { time: false }, y: { distr: 3 } },
      series: [{ label: 'iteration' }, { label: 'residual', stroke: '#1f77b4', width: 2 }],
      // uPlot passes null for the ticks it leaves unlabelled on a log scale (and before any data).
      axes: [{}, { values: (u, vals) => vals.map((v) => (v == null ? '' : v.toExponential(0))) }],
    }, data, el);
    return { el, head, plot, data };
  }

  function follow(id) {
    const s = state.sessions[id];
    const headers = Object.assign({ Accept: 'text/event-stream' }, auth);
    if (s.lastEventId) headers['Last-Event-ID'] = s.lastEventId;
    fetch('/api/v1/sessions/' + id + '/events', { headers }).then(async (res) => {
      if (!res.ok) throw new Error('events ' + res.status);
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (data) onEvent(id, JSON.parse(data));
        }
      }
      if (!s.ended) setTimeout(() => follow(id), 1000);
    }).catch((err) => { state.errors.push(String(err)); if (!s.ended) setTimeout(() => follow(id), 2000); });
  }

  function onEvent(id, e) {
    const s = state.sessions[id];
    if (e.id) s.lastEventId = e.id;
    if (e.type === 'IterationCompleted') {
      s.iterations.push(e.iteration);
      s.residuals.push(Math.max(e.residual_norm, 1e-300));
      s.view.data[0].push(e.iteration);
      s.view.data[1].push(Math.max(e.residual_norm, 1e-300));
      s.view.plot.setData(s.view.data);
    } else if (e.type === 'ConvergenceReached') {
      s.converged = { iteration: e.iteration, residual: e.residual_norm };
    } else if (e.type === 'SessionClosed' || (e.type === 'SessionRejected' && e.reason !== 'DUPLICATE_SESSION')) {
      s.ended = e.type;
    } else if (e.type === 'ConflictReported') {
      s.conflicts = (s.conflicts || 0) + 1;
    }
    s.view.head.textContent = id + ' · iteration ' + (s.iterations.at(-1) ?? '-') + ' · residual ' +
      (s.residuals.length ? s.residuals.at(-1).toExponential(3) : '-') + (s.converged ? ' · converged' : '') + (s.ended ? ' · ' + s.ended : '');
  }

  async function refreshSessions() {
    const res = await fetch('/api/v1/sessions', { headers: auth });
    if (!res.ok) { status('sessions: HTTP ' + res.status + (res.status === 401 ? ' (open the page as /#token=<your token>)' : '')); return; }
    status('');
    for (const s of (await res.json()).sessions) {
      if (state.sessions[s.session_id]) continue;
      state.sessions[s.session_id] = { iterations: [], residuals: [], converged: null, ended: null, view: card(s) };
      follow(s.session_id);
    }
  }

  // Rows are sectors, columns a sector's clusters in id order: cluster ids are per sector (seed
  // 002: S001-C01), so a column per cluster id would leave all but one cell of each column empty.
  // Rows keep a readable height however many sectors there are (the canvas grows).
  function heat(mesh) {
    const c = document.getElementById('heat');
    const open = new Set((mesh.open_circuits || []).map((o) => o.scope + ':' + o.scope_id));
    const bySector = new Map();
    for (const x of mesh.clusters) {
      if (!bySector.has(x.sector_id)) bySector.set(x.sector_id, []);
      bySector.get(x.sector_id).push(x);
    }
    const sectors = [...bySector.keys()].sort();
    const h = Math.max(12, 220 / Math.max(1, sectors.length));
    c.height = Math.max(240, Math.ceil(h * sectors.length + 20));
    const g = c.getContext('2d');
    state.heat = [];
    if (!sectors.length) { g.fillText('no impedance summaries yet', 10, 20); return; }
    const w = (c.width - 80) / Math.max(...sectors.map((s) => bySector.get(s).length));
    sectors.forEach((sector, i) => {
      bySector.get(sector).sort((a, b) => (a.cluster_id < b.cluster_id ? -1 : 1)).forEach((x, j) => {
        const t = Math.min(1, x.mean_impedance / 1000);
        const cell = { sector_id: sector, cluster_id: x.cluster_id, x: 80 + j * w, y: i * h, w: w - 1, h: h - 1 };
        g.fillStyle = 'rgb(' + Math.round(255 * t) + ',' + Math.round(200 * (1 - t)) + ',60)';
        g.fillRect(cell.x, cell.y, cell.w, cell.h);
        // An open breaker's agents are not routable: the cell is crossed out.
        if (open.has('GLOBAL:global') || open.has('SECTOR:' + sector) || open.has('CLUSTER:' + x.cluster_id)) {
          g.strokeStyle = '#000';
          g.beginPath(); g.moveTo(cell.x, cell.y); g.lineTo(cell.x + cell.w, cell.y + cell.h); g.moveTo(cell.x + cell.w, cell.y); g.lineTo(cell.x, cell.y + cell.h); g.stroke();
        }
        state.heat.push(cell);
      });
    });
    g.fillStyle = '#222';
    sectors.forEach((s, i) => g.fillText(s, 2, i * h + h / 2 + 4));
  }

  async function refreshMesh() {
    const res = await fetch('/api/v1/mesh', { headers: auth });
    if (!res.ok) return;
    const mesh = await res.json();
    state.mesh = mesh;
    heat(mesh);
    const breakers = (mesh.open_circuits || []).length;
    document.getElementById('mode').textContent = (mesh.mode ? '· mode ' + mesh.mode.mode : '') + (breakers > 0 ? ' · ' + breakers + ' breakers open (not routable)' : '');
    document.getElementById('conflicts').innerHTML = '';
    for (const c of mesh.conflicts) {
      const li = document.createElement('li');
      li.textContent = c.at + ' ' + c.conflict_type + ' from ' + c.agent_id + (c.cluster_id ? ' in ' + c.cluster_id : '');
      document.getElementById('conflicts').appendChild(li);
    }
  }

  const tick = () => Promise.all([refreshSessions(), refreshMesh()]).catch((err) => status(String(err)));
  tick();
  setInterval(tick, 2000);
})();
