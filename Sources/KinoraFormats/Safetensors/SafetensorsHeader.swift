import Foundation

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
        let json = Data(file[8..<dataOffset])
        guard json.first == UInt8(ascii: "{") else {
            throw WeightsError.malformedHeader(file: fileName, reason: "it does not start with a JSON object")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: json)
        } catch {
            throw WeightsError.malformedHeader(file: fileName, reason: "invalid JSON: \(error.localizedDescription)")
        }
        guard let entries = object as? [String: Any] else {
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
            tensors[name] = info
        }
        try Self.checkNoOverlap(tensors.values, fileName: fileName)
        self.tensors = tensors
        self.metadata = metadata
    }

    private static func metadata(_ value: Any, fileName: String) throws -> [String: String] {
        guard let map = value as? [String: Any] else {
            throw WeightsError.malformedHeader(file: fileName, reason: "__metadata__ is not an object")
        }
        var result: [String: String] = [:]
        for (key, entry) in map {
            guard let text = entry as? String else {
                throw WeightsError.malformedHeader(file: fileName, reason: "__metadata__['\(key)'] is not a string")
            }
            result[key] = text
        }
        return result
    }

    private static func tensor(name: String, value: Any, fileName: String) throws -> WeightTensorInfo {
        guard let entry = value as? [String: Any] else {
            throw WeightsError.malformedEntry(file: fileName, tensor: name, reason: "the entry is not an object")
        }
        guard let dtypeName = entry["dtype"] as? String else {
            throw WeightsError.malformedEntry(file: fileName, tensor: name, reason: "dtype is missing or not a string")
        }
        guard let dtype = WeightDType(rawValue: dtypeName) else {
            throw WeightsError.unknownDType(file: fileName, tensor: name, dtype: dtypeName)
        }
        guard let shapeValues = entry["shape"] as? [Any],
            let shape = integers(shapeValues), shape.allSatisfy({ $0 >= 0 })
        else {
            throw WeightsError.malformedEntry(
                file: fileName, tensor: name, reason: "shape is missing or not a list of non-negative integers")
        }
        guard let offsetValues = entry["data_offsets"] as? [Any], offsetValues.count == 2,
            let offsets = integers(offsetValues), offsets[0] >= 0, offsets[0] <= offsets[1]
        else {
            throw WeightsError.malformedEntry(
                file: fileName, tensor: name, reason: "data_offsets is not a pair [begin, end] with 0 <= begin <= end")
        }
        var expected = dtype.size
        for dimension in shape {
            let (product, overflow) = expected.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw WeightsError.malformedEntry(file: fileName, tensor: name, reason: "shape \(shape) is too large")
            }
            expected = product
        }
        let actual = offsets[1] - offsets[0]
        guard expected == actual else {
            throw WeightsError.sizeMismatch(
                file: fileName, tensor: name, shape: shape, dtype: dtypeName, expectedBytes: expected,
                actualBytes: actual)
        }
        return WeightTensorInfo(name: name, dtype: dtype, shape: shape, dataRange: offsets[0]..<offsets[1])
    }

    /// JSON numbers that are exact integers; nil if any element is not.
    private static func integers(_ values: [Any]) -> [Int]? {
        var result: [Int] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let number = value as? NSNumber, let integer = Int(exactly: number.doubleValue) else {
                return nil
            }
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
