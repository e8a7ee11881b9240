// Page logic: collects the inputs, sends them to the worker, shows the results, and lets
// the user paint the abnormal reference's defect mask. All computing happens in the worker.
const $ = (id) => document.getElementById(id);
// The engine: a pool of workers (pool.js), made at the end of this file and made again
// when the "use-gpu" box changes. It runs on WebGPU when the box is ticked and the
// browser has an adapter, else on the CPU.
let worker = null;
const hasWebGPU = typeof navigator.gpu !== 'undefined';
if (!hasWebGPU) {
  $('use-gpu').checked = false;
  $('use-gpu').disabled = true;
  $('use-gpu-hint').textContent = 'This browser has no WebGPU: the engine runs on the CPU (WebAssembly).';
}
function setState(s, text) {
  document.body.dataset.state = s;
  $('status').textContent = text || s;
  $('results').setAttribute('aria-busy', s === 'scoring' ? 'true' : 'false');
  // The engine is not changed during a run.
  $('use-gpu').disabled = !hasWebGPU || s === 'scoring';
}
setState('idle');
const readFile = (f) => f.arrayBuffer().then(b => new Uint8Array(b));
async function readAll(input) {
  return Promise.all(Array.from(input.files).map(async f => ({name: f.name, type: f.type, bytes: await readFile(f)})));
}

// The backbone the worker holds: the page sends a backbone file (or asks for the demo
// one) only when the choice changed, so that the worker keeps its cached features.
let backboneKey = null;
async function backboneFields() {
  const size = Number($('size').value);
  const f = $('backbone').files[0];
  const key = f ? [f.name, f.size, f.lastModified, size].join('/') : 'demo';
  if (key === backboneKey) return {};
  backboneKey = key;
  return f ? {backbone: await readFile(f), size} : {demo: true};
}
$('backbone').addEventListener('change', () => { backboneKey = null; });
$('size').addEventListener('change', () => { backboneKey = null; });

// The head: checked by the worker when picked; the page says which one is in use.
// headFile is the head file in use (null: the demo head), headAsked the last one sent
// (sent again to a new engine while the worker has not answered).
let headFile = null, headAsked = null;
async function sendHead(file) {
  headAsked = file;
  $('head-error').textContent = '';
  $('head-status').dataset.state = 'loading';
  try {
    const job = Object.assign({type: 'head', name: file ? file.name : null, bytes: file ? await readFile(file) : null},
      await backboneFields());
    worker.postMessage(job);
  } catch (e) { headRefused(String(e)); }
}
$('head').addEventListener('change', () => { if ($('head').files.length) sendHead($('head').files[0]); });
$('head-demo').addEventListener('click', () => { $('head').value = ''; sendHead(null); });
// data-state of #head-status: demo or file (the head in use), loading while one is checked.
let headState = 'demo';
function headRefused(text) {
  $('head-error').textContent = 'head refused: ' + text;
  $('head-status').dataset.state = headState;
}
function headLoaded(h, name) {
  headState = h.demo ? 'demo' : 'file';
  $('head-status').textContent = (h.demo ? 'seeded demo head (random, untrained)' : name) +
    ` — M = ${h.m}, C = ${h.c}, k = ${h.topk}, r = ${h.topr}, α = ${h.alpha.toFixed(3)}, ${h.heads} attention heads`;
  $('head-status').dataset.state = headState;
}

