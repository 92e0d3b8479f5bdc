/// One clause of text, cut where espeak-ng's `ReadClause` ends a clause, with the punctuation that Piper appends to
/// its phonemes and whether it ends a sentence (Piper synthesises one utterance per sentence).
public struct PiperClause: Sendable, Equatable {
    /// The clause's text, its closing punctuation included.
    public var text: String
    /// `.` `?` `!` `,` `:` `;`, or empty where Piper's espeak bridge maps the clause type to nothing (ellipsis,
    /// paragraph break, full-width punctuation, end of text without punctuation).
    public var terminator: String
    public var endsSentence: Bool

    public init(text: String, terminator: String, endsSentence: Bool) {
        self.text = text
        self.terminator = terminator
        self.endsSentence = endsSentence
    }
}

/// Recovers the clause boundaries and clause types that piper 1.8.0 reads from espeak-ng's
/// `espeak_TextToPhonemesWithTerminator`, which Debian's espeak-ng 1.51 lacks. The rules are those of espeak-ng's
/// `ReadClause` (readclause.c): clause punctuation ends a clause only when followed by white space, a bracket or
/// quote, or the end of text (ellipsis and full-width forms need no space); a run of marks counts as its first mark
/// (espeak's `?`/`!` loop tests clause-type bits that every mark shares); three or more dots are an ellipsis; a full
/// stop followed by a lower-case word, or by `'s`, does not end the clause; punctuation before any letter or digit
/// does not either; a blank line ends a paragraph. The clause type then maps to Piper's terminator exactly as its
/// `espeakbridge.c` does.
public enum PiperClauseSplitter {
    /// The clause types espeak-ng gives these code points (`clause_type_from_codepoint`), as Piper maps them.
    private struct Punctuation {
        var terminator: String
        var endsSentence: Bool
        var optionalSpaceAfter: Bool
    }

    private static let ellipsis: Unicode.Scalar = "\u{2026}"

    private static let punctuation: [Unicode.Scalar: Punctuation] = [
        ".": Punctuation(terminator: ".", endsSentence: true, optionalSpaceAfter: false),
        "?": Punctuation(terminator: "?", endsSentence: true, optionalSpaceAfter: false),
        "!": Punctuation(terminator: "!", endsSentence: true, optionalSpaceAfter: false),
        ",": Punctuation(terminator: ",", endsSentence: false, optionalSpaceAfter: false),
        ":": Punctuation(terminator: ":", endsSentence: false, optionalSpaceAfter: false),
        ";": Punctuation(terminator: ";", endsSentence: false, optionalSpaceAfter: false),
        // En and em dash: espeak's "extended dash" is a semicolon-type clause.
        "\u{2013}": Punctuation(terminator: ";", endsSentence: false, optionalSpaceAfter: false),
        "\u{2014}": Punctuation(terminator: ";", endsSentence: false, optionalSpaceAfter: false),
        // The ellipsis, the inverted marks and the full-width forms carry "optional space after", which Piper's
        // terminator test does not match: their clauses end with no punctuation.
        ellipsis: Punctuation(terminator: "", endsSentence: false, optionalSpaceAfter: true),
        "\u{00BF}": Punctuation(terminator: "", endsSentence: false, optionalSpaceAfter: true),
        "\u{00A1}": Punctuation(terminator: "", endsSentence: false, optionalSpaceAfter: true),
        "\u{3002}": Punctuation(terminator: "", endsSentence: true, optionalSpaceAfter: true),
        "\u{FF1F}": Punctuation(terminator: "", endsSentence: true, optionalSpaceAfter: true),
        "\u{FF01}": Punctuation(terminator: "", endsSentence: true, optionalSpaceAfter: true),
        "\u{FF0C}": Punctuation(terminator: "", endsSentence: false, optionalSpaceAfter: true),
        "\u{3001}": Punctuation(terminator: "", endsSentence: false, optionalSpaceAfter: true),
        "\u{FF1A}": Punctuation(terminator: "", endsSentence: false, optionalSpaceAfter: true),
        "\u{FF1B}": Punctuation(terminator: "", endsSentence: false, optionalSpaceAfter: true),
    ]

