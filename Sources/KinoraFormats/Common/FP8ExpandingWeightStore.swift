/// A view of a store whose float8 tensors (`F8_E4M3`, `F8_E5M2`) read as F16, with ComfyUI's per-tensor scale
/// applied: in its `*_fp8_scaled` files a layer's `X.weight` is float8 and `X.scale_weight` a float32 scalar, and the
/// weight is `float(X.weight) × X.scale_weight`. The scale tensors (and the `scaled_fp8` marker) are hidden. Every
/// float8 value is exact in F16; a tensor whose scale could take it past F16's range reads as F32. The expansion
/// happens on the host when a tensor is read, so on the device a float8 weight takes two bytes an element, not one.
public struct FP8ExpandingWeightStore: WeightStore {
    public let base: any WeightStore
    public let tensorNames: [String]
    /// The dtype each expanded tensor reads as.
    private let expanded: [String: WeightDType]
    /// The scale tensors present in the file.
    private let scaled: Set<String>

    /// `base` itself when it holds no float8 tensor, else the expanding view of it.
    public static func wrapping(_ base: any WeightStore) throws -> any WeightStore {
        let store = try FP8ExpandingWeightStore(base: base)
        return store.expanded.isEmpty ? base : store
    }

    public init(base: any WeightStore) throws {
        self.base = base
        var expanded: [String: WeightDType] = [:]
        var hidden = Set<String>()
        let names = Set(base.tensorNames)
        for name in base.tensorNames {
            let info = try base.info(name)
            guard info.dtype == .f8E4M3 || info.dtype == .f8E5M2 else { continue }
            let scaleName = Self.scaleName(of: name)
            var scale: Float = 1
            if let scaleName, names.contains(scaleName) {
                scale = try Self.scale(scaleName, in: base, for: name)
                hidden.insert(scaleName)
            }
            // Decided from the format's largest finite value, so opening a file reads no weight data.
            let largest: Float = info.dtype == .f8E4M3 ? 448 : 57344
            expanded[name] = largest * abs(scale) <= 65504 ? .f16 : .f32
        }
        if !expanded.isEmpty { hidden.insert("scaled_fp8") }
        self.expanded = expanded
        scaled = Set(hidden.filter { $0 != "scaled_fp8" })
        tensorNames = base.tensorNames.filter { !hidden.contains($0) }
    }

    public var sourceName: String { base.sourceName }

    public func info(_ name: String) throws -> WeightTensorInfo {
        let info = try base.info(name)
        guard let dtype = expanded[name] else { return info }
        return WeightTensorInfo(
            name: name, dtype: dtype, shape: info.shape, dataRange: 0..<(info.elementCount * dtype.size))
    }

    public func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        guard let dtype = expanded[name] else { return try base.withBytes(of: name, body) }
        var values = try base.floats(name)
        if let scaleName = Self.scaleName(of: name), scaled.contains(scaleName) {
            let scale = try Self.scale(scaleName, in: base, for: name)
            for index in values.indices { values[index] *= scale }
        }
        guard let bytes = TensorDecoding.bytes(values, dtype: dtype) else {
            throw WeightsError.unsupportedDType(file: sourceName, tensor: name, dtype: dtype.rawValue)
        }
        return try bytes.withUnsafeBytes(body)
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
