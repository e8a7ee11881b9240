// Page logic: collects the inputs, sends them to the worker, shows the results.
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
function run(job) {
  $('results').textContent = '';
  $('warnings').textContent = '';
  setState('scoring', 'starting');
  worker.postMessage(Object.assign({type: 'run'}, job));
}
$('run').addEventListener('click', async () => {
  setState('scoring', 'reading files');
  try {
    const ab = $('abnormal').files.length ? [await readFile($('abnormal').files[0])] : [];
    const mk = $('mask').files.length ? [await readFile($('mask').files[0])] : [];
    const job = {
      normals: (await readAll($('normals'))).map(x => x.bytes), abnormals: ab, masks: mk,
      queries: await readAll($('queries')), size: Number($('size').value),
    };
    if ($('backbone').files.length) job.backbone = await $('backbone').files[0].arrayBuffer();
    run(job);
  } catch (e) { setState('error', String(e)); }
});
$('sample').addEventListener('click', () => { setState('scoring', 'preparing sample'); worker.postMessage({type: 'sample'}); });
worker.onmessage = (ev) => {
  const m = ev.data;
  switch (m.type) {
  case 'sample': {
    const s = m.sample;
    run({normals: s.normals.map(x => x.bytes), abnormals: [s.abnormal.bytes], masks: [s.mask.bytes], queries: s.queries});
    break;
  }
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
    card.innerHTML = `<img alt="overlay"><div>${m.name}</div>` +
      `<div>score <span class="score"></span> <span class="verdict ${bad ? 'anomalous' : 'normal'}">${bad ? 'ANOMALOUS' : 'normal'}</span></div>` +
      `<a download>download overlay</a>`;
    card.querySelector('img').src = url;
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
