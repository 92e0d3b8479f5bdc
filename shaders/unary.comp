#version 450
// activations: f16 bf16
// Elementwise unary op: out = f(x * alpha + beta) for the op selected by constant 3.
// 0 identity, 1 silu, 2 gelu (erf), 3 gelu (tanh), 4 tanh, 5 sigmoid, 6 softplus, 7 exp, 8 relu,
// 9 sqrt, 10 log, 11 abs, 12 square, 13 reciprocal, 14 sin, 15 cos, 16 elu
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint OP = 0;
layout(std430, binding = 0) readonly buffer Input { A_T source[]; };
layout(std430, binding = 1) writeonly buffer Output { A_T result[]; };
layout(push_constant) uniform Parameters { uint count; float alpha; float beta; };

// erfc(z) for z >= 0 with relative error < 1.2e-7 (Numerical Recipes' Chebyshev fit), since GLSL has no erf.
float erfc_positive(float z) {
    float t = 1.0 / (1.0 + 0.5 * z);
    return t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
           t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
           t * (-0.82215223 + t * 0.17087277)))))))));
}

// 1 + erf(x), computed without cancellation for negative x (where GELU needs the small tail).
float one_plus_erf(float x) {
    return x >= 0.0 ? 2.0 - erfc_positive(x) : erfc_positive(-x);
}

float sigmoid(float x) { return 1.0 / (1.0 + exp(-x)); }

// exp(x) - 1 for x <= 0 without the cancellation of exp(x) - 1 near 0 (GLSL has no expm1): a Taylor polynomial on
// [-0.5, 0] (truncation error below 1e-7 of the result), the plain difference below.
float expm1_negative(float x) {
    if (x < -0.5) return exp(x) - 1.0;
    return x * (1.0 + x * (1.0 / 2.0 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (1.0 / 120.0 + x * (1.0 / 720.0 +
           x * (1.0 / 5040.0 + x * (1.0 / 40320.0))))))));
}

void main() {
    uint i = linear_invocation();
    if (i >= count) return;
    float x = A_LOAD(source[i]) * alpha + beta;
    float r;
    if (OP == 0) r = x;
    else if (OP == 1) r = x * sigmoid(x);
    else if (OP == 2) r = 0.5 * x * one_plus_erf(x * 0.70710678118654752);
    // 0.5·x·(1 + tanh(u)) written as x·sigmoid(2u): the same value without cancellation in the negative tail.
    else if (OP == 3) r = x / (1.0 + exp(-1.5957691216057308 * (x + 0.044715 * x * x * x)));
    else if (OP == 4) r = tanh(clamp(x, -15.0, 15.0));
    else if (OP == 5) r = sigmoid(x);
    else if (OP == 6) r = x > 20.0 ? x : log(1.0 + exp(x));
    else if (OP == 7) r = exp(x);
    else if (OP == 8) r = max(x, 0.0);
    else if (OP == 9) r = sqrt(x);
    else if (OP == 10) r = log(x);
    else if (OP == 11) r = abs(x);
    else if (OP == 12) r = x * x;
    else if (OP == 13) r = 1.0 / x;
    else if (OP == 14) r = sin(x);
    else if (OP == 15) r = cos(x);
    else r = x > 0.0 ? x : expm1_negative(x);
    result[i] = A_STORE(r);
}
