// Web Worker: runs the Go scoring engine (ideal.wasm) off the page's thread. The page
// talks to a pool of these (pool.js): worker 0, the leader, runs the method (its session
// keeps the backbone, the head and a cache of image features between messages); with
// more workers, the others follow: each holds the same backbone and computes its share
// of the token rows of every backbone pass the leader begins, through a
// SharedArrayBuffer (see wasm/main/team.go).
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
// random one of a given shape.
function loadBackbone(job) {
  if (job.random) {
    const r = job.random;
    return self.idealInitRandom(r.width, r.depth, r.heads, r.size);
  }
  return job.backbone ? self.idealLoadBackbone(job.backbone, job.size) : self.idealInitDemo();
}
// ensureBackbone loads the backbone a message asks for (a file or the demo one), or the
// demo one when none is loaded yet, and puts the picked head on it.
function ensureBackbone(job) {
  if (!job.backbone && !job.demo && !job.random && haveSession) return;
  progress('loading backbone');
  haveSession = false;
  const r = loadBackbone(job);
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
let teamWarned = false;
function teamWarning(r) {
  if (r.team_error && !teamWarned) {
    teamWarned = true;
    postMessage({type: 'warning', text: 'the workers stopped sharing passes (' + r.team_error + '): running on one worker'});
  }
}
// Messages of the pool itself: joining the team, a follower's backbone and loop.
function poolJob(job) {
  switch (job.type) {
  case 'team': // join the pool's team, or (sab null) leave it
    check(self.idealTeam(job.sab || null, job.rank, job.members));
    postMessage(Object.assign({type: 'engine'}, check(self.idealEngine())));
    return true;
  case 'backbone':
    try {
      check(loadBackbone(job));
      haveSession = true;
      postMessage({type: 'backbone'});
    } catch (e) { postMessage({type: 'backbone', error: errText(e)}); }
    return true;
  case 'follow': {
    const r = self.idealFollow(job.since);
    postMessage({type: 'followed', error: r.error});
    return true;
  }
  case 'bench':
    try {
      ensureBackbone(job);
      progress('timing backbone passes (1 warm-up)');
      check(self.idealBench(1));
      const r = check(self.idealBench(job.runs || 3));
      teamWarning(r);
      postMessage({type: 'bench', ms: r.ms, team_error: r.team_error});
    } catch (e) { postMessage({type: 'error', text: errText(e)}); }
    return true;
  }
  return false;
}
self.onmessage = async (ev) => {
  const job = ev.data;
  try {
    await start();
  } catch (e) {
    postMessage({type: 'error', text: 'cannot start the engine: ' + e});
    return;
  }
  if (poolJob(job)) return;
  switch (job.type) {
  case 'sample': {
    try {
      const s = self.idealSample();
      postMessage({type: 'sample', sample: s, image: check(self.idealDecodeImage(s.abnormal.bytes)),
        mask: check(self.idealDecodeMask(s.mask.bytes))});
    } catch (e) { postMessage({type: 'error', text: errText(e)}); }
    return;
  }
  case 'decode': {
    const out = {type: 'decoded'};
    try {
      if (job.image) { out.image = check(self.idealDecodeImage(job.image)); out.abnormal = job.image; }
      if (job.mask) out.mask = check(self.idealDecodeMask(job.mask));
    } catch (e) { out.error = errText(e); }
    postMessage(out);
    return;
  }
  case 'head': {
    try {
      ensureBackbone(job);
      const h = check(self.idealLoadHead(job.bytes));
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
    ensureBackbone(job);
    progress('computing reference features');
    const refs = check(self.idealSetReferences(job.normals, job.abnormals, job.masks));
    for (const w of refs.warnings || []) postMessage({type: 'warning', text: w});
    for (let i = 0; i < job.queries.length; i++) {
      const q = job.queries[i];
      progress(`scoring ${q.name} (${i + 1}/${job.queries.length})`, i, job.queries.length);
      const t0 = performance.now();
      const r = check(self.idealScore(q.bytes));
      teamWarning(r);
      postMessage({type: 'result', name: q.name, image_score: r.image_score, grid: r.grid,
        map: r.map, overlay: r.overlay, forwards: r.forwards, ms: performance.now() - t0});
    }
    postMessage({type: 'done'});
  } catch (e) {
    postMessage({type: 'error', text: errText(e), backboneFailed: !!e.backboneFailed});
  }
};
