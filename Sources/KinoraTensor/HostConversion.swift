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
        }
    }

    static func floats(from bytes: UnsafeRawBufferPointer, as dtype: DType, count: Int) -> [Float] {
        switch dtype {
        case .f32:
            return Array(bytes.bindMemory(to: Float.self).prefix(count))
        case .f16:
            return bytes.bindMemory(to: Float16.self).prefix(count).map(Float.init)
        case .bf16:
            return bytes.bindMemory(to: UInt16.self).prefix(count).map { Float(bitPattern: UInt32($0) << 16) }
        }
    }

    /// Rounds to the nearest bfloat16 (ties to even), keeping NaN a NaN.
    static func bfloat16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16((bits | 0x40_0000) >> 16) }
        return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// The value after a round trip through `dtype`, for building expectations on the host.
    public static func rounded(_ value: Float, to dtype: DType) -> Float {
        switch dtype {
        case .f32: return value
        case .f16: return Float(Float16(value))
        case .bf16: return Float(bitPattern: UInt32(bfloat16Bits(value)) << 16)
        }
    }
}
