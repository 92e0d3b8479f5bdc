#version 450
// compiler: glslang
// activations: f16 bf16
// Flash attention on tensor cores (GL_KHR_cooperative_matrix), same contract as attention.comp: per workgroup
// (query block, head, batch), BR query rows (pre-multiplied by the scale) and each streamed BC-row key, then value,
// tile are staged in shared memory as f16 (clamped to ±65504) with the head dim zero-padded to PADDED_DIM, a
// multiple of the device's matrix shapes. S = Q·Kᵀ is multiplied on cooperative matrices with f32 accumulation and
// stored to shared memory; between the two products each row's online softmax (running max and sum, in f32) turns
// S into probabilities P, stored as f16, and rescales the row's f32 output accumulator O, which lives in shared
// memory; then O += P·V on cooperative matrices. Subgroups take the product's CM x CN blocks in turn.
// HAS_MASK (constant 11): an additive f32 mask with broadcast strides. BLOCK_CAUSAL (12): key j is visible to query
// i when j / block_size <= (i + causal_offset) / block_size. Rows without any visible key give zeros.
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint HEAD_DIM = 64;
layout(constant_id = 4) const uint PADDED_DIM = 64;
layout(constant_id = 5) const uint BR = 32;
layout(constant_id = 6) const uint BC = 32;
layout(constant_id = 7) const uint CM = 16;
layout(constant_id = 8) const uint CN = 16;
layout(constant_id = 9) const uint CK = 16;
layout(constant_id = 10) const uint SUBGROUPS = 4;
layout(constant_id = 11) const bool HAS_MASK = false;
layout(constant_id = 12) const bool BLOCK_CAUSAL = false;

const float NEG_INF = -1.0 / 0.0;

layout(std430, binding = 0) readonly buffer Query { A_T q[]; };
layout(std430, binding = 1) readonly buffer Key { A_T k[]; };
layout(std430, binding = 2) readonly buffer Value { A_T v[]; };
layout(std430, binding = 3) readonly buffer Mask { float mask[]; };
layout(std430, binding = 4) writeonly buffer Output { A_T result[]; };
layout(push_constant) uniform Parameters {
    uint query_length;
    uint key_length;
    float scale;
    uint q_batch_stride, q_head_stride, q_row_stride;
    uint kv_batch_stride, kv_head_stride, kv_row_stride;
    uint o_batch_stride, o_head_stride, o_row_stride;
    uint mask_batch_stride, mask_head_stride, mask_row_stride;
    uint block_size;
    uint causal_offset;
};

shared float16_t q_tile[BR * PADDED_DIM];
shared float16_t kv_tile[BC * PADDED_DIM];
shared float s_tile[BR * BC];
shared float16_t p_tile[BR * BC];
shared float o_tile[BR * PADDED_DIM];
shared float row_max[BR];
shared float row_sum[BR];

float16_t to_half(float x) { return float16_t(clamp(x, -65504.0, 65504.0)); }

