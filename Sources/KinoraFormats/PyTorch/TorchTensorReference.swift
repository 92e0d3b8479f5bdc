/// A storage named by a checkpoint's persistent id `('storage', StorageType, key, location, numel)`: the record
/// `data/<key>` of a zip checkpoint, or the key's record after the pickles of a legacy one.
public struct TorchStorageReference: Sendable, Equatable {
    /// The record key, e.g. "0".
    public let key: String
    /// The element type the storage type names (`torch.FloatStorage` → F32); U8 for `torch.UntypedStorage`.
    public let dtype: WeightDType
    /// Elements of `dtype` in the storage.
    public let elementCount: Int
}

/// A tensor as `torch._utils._rebuild_tensor_v2`/`_v3` describes it: a view of a storage by offset, size and stride,
/// all in elements of the tensor's dtype. Its bounds are checked against the storage when it is built.
public struct TorchTensorReference: Sendable, Equatable {
    public let storage: TorchStorageReference
    public let dtype: WeightDType
    public let shape: [Int]
    public let strides: [Int]
    public let offset: Int

    /// Builds the reference, refusing negative sizes or strides and views that reach past the storage.
    init(storage: TorchStorageReference, dtype: WeightDType, shape: [Int], strides: [Int], offset: Int) throws {
        typealias Failure = PickleMachine.Failure
        guard shape.count == strides.count else {
            throw Failure(reason: "tensor size \(shape) and stride \(strides) have different ranks")
        }
        guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), offset >= 0 else {
            throw Failure(reason: "tensor size \(shape), stride \(strides) or offset \(offset) is negative")
        }
        guard let byteCount = WeightTensorInfo.byteCount(shape: shape, dtype: dtype) else {
            throw Failure(reason: "tensor size \(shape) is too large")
        }
        guard byteCount > 0 else {
            // An empty tensor reads no bytes: its offset and strides are irrelevant, and kept out of any arithmetic.
            self.storage = storage
            self.dtype = dtype
            self.shape = shape
            self.strides = Self.rowMajorStrides(shape)
            self.offset = 0
            return
        }
        var last = offset
        for (size, stride) in zip(shape, strides) {
            let (step, overflow) = (size - 1).multipliedReportingOverflow(by: stride)
            let (sum, overflow2) = last.addingReportingOverflow(step)
            guard !overflow, !overflow2 else { throw Failure(reason: "tensor stride \(strides) is too large") }
            last = sum
        }
        let storageBytes = storage.elementCount.multipliedReportingOverflow(by: storage.dtype.size)
        let (lastByte, overflow) = (last + 1).multipliedReportingOverflow(by: dtype.size)
        guard !storageBytes.overflow, !overflow, lastByte <= storageBytes.partialValue else {
            throw Failure(
                reason: "a tensor of size \(shape), stride \(strides) at offset \(offset) reaches past its "
                    + "storage '\(storage.key)' of \(storage.elementCount) \(storage.dtype.rawValue) elements")
        }
        guard strides == Self.rowMajorStrides(shape) || byteCount <= storageBytes.partialValue else {
            throw Failure(
                reason: "a view of size \(shape) with stride \(strides) repeats its storage '\(storage.key)' "
                    + "(an expanded tensor) to more bytes than the storage holds")
        }
        self.storage = storage
        self.dtype = dtype
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    /// Whether the elements lie row-major and without gaps from `offset`, so the tensor is one byte range.
    public var isContiguous: Bool {
        guard !shape.contains(0) else { return true }
        let expected = Self.rowMajorStrides(shape)
        return shape.indices.allSatisfy { shape[$0] == 1 || strides[$0] == expected[$0] }
    }

    /// The strides of a row-major tensor of `shape`. Wrapping arithmetic: only an empty tensor's element count can
    /// overflow, and its strides are never used to address memory.
    static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var stride = 1
        for axis in shape.indices.reversed() {
            strides[axis] = stride
            stride = stride &* max(shape[axis], 1)
        }
        return strides
    }

    public var elementCount: Int { shape.reduce(1, *) }
}

extension WeightDType {
    /// The element type of a legacy typed storage class (`torch.FloatStorage`), nil for other names.
    init?(torchStorage name: String) {
        switch name {
        case "DoubleStorage": self = .f64
        case "FloatStorage": self = .f32
        case "HalfStorage": self = .f16
        case "BFloat16Storage": self = .bf16
        case "LongStorage": self = .i64
        case "IntStorage": self = .i32
        case "ShortStorage": self = .i16
        case "CharStorage": self = .i8
        case "ByteStorage", "UntypedStorage": self = .u8
        case "BoolStorage": self = .bool
        default: return nil
        }
    }

    /// The element type of a `torch.<dtype>` global (`torch.float8_e4m3fn`), nil for other names.
    init?(torchDType name: String) {
        switch name {
        case "float64", "double": self = .f64
        case "float32", "float": self = .f32
        case "float16", "half": self = .f16
        case "bfloat16": self = .bf16
        case "float8_e4m3fn": self = .f8E4M3
        case "float8_e5m2": self = .f8E5M2
        case "int64", "long": self = .i64
        case "int32", "int": self = .i32
        case "int16", "short": self = .i16
        case "int8": self = .i8
        case "uint8": self = .u8
        case "bool": self = .bool
        default: return nil
        }
    }
}
