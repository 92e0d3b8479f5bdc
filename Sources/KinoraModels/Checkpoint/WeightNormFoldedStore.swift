import Foundation
import KinoraFormats

/// A view of a store whose weight-normalised layers (PyTorch's `weight_norm` with `dim=0`) read as plain weights:
/// each pair `X.weight_g` / `X.weight_v` (what `torch.nn.utils.weight_norm` saves, as diffusers'
/// `AutoencoderOobleck` does) or `X.parametrizations.weight.original0` / `original1` (the parametrization API's names)
/// becomes one `X.weight` = g · v / ‖v‖, the norm over every axis but the first (per output channel of a
/// convolution, per input channel of a transposed one), exactly PyTorch's `_weight_norm`.
///
/// The folding runs on the host when the weight is read (once per upload), in f32 with the norm summed in double; the
/// folded weight takes v's storage type (F32, F16 or BF16; others read as F32), so the file's precision is kept
/// and the layers see an ordinary convolution. Other tensors pass through unchanged.
public struct WeightNormFoldedStore: WeightStore {
    public let base: any WeightStore
    public let tensorNames: [String]
    /// Folded name → (magnitude g, direction v) in `base`.
    private let pairs: [String: (magnitude: String, direction: String)]

    /// The suffixes of a weight-norm pair's magnitude and direction, in the names they replace.
    static let layouts: [(magnitude: String, direction: String)] = [
        ("weight_g", "weight_v"), ("parametrizations.weight.original0", "parametrizations.weight.original1"),
    ]

    /// Finds the pairs in `base`; throws `WeightsError.missingTensor` for half a pair (naming the missing half) and
    /// `malformedEntry` for a magnitude that is not one value per leading index of its direction, or a pair beside
    /// an unfolded `X.weight`.
    public init(base: any WeightStore) throws {
        self.base = base
        let names = Set(base.tensorNames)
        var pairs: [String: (magnitude: String, direction: String)] = [:]
        for name in base.tensorNames {
            for layout in Self.layouts {
                let magnitude = name.hasSuffix("." + layout.magnitude) || name == layout.magnitude
                let direction = name.hasSuffix("." + layout.direction) || name == layout.direction
                guard magnitude || direction else { continue }
                let stem = String(name.dropLast(magnitude ? layout.magnitude.count : layout.direction.count))
                let partner = stem + (magnitude ? layout.direction : layout.magnitude)
                guard names.contains(partner) else {
                    throw WeightsError.missingTensor(file: base.sourceName, tensor: partner)
                }
                let folded = stem + "weight"
                guard !names.contains(folded) else {
                    throw WeightsError.malformedEntry(
                        file: base.sourceName, tensor: folded,
                        reason: "stored both as it is and as the weight-norm pair '\(stem + layout.magnitude)', "
                            + "'\(stem + layout.direction)'")
                }
                if magnitude {
                    let g = try base.info(name)
                    let v = try base.info(partner)
                    guard let rows = v.shape.first, g.elementCount == rows, v.shape.count >= 2 else {
                        throw WeightsError.malformedEntry(
                            file: base.sourceName, tensor: name,
                            reason: "a weight-norm magnitude of shape \(g.shape) does not fit its direction of "
                                + "shape \(v.shape) (one value per index of the first axis, PyTorch's dim=0)")
                    }
                    pairs[folded] = (name, partner)
                }
            }
        }
        self.pairs = pairs
        let paired = Set(pairs.values.flatMap { [$0.magnitude, $0.direction] })
        tensorNames = (names.subtracting(paired).union(pairs.keys)).sorted()
    }

    public var sourceName: String { base.sourceName }

    public func info(_ name: String) throws -> WeightTensorInfo {
        guard let pair = pairs[name] else {
            guard !isPairHalf(name) else { throw WeightsError.missingTensor(file: sourceName, tensor: name) }
            return try base.info(name)
        }
        let direction = try base.info(pair.direction)
        let dtype = Self.foldedType(direction.dtype)
        return WeightTensorInfo(
            name: name, dtype: dtype, shape: direction.shape, dataRange: 0..<(direction.elementCount * dtype.size))
    }

    public func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        guard let pair = pairs[name] else {
            guard !isPairHalf(name) else { throw WeightsError.missingTensor(file: sourceName, tensor: name) }
            return try base.withBytes(of: name, body)
        }
        let direction = try base.info(pair.direction)
        let folded = Self.fold(magnitude: try base.floats(pair.magnitude), direction: try base.floats(pair.direction))
        guard let bytes = TensorDecoding.bytes(folded, dtype: Self.foldedType(direction.dtype)) else {
            throw WeightsError.unsupportedDType(file: sourceName, tensor: name, dtype: direction.dtype.rawValue)
        }
        return try bytes.withUnsafeBytes(body)
    }

    /// g · v / ‖v‖ per row (one row per value of `magnitude`), as PyTorch computes it: v · (g / ‖v‖).
    static func fold(magnitude: [Float], direction: [Float]) -> [Float] {
        let rows = magnitude.count
        let width = direction.count / max(rows, 1)
        var result = [Float](repeating: 0, count: direction.count)
        for row in 0..<rows {
            let range = (row * width)..<((row + 1) * width)
            let norm = direction[range].reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let factor = Float(Double(magnitude[row]) / norm)
            for index in range { result[index] = direction[index] * factor }
        }
        return result
    }

    private static func foldedType(_ dtype: WeightDType) -> WeightDType {
        [.f32, .f16, .bf16].contains(dtype) ? dtype : .f32
    }

    /// Whether `name` is the g or v of a folded pair (read only through the folded weight).
    private func isPairHalf(_ name: String) -> Bool {
        pairs.values.contains { $0.magnitude == name || $0.direction == name }
    }
}
