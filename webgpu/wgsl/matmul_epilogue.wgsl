// What matmul.wgsl and matmul_direct.wgsl share, prepended to them: the parameters,
// the bindings but A (1) and B (2), which each reads its own way, and the epilogue
// (kernels.Epilogue): + bias[col]; GELU (gelu.wgsl); × gamma[col]; + res[row, col],
// then the store into C.
struct Params {
	M: u32,
	N: u32,
	K: u32,
	hasBias: u32,
	doGELU: u32,
	hasGamma: u32,
	hasRes: u32,
	offA: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> gamma: array<f32>;
@group(0) @binding(6) var<storage, read> res: array<f32>;

fn epilogue(row: i32, col: i32, acc: f32) {
	var v = acc;
	if (u.hasBias != 0u) {
		v += bias[col];
	}
	if (u.doGELU != 0u) {
		v = gelu(v);
	}
	if (u.hasGamma != 0u) {
		v *= gamma[col];
	}
	let at = row * i32(u.N) + col;
	if (u.hasRes != 0u) {
		v += res[at];
	}
	C[at] = v;
}
