#version 450
// variant: b32
// variant: b16 -DBITS16
// Concatenation of up to 7 inputs along one axis, seen as [outer, inner_k] blocks: output row o is the rows o of
// inputs 0..6 side by side. Unused inputs are bound to input 0 and have zero width. Elements move as raw bits.
#include "common.glsl"
layout(local_size_x_id = 0) in;
#if defined(BITS16)
#define ELEM_T uint16_t
#else
#define ELEM_T uint
#endif
layout(std430, binding = 0) readonly buffer Input0 { ELEM_T in0[]; };
layout(std430, binding = 1) readonly buffer Input1 { ELEM_T in1[]; };
layout(std430, binding = 2) readonly buffer Input2 { ELEM_T in2[]; };
layout(std430, binding = 3) readonly buffer Input3 { ELEM_T in3[]; };
layout(std430, binding = 4) readonly buffer Input4 { ELEM_T in4[]; };
layout(std430, binding = 5) readonly buffer Input5 { ELEM_T in5[]; };
layout(std430, binding = 6) readonly buffer Input6 { ELEM_T in6[]; };
layout(std430, binding = 7) writeonly buffer Output { ELEM_T result[]; };
layout(push_constant) uniform Parameters {
    uint count;
    uint row;       // output row length: the sum of the input widths
    uint starts[8]; // column where input k starts; starts[7] = row
};

void main() {
    uint i = linear_invocation();
    if (i >= count) return;
    uint o = i / row;
    uint j = i - o * row;
    uint k = 0;
    while (k < 6 && j >= starts[k + 1]) k++;
    uint width = starts[k + 1] - starts[k];
    uint index = o * width + (j - starts[k]);
    uint value;
    if (k == 0) value = uint(in0[index]);
    else if (k == 1) value = uint(in1[index]);
    else if (k == 2) value = uint(in2[index]);
    else if (k == 3) value = uint(in3[index]);
    else if (k == 4) value = uint(in4[index]);
    else if (k == 5) value = uint(in5[index]);
    else value = uint(in6[index]);
    result[i] = ELEM_T(value);
}
