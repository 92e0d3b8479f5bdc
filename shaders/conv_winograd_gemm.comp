#version 450
// Winograd F(4x4, 3x3), step 3 of 4: for each of the 36 transform positions xi, M[xi] = U[xi] x V[xi]
// (cout_pad x cin times cin x tiles_pad; conv_winograd_weight.comp and conv_winograd_input.comp lay them out), M
// laid out as [xi][co][tile]. Each invocation computes MB output channels for NB tiles, reading tiles and weights
// as vec4s. On lavapipe a buffer load is a loop over the SIMD lanes, even where all lanes read the same weight
// (measured on a 64-channel layer: the weight loads take 40% of the time, the tile loads 25%, the multiply-adds the
// rest; a subgroup broadcast of the weights cost as much as the loads it saved), so the block is as large as the
// registers allow: each weight loaded serves NB tiles, each tile value MB channels.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint MB = 16;
layout(constant_id = 4) const uint NB = 8;

layout(std430, binding = 0) readonly buffer Transformed { vec4 v[]; };
layout(std430, binding = 1) readonly buffer Weights { vec4 u[]; };
layout(std430, binding = 2) writeonly buffer Products { vec4 m[]; };
layout(push_constant) uniform Parameters {
    uint cin;
    uint blocks;
    uint tiles_pad;
};

const uint MV = MB / 4;
const uint NV = NB / 4;

void main() {
    uint tiles4 = tiles_pad / 4;
    uint first = linear_workgroup() * WORKGROUP_SIZE + gl_LocalInvocationID.x;
    if (first * NB >= tiles_pad) return;
    uint xi = gl_WorkGroupID.z / blocks;
    uint block = gl_WorkGroupID.z % blocks;
    uint v_base = xi * cin * tiles4 + first * NV;
    uint u_base = (xi * blocks + block) * cin * MV;
    vec4 sums[MB * NV];
    for (uint i = 0; i < MB * NV; i++) sums[i] = vec4(0.0);
    for (uint ci = 0; ci < cin; ci++) {
        vec4 values[NV];
        for (uint q = 0; q < NV; q++) values[q] = v[v_base + ci * tiles4 + q];
        for (uint j = 0; j < MV; j++) {
            vec4 weights = u[u_base + ci * MV + j];
            for (uint c = 0; c < 4; c++) {
                for (uint q = 0; q < NV; q++) sums[(j * 4 + c) * NV + q] += weights[c] * values[q];
            }
        }
    }
    uint m_base = (xi * blocks * MB + block * MB) * tiles4 + first * NV;
    for (uint r = 0; r < MB; r++) {
        for (uint q = 0; q < NV; q++) m[m_base + r * tiles4 + q] = sums[r * NV + q];
    }
}
