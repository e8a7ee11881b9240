#version 430
// Projection, the IDE deviation score (spec §7), one work group per row d_i of d[N,C]
// with T* = t[M,C] (C and M are #defines): coef = T d_i; p = Tᵀ coef;
// dst[i] = 1 − ‖d_i/‖d_i‖ − p/‖p‖‖ / 2 (norms clamped below at 1e-12), the distance
// summed directly, not as 2 − 2cos, which would cancel for nearly parallel vectors.
#include "common.glsl"
#define T 128u
layout(local_size_x = 128) in;
#include "reduce.glsl"

layout(std430, binding = 0) readonly buffer D_ { float dv[]; };
layout(std430, binding = 1) readonly buffer TS_ { float ts[]; };
layout(std430, binding = 2) writeonly buffer O_ { float dst[]; };

uniform int Nrows;

shared float drow[C];
shared float p[C];
shared float coef[M];

void main() {
	int row = int(groupID().x);
	if (row >= Nrows) {
		return;
	}
	int tid = int(gl_LocalInvocationIndex);
	for (int j = tid; j < C; j += int(T)) {
		drow[j] = dv[row * C + j];
	}
	sync();
	for (int a = tid; a < M; a += int(T)) {
		float s = 0.0;
		for (int j = 0; j < C; j++) {
			s = fma(drow[j], ts[a * C + j], s);
		}
		coef[a] = s;
	}
	sync();
	float dd = 0.0, pp = 0.0;
	for (int j = tid; j < C; j += int(T)) {
		float s = 0.0;
		for (int a = 0; a < M; a++) {
			s = fma(coef[a], ts[a * C + j], s);
		}
		p[j] = s;
		dd = fma(drow[j], drow[j], dd);
		pp = fma(s, s, pp);
	}
	float dn = max(sqrt(groupSum(dd)), 1e-12);
	float pn = max(sqrt(groupSum(pp)), 1e-12);
	float dist = 0.0;
	for (int j = tid; j < C; j += int(T)) {
		float v = drow[j] / dn - p[j] / pn;
		dist = fma(v, v, dist);
	}
	dist = groupSum(dist);
	if (tid == 0) {
		dst[row] = 1.0 - sqrt(dist) / 2.0;
	}
}
