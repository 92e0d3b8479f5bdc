/// Which kernel computes attention.
public enum AttentionStrategy: Sendable, CaseIterable {
    /// Tensor cores on the cooperative-matrix tier once their kernel has passed its self-check on the device and
    /// where it covers the head dim; the scalar kernel otherwise.
    case automatic
    /// The f32 kernel (`attention.comp`), on every device.
    case scalar
    /// Tensor cores through `VK_KHR_cooperative_matrix` (`attention_coopmat.comp`: f16 operands, f32 softmax and
    /// accumulation) for the head dims whose tiles fit the device's shared memory, the scalar kernel for larger
    /// ones; throws on a device without cooperative matrices.
    case cooperativeMatrix
}
