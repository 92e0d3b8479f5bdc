#version 450
// variant: f32_f16 -DOUT_F16
// variant: f32_bf16 -DOUT_BF16
// variant: f16_f32 -DIN_F16
// variant: bf16_f32 -DIN_BF16
// variant: f32_f32
// variant: f16_f16 -DIN_F16 -DOUT_F16
// variant: bf16_bf16 -DIN_BF16 -DOUT_BF16
// variant: f8e4m3fn_f32 -DIN_F8E4M3FN
// variant: f8e5m2_f32 -DIN_F8E5M2
// Converts between storage types (and copies, bit for bit, when both are the same). Rounds to nearest even into
// f16/bf16. Float8 input (bytes packed four to a word) is decoded exactly and multiplied by its per-tensor `scale`.
#include "common.glsl"
layout(local_size_x_id = 0) in;
#if defined(IN_F16)
#define IN_T float16_t
#define IN_READ(buffer, i) F16_LOAD((buffer)[i])
#elif defined(IN_BF16)
#define IN_T uint16_t
#define IN_READ(buffer, i) BF16_LOAD((buffer)[i])
#elif defined(IN_F8E4M3FN)
#define IN_T uint
#define IN_READ(buffer, i) (f8e4m3fn_to_float(byte_of_word((buffer)[(i) >> 2], (i))) * scale)
#elif defined(IN_F8E5M2)
#define IN_T uint
#define IN_READ(buffer, i) (f8e5m2_to_float(byte_of_word((buffer)[(i) >> 2], (i))) * scale)
#else
#define IN_T float
#define IN_READ(buffer, i) ((buffer)[i])
#endif
layout(std430, binding = 0) readonly buffer Input { IN_T source[]; };
#if defined(OUT_F16)
layout(std430, binding = 1) writeonly buffer Output { float16_t destination[]; };
#elif defined(OUT_BF16)
layout(std430, binding = 1) writeonly buffer Output { uint16_t destination[]; };
#else
layout(std430, binding = 1) writeonly buffer Output { float destination[]; };
#endif
layout(push_constant) uniform Parameters {
    uint count;
    float scale;
};

void main() {
    uint i = linear_invocation();
    if (i >= count) return;
#if (defined(IN_F16) && defined(OUT_F16)) || (defined(IN_BF16) && defined(OUT_BF16))
    destination[i] = source[i];
#else
    float x = IN_READ(source, i);
#if defined(OUT_F16)
    destination[i] = float16_t(x);
#elif defined(OUT_BF16)
    destination[i] = uint16_t(float_to_bf16_bits(x));
#else
    destination[i] = x;
#endif
#endif
}
