/// The element types of weight tensors, named as safetensors headers name them; every reader (safetensors, ONNX,
/// PyTorch checkpoints, ncnn) reports its tensors in these. Kinora computes with F32, F16, BF16 and float8 (E4M3,
/// E5M2) weights; the other types are recognised so that any valid file opens (and integer buffers such as
/// `position_ids` can be read), but they are refused as weights.
public enum WeightDType: String, Sendable, CaseIterable {
    case f64 = "F64"
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case f8E4M3 = "F8_E4M3"
    case f8E5M2 = "F8_E5M2"
    case i64 = "I64"
    case i32 = "I32"
    case i16 = "I16"
    case i8 = "I8"
    case u64 = "U64"
    case u32 = "U32"
    case u16 = "U16"
    case u8 = "U8"
    case bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .f8E4M3, .f8E5M2, .i8, .u8, .bool: return 1
        }
    }

    /// Whether Kinora can use tensors of this type as model weights.
    public var isWeightType: Bool {
        self == .f32 || self == .f16 || self == .bf16 || isFloat8
    }

    /// Whether this is one of the float8 types.
    public var isFloat8: Bool {
        self == .f8E4M3 || self == .f8E5M2
    }
}
