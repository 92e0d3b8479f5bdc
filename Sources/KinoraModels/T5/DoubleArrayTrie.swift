/// A darts-clone double-array trie as SentencePiece stores it in a precompiled charsmap: 32-bit units, each holding a
/// label, an offset to its children and a has-leaf flag, or (for a leaf) a 31-bit value. The walk checks every unit
/// index, so a damaged array ends a search instead of reading past the end; a search never takes more steps than the
/// key has bytes.
struct DoubleArrayTrie: Sendable {
    let units: [UInt32]

    /// A key found by `commonPrefixSearch`: its length in bytes and its value.
    struct Match: Equatable {
        let length: Int
        let value: Int
    }

    private static func hasLeaf(_ unit: UInt32) -> Bool { (unit >> 8) & 1 == 1 }
    private static func value(_ unit: UInt32) -> Int { Int(unit & ((1 << 31) - 1)) }
    private static func label(_ unit: UInt32) -> UInt32 { unit & ((1 << 31) | 0xFF) }
    private static func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }

    /// Every key of the trie that is a prefix of `key`, shortest first, as darts-clone's `commonPrefixSearch` reports
    /// them. With `stopAtNUL` the walk ends at a zero byte, as tokenizers' port of it does.
    func commonPrefixSearch<Key: Collection<UInt8>>(_ key: Key, stopAtNUL: Bool = false) -> [Match] {
        var matches: [Match] = []
        guard let root = units.first else { return matches }
        var position = Self.offset(root)
        var length = 0
        for byte in key {
            if stopAtNUL, byte == 0 { break }
            position ^= Int(byte)
            guard position < units.count else { break }
            let unit = units[position]
            guard Self.label(unit) == UInt32(byte) else { break }
            position ^= Self.offset(unit)
            length += 1
            if Self.hasLeaf(unit) {
                guard position < units.count else { break }
                matches.append(Match(length: length, value: Self.value(units[position])))
            }
        }
        return matches
    }

    /// The value of every leaf any walk can reach: a walk only steps onto units whose label (bit 31 included)
    /// matches a byte, so only non-leaf units with the has-leaf flag lead to a value, and each of them is checked
    /// here, in one pass over the array. (darts-clone leaves unused units zero, so a well-formed trie has no other
    /// such units.) A value unit outside the array is reported, so the caller can refuse the file before any text
    /// is normalized with it.
    func leafValues() -> Result<Set<Int>, DoubleArrayTrieDamage> {
        var values = Set<Int>()
        for (position, unit) in units.enumerated() where unit & (1 << 31) == 0 && Self.hasLeaf(unit) {
            let child = position ^ Self.offset(unit)
            guard child < units.count else {
                return .failure(
                    DoubleArrayTrieDamage(
                        reason: "the value of trie node \(position) lies outside the \(units.count) units"))
            }
            values.insert(Self.value(units[child]))
        }
        return .success(values)
    }
}

/// Why a double-array trie cannot be used.
struct DoubleArrayTrieDamage: Error {
    let reason: String
}
