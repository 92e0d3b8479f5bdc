#version 450
// activations: f16 bf16
// Reduction over the middle axis of a tensor seen as [outer, n, inner]: out[o, c] = OP over k of in[o, k, c].
// A workgroup is TX columns x TY lanes: each thread folds every TY-th element of its column, then the TY partial
// results are combined by a tree in shared memory. TX = 1 gives one workgroup per row for the last axis.
// OP (constant 3): 0 sum (times `scale`, so a mean is a sum with scale 1/n), 1 maximum, 2 minimum.
// Input and result are activations (A_T); the partial results are f32 and each result is rounded once.
#include "common.glsl"
layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 1) const uint TY = 8; // a power of two
layout(constant_id = 3) const uint OP = 0;
layout(std430, binding = 0) readonly buffer Input { A_T source[]; };
layout(std430, binding = 1) writeonly buffer Output { A_T result[]; };
layout(push_constant) uniform Parameters { uint outer; uint n; uint inner; float scale; };

shared float partial[WORKGROUP_SIZE * TY];

float combine(float a, float b) {
    if (OP == 1) return max(a, b);
    if (OP == 2) return min(a, b);
    return a + b;
}

void main() {
    const uint TX = WORKGROUP_SIZE;
    uint lx = gl_LocalInvocationID.x;
    uint ly = gl_LocalInvocationID.y;
    float identity = OP == 1 ? uintBitsToFloat(0xFF800000u) : (OP == 2 ? uintBitsToFloat(0x7F800000u) : 0.0);
    for (uint o = gl_WorkGroupID.y; o < outer; o += gl_NumWorkGroups.y) {
        for (uint c0 = gl_WorkGroupID.x * TX; c0 < inner; c0 += gl_NumWorkGroups.x * TX) {
            uint column = c0 + lx;
            float accumulator = identity;
            if (column < inner) {
                uint index = (o * n + ly) * inner + column;
                for (uint k = ly; k < n; k += TY) {
                    accumulator = combine(accumulator, A_LOAD(source[index]));
                    index += TY * inner;
                }
            }
            partial[ly * TX + lx] = accumulator;
            barrier();
            for (uint half_size = TY / 2; half_size > 0; half_size /= 2) {
                if (ly < half_size) {
                    partial[ly * TX + lx] = combine(partial[ly * TX + lx], partial[(ly + half_size) * TX + lx]);
                }
                barrier();
            }
            if (ly == 0 && column < inner) {
                result[o * inner + column] = A_STORE(OP == 0 ? partial[lx] * scale : partial[lx]);
            }
            barrier();
        }
    }
}
