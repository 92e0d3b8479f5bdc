#version 450
// activations: f16 bf16
// Bilinear or bicubic resampling of [planes, H, W] maps (stored in A_T, interpolated in f32), as PyTorch's
// `interpolate` and ncnn's Interp compute them: output pixel d (an index in the whole output image) samples the
// source at
//   s = (d + 0.5) * SCALE - 0.5        (align_corners = false; SCALE = source size / output size)
//   s = d * SCALE                      (align_corners = true;  SCALE = (source - 1) / (output - 1))
// Bilinear clamps s into [0, size - 1]; bicubic (Keys, A = -0.75, the last weight as 1 minus the others, as ncnn)
// clamps the four tap indices into the image, which is what ncnn's edge folding and PyTorch's clamped reads do.
// The input and output may be windows of larger images (tiles): `in_origin` / `out_origin` give the whole-image
// index of their first row and column and `source_size` the whole source image, so a tile's pixels are exactly
// the whole image's. Taps outside the input window are clamped to it (the caller gives the window enough margin).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint MODE = 0; // 0 bilinear, 1 bicubic
layout(constant_id = 4) const bool ALIGN_CORNERS = false;
layout(std430, binding = 0) readonly buffer Input { A_T x[]; };
layout(std430, binding = 1) writeonly buffer Output { A_T y[]; };
layout(push_constant) uniform Parameters {
    uint count;
    uint in_h;
    uint in_w;
    uint out_h;
    uint out_w;
    float scale_y;
    float scale_x;
    int out_origin_y;
    int out_origin_x;
    int in_origin_y;
    int in_origin_x;
    int source_h;
    int source_w;
};

// The whole-image source coordinate of whole-image output index d.
float source_coordinate(int d, float scale) {
    return ALIGN_CORNERS ? float(d) * scale : (float(d) + 0.5) * scale - 0.5;
}

// A whole-image index clamped into the image, then made local to the input window (and clamped to it).
uint local_index(int global_index, int source_size, int origin, uint window) {
    int clamped = clamp(global_index, 0, source_size - 1) - origin;
    return uint(clamp(clamped, 0, int(window) - 1));
}

void cubic_weights(float t, out float w[4]) {
    const float A = -0.75;
    float t0 = t + 1.0;
    float t1 = t;
    float t2 = 1.0 - t;
    w[0] = ((A * t0 - 5.0 * A) * t0 + 8.0 * A) * t0 - 4.0 * A;
    w[1] = ((A + 2.0) * t1 - (A + 3.0)) * t1 * t1 + 1.0;
    w[2] = ((A + 2.0) * t2 - (A + 3.0)) * t2 * t2 + 1.0;
    w[3] = 1.0 - w[0] - w[1] - w[2];
}

void main() {
    uint i = linear_invocation();
    if (i >= count) return;
    uint ox = i % out_w;
    uint oy = (i / out_w) % out_h;
    uint plane = i / (out_w * out_h);
    uint base = plane * in_h * in_w;
    float sy = source_coordinate(out_origin_y + int(oy), scale_y);
    float sx = source_coordinate(out_origin_x + int(ox), scale_x);
    float value = 0.0;
    if (MODE == 0) {
        sy = clamp(sy, 0.0, float(source_h - 1));
        sx = clamp(sx, 0.0, float(source_w - 1));
        int y0 = int(floor(sy));
        int x0 = int(floor(sx));
        float fy = sy - float(y0);
        float fx = sx - float(x0);
        uint r0 = base + local_index(y0, source_h, in_origin_y, in_h) * in_w;
        uint r1 = base + local_index(y0 + 1, source_h, in_origin_y, in_h) * in_w;
        uint c0 = local_index(x0, source_w, in_origin_x, in_w);
        uint c1 = local_index(x0 + 1, source_w, in_origin_x, in_w);
        value = (A_LOAD(x[r0 + c0]) * (1.0 - fx) + A_LOAD(x[r0 + c1]) * fx) * (1.0 - fy)
              + (A_LOAD(x[r1 + c0]) * (1.0 - fx) + A_LOAD(x[r1 + c1]) * fx) * fy;
    } else {
        int y0 = int(floor(sy));
        int x0 = int(floor(sx));
        float wy[4];
        float wx[4];
        cubic_weights(sy - float(y0), wy);
        cubic_weights(sx - float(x0), wx);
        uint columns[4];
        for (int k = 0; k < 4; k++) columns[k] = local_index(x0 - 1 + k, source_w, in_origin_x, in_w);
        for (int j = 0; j < 4; j++) {
            uint row = base + local_index(y0 - 1 + j, source_h, in_origin_y, in_h) * in_w;
            float sum = 0.0;
            for (int k = 0; k < 4; k++) sum += A_LOAD(x[row + columns[k]]) * wx[k];
            value += sum * wy[j];
        }
    }
    y[i] = A_STORE(value);
}
