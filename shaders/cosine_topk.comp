#version 430
// CosineTopK, in two programs selected by a #define:
//   NORMS: nrm[row] = max(‖x_row‖, 1e-12) for each row of x[R,C] (one work group per
//          row), as torch.nn.functional.normalize clamps it.
//   else:  for rows row0 … row0+rows−1 of a, given their dot products with every row
//          of b (dots[rows, Nb], from the matmul kernel), the K best cosines
//          dot/(‖a‖‖b‖) in descending order, ties to the lower index of b. One work
//          group per row: each invocation keeps a sorted list of its K best among the
//          columns j ≡ tid (mod T), scanned in increasing j; then K rounds of a
//          work-group arg-max over the list heads, the winner popping its head.
#include "common.glsl"
#define T 128u
layout(local_size_x = 128) in;

#ifdef NORMS
#include "reduce.glsl"

layout(std430, binding = 0) readonly buffer X_ { float x[]; };
layout(std430, binding = 1) writeonly buffer N_ { float nrm[]; };

uniform int R, C;

void main() {
	int row = int(groupID().x);
	if (row >= R) {
		return;
	}
	float s = 0.0;
	for (int j = int(gl_LocalInvocationIndex); j < C; j += int(T)) {
		float v = x[row * C + j];
		s = fma(v, v, s);
	}
	s = groupSum(s);
	if (gl_LocalInvocationIndex == 0u) {
		nrm[row] = max(sqrt(s), 1e-12);
	}
}

#else

layout(std430, binding = 0) readonly buffer Dots_ { float dots[]; };
layout(std430, binding = 1) readonly buffer AN_ { float an[]; };
layout(std430, binding = 2) readonly buffer BN_ { float bn[]; };
layout(std430, binding = 3) writeonly buffer Vals_ { float vals[]; };
layout(std430, binding = 4) writeonly buffer Idx_ { float idx[]; };

uniform int row0, rows, Nb;

shared float sv[T];
shared int si[T];

// better reports whether (v, j) ranks before (w, k): higher cosine, then lower index.
bool better(float v, int j, float w, int k) { return v > w || (v == w && j < k); }

void main() {
	int r = int(groupID().x);
	if (r >= rows) {
		return;
	}
	int tid = int(gl_LocalInvocationIndex);
	int row = row0 + r;
	float lv[K];
	int li[K];
	for (int t = 0; t < K; t++) {
		lv[t] = NEG_INF;
		li[t] = 0x7fffffff;
	}
	for (int j = tid; j < Nb; j += int(T)) {
		float c = dots[r * Nb + j] / (an[row] * bn[j]);
		if (c > lv[K - 1]) { // strict: an equal later column never displaces an earlier one
			int p = K - 1;
			while (p > 0 && c > lv[p - 1]) {
				lv[p] = lv[p - 1];
				li[p] = li[p - 1];
				p--;
			}
			lv[p] = c;
			li[p] = j;
		}
	}
	int head = 0;
	for (int t = 0; t < K; t++) {
		sv[tid] = head < K ? lv[head] : NEG_INF;
		si[tid] = head < K ? li[head] : 0x7fffffff;
		sync();
		for (uint s = T / 2u; s > 0u; s >>= 1) {
			if (uint(tid) < s && better(sv[tid + s], si[tid + s], sv[tid], si[tid])) {
				sv[tid] = sv[tid + s];
				si[tid] = si[tid + s];
			}
			sync();
		}
		int win = si[0];
		if (tid == 0) {
			vals[row * K + t] = sv[0];
			idx[row * K + t] = float(win);
		}
		if (head < K && li[head] == win) {
			head++;
		}
		sync();
	}
}
#endif
