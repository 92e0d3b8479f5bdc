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
// Batched matrix product C[b] = A[b] x op(B[b]) (+ bias), shared-memory tiled with a TM x TN register tile
// per thread. A [M, K] and C are activations in A_T, widened to f32 as A loads and rounded once as C stores the
// f32 sums. B holds weights in its storage type, [K, N], or [N, K] when TRANSPOSE_B (a linear layer's [out, in]);
// bias has N elements of B's type, or of its own (B_T) for float8 B, whose values are scaled by w_scale as they
// load. A batch stride of 0 broadcasts.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint BM = 64;
layout(constant_id = 4) const uint BN = 64;
layout(constant_id = 5) const uint BK = 16;
layout(constant_id = 6) const uint TM = 4;
layout(constant_id = 7) const uint TN = 4;
layout(constant_id = 8) const bool TRANSPOSE_B = false;
layout(constant_id = 9) const bool HAS_BIAS = false;
// Without shared memory: each thread reads its rows and columns straight from the buffers. Chosen for CPU
// drivers (lavapipe), where barriers are costly coroutine switches and the CPU caches do the tiling.
layout(constant_id = 10) const bool DIRECT = false;

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

shared float tile_a[BK * BM];
shared float tile_b[BK * BN];

void main() {
    const uint threads = (BM / TM) * (BN / TN);
    uint thread = gl_LocalInvocationID.x;
    uint row0 = gl_WorkGroupID.y * BM;
    uint col0 = gl_WorkGroupID.x * BN;
    uint batch = gl_WorkGroupID.z;
    uint a_base = batch * a_batch_stride;
    uint b_base = batch * b_batch_stride;
    uint thread_row = (thread / (BN / TN)) * TM;
    uint thread_col = (thread % (BN / TN)) * TN;

    float sums[TM * TN];
    for (uint i = 0; i < TM * TN; i++) sums[i] = 0.0;

    // A direct tile's invocations whose rows or columns all lie past the product's edge have nothing to compute: they
    // leave at once (neighbouring lanes share their rows, so on a CPU driver whole SIMD batches skip a partial tile's
    // padding, e.g. 51 of the 128 rows that two 64-row tiles give CLIP's 77 tokens).
    if (DIRECT && (row0 + thread_row >= M || col0 + thread_col >= N)) return;
    if (DIRECT) {
        uint rows[TM];
        uint cols[TN];
        for (uint i = 0; i < TM; i++) rows[i] = min(row0 + thread_row + i, M - 1);
        for (uint j = 0; j < TN; j++) cols[j] = min(col0 + thread_col + j, N - 1);
        for (uint k = 0; k < K; k++) {
            float column_a[TM];
            float row_b[TN];
            for (uint i = 0; i < TM; i++) column_a[i] = A_LOAD(a[a_base + rows[i] * K + k]);
            for (uint j = 0; j < TN; j++) {
                row_b[j] = TRANSPOSE_B ? W_READ(b, b_base + cols[j] * K + k) : W_READ(b, b_base + k * N + cols[j]);
            }
            for (uint i = 0; i < TM; i++) {
                for (uint j = 0; j < TN; j++) sums[i * TN + j] += column_a[i] * row_b[j];
            }
        }
    }

    for (uint k0 = 0; DIRECT == false && k0 < K; k0 += BK) {
        for (uint e = thread; e < BM * BK; e += threads) {
            uint r = e / BK;
            uint k = e % BK;
            uint row = row0 + r;
            uint kk = k0 + k;
            tile_a[k * BM + r] = (row < M && kk < K) ? A_LOAD(a[a_base + row * K + kk]) : 0.0;
        }
        for (uint e = thread; e < BN * BK; e += threads) {
            float value = 0.0;
            uint n;
            uint k;
            if (TRANSPOSE_B) {
                n = e / BK;
                k = e % BK;
                if (col0 + n < N && k0 + k < K) value = W_READ(b, b_base + (col0 + n) * K + k0 + k);
            } else {
                k = e / BN;
                n = e % BN;
                if (col0 + n < N && k0 + k < K) value = W_READ(b, b_base + (k0 + k) * N + col0 + n);
            }
            tile_b[k * BN + n] = value;
        }
        barrier();
        for (uint k = 0; k < BK; k++) {
            float column_a[TM];
            float row_b[TN];
            for (uint i = 0; i < TM; i++) column_a[i] = tile_a[k * BM + thread_row + i];
            for (uint j = 0; j < TN; j++) row_b[j] = tile_b[k * BN + thread_col + j];
            for (uint i = 0; i < TM; i++) {
                for (uint j = 0; j < TN; j++) sums[i * TN + j] += column_a[i] * row_b[j];
            }
        }
        barrier();
    }

    for (uint i = 0; i < TM; i++) {
        uint row = row0 + thread_row + i;
        if (row >= M) continue;
        for (uint j = 0; j < TN; j++) {
            uint col = col0 + thread_col + j;
            if (col >= N) continue;
            float value = sums[i * TN + j];
            if (HAS_BIAS) value += B_READ(bias, col);
            c[batch * c_batch_stride + row * N + col] = A_STORE(value);
        }
    }
}
