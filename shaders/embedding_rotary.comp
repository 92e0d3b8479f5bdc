#version 450
// activations: f16 bf16
// Rotary position embedding: each pair (x0, x1) of a head is rotated by the angle of its position and pair
// index, (x0 cos - x1 sin, x0 sin + x1 cos), with cos/sin from tables of shape [L, D/2].
// Pairs (constant 3, INTERLEAVED): adjacent elements (2p, 2p + 1) when true, halves (p, p + D/2) otherwise.
// x is [B, L, H, D] (or [B, L, H·D]); one thread per pair. x and the result are activations (A_T), the tables f32:
// each pair turns in f32 and is rounded once.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const bool INTERLEAVED = true;
layout(std430, binding = 0) readonly buffer Input { A_T x[]; };
layout(std430, binding = 1) readonly buffer Cos { float cos_table[]; };
layout(std430, binding = 2) readonly buffer Sin { float sin_table[]; };
layout(std430, binding = 3) writeonly buffer Output { A_T result[]; };
layout(push_constant) uniform Parameters { uint pairs; uint positions; uint heads; uint half_dim; };

void main() {
    uint i = linear_invocation();
    if (i >= pairs) return;
    uint p = i % half_dim;
    uint head_row = i / half_dim;  // (b, l, h) flattened
    uint l = (head_row / heads) % positions;
    uint base = head_row * 2 * half_dim;
    uint i0 = INTERLEAVED ? base + 2 * p : base + p;
    uint i1 = INTERLEAVED ? i0 + 1 : i0 + half_dim;
    float c = cos_table[l * half_dim + p];
    float s = sin_table[l * half_dim + p];
    float x0 = A_LOAD(x[i0]);
    float x1 = A_LOAD(x[i1]);
    result[i0] = A_STORE(x0 * c - x1 * s);
    result[i1] = A_STORE(x0 * s + x1 * c);
}
