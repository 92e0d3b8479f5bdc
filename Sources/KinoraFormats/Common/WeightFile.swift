import Foundation

/// Opens a single weight file by what its bytes say, not by its name: safetensors, a PyTorch checkpoint (zip or
/// legacy pickle) or an ONNX model. Float8 tensors keep their dtype, with ComfyUI's per-tensor scales attached
/// (`Float8ScaledWeightStore`). `.ckpt`, `.pt`, `.pth`, `.bin` and `.pkl` files from `torch.save` are all read
/// safely, without running their pickles.
public enum WeightFile {
    /// The store for the file at `url`.
    public static func open(_ url: URL) throws -> any WeightStore {
        let mapping = try MappedFile(url: url)
        // A safetensors file starts with its header's length and then '{'; checked first, since that length's low
        // byte may be anything, 0x80 (a pickle's PROTO) included.
        let (isSafetensors, isPyTorch) = withExtendedLifetime(mapping) {
            let head = mapping.bytes
            return (head.count > 8 && head[8] == UInt8(ascii: "{"), ZipArchive.looksLikeZip(head) || head.first == 0x80)
        }
        if !isSafetensors, isPyTorch {
            return try Float8ScaledWeightStore.wrapping(try PyTorchCheckpoint(url: url))
        }
        if url.pathExtension.lowercased() == "onnx" {
            return try ONNXFile(url: url)
        }
        return try Float8ScaledWeightStore.wrapping(try SafetensorsFile(url: url))
    }
}

/// A view of a store with a leading key prefix removed (`state_dict.`, `module.`, `generator.`): how nested training
/// checkpoints become the flat state dict a model's key map expects. Keys without the prefix are left out.
public struct PrefixStrippedWeightStore: WeightStore {
    public let base: any WeightStore
    public let prefix: String
    public let tensorNames: [String]

    public init(base: any WeightStore, prefix: String) {
        self.base = base
        self.prefix = prefix
        tensorNames = base.tensorNames.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    /// `base` without the longest of `prefixes` that every one of its tensor names starts with; `base` itself when
    /// none does.
    public static func unwrapping(_ base: any WeightStore, prefixes: [String]) -> any WeightStore {
        let names = base.tensorNames
        guard !names.isEmpty,
            let prefix = prefixes.sorted(by: { $0.count > $1.count })
                .first(where: { prefix in names.allSatisfy { $0.hasPrefix(prefix) } })
        else { return base }
        return PrefixStrippedWeightStore(base: base, prefix: prefix)
    }

    public var sourceName: String { base.sourceName }

    public func info(_ name: String) throws -> WeightTensorInfo {
        let info = try base.info(prefix + name)
        return WeightTensorInfo(name: name, dtype: info.dtype, shape: info.shape, dataRange: info.dataRange,
                                scale: info.scale)
    }

    public func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        try base.withBytes(of: prefix + name, body)
    }
}
