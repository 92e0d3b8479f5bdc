import Foundation

/// CLIP's normalizer and pre-tokenizer as transformers' `CLIPTokenizer` (backed by the tokenizers library since
/// transformers 5, the tokenizer diffusers' pipelines load) sets them up: NFC, then a per-character lowercase, then
/// CLIP's word pattern `<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
/// keeping the matches and dropping the whitespace between them, then GPT-2's byte-level pattern inside each match.
/// Nothing else is removed or split: a run of CJK ideographs and kana is one word, and format characters (zero-width
/// space and joiners, BOM, soft hyphen), control characters and private-use characters are punctuation-like words.
/// The normalizer's whitespace collapse is left out, as the pattern drops all whitespace anyway. Works on Unicode
/// scalars, as the tokenizers library does on `char`s.
enum CLIPPreTokenizer {
    static let specialTokens = ["<|startoftext|>", "<|endoftext|>"]
    private static let contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map { Array($0.unicodeScalars) }
    private static let specialScalars = specialTokens.map { Array($0.unicodeScalars) }

    /// The words of `text` in order, each a piece for byte-pair encoding. A special token's text that reaches this
    /// point (one that differs in case, as `<|ENDOFTEXT|>`) is not special: it is split and encoded as text.
    static func words(_ text: String) -> [String] {
        let normalized = lowercase(text.precomposedStringWithCanonicalMapping)
        return split(Array(normalized.unicodeScalars), literals: specialScalars + contractions, numberRuns: false)
            .flatMap { split($0, literals: contractions, numberRuns: true) }
            .map { String(String.UnicodeScalarView($0)) }
    }

    /// The tokenizers library's `Lowercase` normalizer: each scalar's full lowercase mapping, without Python's
    /// final-sigma rule (`Σ` always becomes `σ`).
    private static func lowercase(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            result += scalar.properties.lowercaseMapping
        }
        return result
    }

    /// The matches of `literals | \p{L}+ | \p{N} | [^\s\p{L}\p{N}]+` (the first alternative that matches wins, as in
    /// a backtracking regex), with `\p{N}+` in place of `\p{N}` when `numberRuns`; whitespace (Unicode `White_Space`)
    /// between matches is dropped. CLIP's pattern is the one with special tokens and single numbers, GPT-2's
    /// byte-level pattern the one with number runs (its optional leading space never occurs here).
    private static func split(_ scalars: [Unicode.Scalar], literals: [[Unicode.Scalar]], numberRuns: Bool)
        -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var index = 0
        func take(_ count: Int) {
            words.append(Array(scalars[index..<(index + count)]))
            index += count
        }
        func run(while predicate: (Unicode.Scalar) -> Bool) -> Int {
            var end = index
            while end < scalars.count, predicate(scalars[end]) {
                end += 1
            }
            return end - index
        }
        while index < scalars.count {
            let scalar = scalars[index]
            if let literal = literals.first(where: { matches($0, in: scalars, at: index) }) {
                take(literal.count)
            } else if isLetter(scalar) {
                take(run(while: isLetter))
            } else if isNumber(scalar) {
                take(numberRuns ? run(while: isNumber) : 1)
            } else if scalar.properties.isWhitespace {
                index += 1
            } else {
                take(run { !$0.properties.isWhitespace && !isLetter($0) && !isNumber($0) })
            }
        }
        return words
    }

    private static func matches(_ literal: [Unicode.Scalar], in scalars: [Unicode.Scalar], at index: Int) -> Bool {
        guard index + literal.count <= scalars.count else { return false }
        for (offset, scalar) in literal.enumerated() where scalars[index + offset] != scalar {
            return false
        }
        return true
    }

    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    private static func isNumber(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }
}
