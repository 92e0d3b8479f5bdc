#version 450
// variant: f32
// variant: f16 -DW_F16
// variant: bf16 -DW_BF16
// activations: f16 bf16
// Channel-wise L2 normalisation of channel-first activations [N, C, S] (PyTorch's F.normalize(x, dim=1)),
// followed by a per-channel affine, as Wan's RMS_norm computes it:
//     y[n, c, s] = x[n, c, s] / max(||x[n, :, s]||_2, epsilon) * scale * weight[c] + bias[c].
// One invocation per (n, s) position, looping over the channels twice; neighbouring invocations read neighbouring
// positions of each channel. HAS_WEIGHT (3), HAS_BIAS (4): the affine parameters, stored as W_T. x and y are
// activations (A_T); the sum of squares is f32 and each result is rounded once.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const bool HAS_WEIGHT = false;
layout(constant_id = 4) const bool HAS_BIAS = false;

layout(std430, binding = 0) readonly buffer Input { A_T x[]; };
layout(std430, binding = 1) readonly buffer Weight { W_T weight[]; };
layout(std430, binding = 2) readonly buffer Bias { W_T bias[]; };
layout(std430, binding = 3) writeonly buffer Output { A_T result[]; };
layout(push_constant) uniform Parameters {
    uint positions; // N * S
    uint channels;  // C
    uint spatial;   // S
    float scale;
    float epsilon;
};

void main() {
    uint position = linear_invocation();
    if (position >= positions) return;
    uint base = (position / spatial) * channels * spatial + position % spatial;
    float sum = 0.0;
    for (uint c = 0; c < channels; c++) {
        float value = A_LOAD(x[base + c * spatial]);
        sum += value * value;
    }
    float denominator = max(sqrt(sum), epsilon);
    for (uint c = 0; c < channels; c++) {
        uint at = base + c * spatial;
        float y = A_LOAD(x[at]) / denominator * scale;
        if (HAS_WEIGHT) y *= W_LOAD(weight[c]);
        if (HAS_BIAS) y += W_LOAD(bias[c]);
        result[at] = A_STORE(y);
    }
}
