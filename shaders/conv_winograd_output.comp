#version 450
// activations: f16 bf16
// Winograd F(4x4, 3x3), step 4 of 4: the output transform Y = A^T m A of each tile's 36 products M[xi][co][tile] (from
// conv_winograd_gemm.comp) into its 4x4 outputs, plus the bias and the fused epilogue (conv_epilogue.glsl), stored into
// the NCHW output in A_T (outputs past its edge are dropped). M holds `tiles` tiles from `first_tile` on, numbered as
// in conv_winograd_input.comp. One invocation per output channel and four neighbouring tiles of a row, whose products
// it reads as vec4s.
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "winograd.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 9) const bool HAS_BIAS = false;
#include "conv_epilogue.glsl"

layout(std430, binding = 0) readonly buffer Products { vec4 m[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 5) writeonly buffer Output { A_T y[]; };
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
    uint quads = tiles_pad / 4;
    uint index = linear_invocation();
    if (index >= cout * quads) return;
    uint co = index / quads;
    uint quad = index % quads;
    if (quad * 4 >= tiles) return;
    vec4 p[36];
    [[unroll]] for (uint i = 0; i < 36; i++) p[i] = m[(i * cout_pad + co) * quads + quad];
    uint tile = first_tile + quad * 4;
    uint per_image = tiles_y * tiles_x;
    uint image = tile / per_image;
    uint oy0 = ((tile % per_image) / tiles_x) * 4;
    uint ox0 = (tile % tiles_x) * 4;
    float b = HAS_BIAS ? bias[co] : 0.0;
    float slope = conv_slope(co);
    uint channel_base = (((image / frames) * cout + co) * frames + image % frames) * out_h * out_w;
    [[unroll]] for (uint k = 0; k < 4; k++) {
        // Columns first (A^T m), then rows ((A^T m) A).
        float columns[6][4];
        [[unroll]] for (uint j = 0; j < 6; j++) {
            winograd_output_1d(p[j][k], p[6 + j][k], p[12 + j][k], p[18 + j][k], p[24 + j][k], p[30 + j][k],
                               columns[j]);
        }
        [[unroll]] for (uint i = 0; i < 4; i++) {
            uint oy = oy0 + i;
            if (oy >= out_h) break;
            float row[4];
            winograd_output_1d(columns[0][i], columns[1][i], columns[2][i], columns[3][i], columns[4][i],
                               columns[5][i], row);
            [[unroll]] for (uint j = 0; j < 4; j++) {
                uint ox = ox0 + 4 * k + j;
                if (ox >= out_w) break;
                uint at = channel_base + oy * out_w + ox;
                y[at] = A_STORE(conv_epilogue_slope(row[j] + b, slope, at));
            }
        }
    }
}
