#version 450
// compiler: glslang
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
// Batched matrix product on tensor cores (GL_KHR_cooperative_matrix), same contract as matmul.comp:
// C[b] = A[b] x op(B[b]) (+ bias), A and C in the activation type A_T. Operand tiles are staged through shared
// memory as f16 (values beyond f16's range are clamped to ±65504, as fp16 inference does; f16 activations are
// copied as they are) and accumulated in f32. Float8 B is staged unscaled, which f16 holds exactly (every e4m3fn
// and e5m2 value is an f16 value), and w_scale multiplies the product instead. Each subgroup owns a
// (BM / SUBGROUPS_M) x (BN / SUBGROUPS_N) block of the workgroup's tile, made of CM x CN device matrices, and stores
// them one at a time through its own CM x CN f32 staging matrix (scale, bias, bounds and the store conversion applied
// on the way out): shared memory grows with the operand tiles only, so 128 x 128 tiles fit 32 KB.
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint BM = 64;
layout(constant_id = 4) const uint BN = 64;
layout(constant_id = 5) const uint BK = 32;
layout(constant_id = 6) const uint CM = 16;
layout(constant_id = 7) const uint CN = 16;
layout(constant_id = 8) const uint CK = 16;
layout(constant_id = 9) const bool TRANSPOSE_B = false;
layout(constant_id = 10) const bool HAS_BIAS = false;
layout(constant_id = 11) const uint SUBGROUPS_M = 2;
layout(constant_id = 12) const uint SUBGROUPS_N = 2;

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

const uint TILES_M = BM / SUBGROUPS_M / CM;
const uint TILES_N = BN / SUBGROUPS_N / CN;

shared float16_t tile_a[BM * BK];
shared float16_t tile_b[BK * BN];
shared float tile_c[SUBGROUPS_M * SUBGROUPS_N * CM * CN];

float16_t to_half(float x) { return float16_t(clamp(x, -65504.0, 65504.0)); }

#if defined(A_F16)
// f16 activations need no conversion on their way into the f16 tile.
#define A_TILE(row, kk) ((row) < M && (kk) < K ? a[a_base + (row) * K + (kk)] : float16_t(0.0))
#else
#define A_TILE(row, kk) to_half((row) < M && (kk) < K ? A_LOAD(a[a_base + (row) * K + (kk)]) : 0.0)
#endif

#if defined(W_FLOAT8)
// Exact in f16, NaN included (clamp would be free to turn a NaN into a bound).
#define B_TILE(value) float16_t(value)
#define PRODUCT_SCALE w_scale
#else
#define B_TILE(value) to_half(value)
#define PRODUCT_SCALE 1.0
#endif

void main() {
    uint thread = gl_LocalInvocationID.x;
    uint row0 = gl_WorkGroupID.y * BM;
    uint col0 = gl_WorkGroupID.x * BN;
    uint batch = gl_WorkGroupID.z;
    uint a_base = batch * a_batch_stride;
    uint b_base = batch * b_batch_stride;
    uint subgroup_row = (gl_SubgroupID / SUBGROUPS_N) * (BM / SUBGROUPS_M);
    uint subgroup_col = (gl_SubgroupID % SUBGROUPS_N) * (BN / SUBGROUPS_N);

    coopmat<float, gl_ScopeSubgroup, CM, CN, gl_MatrixUseAccumulator> sums[TILES_M * TILES_N];
    for (uint t = 0; t < TILES_M * TILES_N; t++) {
        sums[t] = coopmat<float, gl_ScopeSubgroup, CM, CN, gl_MatrixUseAccumulator>(0.0);
    }

    for (uint k0 = 0; k0 < K; k0 += BK) {
        for (uint e = thread; e < BM * BK; e += WORKGROUP_SIZE) {
            uint r = e / BK;
            uint k = e % BK;
            tile_a[e] = A_TILE(row0 + r, k0 + k);
        }
        for (uint e = thread; e < BN * BK; e += WORKGROUP_SIZE) {
            float value = 0.0;
            uint n;
            uint k;
            if (TRANSPOSE_B) {
                n = e / BK;
                k = e % BK;
                if (col0 + n < N && k0 + k < K) value = W_READ_UNSCALED(b, b_base + (col0 + n) * K + k0 + k);
            } else {
                k = e / BN;
                n = e % BN;
                if (col0 + n < N && k0 + k < K) value = W_READ_UNSCALED(b, b_base + (k0 + k) * N + col0 + n);
            }
            tile_b[k * BN + n] = B_TILE(value);
        }
        barrier();
        for (uint kk = 0; kk < BK; kk += CK) {
            coopmat<float16_t, gl_ScopeSubgroup, CM, CK, gl_MatrixUseA> left[TILES_M];
            for (uint i = 0; i < TILES_M; i++) {
                coopMatLoad(left[i], tile_a, (subgroup_row + i * CM) * BK + kk, BK,
                            gl_CooperativeMatrixLayoutRowMajor);
            }
            for (uint j = 0; j < TILES_N; j++) {
                coopmat<float16_t, gl_ScopeSubgroup, CK, CN, gl_MatrixUseB> right;
                coopMatLoad(right, tile_b, kk * BN + subgroup_col + j * CN, BN, gl_CooperativeMatrixLayoutRowMajor);
                for (uint i = 0; i < TILES_M; i++) {
                    sums[i * TILES_N + j] = coopMatMulAdd(left[i], right, sums[i * TILES_N + j]);
                }
            }
        }
        barrier();
    }

    uint stage = gl_SubgroupID * CM * CN;
    for (uint i = 0; i < TILES_M; i++) {
        for (uint j = 0; j < TILES_N; j++) {
            coopMatStore(sums[i * TILES_N + j], tile_c, stage, CN, gl_CooperativeMatrixLayoutRowMajor);
            // The subgroup's lanes read what others stored; the next store waits until all have read.
            subgroupBarrier();
            uint block_row = row0 + subgroup_row + i * CM;
            uint block_col = col0 + subgroup_col + j * CN;
            for (uint e = gl_SubgroupInvocationID; e < CM * CN; e += gl_SubgroupSize) {
                uint row = block_row + e / CN;
                uint col = block_col + e % CN;
                if (row >= M || col >= N) continue;
                float value = tile_c[stage + e] * PRODUCT_SCALE;
                if (HAS_BIAS) value += B_READ(bias, col);
                c[batch * c_batch_stride + row * N + col] = A_STORE(value);
            }
            subgroupBarrier();
        }
    }
}
