#version 450
// variant: f32
// variant: f16 -DW_F16
// variant: bf16 -DW_BF16
// variant: statistics -DNORM_STATISTICS
// activations: f16 bf16
// Normalisation over contiguous rows of a row-major tensor of activations (A_T): group norm (a row is one group
// of one sample, group_channels x spatial elements), layer norm and RMS norm (a row is the last axis). Statistics
// are fp32: per-thread Welford updates in blocks of 32 elements, merged with Chan's formula (into the thread's
// summary, then across the workgroup in shared memory), stable for rows of millions of elements. The result is
// rounded to A_T once; the modulation vectors and the partial statistics are f32. Below, "workgroup" reads
// "invocation" under ROW_PER_INVOCATION.
// PASS (constant 3): 0 = one workgroup per row computes the row's statistics and normalises the row;
//                    1 = workgroup (row, chunk) writes its chunk's (count, mean, M2) to `result` (the
//                        `statistics` variants, whose result is f32 and which read no affine parameters);
//                    2 = workgroup (row, chunk) merges the row's partial statistics and normalises its chunk.
// NORM (4): 0 group, 1 layer, 2 RMS. HAS_WEIGHT (5), HAS_BIAS (6): per-channel affine, stored as W_T.
// SCALE_MODE (7), SHIFT_MODE (8): adaptive modulation y = y * (1 + scale) + shift, 0 = none, 1 = one
// [row_length] vector per batch of rows_per_batch rows, 2 = one vector per row.
// ROW_PER_INVOCATION (9): each invocation, not each workgroup, takes one (row, chunk) alone, with no shared memory
// and no barrier (CPU drivers, where a barrier switches every invocation of the workgroup in turn).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint PASS = 0;
layout(constant_id = 4) const uint NORM = 0;
layout(constant_id = 5) const bool HAS_WEIGHT = false;
layout(constant_id = 6) const bool HAS_BIAS = false;
layout(constant_id = 7) const uint SCALE_MODE = 0;
layout(constant_id = 8) const uint SHIFT_MODE = 0;
layout(constant_id = 9) const bool ROW_PER_INVOCATION = false;

layout(std430, binding = 0) readonly buffer Input { A_T x[]; };
layout(std430, binding = 1) readonly buffer Weight { W_T weight[]; };
layout(std430, binding = 2) readonly buffer Bias { W_T bias[]; };
layout(std430, binding = 3) readonly buffer Scale { float scale[]; };
layout(std430, binding = 4) readonly buffer Shift { float shift[]; };
layout(std430, binding = 5) readonly buffer Partials { float partials[]; };
#if defined(NORM_STATISTICS)
layout(std430, binding = 6) writeonly buffer Output { float result[]; };
#define RESULT_STORE(x) (x)
#else
layout(std430, binding = 6) writeonly buffer Output { A_T result[]; };
#define RESULT_STORE(x) A_STORE(x)
#endif
layout(push_constant) uniform Parameters {
    uint rows;
    uint row_length;     // elements per row
    uint chunk_length;   // elements per workgroup (row_length in pass 0)
    uint chunks;         // workgroups per row (1 in pass 0)
    uint groups;         // group norm: groups per sample
    uint group_channels; // group norm: channels per group
    uint spatial;        // group norm: elements per channel
    uint rows_per_batch; // modulation mode 1: consecutive rows sharing one scale/shift vector
    float epsilon;
};

shared float shared_count[WORKGROUP_SIZE];
shared float shared_mean[WORKGROUP_SIZE];
shared float shared_m2[WORKGROUP_SIZE];

// Chan et al.'s merge of (count, mean, M2) summaries.
void merge(inout float count, inout float mean, inout float m2, float other_count, float other_mean,
           float other_m2) {
    float total = count + other_count;
    if (total == 0.0) return;
    float delta = other_mean - mean;
    float other_weight = other_count / total;
    mean += delta * other_weight;
    m2 += other_m2 + delta * delta * count * other_weight;
    count = total;
}

