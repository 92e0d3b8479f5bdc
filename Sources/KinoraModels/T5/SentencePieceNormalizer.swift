/// SentencePiece's own normalizer (`normalizer::Normalizer::Normalize`) for a `ModelProto`'s normalizer spec: the
/// longest charsmap rule at each position (user-defined pieces are matched first and kept as written), leading,
/// trailing and repeated spaces dropped when `remove_extra_whitespaces` is set, a `▁` dummy prefix when
/// `add_dummy_prefix` is set, and spaces written as `▁` when `escape_whitespaces` is set.
struct SentencePieceNormalizer: Sendable {
    let charsMap: PrecompiledCharsMap?
    let addDummyPrefix: Bool
    let removeExtraWhitespaces: Bool
    let escapeWhitespaces: Bool
    private let userDefined: PieceTrie
    private let hasUserDefined: Bool

    private static let spaceSymbol: [UInt8] = Array("\u{2581}".utf8)
    private static let replacementCharacter: [UInt8] = Array("\u{FFFD}".utf8)

    init(proto: SentencePieceModelProto, file: String) throws(T5TokenizerError) {
        guard !proto.treatWhitespaceAsSuffix else {
            throw .unsupported(
                file: file, field: "TrainerSpec.treat_whitespace_as_suffix",
                reason: "whitespace as a suffix; T5-family models put it in front")
        }
        charsMap =
            proto.precompiledCharsMap.isEmpty
            ? nil
            : try PrecompiledCharsMap(
                proto.precompiledCharsMap, file: file, field: "NormalizerSpec.precompiled_charsmap")
        addDummyPrefix = proto.addDummyPrefix
        removeExtraWhitespaces = proto.removeExtraWhitespaces
        escapeWhitespaces = proto.escapeWhitespaces
        var userDefined = PieceTrie()
        var hasUserDefined = false
        for (id, piece) in proto.pieces.enumerated() where piece.type == .userDefined {
            userDefined.insert(piece.piece.utf8, id: id)
            hasUserDefined = true
        }
        self.userDefined = userDefined
        self.hasUserDefined = hasUserDefined
    }

    /// The normalized UTF-8 bytes of `text`.
    func normalize(_ text: String) -> [UInt8] {
        let input = Array(text.utf8)
        var position = 0
        if removeExtraWhitespaces {
            while position < input.count {
                let (replacement, consumed) = normalizePrefix(input, at: position)
                guard replacement.elementsEqual([0x20]) else { break }
                position += consumed
            }
        }
        guard position < input.count else { return [] }
        let space = escapeWhitespaces ? Self.spaceSymbol : [0x20]
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 3)
        if addDummyPrefix { output += space }
        var previousIsSpace = removeExtraWhitespaces
        while position < input.count {
            let (replacement, consumed) = normalizePrefix(input, at: position)
            var piece = replacement[...]
            while previousIsSpace, piece.first == 0x20 { piece = piece.dropFirst() }
            if !piece.isEmpty {
                for byte in piece {
                    if escapeWhitespaces, byte == 0x20 { output += Self.spaceSymbol } else { output.append(byte) }
                }
                previousIsSpace = piece.last == 0x20
            }
            position += consumed
            if !removeExtraWhitespaces { previousIsSpace = false }
        }
        if removeExtraWhitespaces {
            while output.count >= space.count, output.suffix(space.count).elementsEqual(space) {
                output.removeLast(space.count)
            }
        }
        return output
    }

    /// `NormalizePrefix`: what the text at `position` becomes and how many bytes that consumes.
    private func normalizePrefix(_ input: [UInt8], at position: Int) -> (replacement: [UInt8], consumed: Int) {
        if hasUserDefined {
            var longest = 0
            userDefined.forEachPrefix(of: input, from: position) { length, _ in longest = length }
            if longest > 0 { return (Array(input[position..<position + longest]), longest) }
        }
        if let charsMap, let rule = charsMap.longestReplacement(input[position...]) {
            return (Array(rule.replacement.utf8), rule.length)
        }
        // Only a damaged charsmap (a key ending inside a character) leaves `position` inside one; SentencePiece then
        // writes U+FFFD and moves on by one byte.
        let length = min(utf8CharacterLength(input[position]), input.count - position)
        guard String(validating: input[position..<position + length], as: UTF8.self) != nil else {
            return (Self.replacementCharacter, 1)
        }
        return (Array(input[position..<position + length]), length)
    }
}
