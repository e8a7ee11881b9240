#version 430
// LayerNorm of each row of x[M,C]: one work group per row; mean, then the biased
// variance of (x − mean) (two passes, exact for a large common offset). dst may be x.
#include "common.glsl"
#define T 128u
layout(local_size_x = 128) in;
#include "reduce.glsl"

layout(std430, binding = 0) readonly buffer X_ { float x[]; };
layout(std430, binding = 1) readonly buffer G_ { float gam[]; };
layout(std430, binding = 2) readonly buffer Be_ { float bet[]; };
layout(std430, binding = 3) buffer D_ { float dst[]; };

uniform int M, C;
uniform float eps;

void main() {
	int row = int(groupID().x);
	if (row >= M) {
		return; // uniform across the work group
	}
	int base = row * C, tid = int(gl_LocalInvocationIndex);
	float s = 0.0;
	for (int j = tid; j < C; j += int(T)) {
		s += x[base + j];
	}
	float mean = groupSum(s) / float(C);
	float v = 0.0;
	for (int j = tid; j < C; j += int(T)) {
		float d = x[base + j] - mean;
		v += d * d;
	}
	float inv = inversesqrt(groupSum(v) / float(C) + eps);
	for (int j = tid; j < C; j += int(T)) {
		dst[base + j] = (x[base + j] - mean) * inv * gam[j] + bet[j];
	}
}
