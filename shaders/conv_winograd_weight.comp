#version 450
// variant: f32
// variant: f16 -DW_F16
// variant: bf16 -DW_BF16
// variant: f8e4m3fn -DW_F8E4M3FN -DB_F32
// variant: f8e5m2 -DW_F8E5M2 -DB_F32
// Winograd F(4x4, 3x3), step 1 of 4: transforms a 3x3 weight [Cout, Cin, 3, 3] (in its storage type; float8 times
// w_scale) into U = G g G^T, f32, laid out for conv_winograd_gemm.comp: U[xi][block][ci][MB] for the 36 positions
// xi of the 6x6 transform and blocks of MB output channels (channels past the weight's are zeros). One invocation
// per (output channel, input channel).
#include "common.glsl"
#include "winograd.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint MB = 16;

layout(std430, binding = 0) readonly buffer Weight { W_T w[]; };
layout(std430, binding = 1) writeonly buffer Transformed { float u[]; };
layout(push_constant) uniform Parameters {
    uint cout;
    uint cin;
    uint cout_pad;
    float w_scale;
};

void main() {
    uint index = linear_invocation();
    if (index >= cout_pad * cin) return;
    uint co = index / cin;
    uint ci = index % cin;
    float g[9];
    for (uint k = 0; k < 9; k++) g[k] = 0.0;
    if (co < cout) {
        for (uint k = 0; k < 9; k++) g[k] = W_READ(w, (co * cin + ci) * 9 + k);
    }
    // Columns first (G g: 6 x 3), then rows ((G g) G^T: 6 x 6).
    float columns[3][6];
    for (uint j = 0; j < 3; j++) winograd_weight_1d(g[j], g[3 + j], g[6 + j], columns[j]);
    uint blocks = cout_pad / MB;
    uint base = ((co / MB) * cin + ci) * MB + co % MB;
    uint plane = blocks * cin * MB;
    for (uint i = 0; i < 6; i++) {
        float row[6];
        winograd_weight_1d(columns[0][i], columns[1][i], columns[2][i], row);
        for (uint j = 0; j < 6; j++) u[(i * 6 + j) * plane + base] = row[j];
    }
}