// Mask painting. The canvas has the abnormal image's own size (CSS scales it); the mask
// is one byte per image pixel, 1 = defect.
const paint = {w: 0, h: 0, base: null, bits: null, abnormal: null, undo: [], stroke: null};
window.idealPaint = paint; // read by the browser test
const canvas = $('maskcanvas');
const ctx = canvas.getContext('2d');
let renderQueued = false;
function render() {
  if (renderQueued || !paint.bits) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    const img = new ImageData(new Uint8ClampedArray(paint.base), paint.w, paint.h);
    const d = img.data;
    let n = 0;
    for (let i = 0; i < paint.bits.length; i++) {
      if (!paint.bits[i]) continue;
      n++;
      d[4 * i] = (d[4 * i] + 255) >> 1;
      d[4 * i + 1] >>= 1;
      d[4 * i + 2] >>= 1;
    }
    ctx.putImageData(img, 0, 0);
    $('mask-count').textContent = n ? `${n} mask pixels.` :
      'The mask is empty: the head will use the abnormal reference\'s patches of largest deviation instead (with a warning).';
  });
}
// setPainting shows a decoded abnormal image (its bytes kept for scoring) with a mask.
function setPainting(abnormal, image, bits) {
  Object.assign(paint, {w: image.width, h: image.height, base: image.rgba, abnormal, undo: [],
    bits: bits || new Uint8Array(image.width * image.height)});
  canvas.width = image.width;
  canvas.height = image.height;
  $('paint-info').textContent = `Abnormal reference ${image.width}×${image.height} pixels.`;
  document.body.dataset.painter = 'ready';
  render();
}
function setMaskBits(mask) {
  if (!paint.bits) return;
  if (mask.width !== paint.w || mask.height !== paint.h) {
    $('paint-info').textContent = `The mask file is ${mask.width}×${mask.height} but its image is ${paint.w}×${paint.h}: not used.`;
    return;
  }
  paint.undo.push(paint.bits.slice());
  paint.bits = mask.bits;
  render();
}
function pixelAt(ev) {
  const r = canvas.getBoundingClientRect();
  const x = Math.floor((ev.clientX - r.left) * paint.w / r.width);
  const y = Math.floor((ev.clientY - r.top) * paint.h / r.height);
  return [Math.min(Math.max(x, 0), paint.w - 1), Math.min(Math.max(y, 0), paint.h - 1)];
}
function stamp(x, y, v, b) {
  const x0 = Math.max(x - (b >> 1), 0), x1 = Math.min(x - (b >> 1) + b, paint.w);
  const y0 = Math.max(y - (b >> 1), 0), y1 = Math.min(y - (b >> 1) + b, paint.h);
  for (let yy = y0; yy < y1; yy++) paint.bits.fill(v, yy * paint.w + x0, yy * paint.w + x1);
}
function strokeTo(p) {
  const s = paint.stroke;
  const dx = p[0] - s.last[0], dy = p[1] - s.last[1];
  const n = Math.max(Math.abs(dx), Math.abs(dy));
  for (let i = 1; i <= n; i++) {
    stamp(s.last[0] + Math.round(dx * i / n), s.last[1] + Math.round(dy * i / n), s.value, s.brush);
  }
  s.last = p;
  render();
}
canvas.addEventListener('contextmenu', (ev) => ev.preventDefault());
canvas.addEventListener('pointerdown', (ev) => {
  if (!paint.bits || (ev.button !== 0 && ev.button !== 2)) return;
  ev.preventDefault();
  canvas.setPointerCapture(ev.pointerId);
  paint.undo.push(paint.bits.slice());
  if (paint.undo.length > 30) paint.undo.shift();
  const erase = ev.button === 2 || $('erase').checked;
  const p = pixelAt(ev);
  paint.stroke = {value: erase ? 0 : 1, brush: Number($('brush').value), last: p};
  stamp(p[0], p[1], paint.stroke.value, paint.stroke.brush);
  render();
});
canvas.addEventListener('pointermove', (ev) => { if (paint.stroke) strokeTo(pixelAt(ev)); });
const endStroke = () => { paint.stroke = null; };
canvas.addEventListener('pointerup', endStroke);
canvas.addEventListener('pointercancel', endStroke);
$('brush').addEventListener('input', () => { $('brush-value').textContent = $('brush').value; });
$('undo').addEventListener('click', () => { if (paint.undo.length) { paint.bits = paint.undo.pop(); render(); } });
$('clear').addEventListener('click', () => {
  if (!paint.bits) return;
  paint.undo.push(paint.bits.slice());
  paint.bits = new Uint8Array(paint.w * paint.h);
  render();
});
// paintedMask is the mask as the worker takes it: the canvas's RGBA, alpha ≠ 0 = defect.
function paintedMask() {
  const rgba = new Uint8Array(4 * paint.w * paint.h);
  for (let i = 0; i < paint.bits.length; i++) if (paint.bits[i]) { rgba[4 * i] = 255; rgba[4 * i + 3] = 255; }
  return {width: paint.w, height: paint.h, rgba};
}

