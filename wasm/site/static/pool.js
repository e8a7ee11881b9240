// EnginePool: the page's handle on the scoring engine, a pool of Web Workers
// (worker.js). Interface:
//   const engine = new EnginePool({workers: n, gpu: mode});  // n optional: default
//       min(navigator.hardwareConcurrency, 4) when the page is cross-origin isolated
//       (SharedArrayBuffer available), else 1. mode: 'auto' (WebGPU when the browser
//       has an adapter, else the CPU), 'on' (WebGPU or every job fails) or 'off' (the
//       default: the CPU)
//   engine.onmessage = (ev) => { ev.data ... };   // the leader worker's messages (see
//       worker.js), plus {type: 'engine', backend, simd, workers, isolated, gpu,
//       gpu_reason} once started
//   engine.postMessage(job);                       // jobs: sample, decode, head, run, bench
//   engine.terminate();                            // stops every worker
//
// On WebGPU the pool has one worker: the passes run on the GPU, and more workers would
// only hold more copies of the model.
//
// Design: every worker runs its own copy of the engine (a Go WebAssembly instance is one
// thread and cannot share its memory). Worker 0, the leader, runs each job; the others
// follow: they hold the same backbone and compute their share of the token rows of every
// backbone pass, exchanging K and V once per transformer block through one
// SharedArrayBuffer. So one query's latency drops with the number of cores. Jobs run one
// at a time, in order; the followers are stopped and given the new backbone whenever a
// job changes it.
// Each worker holds its own copy of the model (about 300 MB of WebAssembly memory for
// ViT-S/14 at 448 px, measured), so the pool stops at 4 workers.
const POOL_MAX_WORKERS = 4;
const POOL_SHARED_BYTES = 256 << 20; // pixels + two gathers: ViT-L at 896 px fits
const POOL_CTL_GEN = 0, POOL_CTL_JOB = 2, POOL_CTL_STOP = 3, POOL_CTL_ABORT = 5; // control words (wasm/main/team.go)
const POOL_DONE = new Set(['sample', 'decoded', 'head', 'done', 'error', 'bench']);

class EnginePool {
  constructor(opts = {}) {
    this.onmessage = null;
    this.isolated = self.crossOriginIsolated === true && typeof SharedArrayBuffer !== 'undefined';
    this.queue = [];
    this.busy = true; // until started
    this.failed = ''; // why every job fails (WebGPU asked for and unavailable)
    this.followerKey = null; // the backbone the followers hold
    this.loops = []; // per follower: its 'followed' reply, when its loop ends
    this.gpuReply = null; // resolver of the leader's 'gpu' reply
    this.workers = [this.spawn(0)];
    this.replies = [[]];
    this.start(opts).then(() => { this.busy = false; this.pump(); });
  }

  spawn(i) {
    const w = new Worker('worker.js');
    w.onmessage = i === 0 ? (ev) => this.fromLeader(ev) : (ev) => this.fromFollower(i, ev);
    w.onerror = i === 0 ? (ev) => this.leaderFailed(ev) : (ev) => this.followerFailed(i, ev);
    return w;
  }

  // start picks the backend on the leader, then starts the followers (none on WebGPU)
  // and forms the team.
  async start(opts) {
    const mode = opts.gpu || 'off';
    let gpu = false;
    if (mode !== 'off') {
      const r = await new Promise(resolve => {
        this.gpuReply = resolve;
        this.workers[0].postMessage({type: 'gpu', mode});
      });
      if (r.error) this.failed = r.error.startsWith('the engine') ? r.error : 'WebGPU: ' + r.error;
      gpu = r.gpu === true;
    }
    let n = opts.workers || Math.min(navigator.hardwareConcurrency || 1, POOL_MAX_WORKERS);
    if (!this.isolated || gpu || this.failed) n = 1;
    for (let i = 1; i < n; i++) { this.workers.push(this.spawn(i)); this.replies.push([]); }
    this.sab = n > 1 ? new SharedArrayBuffer(POOL_SHARED_BYTES) : null;
    this.ctl = this.sab ? new Int32Array(this.sab, 0, 16) : null;
    this.workers.forEach((w, i) => w.postMessage({type: 'team', sab: this.sab, rank: i, members: n}));
  }

  terminate() {
    for (const w of this.workers) w.terminate();
    this.workers = [];
    this.queue = [];
    this.onmessage = null;
  }

  get size() { return this.workers.length; }

  postMessage(job) {
    this.queue.push(job);
    this.pump();
  }

  emit(data) { if (this.onmessage) this.onmessage({data}); }

