import Foundation

/// CLIP's text pre-processing as transformers' `CLIPTokenizer` does it when ftfy is not installed: BERT's
/// `BasicTokenizer` cleanup (drop control and format characters, unify whitespace, space out CJK ideographs, NFC,
/// lowercase, no accent stripping, no punctuation split), then CLIP's word pattern
/// `<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`.
/// Works on Unicode scalars, as Python does on code points.
enum CLIPTextCleaning {
    static let specialTokens = ["<|startoftext|>", "<|endoftext|>"]
    private static let contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map { Array($0.unicodeScalars) }
    private static let specialScalars = specialTokens.map { Array($0.unicodeScalars) }

    /// The words of `text` in order, each either a special token or a piece for byte-pair encoding.
    static func words(_ text: String) -> [String] {
        let cleaned = basicTokenize(text)
        return split(Array(cleaned.unicodeScalars))
    }

    /// `BasicTokenizer(strip_accents=False, do_split_on_punc=False).tokenize`, joined by single spaces.
    static func basicTokenize(_ text: String) -> String {
        var cleaned = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.value == 0 || scalar.value == 0xFFFD || isControl(scalar) {
                continue
            }
            if isWhitespace(scalar) {
                cleaned.append(" ")
            } else if isCJK(scalar) {
                cleaned.append(contentsOf: [" ", scalar, " "])
            } else {
                cleaned.append(scalar)
            }
        }
        let normalized = String(cleaned).precomposedStringWithCanonicalMapping
        return normalized.unicodeScalars.split(whereSeparator: \.properties.isWhitespace)
            .map { lowercase(Array($0)) }
            .joined(separator: " ")
    }

    /// `_is_control`: any `C*` category except tab, newline and carriage return (which count as whitespace).
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\t" || scalar == "\n" || scalar == "\r" {
            return false
        }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// `_is_whitespace`: space, tab, newline, carriage return, or category Zs.
    private static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r"
            || scalar.properties.generalCategory == .spaceSeparator
    }

    /// `_is_chinese_char`: the CJK Unified Ideographs blocks and their extensions and compatibility forms.
    private static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
            0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// Python's `str.lower()`: full lowercase mappings, with Greek capital sigma becoming final `ς` when it ends a
    /// word (preceded by a cased letter and not followed by one, ignoring case-ignorable characters).
    private static func lowercase(_ scalars: [Unicode.Scalar]) -> String {
        var result = ""
        for (index, scalar) in scalars.enumerated() {
            if scalar.value == 0x03A3, isFinalSigma(at: index, in: scalars) {
                result.unicodeScalars.append("\u{03C2}")
            } else {
                result += scalar.properties.lowercaseMapping
            }
        }
        return result
    }

    private static func isFinalSigma(at index: Int, in scalars: [Unicode.Scalar]) -> Bool {
        let before = scalars[..<index].reversed().first { !$0.properties.isCaseIgnorable }
        let after = scalars[(index + 1)...].first { !$0.properties.isCaseIgnorable }
        return before?.properties.isCased == true && after?.properties.isCased != true
    }

    /// `re.findall` of CLIP's word pattern (case-insensitive; the text is lowercase by now).
    private static func split(_ scalars: [Unicode.Scalar]) -> [String] {
        var words: [String] = []
        var index = 0
        func take(_ count: Int) {
            words.append(String(String.UnicodeScalarView(scalars[index..<(index + count)])))
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
            if let literal = (specialScalars + contractions).first(where: { matches($0, in: scalars, at: index) }) {
                take(literal.count)
            } else if isLetter(scalar) {
                take(run(while: isLetter))
            } else if isNumber(scalar) {
                take(1)
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
