#version 430
// MatMul: C[M,N] = epilogue(A[M,K] · B) with B [K,N], or [N,K] used transposed when
// TRANS_B is defined. Tiled: each 16×16 work group computes a 64×64 block of C, each
// invocation a 4×4 sub-block (rows ty + 16i, columns tx + 16j), staging 64×16 slices
// of A and 16×64 slices of B in shared memory. Grid: (⌈N/64⌉, ⌈M/64⌉).
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

shared float As[BK][BM + 1];
shared float Bs[BK][BN + 1];

void main() {
	uvec3 g = groupID();
	int m0 = int(g.y) * BM, n0 = int(g.x) * BN;
	int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
	int tid = ty * 16 + tx;
	float acc[4][4];
	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < 4; j++) {
			acc[i][j] = 0.0;
		}
	}
	for (int k0 = 0; k0 < K; k0 += BK) {
		for (int l = 0; l < 4; l++) {
			int e = tid + 256 * l;
			// A slice: 64 rows × 16 columns, read along the rows.
			int r = e / BK, c = e % BK;
			int gr = m0 + r, gc = k0 + c;
			As[c][r] = (gr < M && gc < K) ? A[offA + gr * K + gc] : 0.0;
#ifdef TRANS_B
			// B is [N,K]: 64 rows (output columns) × 16 columns of K.
			int gn = n0 + r;
			Bs[c][r] = (gn < N && gc < K) ? B[gn * K + gc] : 0.0;
#else
			// B is [K,N]: 16 rows of K × 64 output columns.
			int br = e / BN, bc = e % BN;
			int gk = k0 + br, gn = n0 + bc;
			Bs[br][bc] = (gk < K && gn < N) ? B[gk * N + gn] : 0.0;
#endif
		}
		sync();
		for (int kk = 0; kk < BK; kk++) {
			float a[4], b[4];
			for (int i = 0; i < 4; i++) {
				a[i] = As[kk][ty + 16 * i];
				b[i] = Bs[kk][tx + 16 * i];
			}
			for (int i = 0; i < 4; i++) {
				for (int j = 0; j < 4; j++) {
					acc[i][j] = fma(a[i], b[j], acc[i][j]);
				}
			}
		}
		sync();
	}
	for (int i = 0; i < 4; i++) {
		int row = m0 + ty + 16 * i;
		if (row >= M) {
			continue;
		}
		for (int j = 0; j < 4; j++) {
			int col = n0 + tx + 16 * j;
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
