/// A set of named tensors read from one or more weight files: a single safetensors file or a sharded checkpoint.
/// Model loaders ask a store for tensors by name and never care how the checkpoint was split.
public protocol WeightStore: Sendable {
    /// A name for messages: the file or index this store was opened from.
    var sourceName: String { get }
    /// All tensor names, sorted.
    var tensorNames: [String] { get }
    /// The header entry of a tensor.
    func info(_ name: String) throws -> WeightTensorInfo
    /// Calls `body` with the tensor's bytes, straight from the mapped file (no copy). The buffer is valid only for
    /// the duration of the call.
    func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result
}

extension WeightStore {
    /// Every tensor's shape, keyed by name: what layout detection and key mapping look at.
    public var shapes: [String: [Int]] {
        var result: [String: [Int]] = [:]
        for name in tensorNames {
            result[name] = try? info(name).shape
        }
        return result
    }

    /// The tensor converted to `Float` values in row-major order: every dtype, exactly where `Float` can hold the
    /// value, and float8 times its per-tensor scale when the store gives one (`WeightTensorInfo.scale`).
    public func floats(_ name: String) throws -> [Float] {
        let tensor = try info(name)
        let values = try withBytes(of: name) {
            TensorDecoding.floats($0, dtype: tensor.dtype, count: tensor.elementCount)
        }
        guard let scale = tensor.scale else { return values }
        return values.map { $0 * scale }
    }
}
