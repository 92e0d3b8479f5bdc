#version 450
// variant: b32
// variant: b16 -DBITS16
// variant: f32_f16 -DIN_F32 -DOUT_F16
// variant: f32_bf16 -DIN_F32 -DOUT_BF16
// variant: f16_f32 -DIN_F16 -DOUT_F32
// variant: f16_bf16 -DIN_F16 -DOUT_BF16
// variant: bf16_f32 -DIN_BF16 -DOUT_F32
// variant: bf16_f16 -DIN_BF16 -DOUT_F16
// Writes a block into part of a larger buffer, leaving the rest as it was: the source, seen as [outer, width], goes
// to target[o * row + base + j]. A KV cache filled one step at a time is this kernel (the rows of the step's keys
// into their place along the cache's sequence axis). Where the source and the target share their storage type
// (b32, b16) elements move as raw bits; otherwise (variant SOURCE_TARGET) each element is converted as it moves,
// rounding to nearest even, so a 16-bit source reaches a cache of another type without a pass through f32.
#include "common.glsl"
layout(local_size_x_id = 0) in;
#if defined(BITS16)
#define IN_T uint16_t
#define OUT_T uint16_t
#define CONVERT(x) (x)
#elif !defined(IN_F32) && !defined(IN_F16) && !defined(IN_BF16)
#define IN_T uint
#define OUT_T uint
#define CONVERT(x) (x)
#else
#if defined(IN_F32)
#define IN_T float
#define IN_LOAD(x) (x)
#elif defined(IN_F16)
#define IN_T float16_t
#define IN_LOAD(x) F16_LOAD(x)
#else
#define IN_T uint16_t
#define IN_LOAD(x) BF16_LOAD(x)
#endif
#if defined(OUT_F32)
#define OUT_T float
#define CONVERT(x) IN_LOAD(x)
#elif defined(OUT_F16)
#define OUT_T float16_t
#define CONVERT(x) float16_t(IN_LOAD(x))
#else
#define OUT_T uint16_t
#define CONVERT(x) uint16_t(float_to_bf16_bits(IN_LOAD(x)))
#endif
#endif
layout(std430, binding = 0) readonly buffer Input { IN_T source[]; };
layout(std430, binding = 1) buffer Output { OUT_T result[]; };
layout(push_constant) uniform Parameters {
    uint count; // outer * width
    uint width; // elements of one source row
    uint row;   // elements of one target row
    uint base;  // where the first source row starts in the target
};

void main() {
    uint i = linear_invocation();
    if (i >= count) return;
    uint o = i / width;
    result[o * row + base + (i - o * width)] = CONVERT(source[i]);
}
