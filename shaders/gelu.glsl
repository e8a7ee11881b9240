// The exact GELU, x·Φ(x) with Φ(x) = (1 + erf(x/√2))/2. GLSL has no erf, so with
// z = |x|/√2:
//   z < 0.5: the Maclaurin series of erf to z^13 (truncation below 1e-9 relative);
//   otherwise: erfc(z) from the Chebyshev fit of Press et al. (Numerical Recipes
//   §6.2, fractional error < 1.2e-7 everywhere), and Φ(x) = erfc(z)/2 for x < 0,
//   1 − erfc(z)/2 for x ≥ 0, so that the negative tail keeps its relative accuracy.
float normalCDF(float x) {
	float z = abs(x) * 0.70710678118654752;
	if (z < 0.5) {
		float z2 = z * z;
		float s = 1.0 / 9360.0;
		s = s * z2 - 1.0 / 1320.0;
		s = s * z2 + 1.0 / 216.0;
		s = s * z2 - 1.0 / 42.0;
		s = s * z2 + 1.0 / 10.0;
		s = s * z2 - 1.0 / 3.0;
		s = s * z2 + 1.0;
		float e = 1.1283791670955126 * z * s; // 2/√π · Σ (−1)^n z^(2n+1) / (n!(2n+1))
		return 0.5 + (x < 0.0 ? -0.5 * e : 0.5 * e);
	}
	float t = 1.0 / (1.0 + 0.5 * z);
	float p = 0.17087277;
	p = p * t - 0.82215223;
	p = p * t + 1.48851587;
	p = p * t - 1.13520398;
	p = p * t + 0.27886807;
	p = p * t - 0.18628806;
	p = p * t + 0.09678418;
	p = p * t + 0.37409196;
	p = p * t + 1.00002368;
	p = p * t - 1.26551223;
	float half_erfc = 0.5 * t * exp(p - z * z);
	return x < 0.0 ? half_erfc : 1.0 - half_erfc;
}

float gelu(float x) { return x * normalCDF(x); }
