// Shared declarations for Kinora's compute shaders: storage types and indexing.
//
// Storage types: tensors are stored as float (f32), float16_t (f16) or uint16_t holding bfloat16 bits (bf16);
// float8 weights (e4m3fn, e5m2) as bytes packed into uint words.
// Shaders compute in fp32 on the scalar tier and convert on load with the *_LOAD macros, which need only
// 16-bit storage (no fp16/int16 arithmetic capability).
#extension GL_EXT_shader_16bit_storage : require

#define F16_LOAD(x) float(x)
#define BF16_LOAD(x) uintBitsToFloat(uint(x) << 16)

// f32 to bfloat16 bits, rounding to nearest even (NaN stays a quiet NaN), as the host's conversion does.
uint float_to_bf16_bits(float x) {
    uint bits = floatBitsToUint(x);
    uint rounded = isnan(x) ? (bits | 0x400000u) : bits + 0x7FFFu + ((bits >> 16) & 1u);
    return rounded >> 16;
}

// Activation storage type, chosen by the variant's define (A_F16, A_BF16, or f32 by default; the plugin adds the
// defines for a shader whose header says `// activations: f16 bf16`). Activations are stored in A_T and computed in
// fp32: A_LOAD widens a stored element, A_STORE rounds an fp32 value to nearest even for storage.
#if defined(A_F16)
#define A_T float16_t
#define A_LOAD(x) F16_LOAD(x)
#define A_STORE(x) float16_t(x)
#elif defined(A_BF16)
#define A_T uint16_t
#define A_LOAD(x) BF16_LOAD(x)
#define A_STORE(x) uint16_t(float_to_bf16_bits(x))
#else
#define A_T float
#define A_LOAD(x) (x)
#define A_STORE(x) (x)
#endif

// float8 bits (in the low byte of `bits`) to fp32, exactly. e4m3fn (PyTorch's float8_e4m3fn): bias 7, subnormals
// m * 2^-9, no infinities, NaN only at 0x7F/0xFF, largest finite 448. e5m2: the upper byte of an IEEE binary16, with
// subnormals m * 2^-16, infinities and NaN. Written with integer ops so no driver's denormal or half-conversion
// behaviour is involved; the sign is applied last, so 0x80 is -0.0.
float f8e4m3fn_to_float(uint bits) {
    uint magnitude = bits & 0x7Fu;
    float value;
    if (magnitude == 0x7Fu) {
        value = uintBitsToFloat(0x7FC00000u);
    } else if (magnitude < 0x08u) {
        value = float(magnitude) * (1.0 / 512.0);
    } else {
        value = uintBitsToFloat((magnitude << 20) + (120u << 23));
    }
    return uintBitsToFloat(floatBitsToUint(value) | ((bits & 0x80u) << 24));
}

float f8e5m2_to_float(uint bits) {
    uint magnitude = bits & 0x7Fu;
    float value;
    if (magnitude >= 0x7Cu) {
        value = uintBitsToFloat(magnitude == 0x7Cu ? 0x7F800000u : 0x7FC00000u);
    } else if (magnitude < 0x04u) {
        value = float(magnitude) * (1.0 / 65536.0);
    } else {
        value = uintBitsToFloat((magnitude << 21) + (112u << 23));
    }
    return uintBitsToFloat(floatBitsToUint(value) | ((bits & 0x80u) << 24));
}

// Byte `index % 4` of a little-endian word holding elements 4 * (index / 4) ... 4 * (index / 4) + 3.
uint byte_of_word(uint word, uint index) {
    return (word >> ((index & 3u) << 3)) & 0xFFu;
}

// Weight storage type chosen by the variant's define (W_F16, W_BF16, W_F8E4M3FN, W_F8E5M2, or f32 by default).
// W_READ(buffer, i) reads element i of a weight buffer as fp32. Float8 weights are bytes packed four to a uint
// word (no 8-bit storage feature needed), and W_READ multiplies them by the tensor's per-tensor scale, which the
// shader declares as the push constant `w_scale`; W_READ_UNSCALED leaves the scale out (for kernels that apply it
// to the product). Bias storage (B_T, B_READ) is the weight's type unless B_F32, B_F16 or B_BF16 says otherwise;
// float8 variants must say, since biases are never float8.
#if defined(W_F8E4M3FN) || defined(W_F8E5M2)
#define W_FLOAT8
#define W_T uint
#if defined(W_F8E4M3FN)
#define W_READ_UNSCALED(buffer, i) f8e4m3fn_to_float(byte_of_word((buffer)[(i) >> 2], (i)))
#else
#define W_READ_UNSCALED(buffer, i) f8e5m2_to_float(byte_of_word((buffer)[(i) >> 2], (i)))
#endif
#define W_READ(buffer, i) (W_READ_UNSCALED(buffer, i) * w_scale)
#else
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
#define W_READ(buffer, i) W_LOAD((buffer)[i])
#define W_READ_UNSCALED(buffer, i) W_READ(buffer, i)
#endif

#if defined(B_F32)
#define B_T float
#define B_READ(buffer, i) ((buffer)[i])
#elif defined(B_F16)
#define B_T float16_t
#define B_READ(buffer, i) F16_LOAD((buffer)[i])
#elif defined(B_BF16)
#define B_T uint16_t
#define B_READ(buffer, i) BF16_LOAD((buffer)[i])
#elif defined(W_FLOAT8)
#error "a float8 weight variant needs a bias type: B_F32, B_F16 or B_BF16"
#else
#define B_T W_T
#define B_READ(buffer, i) W_READ(buffer, i)
#endif

// The workgroup's x size: the same specialization constant as `local_size_x_id = 0`. Read it from here, not from
// gl_WorkGroupSize, which Mesa 22 (Debian 12's lavapipe) leaves at its unspecialised default.
layout(constant_id = 0) const uint WORKGROUP_SIZE = 64;

// Flattened invocation index over a 2-D grid of workgroups (x is capped at 65535 workgroups per dimension).
uint linear_invocation() {
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WORKGROUP_SIZE + gl_LocalInvocationID.x;
}

// n / d for n < 2^31, by a multiply and a shift with d's multiplier and shift (`FastDivisor` on the host): CPUs have no
// vector integer division, and GPUs run it as a long sequence.
uint fast_divide(uint n, uint multiplier, uint shift) {
    uint high;
    uint low;
    umulExtended(n, multiplier, high, low);
    return (high + n) >> shift;
}

// Flattened workgroup index over a 2-D grid of workgroups.
uint linear_workgroup() {
    return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
}
