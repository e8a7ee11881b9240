// A read-only file system for the Go program, installed by worker.js when the
// harness serves one: it turns wasm_exec.js's stub globalThis.fs into the part of
// Node's callback API that Go's syscall/fs_js.go calls for reading (open, stat,
// fstat, lstat, read, close, readdir), answered by the harness's loopback server
// (/fs/stat and /fs/read) through synchronous XMLHttpRequest, which workers allow.
// Opening for writing fails with EROFS; the stub's other calls (mkdir, unlink, ...)
// still fail with ENOSYS, and its writes to stdout and stderr are kept.
'use strict';

globalThis.__wasmbrowserInstallFS = (cwd) => {
	const fs = globalThis.fs;
	const error = (code) => {
		const e = new Error(code);
		e.code = code;
		return e;
	};
	// Node's values on Linux; syscall/fs_js.go reads them when the program starts.
	fs.constants = { O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_CREAT: 64, O_EXCL: 128, O_TRUNC: 512, O_APPEND: 1024, O_DIRECTORY: 65536 };
	const C = fs.constants;
	const writing = C.O_WRONLY | C.O_RDWR | C.O_CREAT | C.O_EXCL | C.O_TRUNC | C.O_APPEND;
	const chunk = 1 << 20; // the least a read fetches, kept for the next reads

	// resolve makes p absolute against cwd and removes its '.' and '..' elements.
	const resolve = (p) => {
		const parts = [];
		for (const part of (p.startsWith('/') ? p : `${cwd}/${p}`).split('/')) {
			if (part === '..') {
				parts.pop();
			} else if (part !== '' && part !== '.') {
				parts.push(part);
			}
		}
		return '/' + parts.join('/');
	};
	const request = (route, path, responseType, range) => {
		const xhr = new XMLHttpRequest();
		xhr.open('GET', `${route}?path=${encodeURIComponent(path)}`, false);
		xhr.responseType = responseType;
		if (range) {
			xhr.setRequestHeader('Range', `bytes=${range[0]}-${range[1] - 1}`);
		}
		xhr.send();
		return xhr;
	};
	// statPath returns the server's stat reply for an absolute path: {code} or
	// {mode, size, mtimeMs, entries}.
	const statPath = (path) => {
		try {
			const xhr = request('fs/stat', path, 'text');
			return xhr.status === 200 ? JSON.parse(xhr.responseText) : { code: 'EIO' };
		} catch (e) {
			return { code: 'EIO' };
		}
	};
	const isDir = (s) => (s.mode & 0o170000) === 0o040000;
	const inodes = new Map();
	const statObject = (path, s) => {
		if (!inodes.has(path)) {
			inodes.set(path, inodes.size + 1);
		}
		return {
			dev: 1, ino: inodes.get(path), mode: s.mode, nlink: 1, uid: 0, gid: 0, rdev: 0,
			size: s.size, blksize: 4096, blocks: Math.ceil(s.size / 512),
			atimeMs: s.mtimeMs, mtimeMs: s.mtimeMs, ctimeMs: s.mtimeMs,
			isDirectory() { return isDir(s); },
			isFile() { return !isDir(s); },
			isSymbolicLink() { return false; },
		};
	};

	const files = new Map(); // fd -> {path, stat, pos, cache: {start, bytes}}
	let nextFD = 100;
	const stub = { close: fs.close, fstat: fs.fstat, read: fs.read, write: fs.write };

	const stat = (path, callback) => {
		const abs = resolve(path);
		const s = statPath(abs);
		s.code ? callback(error(s.code)) : callback(null, statObject(abs, s));
	};
	fs.stat = stat;
	fs.lstat = stat; // symbolic links inside the tree are followed
	fs.open = (path, flags, mode, callback) => {
		if (flags & writing) {
			callback(error('EROFS'));
			return;
		}
		const abs = resolve(path);
		const s = statPath(abs);
		if (s.code) {
			callback(error(s.code));
		} else if ((flags & C.O_DIRECTORY) && !isDir(s)) {
			callback(error('ENOTDIR'));
		} else {
			const fd = nextFD++;
			files.set(fd, { path: abs, stat: s, pos: 0, cache: null });
			callback(null, fd);
		}
	};
	fs.fstat = (fd, callback) => {
		const f = files.get(fd);
		f ? callback(null, statObject(f.path, f.stat)) : stub.fstat.call(fs, fd, callback);
	};
	fs.close = (fd, callback) => {
		files.delete(fd) ? callback(null) : stub.close.call(fs, fd, callback);
	};
	fs.readdir = (path, callback) => {
		const s = statPath(resolve(path));
		if (s.code) {
			callback(error(s.code));
		} else if (!isDir(s)) {
			callback(error('ENOTDIR'));
		} else {
			callback(null, (s.entries || []).slice());
		}
	};

	// fetchRange returns the bytes [start, end) of f, or an error code.
	const fetchRange = (f, start, end) => {
		const xhr = request('fs/read', f.path, 'arraybuffer', [start, end]);
		if (xhr.status !== 200 && xhr.status !== 206) {
			const code = new TextDecoder().decode(xhr.response).trim();
			return /^E[A-Z]+$/.test(code) ? code : 'EIO';
		}
		let bytes = new Uint8Array(xhr.response);
		if (xhr.status === 200) {
			bytes = bytes.subarray(start, end);
		}
		return bytes;
	};
	// readAt copies up to length bytes of f from pos into buffer at offset.
	const readAt = (f, buffer, offset, length, pos) => {
		const end = Math.min(f.stat.size, pos + length);
		if (pos >= end) {
			return 0;
		}
		const c = f.cache;
		if (!c || pos < c.start || end > c.start + c.bytes.length) {
			const got = fetchRange(f, pos, Math.min(f.stat.size, pos + Math.max(length, chunk)));
			if (typeof got === 'string') {
				throw error(got);
			}
			f.cache = { start: pos, bytes: got };
		}
		const from = pos - f.cache.start;
		const part = f.cache.bytes.subarray(from, Math.min(from + (end - pos), f.cache.bytes.length));
		buffer.set(part, offset);
		return part.length;
	};
	fs.read = (fd, buffer, offset, length, position, callback) => {
		const f = files.get(fd);
		if (!f) {
			stub.read.call(fs, fd, buffer, offset, length, position, callback);
			return;
		}
		if (isDir(f.stat)) {
			callback(error('EISDIR'));
			return;
		}
		const pos = position === null ? f.pos : position;
		let n;
		try {
			n = readAt(f, buffer, offset, length, pos);
		} catch (e) {
			callback(e.code ? e : error('EIO'));
			return;
		}
		if (position === null) {
			f.pos += n;
		}
		callback(null, n);
	};
	fs.write = (fd, buf, offset, length, position, callback) => {
		files.has(fd) ? callback(error('EBADF')) : stub.write.call(fs, fd, buf, offset, length, position, callback);
	};

	globalThis.process.cwd = () => cwd;
};
