#version 450
// variant: b32
// variant: b16 -DBITS16
// Pads the last axis: the input viewed as [rows, length] gives [rows, left + length + right] with the input at
// columns left .. left + length - 1 and the new columns, by MODE: 0 zeros, 1 reflection about the first and last
// entries (PyTorch's "reflect": needs left, right < length), 2 copies of the first and last entries ("replicate").
// Elements move as raw bits (32- or 16-bit), so every storage type is kept.
#include "common.glsl"
layout(local_size_x_id = 0) in;
#if defined(BITS16)
#define ELEM_T uint16_t
#else
#define ELEM_T uint
#endif
layout(std430, binding = 0) readonly buffer Input { ELEM_T source[]; };
layout(std430, binding = 1) writeonly buffer Output { ELEM_T result[]; };
layout(push_constant) uniform Parameters {
    uint count;
    uint length;
    uint left;
    uint padded;  // left + length + right
    uint mode;
};

void main() {
    uint i = linear_invocation();
    if (i >= count) return;
    uint row = i / padded;
    int column = int(i % padded) - int(left);
    int last = int(length) - 1;
    if (mode == 1u) {
        column = column < 0 ? -column : (column > last ? 2 * last - column : column);
    } else if (mode == 2u) {
        column = clamp(column, 0, last);
    } else if (column < 0 || column > last) {
        result[i] = ELEM_T(0);
        return;
    }
    result[i] = source[row * length + uint(column)];
}
