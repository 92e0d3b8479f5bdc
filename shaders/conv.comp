#version 450
// variant: f32
// variant: f16 -DW_F16
// variant: bf16 -DW_BF16
// variant: f8e4m3fn_f32 -DW_F8E4M3FN -DB_F32
// variant: f8e5m2_f32 -DW_F8E5M2 -DB_F32
// activations: f16 bf16
// Direct convolution as an implicit GEMM (no im2col buffer): per group, C[M, N] = A[M, K] x B[K, N] with M = output
// channels per group, N = batch x output positions, K = input channels per group x kernel taps. A is the weight in its
// storage type (float8 scaled by w_scale as it loads; the bias is f32, so a file's f32 bias is not rounded to a 16-bit
// weight type); B is gathered from the input (activations in A_T, widened to f32 as they load) into shared memory one
// BK x BN tile at a time; the output is stored in A_T. Kernel size, stride, dilation and padding are specialization
// constants, so the gather unrolls.
//
// MODE 0: NC(T)(H)W convolution with weight [Cout, Cin/groups, KT, KH, KW]; time is padded in front only by PT,
//         height and width on both sides by PH and PW (conv1d/conv2d use KT = 1 and in_t = 1).
// MODE 1: the same with a 1x1x1 kernel, stride 1 and no padding: a plain GEMM over channels.
// MODE 2: 1-D transposed convolution with weight [Cin, Cout/groups, KW] (stride SW, padding PW, dilation DW), in
//         gather form: the output positions l with (l + PW) % SW == phase form one GEMM whose K runs over the
//         taps j with j * DW % SW == phase, reading input (l + PW - j * DW) / SW.
//
// Epilogue, fused into the store: the bias, then conv_epilogue.glsl (activation and scaled residual).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint BM = 64;
layout(constant_id = 4) const uint BN = 64;
layout(constant_id = 5) const uint BK = 16;
layout(constant_id = 6) const uint TM = 4;
layout(constant_id = 7) const uint TN = 4;
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

const uint MODE_GATHER = 0;
const uint MODE_POINTWISE = 1;
const uint MODE_TRANSPOSED = 2;

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

shared float tile_a[BK * BM];
shared float tile_b[BK * BN];
shared uint phase_taps[KW];

