/// Why a UMT5 text encoder could not be built or run; each case names the file, tensor or input at fault.
public enum UMT5Error: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(file: String, reason: String)
    case weightsMismatch(file: String, tensor: String, reason: String)
    case emptyInput
    case raggedInput(row: Int, length: Int, expected: Int)
    case sequenceTooLong(length: Int, maximum: Int)
    case tokenOutOfRange(row: Int, position: Int, id: Int, vocabularySize: Int)
    case maskMismatch(reason: String)
    case invalidMaskValue(row: Int, position: Int, value: Int)
    case promptTooLongForWan(row: Int, length: Int, maximum: Int)
    case invalidHiddenState(shape: [Int])

    public var description: String {
        switch self {
        case .invalidConfiguration(let file, let reason):
            return "\(file): not a usable UMT5 encoder config (\(reason))"
        case .weightsMismatch(let file, let tensor, let reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        case .emptyInput:
            return "UMT5 encoder: no token ids given (expected [batch, length] ids, e.g. [B, 512] from the tokenizer)"
        case .raggedInput(let row, let length, let expected):
            return "UMT5 encoder: prompt \(row) has \(length) token ids but prompt 0 has \(expected); pad every "
                + "prompt to the same length and pass the attention mask"
        case .sequenceTooLong(let length, let maximum):
            return "UMT5 encoder: \(length) token ids per prompt, more than the \(maximum) this encoder accepts; "
                + "truncate the prompt as the tokenizer does (max_length \(maximum))"
        case .tokenOutOfRange(let row, let position, let id, let vocabularySize):
            return "UMT5 encoder: token id \(id) at prompt \(row), position \(position) is outside the vocabulary "
                + "0..<\(vocabularySize); the tokenizer does not match this text encoder"
        case .maskMismatch(let reason):
            return "UMT5 encoder: the attention mask does not fit the token ids (\(reason))"
        case .invalidMaskValue(let row, let position, let value):
            return "UMT5 encoder: attention mask value \(value) at prompt \(row), position \(position); the mask "
                + "holds 1 for tokens and 0 for padding"
        case .promptTooLongForWan(let row, let length, let maximum):
            return "UMT5 encoder: prompt \(row) has \(length) tokens, more than Wan's max_sequence_length "
                + "\(maximum); truncate it to \(maximum) tokens as the tokenizer does"
        case .invalidHiddenState(let shape):
            return "UMT5 encoder: last_hidden_state must be [B, L, d_model], got \(shape)"
        }
    }
}
