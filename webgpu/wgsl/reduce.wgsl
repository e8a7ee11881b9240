// Work-group sum reduction, prepended to the kernels that call groupSum (as
// shaders/reduce.glsl is to the GLSL ones). The work group has T invocations.

const T = 128u;
var<workgroup> red: array<f32, T>;

// groupSum returns the sum of v over the work group to every invocation; every
// invocation must call it.
fn groupSum(v: f32, i: u32) -> f32 {
	red[i] = v;
	workgroupBarrier();
	for (var s = T / 2u; s > 0u; s = s >> 1u) {
		if (i < s) {
			red[i] = red[i] + red[i + s];
		}
		workgroupBarrier();
	}
	let r = red[0];
	workgroupBarrier();
	return r;
}
