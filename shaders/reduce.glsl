// Work-group reductions for kernels with a 1-D work group of T invocations (T a power
// of two, defined by the including shader). Every invocation must call them (they
// contain barriers), and each returns the result to all invocations.
shared float red_[T];

float groupSum(float v) {
	uint i = gl_LocalInvocationIndex;
	red_[i] = v;
	sync();
	for (uint s = T / 2u; s > 0u; s >>= 1) {
		if (i < s) {
			red_[i] += red_[i + s];
		}
		sync();
	}
	float r = red_[0];
	sync();
	return r;
}

float groupMax(float v) {
	uint i = gl_LocalInvocationIndex;
	red_[i] = v;
	sync();
	for (uint s = T / 2u; s > 0u; s >>= 1) {
		if (i < s) {
			red_[i] = max(red_[i], red_[i + s]);
		}
		sync();
	}
	float r = red_[0];
	sync();
	return r;
}
