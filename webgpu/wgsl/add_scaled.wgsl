// AddScaled (shaders/add_scaled.comp): dst = a + s·b elementwise over n values.
// dst never shares a buffer with a or b here: the host copies an aliased input first
// (WebGPU forbids one buffer bound both read-only and writable in a dispatch).
struct Params {
	n: u32,
	s: f32,
	pad0: u32,
	pad1: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
	let i = (wg.y * nwg.x + wg.x) * 256u + li;
	if (i < u.n) {
		dst[i] = a[i] + u.s * b[i];
	}
}
