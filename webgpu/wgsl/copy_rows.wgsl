// CopyRows (shaders/copy_rows.comp): n values (whole rows) from src starting at
// element srcOff into dst starting at element dstOff. The grid may be 2-D when the
// work groups exceed maxComputeWorkgroupsPerDimension: the work group's linear index
// is wg.y·nwg.x + wg.x.
struct Params {
	n: u32,
	srcOff: u32,
	dstOff: u32,
	pad: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
	let i = (wg.y * nwg.x + wg.x) * 256u + li;
	if (i < u.n) {
		dst[u.dstOff + i] = src[u.srcOff + i];
	}
}
