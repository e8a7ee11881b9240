// Runs the Go test binary test.wasm with the arguments and the working directory in
// config.json ({args, cwd}; with a cwd, fs.js gives the program the harness's
// read-only file system), and posts its output ({out}) and its end ({done, exit} or
// {done, error}) to the page.
'use strict';

importScripts('wasm_exec.js', 'fs.js');

(() => {
	// wasm_exec.js defines globalThis.fs when there is none: a stub whose writeSync
	// prints lines with console.log. Send the bytes to the page instead, stdout and
	// stderr in the order written, as a terminal would show them.
	const decoders = new Map();
	const decoder = (fd) => {
		if (!decoders.has(fd)) {
			decoders.set(fd, new TextDecoder('utf-8'));
		}
		return decoders.get(fd);
	};
	globalThis.fs.writeSync = (fd, buf) => {
		const s = decoder(fd).decode(buf, { stream: true });
		if (s) {
			postMessage({ out: s });
		}
		return buf.length;
	};
	const flush = () => {
		for (const d of decoders.values()) {
			const s = d.decode();
			if (s) {
				postMessage({ out: s });
			}
		}
	};

	const run = async () => {
		const resp = await fetch('config.json');
		if (!resp.ok) {
			throw new Error(`fetching config.json: ${resp.status} ${resp.statusText}`);
		}
		const config = await resp.json();
		if (config.cwd) {
			__wasmbrowserInstallFS(config.cwd);
		}
		const go = new Go();
		go.argv = ['test.wasm'].concat(config.args);
		go.env = { HOME: '/', TMPDIR: '/tmp' };
		if (config.cwd) {
			go.env.PWD = config.cwd;
		}
		let code = null;
		go.exit = (c) => { code = c; };
		const wasm = await fetch('test.wasm');
		if (!wasm.ok) {
			throw new Error(`fetching test.wasm: ${wasm.status} ${wasm.statusText}`);
		}
		const { instance } = await WebAssembly.instantiateStreaming(wasm, go.importObject);
		await go.run(instance);
		flush();
		if (code === null) {
			throw new Error('the Go program returned without calling exit');
		}
		return code;
	};

	run().then(
		(code) => postMessage({ done: true, exit: code }),
		(e) => {
			flush();
			postMessage({ done: true, error: String((e && e.stack) || e) });
		});
})();
