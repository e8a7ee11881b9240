// Bicubic (shaders/bicubic.comp) resize of a grid of C-vectors src[Hi·Wi, C] to
// dst[Ho·Wo, C] (PyTorch semantics, a = −0.75, align_corners = false, clamped
// borders). The taps are computed on the host in float64 (kernels.BicubicTaps): for
// each output row (ty) and column (tx), 5 floats: the floor source index, then the
// four weights. One invocation per output value; the work group's linear index is
// wg.y·nwg.x + wg.x.
struct Params {
	Hi: i32,
	Wi: i32,
	Ho: i32,
	Wo: i32,
	C: i32,
	pad0: i32,
	pad1: i32,
	pad2: i32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> ty: array<f32>;
@group(0) @binding(3) var<storage, read> tx: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
	let e = i32((wg.y * nwg.x + wg.x) * 256u + li);
	if (e >= u.Ho * u.Wo * u.C) {
		return;
	}
	let ch = e % u.C;
	let ox = (e / u.C) % u.Wo;
	let oy = e / (u.C * u.Wo);
	let y0 = i32(ty[oy * 5]);
	let x0 = i32(tx[ox * 5]);
	var s = 0.0;
	for (var a = 0; a < 4; a++) {
		let sy = clamp(y0 - 1 + a, 0, u.Hi - 1);
		var r = 0.0;
		for (var b = 0; b < 4; b++) {
			let sx = clamp(x0 - 1 + b, 0, u.Wi - 1);
			r = fma(tx[ox * 5 + 1 + b], src[(sy * u.Wi + sx) * u.C + ch], r);
		}
		s = fma(ty[oy * 5 + 1 + a], r, s);
	}
	dst[e] = s;
}
