#version 450
// activations: f16 bf16
// Multi-head scaled-dot-product attention, flash-style. Workgroup (query block, head, batch) keeps BR query rows
// (pre-multiplied by the scale) in shared memory, streams BC-row key and value tiles through one shared tile,
// and keeps each row's running max and sum and its output accumulator (online softmax): the Lq x Lk score
// matrix never exists. Thread (r, lane), ROW_THREADS per query row, computes the scores of key columns lane,
// lane + ROW_THREADS, ... and owns the output dims lane, lane + ROW_THREADS, ...
// Tensors come with element strides (batch, head, row) so [B, L, heads * D] and [B, heads, L, D] share the
// kernel. HAS_MASK (constant 6): an additive f32 mask with broadcast strides (0 on size-1 axes).
// BLOCK_CAUSAL (7): key j is visible to query i when j / block_size <= (i + causal_offset) / block_size, where
// causal_offset = Lk - Lq places the queries at the end of the key sequence (a KV-cache prefix precedes them).
// Rows without any visible key give zeros. Query, key, value and output are activations (A_T), widened to f32 as
// they enter the shared tiles; scores, the softmax and the accumulators are f32, and the output is rounded once.
#include "common.glsl"
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint HEAD_DIM = 64;
layout(constant_id = 4) const uint BR = 16;
layout(constant_id = 5) const uint BC = 16;
layout(constant_id = 6) const bool HAS_MASK = false;
layout(constant_id = 7) const bool BLOCK_CAUSAL = false;

const uint ROW_THREADS = WORKGROUP_SIZE / BR;
const uint DIMS_PER_THREAD = (HEAD_DIM + ROW_THREADS - 1) / ROW_THREADS;
// Key/value tile rows are padded by one element so that lanes reading different rows hit different banks.
const uint KV_STRIDE = HEAD_DIM + 1;
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

shared float q_tile[BR * HEAD_DIM];
shared float kv_tile[BC * KV_STRIDE];
shared float p_tile[BR * BC];
shared float row_max[BR];
shared float row_sum[BR];
shared float row_alpha[BR];

void main() {
    uint thread = gl_LocalInvocationID.x;
    uint r = thread / ROW_THREADS;
    uint lane = thread % ROW_THREADS;
    uint q0 = gl_WorkGroupID.x * BR;
    uint head = gl_WorkGroupID.y;
    uint batch = gl_WorkGroupID.z;
    uint i = q0 + r;

    uint q_base = batch * q_batch_stride + head * q_head_stride;
    for (uint e = thread; e < BR * HEAD_DIM; e += WORKGROUP_SIZE) {
        uint row = q0 + e / HEAD_DIM;
        q_tile[e] = row < query_length ? A_LOAD(q[q_base + row * q_row_stride + e % HEAD_DIM]) * scale : 0.0;
    }
    if (thread < BR) {
        row_max[thread] = NEG_INF;
        row_sum[thread] = 0.0;
    }

    // Under the block-causal mask no key past the last block visible to this query block can matter.
    uint key_end = key_length;
    if (BLOCK_CAUSAL) {
        uint last_query = min(q0 + BR, query_length) - 1;
        key_end = min(key_length, ((last_query + causal_offset) / block_size + 1) * block_size);
    }

    float acc[DIMS_PER_THREAD];
    for (uint t = 0; t < DIMS_PER_THREAD; t++) acc[t] = 0.0;
    uint kv_base = batch * kv_batch_stride + head * kv_head_stride;
    uint mask_base = batch * mask_batch_stride + head * mask_head_stride + i * mask_row_stride;

    for (uint j0 = 0; j0 < key_end; j0 += BC) {
        barrier();
        for (uint e = thread; e < BC * HEAD_DIM; e += WORKGROUP_SIZE) {
            uint c = e / HEAD_DIM;
            uint d = e % HEAD_DIM;
            kv_tile[c * KV_STRIDE + d] = j0 + c < key_end ? A_LOAD(k[kv_base + (j0 + c) * kv_row_stride + d]) : 0.0;
        }
        barrier();
        for (uint c = lane; c < BC; c += ROW_THREADS) {
            uint j = j0 + c;
            float s = NEG_INF;
            bool visible = i < query_length && j < key_end;
            if (BLOCK_CAUSAL) visible = visible && j / block_size <= (i + causal_offset) / block_size;
            if (visible) {
                s = 0.0;
                for (uint d = 0; d < HEAD_DIM; d++) s += q_tile[r * HEAD_DIM + d] * kv_tile[c * KV_STRIDE + d];
                if (HAS_MASK) s += mask[mask_base + j];
            }
            p_tile[r * BC + c] = s;
        }
        barrier();
        // The value tile replaces the key tile while each row's first lane updates its online softmax.
        for (uint e = thread; e < BC * HEAD_DIM; e += WORKGROUP_SIZE) {
            uint c = e / HEAD_DIM;
            uint d = e % HEAD_DIM;
            kv_tile[c * KV_STRIDE + d] = j0 + c < key_end ? A_LOAD(v[kv_base + (j0 + c) * kv_row_stride + d]) : 0.0;
        }
        if (lane == 0) {
            float old_max = row_max[r];
            float new_max = old_max;
            for (uint c = 0; c < BC; c++) new_max = max(new_max, p_tile[r * BC + c]);
            float alpha = 1.0;
            float sum = row_sum[r];
            if (new_max == NEG_INF) {
                for (uint c = 0; c < BC; c++) p_tile[r * BC + c] = 0.0;
            } else {
                alpha = old_max == NEG_INF ? 0.0 : exp(old_max - new_max);
                sum *= alpha;
                for (uint c = 0; c < BC; c++) {
                    float s = p_tile[r * BC + c];
                    float p = s == NEG_INF ? 0.0 : exp(s - new_max);
                    p_tile[r * BC + c] = p;
                    sum += p;
                }
            }
            row_max[r] = new_max;
            row_sum[r] = sum;
            row_alpha[r] = alpha;
        }
        barrier();
        float alpha = row_alpha[r];
        for (uint t = 0; t < DIMS_PER_THREAD; t++) acc[t] *= alpha;
        // Rolled over the tile's keys (fully unrolled, this nest makes lavapipe's compile slow) and unrolled over
        // the thread's output dims, which stay in registers.
        [[dont_unroll]] for (uint c = 0; c < BC; c++) {
            float p = p_tile[r * BC + c];
            for (uint t = 0; t < DIMS_PER_THREAD; t++) {
                uint d = lane + t * ROW_THREADS;
                if (d < HEAD_DIM) acc[t] += p * kv_tile[c * KV_STRIDE + d];
            }
        }
    }

    if (i >= query_length) return;
    float sum = row_sum[r];
    float inverse = sum > 0.0 ? 1.0 / sum : 0.0;
    uint o_base = batch * o_batch_stride + head * o_head_stride + i * o_row_stride;
    for (uint t = 0; t < DIMS_PER_THREAD; t++) {
        uint d = lane + t * ROW_THREADS;
        if (d < HEAD_DIM) result[o_base + d] = A_STORE(acc[t] * inverse);
    }
}
