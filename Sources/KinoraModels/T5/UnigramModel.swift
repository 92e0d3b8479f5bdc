/// The `Unigram` model of a `tokenizer.json`, segmenting as Hugging Face tokenizers' `Unigram::encode_optimized` does:
/// a Viterbi pass over UTF-8 byte positions with `f64` scores, every vocabulary entry (special ones included) in the
/// lattice, a character no piece covers scored as `min_score − 10` (the lowest score of the whole vocabulary), runs of
/// unknown characters fused into one token, then each token looked up by its text, and with `byte_fallback` an unknown
/// token spelled as `<0xXX>` pieces when all of them exist.
struct UnigramModel: Sendable {
    let scores: [Double]
    let unknownID: Int
    let byteFallback: Bool
    private let trie: PieceTrie
    private let unknownScore: Double

    /// The penalty below the lowest piece score given to a character no piece covers (`K_UNK_PENALTY`).
    static let unknownPenalty = 10.0

    /// `vocabulary` in id order; `unknownID` must index it. A piece listed twice keeps its last id and score.
    init(vocabulary: [(piece: String, score: Double)], unknownID: Int, byteFallback: Bool) {
        precondition(vocabulary.indices.contains(unknownID))
        scores = vocabulary.map(\.score)
        self.unknownID = unknownID
        self.byteFallback = byteFallback
        var trie = PieceTrie()
        for (id, entry) in vocabulary.enumerated() {
            trie.insert(entry.piece.utf8, id: id)
        }
        self.trie = trie
        unknownScore = (scores.min() ?? 0) - Self.unknownPenalty
    }

    /// The id of exactly `piece`, or nil.
    func id(of piece: String) -> Int? {
        trie.id(of: piece.utf8)
    }

    /// The ids of one pre-tokenized word.
    func ids(_ word: String) -> [Int] {
        let text = Array(word.utf8)
        var ids: [Int] = []
        for range in segments(text) {
            let token = text[range]
            if let id = trie.id(of: token) {
                ids.append(id)
            } else if byteFallback, case let bytes = token.map({ trie.id(of: bytePieceName($0).utf8) }),
                !bytes.contains(nil)
            {
                ids += bytes.map { $0! }
            } else {
                ids.append(unknownID)
            }
        }
        return ids
    }

    /// The best segmentation of `text` as byte ranges, consecutive unknown characters fused into one range.
    private func segments(_ text: [UInt8]) -> [Range<Int>] {
        guard !text.isEmpty else { return [] }
        struct Node {
            var id = -1
            var score = 0.0
            var start = -1
        }
        var best = [Node](repeating: Node(), count: text.count + 1)
        var start = 0
        while start < text.count {
            let scoreHere = best[start].score
            let characterLength = min(utf8CharacterLength(text[start]), text.count - start)
            var coversCharacter = false
            trie.forEachPrefix(of: text, from: start) { length, id in
                let candidate = scores[id] + scoreHere
                if best[start + length].start < 0 || candidate > best[start + length].score {
                    best[start + length] = Node(id: id, score: candidate, start: start)
                }
                if length == characterLength { coversCharacter = true }
            }
            if !coversCharacter {
                let candidate = unknownScore + scoreHere
                if best[start + characterLength].start < 0 || candidate > best[start + characterLength].score {
                    best[start + characterLength] = Node(id: unknownID, score: candidate, start: start)
                }
            }
            start += characterLength
        }
        var ranges: [Range<Int>] = []
        var end = text.count
        var fusedUnknownEnd: Int?
        while end > 0 {
            let node = best[end]
            if node.id == unknownID {
                fusedUnknownEnd = fusedUnknownEnd ?? end
            } else {
                if let unknownEnd = fusedUnknownEnd {
                    ranges.append(end..<unknownEnd)
                    fusedUnknownEnd = nil
                }
                ranges.append(node.start..<end)
            }
            end = node.start
        }
        if let unknownEnd = fusedUnknownEnd {
            ranges.append(0..<unknownEnd)
        }
        return ranges.reversed()
    }
}
