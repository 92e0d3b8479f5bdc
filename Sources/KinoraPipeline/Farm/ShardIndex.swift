/// Which share of a farmed render one process runs: the `index`-th (from 1) of `count`, as `--shard 2/4` writes it.
public struct ShardIndex: Sendable, Hashable, Codable, CustomStringConvertible {
    /// From 1 to `count`.
    public let index: Int
    public let count: Int

    /// Throws `FarmError.invalidShard` unless 1 ≤ `index` ≤ `count`.
    public init(index: Int, count: Int) throws {
        let text = "\(index)/\(count)"
        guard count >= 1 else { throw FarmError.invalidShard(text, reason: "the shard count must be at least 1") }
        guard (1...count).contains(index) else {
            throw FarmError.invalidShard(text, reason: "the shard number counts from 1 to \(count)")
        }
        self.index = index
        self.count = count
    }

    /// Parses `I/N` (`2/4`); throws `FarmError.invalidShard` for anything else or an index out of range.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw FarmError.invalidShard(text, reason: "write it as I/N, such as 2/4 for the second of four")
        }
        try self.init(index: index, count: count)
    }

    /// Decodes `{"index": 2, "count": 4}`, checked like `init(index:count:)`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(index: container.decode(Int.self, forKey: .index),
                      count: container.decode(Int.self, forKey: .count))
    }

    public var description: String { "\(index)/\(count)" }

    /// The shard's file name stem in the farm folder: `shard-2-of-4`.
    public var fileStem: String { "shard-\(index)-of-\(count)" }
}
