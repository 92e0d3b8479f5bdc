import Foundation

/// A checkpoint written by `torch.save`, read without running any of it: the zip format (PyTorch 1.6 and later:
/// `<name>/data.pkl`, `<name>/data/<key>`, `<name>/byteorder`) or the legacy format before it (a pickle stream
/// followed by raw storages). The pickle is interpreted by `PickleMachine` with an allow-list of globals, so a file
/// that tries to run code is refused with the global's name. Tensors are exposed by dotted path through nested dicts
/// and lists (`generator.blocks.0.attn.q.weight`, `state_dict.…`); callers strip the prefixes their layout has.
/// Contiguous tensors are handed out straight from the mapping; strided views are gathered when asked for.
public final class PyTorchCheckpoint: WeightStore {
    /// Which of torch.save's formats the file uses.
    public enum Format: Sendable, Equatable {
        case zip
        case legacy
    }

    public let url: URL
    public let format: Format
    /// The unpickled object: usually a dict of tensors, or a dict of such dicts.
    public let root: PickleValue
    public let tensors: [String: TorchTensorReference]
    public let tensorNames: [String]
    private let mapping: MappedFile
    /// Each storage's bytes within the mapping.
    private let storageRanges: [String: Range<Int>]

    /// The legacy format's first pickle: this number as a LONG1.
    static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    /// The deepest nesting of dicts and lists searched for tensors.
    static let maximumDepth = 64

    public init(url: URL) throws {
        self.url = url
        mapping = try MappedFile(url: url)
        let bytes = mapping.bytes
        let file = url.path
        let loaded: (root: PickleValue, ranges: [String: Range<Int>])
        if ZipArchive.looksLikeZip(bytes) {
            format = .zip
            loaded = try Self.readZip(bytes, file: file)
        } else if bytes.first == 0x80 {
            format = .legacy
            loaded = try Self.readLegacy(bytes, file: file)
        } else if bytes.count >= 262, String(decoding: bytes[257..<262], as: UTF8.self) == "ustar" {
            throw PyTorchError.notACheckpoint(
                file: file,
                reason: "it is the tar format of PyTorch before 0.4, which Kinora does not read; "
                    + "load and save it again with a current torch, or convert it to safetensors")
        } else {
            throw PyTorchError.notACheckpoint(file: file, reason: "it is neither a zip archive nor a pickle")
        }
        root = loaded.root
        storageRanges = loaded.ranges
        tensors = try Self.collect(root, file: file)
        tensorNames = tensors.keys.sorted()
    }

    public var sourceName: String { url.path }

    public func info(_ name: String) throws -> WeightTensorInfo {
        let tensor = try reference(name)
        let byteCount = tensor.elementCount * tensor.dtype.size
        let range: Range<Int>
        if tensor.isContiguous, let storage = storageRanges[tensor.storage.key] {
            let start = storage.lowerBound + tensor.offset * tensor.dtype.size
            range = start..<(start + byteCount)
        } else {
            range = 0..<byteCount
        }
        return WeightTensorInfo(name: name, dtype: tensor.dtype, shape: tensor.shape, dataRange: range)
    }

