// Shared by every kernel.
//
// A dispatch larger than GL_MAX_COMPUTE_WORK_GROUP_COUNT is split by the host into
// several dispatches (gpu.Split); u_groupOffset is the first work group of the current
// one, so groupID() is the work group's position in the whole logical grid.
uniform uvec3 u_groupOffset;

uvec3 groupID() { return gl_WorkGroupID + u_groupOffset; }

// Optional inputs are bound to a dummy buffer and flagged absent with a 0 uniform.
const float NEG_INF = uintBitsToFloat(0xff800000u);

// sync is the work-group barrier with shared-memory ordering: barrier() alone orders
// execution, memoryBarrierShared() makes the shared writes before it visible after it.
void sync() {
	memoryBarrierShared();
	barrier();
}
