// PatchEmbed (shaders/patch_embed.comp), the ViT stem: a conv with kernel = stride =
// P (a const the host prepends) over img[3,H,W] with w[C,3,P,P] and bias[C]. One work
// group per output row (token) and 64 output channels: the token's 3·P·P pixels are
// staged in workgroup memory, each invocation computes one channel. With a cls token
// (off = 1) row 0 is cls; pos (optional, same shape as dst) is added to every row.
// Grid: (⌈C/64⌉, rows).
struct Params {
	C: u32,
	GW: u32,
	H: u32,
	W: u32,
	off: u32,
	rows: u32,
	hasPos: u32,
	pad: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> img: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> cls: array<f32>;
@group(0) @binding(5) var<storage, read> pos: array<f32>;
@group(0) @binding(6) var<storage, read_write> dst: array<f32>;

const PP = 3u * P * P;
var<workgroup> px: array<f32, PP>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
	let row = wg.y;
	let o = wg.x * 64u + li;
	if (row >= u.rows) {
		return;
	}
	var v = 0.0;
	if (row < u.off) {
		if (o < u.C) {
			v = cls[o];
		}
	} else {
		let t = row - u.off;
		let gy = t / u.GW;
		let gx = t % u.GW;
		for (var e = li; e < PP; e += 64u) {
			let ch = e / (P * P);
			let ky = (e / P) % P;
			let kx = e % P;
			px[e] = img[(ch * u.H + gy * P + ky) * u.W + gx * P + kx];
		}
		workgroupBarrier();
		if (o >= u.C) {
			return;
		}
		let wb = o * PP;
		for (var e = 0u; e < PP; e++) {
			v = fma(w[wb + e], px[e], v);
		}
		v += bias[o];
	}
	if (o < u.C) {
		if (u.hasPos != 0u) {
			v += pos[row * u.C + o];
		}
		dst[row * u.C + o] = v;
	}
}
