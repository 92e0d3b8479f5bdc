/// A byte trie over a vocabulary's pieces, for the unigram lattice: from a position in a UTF-8 text it reports every
/// piece that starts there. Edges live in one dictionary keyed by (node, byte), which stays compact for UMT5's
/// 256 000 pieces.
struct PieceTrie: Sendable {
    private var edges: [Int: Int32] = [:]
    /// The piece id that ends at each node, or -1.
    private var ids: [Int32] = [-1]

    /// Inserts `piece` with `id`; inserting the same piece again replaces its id (the last one wins, as a
    /// dictionary built in vocabulary order would have it).
    mutating func insert<Piece: Collection<UInt8>>(_ piece: Piece, id: Int) {
        var node = 0
        for byte in piece {
            let key = node << 8 | Int(byte)
            if let child = edges[key] {
                node = Int(child)
            } else {
                ids.append(-1)
                let child = ids.count - 1
                edges[key] = Int32(child)
                node = child
            }
        }
        ids[node] = Int32(id)
    }

    /// Calls `body(length, id)` for each piece that is a prefix of `text[start...]`, shortest first.
    func forEachPrefix(of text: [UInt8], from start: Int, _ body: (Int, Int) -> Void) {
        var node = 0
        var position = start
        while position < text.count, let child = edges[node << 8 | Int(text[position])] {
            node = Int(child)
            position += 1
            if ids[node] >= 0 { body(position - start, Int(ids[node])) }
        }
    }

    /// The id of exactly `piece`, or nil.
    func id<Piece: Collection<UInt8>>(of piece: Piece) -> Int? {
        var node = 0
        for byte in piece {
            guard let child = edges[node << 8 | Int(byte)] else { return nil }
            node = Int(child)
        }
        return ids[node] >= 0 ? Int(ids[node]) : nil
    }
}

/// The length in bytes of the UTF-8 character that starts with `lead`, from its top four bits as SentencePiece's
/// `OneCharLen` reads it (a stray continuation byte counts as one).
func utf8CharacterLength(_ lead: UInt8) -> Int {
    switch lead >> 4 {
    case 0..<0xC: return 1
    case 0xC, 0xD: return 2
    case 0xE: return 3
    default: return 4
    }
}

/// SentencePiece's and tokenizers' name of a byte piece: `<0x41>`.
func bytePieceName(_ byte: UInt8) -> String {
    let hex = String(byte, radix: 16, uppercase: true)
    return "<0x\(hex.count == 1 ? "0" + hex : hex)>"
}
