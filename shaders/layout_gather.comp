#version 450
// variant: b32
// variant: b16 -DBITS16
// Strided gather: out[i] = in[base + sum(coordinate(i, axis) * strides[axis])] over up to 6 axes, where the
// coordinates are those of i in the row-major output shape `dims`. Elements move as raw bits (32- or 16-bit), so
// f32, f16 and bf16 keep their storage type. Permutes that keep the last axis, slices (base and the outer
// strides), and nearest upsampling (stride 0 on the repeat axes) are all this kernel.
// RANK (constant 3): the axes in use, the innermost ones, so that each invocation divides by RANK - 1 extents.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint RANK = 6;
#if defined(BITS16)
#define ELEM_T uint16_t
#else
#define ELEM_T uint
#endif
layout(std430, binding = 0) readonly buffer Input { ELEM_T source[]; };
layout(std430, binding = 1) writeonly buffer Output { ELEM_T result[]; };
layout(push_constant) uniform Parameters {
    uint count;
    uint base;
    uint dims[6];    // output shape, outermost first, padded with 1 in front
    uint strides[6]; // input element stride of each output axis
    uint dims_multiplier[6]; // fast_divide's multiplier and shift of each extent
    uint dims_shift[6];
};

void main() {
    uint i = linear_invocation();
    if (i >= count) return;
    uint rest = i;
    uint index = base;
    for (uint axis = 5; axis > 6 - RANK; axis--) {
        uint quotient = fast_divide(rest, dims_multiplier[axis], dims_shift[axis]);
        uint coordinate = rest - quotient * dims[axis];
        rest = quotient;
        index += coordinate * strides[axis];
    }
    // The outermost axis in use takes what is left (i < count bounds it).
    index += rest * strides[6 - RANK];
    result[i] = source[index];
}
