/// Which kernel computes attention.
public enum AttentionStrategy: Sendable, CaseIterable {
    /// Tensor cores on GPUs of the cooperative-matrix tier once their kernel has passed its self-check on the device
    /// and where it covers the head dim; the direct kernel on CPU drivers (even those that offer cooperative
    /// matrices); the scalar kernel otherwise.
    case automatic
    /// The f32 kernel with shared-memory tiles (`attention.comp`), on every device.
    case scalar
    /// One invocation per query row with its state in registers, keys and values read straight from memory and no
    /// barrier (`attention_direct.comp`): for CPU drivers. On Mesa 26's lavapipe, whose uniform loads become scalar
    /// loads, it ran `kinora bench kernels`' L256 h8 d64 attention in 11.7 ms against the scalar kernel's 69.5.
    case direct
    /// Tensor cores through `VK_KHR_cooperative_matrix` (`attention_coopmat.comp`: f16 operands, f32 softmax and
    /// accumulation) for the head dims whose tiles fit the device's shared memory, the scalar kernel for larger
    /// ones; throws on a device without cooperative matrices.
    case cooperativeMatrix
}
