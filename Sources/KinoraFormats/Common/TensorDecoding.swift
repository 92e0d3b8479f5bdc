/// Converts raw little-endian tensor bytes to `Float`, for tests and for host-side checks; the GPU reads weights in
/// their file dtype.
public enum TensorDecoding {
    /// The values of `count` elements of `dtype` in `bytes` (every dtype has an exact `Float` reading but 64-bit
    /// integers and F64, which are rounded).
    public static func floats(_ bytes: UnsafeRawBufferPointer, dtype: WeightDType, count: Int) -> [Float] {
        func load<T: FixedWidthInteger>(_: T.Type, _ convert: (T) -> Float) -> [Float] {
            (0..<count).map {
                convert(T(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * T.bitWidth / 8, as: T.self)))
            }
        }
        switch dtype {
        case .f32: return load(UInt32.self) { Float(bitPattern: $0) }
        case .f16: return load(UInt16.self, HalfPrecision.float(fromHalf:))
        case .bf16: return load(UInt16.self, HalfPrecision.float(fromBFloat:))
        case .f64: return load(UInt64.self) { Float(Double(bitPattern: $0)) }
        case .i64: return load(Int64.self) { Float($0) }
        case .i32: return load(Int32.self) { Float($0) }
        case .i16: return load(Int16.self) { Float($0) }
        case .i8: return load(Int8.self) { Float($0) }
        case .u64: return load(UInt64.self) { Float($0) }
        case .u32: return load(UInt32.self) { Float($0) }
        case .u16: return load(UInt16.self) { Float($0) }
        case .u8: return load(UInt8.self) { Float($0) }
        case .bool: return load(UInt8.self) { $0 == 0 ? 0 : 1 }
        case .f8E4M3: return load(UInt8.self, HalfPrecision.float(fromE4M3:))
        case .f8E5M2: return load(UInt8.self, HalfPrecision.float(fromE5M2:))
        }
    }

    /// Little-endian bytes of `values` stored as `dtype` (F32, F16 or BF16), or nil for other dtypes.
    public static func bytes(_ values: [Float], dtype: WeightDType) -> [UInt8]? {
        func store<T: FixedWidthInteger>(_ convert: (Float) -> T) -> [UInt8] {
            var result: [UInt8] = []
            result.reserveCapacity(values.count * T.bitWidth / 8)
            for value in values {
                withUnsafeBytes(of: convert(value).littleEndian) { result.append(contentsOf: $0) }
            }
            return result
        }
        switch dtype {
        case .f32: return store { $0.bitPattern }
        case .f16: return store(HalfPrecision.half(from:))
        case .bf16: return store(HalfPrecision.bfloat(from:))
        default: return nil
        }
    }
}
