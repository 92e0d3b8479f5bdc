#version 450
// variant: f32_f16 -DOUT_F16
// variant: f32_bf16 -DOUT_BF16
// variant: f16_f32 -DIN_F16
// variant: bf16_f32 -DIN_BF16
// variant: f32_f32
// Converts between storage types (and copies when both are f32). Rounds to nearest even into f16/bf16.
#include "common.glsl"
layout(local_size_x_id = 0) in;
#if defined(IN_F16)
#define IN_T float16_t
#define IN_LOAD(x) F16_LOAD(x)
#elif defined(IN_BF16)
#define IN_T uint16_t
#define IN_LOAD(x) BF16_LOAD(x)
#else
#define IN_T float
#define IN_LOAD(x) (x)
#endif
layout(std430, binding = 0) readonly buffer Input { IN_T source[]; };
#if defined(OUT_F16)
layout(std430, binding = 1) writeonly buffer Output { float16_t destination[]; };
#elif defined(OUT_BF16)
layout(std430, binding = 1) writeonly buffer Output { uint16_t destination[]; };
#else
layout(std430, binding = 1) writeonly buffer Output { float destination[]; };
#endif
layout(push_constant) uniform Parameters { uint count; };

void main() {
    uint i = linear_invocation();
    if (i >= count) return;
    float x = IN_LOAD(source[i]);
#if defined(OUT_F16)
    destination[i] = float16_t(x);
#elif defined(OUT_BF16)
    uint bits = floatBitsToUint(x);
    uint rounded = isnan(x) ? (bits | 0x400000u) : bits + 0x7FFFu + ((bits >> 16) & 1u);
    destination[i] = uint16_t(rounded >> 16);
#else
    destination[i] = x;
#endif
}