// Picking an abnormal reference or a mask file: the worker decodes them as the engine
// does. A run waits for the decodes under way (pending), so that it takes the mask shown.
const pending = new Set();
function track(p) {
  pending.add(p);
  p.catch(e => { $('paint-info').textContent = 'cannot read: ' + e; }).finally(() => pending.delete(p));
}
const decodeReplies = []; // resolvers, in the order of the requests (the worker answers in order)
const decodeJobs = []; // the requests not answered yet (sent again to a new engine)
function decode(job) {
  return new Promise(resolve => {
    const j = Object.assign({type: 'decode'}, job);
    decodeReplies.push(resolve);
    decodeJobs.push(j);
    worker.postMessage(j);
  });
}
$('abnormal').addEventListener('change', () => track((async () => {
  paint.bits = null;
  document.body.dataset.painter = 'loading';
  if (!$('abnormal').files.length) return;
  const job = {image: await readFile($('abnormal').files[0])};
  if ($('mask').files.length) job.mask = await readFile($('mask').files[0]);
  await decode(job);
})()));
$('mask').addEventListener('change', () => track((async () => {
  if ($('mask').files.length) await decode({mask: await readFile($('mask').files[0])});
})()));

// The engine in use, from the pool's 'engine' message; an engine that does not send one
// is said to be unreported once it has answered. When WebGPU was asked for and the
// engine runs on the CPU, #engine-reason says why.
function showEngine(m) {
  const e = $('engine-info');
  const workers = Number(m.workers) || 1;
  const backend = String(m.backend || '');
  const gpu = m.gpu === true || backend.startsWith('webgpu/');
  e.textContent = gpu ? `WebGPU (${backend})` : `CPU (${backend || 'unknown backend'}): ` +
    [m.simd ? 'WebAssembly SIMD' : 'no SIMD', workers === 1 ? '1 worker' : `${workers} workers`,
      m.isolated ? 'cross-origin isolated' : 'not cross-origin isolated'].join(', ');
  Object.assign(e.dataset, {state: 'reported', backend, simd: String(!!m.simd),
    workers: String(workers), isolated: String(!!m.isolated), gpu: String(gpu)});
  const why = !gpu && engineMode !== 'off' && m.gpu_reason ? 'WebGPU not used: ' + m.gpu_reason : '';
  $('engine-reason').textContent = why;
  $('engine-reason').hidden = !why;
  showFallbacks(m.fallbacks);
}
// showFallbacks adds the distinct reasons WebGPU ran ops on the CPU to the one warning
// line that lists them (data-fallbacks: the list as JSON).
let gpuFallbacks = new Set();
function showFallbacks(list) {
  const n = gpuFallbacks.size;
  for (const f of list || []) gpuFallbacks.add(String(f));
  const w = $('gpu-fallbacks');
  w.dataset.fallbacks = JSON.stringify([...gpuFallbacks]);
  if (gpuFallbacks.size === n && n) return;
  w.textContent = gpuFallbacks.size ? 'warning: on WebGPU, these operations ran on the CPU instead (slower): ' +
    [...gpuFallbacks].join('; ') : '';
  w.hidden = gpuFallbacks.size === 0;
}
function engineAnswered() {
  const e = $('engine-info');
  if (e.dataset.state === 'reported' || e.dataset.state === 'unreported') return;
  e.dataset.state = 'unreported';
  e.textContent = 'running (this engine version does not report its backend or workers; the page is ' +
    (self.crossOriginIsolated ? '' : 'not ') + 'cross-origin isolated)';
}
function engineStarting() {
  const e = $('engine-info');
  if (e.dataset.state === 'idle') { e.dataset.state = 'starting'; e.textContent = 'starting'; }
}

