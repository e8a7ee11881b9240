#version 430
// CopyRows: n values (whole rows) from src starting at element srcOff into dst
// starting at element dstOff.
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer S_ { float src[]; };
layout(std430, binding = 1) buffer D_ { float dst[]; };

uniform uint n, srcOff, dstOff;

void main() {
	uint i = groupID().x * 256u + gl_LocalInvocationID.x;
	if (i < n) {
		dst[dstOff + i] = src[srcOff + i];
	}
}
