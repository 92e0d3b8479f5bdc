/// The element types of an ONNX `TensorProto` (`TensorProto.DataType`), with their safetensors equivalents.
public enum ONNXDataType: Int64, Sendable, CaseIterable {
    case float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7, string = 8, bool = 9
    case float16 = 10, double = 11, uint32 = 12, uint64 = 13, bfloat16 = 16

    /// The same element type in Kinora's weight vocabulary, or nil for strings.
    public var weightType: WeightDType? {
        switch self {
        case .float: return .f32
        case .uint8: return .u8
        case .int8: return .i8
        case .uint16: return .u16
        case .int16: return .i16
        case .int32: return .i32
        case .int64: return .i64
        case .string: return nil
        case .bool: return .bool
        case .float16: return .f16
        case .double: return .f64
        case .uint32: return .u32
        case .uint64: return .u64
        case .bfloat16: return .bf16
        }
    }
}

/// One tensor of an ONNX file (an initializer or a `Constant` node's value): its name, element type and shape,
/// and where its little-endian bytes are. `raw_data`, and packed `float_data`/`double_data`, stay byte ranges of the
/// memory-mapped file; the varint-coded fields (`int32_data`, `int64_data`, `uint64_data`) are decoded once into
/// owned bytes (they hold small integer constants, never large weights).
public struct ONNXTensor: Sendable, Equatable {
    /// Where the tensor's bytes are.
    public enum Storage: Sendable, Equatable {
        /// A byte range of the mapped file.
        case mapped(Range<Int>)
        /// Bytes decoded from a varint field.
        case owned([UInt8])
    }

    public let name: String
    public let dataType: ONNXDataType
    public let shape: [Int]
    public let storage: Storage

    public init(name: String, dataType: ONNXDataType, shape: [Int], storage: Storage) {
        self.name = name
        self.dataType = dataType
        self.shape = shape
        self.storage = storage
    }

    /// Number of elements: the product of the shape (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Size of the tensor's data in bytes.
    public var byteCount: Int {
        switch storage {
        case .mapped(let range): return range.count
        case .owned(let bytes): return bytes.count
        }
    }
}
