/// How a tensor's elements are stored on the device. Arithmetic is fp32 on the scalar tier whatever the storage.
public enum DType: String, Sendable, Codable, CaseIterable {
    case f32, f16, bf16

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        }
    }

    /// The suffix of shader variants that read weights of this type (`matmul.f16`).
    var variant: String { rawValue }
}
