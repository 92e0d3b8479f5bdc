/// One tensor of a weight file: its element type, shape, and where its bytes lie (for safetensors, within the data
/// section that follows the header; for other formats, within the reader's own storage).
public struct WeightTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: WeightDType
    public let shape: [Int]
    /// Byte range of the data: within the safetensors data section (`data_offsets` in the header), within the file for
    /// other mapped formats, or `0..<byteCount` where the reader hands out a converted copy (a strided view, float8).
    public let dataRange: Range<Int>
    /// The factor a float8 tensor's values are multiplied by, from ComfyUI's `X.scale_weight` beside a float8
    /// `X.weight` (see `Float8ScaledWeightStore`); nil when the file gives none.
    public let scale: Float?

    public init(name: String, dtype: WeightDType, shape: [Int], dataRange: Range<Int>, scale: Float? = nil) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataRange = dataRange
        self.scale = scale
    }

    /// Number of elements: the product of the shape (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Size of the tensor's data in bytes.
    public var byteCount: Int { dataRange.count }

    /// The bytes of a tensor of `shape` and `dtype`, or nil when the product overflows an `Int`.
    public static func byteCount(shape: [Int], dtype: WeightDType) -> Int? {
        var total = dtype.size
        for dimension in shape {
            let (product, overflow) = total.multipliedReportingOverflow(by: dimension)
            guard !overflow, dimension >= 0 else { return nil }
            total = product
        }
        return total
    }
}
