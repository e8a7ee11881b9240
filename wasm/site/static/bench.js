// The speed page (bench.html): asks the engine pool for its 'bench' job and shows the
// reply. The result, one JSON object, goes into #result and document.title, and
// body[data-state] becomes 'done' or 'error' (what 'ideal bench --browser' waits for):
//   {state, error?, params: {workers, size, runs, width, depth, heads, gpu},
//    engine: {backend, simd, workers, isolated, gpu, gpu_reason}, ms: [per-run forward times, after the
//    job's own warm-up pass], workers, backend, team_error?, warnings: [...],
//    isolated: crossOriginIsolated, cores: hardwareConcurrency}
(() => {
  const statusEl = document.getElementById('status');
  const resultEl = document.getElementById('result');
  const out = {state: 'running', isolated: self.crossOriginIsolated === true,
    cores: navigator.hardwareConcurrency || 0, warnings: []};
  let finished = false;
  function finish(state, extra) {
    if (finished) return;
    finished = true;
    Object.assign(out, extra, {state});
    const text = JSON.stringify(out);
    resultEl.textContent = text;
    statusEl.textContent = state === 'done' ? 'done' : 'error: ' + out.error;
    document.title = text;
    document.body.dataset.state = state;
  }
  // param reads a positive integer from the URL (def when absent).
  function param(q, name, def) {
    const v = q.get(name);
    if (v === null || v === '') return def;
    if (!/^[0-9]+$/.test(v) || Number(v) < 1) throw new Error(`bad ${name}=${v}: want a positive integer`);
    return Number(v);
  }
  self.addEventListener('error', (ev) => finish('error', {error: 'page: ' + (ev.message || ev)}));
  let params;
  try {
    const q = new URLSearchParams(location.search);
    params = {workers: param(q, 'workers', undefined), size: param(q, 'size', 448), runs: param(q, 'runs', 3),
      width: param(q, 'width', 384), depth: param(q, 'depth', 12), heads: param(q, 'heads', 6),
      gpu: q.get('gpu') || 'off'};
    if (params.size % 14 !== 0) throw new Error(`bad size=${params.size}: want a multiple of 14`);
    if (!['off', 'on', 'auto'].includes(params.gpu)) throw new Error(`bad gpu=${params.gpu}: want off, on or auto`);
  } catch (e) {
    finish('error', {error: String(e && e.message || e)});
    return;
  }
  out.params = params;
  if (typeof EnginePool !== 'function') {
    finish('error', {error: 'pool.js did not load (no EnginePool)'});
    return;
  }
  const engine = new EnginePool(Object.assign(params.workers ? {workers: params.workers} : {}, {gpu: params.gpu}));
  engine.onmessage = (ev) => {
    const m = ev.data || {};
    switch (m.type) {
    case 'engine':
      out.engine = {backend: m.backend, simd: m.simd, workers: m.workers, isolated: m.isolated, gpu: m.gpu,
        gpu_reason: m.gpu_reason};
      statusEl.textContent = `engine ${m.backend}${m.simd ? ' (SIMD)' : ''}, ${m.workers} worker(s): timing`;
      return;
    case 'progress':
      statusEl.textContent = String(m.text);
      return;
    case 'warning':
      out.warnings.push(String(m.text));
      return;
    case 'bench':
      if (!Array.isArray(m.ms) || m.ms.length === 0) {
        finish('error', {error: 'the bench reply has no times'});
        return;
      }
      finish('done', {ms: m.ms, workers: m.workers, backend: m.backend, team_error: m.team_error || ''});
      return;
    case 'error':
      finish('error', {error: String(m.text)});
      return;
    }
  };
  statusEl.textContent = 'starting the engine';
  const shape = {width: params.width, depth: params.depth, heads: params.heads, size: params.size};
  // The seeded random backbone's shape, both as 'random' (what the workers load) and flat.
  engine.postMessage(Object.assign({type: 'bench', random: shape, runs: params.runs}, shape));
})();
