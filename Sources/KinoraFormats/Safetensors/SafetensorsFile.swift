import Foundation

/// A safetensors file opened by memory-mapping it. The header is validated when the file is opened (dtypes, shapes,
/// sizes, offsets within the data section, no overlaps); tensor bytes are handed out straight from the mapping.
public final class SafetensorsFile: WeightStore {
    public let url: URL
    /// The header's `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    public let tensors: [String: WeightTensorInfo]
    public let tensorNames: [String]
    private let mapping: MappedFile
    private let dataOffset: Int

    public init(url: URL) throws {
        self.url = url
        mapping = try MappedFile(url: url)
        let header = try SafetensorsHeader(file: mapping.bytes, fileName: url.path)
        metadata = header.metadata
        tensors = header.tensors
        tensorNames = header.tensors.keys.sorted()
        dataOffset = header.dataOffset
    }

    public var sourceName: String { url.path }

    public func info(_ name: String) throws -> WeightTensorInfo {
        guard let info = tensors[name] else {
            throw WeightsError.missingTensor(file: url.path, tensor: name)
        }
        return info
    }

    public func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        let range = try info(name).dataRange
        let slice = UnsafeRawBufferPointer(
            rebasing: mapping.bytes[(dataOffset + range.lowerBound)..<(dataOffset + range.upperBound)])
        return try body(slice)
    }
}
