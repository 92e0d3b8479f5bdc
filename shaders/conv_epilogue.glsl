// The fused convolution epilogue (ConvEpilogue.swift), shared by the convolution kernels: value = conv + bias; then
// ACTIVATION (0 none, 1 leaky ReLU with slope ACTIVATION_SLOPE, 2 PReLU with one slope per output channel from
// `slopes`); then, with HAS_RESIDUAL, value = value * OUTPUT_SCALE + residual (an output-shaped tensor in the
// activation type A_T): Real-ESRGAN's `x5 * 0.2 + x`; with RESIDUAL_FIRST the residual is added before the activation
// (RIFE's `leaky_relu(conv(x) * beta + x)`). Specialization constants 22-26 and bindings 3 (slopes) and 4 (residual) in
// every kernel that includes it.
layout(constant_id = 22) const uint ACTIVATION = 0;
layout(constant_id = 23) const float ACTIVATION_SLOPE = 0.0;
layout(constant_id = 24) const bool HAS_RESIDUAL = false;
layout(constant_id = 25) const float OUTPUT_SCALE = 1.0;
layout(constant_id = 26) const bool RESIDUAL_FIRST = false;

const uint ACTIVATION_LEAKY_RELU = 1;
const uint ACTIVATION_PRELU = 2;

layout(std430, binding = 3) readonly buffer Slopes { float slopes[]; };
layout(std430, binding = 4) readonly buffer Residual { A_T residual[]; };

// The stored value of output element `index` whose convolution plus bias is `value`, given its channel's activation
// slope (`conv_slope`): a kernel that stores many elements of one channel reads the slope once.
float conv_epilogue_slope(float value, float slope, uint index) {
    if (HAS_RESIDUAL && RESIDUAL_FIRST) value = value * OUTPUT_SCALE + A_LOAD(residual[index]);
    if (ACTIVATION != 0) value = value < 0.0 ? value * slope : value;
    if (HAS_RESIDUAL && !RESIDUAL_FIRST) value = value * OUTPUT_SCALE + A_LOAD(residual[index]);
    return value;
}

// The activation slope of output channel `channel`: ACTIVATION_SLOPE, or its PReLU slope.
float conv_slope(uint channel) {
    return ACTIVATION == ACTIVATION_PRELU ? slopes[channel] : ACTIVATION_SLOPE;
}

// The stored value of output element `index` (of output channel `channel`) whose convolution plus bias is `value`.
float conv_epilogue(float value, uint channel, uint index) {
    return conv_epilogue_slope(value, conv_slope(channel), index);
}
