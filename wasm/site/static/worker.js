// Web Worker: runs the Go scoring engine (ideal.wasm) off the page's thread. The page
// talks to a pool of these (pool.js): worker 0, the leader, runs the method (its session
// keeps the backbone, the head and a cache of image features between messages); with
// more workers, the others follow: each holds the same backbone and computes its share
// of the token rows of every backbone pass the leader begins, through a
// SharedArrayBuffer (see wasm/main/team.go). On WebGPU ('gpu' message) the pool has
// the leader only: the passes run on the GPU.
// The engine's functions return promises (their work may wait for WebGPU); messages are
// handled one at a time, in order of arrival.
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
const errText = (e) => String(e && e.message || e);
// Progress inside a backbone pass: the engine calls this after each transformer block.
let progressText = '', progressDone = 0, progressTotal = 0;
self.idealOnBlock = (block, blocks) => {
  postMessage({type: 'progress', text: progressText, done: progressDone, total: progressTotal, block, blocks});
};
function progress(text, done, total) {
  progressText = text; progressDone = done || 0; progressTotal = total || 0;
  postMessage({type: 'progress', text, done, total});
}
let haveSession = false;
let headBytes = null; // the picked head file, applied again to each new backbone
// loadBackbone loads the backbone a message names: a file, the demo one, or a seeded
// random one of a given shape (a promise of the engine's reply).
function loadBackbone(job) {
  if (job.random) {
    const r = job.random;
    return self.idealInitRandom(r.width, r.depth, r.heads, r.size);
  }
  return job.backbone ? self.idealLoadBackbone(job.backbone, job.size) : self.idealInitDemo();
}
// ensureBackbone loads the backbone a message asks for (a file or the demo one), or the
// demo one when none is loaded yet, and puts the picked head on it.
async function ensureBackbone(job) {
  if (!job.backbone && !job.demo && !job.random && haveSession) return;
  progress('loading backbone');
  haveSession = false;
  const r = await loadBackbone(job);
  if (r.error) {
    const e = new Error(r.error);
    e.backboneFailed = true;
    throw e;
  }
  haveSession = true;
  if (!headBytes) return;
  const h = await self.idealLoadHead(headBytes);
  if (h.error) {
    headBytes = null;
    postMessage({type: 'head', head: check(await self.idealLoadHead(null)), error: h.error + ' (back to the demo head)'});
  }
}
let teamWarned = false;
function teamWarning(r) {
  if (r.team_error && !teamWarned) {
    teamWarned = true;
    postMessage({type: 'warning', text: 'the workers stopped sharing passes (' + r.team_error + '): running on one worker'});
  }
}
// Messages of the pool itself: the backend, joining the team, a follower's backbone
// and loop, timing.
async function poolJob(job) {
  switch (job.type) {
  case 'gpu': { // pick WebGPU or the CPU (job.mode: auto, on, off) for the sessions to come
    const r = await self.idealUseGPU(job.mode);
    haveSession = false; // a change of backend drops the session
    postMessage(Object.assign({type: 'gpu'}, r));
    return true;
  }
  case 'team': // join the pool's team, or (sab null) leave it
    check(await self.idealTeam(job.sab || null, job.rank, job.members));
    postMessage(Object.assign({type: 'engine'}, check(await self.idealEngine())));
    return true;
  case 'backbone':
    try {
      check(await loadBackbone(job));
      haveSession = true;
      postMessage({type: 'backbone'});
    } catch (e) { postMessage({type: 'backbone', error: errText(e)}); }
    return true;
  case 'follow': {
    const r = await self.idealFollow(job.since);
    postMessage({type: 'followed', error: r.error});
    return true;
  }
  case 'bench':
    try {
      await ensureBackbone(job);
      progress('timing backbone passes (1 warm-up)');
      check(await self.idealBench(1));
      const r = check(await self.idealBench(job.runs || 3));
      teamWarning(r);
      postMessage({type: 'bench', ms: r.ms, team_error: r.team_error});
    } catch (e) { postMessage({type: 'error', text: errText(e)}); }
    return true;
  }
  return false;
}
let queue = Promise.resolve();
self.onmessage = (ev) => { queue = queue.then(() => handle(ev.data)); };
async function handle(job) {
  try {
    await start();
  } catch (e) {
    postMessage({type: 'error', text: 'cannot start the engine: ' + e});
    return;
  }
  if (await poolJob(job)) return;
  switch (job.type) {
  case 'sample': {
    try {
      const s = await self.idealSample();
      postMessage({type: 'sample', sample: s, image: check(await self.idealDecodeImage(s.abnormal.bytes)),
        mask: check(await self.idealDecodeMask(s.mask.bytes))});
    } catch (e) { postMessage({type: 'error', text: errText(e)}); }
    return;
  }
  case 'decode': {
    const out = {type: 'decoded'};
    try {
      if (job.image) { out.image = check(await self.idealDecodeImage(job.image)); out.abnormal = job.image; }
      if (job.mask) out.mask = check(await self.idealDecodeMask(job.mask));
    } catch (e) { out.error = errText(e); }
    postMessage(out);
    return;
  }
  case 'head': {
    try {
      await ensureBackbone(job);
      const h = check(await self.idealLoadHead(job.bytes));
      headBytes = job.bytes;
      postMessage({type: 'head', name: job.name, head: h});
    } catch (e) { postMessage({type: 'head', error: errText(e), backboneFailed: !!e.backboneFailed}); }
    return;
  }
  case 'run':
    break;
  default:
    return;
  }
  try {
    await ensureBackbone(job);
    progress('computing reference features');
    const refs = check(await self.idealSetReferences(job.normals, job.abnormals, job.masks));
    for (const w of refs.warnings || []) postMessage({type: 'warning', text: w});
    for (let i = 0; i < job.queries.length; i++) {
      const q = job.queries[i];
      progress(`scoring ${q.name} (${i + 1}/${job.queries.length})`, i, job.queries.length);
      const t0 = performance.now();
      const r = check(await self.idealScore(q.bytes));
      teamWarning(r);
      postMessage({type: 'result', name: q.name, image_score: r.image_score, grid: r.grid,
        map: r.map, overlay: r.overlay, forwards: r.forwards, fallbacks: r.fallbacks, ms: performance.now() - t0});
    }
    postMessage({type: 'done'});
  } catch (e) {
    postMessage({type: 'error', text: errText(e), backboneFailed: !!e.backboneFailed});
  }
}
