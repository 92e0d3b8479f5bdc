#version 450
// activations: f16 bf16
// Standard normal samples from the counter-based Philox4x32-10 generator and the Box–Muller transform.
// Element e of the output is number g = offset + e of the stream for `seed`: block g / 4 is the 64-bit Philox
// counter (low word first, upper two words 0) under the key (seed low, seed high), and lane g % 4 picks the
// normal: with u_j = (bits_j >> 8 + 0.5) / 2^24, r = sqrt(-2 ln u_0), t = 2π u_1 (and u_2, u_3 likewise),
// the lanes are r cos t, r sin t, r' cos t', r' sin t'. Each thread makes one block, so the numbers do not
// depend on the workgroup size. PhiloxNormal in Graph+Random.swift is the host twin. The normals are computed in f32
// and stored in A_T.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Output { A_T result[]; };
layout(push_constant) uniform Parameters {
    uint count;
    uint key_low;
    uint key_high;
    uint first_block_low;  // offset / 4
    uint first_block_high;
    uint skip;             // offset % 4: lanes of the first block before element 0
};

uvec4 philox(uvec4 counter, uvec2 key) {
    for (int round = 0; round < 10; round++) {
        uint high0, low0, high1, low1;
        umulExtended(0xD2511F53u, counter.x, high0, low0);
        umulExtended(0xCD9E8D57u, counter.z, high1, low1);
        counter = uvec4(high1 ^ counter.y ^ key.x, low1, high0 ^ counter.w ^ key.y, low0);
        key += uvec2(0x9E3779B9u, 0xBB67AE85u);
    }
    return counter;
}

float unit_open(uint bits) {
    return (float(bits >> 8) + 0.5) * (1.0 / 16777216.0);
}

void main() {
    uint t = linear_invocation();
    uint first = t * 4;  // output element of lane 0, plus skip
    if (first >= count + skip) return;
    uint block_low = first_block_low + t;
    uint block_high = first_block_high + (block_low < t ? 1u : 0u);
    uvec4 bits = philox(uvec4(block_low, block_high, 0u, 0u), uvec2(key_low, key_high));
    float r0 = sqrt(-2.0 * log(unit_open(bits.x)));
    float t0 = 6.2831853071795865 * unit_open(bits.y);
    float r1 = sqrt(-2.0 * log(unit_open(bits.z)));
    float t1 = 6.2831853071795865 * unit_open(bits.w);
    float normals[4] = float[4](r0 * cos(t0), r0 * sin(t0), r1 * cos(t1), r1 * sin(t1));
    for (uint lane = 0; lane < 4; lane++) {
        uint element = first + lane;
        if (element >= skip && element - skip < count) result[element - skip] = A_STORE(normals[lane]);
    }
}
