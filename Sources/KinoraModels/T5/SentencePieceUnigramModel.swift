/// The unigram model of a SentencePiece `ModelProto`, segmenting as `sentencepiece`'s `Model::EncodeOptimized` and
/// `PopulateSentencePieceText` do: only normal, user-defined and unused pieces are in the lattice (unused ones are
/// skipped), scores are `float` with the sums compared in `double` as the C++ code does, a user-defined piece scores
/// `length × max_score − 0.1` so it is always chosen, a character no piece covers scores `min_score − 10` over the
/// normal pieces, consecutive unknown pieces become one `<unk>`, and with byte fallback an unknown piece becomes its
/// UTF-8 bytes as `<0xXX>` pieces.
struct SentencePieceUnigramModel: Sendable {
    let proto: SentencePieceModelProto
    let unknownID: Int
    private let trie: PieceTrie
    private let scores: [Float]
    private let types: [SentencePieceModelProto.PieceType]
    private let minimumScore: Float
    private let maximumScore: Float
    private let bytePieceIDs: [Int]

    /// Checks the pieces as `ModelInterface::InitializePieces` does: no duplicates, exactly one unknown piece, byte
    /// pieces only with byte fallback, and then all 256 of them.
    init(proto: SentencePieceModelProto, file: String) throws(T5TokenizerError) {
        guard proto.modelType == .unigram else {
            throw .unsupported(
                file: file, field: "TrainerSpec.model_type",
                reason: "a \(proto.modelType) model; T5-family tokenizers are unigram models")
        }
        var trie = PieceTrie()
        var seen = Set<String>()
        var unknownID: Int?
        var byteIDs = [Int](repeating: -1, count: 256)
        var minimumScore = Float.greatestFiniteMagnitude
        // SentencePiece starts the maximum at FLT_MIN, the smallest positive float.
        var maximumScore = Float.leastNormalMagnitude
        for (id, piece) in proto.pieces.enumerated() {
            let field = "ModelProto.pieces[\(id)]"
            guard seen.insert(piece.piece).inserted else {
                throw .malformed(file: file, field: field, reason: "'\(piece.piece)' is already defined")
            }
            switch piece.type {
            case .normal, .userDefined, .unused:
                trie.insert(piece.piece.utf8, id: id)
            case .unknown:
                guard unknownID == nil else {
                    throw .malformed(file: file, field: field, reason: "a second unknown piece")
                }
                unknownID = id
            case .byte:
                guard proto.byteFallback else {
                    throw .malformed(
                        file: file, field: field,
                        reason: "byte piece '\(piece.piece)' although byte_fallback is false")
                }
                guard let byte = (0..<256).first(where: { bytePieceName(UInt8($0)) == piece.piece }) else {
                    throw .malformed(file: file, field: field, reason: "'\(piece.piece)' is not a byte piece")
                }
                byteIDs[byte] = id
            case .control:
                break
            }
            if piece.type == .normal {
                minimumScore = min(minimumScore, piece.score)
                maximumScore = max(maximumScore, piece.score)
            }
        }
        guard let unknownID else {
            throw .malformed(file: file, field: "ModelProto.pieces", reason: "no piece has the type UNKNOWN")
        }
        if proto.byteFallback, byteIDs.contains(-1) {
            throw .malformed(
                file: file, field: "ModelProto.pieces",
                reason: "byte_fallback is true but not all 256 byte pieces are present")
        }
        self.proto = proto
        self.unknownID = unknownID
        self.trie = trie
        scores = proto.pieces.map(\.score)
        types = proto.pieces.map(\.type)
        self.minimumScore = minimumScore
        self.maximumScore = maximumScore
        bytePieceIDs = byteIDs
    }

    /// The ids of a normalized text (SentencePiece's whole normalized sentence, `▁` for spaces).
    func ids(_ normalized: [UInt8]) -> [Int] {
        var ids: [Int] = []
        var previousIsUnknown = false
        for (range, id) in segments(normalized) {
            let isUnknown = id == unknownID
            if isUnknown, proto.byteFallback {
                ids += normalized[range].map { bytePieceIDs[Int($0)] }
            } else if !(isUnknown && previousIsUnknown) {
                ids.append(id)
            }
            previousIsUnknown = isUnknown
        }
        return ids
    }

    private func segments(_ text: [UInt8]) -> [(Range<Int>, Int)] {
        guard !text.isEmpty else { return [] }
        struct Node {
            var id = -1
            var score: Float = 0
            var start = -1
        }
        let unknownScore = minimumScore - 10
        var best = [Node](repeating: Node(), count: text.count + 1)
        var start = 0
        while start < text.count {
            let scoreHere = best[start].score
            let characterLength = min(utf8CharacterLength(text[start]), text.count - start)
            var coversCharacter = false
            trie.forEachPrefix(of: text, from: start) { length, id in
                if types[id] == .unused { return }
                let score: Double =
                    types[id] == .userDefined ? Double(Float(length) * maximumScore) - 0.1 : Double(scores[id])
                let candidate = score + Double(scoreHere)
                let end = start + length
                if best[end].start < 0 || candidate > Double(best[end].score) {
                    best[end] = Node(id: id, score: Float(candidate), start: start)
                }
                if length == characterLength { coversCharacter = true }
            }
            if !coversCharacter {
                let candidate = unknownScore + scoreHere
                let end = start + characterLength
                if best[end].start < 0 || candidate > best[end].score {
                    best[end] = Node(id: unknownID, score: candidate, start: start)
                }
            }
            start += characterLength
        }
        var result: [(Range<Int>, Int)] = []
        var end = text.count
        while end > 0 {
            let node = best[end]
            result.append((node.start..<end, node.id))
            end = node.start
        }
        return result.reversed()
    }
}
