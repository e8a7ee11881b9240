// Page logic: collects the inputs, sends them to the worker, shows the results, and lets
// the user paint the abnormal reference's defect mask. All computing happens in the worker.
const $ = (id) => document.getElementById(id);
const worker = new Worker('worker.js');
let count = 0;
$('counter').addEventListener('click', () => {
  count++;
  $('count').textContent = count;
  // Lets a test check that the click was handled while a query was being scored.
  document.body.dataset.clickedWhile = $('status').textContent;
});
function setState(s, text) {
  document.body.dataset.state = s;
  $('status').textContent = text || s;
}
setState('idle');
const readFile = (f) => f.arrayBuffer().then(b => new Uint8Array(b));
async function readAll(input) {
  return Promise.all(Array.from(input.files).map(async f => ({name: f.name, bytes: await readFile(f)})));
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
async function sendHead(file) {
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
function decode(job) {
  return new Promise(resolve => { decodeReplies.push(resolve); worker.postMessage(Object.assign({type: 'decode'}, job)); });
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

// Runs: the last run's normals and queries are kept for "re-score with this mask".
let lastRun = null;
async function run(normals, queries, withAbnormal) {
  while (pending.size) await Promise.allSettled([...pending]);
  const job = Object.assign({type: 'run', normals, queries, abnormals: [], masks: []}, await backboneFields());
  if (withAbnormal) {
    if (!paint.bits) throw new Error('the abnormal reference could not be read (see the mask panel)');
    job.abnormals = [paint.abnormal];
    job.masks = [paintedMask()];
  }
  lastRun = {normals, queries, withAbnormal};
  document.body.dataset.runs = String(Number(document.body.dataset.runs || 0) + 1);
  $('results').textContent = '';
  $('warnings').textContent = '';
  setState('scoring', 'starting');
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
  worker.postMessage({type: 'sample'});
}));
worker.onmessage = (ev) => {
  const m = ev.data;
  if (m.backboneFailed) backboneKey = null; // nothing loaded: send the backbone again next time
  switch (m.type) {
  case 'sample': {
    const s = m.sample;
    setPainting(s.abnormal.bytes, m.image, m.mask.bits);
    run(s.normals.map(x => x.bytes), s.queries, true).catch(e => setState('error', 'error: ' + e.message));
    break;
  }
  case 'decoded':
    if (m.error) $('paint-info').textContent = 'cannot read: ' + m.error;
    else {
      if (m.image) setPainting(m.abnormal, m.image, null);
      if (m.mask) setMaskBits(m.mask);
    }
    (decodeReplies.shift() || (() => {}))();
    break;
  case 'head':
    document.body.dataset.headMessages = String(Number(document.body.dataset.headMessages || 0) + 1);
    if (m.head) headLoaded(m.head, m.name);
    if (m.error) headRefused(m.error);
    break;
  case 'progress':
    $('status').textContent = m.text;
    if (m.total) { $('progress').max = m.total; $('progress').value = m.done; }
    break;
  case 'warning': {
    const li = document.createElement('li');
    li.textContent = 'warning: ' + m.text;
    $('warnings').appendChild(li);
    break;
  }
  case 'result': {
    const url = URL.createObjectURL(new Blob([m.overlay], {type: 'image/png'}));
    const bad = m.image_score >= Number($('threshold').value);
    const card = document.createElement('div');
    card.className = 'card result';
    card.dataset.name = m.name;
    card.dataset.score = String(m.image_score);
    card.dataset.ms = String(m.ms);
    card.dataset.forwards = String(m.forwards);
    card.innerHTML = '<img alt="overlay"><div class="name"></div>' +
      `<div>score <span class="score"></span> <span class="verdict ${bad ? 'anomalous' : 'normal'}">${bad ? 'ANOMALOUS' : 'normal'}</span></div>` +
      `<a download>download overlay</a>`;
    card.querySelector('img').src = url;
    card.querySelector('.name').textContent = m.name;
    card.querySelector('.score').textContent = m.image_score.toFixed(4);
    const a = card.querySelector('a');
    a.href = url;
    a.download = m.name.replace(/\.[^.]*$/, '') + '_overlay.png';
    $('results').appendChild(card);
    break;
  }
  case 'done':
    $('progress').value = $('progress').max;
    setState('done');
    break;
  case 'error':
    setState('error', 'error: ' + m.text);
    break;
  }
};
