/// A view of a store that attaches ComfyUI's per-tensor scales to its float8 tensors (`F8_E4M3`, `F8_E5M2`): in its
/// `*_fp8_scaled` files a layer's `X.weight` is float8 and `X.scale_weight` a float32 scalar, and the weight is
/// `X.weight.to(dtype) × X.scale_weight` (`comfy/ops.py`). Each such weight reports its scale in
/// `WeightTensorInfo.scale`; the scale tensors and the `scaled_fp8` marker are hidden. The bytes pass through
/// untouched, so a float8 weight reaches the GPU at one byte an element and the kernels apply the scale.
public struct Float8ScaledWeightStore: WeightStore {
    public let base: any WeightStore
    public let tensorNames: [String]
    /// Each float8 weight's scale, for those that have one.
    private let scales: [String: Float]

    /// `base` itself when it holds no float8 tensor, else the scaled view of it.
    public static func wrapping(_ base: any WeightStore) throws -> any WeightStore {
        let hasFloat8 = try base.tensorNames.contains { try base.info($0).dtype.isFloat8 }
        return hasFloat8 ? try Float8ScaledWeightStore(base: base) : base
    }

    /// Reads every scale (one finite number each) and refuses the file, naming the scale tensor, otherwise.
    public init(base: any WeightStore) throws {
        self.base = base
        var scales: [String: Float] = [:]
        var hidden = Set<String>()
        let names = Set(base.tensorNames)
        for name in base.tensorNames where try base.info(name).dtype.isFloat8 {
            guard let scaleName = Self.scaleName(of: name), names.contains(scaleName) else { continue }
            scales[name] = try Self.scale(scaleName, in: base, for: name)
            hidden.insert(scaleName)
        }
        if names.contains("scaled_fp8") { hidden.insert("scaled_fp8") }
        self.scales = scales
        tensorNames = base.tensorNames.filter { !hidden.contains($0) }
    }

    public var sourceName: String { base.sourceName }

    public func info(_ name: String) throws -> WeightTensorInfo {
        let info = try base.info(name)
        guard let scale = scales[name] else { return info }
        return WeightTensorInfo(
            name: name, dtype: info.dtype, shape: info.shape, dataRange: info.dataRange,
            scale: scale)
    }

    public func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        try base.withBytes(of: name, body)
    }

    /// `X.scale_weight` for `X.weight`.
    private static func scaleName(of name: String) -> String? {
        name.hasSuffix(".weight") ? String(name.dropLast("weight".count)) + "scale_weight" : nil
    }

    private static func scale(_ scaleName: String, in base: any WeightStore, for name: String) throws -> Float {
        let count = try base.info(scaleName).elementCount
        guard count == 1, let scale = try base.floats(scaleName).first else {
            throw WeightsError.malformedEntry(
                file: base.sourceName, tensor: scaleName,
                reason: "the scale of '\(name)' must be one number, found \(count) values")
        }
        guard scale.isFinite else {
            throw WeightsError.malformedEntry(
                file: base.sourceName, tensor: scaleName, reason: "the scale of '\(name)' is \(scale)")
        }
        return scale
    }
}
