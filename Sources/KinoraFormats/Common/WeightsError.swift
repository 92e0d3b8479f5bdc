import Foundation

/// Why a weight file, a shard index or a checkpoint's key layout could not be used. Every case names the file and,
/// where one is involved, the tensor, so the message tells a user which download is broken and how.
public enum WeightsError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case truncated(file: String, reason: String)
    case headerLengthOutOfRange(file: String, length: UInt64, fileSize: Int)
    case malformedHeader(file: String, reason: String)
    case malformedEntry(file: String, tensor: String, reason: String)
    case unknownDType(file: String, tensor: String, dtype: String)
    case sizeMismatch(file: String, tensor: String, shape: [Int], dtype: String, expectedBytes: Int, actualBytes: Int)
    case offsetsOutOfRange(file: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    case overlappingTensors(file: String, first: String, second: String)
    case missingTensor(file: String, tensor: String)
    case unsupportedDType(file: String, tensor: String, dtype: String)
    case malformedIndex(file: String, reason: String)
    case missingShard(index: String, shard: String)
    case tensorNotInShard(index: String, shard: String, tensor: String)
    case duplicateTensor(file: String, tensor: String)
    case writeFailed(file: String, reason: String)
    case unrecognizedCheckpoint(file: String, reason: String)
    case transformMismatch(file: String, tensor: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            return "\(file): cannot read the file (\(reason))"
        case .truncated(let file, let reason):
            return "\(file): the file is truncated (\(reason)); download it again"
        case .headerLengthOutOfRange(let file, let length, let fileSize):
            return "\(file): header length \(length) does not fit a file of \(fileSize) bytes (limit 100 MB); "
                + "this is not a safetensors file or it is truncated"
        case .malformedHeader(let file, let reason):
            return "\(file): the safetensors header is not valid (\(reason))"
        case .malformedEntry(let file, let tensor, let reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        case .unknownDType(let file, let tensor, let dtype):
            return "\(file): tensor '\(tensor)' has unknown dtype '\(dtype)'"
        case .sizeMismatch(let file, let tensor, let shape, let dtype, let expectedBytes, let actualBytes):
            return "\(file): tensor '\(tensor)' of shape \(shape) and dtype \(dtype) needs \(expectedBytes) bytes "
                + "but its data_offsets span \(actualBytes)"
        case .offsetsOutOfRange(let file, let tensor, let begin, let end, let dataSize):
            return "\(file): tensor '\(tensor)' data_offsets [\(begin), \(end)] lie outside the data section of "
                + "\(dataSize) bytes; the file is truncated or corrupt"
        case .overlappingTensors(let file, let first, let second):
            return "\(file): tensors '\(first)' and '\(second)' overlap in the data section"
        case .missingTensor(let file, let tensor):
            return "\(file): no tensor named '\(tensor)'"
        case .unsupportedDType(let file, let tensor, let dtype):
            return "\(file): tensor '\(tensor)' has dtype \(dtype), which Kinora cannot use as weights "
                + "(supported: F32, F16, BF16)"
        case .malformedIndex(let file, let reason):
            return "\(file): the shard index is not valid (\(reason))"
        case .missingShard(let index, let shard):
            return "\(index): shard '\(shard)' is listed in weight_map but the file is missing"
        case .tensorNotInShard(let index, let shard, let tensor):
            return "\(index): weight_map puts tensor '\(tensor)' in '\(shard)', but that shard has no such tensor"
        case .duplicateTensor(let file, let tensor):
            return "\(file): tensor '\(tensor)' appears more than once"
        case .writeFailed(let file, let reason):
            return "\(file): cannot write the file (\(reason))"
        case .unrecognizedCheckpoint(let file, let reason):
            return "\(file): not a checkpoint layout Kinora knows (\(reason))"
        case .transformMismatch(let file, let tensor, let reason):
            return "\(file): tensor '\(tensor)' cannot be converted to Kinora's layout (\(reason))"
        }
    }
}
