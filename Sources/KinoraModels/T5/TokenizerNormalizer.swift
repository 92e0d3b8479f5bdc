import Foundation

/// A `normalizer` of a `tokenizer.json`, applied as Hugging Face tokenizers applies it to each stretch of the input
/// between added tokens. The kinds T5-family files use are implemented — `Sequence`, `Precompiled` (SentencePiece's
/// charsmap, applied per grapheme cluster exactly as tokenizers does), `Replace` and `Strip` — and any other kind is
/// refused when the file is loaded.
indirect enum TokenizerNormalizer: Sendable {
    case sequence([TokenizerNormalizer])
    case precompiled(PrecompiledCharsMap)
    case replace(ReplacePattern, content: String)
    case strip(left: Bool, right: Bool)

    /// The largest nesting of `Sequence` normalizers accepted.
    static let maximumDepth = 8

    init(_ field: TokenizerJSONField, depth: Int = 0) throws(T5TokenizerError) {
        let type = try field.componentType()
        switch type {
        case "Sequence":
            guard depth < Self.maximumDepth else { throw field.unsupported("Sequence nested deeper than \(depth)") }
            var normalizers: [TokenizerNormalizer] = []
            for element in try field.required("normalizers").array() {
                normalizers.append(try TokenizerNormalizer(element, depth: depth + 1))
            }
            self = .sequence(normalizers)
        case "Precompiled":
            let charsMap = try field.required("precompiled_charsmap")
            guard let blob = Data(base64Encoded: try charsMap.string()) else {
                throw charsMap.malformed("not base64")
            }
            self = .precompiled(try PrecompiledCharsMap([UInt8](blob), file: field.file, field: charsMap.path))
        case "Replace":
            let pattern = try field.required("pattern")
            let content = try field.required("content").string()
            if let literal = try pattern.member("String") {
                self = .replace(ReplacePattern(literal: try literal.string()), content: content)
            } else if let regex = try pattern.member("Regex") {
                self = .replace(try ReplacePattern(regex: try regex.string(), field: regex), content: content)
            } else {
                throw pattern.malformed("expected a 'String' or 'Regex' pattern")
            }
        case "Strip":
            self = .strip(
                left: try field.flag("strip_left", default: true),
                right: try field.flag("strip_right", default: true))
        default:
            throw field.unsupported(
                "the normalizer '\(type)'; T5-family files use Sequence, Precompiled, Replace "
                    + "and Strip")
        }
    }

    /// `text` normalized.
    func normalize(_ text: String) -> String {
        switch self {
        case .sequence(let normalizers):
            return normalizers.reduce(text) { $1.normalize($0) }
        case .precompiled(let charsMap):
            return Self.precompiled(text, charsMap)
        case .replace(let pattern, let content):
            return pattern.replacingMatches(in: text, with: content)
        case .strip(let left, let right):
            var scalars = Substring(text).unicodeScalars[...]
            if left { scalars = scalars.drop { $0.properties.isWhitespace } }
            if right {
                while let last = scalars.last, last.properties.isWhitespace { scalars = scalars.dropLast() }
            }
            return String(String.UnicodeScalarView(scalars))
        }
    }

    /// tokenizers' `Precompiled::normalize`: each extended grapheme cluster shorter than 6 UTF-8 bytes is replaced
    /// whole by the rule of the shortest key that is a prefix of it (which may drop the rest of the cluster, as
    /// tokenizers does); otherwise each character is replaced by its own rule or kept.
    private static func precompiled(_ text: String, _ charsMap: PrecompiledCharsMap) -> String {
        var output = String.UnicodeScalarView()
        for grapheme in text {
            if grapheme.utf8.count < 6, let replacement = charsMap.shortestReplacement(grapheme.utf8) {
                output.append(contentsOf: replacement.unicodeScalars)
                continue
            }
            for scalar in grapheme.unicodeScalars {
                if let replacement = charsMap.shortestReplacement(scalar.utf8) {
                    output.append(contentsOf: replacement.unicodeScalars)
                } else {
                    output.append(scalar)
                }
            }
        }
        return String(output)
    }
}