// Progress: the run's queries (results in / queries sent) and, when the engine reports
// it, the transformer blocks done in the backbone pass under way.
function showQueryProgress(done, total) {
  $('progress').max = Math.max(total, 1);
  $('progress').value = Math.min(done, total);
  $('progress-text').textContent = total ? `${done} of ${total} ${total === 1 ? 'query' : 'queries'}` : '';
}
function showBlocks(block, blocks) {
  if (!(blocks > 0) || block == null) { $('block-row').hidden = true; return; }
  $('block-row').hidden = false;
  $('block-progress').max = blocks;
  $('block-progress').value = Math.min(block, blocks);
  $('block-text').textContent = `block ${Math.min(block, blocks)} of ${blocks}`;
}

// Colours of the anomaly maps: matplotlib's jet (the overlays' colour map), piecewise linear.
const jetStops = [
  [[0, 0], [0.35, 0], [0.66, 1], [0.89, 1], [1, 0.5]],
  [[0, 0], [0.125, 0], [0.375, 1], [0.64, 1], [0.91, 0], [1, 0]],
  [[0, 0.5], [0.11, 1], [0.34, 1], [0.65, 0], [1, 0]],
];
function jet(v) {
  if (!(v >= 0)) v = 0;
  if (v > 1) v = 1;
  return jetStops.map(stops => {
    for (let i = 1; i < stops.length; i++) {
      const [x1, y1] = stops[i];
      if (v <= x1) {
        const [x0, y0] = stops[i - 1];
        return Math.round(255 * (y0 + (y1 - y0) * (v - x0) / (x1 - x0)));
      }
    }
    return Math.round(255 * stops[stops.length - 1][1]);
  });
}
// upsample resizes a g×g map to w×h as the engine's overlay does (bilinear, PyTorch's
// align_corners = false).
function taps(n, g) {
  const out = [];
  for (let d = 0; d < n; d++) {
    const src = Math.max((d + 0.5) * g / n - 0.5, 0);
    const i0 = Math.floor(src), i1 = Math.min(i0 + 1, g - 1);
    const l1 = Math.min(Math.max(src - i0, 0), 1);
    out.push([i0, i1, 1 - l1, l1]);
  }
  return out;
}
function upsample(map, g, w, h) {
  const out = new Float32Array(w * h);
  const xs = taps(w, g), ys = taps(h, g);
  for (let y = 0; y < h; y++) {
    const [y0, y1, h0, h1] = ys[y];
    for (let x = 0; x < w; x++) {
      const [x0, x1, l0, l1] = xs[x];
      const top = map[y0 * g + x0] * l0 + map[y0 * g + x1] * l1;
      const bot = map[y1 * g + x0] * l0 + map[y1 * g + x1] * l1;
      out[y * w + x] = top * h0 + bot * h1;
    }
  }
  return out;
}
function drawHeatmap(canvas, map, g) {
  canvas.width = g;
  canvas.height = g;
  const img = new ImageData(g, g);
  for (let i = 0; i < g * g; i++) {
    const [r, gr, b] = jet(map[i]);
    img.data.set([r, gr, b, 255], 4 * i);
  }
  canvas.getContext('2d').putImageData(img, 0, 0);
}
// drawContour marks where the up-sampled map crosses the threshold: the pixels at or
// above it next to one below (or on the border) white, their neighbours below it black
// (a two-pixel line); it returns the share of pixels at or above the threshold.
function drawContour(canvas, up, w, h, threshold) {
  const img = new ImageData(w, h);
  const d = img.data;
  let inside = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const a = up[i] >= threshold;
      if (a) inside++;
      // The image's border closes the regions that reach it.
      const edge = (a && (x === 0 || y === 0 || x === w - 1 || y === h - 1)) ||
        (x > 0 && (up[i - 1] >= threshold) !== a) || (x < w - 1 && (up[i + 1] >= threshold) !== a) ||
        (y > 0 && (up[i - w] >= threshold) !== a) || (y < h - 1 && (up[i + w] >= threshold) !== a);
      if (!edge) continue;
      const v = a ? 255 : 0;
      d[4 * i] = v; d[4 * i + 1] = v; d[4 * i + 2] = v; d[4 * i + 3] = 255;
    }
  }
  canvas.getContext('2d').putImageData(img, 0, 0);
  return inside / (w * h);
}

