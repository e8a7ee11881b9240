#version 430
// MatMul: C[M,N] = epilogue(A[M,K] · B) with B [K,N], or [N,K] used transposed when
// TRANS_B is defined. Tiled: each 16×16 work group computes a 64×64 block of C, each
// invocation a 4×4 sub-block (rows 4ty…4ty+3, columns 4tx…4tx+3), staging 64×16
// slices of A and 16×64 slices of B in shared memory as vec4s, so that the inner
// loop reads one vec4 of A and one of B per 16 FMAs. Grid: (⌈N/64⌉, ⌈M/64⌉).
// Epilogue (kernels.Epilogue): + bias[col]; GELU; × gamma[col]; + res[row, col]. res
// may be the same buffer as C: each element is read and written by one invocation.
// A starts offA elements into its buffer (CosineTopK runs on row chunks of A).
#include "common.glsl"
#include "gelu.glsl"

#define BM 64
#define BN 64
#define BK 16
layout(local_size_x = 16, local_size_y = 16) in;

layout(std430, binding = 0) readonly buffer A_ { float A[]; };
layout(std430, binding = 1) readonly buffer B_ { float B[]; };
layout(std430, binding = 2) buffer C_ { float C[]; };
layout(std430, binding = 3) readonly buffer Bias_ { float bias[]; };
layout(std430, binding = 4) readonly buffer Gamma_ { float gamma[]; };
layout(std430, binding = 5) buffer Res_ { float res[]; };

uniform int M, N, K, offA;
uniform bool hasBias, doGELU, hasGamma, hasRes;

// As[k][r/4][r%4] = A[m0 + r, k0 + k]; Bs[k][c/4][c%4] = B[k0 + k, n0 + c] (or
// B[n0 + c, k0 + k]). The rows are padded by one vec4: the transposing stores of
// consecutive invocations go to consecutive k, which would otherwise share a bank.
shared vec4 As[BK][BM / 4 + 1];
shared vec4 Bs[BK][BN / 4 + 1];

void main() {
	uvec3 g = groupID();
	int m0 = int(g.y) * BM, n0 = int(g.x) * BN;
	int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
	int tid = ty * 16 + tx;
	vec4 acc[4]; // acc[i][j]: row 4ty + i, column 4tx + j
	for (int i = 0; i < 4; i++) {
		acc[i] = vec4(0.0);
	}
	for (int k0 = 0; k0 < K; k0 += BK) {
		for (int l = 0; l < 4; l++) {
			int e = tid + 256 * l;
			// A slice: 64 rows × 16 columns, read along the rows.
			int r = e / BK, c = e % BK;
			int gr = m0 + r, gc = k0 + c;
			As[c][r / 4][r % 4] = (gr < M && gc < K) ? A[offA + gr * K + gc] : 0.0;
#ifdef TRANS_B
			// B is [N,K]: 64 rows (output columns) × 16 columns of K.
			int gn = n0 + r;
			Bs[c][r / 4][r % 4] = (gn < N && gc < K) ? B[gn * K + gc] : 0.0;
#else
			// B is [K,N]: 16 rows of K × 64 output columns.
			int br = e / BN, bc = e % BN;
			int gk = k0 + br, gn = n0 + bc;
			Bs[br][bc / 4][bc % 4] = (gk < K && gn < N) ? B[gk * N + gn] : 0.0;
#endif
		}
		sync();
		for (int kk = 0; kk < BK; kk++) {
			vec4 a = As[kk][ty], b = Bs[kk][tx];
			acc[0] = fma(vec4(a.x), b, acc[0]);
			acc[1] = fma(vec4(a.y), b, acc[1]);
			acc[2] = fma(vec4(a.z), b, acc[2]);
			acc[3] = fma(vec4(a.w), b, acc[3]);
		}
		sync();
	}
	for (int i = 0; i < 4; i++) {
		int row = m0 + 4 * ty + i;
		if (row >= M) {
			continue;
		}
		for (int j = 0; j < 4; j++) {
			int col = n0 + 4 * tx + j;
			if (col >= N) {
				continue;
			}
			float v = acc[i][j];
			if (hasBias) {
				v += bias[col];
			}
			if (doGELU) {
				v = gelu(v);
			}
			if (hasGamma) {
				v *= gamma[col];
			}
			if (hasRes) {
				v += res[row * N + col];
			}
			C[row * N + col] = v;
		}
	}
}