// Merges every thread's summary; all threads receive the workgroup's.
void reduce_workgroup(inout float count, inout float mean, inout float m2) {
    uint thread = gl_LocalInvocationID.x;
    shared_count[thread] = count;
    shared_mean[thread] = mean;
    shared_m2[thread] = m2;
    barrier();
    for (uint stride = WORKGROUP_SIZE / 2; stride > 0; stride >>= 1) {
        if (thread < stride) {
            merge(count, mean, m2, shared_count[thread + stride], shared_mean[thread + stride],
                  shared_m2[thread + stride]);
            shared_count[thread] = count;
            shared_mean[thread] = mean;
            shared_m2[thread] = m2;
        }
        barrier();
    }
    count = shared_count[0];
    mean = shared_mean[0];
    m2 = shared_m2[0];
}

void main() {
    uint thread = ROW_PER_INVOCATION ? 0 : gl_LocalInvocationID.x;
    uint stride = ROW_PER_INVOCATION ? 1 : WORKGROUP_SIZE;
    uint workgroup = ROW_PER_INVOCATION ? linear_invocation() : linear_workgroup();
    uint row = workgroup / chunks;
    uint chunk = workgroup % chunks;
    if (row >= rows) return;
    uint base = row * row_length;
    uint begin = chunk * chunk_length;
    uint end = min(begin + chunk_length, row_length);

    float count = 0.0;
    float mean = 0.0;
    float m2 = 0.0;
    if (PASS == 2) {
        for (uint c = thread; c < chunks; c += stride) {
            uint at = (row * chunks + c) * 3;
            merge(count, mean, m2, partials[at], partials[at + 1], partials[at + 2]);
        }
    } else {
        // Welford over blocks of up to 32 of the thread's elements, each block merged into the running summary:
        // one rounding of the running mean per block rather than per element, which keeps a whole row taken by
        // one invocation (thousands of elements with a large mean) as accurate as a workgroup's tree of merges.
        uint i = begin + thread;
        while (i < end) {
            float block_count = 0.0;
            float block_mean = 0.0;
            float block_m2 = 0.0;
            for (uint k = 0; k < 32 && i < end; k++, i += stride) {
                float value = A_LOAD(x[base + i]);
                block_count += 1.0;
                float delta = value - block_mean;
                block_mean += delta / block_count;
                block_m2 += delta * (value - block_mean);
            }
            merge(count, mean, m2, block_count, block_mean, block_m2);
        }
    }
    if (!ROW_PER_INVOCATION) reduce_workgroup(count, mean, m2);

    if (PASS == 1) {
#if defined(NORM_STATISTICS)
        if (thread == 0) {
            uint at = (row * chunks + chunk) * 3;
            result[at] = count;
            result[at + 1] = mean;
            result[at + 2] = m2;
        }
#endif
        return;
    }

    float variance = m2 / count;
    float center = mean;
    if (NORM == 2) {
        variance += mean * mean;
        center = 0.0;
    }
    float inverse = inversesqrt(variance + epsilon);
    uint modulation_base = (row / rows_per_batch) * row_length;
    for (uint i = begin + thread; i < end; i += stride) {
        float y = (A_LOAD(x[base + i]) - center) * inverse;
        uint channel = NORM == 0 ? (row % groups) * group_channels + i / spatial : i;
        if (HAS_WEIGHT) y *= W_LOAD(weight[channel]);
        if (HAS_BIAS) y += W_LOAD(bias[channel]);
        if (SCALE_MODE != 0) y *= 1.0 + scale[(SCALE_MODE == 1 ? modulation_base : base) + i];
        if (SHIFT_MODE != 0) y += shift[(SHIFT_MODE == 1 ? modulation_base : base) + i];
        result[base + i] = RESULT_STORE(y);
    }
}
