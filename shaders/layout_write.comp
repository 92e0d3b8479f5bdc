#version 450
// variant: b32
// variant: b16 -DBITS16
// Writes a block into part of a larger buffer, leaving the rest as it was: the source, seen as [outer, width], goes
// to target[o * row + base + j]. A KV cache filled one step at a time is this kernel (the rows of the step's keys
// into their place along the cache's sequence axis). Elements move as raw bits, so the source and the target share
// their storage type.
#include "common.glsl"
layout(local_size_x_id = 0) in;
#if defined(BITS16)
#define ELEM_T uint16_t
#else
#define ELEM_T uint
#endif
layout(std430, binding = 0) readonly buffer Input { ELEM_T source[]; };
layout(std430, binding = 1) buffer Output { ELEM_T result[]; };
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
    result[o * row + base + (i - o * width)] = source[i];
}
