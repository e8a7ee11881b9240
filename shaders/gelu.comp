#version 430
// GELU (exact, erf) elementwise over n values. dst may be x.
#include "common.glsl"
#include "gelu.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer X_ { float x[]; };
layout(std430, binding = 1) buffer D_ { float dst[]; };

uniform uint n;

void main() {
	uint i = groupID().x * 256u + gl_LocalInvocationID.x;
	if (i < n) {
		dst[i] = gelu(x[i]);
	}
}
