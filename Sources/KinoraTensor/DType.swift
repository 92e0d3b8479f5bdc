/// How a tensor's elements are stored on the device. Arithmetic is fp32 on the scalar tier whatever the storage.
///
/// The float8 types hold weights as they come in files (`F8_E4M3`/`F8_E5M2` safetensors, torch's `float8_e4m3fn`
/// and `float8_e5m2`), one byte an element, with a per-tensor scale (`Tensor.scale`). The ops that take weights
/// (matmul, linear, the convolutions) decode them in their kernels; every other op widens them to f32 first. No op
/// writes float8.
public enum DType: String, Sendable, Codable, CaseIterable {
    case f32, f16, bf16
    /// float8 e4m3fn: 4 exponent bits (bias 7), 3 mantissa bits, no infinities, NaN at 0x7F and 0xFF, largest ±448.
    case f8e4m3fn
    /// float8 e5m2: the upper byte of an IEEE binary16 (bias 15, infinities and NaN), largest finite ±57344.
    case f8e5m2

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .f8e4m3fn, .f8e5m2: return 1
        }
    }

    /// Whether this is one of the float8 weight types.
    public var isFloat8: Bool { self == .f8e4m3fn || self == .f8e5m2 }

    /// The suffix of shader variants that read weights of this type (`matmul.f16`).
    var variant: String { rawValue }
}