void main() {
    uint thread = gl_LocalInvocationID.x;
    uint q0 = gl_WorkGroupID.x * BR;
    uint head = gl_WorkGroupID.y;
    uint batch = gl_WorkGroupID.z;

    uint q_base = batch * q_batch_stride + head * q_head_stride;
    for (uint e = thread; e < BR * PADDED_DIM; e += WORKGROUP_SIZE) {
        uint row = q0 + e / PADDED_DIM;
        uint d = e % PADDED_DIM;
        float x = row < query_length && d < HEAD_DIM ? A_LOAD(q[q_base + row * q_row_stride + d]) * scale : 0.0;
        q_tile[e] = to_half(x);
        o_tile[e] = 0.0;
    }
    for (uint r = thread; r < BR; r += WORKGROUP_SIZE) {
        row_max[r] = NEG_INF;
        row_sum[r] = 0.0;
    }

    // Under the block-causal mask no key past the last block visible to this query block can matter.
    uint key_end = key_length;
    if (BLOCK_CAUSAL) {
        uint last_query = min(q0 + BR, query_length) - 1;
        key_end = min(key_length, ((last_query + causal_offset) / block_size + 1) * block_size);
    }
    uint kv_base = batch * kv_batch_stride + head * kv_head_stride;

    for (uint j0 = 0; j0 < key_end; j0 += BC) {
        barrier();
        for (uint e = thread; e < BC * PADDED_DIM; e += WORKGROUP_SIZE) {
            uint c = e / PADDED_DIM;
            uint d = e % PADDED_DIM;
            kv_tile[e] = to_half(j0 + c < key_end && d < HEAD_DIM ? A_LOAD(k[kv_base + (j0 + c) * kv_row_stride + d])
                                                                  : 0.0);
        }
        barrier();
        // S = Q·Kᵀ: the key tile, row-major [BC, PADDED_DIM], is Kᵀ read column-major.
        for (uint t = gl_SubgroupID; t < (BR / CM) * (BC / CN); t += SUBGROUPS) {
            uint tr = t / (BC / CN);
            uint tc = t % (BC / CN);
            coopmat<float, gl_ScopeSubgroup, CM, CN, gl_MatrixUseAccumulator> s =
                coopmat<float, gl_ScopeSubgroup, CM, CN, gl_MatrixUseAccumulator>(0.0);
            for (uint kk = 0; kk < PADDED_DIM; kk += CK) {
                coopmat<float16_t, gl_ScopeSubgroup, CM, CK, gl_MatrixUseA> left;
                coopmat<float16_t, gl_ScopeSubgroup, CK, CN, gl_MatrixUseB> right;
                coopMatLoad(left, q_tile, tr * CM * PADDED_DIM + kk, PADDED_DIM, gl_CooperativeMatrixLayoutRowMajor);
                coopMatLoad(right, kv_tile, tc * CN * PADDED_DIM + kk, PADDED_DIM,
                            gl_CooperativeMatrixLayoutColumnMajor);
                s = coopMatMulAdd(left, right, s);
            }
            coopMatStore(s, s_tile, tr * CM * BC + tc * CN, BC, gl_CooperativeMatrixLayoutRowMajor);
        }
        barrier();
        // The value tile replaces the key tile while each row's thread updates its online softmax and rescales its
        // output row.
        for (uint e = thread; e < BC * PADDED_DIM; e += WORKGROUP_SIZE) {
            uint c = e / PADDED_DIM;
            uint d = e % PADDED_DIM;
            kv_tile[e] = to_half(j0 + c < key_end && d < HEAD_DIM ? A_LOAD(v[kv_base + (j0 + c) * kv_row_stride + d])
                                                                  : 0.0);
        }
        for (uint r = thread; r < BR; r += WORKGROUP_SIZE) {
            uint i = q0 + r;
            uint mask_base = batch * mask_batch_stride + head * mask_head_stride + i * mask_row_stride;
            float old_max = row_max[r];
            float new_max = old_max;
            for (uint c = 0; c < BC; c++) {
                uint j = j0 + c;
                bool visible = i < query_length && j < key_end;
                if (BLOCK_CAUSAL) visible = visible && j / block_size <= (i + causal_offset) / block_size;
                float s = NEG_INF;
                if (visible) {
                    s = s_tile[r * BC + c];
                    if (HAS_MASK) s += mask[mask_base + j];
                }
                s_tile[r * BC + c] = s;
                new_max = max(new_max, s);
            }
            float sum = row_sum[r];
            if (new_max == NEG_INF) {
                for (uint c = 0; c < BC; c++) p_tile[r * BC + c] = float16_t(0.0);
            } else {
                float alpha = old_max == NEG_INF ? 0.0 : exp(old_max - new_max);
                sum *= alpha;
                for (uint c = 0; c < BC; c++) {
                    float s = s_tile[r * BC + c];
                    float p = s == NEG_INF ? 0.0 : exp(s - new_max);
                    p_tile[r * BC + c] = float16_t(p);
                    sum += p;
                }
                if (alpha != 1.0) {
                    for (uint d = 0; d < PADDED_DIM; d++) o_tile[r * PADDED_DIM + d] *= alpha;
                }
            }
            row_max[r] = new_max;
            row_sum[r] = sum;
        }
        barrier();
        // O += P·V.
        for (uint t = gl_SubgroupID; t < (BR / CM) * (PADDED_DIM / CN); t += SUBGROUPS) {
            uint tr = t / (PADDED_DIM / CN);
            uint tc = t % (PADDED_DIM / CN);
            uint o_offset = tr * CM * PADDED_DIM + tc * CN;
            coopmat<float, gl_ScopeSubgroup, CM, CN, gl_MatrixUseAccumulator> o;
            coopMatLoad(o, o_tile, o_offset, PADDED_DIM, gl_CooperativeMatrixLayoutRowMajor);
            for (uint kk = 0; kk < BC; kk += CK) {
                coopmat<float16_t, gl_ScopeSubgroup, CM, CK, gl_MatrixUseA> left;
                coopmat<float16_t, gl_ScopeSubgroup, CK, CN, gl_MatrixUseB> right;
                coopMatLoad(left, p_tile, tr * CM * BC + kk, BC, gl_CooperativeMatrixLayoutRowMajor);
                coopMatLoad(right, kv_tile, kk * PADDED_DIM + tc * CN, PADDED_DIM, gl_CooperativeMatrixLayoutRowMajor);
                o = coopMatMulAdd(left, right, o);
            }
            coopMatStore(o, o_tile, o_offset, PADDED_DIM, gl_CooperativeMatrixLayoutRowMajor);
        }
    }

    barrier();
    uint o_base = batch * o_batch_stride + head * o_head_stride;
    for (uint e = thread; e < BR * HEAD_DIM; e += WORKGROUP_SIZE) {
        uint r = e / HEAD_DIM;
        uint d = e % HEAD_DIM;
        uint i = q0 + r;
        if (i >= query_length) continue;
        float sum = row_sum[r];
        float inverse = sum > 0.0 ? 1.0 / sum : 0.0;
        result[o_base + i * o_row_stride + d] = A_STORE(o_tile[r * PADDED_DIM + d] * inverse);
    }
}
