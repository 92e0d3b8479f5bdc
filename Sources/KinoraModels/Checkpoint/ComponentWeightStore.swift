import KinoraFormats
/// One component's tensors inside a single-file checkpoint, under Kinora's internal names: a `WeightStore` view of
/// the memory-mapped file. Every tensor's bytes are handed out in place (a whole tensor, or one contiguous slice of a
/// fused one) except a transposed matrix (OpenCLIP's small `text_projection`), which is transposed on request.
public struct ComponentWeightStore: WeightStore {
    public let component: ModelComponent
    let base: any WeightStore
    private let tensors: [String: MappedTensor]
    public let tensorNames: [String]

    /// The view of `base` holding `tensors` (all of `component`) under their internal names.
    init(base: any WeightStore, component: ModelComponent, tensors: [MappedTensor]) {
        self.base = base
        self.component = component
        self.tensors = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) })
        tensorNames = self.tensors.keys.sorted()
    }

    public var sourceName: String { "\(base.sourceName) [\(component.rawValue)]" }

    /// Where `name` comes from in the checkpoint.
    public func mapping(_ name: String) throws -> MappedTensor {
        guard let tensor = tensors[name] else { throw WeightsError.missingTensor(file: sourceName, tensor: name) }
        return tensor
    }

    public func info(_ name: String) throws -> WeightTensorInfo {
        let tensor = try mapping(name)
        let source = try base.info(tensor.source)
        let shape = try tensor.shape(from: source.shape, file: base.sourceName)
        var range = source.dataRange
        if case .slice(let part, let count) = tensor.transform {
            let size = source.byteCount / count
            range = (range.lowerBound + part * size)..<(range.lowerBound + (part + 1) * size)
        }
        return WeightTensorInfo(name: name, dtype: source.dtype, shape: shape, dataRange: range, scale: source.scale)
    }

    public func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws
        -> Result {
        let tensor = try mapping(name)
        switch tensor.transform {
        case .identity, .squeezeToLinear:
            return try base.withBytes(of: tensor.source, body)
        case .slice(let part, let count):
            return try base.withBytes(of: tensor.source) { bytes in
                let size = bytes.count / count
                return try body(UnsafeRawBufferPointer(rebasing: bytes[(part * size)..<((part + 1) * size)]))
            }
        case .transpose:
            let source = try base.info(tensor.source)
            _ = try tensor.shape(from: source.shape, file: base.sourceName)
            let (rows, columns) = (source.shape[0], source.shape[1])
            let width = source.dtype.size
            let transposed = try base.withBytes(of: tensor.source) { bytes in
                var result = [UInt8](repeating: 0, count: bytes.count)
                for row in 0..<rows {
                    for column in 0..<columns {
                        for byte in 0..<width {
                            let from = (row * columns + column) * width, to = (column * rows + row) * width
                            result[to + byte] = bytes[from + byte]
                        }
                    }
                }
                return result
            }
            return try transposed.withUnsafeBytes(body)
        }
    }
}
