import KinoraTensor

/// The host's rounding to f16, bf16 and float8 (round to nearest even), written independently of the library's, so
/// that a reference sees exactly the values a kernel reads from 16-bit or 8-bit storage.
public enum HostConversionMirror {
    /// The value after a round trip through `dtype`.
    public static func rounded(_ value: Float, to dtype: DType) -> Float {
        switch dtype {
        case .f32: return value
        case .f16: return Float(Float16(value))
        case .bf16:
            let bits = value.bitPattern
            let lsb = (bits >> 16) & 1
            return Float(bitPattern: ((bits &+ 0x7FFF &+ lsb) >> 16) << 16)
        case .f8e4m3fn, .f8e5m2:
            return Float8Mirror.rounded(value, to: dtype)
        }
    }
}