    /// espeak-ng's `IsBracket`: brackets, quotes, guillemets, and U+2014…U+201F (dashes and curly quotes).
    private static let brackets: Set<Unicode.Scalar> = [
        "(", ")", "[", "]", "{", "}", "<", ">", "\"", "'", "`", "\u{AB}", "\u{BB}",
        "\u{3008}", "\u{3009}", "\u{300A}", "\u{300B}",
    ]

    /// The clauses of `text`, in order; their texts concatenate back to `text` less the white space between them.
    public static func split(_ text: String) -> [PiperClause] {
        let scalars = Array(text.unicodeScalars)
        var clauses: [PiperClause] = []
        var start = 0
        var index = 0
        var anyAlphanumeric = false

        func emit(upTo end: Int, terminator: String, endsSentence: Bool, next: Int) {
            clauses.append(PiperClause(text: string(scalars[start..<end]), terminator: terminator,
                                       endsSentence: endsSentence))
            start = next
            index = next
            anyAlphanumeric = false
        }

        while index < scalars.count {
            var mark = scalars[index]
            if isAlphanumeric(mark) { anyAlphanumeric = true }
            if mark == "\n" {
                let (newlines, next) = whiteSpaceRun(scalars, from: index + 1)
                if newlines > 0 && next < scalars.count {
                    emit(upTo: index, terminator: "", endsSentence: true, next: next)
                    continue
                }
            }
            var end = index + 1
            if mark == ".", end < scalars.count, scalars[end] == "." {
                var dots = end
                while dots < scalars.count && scalars[dots] == "." { dots += 1 }
                if dots - index >= 3 {
                    mark = ellipsis
                    end = dots
                }
            }
            guard let kind = punctuation[mark] else {
                index = end
                continue
            }
            while end < scalars.count && punctuation[scalars[end]] != nil { end += 1 }
            let after = end < scalars.count ? scalars[end] : nil
            guard after == nil || isSpace(after) || kind.optionalSpaceAfter || isBracket(after) || after == "?" else {
                index = end
                continue
            }
            let (newlines, next) = followingSpace(scalars, from: end)
            let nextCharacter = next < scalars.count ? scalars[next] : nil
            var endsClause = anyAlphanumeric
            if newlines == 0 && mark == "." {
                if isLowercase(nextCharacter) { endsClause = false }
                if nextCharacter == "'", next + 1 < scalars.count, scalars[next + 1] == "s" { endsClause = false }
            }
            guard endsClause else {
                index = end
                continue
            }
            if newlines > 1 {
                emit(upTo: end, terminator: "", endsSentence: true, next: next)
            } else {
                emit(upTo: end, terminator: kind.terminator, endsSentence: kind.endsSentence, next: next)
            }
        }
        if scalars[start...].contains(where: { !isSpace($0) }) {
            clauses.append(PiperClause(text: string(scalars[start...]), terminator: "", endsSentence: true))
        }
        return clauses
    }

    /// Counts the newlines in the white space starting at `from`, returning the count and the first index past it.
    private static func whiteSpaceRun(_ scalars: [Unicode.Scalar], from: Int) -> (newlines: Int, next: Int) {
        var newlines = 0
        var next = from
        while next < scalars.count && isSpace(scalars[next]) {
            if scalars[next] == "\n" { newlines += 1 }
            next += 1
        }
        return (newlines, next)
    }

    /// The white space after a clause mark: when the mark is followed by a non-space (a bracket or quote), that
    /// character starts the next clause.
    private static func followingSpace(_ scalars: [Unicode.Scalar], from: Int) -> (newlines: Int, next: Int) {
        guard from < scalars.count, isSpace(scalars[from]) else { return (0, from) }
        return whiteSpaceRun(scalars, from: from)
    }

    private static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    private static func isSpace(_ scalar: Unicode.Scalar?) -> Bool {
        scalar?.properties.isWhitespace ?? false
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }

    private static func isLowercase(_ scalar: Unicode.Scalar?) -> Bool {
        scalar?.properties.isLowercase ?? false
    }

    private static func isBracket(_ scalar: Unicode.Scalar?) -> Bool {
        guard let scalar else { return false }
        return (0x2014...0x201F).contains(scalar.value) || brackets.contains(scalar)
    }
}
