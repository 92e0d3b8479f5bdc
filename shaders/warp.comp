#version 450
// activations: f16 bf16
// Backward warp of [N, C, H, W] images by a flow field (both stored in A_T, sampled in f32), as RIFE's `warp` computes
// it with PyTorch: the sampling grid is linspace(-1, 1) plus the flow divided by (size - 1) / 2, read by
// grid_sample(bilinear, padding "border", align_corners = true). Pixel (x, y) of the output samples the image at (x +
// flow_x, y + flow_y), clamped into the image, interpolated bilinearly. The flow is two channels, at `flow_channel` and
// `flow_channel + 1`, of a [N, flow_channels, H, W] tensor, so RIFE's two flows (channels 0-1 and 2-3) need no slicing.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Image { A_T image[]; };
layout(std430, binding = 1) readonly buffer Flow { A_T flow[]; };
layout(std430, binding = 2) writeonly buffer Output { A_T y[]; };
layout(push_constant) uniform Parameters {
    uint count;
    uint channels;
    uint height;
    uint width;
    uint flow_channels;
    uint flow_channel;
};

// torch.linspace(-1, 1, steps)[i] in float32: the first half counts up from -1, the second down from 1.
float linspace_value(uint i, uint steps) {
    if (steps == 1) return -1.0;
    float step = 2.0 / float(steps - 1);
    return i < steps / 2 ? -1.0 + step * float(i) : 1.0 - step * float(steps - 1 - i);
}

// grid_sample's unnormalisation (align_corners = true) followed by the border clamp.
float source_coordinate(float grid, uint size) {
    float coordinate = (grid + 1.0) / 2.0 * float(size - 1);
    return clamp(coordinate, 0.0, float(size - 1));
}

void main() {
    uint i = linear_invocation();
    if (i >= count) return;
    uint x = i % width;
    uint yy = (i / width) % height;
    uint c = (i / (width * height)) % channels;
    uint n = i / (width * height * channels);
    uint plane = height * width;
    uint flow_base = (n * flow_channels + flow_channel) * plane + yy * width + x;
    float gx = linspace_value(x, width) + A_LOAD(flow[flow_base]) / ((float(width) - 1.0) / 2.0);
    float gy = linspace_value(yy, height) + A_LOAD(flow[flow_base + plane]) / ((float(height) - 1.0) / 2.0);
    float sx = source_coordinate(gx, width);
    float sy = source_coordinate(gy, height);
    uint x0 = uint(floor(sx));
    uint y0 = uint(floor(sy));
    float fx = sx - float(x0);
    float fy = sy - float(y0);
    uint x1 = min(x0 + 1, width - 1);
    uint y1 = min(y0 + 1, height - 1);
    uint base = (n * channels + c) * plane;
    float top = A_LOAD(image[base + y0 * width + x0]) * (1.0 - fx) + A_LOAD(image[base + y0 * width + x1]) * fx;
    float bottom = A_LOAD(image[base + y1 * width + x0]) * (1.0 - fx)
        + A_LOAD(image[base + y1 * width + x1]) * fx;
    y[i] = A_STORE(top * (1.0 - fy) + bottom * fy);
}
