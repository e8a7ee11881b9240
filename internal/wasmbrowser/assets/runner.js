// Starts worker.js, which runs the Go test binary, and keeps what it reports until
// the harness takes it with __wasmbrowserTake().
'use strict';

(() => {
	const state = { out: [], done: false, exit: null, error: null };
	const fail = (msg) => {
		if (!state.done) {
			state.error = msg;
			state.done = true;
		}
	};

	// __wasmbrowserTake returns the output written since the last call and, once the
	// program has ended, its exit code or the error that ended it.
	globalThis.__wasmbrowserTake = () => {
		const out = state.out.join('');
		state.out = [];
		return { out: out, done: state.done, exit: state.exit, error: state.error || '' };
	};

	window.addEventListener('error', (e) => fail(`page: ${e.message} (${e.filename}:${e.lineno})`));
	window.addEventListener('unhandledrejection', (e) => fail(`page: unhandled rejection: ${e.reason}`));

	let worker;
	try {
		worker = new Worker('worker.js');
	} catch (e) {
		fail(`page: starting the worker: ${e}`);
		return;
	}
	worker.onmessage = (e) => {
		const m = e.data;
		if (m.out) {
			state.out.push(m.out);
		}
		if (m.done && !state.done) {
			state.exit = m.exit;
			state.error = m.error || null;
			state.done = true;
			worker.terminate();
		}
	};
	worker.onerror = (e) => {
		e.preventDefault();
		fail(`worker: ${e.message || 'error'} (${e.filename || 'worker.js'}:${e.lineno || 0})`);
	};
	worker.onmessageerror = () => fail('worker: a message could not be decoded');
})();