  fromLeader(ev) {
    const m = ev.data;
    if (m.type === 'gpu' && this.gpuReply) {
      this.gpuReply(m);
      this.gpuReply = null;
      return;
    }
    if (m.type === 'engine') Object.assign(m, {workers: this.size, isolated: this.isolated});
    if (m.type === 'bench') Object.assign(m, {workers: this.size, backend: this.backend});
    if (m.type === 'engine') this.backend = m.backend;
    this.emit(m);
    if (POOL_DONE.has(m.type) && this.busy) {
      this.busy = false;
      this.pump();
    }
  }

  fromFollower(i, ev) {
    const m = ev.data;
    const r = this.replies[i].shift();
    if (r) r(m);
    if (m.type === 'followed' && m.error) { // the team aborted: it cannot be used again
      this.emit({type: 'warning', text: `worker ${i}: ${m.error}: running on one worker`});
      this.dropFollowers();
    }
  }

  // leaderFailed: the engine itself failed (e.g. out of memory): the job in progress
  // ends with an error instead of never.
  leaderFailed(ev) {
    ev.preventDefault();
    const why = 'the engine worker failed: ' + (ev.message || 'unknown error');
    if (this.gpuReply) { // still starting: every job will fail with this
      this.gpuReply({error: why});
      this.gpuReply = null;
      return;
    }
    this.emit({type: 'error', text: why});
    this.busy = false;
    this.pump();
  }

  // followerFailed: a follower failed: the others stop waiting for it (the leader ends
  // the pass under way alone, and says so) and the pool goes on with the leader only.
  followerFailed(i, ev) {
    ev.preventDefault();
    if (this.workers.length < 2) return;
    this.abortTeam();
    const why = `worker ${i} failed (${ev.message || 'unknown error'})`;
    for (const rs of this.replies) for (const r of rs.splice(0)) r({type: 'failed', error: why});
    this.emit({type: 'warning', text: why + ': running on one worker'});
    this.dropFollowers();
  }

  reply(i) {
    return new Promise(resolve => this.replies[i].push(m => resolve(m)));
  }

  async pump() {
    if (this.busy || this.queue.length === 0) return;
    const job = this.queue.shift();
    if (this.failed) {
      this.emit({type: 'error', text: this.failed});
      this.pump();
      return;
    }
    this.busy = true;
    try {
      if (this.size > 1 && ['run', 'head', 'bench'].includes(job.type)) await this.followers(job);
    } catch (e) {
      if (this.size > 1) {
        this.emit({type: 'warning', text: 'the other workers could not load the backbone (' + e.message + '): running on one worker'});
        this.dropFollowers();
      }
    }
    this.workers[0].postMessage(job);
  }

  // followers gives the followers the backbone of job when it changes theirs, and
  // starts their loop.
  async followers(job) {
    let key = this.followerKey, fields = null;
    if (job.random) { key = 'random:' + JSON.stringify(job.random); fields = {random: job.random}; }
    else if (job.backbone) { key = job.backbone; fields = {backbone: job.backbone, size: job.size}; }
    else if (job.demo || key === null) { key = 'demo'; fields = {demo: true}; }
    if (key === this.followerKey) return;
    const rest = this.workers.slice(1);
    if (this.loops.length) { // stop their loops
      Atomics.add(this.ctl, POOL_CTL_STOP, 1);
      Atomics.notify(this.ctl, POOL_CTL_JOB);
      await Promise.all(this.loops);
      this.loops = [];
      if (this.size < 2) return; // one failed meanwhile
    }
    this.followerKey = null;
    const loaded = await Promise.all(rest.map((w, j) => {
      const p = this.reply(j + 1);
      w.postMessage(Object.assign({type: 'backbone'}, fields));
      return p;
    }));
    if (this.size < 2) return;
    const bad = loaded.find(m => m.error);
    if (bad) throw new Error(bad.error);
    this.followerKey = key;
    const since = Atomics.load(this.ctl, POOL_CTL_JOB);
    this.loops = rest.map((w, j) => {
      const p = this.reply(j + 1);
      w.postMessage({type: 'follow', since});
      return p;
    });
  }

  // abortTeam tells every member to stop waiting for the others, for good (a pass
  // under way ends on the leader alone).
  abortTeam() {
    Atomics.store(this.ctl, POOL_CTL_ABORT, 1);
    Atomics.notify(this.ctl, POOL_CTL_GEN);
    Atomics.notify(this.ctl, POOL_CTL_JOB);
  }

  // dropFollowers makes the leader work alone from now on.
  dropFollowers() {
    if (this.workers.length < 2) return;
    this.abortTeam();
    for (const w of this.workers.slice(1)) w.terminate();
    this.workers = this.workers.slice(0, 1);
    this.loops = [];
    this.workers[0].postMessage({type: 'team', sab: null, rank: 0, members: 1});
  }
}
