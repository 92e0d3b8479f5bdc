#version 450
// activations: f16 bf16
// Elementwise binary op with NumPy broadcasting over up to 6 axes: out = a OP b.
// OP (constant 3): 0 add, 1 subtract, 2 multiply, 3 divide, 4 maximum, 5 minimum.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint OP = 0;
layout(std430, binding = 0) readonly buffer A { A_T a[]; };
layout(std430, binding = 1) readonly buffer B { A_T b[]; };
layout(std430, binding = 2) writeonly buffer Out { A_T result[]; };
layout(push_constant) uniform Parameters {
    uint count;
    uint dims[6];      // output shape, outermost first, padded with 1 in front
    uint a_strides[6]; // element strides of a (0 on broadcast axes)
    uint b_strides[6];
};

void main() {
    uint i = linear_invocation();
    if (i >= count) return;
    uint rest = i;
    uint ai = 0;
    uint bi = 0;
    for (int axis = 5; axis >= 0; axis--) {
        uint coordinate = rest % dims[axis];
        rest /= dims[axis];
        ai += coordinate * a_strides[axis];
        bi += coordinate * b_strides[axis];
    }
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
