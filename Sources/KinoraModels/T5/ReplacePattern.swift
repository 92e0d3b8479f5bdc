/// The pattern of a tokenizers `Replace` normalizer: `{"String": …}`, matched literally, or `{"Regex": …}`, of which
/// the subset T5-family converters write is implemented: a sequence of literal characters (escaped with `\` where
/// regex syntax needs it) each with an optional greedy quantifier (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`). Groups,
/// alternation, classes and anchors are refused when the file is loaded, never matched approximately.
struct ReplacePattern: Sendable {
    private struct Atom: Sendable {
        let scalar: Unicode.Scalar
        let minimum: Int
        let maximum: Int
    }

    private let atoms: [Atom]

    /// A literal pattern.
    init(literal: String) {
        atoms = literal.unicodeScalars.map { Atom(scalar: $0, minimum: 1, maximum: 1) }
    }

    /// A regular expression in the supported subset; `field` names it in errors.
    init(regex: String, field: TokenizerJSONField) throws(T5TokenizerError) {
        let scalars = Array(regex.unicodeScalars)
        var atoms: [Atom] = []
        var index = 0
        func unsupported(_ what: String) -> T5TokenizerError {
            field.unsupported(
                "the regular expression '\(regex)' uses \(what); only literal characters with "
                    + "quantifiers are implemented")
        }
        while index < scalars.count {
            var scalar = scalars[index]
            index += 1
            switch scalar {
            case "\\":
                guard index < scalars.count else { throw field.malformed("the regular expression ends with '\\'") }
                scalar = scalars[index]
                index += 1
                switch scalar {
                case "t": scalar = "\t"
                case "n": scalar = "\n"
                case "r": scalar = "\r"
                case _ where scalar.properties.isAlphabetic || ("0"..."9").contains(scalar):
                    throw unsupported("the escape '\\\(scalar)'")
                default: break
                }
            case "(", ")", "[", "]", "|", ".", "^", "$":
                throw unsupported("'\(scalar)'")
            case "*", "+", "?", "{", "}":
                throw field.malformed("the regular expression '\(regex)' has a quantifier with nothing before it")
            default: break
            }
            var minimum = 1
            var maximum = 1
            if index < scalars.count {
                switch scalars[index] {
                case "*": (minimum, maximum, index) = (0, .max, index + 1)
                case "+": (minimum, maximum, index) = (1, .max, index + 1)
                case "?": (minimum, maximum, index) = (0, 1, index + 1)
                case "{":
                    guard let close = scalars[index...].firstIndex(of: "}") else {
                        throw field.malformed("the regular expression '\(regex)' has an unclosed '{'")
                    }
                    let bounds = String(String.UnicodeScalarView(scalars[(index + 1)..<close]))
                        .split(separator: ",", omittingEmptySubsequences: false)
                    guard (1...2).contains(bounds.count), let low = Int(bounds[0]), low >= 0, low <= 65_536 else {
                        throw field.malformed("the regular expression '\(regex)' has an invalid '{…}' quantifier")
                    }
                    minimum = low
                    if bounds.count == 1 {
                        maximum = low
                    } else if bounds[1].isEmpty {
                        maximum = .max
                    } else if let high = Int(bounds[1]), high >= low, high <= 65_536 {
                        maximum = high
                    } else {
                        throw field.malformed("the regular expression '\(regex)' has an invalid '{…}' quantifier")
                    }
                    index = close + 1
                default: break
                }
                if index < scalars.count, ["?", "+"].contains(scalars[index]), maximum != 1 || minimum != 1 {
                    throw unsupported("a lazy or possessive quantifier")
                }
            }
            atoms.append(Atom(scalar: scalar, minimum: minimum, maximum: maximum))
        }
        guard atoms.count <= Self.maximumAtoms else { throw unsupported("more than \(Self.maximumAtoms) characters") }
        guard atoms.contains(where: { $0.minimum > 0 }) else {
            throw unsupported("a pattern that can match an empty string")
        }
        self.atoms = atoms
    }

    /// The longest regular expression accepted, in characters.
    static let maximumAtoms = 64

    /// `text` with every leftmost, non-overlapping match replaced by `content`, as tokenizers' `Replace` does. An
    /// empty literal pattern replaces nothing.
    func replacingMatches(in text: String, with content: String) -> String {
        guard !atoms.isEmpty else { return text }
        let scalars = Array(text.unicodeScalars)
        // ends[atom * (count + 1) + position]: where the greedy match of atoms[atom...] from position ends; -1 for
        // no match, -2 not yet known. Each entry is computed once, so matching stays polynomial whatever the pattern.
        var ends = [Int](repeating: -2, count: (atoms.count + 1) * (scalars.count + 1))
        var output = String.UnicodeScalarView()
        var index = 0
        var copiedUpTo = 0
        while index < scalars.count {
            let end = match(scalars, at: index, atom: 0, ends: &ends)
            if end > index {
                output.append(contentsOf: scalars[copiedUpTo..<index])
                output.append(contentsOf: content.unicodeScalars)
                index = end
                copiedUpTo = end
            } else {
                index += 1
            }
        }
        output.append(contentsOf: scalars[copiedUpTo...])
        return String(output)
    }

    /// The end of the greedy match of `atoms[atom...]` starting at `start` (the first success when each quantifier
    /// tries its most repetitions first, as a backtracking engine finds it), or -1.
    private func match(_ scalars: [Unicode.Scalar], at start: Int, atom: Int, ends: inout [Int]) -> Int {
        guard atom < atoms.count else { return start }
        let slot = atom * (scalars.count + 1) + start
        if ends[slot] != -2 { return ends[slot] }
        let current = atoms[atom]
        var count = 0
        while count < current.maximum, start + count < scalars.count, scalars[start + count] == current.scalar {
            count += 1
        }
        var result = -1
        while count >= current.minimum {
            let end = match(scalars, at: start + count, atom: atom + 1, ends: &ends)
            if end >= 0 {
                result = end
                break
            }
            count -= 1
        }
        ends[slot] = result
        return result
    }
}
