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

    /// The value of every leaf reachable from the root, found by trying each byte label under each node. darts-clone
    /// shares common suffixes between keys, so a node may be reached along several paths; each is expanded once, so
    /// the walk ends after at most 256 steps per unit whatever the array holds. A leaf whose value unit lies outside
    /// the array is reported, so the caller can refuse the file before any text is normalized with it.
    func reachableValues() -> Result<Set<Int>, DoubleArrayTrieDamage> {
        guard let root = units.first else { return .success([]) }
        var values = Set<Int>()
        var expanded = [Bool](repeating: false, count: units.count)
        expanded[0] = true
        var stack = [Self.offset(root)]
        while let base = stack.popLast() {
            for byte in 0...255 {
                let position = base ^ byte
                guard position < units.count, !expanded[position] else { continue }
                let unit = units[position]
                guard Self.label(unit) == UInt32(byte) else { continue }
                expanded[position] = true
                let child = position ^ Self.offset(unit)
                if Self.hasLeaf(unit) {
                    guard child < units.count else {
                        return .failure(
                            DoubleArrayTrieDamage(
                                reason: "the value of trie node \(position) lies outside the \(units.count) units"))
                    }
                    values.insert(Self.value(units[child]))
                }
                stack.append(child)
            }
        }
        return .success(values)
    }
}

/// Why a double-array trie cannot be used.
struct DoubleArrayTrieDamage: Error {
    let reason: String
}