// Results: one card per query, kept sorted by image score, highest first. Each card
// holds its query's data (data-index is the query's position in the run).
let runQueries = []; // this run's queries: {name, url, taken}
let runUrls = [];
let cards = []; // {el, score, index, up, w, h, contour}
// The threshold applied: the field's value, or its last valid one while it is being typed.
let applied = 0.5;
function threshold() {
  const t = Number($('threshold').value);
  if ($('threshold').value !== '' && Number.isFinite(t)) applied = t;
  return applied;
}
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}
function fmtMs(ms) { return ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`; }
function applyVerdict(c, t) {
  const bad = c.score >= t;
  const v = c.el.querySelector('.verdict');
  v.textContent = bad ? 'anomalous' : 'normal';
  v.className = 'verdict ' + (bad ? 'anomalous' : 'normal');
  c.el.dataset.verdict = bad ? 'anomalous' : 'normal';
}
let contourQueued = false;
function redrawContours() {
  if (contourQueued) return;
  contourQueued = true;
  requestAnimationFrame(() => {
    contourQueued = false;
    const t = threshold();
    for (const c of cards) {
      if (!c.up) continue;
      // data-above: the share of the overlay at or above the threshold drawn (data-contour).
      c.el.dataset.above = drawContour(c.contour, c.up, c.w, c.h, t).toFixed(4);
      c.el.dataset.contour = String(t);
    }
  });
}
function showSummary() {
  const t = threshold();
  const n = cards.length;
  if (!n) { $('summary').textContent = 'No results yet.'; return; }
  const bad = cards.filter(c => c.score >= t).length;
  const ms = cards.reduce((a, c) => a + c.ms, 0) / n;
  $('summary').textContent = `${n} ${n === 1 ? 'query' : 'queries'} scored: ${bad} anomalous, ${n - bad} normal ` +
    `at threshold ${t}; ${fmtMs(ms)} per query on average.`;
}
// The threshold is applied live: verdicts, the summary and the contours follow it.
function thresholdChanged() {
  const t = threshold();
  for (const c of cards) applyVerdict(c, t);
  document.body.dataset.threshold = String(t);
  showSummary();
  redrawContours();
}
$('threshold').addEventListener('input', thresholdChanged);
$('threshold').addEventListener('change', thresholdChanged);
document.body.dataset.threshold = String(threshold());
function clearResults() {
  for (const u of runUrls) URL.revokeObjectURL(u);
  runUrls = [];
  cards = [];
  $('results').textContent = '';
  showSummary();
}
function blobUrl(bytes, type) {
  const u = URL.createObjectURL(new Blob([bytes], type ? {type} : {}));
  runUrls.push(u);
  return u;
}
function addResult(m) {
  let index = runQueries.findIndex(q => !q.taken && q.name === m.name);
  if (index < 0) index = runQueries.length + cards.length; // not a query of this run: last
  else runQueries[index].taken = true;
  const q = runQueries[index];
  const g = m.grid;
  const map = m.map;
  let max = 0;
  for (let i = 0; i < map.length; i++) max = Math.max(max, map[i]);
  const overlayUrl = blobUrl(m.overlay, 'image/png');
  const queryImg = el('img', {class: 'query', alt: `Query image ${m.name}`});
  const heat = el('canvas', {class: 'heatmap', role: 'img',
    'aria-label': `Anomaly map of ${m.name}: ${g}×${g} patches, highest value ${max.toFixed(3)}`});
  const overlay = el('img', {class: 'overlay',
    alt: `Anomaly heatmap of ${m.name} over the image, with the threshold contour`});
  const contour = el('canvas', {class: 'contour', 'aria-hidden': 'true'});
  const link = el('a', {href: overlayUrl, download: m.name.replace(/\.[^.]*$/, '') + '_overlay.png',
    text: 'Download overlay'});
  const card = el('article', {class: 'card result', 'aria-label': `Result for ${m.name}`},
    el('h3', {class: 'name', text: m.name}),
    el('div', {class: 'views'},
      el('figure', {}, queryImg, el('figcaption', {text: 'Image'})),
      el('figure', {}, heat, el('figcaption', {text: `Anomaly map (${g}×${g})`})),
      el('figure', {}, el('div', {class: 'stack'}, overlay, contour), el('figcaption', {text: 'Overlay and contour'}))),
    el('p', {class: 'meta'},
      el('span', {}, 'score ', el('strong', {class: 'score', text: m.image_score.toFixed(4)})), ' ',
      el('span', {class: 'verdict'}), ' ',
      el('span', {class: 'ms', text: fmtMs(m.ms)})),
    link);
  Object.assign(card.dataset, {name: m.name, score: String(m.image_score), ms: String(m.ms),
    forwards: String(m.forwards), index: String(index), grid: String(g)});
  drawHeatmap(heat, map, g);
  const c = {el: card, score: m.image_score, index, ms: m.ms, map, contour, up: null, w: 0, h: 0};
  // The contour canvas has the overlay's shape, at most 320 pixels on its long side.
  overlay.addEventListener('load', () => {
    const W = overlay.naturalWidth, H = overlay.naturalHeight, s = Math.min(1, 320 / Math.max(W, H));
    c.w = Math.max(1, Math.round(W * s));
    c.h = Math.max(1, Math.round(H * s));
    contour.width = c.w;
    contour.height = c.h;
    c.up = upsample(map, g, c.w, c.h);
    redrawContours();
  }, {once: true});
  overlay.src = overlayUrl;
  if (q) {
    if (!q.url) q.url = blobUrl(q.bytes, q.type);
    queryImg.src = q.url;
  } else queryImg.src = overlayUrl;
  applyVerdict(c, threshold());
  // Worst first: before the first card of a lower score (equal scores keep query order).
  const at = cards.findIndex(o => o.score < c.score || (o.score === c.score && o.index > c.index));
  if (at < 0) { cards.push(c); $('results').append(card); } else { cards[at].el.before(card); cards.splice(at, 0, c); }
  showSummary();
}

// Runs: the last run's normals and queries are kept for "re-score with this mask", its
// job for running it again on a new engine.
let lastRun = null;
let lastJob = null; // {job (without the backbone fields), queries}
let runTotal = 0;
let runStart = 0;
async function run(normals, queries, withAbnormal) {
  while (pending.size) await Promise.allSettled([...pending]);
  const job = {type: 'run', normals, queries: queries.map(q => ({name: q.name, bytes: q.bytes})), abnormals: [], masks: []};
  if (withAbnormal) {
    if (!paint.bits) throw new Error('the abnormal reference could not be read (see the mask panel)');
    job.abnormals = [paint.abnormal];
    job.masks = [paintedMask()];
  }
  lastRun = {normals, queries, withAbnormal};
  await startRun(job, queries);
}
async function startRun(job, queries) {
  lastJob = {job, queries};
  job = Object.assign({}, job, await backboneFields());
  document.body.dataset.runs = String(Number(document.body.dataset.runs || 0) + 1);
  clearResults();
  runQueries = queries.map(q => ({name: q.name, type: q.type || '', bytes: q.bytes, url: null, taken: false}));
  runTotal = queries.length;
  runStart = performance.now();
  showQueryProgress(0, runTotal);
  showBlocks(null, 0);
  $('warnings').textContent = '';
  setState('scoring', 'starting');
  engineStarting();
  worker.postMessage(job);
}
const guarded = (f) => async () => {
  if (document.body.dataset.state === 'scoring') return;
  try { await f(); } catch (e) { setState('error', 'error: ' + String(e && e.message || e)); }
};
$('run').addEventListener('click', guarded(async () => {
  setState('scoring', 'reading files');
  await run((await readAll($('normals'))).map(x => x.bytes), await readAll($('queries')), $('abnormal').files.length > 0);
}));
$('rescore').addEventListener('click', guarded(async () => {
  if (!lastRun) throw new Error('score once first (Score or Built-in sample)');
  await run(lastRun.normals, lastRun.queries, lastRun.withAbnormal);
}));
$('sample').addEventListener('click', guarded(async () => {
  setState('scoring', 'preparing sample');
  engineStarting();
  worker.postMessage({type: 'sample'});
}));
function onEngineMessage(ev) {
  const m = ev.data;
  if (m.backboneFailed) backboneKey = null; // nothing loaded: send the backbone again next time
  switch (m.type) {
  case 'engine':
    showEngine(m);
    return;
  case 'sample': {
    const s = m.sample;
    setPainting(s.abnormal.bytes, m.image, m.mask.bits);
    run(s.normals.map(x => x.bytes), s.queries.map(q => ({name: q.name, type: 'image/png', bytes: q.bytes})), true)
      .catch(e => setState('error', 'error: ' + e.message));
    break;
  }
  case 'decoded':
    decodeJobs.shift();
    if (m.error) $('paint-info').textContent = 'cannot read: ' + m.error;
    else {
      if (m.image) setPainting(m.abnormal, m.image, null);
      if (m.mask) setMaskBits(m.mask);
    }
    (decodeReplies.shift() || (() => {}))();
    break;
  case 'head':
    document.body.dataset.headMessages = String(Number(document.body.dataset.headMessages || 0) + 1);
    if (m.head) {
      headFile = m.head.demo ? null : headAsked;
      headLoaded(m.head, m.name);
    }
    if (m.error) headRefused(m.error);
    break;
  case 'progress':
    if (m.text) $('status').textContent = m.text;
    if (m.total) showQueryProgress(cards.length, runTotal || m.total);
    showBlocks(m.block, m.blocks);
    break;
  case 'warning':
    $('warnings').append(el('li', {text: 'warning: ' + m.text}));
    break;
  case 'result':
    showFallbacks(m.fallbacks);
    addResult(m);
    showQueryProgress(cards.length, Math.max(runTotal, cards.length));
    showBlocks(null, 0);
    break;
  case 'done':
    showQueryProgress(cards.length, Math.max(runTotal, cards.length));
    showBlocks(null, 0);
    setState('done', `done: ${cards.length} ${cards.length === 1 ? 'query' : 'queries'} scored in ${fmtMs(performance.now() - runStart)}`);
    break;
  case 'error':
    showBlocks(null, 0);
    setState('error', 'error: ' + m.text);
    break;
  }
  if (m.type !== 'engine' && m.type !== 'progress') engineAnswered();
}

// Starting the engine, and starting it again when the "use-gpu" box changes: the new
// pool has no session, so the page sends it what the old one held (the decodes not
// answered yet, the head file, the backbone with the next job) and, when results are
// shown, runs their job again on the new backend.
let engineMode = 'off';
function startEngine() {
  // ?webgpu=on: WebGPU on any adapter, a software one (SwiftShader) too, which 'auto' skips
  // as slower than the CPU engine.
  const force = new URLSearchParams(location.search).get('webgpu') === 'on';
  engineMode = $('use-gpu').checked ? (force ? 'on' : 'auto') : 'off';
  worker = new EnginePool({gpu: engineMode});
  worker.onmessage = onEngineMessage;
}
$('use-gpu').addEventListener('change', async () => {
  if (document.body.dataset.state === 'scoring') return; // the box is disabled then
  worker.terminate();
  startEngine();
  backboneKey = null;
  gpuFallbacks = new Set();
  showFallbacks([]);
  $('engine-reason').hidden = true;
  const e = $('engine-info');
  e.dataset.state = 'starting';
  e.dataset.backend = '';
  e.textContent = 'starting again ' + (engineMode === 'off' ? 'on the CPU' : 'on WebGPU when available');
  for (const j of decodeJobs) worker.postMessage(j);
  const rerun = lastJob && cards.length > 0;
  if (rerun) setState('scoring', 'starting the engine again');
  try {
    // A head being checked is sent again (null: the demo head, to end its 'loading').
    const loading = $('head-status').dataset.state === 'loading';
    if (loading || headFile) await sendHead(loading ? headAsked : headFile);
    if (rerun) await startRun(lastJob.job, lastJob.queries);
  } catch (err) { setState('error', 'error: ' + String(err && err.message || err)); }
});
startEngine();
