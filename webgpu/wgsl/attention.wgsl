// Attention (shaders/attention.comp): fused multi-head attention, flash style, no
// Nq×Nk matrix is ever stored. A work group of BQ invocations handles BQ queries of
// one head (grid: ⌈Nq/BQ⌉ × heads); each invocation keeps its scaled query row and
// its output accumulator (DH values, the head width, a const the host prepends with
// BKV) in registers and streams the keys and values through workgroup memory BKV at
// a time (BKV is chosen by the host so that 2·BKV·D4 vec4s fit the device), keeping a
// running maximum m and normaliser l (online softmax). mask (optional) is added to the
// logits of key j for every query. The running maximum starts at the lowest finite
// float, not −∞ (WGSL may assume no infinities): a key masked to −∞ is still skipped.
struct Params {
	Nq: i32,
	Nk: i32,
	C: i32,
	hasMask: u32,
	scale: f32,
	pad0: u32,
	pad1: u32,
	pad2: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> Qb: array<f32>;
@group(0) @binding(2) var<storage, read> Kb: array<f32>;
@group(0) @binding(3) var<storage, read> Vb: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<f32>;
@group(0) @binding(5) var<storage, read_write> O: array<f32>;

const BQ = 64;
const D4 = (DH + 3) / 4;
const LOWEST = -3.40282346638528859812e+38;

var<workgroup> Ks: array<array<vec4<f32>, D4>, BKV>;
var<workgroup> Vs: array<array<vec4<f32>, D4>, BKV>;

// loadQ, loadK, loadV read 4 values of a row at element base + 4·d4, zeros past the head.
fn loadQ(base: i32, d4: i32) -> vec4<f32> {
	var r = vec4<f32>(0.0);
	for (var c = 0; c < 4; c++) {
		if (4 * d4 + c < DH) {
			r[c] = Qb[base + 4 * d4 + c];
		}
	}
	return r;
}

fn loadK(base: i32, d4: i32) -> vec4<f32> {
	var r = vec4<f32>(0.0);
	for (var c = 0; c < 4; c++) {
		if (4 * d4 + c < DH) {
			r[c] = Kb[base + 4 * d4 + c];
		}
	}
	return r;
}

fn loadV(base: i32, d4: i32) -> vec4<f32> {
	var r = vec4<f32>(0.0);
	for (var c = 0; c < 4; c++) {
		if (4 * d4 + c < DH) {
			r[c] = Vb[base + 4 * d4 + c];
		}
	}
	return r;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
	let tid = i32(li);
	let i = i32(wg.x) * BQ + tid;
	let h0 = i32(wg.y) * DH;
	let valid = i < u.Nq;
	let C = u.C;
	let Nk = u.Nk;
	var q: array<vec4<f32>, D4>;
	var acc: array<vec4<f32>, D4>; // zeroed
	if (valid) {
		for (var d4 = 0; d4 < D4; d4++) {
			q[d4] = loadQ(i * C + h0, d4);
		}
	}
	var m = LOWEST;
	var l = 0.0;
	for (var j0 = 0; j0 < Nk; j0 += BKV) {
		for (var e = tid; e < BKV * D4; e += BQ) {
			let r = e / D4;
			let d4 = e % D4;
			let j = j0 + r;
			var kv = vec4<f32>(0.0);
			var vv = vec4<f32>(0.0);
			if (j < Nk) {
				kv = loadK(j * C + h0, d4);
				vv = loadV(j * C + h0, d4);
			}
			Ks[r][d4] = kv;
			Vs[r][d4] = vv;
		}
		workgroupBarrier();
		let nt = min(BKV, Nk - j0);
		for (var r = 0; r < nt; r++) {
			var p4 = vec4<f32>(0.0);
			for (var d4 = 0; d4 < D4; d4++) {
				p4 = fma(q[d4], Ks[r][d4], p4);
			}
			var dt = ((p4.x + p4.y) + (p4.z + p4.w)) * u.scale;
			if (u.hasMask != 0u) {
				dt += mask[j0 + r];
			}
			if (dt > m) {
				let corr = exp(m - dt); // 0 for the first key (m = LOWEST)
				l *= corr;
				for (var d4 = 0; d4 < D4; d4++) {
					acc[d4] *= corr;
				}
				m = dt;
			}
			if (m != LOWEST) { // else every key so far is masked to −∞: nothing to add
				let p = exp(dt - m);
				l += p;
				for (var d4 = 0; d4 < D4; d4++) {
					acc[d4] += p * Vs[r][d4];
				}
			}
		}
		workgroupBarrier();
	}
	if (valid) {
		let inv = 1.0 / l;
		for (var d4 = 0; d4 < D4; d4++) {
			for (var c = 0; c < 4; c++) {
				if (4 * d4 + c < DH) {
					O[i * C + h0 + 4 * d4 + c] = acc[d4][c] * inv;
				}
			}
		}
	}
}
