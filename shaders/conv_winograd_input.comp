#version 450
// Winograd F(4x4, 3x3), step 2 of 4: the input transform V = B^T d B of the 6x6 input patch d of each tile of 4x4
// outputs (patches overlap by 2; zeros outside the input: the convolution's padding) into V[xi][ci][tile] (f32,
// cin_pad channels and tiles_pad tiles; those past the input are zeros). Tiles are numbered over (batch, tile row,
// tile column); one call transforms `tiles` of them from `first_tile` on. An NCTHW input (a 3-D convolution with a
// 1x3x3 kernel) is `frames` images per batch element. One invocation per (channel, tile).
#include "common.glsl"
#include "winograd.glsl"
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Input { float x[]; };
layout(std430, binding = 1) writeonly buffer Transformed { float v[]; };
layout(push_constant) uniform Parameters {
    uint cin;
    uint cin_pad;
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
    uint index = linear_invocation();
    if (index >= cin_pad * tiles_pad) return;
    uint ci = index / tiles_pad;
    uint t = index % tiles_pad;
    float d[6][6];
    for (uint i = 0; i < 6; i++) {
        for (uint j = 0; j < 6; j++) d[i][j] = 0.0;
    }
    if (ci < cin && t < tiles) {
        uint tile = first_tile + t;
        uint per_image = tiles_y * tiles_x;
        uint image = tile / per_image;
        uint ty = (tile % per_image) / tiles_x;
        uint tx = tile % tiles_x;
        int y0 = int(ty * 4) - pad_h;
        int x0 = int(tx * 4) - pad_w;
        uint base = (((image / frames) * cin + ci) * frames + image % frames) * in_h * in_w;
        for (uint i = 0; i < 6; i++) {
            int yy = y0 + int(i);
            if (uint(yy) >= in_h) continue;
            for (uint j = 0; j < 6; j++) {
                int xx = x0 + int(j);
                if (uint(xx) < in_w) d[i][j] = x[base + uint(yy) * in_w + uint(xx)];
            }
        }
    }
    // Columns first (B^T d), then rows ((B^T d) B).
    float columns[6][6];
    for (uint j = 0; j < 6; j++) {
        winograd_input_1d(d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j], columns[j]);
    }
    uint plane = cin_pad * tiles_pad;
    uint base = ci * tiles_pad + t;
    for (uint i = 0; i < 6; i++) {
        float row[6];
        winograd_input_1d(columns[0][i], columns[1][i], columns[2][i], columns[3][i], columns[4][i], columns[5][i],
                          row);
        for (uint j = 0; j < 6; j++) v[(i * 6 + j) * plane + base] = row[j];
    }
}
