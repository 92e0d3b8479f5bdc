/// A `pre_tokenizer` of a `tokenizer.json` — `Sequence`, `WhitespaceSplit` or `Metaspace`, the kinds T5-family files
/// use — splitting each normalized stretch of the input into the words the unigram model segments one by one. Any
/// other kind is refused when the file is loaded.
indirect enum TokenizerPreTokenizer: Sendable {
    /// Metaspace's `prepend_scheme`.
    enum PrependScheme: String, Sendable {
        case always
        case first
        case never
    }

    case sequence([TokenizerPreTokenizer])
    case whitespaceSplit
    case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme, split: Bool)

    /// One word: its text and whether it starts at the very beginning of the input (Metaspace's `first` scheme
    /// prepends only there).
    struct Word: Equatable {
        var text: String
        var startsInput: Bool
    }

    init(_ field: TokenizerJSONField, depth: Int = 0) throws(T5TokenizerError) {
        let type = try field.componentType()
        switch type {
        case "Sequence":
            guard depth < TokenizerNormalizer.maximumDepth else {
                throw field.unsupported("Sequence nested deeper than \(depth)")
            }
            var steps: [TokenizerPreTokenizer] = []
            for element in try field.required("pretokenizers").array() {
                let step = try TokenizerPreTokenizer(element, depth: depth + 1)
                // After a split, tokenizers decides `first` by each word's offset in the original text, which
                // normalizers may have shifted; only the words straight from the added-token split are exact.
                if case .metaspace(_, .first, _) = step, !steps.isEmpty {
                    throw element.unsupported("Metaspace with prepend_scheme 'first' after another pre-tokenizer")
                }
                steps.append(step)
            }
            self = .sequence(steps)
        case "WhitespaceSplit":
            self = .whitespaceSplit
        case "Metaspace":
            let replacementField = try field.required("replacement")
            let replacement = try replacementField.string().unicodeScalars
            guard replacement.count == 1, let scalar = replacement.first else {
                throw replacementField.malformed("the replacement must be one character")
            }
            var scheme = PrependScheme.always
            if let schemeField = try field.member("prepend_scheme") {
                let name = try schemeField.string()
                guard let parsed = PrependScheme(rawValue: name) else {
                    throw schemeField.malformed("unknown prepend_scheme '\(name)'")
                }
                scheme = parsed
            }
            // Files from before prepend_scheme say add_prefix_space; false must agree with a 'never' scheme.
            if try !field.flag("add_prefix_space", default: true) {
                guard try field.member("prepend_scheme") == nil || scheme == .never else {
                    throw field.malformed("add_prefix_space does not match prepend_scheme")
                }
                scheme = .never
            }
            self = .metaspace(replacement: scalar, prependScheme: scheme, split: try field.flag("split", default: true))
        default:
            throw field.unsupported(
                "the pre-tokenizer '\(type)'; T5-family files use Sequence, WhitespaceSplit "
                    + "and Metaspace")
        }
    }

    /// The words of `words`, each split further; empty words are dropped, as tokenizers drops empty splits.
    func split(_ words: [Word]) -> [Word] {
        switch self {
        case .sequence(let steps):
            return steps.reduce(words) { $1.split($0) }
        case .whitespaceSplit:
            return words.flatMap { word in
                word.text.unicodeScalars.split(whereSeparator: { $0.properties.isWhitespace }).enumerated().map {
                    Word(
                        text: String($1),
                        startsInput: word.startsInput && $0 == 0
                            && $1.startIndex == word.text.unicodeScalars.startIndex)
                }
            }
        case .metaspace(let replacement, let scheme, let split):
            return words.flatMap { word in
                var text = String(
                    String.UnicodeScalarView(word.text.unicodeScalars.map { $0 == " " ? replacement : $0 }))
                let prepend = scheme == .always || (scheme == .first && word.startsInput)
                if prepend, text.unicodeScalars.first != replacement {
                    text.unicodeScalars.insert(replacement, at: text.unicodeScalars.startIndex)
                }
                guard split else { return text.isEmpty ? [] : [Word(text: text, startsInput: word.startsInput)] }
                return Self.splitBefore(replacement, in: text).enumerated().map {
                    Word(text: $1, startsInput: word.startsInput && $0 == 0)
                }
            }
        }
    }

    /// Splits `text` so each occurrence of `delimiter` begins a word (tokenizers' `MergedWithNext`): a delimiter that
    /// another delimiter follows, or that ends the text, is a word of its own.
    private static func splitBefore(_ delimiter: Unicode.Scalar, in text: String) -> [String] {
        var words: [String.UnicodeScalarView] = []
        var current = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == delimiter, !current.isEmpty {
                words.append(current)
                current = String.UnicodeScalarView()
            }
            current.append(scalar)
        }
        if !current.isEmpty { words.append(current) }
        return words.map { String($0) }
    }
}
