#version 450
// variant: rolled
// variant: unrolled -DUNROLL_HEAD_DIM
// activations: f16 bf16
// Multi-head scaled-dot-product attention for CPU Vulkan drivers (lavapipe): one invocation per query row, holding
// its scaled query, its output accumulator and its online-softmax max and sum in its own registers, and reading
// keys and values straight from memory, KEY_BLOCK keys at a time. Workgroup (query rows, head, batch): every
// invocation reads the same key and value elements at the same time, so a CPU driver that finds those loads uniform
// (Mesa 26's lavapipe) makes each one scalar load instead of a gather, and there is no barrier, which a CPU driver
// runs as a coroutine switch. Same bindings, push constants and semantics as attention.comp: strides (batch, head,
// row) for both layouts, an additive f32 mask (HAS_MASK), block-causal visibility behind a cached prefix
// (BLOCK_CAUSAL), zeros for a row that sees no key. Rows past the end repeat the last row's work and store nothing,
// so that every loop runs in uniform control flow. Activations are A_T; scores, softmax and sums are f32.
// The `unrolled` variant unrolls the loops over the head dim, so that the query and the accumulator stay in
// registers (on Mesa 26's lavapipe 5.6x the rolled loops' rate at d64, 8.6x at d128); Mesa 22's lavapipe (LLVM 15)
// takes about 16 s to compile it at head dim 128, so there it is for small head dims only
// (`Graph.directAttentionUnrolledHeadDim(on:)`).
#include "common.glsl"
#extension GL_EXT_control_flow_attributes : require
#ifdef UNROLL_HEAD_DIM
#define FOR_EACH_DIM [[unroll]] for
#else
#define FOR_EACH_DIM [[dont_unroll]] for
#endif
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint HEAD_DIM = 64;
layout(constant_id = 4) const uint KEY_BLOCK = 8;
layout(constant_id = 6) const bool HAS_MASK = false;
layout(constant_id = 7) const bool BLOCK_CAUSAL = false;

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

void main() {
    uint q0 = gl_WorkGroupID.x * WORKGROUP_SIZE;
    uint head = gl_WorkGroupID.y;
    uint batch = gl_WorkGroupID.z;
    uint i = q0 + gl_LocalInvocationID.x;
    uint row = min(i, query_length - 1);

    // Under the block-causal mask no key past the last block visible to the workgroup's last row can matter.
    uint key_end = key_length;
    if (BLOCK_CAUSAL) {
        uint last_query = min(q0 + WORKGROUP_SIZE, query_length) - 1;
        key_end = min(key_length, ((last_query + causal_offset) / block_size + 1) * block_size);
    }

    float query[HEAD_DIM];
    float acc[HEAD_DIM];
    uint q_base = batch * q_batch_stride + head * q_head_stride + row * q_row_stride;
    FOR_EACH_DIM (uint d = 0; d < HEAD_DIM; d++) {
        query[d] = A_LOAD(q[q_base + d]) * scale;
        acc[d] = 0.0;
    }
    float row_max = NEG_INF;
    float row_sum = 0.0;
    uint kv_base = batch * kv_batch_stride + head * kv_head_stride;
    uint mask_base = batch * mask_batch_stride + head * mask_head_stride + row * mask_row_stride;

    for (uint j0 = 0; j0 < key_end; j0 += KEY_BLOCK) {
        float scores[KEY_BLOCK];
        float block_max = NEG_INF;
        for (uint c = 0; c < KEY_BLOCK; c++) {
            uint j = j0 + c;
            float s = NEG_INF;
            if (j < key_end) {
                uint key_row = kv_base + j * kv_row_stride;
                float dot = 0.0;
                FOR_EACH_DIM (uint d = 0; d < HEAD_DIM; d++) dot += query[d] * A_LOAD(k[key_row + d]);
                if (HAS_MASK) dot += mask[mask_base + j];
                bool visible = !BLOCK_CAUSAL || j / block_size <= (row + causal_offset) / block_size;
                s = visible ? dot : NEG_INF;
            }
            scores[c] = s;
            block_max = max(block_max, s);
        }
        // A row that has seen no key yet keeps a max of −inf: alpha and every p are then 0, and acc stays 0.
        float new_max = max(row_max, block_max);
        float alpha = row_max == NEG_INF ? 0.0 : exp(row_max - new_max);
        row_sum *= alpha;
        FOR_EACH_DIM (uint d = 0; d < HEAD_DIM; d++) acc[d] *= alpha;
        for (uint c = 0; c < KEY_BLOCK; c++) {
            uint j = j0 + c;
            if (j >= key_end) break;
            float p = scores[c] == NEG_INF ? 0.0 : exp(scores[c] - new_max);
            row_sum += p;
            uint value_row = kv_base + j * kv_row_stride;
            FOR_EACH_DIM (uint d = 0; d < HEAD_DIM; d++) acc[d] += p * A_LOAD(v[value_row + d]);
        }
        row_max = new_max;
    }

    if (i >= query_length) return;
    float inverse = row_sum > 0.0 ? 1.0 / row_sum : 0.0;
    uint o_base = batch * o_batch_stride + head * o_head_stride + i * o_row_stride;
    FOR_EACH_DIM (uint d = 0; d < HEAD_DIM; d++) result[o_base + d] = A_STORE(acc[d] * inverse);
}
