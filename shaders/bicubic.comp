#version 430
// Bicubic resize of a grid of C-vectors src[Hi·Wi, C] to dst[Ho·Wo, C] (PyTorch
// semantics, a = −0.75, align_corners = false, clamped borders). The taps are computed
// on the host in float64 (kernels.BicubicTaps): for each output row (ty) and column
// (tx), 5 floats: the floor source index, then the four weights.
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer S_ { float src[]; };
layout(std430, binding = 1) readonly buffer TY_ { float ty[]; };
layout(std430, binding = 2) readonly buffer TX_ { float tx[]; };
layout(std430, binding = 3) writeonly buffer D_ { float dst[]; };

uniform int Hi, Wi, Ho, Wo, C;

void main() {
	int e = int(groupID().x) * 256 + int(gl_LocalInvocationIndex);
	if (e >= Ho * Wo * C) {
		return;
	}
	int ch = e % C, ox = (e / C) % Wo, oy = e / (C * Wo);
	int y0 = int(ty[oy * 5]), x0 = int(tx[ox * 5]);
	float s = 0.0;
	for (int a = 0; a < 4; a++) {
		int sy = clamp(y0 - 1 + a, 0, Hi - 1);
		float r = 0.0;
		for (int b = 0; b < 4; b++) {
			int sx = clamp(x0 - 1 + b, 0, Wi - 1);
			r = fma(tx[ox * 5 + 1 + b], src[(sy * Wi + sx) * C + ch], r);
		}
		s = fma(ty[oy * 5 + 1 + a], r, s);
	}
	dst[e] = s;
}
