#version 450
// activations: f16 bf16
// Unconstrained rational-quadratic spline with linear tails (Durkan et al. 2019, "Neural Spline Flows"), as
// nflows' `unconstrained_rational_quadratic_spline` and Piper's vits/transforms.py compute it, one element per
// thread. Element i has `bins` unnormalised widths and heights and `bins - 1` unnormalised inner-knot derivatives;
// the two boundary derivatives are 1 (the linear tails). Inputs outside [-tail_bound, tail_bound] pass through.
// Constant 3 selects the direction: 0 maps x forward, 1 inverts the spline (solves its quadratic). The knots are
// built in the reference's order (softmax, affine floor, cumulative sum, scale, pinned ends, differences) so f32
// results match PyTorch's to rounding. All operands and the result are stored in A_T and computed in f32.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint INVERSE = 0;
layout(std430, binding = 0) readonly buffer Input { A_T source[]; };
layout(std430, binding = 1) readonly buffer Widths { A_T widths[]; };
layout(std430, binding = 2) readonly buffer Heights { A_T heights[]; };
layout(std430, binding = 3) readonly buffer Derivatives { A_T derivatives[]; };
layout(std430, binding = 4) writeonly buffer Output { A_T result[]; };
layout(push_constant) uniform Parameters {
    uint count;
    uint bins;
    float tail_bound;
    float min_bin_width;
    float min_bin_height;
    float min_derivative;
};

// The host checks bins <= MAX_BINS.
#define MAX_BINS 64

// PyTorch's softplus (beta 1, threshold 20).
float softplus(float x) { return x > 20.0 ? x : log(1.0 + exp(x)); }

// Knot positions from unnormalised bin sizes: softmax, floor of `minimum` per bin, cumulative sum scaled onto
// [-tail_bound, tail_bound] with both ends pinned exactly.
// Unnormalised size of bin k (from `base`): a height or a width.
float bin_size(uint base, uint k, bool use_heights) {
    return use_heights ? A_LOAD(heights[base + k]) : A_LOAD(widths[base + k]);
}

void knots(uint base, bool use_heights, float minimum, out float knot[MAX_BINS + 1]) {
    float largest = -1.0 / 0.0;
    for (uint k = 0; k < bins; k++) {
        largest = max(largest, bin_size(base, k, use_heights));
    }
    float total = 0.0;
    for (uint k = 0; k < bins; k++) total += exp(bin_size(base, k, use_heights) - largest);
    float cumulative = 0.0;
    knot[0] = -tail_bound;
    for (uint k = 0; k < bins; k++) {
        float share = exp(bin_size(base, k, use_heights) - largest) / total;
        cumulative += minimum + (1.0 - minimum * float(bins)) * share;
        knot[k + 1] = 2.0 * tail_bound * cumulative - tail_bound;
    }
    knot[bins] = tail_bound;
}

// Derivative at knot k: 1 at both ends (min_derivative + softplus(log(exp(1 - min_derivative) - 1))).
float knot_derivative(uint base, uint k) {
    float unnormalised =
        (k == 0 || k == bins) ? log(exp(1.0 - min_derivative) - 1.0) : A_LOAD(derivatives[base + k - 1]);
    return min_derivative + softplus(unnormalised);
}

void main() {
    uint i = linear_invocation();
    if (i >= count) return;
    float x = A_LOAD(source[i]);
    if (x < -tail_bound || x > tail_bound) {
        result[i] = A_STORE(x);
        return;
    }
    float knot_x[MAX_BINS + 1];
    float knot_y[MAX_BINS + 1];
    knots(i * bins, false, min_bin_width, knot_x);
    knots(i * bins, true, min_bin_height, knot_y);

    // searchsorted: the number of knots at or below x (the last nudged up by 1e-6), minus one.
    uint bin = 0;
    for (uint k = 1; k <= bins; k++) {
        float edge = INVERSE == 1 ? knot_y[k] : knot_x[k];
        if (k == bins) edge += 1e-6;
        if (x >= edge) bin = k;
    }
    bin = min(bin, bins - 1);
    float left = knot_x[bin], width = knot_x[bin + 1] - knot_x[bin];
    float bottom = knot_y[bin], height = knot_y[bin + 1] - knot_y[bin];
    float delta = height / width;
    float d0 = knot_derivative(i * (bins - 1), bin);
    float d1 = knot_derivative(i * (bins - 1), bin + 1);
    float bend = d0 + d1 - 2.0 * delta;
    if (INVERSE == 1) {
        float offset = x - bottom;
        float a = offset * bend + height * (delta - d0);
        float b = height * d0 - offset * bend;
        float c = -delta * offset;
        float discriminant = b * b - 4.0 * a * c;
        float root = (2.0 * c) / (-b - sqrt(max(discriminant, 0.0)));
        result[i] = A_STORE(root * width + left);
    } else {
        float theta = (x - left) / width;
        float theta_one_minus_theta = theta * (1.0 - theta);
        float numerator = height * (delta * theta * theta + d0 * theta_one_minus_theta);
        float denominator = delta + bend * theta_one_minus_theta;
        result[i] = A_STORE(bottom + numerator / denominator);
    }
}
