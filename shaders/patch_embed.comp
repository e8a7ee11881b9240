#version 430
// PatchEmbed, the ViT stem: a conv with kernel = stride = P (a #define) over img[3,H,W]
// with w[C,3,P,P] and bias[C]. One work group per output row (token) and 64 output
// channels: the token's 3·P·P pixels are staged in shared memory, each invocation
// computes one channel. With a cls token (off = 1) row 0 is cls; pos (optional, same
// shape as dst) is added to every row.
#include "common.glsl"
#define PP (3 * P * P)
layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer I_ { float img[]; };
layout(std430, binding = 1) readonly buffer W_ { float w[]; };
layout(std430, binding = 2) readonly buffer Bias_ { float bias[]; };
layout(std430, binding = 3) readonly buffer Cls_ { float cls[]; };
layout(std430, binding = 4) readonly buffer Pos_ { float pos[]; };
layout(std430, binding = 5) writeonly buffer D_ { float dst[]; };

uniform int C, GW, H, W, off, rows;
uniform bool hasPos;

shared float px[PP];

void main() {
	uvec3 g = groupID();
	int row = int(g.y);
	int o = int(g.x) * 64 + int(gl_LocalInvocationIndex);
	if (row >= rows) {
		return;
	}
	float v;
	if (row < off) {
		v = o < C ? cls[o] : 0.0;
	} else {
		int t = row - off, gy = t / GW, gx = t % GW;
		for (int e = int(gl_LocalInvocationIndex); e < PP; e += 64) {
			int ch = e / (P * P), ky = (e / P) % P, kx = e % P;
			px[e] = img[(ch * H + gy * P + ky) * W + gx * P + kx];
		}
		sync();
		if (o >= C) {
			return;
		}
		v = 0.0;
		int wb = o * PP;
		for (int e = 0; e < PP; e++) {
			v = fma(w[wb + e], px[e], v);
		}
		v += bias[o];
	}
	if (o < C) {
		if (hasPos) {
			v += pos[row * C + o];
		}
		dst[row * C + o] = v;
	}
}
