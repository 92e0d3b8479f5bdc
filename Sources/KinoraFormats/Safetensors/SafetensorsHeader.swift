/// The parsed and validated JSON header of a safetensors file: tensor entries and the `__metadata__` string map.
struct SafetensorsHeader {
    /// Headers larger than this are refused before any JSON is parsed.
    static let maximumLength: UInt64 = 100_000_000

    let tensors: [String: WeightTensorInfo]
    let metadata: [String: String]
    /// Offset of the data section from the start of the file.
    let dataOffset: Int

    /// Parses and validates the header at the start of `file`, whose total size is `file.count`.
    init(file: UnsafeRawBufferPointer, fileName: String) throws {
        guard file.count >= 8 else {
            throw WeightsError.truncated(
                file: fileName, reason: "\(file.count) bytes, shorter than the 8-byte header length")
        }
        let length = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
        guard length <= Self.maximumLength, length <= UInt64(file.count - 8) else {
            throw WeightsError.headerLengthOutOfRange(file: fileName, length: length, fileSize: file.count)
        }
        dataOffset = 8 + Int(length)
        let json = UnsafeRawBufferPointer(rebasing: file[8..<dataOffset])
        guard json.first == UInt8(ascii: "{") else {
            throw WeightsError.malformedHeader(file: fileName, reason: "it does not start with a JSON object")
        }
        let object: JSONValue
        do {
            object = try JSONDocument.parse(json)
        } catch let error as JSONSyntaxError {
            throw WeightsError.malformedHeader(
                file: fileName, reason: "invalid JSON: \(error.reason) at byte \(8 + error.offset) of the file")
        }
        guard case .object(let entries) = object else {
            throw WeightsError.malformedHeader(file: fileName, reason: "it is not a JSON object")
        }
        let dataSize = file.count - dataOffset
        var tensors: [String: WeightTensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in entries {
            if name == "__metadata__" {
                metadata = try Self.metadata(value, fileName: fileName)
                continue
            }
            let info = try Self.tensor(name: name, value: value, fileName: fileName)
            guard info.dataRange.upperBound <= dataSize else {
                throw WeightsError.offsetsOutOfRange(
                    file: fileName, tensor: name, begin: info.dataRange.lowerBound, end: info.dataRange.upperBound,
                    dataSize: dataSize)
            }
            // Byte-distinct names that Swift's String equality merges ("é" and "e\u{301}") would shadow each other.
            guard tensors.updateValue(info, forKey: name) == nil else {
                throw WeightsError.duplicateTensor(file: fileName, tensor: name)
            }
        }
        try Self.checkNoOverlap(tensors.values, fileName: fileName)
        self.tensors = tensors
        self.metadata = metadata
    }

    private static func metadata(_ value: JSONValue, fileName: String) throws -> [String: String] {
        guard case .object(let map) = value else {
            throw WeightsError.malformedHeader(file: fileName, reason: "__metadata__ is not an object")
        }
        var result: [String: String] = [:]
        for (key, entry) in map {
            guard case .string(let text) = entry else {
                throw WeightsError.malformedHeader(
                    file: fileName, reason: "__metadata__['\(key)'] is \(entry.kind), not a string")
            }
            result[key] = text
        }
        return result
    }

    private static func tensor(name: String, value: JSONValue, fileName: String) throws -> WeightTensorInfo {
        guard case .object(let members) = value else {
            throw WeightsError.malformedEntry(file: fileName, tensor: name, reason: "the entry is \(value.kind)")
        }
        let entry = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        guard case .string(let dtypeName) = entry["dtype"] else {
            throw WeightsError.malformedEntry(file: fileName, tensor: name, reason: "dtype is missing or not a string")
        }
        guard let dtype = WeightDType(rawValue: dtypeName) else {
            throw WeightsError.unknownDType(file: fileName, tensor: name, dtype: dtypeName)
        }
        guard let shape = integers(entry["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
            throw WeightsError.malformedEntry(
                file: fileName, tensor: name, reason: "shape is missing or not a list of non-negative integers")
        }
        guard let offsets = integers(entry["data_offsets"]), offsets.count == 2, offsets[0] >= 0,
            offsets[0] <= offsets[1]
        else {
            throw WeightsError.malformedEntry(
                file: fileName, tensor: name, reason: "data_offsets is not a pair [begin, end] with 0 <= begin <= end")
        }
        guard let expected = WeightTensorInfo.byteCount(shape: shape, dtype: dtype) else {
            throw WeightsError.malformedEntry(file: fileName, tensor: name, reason: "shape \(shape) is too large")
        }
        let actual = offsets[1] - offsets[0]
        guard expected == actual else {
            throw WeightsError.sizeMismatch(
                file: fileName, tensor: name, shape: shape, dtype: dtypeName, expectedBytes: expected,
                actualBytes: actual)
        }
        return WeightTensorInfo(name: name, dtype: dtype, shape: shape, dataRange: offsets[0]..<offsets[1])
    }

    /// The elements of a JSON array of integers; nil if the value is not one.
    private static func integers(_ value: JSONValue?) -> [Int]? {
        guard case .array(let elements) = value else { return nil }
        var result: [Int] = []
        result.reserveCapacity(elements.count)
        for element in elements {
            guard case .integer(let integer) = element else { return nil }
            result.append(integer)
        }
        return result
    }

    private static func checkNoOverlap(
        _ tensors: Dictionary<String, WeightTensorInfo>.Values, fileName: String
    ) throws {
        let ordered = tensors.filter { !$0.dataRange.isEmpty }.sorted {
            ($0.dataRange.lowerBound, $0.name) < ($1.dataRange.lowerBound, $1.name)
        }
        for (previous, next) in zip(ordered, ordered.dropFirst())
        where next.dataRange.lowerBound < previous.dataRange.upperBound {
            throw WeightsError.overlappingTensors(file: fileName, first: previous.name, second: next.name)
        }
    }
}
