#version 430
// Fused multi-head attention, flash style: no Nq×Nk matrix is ever stored. A work
// group of BQ invocations handles BQ queries of one head (grid: ⌈Nq/BQ⌉ × heads);
// each invocation keeps its scaled query row and its output accumulator (DH values,
// the head width, a #define) in registers and streams the keys and values through
// shared memory BKV at a time, keeping a running maximum m and normaliser l (online
// softmax): per tile, m' = max(m, tile max), acc and l are rescaled by exp(m − m'),
// then acc += Σ exp(s − m') v and l += Σ exp(s − m'). mask (optional) is added to
// the logits of key j for every query.
#include "common.glsl"

#define BQ 64
#define BKV 32
layout(local_size_x = BQ) in;

layout(std430, binding = 0) readonly buffer Q_ { float Qb[]; };
layout(std430, binding = 1) readonly buffer K_ { float Kb[]; };
layout(std430, binding = 2) readonly buffer V_ { float Vb[]; };
layout(std430, binding = 3) readonly buffer Mask_ { float mask[]; };
layout(std430, binding = 4) writeonly buffer O_ { float O[]; };

uniform int Nq, Nk, C;
uniform bool hasMask;
uniform float scale;

shared float Ks[BKV][DH];
shared float Vs[BKV][DH];

void main() {
	uvec3 g = groupID();
	int tid = int(gl_LocalInvocationIndex);
	int i = int(g.x) * BQ + tid;
	int h0 = int(g.y) * DH;
	bool valid = i < Nq;
	float q[DH], acc[DH];
	for (int d = 0; d < DH; d++) {
		q[d] = valid ? Qb[i * C + h0 + d] : 0.0;
		acc[d] = 0.0;
	}
	float m = NEG_INF, l = 0.0;
	for (int j0 = 0; j0 < Nk; j0 += BKV) {
		for (int e = tid; e < BKV * DH; e += BQ) {
			int r = e / DH, d = e % DH, j = j0 + r;
			Ks[r][d] = j < Nk ? Kb[j * C + h0 + d] : 0.0;
			Vs[r][d] = j < Nk ? Vb[j * C + h0 + d] : 0.0;
		}
		sync();
		float s[BKV];
		float tmax = NEG_INF;
		for (int r = 0; r < BKV; r++) {
			float dot = 0.0;
			for (int d = 0; d < DH; d++) {
				dot = fma(q[d], Ks[r][d], dot);
			}
			dot *= scale;
			int j = j0 + r;
			if (j >= Nk) {
				dot = NEG_INF;
			} else if (hasMask) {
				dot += mask[j];
			}
			s[r] = dot;
			tmax = max(tmax, dot);
		}
		float mNew = max(m, tmax);
		if (mNew != NEG_INF) { // else every key so far is masked to −∞: nothing to add
			float corr = exp(m - mNew); // 0 on the first tile (m = −∞)
			l *= corr;
			for (int d = 0; d < DH; d++) {
				acc[d] *= corr;
			}
			for (int r = 0; r < BKV; r++) {
				float p = exp(s[r] - mNew);
				l += p;
				for (int d = 0; d < DH; d++) {
					acc[d] = fma(p, Vs[r][d], acc[d]);
				}
			}
			m = mNew;
		}
		sync();
	}
	if (valid) {
		float inv = 1.0 / l;
		for (int d = 0; d < DH; d++) {
			O[i * C + h0 + d] = acc[d] * inv;
		}
	}
}
