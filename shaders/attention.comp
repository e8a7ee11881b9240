#version 430
// Fused multi-head attention, flash style: no Nq×Nk matrix is ever stored. A work
// group of BQ invocations handles BQ queries of one head (grid: ⌈Nq/BQ⌉ × heads);
// each invocation keeps its scaled query row and its output accumulator (DH values,
// the head width, a #define) in registers and streams the keys and values through
// shared memory BKV at a time, keeping a running maximum m and normaliser l (online
// softmax): for a logit s above m, acc and l are rescaled by exp(m − s) and m = s;
// then acc += exp(s − m) v and l += exp(s − m). mask (optional) is added to the
// logits of key j for every query.
#include "common.glsl"

#define BQ 64
#define BKV 32
// The head is held as D4 vec4s (zero-padded when DH is not a multiple of 4): loops
// over 16 or fewer vec4s are unrolled by the compilers, keeping q and acc in
// registers (scalar arrays of 64 were indexed dynamically, in scratch memory).
#define D4 ((DH + 3) / 4)
layout(local_size_x = BQ) in;

layout(std430, binding = 0) readonly buffer Q_ { float Qb[]; };
layout(std430, binding = 1) readonly buffer K_ { float Kb[]; };
layout(std430, binding = 2) readonly buffer V_ { float Vb[]; };
layout(std430, binding = 3) readonly buffer Mask_ { float mask[]; };
layout(std430, binding = 4) writeonly buffer O_ { float O[]; };

uniform int Nq, Nk, C;
uniform bool hasMask;
uniform float scale;

shared vec4 Ks[BKV][D4];
shared vec4 Vs[BKV][D4];

// load4 reads 4 values of a row of width C at column h0 + 4·d4, zeros past the head.
#define LOAD4(buf, base, d4) vec4( \
	4 * (d4) + 0 < DH ? buf[(base) + 4 * (d4) + 0] : 0.0, \
	4 * (d4) + 1 < DH ? buf[(base) + 4 * (d4) + 1] : 0.0, \
	4 * (d4) + 2 < DH ? buf[(base) + 4 * (d4) + 2] : 0.0, \
	4 * (d4) + 3 < DH ? buf[(base) + 4 * (d4) + 3] : 0.0)

void main() {
	uvec3 g = groupID();
	int tid = int(gl_LocalInvocationIndex);
	int i = int(g.x) * BQ + tid;
	int h0 = int(g.y) * DH;
	bool valid = i < Nq;
	vec4 q[D4], acc[D4];
	for (int d4 = 0; d4 < D4; d4++) {
		q[d4] = valid ? LOAD4(Qb, i * C + h0, d4) : vec4(0.0);
		acc[d4] = vec4(0.0);
	}
	float m = NEG_INF, l = 0.0;
	for (int j0 = 0; j0 < Nk; j0 += BKV) {
		for (int e = tid; e < BKV * D4; e += BQ) {
			int r = e / D4, d4 = e % D4, j = j0 + r;
			Ks[r][d4] = j < Nk ? LOAD4(Kb, j * C + h0, d4) : vec4(0.0);
			Vs[r][d4] = j < Nk ? LOAD4(Vb, j * C + h0, d4) : vec4(0.0);
		}
		sync();
		// One key at a time; the accumulator is rescaled only when the running
		// maximum grows (a few times per row). The key loop has a run-time bound on
		// purpose: unrolled too (BKV × D4 bodies), it took Mesa minutes to compile.
		int nt = min(BKV, Nk - j0);
		for (int r = 0; r < nt; r++) {
			// Four independent partial sums: a dependency chain of D4, not DH, FMAs.
			vec4 p4 = vec4(0.0);
			for (int d4 = 0; d4 < D4; d4++) {
				p4 = fma(q[d4], Ks[r][d4], p4);
			}
			float dt = ((p4.x + p4.y) + (p4.z + p4.w)) * scale;
			if (hasMask) {
				dt += mask[j0 + r];
			}
			if (dt > m) {
				float corr = exp(m - dt); // 0 for the first key (m = −∞)
				l *= corr;
				for (int d4 = 0; d4 < D4; d4++) {
					acc[d4] *= corr;
				}
				m = dt;
			}
			if (m != NEG_INF) { // else every key so far is masked to −∞: nothing to add
				float p = exp(dt - m);
				l += p;
				for (int d4 = 0; d4 < D4; d4++) {
					acc[d4] += p * Vs[r][d4];
				}
			}
		}
		sync();
	}
	if (valid) {
		float inv = 1.0 / l;
		for (int d4 = 0; d4 < D4; d4++) {
			for (int c = 0; c < 4; c++) {
				if (4 * d4 + c < DH) {
					O[i * C + h0 + 4 * d4 + c] = acc[d4][c] * inv;
				}
			}
		}
	}
}
