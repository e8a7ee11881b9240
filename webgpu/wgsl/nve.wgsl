// NVE (shaders/nve.comp), the Normal Variation Eraser (spec §5), one work group per
// target row f_i, with K neighbours, R erased directions and C channels (consts the
// host prepends):
//   w = softmax(vals_i); μ = Σ w_t n_t; X_t = √w_t (n_t − μ); G = X Xᵀ (K×K);
//   G's eigenpairs by cyclic Jacobi (one invocation: K is small);
//   u_l = normalise(Xᵀ v_l / √(λ_l + 1e-8)) for the R largest; e = f − μ;
//   dst_i = e − α Σ_l (u_l·e) u_l.
// WGSL has no f64, which the GLSL uses for G and the sweeps; both are float32 here.
// G's dots are fma chains over X, which is centred (no cancellation of large means),
// and the sweeps use Rutishauser's update (the pivot set to 0, the diagonal moved by
// t·a_pq) and stop relative to the matrix: a pivot at or below 2⁻²⁴‖G‖_F is rounding
// noise and is not rotated (a sweep cap of 50 bounds the rest). Against the float64
// reference this leaves a normalised MSE near 1e-14 (compensated double-f32 Gram dots
// were tried and gained nothing). The row is the work group's linear index.
struct Params {
	Na: u32,
	alpha: f32,
	pad0: u32,
	pad1: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> f: array<f32>;
@group(0) @binding(2) var<storage, read> normals: array<f32>;
@group(0) @binding(3) var<storage, read> vals: array<f32>;
@group(0) @binding(4) var<storage, read> idx: array<f32>;
@group(0) @binding(5) var<storage, read_write> dst: array<f32>;

// RS sizes the per-direction arrays (an array cannot be empty when R = 0).
const RS = max(R, 1u);

var<workgroup> mu: array<f32, C>;
var<workgroup> sw: array<f32, K>; // √w_t
var<workgroup> nb: array<u32, K>; // row offsets n_t·C
var<workgroup> G: array<f32, K * K>;
var<workgroup> V: array<f32, K * K>;
var<workgroup> coef: array<f32, RS * K>; // v_l[t] / √(λ_l + 1e-8)

// x returns X_t[d] = √w_t (n_t[d] − μ[d]).
fn x(t: u32, d: u32) -> f32 {
	return sw[t] * (normals[nb[t] + d] - mu[d]);
}

// softmax sets sw and nb from the row's neighbours.
fn softmax(row: u32) {
	var mx = vals[row * K];
	for (var t = 1u; t < K; t++) {
		mx = max(mx, vals[row * K + t]);
	}
	var z = 0.0;
	for (var t = 0u; t < K; t++) {
		z += exp(vals[row * K + t] - mx);
	}
	for (var t = 0u; t < K; t++) {
		sw[t] = sqrt(exp(vals[row * K + t] - mx) / z);
		nb[t] = u32(idx[row * K + t]) * C;
	}
}

// gram returns Σ_d X_a[d] X_b[d].
fn gram(a: u32, b: u32) -> f32 {
	var s = 0.0;
	for (var d = 0u; d < C; d++) {
		s = fma(x(a, d), x(b, d), s);
	}
	return s;
}

// offNorm returns the largest |G_pq| above the diagonal.
fn offNorm() -> f32 {
	var m = 0.0;
	for (var p = 0u; p < K; p++) {
		for (var q = p + 1u; q < K; q++) {
			m = max(m, abs(G[p * K + q]));
		}
	}
	return m;
}

// rotate annihilates G_pq (Rutishauser's form of the Jacobi rotation) and
// accumulates the rotation into V.
fn rotate(p: u32, q: u32) {
	let apq = G[p * K + q];
	let theta = (G[q * K + q] - G[p * K + p]) / (2.0 * apq);
	var t = 1.0 / (abs(theta) + sqrt(theta * theta + 1.0));
	if (theta < 0.0) {
		t = -t;
	}
	let cs = 1.0 / sqrt(t * t + 1.0);
	let sn = t * cs;
	let tau = sn / (1.0 + cs);
	G[p * K + p] -= t * apq;
	G[q * K + q] += t * apq;
	G[p * K + q] = 0.0;
	G[q * K + p] = 0.0;
	for (var r = 0u; r < K; r++) {
		if (r != p && r != q) {
			let grp = G[r * K + p];
			let grq = G[r * K + q];
			let np = grp - sn * (grq + grp * tau);
			let nq = grq + sn * (grp - grq * tau);
			G[r * K + p] = np;
			G[p * K + r] = np;
			G[r * K + q] = nq;
			G[q * K + r] = nq;
		}
		let vrp = V[r * K + p];
		let vrq = V[r * K + q];
		V[r * K + p] = vrp - sn * (vrq + vrp * tau);
		V[r * K + q] = vrq + sn * (vrp - vrq * tau);
	}
}

// jacobi diagonalises G into its eigenvalues, with the eigenvectors in V's columns.
fn jacobi() {
	var norm = 0.0;
	for (var a = 0u; a < K * K; a++) {
		V[a] = select(0.0, 1.0, a / K == a % K);
		norm = fma(G[a], G[a], norm);
	}
	let tol = sqrt(norm) * 5.9604645e-8; // 2⁻²⁴‖G‖_F
	for (var sweep = 0; sweep < 50 && offNorm() > tol; sweep++) {
		for (var p = 0u; p < K; p++) {
			for (var q = p + 1u; q < K; q++) {
				if (abs(G[p * K + q]) > tol) {
					rotate(p, q);
				}
			}
		}
	}
}

// leading sets coef to the R leading eigenvectors, each scaled by 1/√(λ + 1e-8); the
// largest eigenvalues first, ties to the lower position (a stable sort).
fn leading() {
	var used: array<bool, K>;
	for (var l = 0u; l < R; l++) {
		var best = K;
		for (var t = 0u; t < K; t++) {
			if (!used[t] && (best == K || G[t * K + t] > G[best * K + best])) {
				best = t;
			}
		}
		used[best] = true;
		let s = 1.0 / sqrt(max(G[best * K + best], 0.0) + 1e-8);
		for (var t = 0u; t < K; t++) {
			coef[l * K + t] = V[t * K + best] * s;
		}
	}
}

// dir returns the unnormalised u_l[d] = Σ_t X_t[d] coef_l[t].
fn dir(l: u32, d: u32) -> f32 {
	var s = 0.0;
	for (var t = 0u; t < K; t++) {
		s = fma(x(t, d), coef[l * K + t], s);
	}
	return s;
}

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
	let row = wg.y * nwg.x + wg.x;
	if (row >= u.Na) {
		return;
	}
	if (li == 0u) {
		softmax(row);
	}
	workgroupBarrier();
	for (var d = li; d < C; d += T) {
		var s = 0.0;
		for (var t = 0u; t < K; t++) {
			s = fma(sw[t] * sw[t], normals[nb[t] + d], s);
		}
		mu[d] = s;
	}
	workgroupBarrier();
	if (R > 0u) { // the eigenpairs only when directions are erased (R = 0: dst = f − μ)
		for (var p = li; p < K * K; p += T) {
			let a = p / K;
			let b = p % K;
			if (a <= b) {
				let s = gram(a, b);
				G[a * K + b] = s;
				G[b * K + a] = s;
			}
		}
		workgroupBarrier();
		if (li == 0u) {
			jacobi();
			leading();
		}
		workgroupBarrier();
	}
	// ‖u_l‖² and u_l·e, u_l unnormalised.
	var uu: array<f32, RS>;
	var ue: array<f32, RS>;
	for (var d = li; d < C; d += T) {
		let e = f[row * C + d] - mu[d];
		for (var l = 0u; l < R; l++) {
			let v = dir(l, d);
			uu[l] = fma(v, v, uu[l]);
			ue[l] = fma(v, e, ue[l]);
		}
	}
	var scl: array<f32, RS>; // α (û_l·e) / ‖u_l‖, so that the erase term is scl_l · u_l
	for (var l = 0u; l < R; l++) {
		let n = max(sqrt(groupSum(uu[l], li)), 1e-12);
		scl[l] = u.alpha * (groupSum(ue[l], li) / n) / n;
	}
	for (var d = li; d < C; d += T) {
		var o = f[row * C + d] - mu[d];
		for (var l = 0u; l < R; l++) {
			o -= scl[l] * dir(l, d);
		}
		dst[row * C + d] = o;
	}
}
