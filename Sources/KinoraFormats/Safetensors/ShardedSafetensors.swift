import Foundation

/// A checkpoint split over several safetensors files and described by an index (`model.safetensors.index.json`,
/// `diffusion_pytorch_model.safetensors.index.json`) whose `weight_map` names the shard holding each tensor.
public final class ShardedSafetensors: WeightStore {
    public let indexURL: URL
    /// The index's `metadata` object, with non-string values written as JSON text (`total_size`).
    public let metadata: [String: String]
    /// Tensor name to shard file name, as in the index.
    public let weightMap: [String: String]
    /// The opened shards, keyed by file name.
    public let shards: [String: SafetensorsFile]
    public let tensorNames: [String]

    /// Opens the index and every shard it names, and checks that each listed tensor is in its shard.
    public init(indexURL: URL) throws {
        self.indexURL = indexURL
        let file = indexURL.path
        let mapping = try MappedFile(url: indexURL)
        let root: [String: JSONValue]
        do {
            guard
                case .object(let members) = try withExtendedLifetime(mapping, { try JSONDocument.parse(mapping.bytes) })
            else {
                throw WeightsError.malformedIndex(file: file, reason: "not a JSON object")
            }
            root = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        } catch let error as JSONSyntaxError {
            throw WeightsError.malformedIndex(file: file, reason: "invalid JSON: \(error)")
        }
        guard case .object(let map) = root["weight_map"], !map.isEmpty else {
            throw WeightsError.malformedIndex(file: file, reason: "weight_map is missing or empty")
        }
        var weightMap: [String: String] = [:]
        for (tensor, value) in map {
            guard case .string(let shard) = value, !shard.isEmpty, !shard.contains("/"), shard != "..", shard != "."
            else {
                throw WeightsError.malformedIndex(
                    file: file, reason: "weight_map['\(tensor)'] is not a shard file name in the index's folder")
            }
            guard weightMap.updateValue(shard, forKey: tensor) == nil else {
                throw WeightsError.duplicateTensor(file: file, tensor: tensor)
            }
        }
        var metadata: [String: String] = [:]
        if case .object(let entries) = root["metadata"] {
            for (key, value) in entries {
                switch value {
                case .string(let text): metadata[key] = text
                case .integer(let integer): metadata[key] = String(integer)
                case .number(let number): metadata[key] = String(number)
                case .bool(let flag): metadata[key] = String(flag)
                case .null, .array, .object: metadata[key] = value.kind
                }
            }
        }
        let folder = indexURL.deletingLastPathComponent()
        var shards: [String: SafetensorsFile] = [:]
        for shard in Set(weightMap.values).sorted() {
            let url = folder.appending(path: shard)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw WeightsError.missingShard(index: file, shard: shard)
            }
            shards[shard] = try SafetensorsFile(url: url)
        }
        for (tensor, shard) in weightMap where shards[shard]?.tensors[tensor] == nil {
            throw WeightsError.tensorNotInShard(index: file, shard: shard, tensor: tensor)
        }
        self.metadata = metadata
        self.weightMap = weightMap
        self.shards = shards
        tensorNames = weightMap.keys.sorted()
    }

    public var sourceName: String { indexURL.path }

    public func info(_ name: String) throws -> WeightTensorInfo {
        try shard(for: name).info(name)
    }

    public func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        try shard(for: name).withBytes(of: name, body)
    }

    private func shard(for name: String) throws -> SafetensorsFile {
        guard let shard = weightMap[name].flatMap({ shards[$0] }) else {
            throw WeightsError.missingTensor(file: indexURL.path, tensor: name)
        }
        return shard
    }
}
