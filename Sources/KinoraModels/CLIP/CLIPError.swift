/// Why a CLIP text encoder could not be built or run; each case names the file, tensor or input at fault.
public enum CLIPError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(file: String, reason: String)
    case emptyInput
    case raggedInput(row: Int, length: Int, expected: Int)
    case sequenceTooLong(length: Int, maximum: Int)
    case tokenOutOfRange(row: Int, position: Int, id: Int32, vocabularySize: Int)
    case invalidClipSkip(clipSkip: Int, maximum: Int)
    case weightsMismatch(file: String, tensor: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidConfiguration(file, reason):
            return "\(file): not a usable CLIP text config (\(reason))"
        case .emptyInput:
            return "CLIP text encoder: no token ids given (expected [batch, length] ids, e.g. [B, 77])"
        case let .raggedInput(row, length, expected):
            return "CLIP text encoder: prompt \(row) has \(length) token ids but prompt 0 has \(expected); pad every "
                + "prompt to the same length (77)"
        case let .sequenceTooLong(length, maximum):
            return "CLIP text encoder: \(length) token ids per prompt, but the model has only \(maximum) positions "
                + "(max_position_embeddings); length must be 1...\(maximum)"
        case let .tokenOutOfRange(row, position, id, vocabularySize):
            return "CLIP text encoder: token id \(id) at prompt \(row), position \(position) is outside the "
                + "vocabulary 0..<\(vocabularySize); the tokenizer does not match this text encoder"
        case let .invalidClipSkip(clipSkip, maximum):
            return "CLIP text encoder: clip skip \(clipSkip) is outside 0...\(maximum) for this model's layers"
        case let .weightsMismatch(file, tensor, reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        }
    }
}
