#version 450
// variant: f32
// variant: f16 -DW_F16
// variant: bf16 -DW_BF16
// variant: f8e4m3fn_f32 -DW_F8E4M3FN -DB_F32
// variant: f8e5m2_f32 -DW_F8E5M2 -DB_F32
// activations: f16 bf16
// Direct convolution without shared memory, for CPU Vulkan drivers (lavapipe): each invocation computes OCB output
// channels at NPOS output positions, reading the input straight from the buffer (each weight read serves them all).
// On a CPU driver a workgroup barrier is expensive and neighbouring invocations' loads are already vector loads, so
// this beats the shared-memory implicit GEMM (conv.comp) several times over there; GPUs use conv.comp. Same layout,
// modes 0 and 1 (not the transposed one), specialization constants and fused epilogue as conv.comp; the bias is f32
// and float8 weights are scaled by w_scale; input and output activations are stored in A_T and computed in f32.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint OCB = 8;
layout(constant_id = 4) const uint NPOS = 1;
layout(constant_id = 8) const uint MODE = 0;
layout(constant_id = 9) const bool HAS_BIAS = false;
layout(constant_id = 10) const uint KT = 1;
layout(constant_id = 11) const uint KH = 1;
layout(constant_id = 12) const uint KW = 1;
layout(constant_id = 13) const uint ST = 1;
layout(constant_id = 14) const uint SH = 1;
layout(constant_id = 15) const uint SW = 1;
layout(constant_id = 16) const uint DT = 1;
layout(constant_id = 17) const uint DH = 1;
layout(constant_id = 18) const uint DW = 1;
layout(constant_id = 19) const uint PT = 0;
layout(constant_id = 20) const uint PH = 0;
layout(constant_id = 21) const uint PW = 0;
#include "conv_epilogue.glsl"

const uint MODE_POINTWISE = 1;

layout(std430, binding = 0) readonly buffer Input { A_T x[]; };
layout(std430, binding = 1) readonly buffer Weight { W_T w[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 5) writeonly buffer Output { A_T y[]; };
layout(push_constant) uniform Parameters {
    uint batch;
    uint cin_group;
    uint cout_group;
    uint groups;
    uint m_tiles;
    uint in_t;
    uint in_h;
    uint in_w;
    uint out_t;
    uint out_h;
    uint out_w;
    float w_scale;
};

void main() {
    uint out_size = out_t * out_h * out_w;
    uint columns = batch * out_size;
    // This invocation's NPOS output positions: workgroup g covers the span of up to NPOS·WORKGROUP_SIZE positions from
    // g·NPOS·WORKGROUP_SIZE, and lane l takes l + p·stride of them, stride = ⌈span / NPOS⌉ (WORKGROUP_SIZE for a
    // whole span). Neighbouring lanes read neighbouring inputs, each weight loaded serves NPOS positions, and a short
    // span (a small picture: 32 positions) is dealt to few lanes with all NPOS positions each, not to a lane apiece
    // with NPOS − 1 of them repeats.
    uint start = linear_workgroup() * NPOS * WORKGROUP_SIZE;
    if (start >= columns) return;
    uint span = min(columns - start, NPOS * WORKGROUP_SIZE);
    uint stride = (span + NPOS - 1) / NPOS;
    if (gl_LocalInvocationID.x >= stride) return;
    uint first = start + gl_LocalInvocationID.x;
    uint end = start + span;
    uint block = gl_WorkGroupID.z % m_tiles;
    uint group = gl_WorkGroupID.z / m_tiles;
    uint m0 = block * OCB;
    uint in_size = in_t * in_h * in_w;
    uint cin_total = cin_group * groups;
    uint cout_total = cout_group * groups;
    const uint taps = KT * KH * KW;
    uint k_total = cin_group * taps;
    // Rows past the last output channel read the last one's weights (in bounds) and are not stored.
    uint rows[OCB];
    for (uint j = 0; j < OCB; j++) rows[j] = (group * cout_group + min(m0 + j, cout_group - 1)) * k_total;

    // Per position: its input base, its window origin, and whether it exists (positions past the end repeat the
    // first one's reads and are not stored).
    uint bases[NPOS];
    int t0[NPOS];
    int h0[NPOS];
    int w0[NPOS];
    uint spatial[NPOS];
    uint images[NPOS];
    bool valid[NPOS];
    for (uint p = 0; p < NPOS; p++) {
        uint n = first + p * stride;
        valid[p] = n < end;
        if (!valid[p]) n = first;
        images[p] = n / out_size;
        spatial[p] = n % out_size;
        bases[p] = (images[p] * cin_total + group * cin_group) * in_size;
        uint ow = spatial[p] % out_w;
        uint oh = (spatial[p] / out_w) % out_h;
        uint ot = spatial[p] / (out_w * out_h);
        t0[p] = int(ot * ST) - int(PT);
        h0[p] = int(oh * SH) - int(PH);
        w0[p] = int(ow * SW) - int(PW);
    }

    float sums[NPOS * OCB];
    for (uint i = 0; i < NPOS * OCB; i++) sums[i] = 0.0;
    for (uint ci = 0; ci < cin_group; ci++) {
        for (uint kt = 0; kt < KT; kt++) {
            for (uint kh = 0; kh < KH; kh++) {
                for (uint kw = 0; kw < KW; kw++) {
                    float values[NPOS];
                    for (uint p = 0; p < NPOS; p++) {
                        if (MODE == MODE_POINTWISE) {
                            values[p] = A_LOAD(x[bases[p] + ci * in_size + spatial[p]]);
                        } else {
                            int it = t0[p] + int(kt * DT);
                            int ih = h0[p] + int(kh * DH);
                            int iw = w0[p] + int(kw * DW);
                            values[p] = 0.0;
                            if (uint(it) < in_t && uint(ih) < in_h && uint(iw) < in_w) {
                                uint at = bases[p] + ci * in_size + (uint(it) * in_h + uint(ih)) * in_w + uint(iw);
                                values[p] = A_LOAD(x[at]);
                            }
                        }
                    }
                    uint k = ci * taps + (kt * KH + kh) * KW + kw;
                    for (uint j = 0; j < OCB; j++) {
                        float weight = W_READ(w, rows[j] + k);
                        for (uint p = 0; p < NPOS; p++) sums[p * OCB + j] += weight * values[p];
                    }
                }
            }
        }
    }

    for (uint p = 0; p < NPOS; p++) {
        if (!valid[p]) continue;
        for (uint j = 0; j < OCB; j++) {
            uint m = m0 + j;
            if (m >= cout_group) break;
            uint channel = group * cout_group + m;
            float value = sums[p * OCB + j];
            if (HAS_BIAS) value += bias[channel];
            uint index = (images[p] * cout_total + channel) * out_size + spatial[p];
            y[index] = A_STORE(conv_epilogue(value, channel, index));
        }
    }
}
