#version 450
// variant: f32
// variant: f16 -DW_F16
// variant: bf16 -DW_BF16
// activations: f16 bf16
// One timestep of an LSTM layer (PyTorch's gate order i, f, g, o), for every batch entry and hidden unit at once:
//   gates = x_t W_ihᵀ (precomputed for a block of steps) + b_ih + b_hh + h_{t-1} W_hhᵀ
//   c_t = σ(f) c_{t-1} + σ(i) tanh(g),  h_t = σ(o) tanh(c_t)
// One workgroup per (batch entry n, hidden unit j): its threads split the four dot products with h_{t-1} over the
// hidden axis and sum them in shared memory. The state buffer is [T + 1, N, H]: rows 0..T-1 collect h_0 .. h_{T-1}
// (the layer's output), row T holds c; step 0 starts from zero state. f32 state, weights in their storage type, the
// input projections (gates) in the activation type A_T.
#include "common.glsl"
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Gates { A_T gates[]; };
layout(std430, binding = 1) readonly buffer RecurrentWeight { W_T w_hh[]; };
layout(std430, binding = 2) readonly buffer InputBias { float b_ih[]; };
layout(std430, binding = 3) readonly buffer RecurrentBias { float b_hh[]; };
layout(std430, binding = 4) buffer State { float state[]; };
layout(push_constant) uniform Parameters {
    uint step;        // t
    uint gate_row;    // row of `gates` that holds step t (the gates hold one block of steps)
    uint batch;       // N
    uint hidden;      // H
    uint steps;       // T: the row of `state` that holds c
};

shared float partial[4 * WORKGROUP_SIZE];

float sigmoid(float x) { return 1.0 / (1.0 + exp(-x)); }

void main() {
    uint unit = linear_workgroup();
    if (unit >= batch * hidden) return;
    uint n = unit / hidden;
    uint j = unit % hidden;
    uint lane = gl_LocalInvocationID.x;
    float sums[4] = float[4](0.0, 0.0, 0.0, 0.0);
    if (step > 0) {
        uint previous = ((step - 1) * batch + n) * hidden;
        for (uint k = lane; k < hidden; k += WORKGROUP_SIZE) {
            float h = state[previous + k];
            for (uint g = 0; g < 4; ++g) {
                sums[g] += W_READ(w_hh, (g * hidden + j) * hidden + k) * h;
            }
        }
    }
    for (uint g = 0; g < 4; ++g) partial[g * WORKGROUP_SIZE + lane] = sums[g];
    barrier();
    for (uint width = WORKGROUP_SIZE / 2; width > 0; width /= 2) {
        if (lane < width) {
            for (uint g = 0; g < 4; ++g) {
                partial[g * WORKGROUP_SIZE + lane] += partial[g * WORKGROUP_SIZE + lane + width];
            }
        }
        barrier();
    }
    if (lane != 0) return;
    float z[4];
    uint row = (gate_row * batch + n) * 4 * hidden;
    for (uint g = 0; g < 4; ++g) {
        uint index = g * hidden + j;
        z[g] = A_LOAD(gates[row + index]) + b_ih[index] + b_hh[index] + partial[g * WORKGROUP_SIZE];
    }
    uint cell = (steps * batch + n) * hidden + j;
    float c_previous = step > 0 ? state[cell] : 0.0;
    float c = sigmoid(z[1]) * c_previous + sigmoid(z[0]) * tanh(clamp(z[2], -15.0, 15.0));
    state[cell] = c;
    state[(step * batch + n) * hidden + j] = sigmoid(z[3]) * tanh(clamp(c, -15.0, 15.0));
}
