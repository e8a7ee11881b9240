// MatMul (shaders/matmul.comp): C[M,N] = epilogue(A[M,K] · B) with B [K,N], or [N,K]
// used transposed when TRANS_B (a const the host prepends) is true. Tiled: each 16×16
// work group computes a 64×64 block of C, each invocation a 4×4 sub-block (rows
// 4ty…4ty+3, columns 4tx…4tx+3), staging 64×16 slices of A and 16×64 slices of B in
// workgroup memory as vec4s (2 × 4352 bytes). Grid: (⌈N/64⌉, ⌈M/64⌉).
// The parameters u, the bindings C, bias, gamma, res and the epilogue are in
// matmul_epilogue.wgsl (prepended): + bias[col]; GELU; × gamma[col];
// + res[row, col]. Absent optional inputs are bound to a dummy buffer and flagged 0.
// res never shares C's buffer here: the host copies an aliased residual first.
// A starts offA elements into its buffer (CosineTopK runs on row chunks of A).
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;

// As[k][r/4][r%4] = A[m0 + r, k0 + k]; Bs[k][c/4][c%4] = B[k0 + k, n0 + c] (or
// B[n0 + c, k0 + k]). Rows padded by one vec4 against bank conflicts.
var<workgroup> As: array<array<vec4<f32>, 17>, 16>;
var<workgroup> Bs: array<array<vec4<f32>, 17>, 16>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
	let M = i32(u.M);
	let N = i32(u.N);
	let K = i32(u.K);
	let m0 = i32(wg.y) * 64;
	let n0 = i32(wg.x) * 64;
	let tx = i32(lid.x);
	let ty = i32(lid.y);
	let tid = ty * 16 + tx;
	var acc: array<vec4<f32>, 4>; // acc[i][j]: row 4ty + i, column 4tx + j; zeroed
	for (var k0 = 0; k0 < K; k0 += 16) {
		for (var l = 0; l < 4; l++) {
			let e = tid + 256 * l;
			// A slice: 64 rows × 16 columns, read along the rows.
			let r = e / 16;
			let c = e % 16;
			let gr = m0 + r;
			let gc = k0 + c;
			var av = 0.0;
			if (gr < M && gc < K) {
				av = A[i32(u.offA) + gr * K + gc];
			}
			As[c][r / 4][r % 4] = av;
			var bv = 0.0;
			if (TRANS_B) {
				// B is [N,K]: 64 rows (output columns) × 16 columns of K.
				let gn = n0 + r;
				if (gn < N && gc < K) {
					bv = B[gn * K + gc];
				}
				Bs[c][r / 4][r % 4] = bv;
			} else {
				// B is [K,N]: 16 rows of K × 64 output columns.
				let br = e / 64;
				let bc = e % 64;
				let gk = k0 + br;
				let gn = n0 + bc;
				if (gk < K && gn < N) {
					bv = B[gk * N + gn];
				}
				Bs[br][bc / 4][bc % 4] = bv;
			}
		}
		workgroupBarrier();
		for (var kk = 0; kk < 16; kk++) {
			let a = As[kk][ty];
			let b = Bs[kk][tx];
			acc[0] = fma(vec4<f32>(a.x), b, acc[0]);
			acc[1] = fma(vec4<f32>(a.y), b, acc[1]);
			acc[2] = fma(vec4<f32>(a.z), b, acc[2]);
			acc[3] = fma(vec4<f32>(a.w), b, acc[3]);
		}
		workgroupBarrier();
	}
	for (var i = 0; i < 4; i++) {
		let row = m0 + 4 * ty + i;
		if (row >= M) {
			continue;
		}
		for (var j = 0; j < 4; j++) {
			let col = n0 + 4 * tx + j;
			if (col >= N) {
				continue;
			}
			epilogue(row, col, acc[i][j]);
		}
	}
}
