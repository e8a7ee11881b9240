// LayerNorm (shaders/layernorm.comp) of each row of x[M,C]: one work group of 128
// per row; the mean, then the biased variance of (x − mean) (two passes, exact for a
// large common offset). The row is the work group's linear index wg.y·nwg.x + wg.x.
struct Params {
	M: u32,
	C: u32,
	eps: f32,
	pad: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gam: array<f32>;
@group(0) @binding(3) var<storage, read> bet: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
	let row = wg.y * nwg.x + wg.x;
	if (row >= u.M) {
		return; // uniform across the work group
	}
	let C = u.C;
	let base = row * C;
	var s = 0.0;
	for (var j = li; j < C; j += T) {
		s += x[base + j];
	}
	let mean = groupSum(s, li) / f32(C);
	var v = 0.0;
	for (var j = li; j < C; j += T) {
		let d = x[base + j] - mean;
		v += d * d;
	}
	let inv = inverseSqrt(groupSum(v, li) / f32(C) + u.eps);
	for (var j = li; j < C; j += T) {
		dst[base + j] = (x[base + j] - mean) * inv * gam[j] + bet[j];
	}
}
