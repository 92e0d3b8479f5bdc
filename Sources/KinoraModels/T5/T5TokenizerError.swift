/// Why a T5-family tokenizer file (`tokenizer.json` or SentencePiece's `spiece.model`) could not be loaded. Each case
/// names the file and the part of it that is wrong, so a damaged or unsupported file can be found and replaced.
public enum T5TokenizerError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read at all.
    case unreadable(file: String, reason: String)
    /// The file is larger than a tokenizer file can reasonably be.
    case tooLarge(file: String, size: Int, limit: Int)
    /// The file breaks its format at `field` (a JSON path such as `model.vocab[3]`, or a protobuf field and offset).
    case malformed(file: String, field: String, reason: String)
    /// The file is well formed but asks for something this tokenizer does not implement.
    case unsupported(file: String, field: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            return "\(file): cannot read the tokenizer file (\(reason))"
        case .tooLarge(let file, let size, let limit):
            return "\(file): \(size) bytes is more than a tokenizer file may hold (\(limit) bytes)"
        case .malformed(let file, let field, let reason):
            return "\(file): \(field): \(reason)"
        case .unsupported(let file, let field, let reason):
            return "\(file): \(field): not supported (\(reason))"
        }
    }
}
