/// Why tokenizer files could not be loaded; each case names the file.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case malformedVocabulary(file: String, reason: String)
    case malformedMerges(file: String, line: Int, reason: String)
    case malformedConfiguration(file: String, reason: String)
    case missingToken(file: String, token: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            return "\(file): cannot read the tokenizer file (\(reason))"
        case .malformedVocabulary(let file, let reason):
            return "\(file): not a CLIP vocabulary (\(reason))"
        case .malformedMerges(let file, let line, let reason):
            return "\(file):\(line): not a BPE merges line (\(reason))"
        case .malformedConfiguration(let file, let reason):
            return "\(file): invalid tokenizer configuration (\(reason))"
        case .missingToken(let file, let token):
            return "\(file): the vocabulary has no entry for special token '\(token)'"
        }
    }
}
