#version 450
// activations: f16 bf16
// Winograd F(4x4, 3x3), step 2 of 4: the input transform V = B^T d B of the 6x6 input patch d of each tile of 4x4
// outputs (patches overlap by 2; zeros outside the input: the convolution's padding) into V[xi][ci][tile] (f32,
// tiles_pad tiles a channel, whatever the input's activation type A_T: stored in 16 bits, V would cost Winograd ten
// times its rounding error, past the 16-bit types' tolerances). Tiles are numbered over (image, tile row, tile column)
// with rows of tiles_x tiles, a multiple of 4 (the columns past the output are computed and never stored); one call
// transforms `tiles` of them from `first_tile` on (both multiples of 4) and zeros the rest up to tiles_pad. Images are
// the batch elements, or for an NCTHW input (a 3-D convolution with a 1x3x3 kernel) its `frames` frames of each. One
// invocation per channel and four neighbouring tiles of a row: it reads their 6x18 input strip once (each input value
// is in up to two patches) and stores each transformed position of the four as one vec4.
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "winograd.glsl"
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Input { A_T x[]; };
layout(std430, binding = 1) writeonly buffer Transformed { vec4 v[]; };
layout(push_constant) uniform Parameters {
    uint cin;
    uint frames;
    uint in_h;
    uint in_w;
    uint tiles_y;
    uint tiles_x;
    uint first_tile;
    uint tiles;
    uint tiles_pad;
    int pad_h;
    int pad_w;
};

void main() {
    uint quads = tiles_pad / 4;
    uint index = linear_invocation();
    if (index >= cin * quads) return;
    uint ci = index / quads;
    uint quad = index % quads;
    float d[6][18];
    [[unroll]] for (uint i = 0; i < 6; i++) {
        [[unroll]] for (uint j = 0; j < 18; j++) d[i][j] = 0.0;
    }
    if (quad * 4 < tiles) {
        uint tile = first_tile + quad * 4;
        uint per_image = tiles_y * tiles_x;
        uint image = tile / per_image;
        int y0 = int(((tile % per_image) / tiles_x) * 4) - pad_h;
        int x0 = int((tile % tiles_x) * 4) - pad_w;
        uint base = (((image / frames) * cin + ci) * frames + image % frames) * in_h * in_w;
        // Branch-free: every lane loads a clamped address and keeps zero outside the input.
        [[unroll]] for (uint i = 0; i < 6; i++) {
            int yy = y0 + int(i);
            bool row = uint(yy) < in_h;
            uint row_base = base + uint(clamp(yy, 0, int(in_h) - 1)) * in_w;
            [[unroll]] for (uint j = 0; j < 18; j++) {
                int xx = x0 + int(j);
                float value = A_LOAD(x[row_base + uint(clamp(xx, 0, int(in_w) - 1))]);
                d[i][j] = row && uint(xx) < in_w ? value : 0.0;
            }
        }
    }
    // Per tile k, columns first (B^T d), then rows ((B^T d) B).
    float transformed[4][36];
    [[unroll]] for (uint k = 0; k < 4; k++) {
        float columns[6][6];
        [[unroll]] for (uint j = 0; j < 6; j++) {
            uint c = 4 * k + j;
            winograd_input_1d(d[0][c], d[1][c], d[2][c], d[3][c], d[4][c], d[5][c], columns[j]);
        }
        [[unroll]] for (uint i = 0; i < 6; i++) {
            float row[6];
            winograd_input_1d(columns[0][i], columns[1][i], columns[2][i], columns[3][i], columns[4][i],
                              columns[5][i], row);
            [[unroll]] for (uint j = 0; j < 6; j++) transformed[k][i * 6 + j] = row[j];
        }
    }
    [[unroll]] for (uint p = 0; p < 36; p++) {
        v[(p * cin + ci) * quads + quad] =
            vec4(transformed[0][p], transformed[1][p], transformed[2][p], transformed[3][p]);
    }
}
