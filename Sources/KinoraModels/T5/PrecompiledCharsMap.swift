/// SentencePiece's precompiled normalization rules (`precompiled_charsmap`, e.g. `nmt_nfkc`): a little-endian `UInt32`
/// byte size of a darts-clone trie, the trie, then NUL-terminated replacement strings the trie's values point into.
/// Every leaf of the trie is checked when loading, so a value outside the strings, a replacement that is not UTF-8, or
/// a leaf outside the trie is refused before any text is normalized.
struct PrecompiledCharsMap: Sendable {
    /// The largest charsmap accepted (`nmt_nfkc` is about 240 KB).
    static let maximumSize = 4 << 20

    private let trie: DoubleArrayTrie
    /// Replacement text by trie value (an offset into the strings).
    private let replacements: [Int: String]

    init(_ blob: [UInt8], file: String, field: String) throws(T5TokenizerError) {
        func damaged(_ reason: String) -> T5TokenizerError { .malformed(file: file, field: field, reason: reason) }
        guard blob.count <= Self.maximumSize else {
            throw damaged("the charsmap holds \(blob.count) bytes, more than \(Self.maximumSize)")
        }
        guard blob.count > 4 else { throw damaged("the charsmap is shorter than its 4-byte header") }
        let trieSize = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        guard trieSize <= blob.count - 4, trieSize % 4 == 0 else {
            throw damaged("the trie size \(trieSize) does not fit the \(blob.count - 4) bytes after the header")
        }
        var units = [UInt32](repeating: 0, count: trieSize / 4)
        for index in units.indices {
            let at = 4 + 4 * index
            units[index] =
                UInt32(blob[at]) | UInt32(blob[at + 1]) << 8 | UInt32(blob[at + 2]) << 16
                | UInt32(blob[at + 3]) << 24
        }
        let strings = blob[(4 + trieSize)...]
        trie = DoubleArrayTrie(units: units)
        let values: Set<Int>
        switch trie.leafValues() {
        case .success(let found): values = found
        case .failure(let damage): throw damaged(damage.reason)
        }
        var replacements: [Int: String] = [:]
        for value in values {
            let start = strings.startIndex + value
            guard value < strings.count, let end = strings[start...].firstIndex(of: 0) else {
                throw damaged("a trie value (\(value)) does not point at a NUL-terminated string")
            }
            guard let text = String(validating: strings[start..<end], as: UTF8.self) else {
                throw damaged("the replacement at \(value) is not valid UTF-8")
            }
            replacements[value] = text
        }
        self.replacements = replacements
    }

    /// tokenizers' `Precompiled::transform`: the replacement of the *shortest* key that is a prefix of `chunk` (a
    /// grapheme or one character), the walk ending at a NUL byte, or nil when no key is.
    func shortestReplacement<Chunk: Collection<UInt8>>(_ chunk: Chunk) -> String? {
        guard let first = trie.commonPrefixSearch(chunk, stopAtNUL: true).first else { return nil }
        return replacements[first.value]
    }

    /// SentencePiece's `Normalizer::NormalizePrefix` rule lookup: the longest key that is a prefix of `text`, as its
    /// length in bytes (which a damaged map may end inside a character) and its replacement, or nil when no key is.
    func longestReplacement<Text: Collection<UInt8>>(_ text: Text) -> (length: Int, replacement: String)? {
        guard let longest = trie.commonPrefixSearch(text).last, let replacement = replacements[longest.value] else {
            return nil
        }
        return (longest.length, replacement)
    }
}