void main() {
    const uint threads = (BM / TM) * (BN / TN);
    const uint taps = KT * KH * KW;
    uint thread = gl_LocalInvocationID.x;
    uint z = gl_WorkGroupID.z;
    uint m_tile = z % m_tiles;
    z /= m_tiles;
    uint group = z % groups;
    uint phase = z / groups;
    uint row0 = m_tile * BM;
    uint col0 = linear_workgroup() * BN;

    uint cin_total = cin_group * groups;
    uint cout_total = cout_group * groups;
    uint in_size = in_t * in_h * in_w;
    uint out_size = out_t * out_h * out_w;

    // GEMM extent of this workgroup's problem: K and the number of columns.
    uint k_total;
    uint columns;
    uint phase_taps_count = 0;
    uint phase_first = 0;
    if (MODE == MODE_TRANSPOSED) {
        for (uint j = 0; j < KW; j++) {
            if ((j * DW) % SW == phase) phase_taps_count++;
        }
        if (thread == 0) {
            uint count = 0;
            for (uint j = 0; j < KW; j++) {
                if ((j * DW) % SW == phase) phase_taps[count++] = j;
            }
        }
        phase_first = (phase + SW - PW % SW) % SW;
        uint per_batch = phase_first < out_w ? (out_w - phase_first + SW - 1) / SW : 0;
        columns = batch * per_batch;
        k_total = cin_group * phase_taps_count;
        barrier();
    } else {
        columns = batch * out_size;
        k_total = cin_group * taps;
    }
    if (col0 >= columns) return;
    uint per_batch_columns = columns / batch;

    // The column this thread gathers for (threads is a multiple of BN), decoded once.
    uint load_col = thread % BN;
    uint load_row0 = thread / BN;
    const uint load_step = threads / BN;
    uint n = col0 + load_col;
    bool column_ok = n < columns;
    uint nb = column_ok ? n / per_batch_columns : 0;
    uint ns = column_ok ? n % per_batch_columns : 0;
    uint in_base = (nb * cin_total + group * cin_group) * in_size;
    int t0 = 0;
    int h0 = 0;
    int w0 = 0;
    if (MODE == MODE_GATHER) {
        uint ow = ns % out_w;
        uint oh = (ns / out_w) % out_h;
        uint ot = ns / (out_w * out_h);
        t0 = int(ot * ST) - int(PT);
        h0 = int(oh * SH) - int(PH);
        w0 = int(ow * SW) - int(PW);
    } else if (MODE == MODE_POINTWISE) {
        in_base += ns;
    } else {
        w0 = int(phase_first + PW) + int(ns * SW);
    }

    float sums[TM * TN];
    for (uint i = 0; i < TM * TN; i++) sums[i] = 0.0;
    uint thread_row = (thread / (BN / TN)) * TM;
    uint thread_col = (thread % (BN / TN)) * TN;

    for (uint k0 = 0; k0 < k_total; k0 += BK) {
        for (uint e = thread; e < BM * BK; e += threads) {
            uint r = e / BK;
            uint kk = k0 + e % BK;
            uint m = row0 + r;
            float value = 0.0;
            if (m < cout_group && kk < k_total) {
                if (MODE == MODE_TRANSPOSED) {
                    uint ci = kk / phase_taps_count;
                    uint j = phase_taps[kk % phase_taps_count];
                    value = W_READ(w, ((group * cin_group + ci) * cout_group + m) * KW + j);
                } else {
                    value = W_READ(w, (group * cout_group + m) * k_total + kk);
                }
            }
            tile_a[(e % BK) * BM + r] = value;
        }
        for (uint row = load_row0; row < BK; row += load_step) {
            uint kk = k0 + row;
            float value = 0.0;
            if (column_ok && kk < k_total) {
                if (MODE == MODE_POINTWISE) {
                    value = A_LOAD(x[in_base + kk * in_size]);
                } else if (MODE == MODE_GATHER) {
                    uint ci = kk / taps;
                    uint tap = kk % taps;
                    int it = t0 + int((tap / (KH * KW)) * DT);
                    int ih = h0 + int(((tap / KW) % KH) * DH);
                    int iw = w0 + int((tap % KW) * DW);
                    if (uint(it) < in_t && uint(ih) < in_h && uint(iw) < in_w) {
                        value = A_LOAD(x[in_base + ci * in_size + (uint(it) * in_h + uint(ih)) * in_w + uint(iw)]);
                    }
                } else {
                    uint ci = kk / phase_taps_count;
                    int i = (w0 - int(phase_taps[kk % phase_taps_count] * DW)) / int(SW);
                    if (uint(i) < in_w) value = A_LOAD(x[in_base + ci * in_size + uint(i)]);
                }
            }
            tile_b[row * BN + load_col] = value;
        }
        barrier();
        for (uint k = 0; k < BK; k++) {
            float column_a[TM];
            float row_b[TN];
            for (uint i = 0; i < TM; i++) column_a[i] = tile_a[k * BM + thread_row + i];
            for (uint j = 0; j < TN; j++) row_b[j] = tile_b[k * BN + thread_col + j];
            for (uint i = 0; i < TM; i++) {
                for (uint j = 0; j < TN; j++) sums[i * TN + j] += column_a[i] * row_b[j];
            }
        }
        barrier();
    }

    for (uint j = 0; j < TN; j++) {
        uint col = col0 + thread_col + j;
        if (col >= columns) continue;
        uint b = col / per_batch_columns;
        uint s = col % per_batch_columns;
        uint position = MODE == MODE_TRANSPOSED ? phase_first + s * SW : s;
        for (uint i = 0; i < TM; i++) {
            uint m = row0 + thread_row + i;
            if (m >= cout_group) continue;
            uint channel = group * cout_group + m;
            float value = sums[i * TN + j];
            if (HAS_BIAS) value += bias[channel];
            uint index = (b * cout_total + channel) * out_size + position;
            y[index] = A_STORE(conv_epilogue(value, channel, index));
        }
    }
}
