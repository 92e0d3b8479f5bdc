#version 450
// variant: b32
// variant: b16 -DBITS16
// Reverses one axis: the input viewed as [outer, length, inner] gives out[o, l, i] = in[o, length - 1 - l, i].
// Elements move as raw bits (32- or 16-bit), so every storage type is kept.
#include "common.glsl"
layout(local_size_x_id = 0) in;
#if defined(BITS16)
#define ELEM_T uint16_t
#else
#define ELEM_T uint
#endif
layout(std430, binding = 0) readonly buffer Input { ELEM_T source[]; };
layout(std430, binding = 1) writeonly buffer Output { ELEM_T result[]; };
layout(push_constant) uniform Parameters {
    uint count;
    uint length;
    uint inner;
};

void main() {
    uint i = linear_invocation();
    if (i >= count) return;
    uint position = (i / inner) % length;
    result[i] = source[i + (length - 1 - 2 * position) * inner];
}
