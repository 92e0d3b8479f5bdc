/// GPT-2/CLIP byte-level byte-pair encoding: a word's UTF-8 bytes are mapped to printable stand-in characters, the
/// last one gets CLIP's `</w>` end-of-word suffix, and the lowest-ranked adjacent pair is merged until no pair in
/// the merge list is left.
struct BytePairEncoding: Sendable {
    private struct Pair: Hashable {
        let first: String
        let second: String
    }

    /// OpenAI's `bytes_to_unicode`: printable Latin-1 bytes stand for themselves, the other 68 bytes map to U+0100
    /// onwards, so no byte becomes whitespace or a control character.
    static let byteCharacters: [String] = {
        let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var table = [String](repeating: "", count: 256)
        var next = 256
        for byte in 0..<256 {
            if printable.contains(byte) {
                table[byte] = String(Unicode.Scalar(UInt8(byte)))
            } else {
                table[byte] = String(Unicode.Scalar(UInt32(next))!)
                next += 1
            }
        }
        return table
    }()

    private let ranks: [Pair: Int]

    /// `merges` are the pairs in priority order (the lines of `merges.txt` after its `#version` header); as in
    /// transformers, a pair listed twice keeps its later rank.
    init(merges: [(String, String)]) {
        var ranks: [Pair: Int] = [:]
        ranks.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            ranks[Pair(first: merge.0, second: merge.1)] = rank
        }
        self.ranks = ranks
    }

    /// The BPE symbols of one pre-tokenized word.
    func encode(_ word: String) -> [String] {
        var symbols = Array(word.utf8).map { Self.byteCharacters[Int($0)] }
        guard !symbols.isEmpty else { return [] }
        symbols[symbols.count - 1] += "</w>"
        while symbols.count > 1 {
            var best: (rank: Int, pair: Pair)?
            for (first, second) in zip(symbols, symbols.dropFirst()) {
                let pair = Pair(first: first, second: second)
                if let rank = ranks[pair], rank < best?.rank ?? Int.max {
                    best = (rank, pair)
                }
            }
            guard let pair = best?.pair else { break }
            var merged: [String] = []
            merged.reserveCapacity(symbols.count)
            var index = 0
            while index < symbols.count {
                if index + 1 < symbols.count, symbols[index] == pair.first, symbols[index + 1] == pair.second {
                    merged.append(pair.first + pair.second)
                    index += 2
                } else {
                    merged.append(symbols[index])
                    index += 1
                }
            }
            symbols = merged
        }
        return symbols
    }
}
