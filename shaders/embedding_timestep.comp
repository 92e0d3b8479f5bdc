#version 450
// activations: f16 bf16
// Sinusoidal timestep embedding as diffusers' get_timestep_embedding: out[n, j] for j < half is sin(arg),
// for half <= j < 2 half cos(arg) (swapped when FLIP, constant 3), and 0 in the padding column of an odd dim,
// with arg = (t[n] * freq[k]) * scale rounded in fp32 as PyTorch does. The frequencies come from the host.
// sin/cos take an argument reduced to [-pi, pi] (Cody–Waite), where Vulkan's precision bound applies. The
// timesteps and the arguments are f32; the result is stored in the activation type (A_T), as diffusers' `.to(dtype)`.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 3) const bool FLIP = false;
layout(std430, binding = 0) readonly buffer Timesteps { float timesteps[]; };
layout(std430, binding = 1) readonly buffer Frequencies { float frequencies[]; };
layout(std430, binding = 2) writeonly buffer Output { A_T result[]; };
layout(push_constant) uniform Parameters { uint count; uint dim; uint half_dim; float scale; };

void main() {
    uint i = linear_invocation();
    if (i >= count) return;
    uint n = i / dim;
    uint j = i - n * dim;
    if (j >= 2 * half_dim) {
        result[i] = A_STORE(0.0);
        return;
    }
    bool second = j >= half_dim;
    uint k = second ? j - half_dim : j;
    precise float product = timesteps[n] * frequencies[k];
    precise float argument = product * scale;
    float turns = round(argument * 0.15915494309189535);
    // 2π = 6.28125 + 0.0019352436065673828 + 6.357301884918343e-08; the first two products are exact.
    precise float reduced = ((argument - turns * 6.28125) - turns * 0.0019352436065673828)
        - turns * 6.357301884918343e-08;
    bool useCos = second != FLIP;
    result[i] = A_STORE(useCos ? cos(reduced) : sin(reduced));
}
