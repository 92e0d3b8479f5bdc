#version 450
// Winograd F(4x4, 3x3), step 4 of 4: the output transform Y = A^T m A of each tile's 36 products
// M[xi][co][tile] (from conv_winograd_gemm.comp) into its 4x4 outputs, plus the bias and the fused epilogue
// (conv_epilogue.glsl), stored into the NCHW output (outputs past its edge are dropped). M holds `tiles` tiles from
// `first_tile` on (numbered as in conv_winograd_input.comp, `frames` images per batch element). One invocation per
// (output channel, tile).
#include "common.glsl"
#include "winograd.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 9) const bool HAS_BIAS = false;
#include "conv_epilogue.glsl"

layout(std430, binding = 0) readonly buffer Products { float m[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 5) writeonly buffer Output { float y[]; };
layout(push_constant) uniform Parameters {
    uint cout;
    uint cout_pad;
    uint frames;
    uint out_h;
    uint out_w;
    uint tiles_y;
    uint tiles_x;
    uint first_tile;
    uint tiles;
    uint tiles_pad;
};

void main() {
    uint index = linear_invocation();
    if (index >= cout * tiles_pad) return;
    uint co = index / tiles_pad;
    uint t = index % tiles_pad;
    if (t >= tiles) return;
    uint plane = cout_pad * tiles_pad;
    uint base = co * tiles_pad + t;
    float columns[6][4];
    for (uint j = 0; j < 6; j++) {
        float p[6];
        for (uint i = 0; i < 6; i++) p[i] = m[(i * 6 + j) * plane + base];
        winograd_output_1d(p[0], p[1], p[2], p[3], p[4], p[5], columns[j]);
    }
    uint tile = first_tile + t;
    uint per_image = tiles_y * tiles_x;
    uint image = tile / per_image;
    uint oy0 = ((tile % per_image) / tiles_x) * 4;
    uint ox0 = (tile % tiles_x) * 4;
    float b = HAS_BIAS ? bias[co] : 0.0;
    uint channel_base = (((image / frames) * cout + co) * frames + image % frames) * out_h * out_w;
    for (uint i = 0; i < 4; i++) {
        uint oy = oy0 + i;
        if (oy >= out_h) break;
        float row[4];
        winograd_output_1d(columns[0][i], columns[1][i], columns[2][i], columns[3][i], columns[4][i], columns[5][i],
                           row);
        for (uint j = 0; j < 4; j++) {
            uint ox = ox0 + j;
            if (ox >= out_w) break;
            uint at = channel_base + oy * out_w + ox;
            y[at] = conv_epilogue(row[j] + b, co, at);
        }
    }
}