    /// Calls `body` with the tensor's bytes in row-major order: a view of the mapping when the tensor is contiguous,
    /// a gathered copy when it is a strided view (e.g. a transposed weight saved as is).
    public func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        let tensor = try reference(name)
        guard let storage = storageRanges[tensor.storage.key] else {
            throw PyTorchError.storage(file: url.path, key: tensor.storage.key, reason: "no data for it")
        }
        let base = UnsafeRawBufferPointer(rebasing: mapping.bytes[storage])
        let size = tensor.dtype.size
        if tensor.isContiguous {
            let start = tensor.offset * size
            return try body(UnsafeRawBufferPointer(rebasing: base[start..<(start + tensor.elementCount * size)]))
        }
        var gathered = [UInt8](repeating: 0, count: tensor.elementCount * size)
        var index = [Int](repeating: 0, count: tensor.shape.count)
        gathered.withUnsafeMutableBytes { destination in
            for element in 0..<tensor.elementCount {
                var source = tensor.offset
                for axis in index.indices { source += index[axis] * tensor.strides[axis] }
                destination.baseAddress!.advanced(by: element * size)
                    .copyMemory(from: base.baseAddress!.advanced(by: source * size), byteCount: size)
                var axis = index.count - 1
                while axis >= 0 {
                    index[axis] += 1
                    if index[axis] < tensor.shape[axis] { break }
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
        return try gathered.withUnsafeBytes(body)
    }

    private func reference(_ name: String) throws -> TorchTensorReference {
        guard let tensor = tensors[name] else { throw WeightsError.missingTensor(file: url.path, tensor: name) }
        return tensor
    }

    // MARK: The zip format

    private static func readZip(_ bytes: UnsafeRawBufferPointer, file: String) throws
        -> (root: PickleValue, ranges: [String: Range<Int>])
    {
        let archive: ZipArchive
        do {
            archive = try ZipArchive(bytes: bytes)
        } catch let failure as ZipArchive.Failure {
            throw PyTorchError.archive(file: file, entry: failure.entry, reason: failure.reason)
        }
        let pickles = archive.names.filter { $0.hasSuffix("/data.pkl") && $0.split(separator: "/").count == 2 }
        guard pickles.count == 1, let pickleName = pickles.first, let pickle = archive.entries[pickleName] else {
            throw PyTorchError.notACheckpoint(
                file: file, reason: "a zip archive, but with \(pickles.count) '<name>/data.pkl' records instead of one")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        func stored(_ entry: ZipArchive.Entry) throws -> Range<Int> {
            do {
                return try archive.storedRange(of: entry)
            } catch let failure as ZipArchive.Failure {
                throw PyTorchError.archive(file: file, entry: failure.entry, reason: failure.reason)
            }
        }
        if let order = archive.entries[prefix + "byteorder"] {
            let text = String(decoding: bytes[try stored(order)], as: UTF8.self)
            guard text == "little" else {
                throw PyTorchError.notACheckpoint(file: file, reason: "its byte order is '\(text)', not little-endian")
            }
        }
        let pickleRange = try stored(pickle)
        let pickleBytes = UnsafeRawBufferPointer(rebasing: bytes[pickleRange])
        guard CRC32.checksum(pickleBytes) == pickle.crc32 else {
            throw PyTorchError.archive(
                file: file, entry: pickleName, reason: "its CRC-32 does not match; the file is damaged")
        }
        var ranges: [String: Range<Int>] = [:]
        var machine = PickleMachine(bytes: pickleBytes) { id in
            let storage = try storageReference(id, legacy: false)
            guard let entry = archive.entries[prefix + "data/" + storage.key] else {
                throw PickleMachine.Failure(reason: "storage '\(storage.key)' has no record data/\(storage.key)")
            }
            let range = try stored(entry)
            let expected = storage.elementCount.multipliedReportingOverflow(by: storage.dtype.size)
            guard !expected.overflow, range.count == expected.partialValue else {
                throw PickleMachine.Failure(
                    reason: "storage '\(storage.key)' declares \(storage.elementCount) \(storage.dtype.rawValue) "
                        + "elements but its record holds \(range.count) bytes")
            }
            ranges[storage.key] = range
            return .storage(storage)
        }
        do {
            return (try machine.run(), ranges)
        } catch let failure as PickleMachine.Failure {
            throw PyTorchError.pickle(file: file, record: pickleName, offset: failure.offset, reason: failure.reason)
        }
    }

    // MARK: The legacy format

    /// Magic number, protocol version and system info pickles; the object pickle; the list of storage keys; then each
    /// storage as an 8-byte element count and its raw little-endian elements.
    private static func readLegacy(_ bytes: UnsafeRawBufferPointer, file: String) throws
        -> (root: PickleValue, ranges: [String: Range<Int>])
    {
        var position = 0
        var storages: [String: TorchStorageReference] = [:]
        func unpickle(_ record: String) throws -> PickleValue {
            var machine = PickleMachine(bytes: bytes, start: position) { id in
                let storage = try storageReference(id, legacy: true)
                if let known = storages[storage.key], known != storage {
                    throw PickleMachine.Failure(reason: "storage '\(storage.key)' is described in two ways")
                }
                storages[storage.key] = storage
                return .storage(storage)
            }
            do {
                let value = try machine.run()
                position = machine.end
                return value
            } catch let failure as PickleMachine.Failure {
                throw PyTorchError.pickle(file: file, record: record, offset: failure.offset, reason: failure.reason)
            }
        }
        guard case .bigInt(let magic) = try unpickle("the magic number"), magic == legacyMagic else {
            throw PyTorchError.notACheckpoint(file: file, reason: "a pickle, but not one written by torch.save")
        }
        guard case .int(1001) = try unpickle("the protocol version") else {
            throw PyTorchError.notACheckpoint(file: file, reason: "an unknown legacy protocol version")
        }
        if case .dict(let info) = try unpickle("the system info"),
            let order = info.entries.first(where: { if case .string("little_endian") = $0.key { true } else { false } }
            ),
            case .bool(false) = order.value
        {
            throw PyTorchError.notACheckpoint(file: file, reason: "it was written on a big-endian machine")
        }
        let root = try unpickle("the object pickle")
        guard case .list(let keyList) = try unpickle("the storage key list") else {
            throw PyTorchError.pickle(
                file: file, record: "the storage key list", offset: nil, reason: "it is not a list")
        }
        var ranges: [String: Range<Int>] = [:]
        for item in keyList.items {
            guard case .string(let key) = item else {
                throw PyTorchError.storage(file: file, key: item.kind, reason: "a storage key must be a str")
            }
            guard let storage = storages[key] else {
                throw PyTorchError.storage(file: file, key: key, reason: "listed after the pickle but never used by it")
            }
            guard bytes.count - position >= 8 else {
                throw PyTorchError.storage(file: file, key: key, reason: "the file ends before its size")
            }
            let count = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
            position += 8
            guard count == UInt64(storage.elementCount) else {
                throw PyTorchError.storage(
                    file: file, key: key,
                    reason: "the pickle declares \(storage.elementCount) elements but the data \(count)")
            }
            let (byteCount, overflow) = storage.elementCount.multipliedReportingOverflow(by: storage.dtype.size)
            guard !overflow, byteCount <= bytes.count - position else {
                throw PyTorchError.storage(file: file, key: key, reason: "the file ends inside its \(byteCount) bytes")
            }
            ranges[key] = position..<(position + byteCount)
            position += byteCount
        }
        for key in storages.keys where ranges[key] == nil {
            throw PyTorchError.storage(file: file, key: key, reason: "used by the pickle but its data is missing")
        }
        return (root, ranges)
    }

    // MARK: Shared

    /// The storage a persistent id names: `('storage', StorageType, key, location, numel[, view_metadata])`.
    private static func storageReference(_ id: PickleValue, legacy: Bool) throws -> TorchStorageReference {
        guard case .tuple(let fields) = id, fields.count >= 5, case .string("storage") = fields[0],
            case .global(let type) = fields[1], case .string(let key) = fields[2], case .int(let count) = fields[4]
        else {
            throw PickleMachine.Failure(reason: "a persistent id that is not ('storage', type, key, location, numel)")
        }
        guard let dtype = WeightDType(torchStorage: type.name) else {
            throw PickleMachine.Failure(reason: "storage type \(type) is not supported")
        }
        guard count >= 0 else { throw PickleMachine.Failure(reason: "storage '\(key)' has a negative size") }
        if legacy, fields.count >= 6, !isNone(fields[5]) {
            throw PickleMachine.Failure(reason: "storage views of legacy checkpoints are not supported")
        }
        return TorchStorageReference(key: key, dtype: dtype, elementCount: count)
    }

    private static func isNone(_ value: PickleValue) -> Bool {
        if case .none = value { return true }
        return false
    }

    /// The most values `collect` visits: a bound on the time a pickle of shared tuples (whose paths multiply) can take.
    static let maximumVisits = 10_000_000

    /// Every tensor under `value`, named by the dotted path of dict keys and list indices that leads to it. A list or
    /// dict reached twice (the pickle's memo shares it) is named by its first path only.
    private static func collect(_ root: PickleValue, file: String) throws -> [String: TorchTensorReference] {
        var tensors: [String: TorchTensorReference] = [:]
        var seen = Set<ObjectIdentifier>()
        var visits = 0
        var pending: [(value: PickleValue, path: String, depth: Int)] = [(root, "", 0)]
        while let (value, path, depth) = pending.popLast() {
            visits += 1
            guard visits <= maximumVisits else {
                throw PyTorchError.notACheckpoint(file: file, reason: "more than \(maximumVisits) values to search")
            }
            guard depth <= maximumDepth else {
                throw PyTorchError.notACheckpoint(
                    file: file, reason: "containers nest deeper than \(maximumDepth) levels")
            }
            func child(_ name: String) -> String { path.isEmpty ? name : path + "." + name }
            var children: [(PickleValue, String)] = []
            switch value {
            case .tensor(let tensor):
                guard tensors.updateValue(tensor, forKey: path) == nil else {
                    throw PyTorchError.duplicateName(file: file, name: path)
                }
            case .dict(let dict):
                guard seen.insert(ObjectIdentifier(dict)).inserted else { continue }
                for (key, item) in dict.entries {
                    switch key {
                    case .string(let text): children.append((item, child(text)))
                    case .int(let integer): children.append((item, child(String(integer))))
                    default: continue
                    }
                }
            case .list(let list):
                guard seen.insert(ObjectIdentifier(list)).inserted else { continue }
                children = list.items.enumerated().map { ($0.element, child(String($0.offset))) }
            case .tuple(let items):
                children = items.enumerated().map { ($0.element, child(String($0.offset))) }
            default:
                continue
            }
            pending.append(contentsOf: children.reversed().map { ($0.0, $0.1, depth + 1) })
        }
        return tensors
    }
}
