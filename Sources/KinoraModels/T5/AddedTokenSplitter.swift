/// The `added_tokens` of a `tokenizer.json` that are matched in the raw input (`normalized: false`): as tokenizers'
/// `AddedVocabulary` does, the input is cut at the leftmost match, the longest of the tokens matching there, and the
/// matched text becomes that token's id without normalization or segmentation.
struct AddedTokenSplitter: Sendable {
    struct Token: Sendable {
        let content: [UInt8]
        let id: Int
    }

    /// A stretch of the input: a token's id, or text for the normalizer, with its byte offset in the input.
    enum Part: Equatable {
        case token(Int)
        case text(String, offset: Int)
    }

    private let tokensByFirstByte: [UInt8: [Token]]

    /// Reads `added_tokens`. Tokens that match normalized text, or that strip spaces or must be single words, are
    /// refused: T5-family files never use them, and they would need tokenizers' offset bookkeeping.
    init(_ field: TokenizerJSONField?) throws(T5TokenizerError) {
        var tokensByFirstByte: [UInt8: [Token]] = [:]
        for element in try field?.array() ?? [] {
            let content = try element.required("content").string()
            let id = try element.required("id").integer()
            guard id >= 0 else { throw element.malformed("negative id \(id)") }
            for option in ["single_word", "lstrip", "rstrip"] where try element.flag(option, default: false) {
                throw element.unsupported("added token '\(content)' with \(option)")
            }
            let special = try element.flag("special", default: false)
            if try element.flag("normalized", default: !special) {
                throw element.unsupported("added token '\(content)' matched after normalization")
            }
            guard let first = content.utf8.first else { continue }
            tokensByFirstByte[first, default: []].append(Token(content: Array(content.utf8), id: id))
        }
        self.tokensByFirstByte = tokensByFirstByte
    }

    /// The id of the added token spelled `content`, if there is one.
    func id(of content: String) -> Int? {
        let bytes = Array(content.utf8)
        return bytes.first.flatMap { tokensByFirstByte[$0]?.first { $0.content == bytes }?.id }
    }

    /// `text` cut into added tokens and the text between them (empty stretches left out).
    func split(_ text: String) -> [Part] {
        let bytes = Array(text.utf8)
        var parts: [Part] = []
        var textStart = 0
        var position = 0
        while position < bytes.count {
            let longest = tokensByFirstByte[bytes[position]]?.filter { token in
                token.content.count <= bytes.count - position
                    && bytes[position..<(position + token.content.count)].elementsEqual(token.content)
            }.max { $0.content.count < $1.content.count }
            guard let token = longest else {
                position += 1
                continue
            }
            if textStart < position {
                parts.append(.text(String(decoding: bytes[textStart..<position], as: UTF8.self), offset: textStart))
            }
            parts.append(.token(token.id))
            position += token.content.count
            textStart = position
        }
        if textStart < bytes.count {
            parts.append(.text(String(decoding: bytes[textStart...], as: UTF8.self), offset: textStart))
        }
        return parts
    }
}
