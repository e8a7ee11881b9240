// The MatMul epilogue (kernels.Epilogue), shared by matmul.wgsl and
// matmul_direct.wgsl and prepended to them: + bias[col]; GELU (gelu.wgsl); × gamma[col];
// + res[row, col], then the store. It reads the kernel's u, bias, gamma, res and C
// bindings, which both declare alike.
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
