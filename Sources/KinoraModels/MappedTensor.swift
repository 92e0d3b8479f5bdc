import KinoraFormats
/// How a checkpoint tensor becomes the tensor a Kinora layer expects. Every transform except `transpose` leaves the
/// bytes in place (a view of a contiguous range), so weights can still be uploaded straight from the mapped file.
public enum TensorTransform: Sendable, Equatable {
    /// Same bytes, same shape.
    case identity
    /// A 1×1 convolution kernel `[out, in, 1, 1]` read as a linear weight `[out, in]`; same bytes.
    case squeezeToLinear
    /// Part `part` of `count` equal slices along the first axis, e.g. q, k and v out of a fused `in_proj_weight`
    /// `[3·d, d]`; a contiguous byte range.
    case slice(part: Int, count: Int)
    /// A 2-D matrix transposed (OpenCLIP's `text_projection` `[d, p]` is applied as `x @ P`; transformers stores the
    /// `nn.Linear` weight `[p, d]`). This one copies.
    case transpose
}

/// One tensor under Kinora's internal name, and where its data comes from in the checkpoint.
public struct MappedTensor: Sendable, Equatable, CustomStringConvertible {
    public let component: ModelComponent
    /// The diffusers/transformers name within the component, e.g. `text_model.final_layer_norm.weight`.
    public let name: String
    /// The key in the checkpoint file.
    public let source: String
    public let transform: TensorTransform

    public init(component: ModelComponent, name: String, source: String, transform: TensorTransform = .identity) {
        self.component = component
        self.name = name
        self.source = source
        self.transform = transform
    }

    public var description: String { "\(component.rawValue).\(name) <- \(source) (\(transform))" }

    /// The shape of the mapped tensor given the source tensor's shape; throws when the transform does not fit it.
    public func shape(from sourceShape: [Int], file: String) throws -> [Int] {
        switch transform {
        case .identity:
            return sourceShape
        case .squeezeToLinear:
            guard sourceShape.count == 4, sourceShape[2] == 1, sourceShape[3] == 1 else {
                throw WeightsError.transformMismatch(
                    file: file, tensor: source, reason: "expected a 1×1 convolution [out, in, 1, 1], got \(sourceShape)"
                )
            }
            return Array(sourceShape.prefix(2))
        case .slice(let part, let count):
            guard let rows = sourceShape.first, rows % count == 0, (0..<count).contains(part) else {
                throw WeightsError.transformMismatch(
                    file: file, tensor: source, reason: "shape \(sourceShape) cannot be split in \(count) along axis 0")
            }
            return [rows / count] + sourceShape.dropFirst()
        case .transpose:
            guard sourceShape.count == 2 else {
                throw WeightsError.transformMismatch(
                    file: file, tensor: source, reason: "expected a 2-D matrix to transpose, got \(sourceShape)")
            }
            return [sourceShape[1], sourceShape[0]]
        }
    }
}

extension WeightStore {
    /// The mapped tensor's shape and `Float` values, with the transform applied.
    public func floats(for tensor: MappedTensor) throws -> (shape: [Int], values: [Float]) {
        let sourceShape = try info(tensor.source).shape
        let shape = try tensor.shape(from: sourceShape, file: sourceName)
        let values = try floats(tensor.source)
        switch tensor.transform {
        case .identity, .squeezeToLinear:
            return (shape, values)
        case .slice(let part, _):
            let size = shape.reduce(1, *)
            return (shape, Array(values[(part * size)..<((part + 1) * size)]))
        case .transpose:
            let (rows, columns) = (sourceShape[0], sourceShape[1])
            var result = [Float](repeating: 0, count: values.count)
            for row in 0..<rows {
                for column in 0..<columns {
                    result[column * rows + row] = values[row * columns + column]
                }
            }
            return (shape, result)
        }
    }
}
