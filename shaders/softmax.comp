#version 430
// Softmax along each row of x[M,N]: one work group per row. dst may be x.
#include "common.glsl"
#define T 128u
layout(local_size_x = 128) in;
#include "reduce.glsl"

layout(std430, binding = 0) readonly buffer X_ { float x[]; };
layout(std430, binding = 1) buffer D_ { float dst[]; };

uniform int M, N;

void main() {
	int row = int(groupID().x);
	if (row >= M) {
		return;
	}
	int base = row * N, tid = int(gl_LocalInvocationIndex);
	float mx = NEG_INF;
	for (int j = tid; j < N; j += int(T)) {
		mx = max(mx, x[base + j]);
	}
	mx = groupMax(mx);
	float s = 0.0;
	for (int j = tid; j < N; j += int(T)) {
		s += exp(x[base + j] - mx);
	}
	float inv = 1.0 / groupSum(s);
	for (int j = tid; j < N; j += int(T)) {
		dst[base + j] = exp(x[base + j] - mx) * inv;
	}
}
