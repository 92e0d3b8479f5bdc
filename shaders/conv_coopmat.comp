#version 450
// compiler: glslang
// activations: f16 bf16
// variant: f32
// variant: f16 -DW_F16
// variant: bf16 -DW_BF16
// variant: f8e4m3fn_f32 -DW_F8E4M3FN -DB_F32
// variant: f8e5m2_f32 -DW_F8E5M2 -DB_F32
// The implicit-GEMM convolution of conv.comp on tensor cores (GL_KHR_cooperative_matrix), same modes, operands and
// fused epilogue: per group, C[M, N] = A[M, K] x B[K, N] with M = output channels per group, N = batch x output
// positions, K = input channels per group x kernel taps. Weight tiles (A) and gathered input tiles (B) are staged in
// shared memory as f16 (values beyond f16's range clamped to ±65504; float8 weights unscaled, which f16 holds
// exactly, with w_scale applied to the product) and multiplied on the device's CM x CN x CK matrices with f32
// accumulation. Each of the 2 x 2 subgroups owns a 32 x 32 block of the 64 x 64 tile; the products go through
// shared memory to the store, which adds the f32 bias and applies conv_epilogue.glsl.
//
// MODE 0: NC(T)(H)W convolution with weight [Cout, Cin/groups, KT, KH, KW] (time padded in front only).
// MODE 1: 1x1x1 kernel, stride 1, no padding. MODE 2: 1-D transposed convolution in gather form, one GEMM per
// output phase (see conv.comp).
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint BM = 64;
layout(constant_id = 4) const uint BN = 64;
layout(constant_id = 5) const uint CM = 16;
layout(constant_id = 6) const uint CN = 16;
layout(constant_id = 7) const uint CK = 16;
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

const uint BK = 32;
const uint SUBGROUPS_M = 2;
const uint SUBGROUPS_N = 2;
const uint TILES_M = BM / SUBGROUPS_M / CM;
const uint TILES_N = BN / SUBGROUPS_N / CN;

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

shared float16_t tile_a[BM * BK];
shared float16_t tile_b[BK * BN];
shared float tile_c[BM * BN];
shared uint phase_taps[KW];

float16_t to_half(float value) { return float16_t(clamp(value, -65504.0, 65504.0)); }

#if defined(W_FLOAT8)
// Exact in f16, NaN included (clamp would be free to turn a NaN into a bound).
#define A_TILE(value) float16_t(value)
#define PRODUCT_SCALE w_scale
#else
#define A_TILE(value) to_half(value)
#define PRODUCT_SCALE 1.0
#endif

void main() {
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

    uint subgroup_row = (gl_SubgroupID / SUBGROUPS_N) * (BM / SUBGROUPS_M);
    uint subgroup_col = (gl_SubgroupID % SUBGROUPS_N) * (BN / SUBGROUPS_N);
    coopmat<float, gl_ScopeSubgroup, CM, CN, gl_MatrixUseAccumulator> sums[TILES_M * TILES_N];
    for (uint t = 0; t < TILES_M * TILES_N; t++) {
        sums[t] = coopmat<float, gl_ScopeSubgroup, CM, CN, gl_MatrixUseAccumulator>(0.0);
    }

    for (uint k0 = 0; k0 < k_total; k0 += BK) {
        for (uint e = thread; e < BM * BK; e += WORKGROUP_SIZE) {
            uint m = row0 + e / BK;
            uint kk = k0 + e % BK;
            float value = 0.0;
            if (m < cout_group && kk < k_total) {
                if (MODE == MODE_TRANSPOSED) {
                    uint ci = kk / phase_taps_count;
                    uint j = phase_taps[kk % phase_taps_count];
                    value = W_READ_UNSCALED(w, ((group * cin_group + ci) * cout_group + m) * KW + j);
                } else {
                    value = W_READ_UNSCALED(w, (group * cout_group + m) * k_total + kk);
                }
            }
            tile_a[e] = A_TILE(value);
        }
        // Each thread gathers whole columns of the input tile, decoding its output position once per column.
        for (uint col = thread; col < BN; col += WORKGROUP_SIZE) {
            uint n = col0 + col;
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
            for (uint row = 0; row < BK; row++) {
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
                tile_b[row * BN + col] = to_half(value);
            }
        }
        barrier();
        for (uint kk = 0; kk < BK; kk += CK) {
            coopmat<float16_t, gl_ScopeSubgroup, CM, CK, gl_MatrixUseA> left[TILES_M];
            for (uint i = 0; i < TILES_M; i++) {
                coopMatLoad(left[i], tile_a, (subgroup_row + i * CM) * BK + kk, BK,
                            gl_CooperativeMatrixLayoutRowMajor);
            }
            for (uint j = 0; j < TILES_N; j++) {
                coopmat<float16_t, gl_ScopeSubgroup, CK, CN, gl_MatrixUseB> right;
                coopMatLoad(right, tile_b, kk * BN + subgroup_col + j * CN, BN, gl_CooperativeMatrixLayoutRowMajor);
                for (uint i = 0; i < TILES_M; i++) {
                    sums[i * TILES_N + j] = coopMatMulAdd(left[i], right, sums[i * TILES_N + j]);
                }
            }
        }
        barrier();
    }

    for (uint i = 0; i < TILES_M; i++) {
        for (uint j = 0; j < TILES_N; j++) {
            coopMatStore(sums[i * TILES_N + j], tile_c, (subgroup_row + i * CM) * BN + subgroup_col + j * CN, BN,
                         gl_CooperativeMatrixLayoutRowMajor);
        }
    }
    barrier();
    // Neighbouring threads store neighbouring positions of one output channel.
    for (uint e = thread; e < BM * BN; e += WORKGROUP_SIZE) {
        uint m = row0 + e / BN;
        uint col = col0 + e % BN;
        if (m >= cout_group || col >= columns) continue;
        uint b = col / per_batch_columns;
        uint s = col % per_batch_columns;
        uint position = MODE == MODE_TRANSPOSED ? phase_first + s * SW : s;
        uint channel = group * cout_group + m;
        float value = tile_c[e] * PRODUCT_SCALE;
        if (HAS_BIAS) value += bias[channel];
        uint index = (b * cout_total + channel) * out_size + position;
        y[index] = A_STORE(conv_epilogue(value, channel, index));
    }
}
