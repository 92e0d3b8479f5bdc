#version 450
// Writes value + index * step into every element: a minimal kernel for backend tests.
layout(local_size_x_id = 0) in;
layout(std430, set = 0, binding = 0) writeonly buffer Output { float data[]; };
layout(push_constant) uniform Parameters { uint count; float value; float step; };
void main() {
    uint index = gl_GlobalInvocationID.x;
    if (index < count) data[index] = value + float(index) * step;
}
