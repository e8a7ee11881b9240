// Projection (shaders/projection.comp), the IDE deviation score (spec §7), one work
// group per row d_i of d[N,C] with T* = t[M,C] (C and M are consts the host
// prepends): coef = T d_i; p = Tᵀ coef; dst[i] = 1 − ‖d_i/‖d_i‖ − p/‖p‖‖ / 2 (norms
// clamped below at 1e-12), the distance summed directly, not as 2 − 2cos, which would
// cancel for nearly parallel vectors. The row is the work group's linear index.
struct Params {
	Nrows: u32,
	pad0: u32,
	pad1: u32,
	pad2: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> dv: array<f32>;
@group(0) @binding(2) var<storage, read> ts: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

var<workgroup> drow: array<f32, C>;
var<workgroup> p: array<f32, C>;
var<workgroup> coef: array<f32, M>;

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
	let row = wg.y * nwg.x + wg.x;
	if (row >= u.Nrows) {
		return;
	}
	for (var j = li; j < C; j += T) {
		drow[j] = dv[row * C + j];
	}
	workgroupBarrier();
	for (var a = li; a < M; a += T) {
		var s = 0.0;
		for (var j = 0u; j < C; j++) {
			s = fma(drow[j], ts[a * C + j], s);
		}
		coef[a] = s;
	}
	workgroupBarrier();
	var dd = 0.0;
	var pp = 0.0;
	for (var j = li; j < C; j += T) {
		var s = 0.0;
		for (var a = 0u; a < M; a++) {
			s = fma(coef[a], ts[a * C + j], s);
		}
		p[j] = s;
		dd = fma(drow[j], drow[j], dd);
		pp = fma(s, s, pp);
	}
	let dn = max(sqrt(groupSum(dd, li)), 1e-12);
	let pn = max(sqrt(groupSum(pp, li)), 1e-12);
	var dist = 0.0;
	for (var j = li; j < C; j += T) {
		let v = drow[j] / dn - p[j] / pn;
		dist = fma(v, v, dist);
	}
	dist = groupSum(dist, li);
	if (li == 0u) {
		dst[row] = 1.0 - sqrt(dist) / 2.0;
	}
}
