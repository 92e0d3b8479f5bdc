#version 450
// activations: f16 bf16
// Softmax along one axis of a row-major tensor of activations (A_T) viewed as [outer, length, inner]: workgroup w
// normalises the `length` elements at (w / inner, :, w % inner), `inner` apart (1 for the last axis). Numerically
// stable: each thread keeps an online (max, sum of exp(x - max)) pair, merged in shared memory. -inf entries weigh
// nothing; a row of only -inf gives zeros. The max, the sums and the normalisation are f32; each result is rounded
// once. ROW_PER_INVOCATION (constant 3): each invocation, not each workgroup, takes one row alone, with no shared
// memory and no barrier (CPU drivers, where a barrier switches every invocation of the workgroup in turn).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const bool ROW_PER_INVOCATION = false;
layout(std430, binding = 0) readonly buffer Input { A_T x[]; };
layout(std430, binding = 1) writeonly buffer Output { A_T result[]; };
layout(push_constant) uniform Parameters {
    uint rows;
    uint length;
    uint inner;
};

shared float shared_max[WORKGROUP_SIZE];
shared float shared_sum[WORKGROUP_SIZE];

const float NEG_INF = -1.0 / 0.0;

// Rescales a (max, sum) pair to a new max; an empty pair (max -inf) contributes nothing.
float rescaled(float sum, float old_max, float new_max) {
    return old_max == NEG_INF ? 0.0 : sum * exp(old_max - new_max);
}

void main() {
    uint thread = ROW_PER_INVOCATION ? 0 : gl_LocalInvocationID.x;
    uint stride = ROW_PER_INVOCATION ? 1 : WORKGROUP_SIZE;
    uint row = ROW_PER_INVOCATION ? linear_invocation() : linear_workgroup();
    if (row >= rows) return;
    uint base = (row / inner) * length * inner + row % inner;

    float row_max = NEG_INF;
    float sum = 0.0;
    for (uint i = thread; i < length; i += stride) {
        float value = A_LOAD(x[base + i * inner]);
        if (value == NEG_INF) continue;
        if (value > row_max) {
            sum = rescaled(sum, row_max, value) + 1.0;
            row_max = value;
        } else {
            sum += exp(value - row_max);
        }
    }
    if (!ROW_PER_INVOCATION) {
        shared_max[thread] = row_max;
        shared_sum[thread] = sum;
        barrier();
        for (uint half_width = WORKGROUP_SIZE / 2; half_width > 0; half_width >>= 1) {
            if (thread < half_width) {
                float other_max = shared_max[thread + half_width];
                float merged_max = max(row_max, other_max);
                sum = rescaled(sum, row_max, merged_max)
                    + rescaled(shared_sum[thread + half_width], other_max, merged_max);
                row_max = merged_max;
                shared_max[thread] = row_max;
                shared_sum[thread] = sum;
            }
            barrier();
        }
        row_max = shared_max[0];
        sum = shared_sum[0];
    }
    float inverse = row_max == NEG_INF ? 0.0 : 1.0 / sum;
    for (uint i = thread; i < length; i += stride) {
        float value = A_LOAD(x[base + i * inner]);
        result[base + i * inner] = A_STORE(value == NEG_INF ? 0.0 : exp(value - row_max) * inverse);
    }
}
