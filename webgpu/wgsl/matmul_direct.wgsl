// MatMul without workgroup memory, for adapters that run compute shaders on the CPU
// (SwiftShader), where the barriers of the tiled matmul.wgsl cost more than the reuse
// they buy: C[M,N] = epilogue(A[M,K] · Bᵀ) with B [N,K] (the Linear layout), K a
// multiple of 4 so that A and B are read as vec4s along K. Each invocation of an 8×8
// work group computes a 4×4 block of C (rows 4y…4y+3, columns 4x…4x+3 within the
// group's 32×32 block) from four rows of A and four of B, straight from the buffers.
// Grid: (⌈N/32⌉, ⌈M/32⌉). The parameters, the other bindings and the epilogue are
// matmul_epilogue.wgsl's, prepended, as for matmul.wgsl (offA counts
// floats and is a multiple of 4).
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
	let M = i32(u.M);
	let N = i32(u.N);
	let K4 = i32(u.K) / 4;
	let r0 = i32(wg.y) * 32 + 4 * i32(lid.y);
	let c0 = i32(wg.x) * 32 + 4 * i32(lid.x);
	if (r0 >= M || c0 >= N) {
		return;
	}
	// Rows and columns past the edge repeat the last one (their results are not stored).
	let a0 = i32(u.offA) / 4 + r0 * K4;
	let a1 = i32(u.offA) / 4 + min(r0 + 1, M - 1) * K4;
	let a2 = i32(u.offA) / 4 + min(r0 + 2, M - 1) * K4;
	let a3 = i32(u.offA) / 4 + min(r0 + 3, M - 1) * K4;
	let b0 = c0 * K4;
	let b1 = min(c0 + 1, N - 1) * K4;
	let b2 = min(c0 + 2, N - 1) * K4;
	let b3 = min(c0 + 3, N - 1) * K4;
	var acc0 = vec4<f32>();
	var acc1 = vec4<f32>();
	var acc2 = vec4<f32>();
	var acc3 = vec4<f32>();
	for (var k = 0; k < K4; k++) {
		let x0 = A[a0 + k];
		let x1 = A[a1 + k];
		let x2 = A[a2 + k];
		let x3 = A[a3 + k];
		let y0 = B[b0 + k];
		let y1 = B[b1 + k];
		let y2 = B[b2 + k];
		let y3 = B[b3 + k];
		acc0 += vec4<f32>(dot(x0, y0), dot(x0, y1), dot(x0, y2), dot(x0, y3));
		acc1 += vec4<f32>(dot(x1, y0), dot(x1, y1), dot(x1, y2), dot(x1, y3));
		acc2 += vec4<f32>(dot(x2, y0), dot(x2, y1), dot(x2, y2), dot(x2, y3));
		acc3 += vec4<f32>(dot(x3, y0), dot(x3, y1), dot(x3, y2), dot(x3, y3));
	}
	let acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
	for (var i = 0; i < 4; i++) {
		let row = r0 + i;
		if (row >= M) {
			break;
		}
		for (var j = 0; j < 4; j++) {
			if (c0 + j < N) {
				epilogue(row, c0 + j, acc[i][j]);
			}
		}
	}
}
