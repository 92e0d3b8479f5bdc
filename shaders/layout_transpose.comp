#version 450
// variant: b32
// variant: b16 -DBITS16
// Batched tiled transpose for permutes that move the last axis. Axis "a" is the input's last (contiguous) axis,
// axis "b" becomes the output's last axis; every other axis is a batch axis. A TILE x TILE block is read with
// consecutive threads along a, staged in shared memory, and written with consecutive threads along b, so both
// the reads and the writes are contiguous. Elements move as raw bits (f32/f16/bf16 keep their storage type).
#include "common.glsl"
layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 1) const uint ROWS = 8; // workgroup y size: each thread moves TILE / ROWS elements
layout(constant_id = 3) const uint TILE = 32;
#if defined(BITS16)
#define ELEM_T uint16_t
#else
#define ELEM_T uint
#endif
layout(std430, binding = 0) readonly buffer Input { ELEM_T source[]; };
layout(std430, binding = 1) writeonly buffer Output { ELEM_T result[]; };
layout(push_constant) uniform Parameters {
    uint size_a;         // extent of a (input stride 1)
    uint size_b;         // extent of b (output stride 1)
    uint in_stride_b;    // input stride of b
    uint out_stride_a;   // output stride of a
    uint batches;        // product of the batch extents
    uint batch_dims[4];  // batch extents, outermost first, padded with 1 in front
    uint batch_in[4];    // input strides of the batch axes
    uint batch_out[4];   // output strides of the batch axes
};

shared uint tile[TILE * (TILE + 1)];

void main() {
    uint lx = gl_LocalInvocationID.x;
    uint ly = gl_LocalInvocationID.y;
    for (uint batch = gl_WorkGroupID.z; batch < batches; batch += gl_NumWorkGroups.z) {
        uint rest = batch;
        uint in_base = 0;
        uint out_base = 0;
        for (int axis = 3; axis >= 0; axis--) {
            uint coordinate = rest % batch_dims[axis];
            rest /= batch_dims[axis];
            in_base += coordinate * batch_in[axis];
            out_base += coordinate * batch_out[axis];
        }
        for (uint b0 = gl_WorkGroupID.y * TILE; b0 < size_b; b0 += gl_NumWorkGroups.y * TILE) {
            for (uint a0 = gl_WorkGroupID.x * TILE; a0 < size_a; a0 += gl_NumWorkGroups.x * TILE) {
                for (uint r = ly; r < TILE; r += ROWS) {
                    uint a = a0 + lx;
                    uint b = b0 + r;
                    if (a < size_a && b < size_b) {
                        tile[r * (TILE + 1) + lx] = uint(source[in_base + b * in_stride_b + a]);
                    }
                }
                barrier();
                for (uint r = ly; r < TILE; r += ROWS) {
                    uint b = b0 + lx;
                    uint a = a0 + r;
                    if (a < size_a && b < size_b) {
                        result[out_base + a * out_stride_a + b] = ELEM_T(tile[lx * (TILE + 1) + r]);
                    }
                }
                barrier();
            }
        }
    }
}
