// Web Worker: runs the Go scoring engine (ideal.wasm) off the page's thread.
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
let haveDemo = false;
self.onmessage = async (ev) => {
  const job = ev.data;
  try {
    await start();
    if (job.type === 'sample') {
      postMessage({type: 'sample', sample: self.idealSample()});
      return;
    }
    if (job.type !== 'run') return;
    postMessage({type: 'progress', text: 'loading backbone'});
    if (job.backbone) {
      check(self.idealLoadBackbone(new Uint8Array(job.backbone), job.size));
      haveDemo = false;
    } else if (!haveDemo) {
      check(self.idealInitDemo());
      haveDemo = true;
    }
    postMessage({type: 'progress', text: 'computing reference features'});
    const refs = check(self.idealSetReferences(job.normals, job.abnormals, job.masks));
    for (const w of refs.warnings || []) postMessage({type: 'warning', text: w});
    for (let i = 0; i < job.queries.length; i++) {
      const q = job.queries[i];
      postMessage({type: 'progress', text: `scoring ${q.name} (${i + 1}/${job.queries.length})`, done: i, total: job.queries.length});
      const t0 = performance.now();
      const r = check(self.idealScore(q.bytes));
      postMessage({type: 'result', name: q.name, image_score: r.image_score, grid: r.grid,
        map: r.map, overlay: r.overlay, ms: performance.now() - t0});
    }
    postMessage({type: 'done'});
  } catch (e) {
    postMessage({type: 'error', text: String(e && e.message || e)});
  }
};
