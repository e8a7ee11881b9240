// The exact GELU (shaders/gelu.glsl), x·Φ(x) with Φ(x) = (1 + erf(x/√2))/2. WGSL has
// no erf, so with z = |x|/√2:
//   z < 0.5: the Maclaurin series of erf to z^13 (truncation below 1e-9 relative);
//   otherwise: erfc(z) from the Chebyshev fit of Press et al. (Numerical Recipes
//   §6.2, fractional error < 1.2e-7 everywhere), and Φ(x) = erfc(z)/2 for x < 0,
//   1 − erfc(z)/2 for x ≥ 0, so that the negative tail keeps its relative accuracy.
// Prepended to the kernels that use it (WGSL has no #include).
fn normalCDF(x: f32) -> f32 {
	let z = abs(x) * 0.70710678118654752;
	if (z < 0.5) {
		let z2 = z * z;
		var s: f32 = 1.0 / 9360.0;
		s = s * z2 - 1.0 / 1320.0;
		s = s * z2 + 1.0 / 216.0;
		s = s * z2 - 1.0 / 42.0;
		s = s * z2 + 1.0 / 10.0;
		s = s * z2 - 1.0 / 3.0;
		s = s * z2 + 1.0;
		let e = 1.1283791670955126 * z * s; // 2/√π · Σ (−1)^n z^(2n+1) / (n!(2n+1))
		return select(0.5 + 0.5 * e, 0.5 - 0.5 * e, x < 0.0);
	}
	let t = 1.0 / (1.0 + 0.5 * z);
	var q: f32 = 0.17087277;
	q = q * t - 0.82215223;
	q = q * t + 1.48851587;
	q = q * t - 1.13520398;
	q = q * t + 0.27886807;
	q = q * t - 0.18628806;
	q = q * t + 0.09678418;
	q = q * t + 0.37409196;
	q = q * t + 1.00002368;
	q = q * t - 1.26551223;
	let half_erfc = 0.5 * t * exp(q - z * z);
	return select(1.0 - half_erfc, half_erfc, x < 0.0);
}

fn gelu(x: f32) -> f32 {
	return x * normalCDF(x);
}
