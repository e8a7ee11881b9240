#version 430
// NVE, the Normal Variation Eraser (spec §5), one work group per target row f_i, with
// K neighbours, R erased directions and C channels (uniforms, bounded by MAXK, MAXR
// and MAXC: as #defines, every size got its own fully unrolled program, which Mesa
// took up to 12 s to compile):
//   w = softmax(vals_i); μ = Σ w_t n_t; X_t = √w_t (n_t − μ); G = X Xᵀ (K×K, float64
//   dots); G's eigenpairs by cyclic Jacobi in float64 (one invocation: K is small);
//   u_l = normalise(Xᵀ v_l / √(λ_l + 1e-8)) for the R largest; e = f − μ;
//   dst_i = e − α Σ_l (u_l·e) u_l.
#include "common.glsl"
#define T 128u
layout(local_size_x = 128) in;
#include "reduce.glsl"

layout(std430, binding = 0) readonly buffer F_ { float f[]; };
layout(std430, binding = 1) readonly buffer N_ { float normals[]; };
layout(std430, binding = 2) readonly buffer Vals_ { float vals[]; };
layout(std430, binding = 3) readonly buffer Idx_ { float idx[]; };
layout(std430, binding = 4) writeonly buffer D_ { float dst[]; };

#define MAXK 32
#define MAXR 8
#define MAXC 3072
uniform int Na, K, R, C;
uniform float alpha;

shared float mu[MAXC];
shared float sw[MAXK];  // √w_t
shared int nb[MAXK];    // row offsets n_t·C
shared double G[MAXK * MAXK];
shared double V[MAXK * MAXK];
shared float coef[MAXR * MAXK]; // v_l[t] / √(λ_l + 1e-8)

void jacobi() {
	for (int a = 0; a < K; a++) {
		for (int b = 0; b < K; b++) {
			V[a * K + b] = a == b ? 1.0lf : 0.0lf;
		}
	}
	for (int sweep = 0; sweep < 100; sweep++) {
		double off = 0.0lf;
		for (int p = 0; p < K; p++) {
			for (int q = p + 1; q < K; q++) {
				off += G[p * K + q] * G[p * K + q];
			}
		}
		if (off < 1e-30lf) {
			break;
		}
		for (int p = 0; p < K; p++) {
			for (int q = p + 1; q < K; q++) {
				double apq = G[p * K + q];
				if (apq == 0.0lf) {
					continue;
				}
				double theta = (G[q * K + q] - G[p * K + p]) / (2.0lf * apq);
				double t = 1.0lf / (abs(theta) + sqrt(theta * theta + 1.0lf));
				if (theta < 0.0lf) {
					t = -t;
				}
				double cs = 1.0lf / sqrt(t * t + 1.0lf), sn = t * cs;
				for (int r = 0; r < K; r++) {
					double arp = G[r * K + p], arq = G[r * K + q];
					G[r * K + p] = cs * arp - sn * arq;
					G[r * K + q] = sn * arp + cs * arq;
				}
				for (int r = 0; r < K; r++) {
					double apr = G[p * K + r], aqr = G[q * K + r];
					G[p * K + r] = cs * apr - sn * aqr;
					G[q * K + r] = sn * apr + cs * aqr;
				}
				for (int r = 0; r < K; r++) {
					double vrp = V[r * K + p], vrq = V[r * K + q];
					V[r * K + p] = cs * vrp - sn * vrq;
					V[r * K + q] = sn * vrp + cs * vrq;
				}
			}
		}
	}
}

// x returns X_t[d] = √w_t (n_t[d] − μ[d]).
float x(int t, int d) { return sw[t] * (normals[nb[t] + d] - mu[d]); }

void main() {
	int row = int(groupID().x);
	if (row >= Na) {
		return;
	}
	int tid = int(gl_LocalInvocationIndex);
	if (tid == 0) {
		float mx = NEG_INF;
		for (int t = 0; t < K; t++) {
			mx = max(mx, vals[row * K + t]);
		}
		float z = 0.0;
		for (int t = 0; t < K; t++) {
			z += exp(vals[row * K + t] - mx);
		}
		for (int t = 0; t < K; t++) {
			sw[t] = sqrt(exp(vals[row * K + t] - mx) / z);
			nb[t] = int(idx[row * K + t]) * C;
		}
	}
	sync();
	for (int d = tid; d < C; d += int(T)) {
		float s = 0.0;
		for (int t = 0; t < K; t++) {
			s = fma(sw[t] * sw[t], normals[nb[t] + d], s);
		}
		mu[d] = s;
	}
	sync();
	for (int p = tid; p < K * K; p += int(T)) {
		int a = p / K, b = p % K;
		if (a <= b) {
			double s = 0.0lf;
			for (int d = 0; d < C; d++) {
				s += double(x(a, d)) * double(x(b, d));
			}
			G[a * K + b] = s;
			G[b * K + a] = s;
		}
	}
	sync();
	if (tid == 0) {
		jacobi();
		// The R largest eigenvalues, ties to the lower position (a stable sort).
		bool used[MAXK];
		for (int t = 0; t < K; t++) {
			used[t] = false;
		}
		for (int l = 0; l < R; l++) {
			int best = -1;
			for (int t = 0; t < K; t++) {
				if (!used[t] && (best < 0 || G[t * K + t] > G[best * K + best])) {
					best = t;
				}
			}
			used[best] = true;
			float s = float(1.0lf / sqrt(max(G[best * K + best], 0.0lf) + 1e-8lf));
			for (int t = 0; t < K; t++) {
				coef[l * K + t] = float(V[t * K + best]) * s;
			}
		}
	}
	sync();
	// ‖u_l‖² and u_l·e, u_l unnormalised.
	float uu[MAXR], ue[MAXR];
	for (int l = 0; l < R; l++) {
		uu[l] = 0.0;
		ue[l] = 0.0;
	}
	for (int d = tid; d < C; d += int(T)) {
		float e = f[row * C + d] - mu[d];
		for (int l = 0; l < R; l++) {
			float u = 0.0;
			for (int t = 0; t < K; t++) {
				u = fma(x(t, d), coef[l * K + t], u);
			}
			uu[l] = fma(u, u, uu[l]);
			ue[l] = fma(u, e, ue[l]);
		}
	}
	float scl[MAXR]; // α (û_l·e) / ‖u_l‖, so that the erase term is scl_l · u_l
	for (int l = 0; l < R; l++) {
		float n = max(sqrt(groupSum(uu[l])), 1e-12);
		scl[l] = alpha * (groupSum(ue[l]) / n) / n;
	}
	for (int d = tid; d < C; d += int(T)) {
		float out_ = f[row * C + d] - mu[d];
		for (int l = 0; l < R; l++) {
			float u = 0.0;
			for (int t = 0; t < K; t++) {
				u = fma(x(t, d), coef[l * K + t], u);
			}
			out_ -= scl[l] * u;
		}
		dst[row * C + d] = out_;
	}
}
