import Foundation

/// Builds a safetensors file in memory and writes it atomically (to a temporary name, then renamed), so a reader
/// never sees a half-written file. Used by tests and by fixture tooling.
public struct SafetensorsWriter: Sendable {
    private struct Entry {
        let name: String
        let dtype: WeightDType
        let shape: [Int]
        let bytes: [UInt8]
    }

    /// Written as the header's `__metadata__` when not empty.
    public var metadata: [String: String]
    private var entries: [Entry] = []
    private var names: Set<String> = []

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds a tensor from its raw little-endian bytes; the byte count must match the shape and dtype.
    public mutating func add(_ name: String, dtype: WeightDType, shape: [Int], bytes: [UInt8]) throws {
        guard !name.isEmpty, name != "__metadata__", shape.allSatisfy({ $0 >= 0 }) else {
            throw WeightsError.malformedEntry(
                file: "(writer)", tensor: name, reason: "invalid tensor name or negative dimension in \(shape)")
        }
        guard !names.contains(name) else {
            throw WeightsError.duplicateTensor(file: "(writer)", tensor: name)
        }
        let expected = shape.reduce(dtype.size, *)
        guard expected == bytes.count else {
            throw WeightsError.sizeMismatch(
                file: "(writer)", tensor: name, shape: shape, dtype: dtype.rawValue, expectedBytes: expected,
                actualBytes: bytes.count)
        }
        names.insert(name)
        entries.append(Entry(name: name, dtype: dtype, shape: shape, bytes: bytes))
    }

    /// Adds a tensor from `Float` values, stored as F32, F16 or BF16 (rounded to nearest even).
    public mutating func add(_ name: String, shape: [Int], floats: [Float], as dtype: WeightDType = .f32) throws {
        guard let bytes = TensorDecoding.bytes(floats, dtype: dtype) else {
            throw WeightsError.unsupportedDType(file: "(writer)", tensor: name, dtype: dtype.rawValue)
        }
        try add(name, dtype: dtype, shape: shape, bytes: bytes)
    }

    /// The complete file: header length, JSON header padded with spaces to a multiple of 8, data in insertion order.
    public func encoded() throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for entry in entries {
            header[entry.name] = [
                "dtype": entry.dtype.rawValue, "shape": entry.shape,
                "data_offsets": [offset, offset + entry.bytes.count],
            ]
            offset += entry.bytes.count
        }
        if !metadata.isEmpty {
            header["__metadata__"] = metadata
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])
        json.append(contentsOf: [UInt8](repeating: UInt8(ascii: " "), count: (8 - json.count % 8) % 8))
        var file = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        for entry in entries {
            file.append(contentsOf: entry.bytes)
        }
        return file
    }

    /// Writes the file atomically to `url`, replacing any file there.
    public func write(to url: URL) throws {
        do {
            try encoded().write(to: url, options: .atomic)
        } catch let error as WeightsError {
            throw error
        } catch {
            throw WeightsError.writeFailed(file: url.path, reason: error.localizedDescription)
        }
    }
}
