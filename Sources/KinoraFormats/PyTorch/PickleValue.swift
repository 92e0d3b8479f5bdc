/// A value rebuilt by `PickleMachine`. Only data comes out of a pickle here: containers, numbers, strings, and the
/// tensors and storages that PyTorch's allow-listed rebuild functions describe. Lists and dicts are reference types, as
/// in Python, because a pickle may append to a list after storing it in the memo.
public indirect enum PickleValue: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer that does not fit in 64 bits, as its little-endian two's-complement bytes (pickle's LONG1 form).
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    case set(PickleList)
    /// An allow-listed global, referenced but never called (a storage type, a dtype, a rebuild function).
    case global(PickleGlobal)
    /// A storage named by a persistent id: where a tensor's bytes are.
    case storage(TorchStorageReference)
    case tensor(TorchTensorReference)
    /// A harmless object the allow-list builds but Kinora has no use for (a NumPy scalar or dtype).
    case opaque(String)

    /// A short name of the value's kind, for messages.
    public var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "a bool"
        case .int, .bigInt: return "an int"
        case .float: return "a float"
        case .string: return "a str"
        case .bytes: return "bytes"
        case .tuple: return "a tuple"
        case .list: return "a list"
        case .dict: return "a dict"
        case .set: return "a set"
        case .global(let global): return "the global \(global)"
        case .storage: return "a storage"
        case .tensor: return "a tensor"
        case .opaque(let name): return name
        }
    }
}

/// What the machine knows of a mutable container while it runs: how deeply it nests, and whether it has been placed
/// in another container (sealed). A sealed container is never changed again, so every container's depth is exact and
/// no container can contain itself: values stay trees of bounded depth, which Swift can release without exhausting
/// the stack.
public class PickleContainer: @unchecked Sendable {
    // Mutated only while the single-threaded machine runs; read-only once `PickleMachine.run` returns.
    var depth = 1
    var isSealed = false
}

/// A Python list (or set) built by a pickle.
public final class PickleList: PickleContainer, @unchecked Sendable {
    public internal(set) var items: [PickleValue] = []
}

/// A Python dict built by a pickle, keys in insertion order; a repeated key replaces the earlier value, as in Python.
public final class PickleDict: PickleContainer, @unchecked Sendable {
    public internal(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var indexByKey: [PickleKey: Int] = [:]

    func set(_ key: PickleValue, _ value: PickleValue) throws {
        guard let hashable = PickleKey(key) else {
            throw PickleMachine.Failure(
                reason: "a dict key must be a str, int, float, bool, None or bytes, not \(key.kind)")
        }
        if let index = indexByKey[hashable] {
            entries[index].value = value
        } else {
            indexByKey[hashable] = entries.count
            entries.append((key, value))
        }
    }
}

/// The dict keys Kinora accepts: the immutable scalars state dicts use. Strings compare by their UTF-8 bytes, as
/// Python compares them, not by Swift's canonical equivalence ("é" and "e\u{301}" are two keys).
enum PickleKey: Hashable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string([UInt8])
    case bytes([UInt8])

    init?(_ value: PickleValue) {
        switch value {
        case .none: self = .none
        case .bool(let flag): self = .bool(flag)
        case .int(let integer): self = .int(integer)
        case .float(let number): self = .float(number)
        case .string(let text): self = .string(Array(text.utf8))
        case .bytes(let bytes): self = .bytes(bytes)
        default: return nil
        }
    }
}

/// A `module.name` global a pickle refers to.
public struct PickleGlobal: Hashable, Sendable, CustomStringConvertible {
    public let module: String
    public let name: String

    public init(_ module: String, _ name: String) {
        self.module = module
        self.name = name
    }

    public var description: String { "\(module).\(name)" }
}
