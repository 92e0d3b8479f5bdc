/// Conversions between host `Float` arrays and the bytes of each storage type.
enum HostConversion {
    static func bytes(of values: [Float], as dtype: DType) -> [UInt8] {
        switch dtype {
        case .f32:
            return values.withUnsafeBytes { Array($0) }
        case .f16:
            return values.map { Float16($0) }.withUnsafeBytes { Array($0) }
        case .bf16:
            return values.map(bfloat16Bits).withUnsafeBytes { Array($0) }
        case .f8e4m3fn, .f8e5m2:
            return values.map { float8Bits($0, as: dtype) }
        }
    }

    /// The elements as stored (a float8 tensor's per-tensor scale is not applied here).
    static func floats(from bytes: UnsafeRawBufferPointer, as dtype: DType, count: Int) -> [Float] {
        switch dtype {
        case .f32:
            return Array(bytes.bindMemory(to: Float.self).prefix(count))
        case .f16:
            return bytes.bindMemory(to: Float16.self).prefix(count).map(Float.init)
        case .bf16:
            return bytes.bindMemory(to: UInt16.self).prefix(count).map { Float(bitPattern: UInt32($0) << 16) }
        case .f8e4m3fn, .f8e5m2:
            return bytes.prefix(count).map { float(float8: $0, as: dtype) }
        }
    }

    /// Rounds to the nearest bfloat16 (ties to even), keeping NaN a NaN.
    static func bfloat16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16((bits | 0x40_0000) >> 16) }
        return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// float8 bits (`.f8e4m3fn` or `.f8e5m2`) as a `Float`, exactly.
    static func float(float8 bits: UInt8, as dtype: DType) -> Float {
        if dtype == .f8e5m2 { return Float(Float16(bitPattern: UInt16(bits) << 8)) }
        let magnitude = bits & 0x7F
        let value: Float
        if magnitude == 0x7F {
            value = .nan
        } else if magnitude < 0x08 {
            value = Float(magnitude) * 0x1p-9
        } else {
            value = Float(bitPattern: (UInt32(magnitude) << 20) + (120 << 23))
        }
        return bits & 0x80 == 0 ? value : -value
    }

    /// `value` rounded to the nearest float8 of `dtype` (ties to even), as PyTorch's `.to(float8_*)` rounds: NaN
    /// stays NaN; past the largest finite value e5m2 gives infinity and e4m3fn, which has none, NaN.
    static func float8Bits(_ value: Float, as dtype: DType) -> UInt8 {
        let (mantissaBits, bias, limit): (Int, Int, UInt8) = dtype == .f8e5m2 ? (2, 15, 0x7C) : (3, 7, 0x7F)
        let sign: UInt8 = value.sign == .minus ? 0x80 : 0
        guard !value.isNaN else { return sign | 0x7F }
        let magnitude = Double(value.magnitude)
        // Below the smallest normal the spacing is fixed; above it, it follows the value's binary exponent.
        let exponent = max(Int(magnitude.exponent), 1 - bias)
        let step = Double(sign: .plus, exponent: exponent - mantissaBits, significand: 1)
        let steps = (magnitude / step).rounded(.toNearestOrEven)
        guard magnitude.isFinite, steps.isFinite else { return sign | limit }
        // `steps` counts the spacings from zero, implicit leading bit included, so adding it to the binade's biased
        // exponent less one gives the code; subnormals (exponent field 0) and a carry into the next binade fall out.
        let code = ((exponent + bias - 1) << mantissaBits) + Int(steps)
        return sign | UInt8(min(code, Int(limit)))
    }

    /// The value after a round trip through `dtype`, for building expectations on the host.
    public static func rounded(_ value: Float, to dtype: DType) -> Float {
        switch dtype {
        case .f32: return value
        case .f16: return Float(Float16(value))
        case .bf16: return Float(bitPattern: UInt32(bfloat16Bits(value)) << 16)
        case .f8e4m3fn, .f8e5m2: return float(float8: float8Bits(value, as: dtype), as: dtype)
        }
    }
}
