// CosineTopK (shaders/cosine_topk.comp, the top-k program; the norms are
// cosine_norms.wgsl and the dot products matmul.wgsl): for rows row0 … row0+rows−1
// of a, given their dot products with every row of b (dots[rows, Nb]), the K best
// cosines dot/(‖a‖‖b‖) in descending order, ties to the lower index of b (K is a
// const the host prepends). One work group per row: each invocation keeps a sorted
// list of its K best among the columns j ≡ tid (mod T), scanned in increasing j; then
// K rounds of a work-group arg-max over the list heads, the winner popping its head.
// The empty slots hold the lowest finite float and index 2^31 − 1 (WGSL may assume no
// infinities); k ≤ Nb, so they never win a round.
struct Params {
	row0: i32,
	rows: i32,
	Nb: i32,
	pad: i32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> dots: array<f32>;
@group(0) @binding(2) var<storage, read> an: array<f32>;
@group(0) @binding(3) var<storage, read> bn: array<f32>;
@group(0) @binding(4) var<storage, read_write> vals: array<f32>;
@group(0) @binding(5) var<storage, read_write> idx: array<f32>;

const T = 128;
const LOWEST = -3.40282346638528859812e+38;
const NONE = 0x7fffffff;

var<workgroup> sv: array<f32, T>;
var<workgroup> si: array<i32, T>;

// better reports whether (v, j) ranks before (w, k): higher cosine, then lower index.
fn better(v: f32, j: i32, w: f32, k: i32) -> bool {
	return v > w || (v == w && j < k);
}

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lix: u32) {
	let r = i32(wg.y * nwg.x + wg.x);
	if (r >= u.rows) {
		return;
	}
	let tid = i32(lix);
	let row = u.row0 + r;
	let Nb = u.Nb;
	var lv: array<f32, K>;
	var li: array<i32, K>;
	for (var t = 0; t < K; t++) {
		lv[t] = LOWEST;
		li[t] = NONE;
	}
	for (var j = tid; j < Nb; j += T) {
		let c = dots[r * Nb + j] / (an[row] * bn[j]);
		if (c > lv[K - 1]) { // strict: an equal later column never displaces an earlier one
			var p = K - 1;
			while (p > 0 && c > lv[p - 1]) {
				lv[p] = lv[p - 1];
				li[p] = li[p - 1];
				p--;
			}
			lv[p] = c;
			li[p] = j;
		}
	}
	var head = 0;
	for (var t = 0; t < K; t++) {
		var hv = LOWEST;
		var hi = NONE;
		if (head < K) {
			hv = lv[head];
			hi = li[head];
		}
		sv[tid] = hv;
		si[tid] = hi;
		workgroupBarrier();
		for (var s = T / 2; s > 0; s = s >> 1u) {
			if (tid < s && better(sv[tid + s], si[tid + s], sv[tid], si[tid])) {
				sv[tid] = sv[tid + s];
				si[tid] = si[tid + s];
			}
			workgroupBarrier();
		}
		let win = si[0];
		if (tid == 0) {
			vals[row * K + t] = sv[0];
			idx[row * K + t] = f32(win);
		}
		if (head < K && li[head] == win) {
			head++;
		}
		workgroupBarrier();
	}
}
