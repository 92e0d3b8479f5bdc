#version 450
// variant: f32
// variant: f16 -DW_F16
// variant: bf16 -DW_BF16
// variant: f8e4m3fn_f32 -DW_F8E4M3FN -DB_F32
// variant: f8e4m3fn_f16 -DW_F8E4M3FN -DB_F16
// variant: f8e4m3fn_bf16 -DW_F8E4M3FN -DB_BF16
// variant: f8e5m2_f32 -DW_F8E5M2 -DB_F32
// variant: f8e5m2_f16 -DW_F8E5M2 -DB_F16
// variant: f8e5m2_bf16 -DW_F8E5M2 -DB_BF16
// activations: f16 bf16
// A linear layer over a few rows, C[b] = A[b] x B[b]^T (+ bias), as a decoding step runs it: A is [ROWS, K]
// (ROWS at most 4) and C [ROWS, N] in the activation type A_T (f32 sums), B the weights [N, K] in their storage
// type. Every weight is read once for all rows. A workgroup makes COLUMNS output columns; each column's LANES
// threads read its weight row LANES consecutive elements at a time (contiguous loads for a CPU driver's SIMD lanes
// and a GPU's memory transactions) and the column's partial sums meet in shared memory after one barrier. Same
// bindings and push constants as matmul.comp.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint ROWS = 1;
layout(constant_id = 4) const uint LANES = 8;
layout(constant_id = 5) const bool HAS_BIAS = false;

layout(std430, binding = 0) readonly buffer MatrixA { A_T a[]; };
layout(std430, binding = 1) readonly buffer MatrixB { W_T b[]; };
layout(std430, binding = 2) readonly buffer Bias { B_T bias[]; };
layout(std430, binding = 3) writeonly buffer MatrixC { A_T c[]; };
layout(push_constant) uniform Parameters {
    uint M;
    uint N;
    uint K;
    uint a_batch_stride;
    uint b_batch_stride;
    uint c_batch_stride;
    float w_scale;
};

shared float partial[4 * 256];

void main() {
    const uint threads = gl_WorkGroupSize.x;
    const uint columns = threads / LANES;
    uint thread = gl_LocalInvocationID.x;
    uint lane = thread % LANES;
    uint local_column = thread / LANES;
    uint column = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * columns + local_column;
    uint batch = gl_WorkGroupID.z;
    uint a_base = batch * a_batch_stride;
    uint b_base = batch * b_batch_stride + min(column, N - 1) * K;

    float sums[4] = float[4](0.0, 0.0, 0.0, 0.0);
    for (uint k = lane; k < K; k += LANES) {
        float w = W_READ(b, b_base + k);
        for (uint r = 0; r < ROWS; r++) sums[r] += A_LOAD(a[a_base + r * K + k]) * w;
    }
    for (uint r = 0; r < ROWS; r++) partial[r * threads + thread] = sums[r];
    barrier();
    if (lane != 0 || column >= N) return;
    for (uint r = 0; r < ROWS; r++) {
        float value = 0.0;
        for (uint l = 0; l < LANES; l++) value += partial[r * threads + local_column * LANES + l];
        if (HAS_BIAS) value += B_READ(bias, column);
        c[batch * c_batch_stride + r * N + column] = A_STORE(value);
    }
}
