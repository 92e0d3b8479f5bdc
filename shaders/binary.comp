#version 450
// activations: f16 bf16
// Elementwise binary op with NumPy broadcasting over up to 6 axes: out = a OP b.
// OP (constant 3): 0 add, 1 subtract, 2 multiply, 3 divide, 4 maximum, 5 minimum. RANK (4): the axes in use, the
// innermost ones (the host merges the axes it can), so that each invocation divides by RANK - 1 extents.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint OP = 0;
layout(constant_id = 4) const uint RANK = 6;
layout(std430, binding = 0) readonly buffer A { A_T a[]; };
layout(std430, binding = 1) readonly buffer B { A_T b[]; };
layout(std430, binding = 2) writeonly buffer Out { A_T result[]; };
layout(push_constant) uniform Parameters {
    uint count;
    uint dims[6];      // output shape (merged axes), outermost first, padded with 1 in front
    uint a_strides[6]; // element strides of a (0 on broadcast axes)
    uint b_strides[6];
    uint dims_multiplier[6]; // fast_divide's multiplier and shift of each extent
    uint dims_shift[6];
};

void main() {
    uint i = linear_invocation();
    if (i >= count) return;
    uint rest = i;
    uint ai = 0;
    uint bi = 0;
    for (uint axis = 5; axis > 6 - RANK; axis--) {
        uint quotient = fast_divide(rest, dims_multiplier[axis], dims_shift[axis]);
        uint coordinate = rest - quotient * dims[axis];
        rest = quotient;
        ai += coordinate * a_strides[axis];
        bi += coordinate * b_strides[axis];
    }
    // The outermost axis in use takes what is left (i < count bounds it).
    ai += rest * a_strides[6 - RANK];
    bi += rest * b_strides[6 - RANK];
    float x = A_LOAD(a[ai]);
    float y = A_LOAD(b[bi]);
    float r;
    if (OP == 0) r = x + y;
    else if (OP == 1) r = x - y;
    else if (OP == 2) r = x * y;
    else if (OP == 3) r = x / y;
    else if (OP == 4) r = max(x, y);
    else r = min(x, y);
    result[i] = A_STORE(r);
}
