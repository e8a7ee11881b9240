// Web Worker: runs the Go scoring engine (ideal.wasm) off the page's thread. The engine's
// session keeps the backbone, the head and a cache of image features between messages.
importScripts('wasm_exec.js');
const go = new Go();
let ready = null;
function start() {
  if (!ready) {
    ready = new Promise((resolve, reject) => {
      WebAssembly.instantiateStreaming(fetch('ideal.wasm'), go.importObject)
        .then(r => { go.run(r.instance); resolve(); }, reject);
    });
  }
  return ready;
}
function check(r) {
  if (r && r.error) throw new Error(r.error);
  return r;
}
let haveSession = false;
let headBytes = null; // the picked head file, applied again to each new backbone
// ensureBackbone loads the backbone a message asks for (a file or the demo one), or the
// demo one when none is loaded yet, and puts the picked head on it.
function ensureBackbone(job) {
  if (!job.backbone && !job.demo && haveSession) return;
  postMessage({type: 'progress', text: 'loading backbone'});
  haveSession = false;
  const r = job.backbone ? self.idealLoadBackbone(job.backbone, job.size) : self.idealInitDemo();
  if (r.error) {
    const e = new Error(r.error);
    e.backboneFailed = true;
    throw e;
  }
  haveSession = true;
  if (!headBytes) return;
  const h = self.idealLoadHead(headBytes);
  if (h.error) {
    headBytes = null;
    postMessage({type: 'head', head: check(self.idealLoadHead(null)), error: h.error + ' (back to the demo head)'});
  }
}
self.onmessage = async (ev) => {
  const job = ev.data;
  try {
    await start();
  } catch (e) {
    postMessage({type: 'error', text: 'cannot start the engine: ' + e});
    return;
  }
  switch (job.type) {
  case 'sample': {
    try {
      const s = self.idealSample();
      postMessage({type: 'sample', sample: s, image: check(self.idealDecodeImage(s.abnormal.bytes)),
        mask: check(self.idealDecodeMask(s.mask.bytes))});
    } catch (e) { postMessage({type: 'error', text: String(e && e.message || e)}); }
    return;
  }
  case 'decode': {
    const out = {type: 'decoded'};
    try {
      if (job.image) { out.image = check(self.idealDecodeImage(job.image)); out.abnormal = job.image; }
      if (job.mask) out.mask = check(self.idealDecodeMask(job.mask));
    } catch (e) { out.error = String(e && e.message || e); }
    postMessage(out);
    return;
  }
  case 'head': {
    try {
      ensureBackbone(job);
      const h = check(self.idealLoadHead(job.bytes));
      headBytes = job.bytes;
      postMessage({type: 'head', name: job.name, head: h});
    } catch (e) { postMessage({type: 'head', error: String(e && e.message || e), backboneFailed: !!e.backboneFailed}); }
    return;
  }
  case 'run':
    break;
  default:
    return;
  }
  try {
    ensureBackbone(job);
    postMessage({type: 'progress', text: 'computing reference features'});
    const refs = check(self.idealSetReferences(job.normals, job.abnormals, job.masks));
    for (const w of refs.warnings || []) postMessage({type: 'warning', text: w});
    for (let i = 0; i < job.queries.length; i++) {
      const q = job.queries[i];
      postMessage({type: 'progress', text: `scoring ${q.name} (${i + 1}/${job.queries.length})`, done: i, total: job.queries.length});
      const t0 = performance.now();
      const r = check(self.idealScore(q.bytes));
      postMessage({type: 'result', name: q.name, image_score: r.image_score, grid: r.grid,
        map: r.map, overlay: r.overlay, forwards: r.forwards, ms: performance.now() - t0});
    }
    postMessage({type: 'done'});
  } catch (e) {
    postMessage({type: 'error', text: String(e && e.message || e), backboneFailed: !!e.backboneFailed});
  }
};
