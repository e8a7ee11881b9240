#version 430
// AddScaled: dst = a + s·b elementwise over n values. dst may be a or b.
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer A_ { float a[]; };
layout(std430, binding = 1) readonly buffer B_ { float b[]; };
layout(std430, binding = 2) buffer D_ { float dst[]; };

uniform uint n;
uniform float s;

void main() {
	uint i = groupID().x * 256u + gl_LocalInvocationID.x;
	if (i < n) {
		dst[i] = a[i] + s * b[i];
	}
}
