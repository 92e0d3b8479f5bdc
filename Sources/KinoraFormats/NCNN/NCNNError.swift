/// Why an ncnn model (`.param` text graph and `.bin` weights) could not be read. Every case names the file and, where
/// one is involved, the line or the layer, so a mismatched or truncated download is easy to find.
public enum NCNNError: Error, Equatable, CustomStringConvertible {
    /// The `.param` text is malformed at `line` (1-based).
    case malformedParam(file: String, line: Int, reason: String)
    /// The graph is inconsistent: a blob used before it is produced, counts that disagree with the header.
    case invalidGraph(file: String, reason: String)
    /// A layer whose weights Kinora cannot read (an unknown type, int8 quantization, dynamic weights).
    case unsupportedLayer(file: String, layer: String, type: String, reason: String)
    /// The `.bin` file does not hold what the `.param` file says it should.
    case weightsMismatch(file: String, layer: String, reason: String)

    public var description: String {
        switch self {
        case .malformedParam(let file, let line, let reason):
            return "\(file):\(line): \(reason)"
        case .invalidGraph(let file, let reason):
            return "\(file): the layer graph is not valid (\(reason))"
        case .unsupportedLayer(let file, let layer, let type, let reason):
            return "\(file): layer '\(layer)' of type \(type): \(reason)"
        case .weightsMismatch(let file, let layer, let reason):
            return "\(file): layer '\(layer)': \(reason); the .param and .bin files do not belong together or the "
                + ".bin is truncated"
        }
    }
}
