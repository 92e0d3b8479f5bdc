import Foundation

/// Why an `.onnx` file could not be read. Every case names the file and, where one is involved, the tensor or the
/// place in the message tree (`graph.initializer[12]`), so the message says which download is broken and how.
public enum ONNXError: Error, Equatable, CustomStringConvertible {
    /// The bytes are not valid protobuf wire format at `location`.
    case malformed(file: String, location: String, reason: String)
    /// The file parses but is not an ONNX model (no graph, no IR version).
    case notONNX(file: String, reason: String)
    /// A tensor Kinora cannot read: external data, strings, an unknown element type.
    case unsupportedTensor(file: String, tensor: String, reason: String)
    /// A tensor whose data does not hold shape × element size bytes.
    case tensorSizeMismatch(file: String, tensor: String, shape: [Int], dataType: String, expectedBytes: Int,
                            actualBytes: Int)
    case duplicateTensor(file: String, tensor: String)
    case missingTensor(file: String, tensor: String)

    public var description: String {
        switch self {
        case .malformed(let file, let location, let reason):
            return "\(file): not a valid ONNX file: \(reason) in \(location); the file is truncated or corrupt"
        case .notONNX(let file, let reason):
            return "\(file): not an ONNX model (\(reason))"
        case .unsupportedTensor(let file, let tensor, let reason):
            return "\(file): tensor '\(tensor)' cannot be read (\(reason))"
        case .tensorSizeMismatch(let file, let tensor, let shape, let dataType, let expectedBytes, let actualBytes):
            return "\(file): tensor '\(tensor)' of shape \(shape) and type \(dataType) needs \(expectedBytes) bytes "
                + "but holds \(actualBytes)"
        case .duplicateTensor(let file, let tensor):
            return "\(file): initializer '\(tensor)' appears more than once"
        case .missingTensor(let file, let tensor):
            return "\(file): no initializer named '\(tensor)'"
        }
    }
}

extension ProtobufReader.Failure: CustomStringConvertible {
    var description: String {
        switch self {
        case .truncated(let offset, let needed):
            return "the data ends at byte \(offset) where \(needed) was expected"
        case .badWireType(let offset, let field, let wireType):
            return "field \(field) has wire type \(wireType) at byte \(offset), which its schema does not allow"
        case .varintTooLong(let offset):
            return "the varint at byte \(offset) is longer than 10 bytes"
        case .lengthOutOfRange(let offset, let field, let length, let available):
            return "field \(field) at byte \(offset) claims \(length) bytes but only \(available) remain"
        case .fieldNumberZero(let offset):
            return "a field tag at byte \(offset) has field number 0"
        }
    }
}
