/// A view of a store whose float8 tensors (`F8_E4M3`, `F8_E5M2`) read as F16 on the host, their per-tensor scales
/// (`WeightTensorInfo.scale`, as `Float8ScaledWeightStore` attaches them) applied: `float(X.weight) × scale`, rounded
/// once to F16. Every float8 value is exact in F16; a tensor whose scale could take it past F16's range reads as F32.
///
/// The runtime does not need it: float8 weights go to the GPU as float8 and the kernels decode them. It serves
/// consumers that want the weights in a 16-bit type on the host, such as writing a float8 checkpoint back out as
/// F16, and is the reference the device path is tested against.
public struct FP8ExpandingWeightStore: WeightStore {
    public let base: any WeightStore
    /// The dtype each expanded tensor reads as.
    private let expanded: [String: WeightDType]

    public init(base: any WeightStore) throws {
        self.base = base
        var expanded: [String: WeightDType] = [:]
        for name in base.tensorNames {
            let info = try base.info(name)
            guard info.dtype.isFloat8 else { continue }
            // Decided from the format's largest finite value, so opening a file reads no weight data.
            let largest: Float = info.dtype == .f8E4M3 ? 448 : 57344
            expanded[name] = largest * abs(info.scale ?? 1) <= 65504 ? .f16 : .f32
        }
        self.expanded = expanded
    }

    public var sourceName: String { base.sourceName }
    public var tensorNames: [String] { base.tensorNames }

    public func info(_ name: String) throws -> WeightTensorInfo {
        let info = try base.info(name)
        guard let dtype = expanded[name] else { return info }
        return WeightTensorInfo(
            name: name, dtype: dtype, shape: info.shape, dataRange: 0..<(info.elementCount * dtype.size))
    }

    public func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        guard let dtype = expanded[name] else { return try base.withBytes(of: name, body) }
        guard let bytes = TensorDecoding.bytes(try base.floats(name), dtype: dtype) else {
            throw WeightsError.unsupportedDType(file: sourceName, tensor: name, dtype: dtype.rawValue)
        }
        return try bytes.withUnsafeBytes(body)
    }
}
