// Shared declarations for Kinora's compute shaders: storage types and indexing.
//
// Storage types: tensors are stored as float (f32), float16_t (f16) or uint16_t holding bfloat16 bits (bf16).
// Shaders compute in fp32 on the scalar tier and convert on load with the *_LOAD macros, which need only
// 16-bit storage (no fp16/int16 arithmetic capability).
#extension GL_EXT_shader_16bit_storage : require

#define F16_LOAD(x) float(x)
#define BF16_LOAD(x) uintBitsToFloat(uint(x) << 16)

// Weight storage type chosen by the variant's define (W_F16, W_BF16, or f32 by default).
#if defined(W_F16)
#define W_T float16_t
#define W_LOAD(x) F16_LOAD(x)
#elif defined(W_BF16)
#define W_T uint16_t
#define W_LOAD(x) BF16_LOAD(x)
#else
#define W_T float
#define W_LOAD(x) (x)
#endif

// The workgroup's x size: the same specialization constant as `local_size_x_id = 0`. Read it from here, not from
// gl_WorkGroupSize, which Mesa 22 (Debian 12's lavapipe) leaves at its unspecialised default.
layout(constant_id = 0) const uint WORKGROUP_SIZE = 64;

// Flattened invocation index over a 2-D grid of workgroups (x is capped at 65535 workgroups per dimension).
uint linear_invocation() {
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WORKGROUP_SIZE + gl_LocalInvocationID.x;
}

// Flattened workgroup index over a 2-D grid of workgroups.
uint linear_workgroup() {
    return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
}
