// Winograd F(4x4, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", interpolation points
// 0, 1, -1, 2, -2 and infinity): a 3x3 stride-1 convolution of a 6x6 input patch d into a 4x4 output patch is
// Y = A^T [(G g G^T) * (B^T d B)] A, so each output channel's 16 outputs cost 36 multiplications per input
// channel instead of 144. Each 2-D transform is the 1-D one applied to the columns and then to the rows.

// G g for a 3-vector: 6 values.
void winograd_weight_1d(float g0, float g1, float g2, out float u[6]) {
    u[0] = g0 * 0.25;
    u[1] = (g0 + g1 + g2) * (-1.0 / 6.0);
    u[2] = (g0 - g1 + g2) * (-1.0 / 6.0);
    u[3] = g0 * (1.0 / 24.0) + g1 * (1.0 / 12.0) + g2 * (1.0 / 6.0);
    u[4] = g0 * (1.0 / 24.0) - g1 * (1.0 / 12.0) + g2 * (1.0 / 6.0);
    u[5] = g2;
}

// B^T d for a 6-vector.
void winograd_input_1d(float d0, float d1, float d2, float d3, float d4, float d5, out float v[6]) {
    v[0] = 4.0 * d0 - 5.0 * d2 + d4;
    v[1] = -4.0 * (d1 + d2) + d3 + d4;
    v[2] = 4.0 * (d1 - d2) - d3 + d4;
    v[3] = 2.0 * (d3 - d1) - d2 + d4;
    v[4] = 2.0 * (d1 - d3) - d2 + d4;
    v[5] = 4.0 * d1 - 5.0 * d3 + d5;
}

// A^T m for a 6-vector: 4 values.
void winograd_output_1d(float m0, float m1, float m2, float m3, float m4, float m5, out float o[4]) {
    float a = m1 + m2, b = m1 - m2, c = m3 + m4, d = m3 - m4;
    o[0] = m0 + a + c;
    o[1] = b + 2.0 * d;
    o[2] = a + 4.0 * c;
    o[3] = b + 8.0 * d + m5;
}
