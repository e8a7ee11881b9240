// The row norms of CosineTopK (shaders/cosine_topk.comp, the NORMS program):
// nrm[row] = max(‖x_row‖, 1e-12) for each row of x[R,C], one work group per row (the
// work group's linear index), as torch.nn.functional.normalize clamps it.
struct Params {
	R: u32,
	C: u32,
	pad0: u32,
	pad1: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> nrm: array<f32>;

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
	let row = wg.y * nwg.x + wg.x;
	if (row >= u.R) {
		return;
	}
	var s = 0.0;
	for (var j = li; j < u.C; j += T) {
		let v = x[row * u.C + j];
		s = fma(v, v, s);
	}
	let ss = groupSum(s, li); // reduce.wgsl, prepended
	if (li == 0u) {
		nrm[row] = max(sqrt(ss), 1e-12);
	}
}
