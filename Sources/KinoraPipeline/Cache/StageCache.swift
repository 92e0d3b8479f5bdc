import Foundation

/// A content-addressed store of stage results on disk. Each entry is a folder named by its stage key holding the
/// files the stage wrote and a `manifest.json` (file names and sizes). Entries are written under a temporary name
/// and renamed into place only when complete, so a render killed mid-stage leaves nothing that looks finished and
/// resumes from the stages that were. A size limit evicts the least recently used entries, except those a render
/// in this process has pinned. Several processes may share one cache: keys are content addresses, so when two
/// store the same key the first entry stays and the second writer uses it.
///
/// Layout: `<root>/entries/<key>/` and `<root>/tmp/<key>.<pid>.<uuid>/` for entries being written.
public final class StageCache: @unchecked Sendable {
    /// A finished entry.
    public struct Entry: Sendable, Hashable {
        public var key: String
        /// The folder holding the stage's files.
        public var folder: URL
        /// Bytes of the stage's files.
        public var bytes: UInt64
        /// When the entry was last written or read (drives LRU eviction).
        public var lastUsed: Date
    }

    /// Why the cache failed.
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "stage cache \(path): \(reason)" }
    }

    public let root: URL
    /// Total bytes the entries may take; nil: unlimited.
    public let sizeLimit: UInt64?
    private let clock: @Sendable () -> Date
    private let lock = NSRecursiveLock()
    /// How many times each key is pinned (renders in this process that need the entry).
    private var pins: [String: Int] = [:]

    static let manifestName = "manifest.json"

    /// Opens (creating if needed) the cache at `root`. Leftover temporary folders of processes that no longer run
    /// are removed. `clock` stamps entries' use times (injectable for tests).
    public init(root: URL, sizeLimit: UInt64? = nil, clock: @escaping @Sendable () -> Date = { Date() }) throws {
        self.root = root
        self.sizeLimit = sizeLimit
        self.clock = clock
        for folder in [entriesFolder, temporaryFolder] {
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw Failure(path: folder.path, reason: error.localizedDescription)
            }
        }
        removeAbandonedTemporaries()
    }

    /// The default cache folder: `$XDG_CACHE_HOME/kinora`, else `~/.cache/kinora`.
    public static func defaultFolder(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("kinora")
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/kinora")
    }

    private var entriesFolder: URL { root.appendingPathComponent("entries") }
    private var temporaryFolder: URL { root.appendingPathComponent("tmp") }

    /// The finished entry for `key`, marking it used; nil when there is none or it is damaged.
    public func lookup(_ key: String) -> Entry? {
        lock.lock()
        defer { lock.unlock() }
        guard var entry = readEntry(entriesFolder.appendingPathComponent(key)) else { return nil }
        entry.lastUsed = clock()
        touch(entry)
        return entry
    }

    /// Keeps the entries for `keys` (present now or stored later) from eviction until they are unpinned: a render
    /// pins every key it looks up or produces, so its own results stay while later stages read them.
    public func pin(_ keys: some Sequence<String>) {
        lock.lock()
        defer { lock.unlock() }
        for key in keys { pins[key, default: 0] += 1 }
    }

    /// Undoes one `pin` of each of `keys`; an entry becomes evictable when no pin is left.
    public func unpin(_ keys: some Sequence<String>) {
        lock.lock()
        defer { lock.unlock() }
        for key in keys {
            guard let count = pins[key] else { continue }
            pins[key] = count > 1 ? count - 1 : nil
        }
    }

    /// Evicts the least recently used unpinned entries until the cache fits its limit (a render calls it when it
    /// ends, once its entries are unpinned).
    public func trim() {
        lock.lock()
        defer { lock.unlock() }
        evict(keeping: nil)
    }

    /// Stores a stage's result: `write` fills a fresh folder, which becomes the entry for `key` only when `write`
    /// returns. If `write` throws, nothing is stored. If a valid entry for `key` appeared meanwhile (another
    /// process stored it), that entry is kept and returned and the new files are dropped. Then the least recently
    /// used unpinned entries are evicted until the cache fits its limit (never the new one).
    @discardableResult
    public func store(_ key: String, write: (URL) throws -> Void) throws -> Entry {
        let temporary = makeTemporaryFolder(for: key)
        do {
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
            try write(temporary)
            try writeManifest(in: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        lock.lock()
        defer { lock.unlock() }
        let destination = entriesFolder.appendingPathComponent(key)
        guard var entry = try moveIntoPlace(temporary, destination) else {
            throw Failure(path: destination.path, reason: "the entry just written cannot be read back")
        }
        entry.lastUsed = clock()
        touch(entry)
        evict(keeping: key)
        return entry
    }

    /// Renames the finished `temporary` folder to `destination` and reads the entry there. A valid entry already at
    /// `destination` (a concurrent writer's) is never replaced: it is returned and `temporary` removed. A damaged
    /// one is discarded first.
    private func moveIntoPlace(_ temporary: URL, _ destination: URL) throws -> Entry? {
        for _ in 0..<2 {
            if rename(temporary.path, destination.path) == 0 { return readEntry(destination) }
            let code = errno
            guard code == ENOTEMPTY || code == EEXIST else {
                try? FileManager.default.removeItem(at: temporary)
                throw Failure(path: destination.path,
                              reason: "cannot move the finished entry into place: \(String(cString: strerror(code)))")
            }
            if let existing = readEntry(destination) {
                try? FileManager.default.removeItem(at: temporary)
                return existing
            }
            try? discard(destination)
        }
        try? FileManager.default.removeItem(at: temporary)
        throw Failure(path: destination.path, reason: "cannot move the finished entry into place: another writer "
                      + "keeps a damaged entry there")
    }

    /// Every finished entry, least recently used first.
    public func entries() -> [Entry] {
        let folders = (try? FileManager.default.contentsOfDirectory(at: entriesFolder,
                                                                    includingPropertiesForKeys: nil)) ?? []
        return folders.compactMap(readEntry).sorted { ($0.lastUsed, $0.key) < ($1.lastUsed, $1.key) }
    }

    /// Bytes of all finished entries.
    public var totalBytes: UInt64 { entries().reduce(0) { $0 + $1.bytes } }

    /// Removes every entry.
    public func clear() throws {
        lock.lock()
        defer { lock.unlock() }
        for entry in entries() { try discard(entry.folder) }
    }

    /// A fresh, empty folder inside the cache (so results can be moved into entries without copying), removed
    /// with the other leftovers if its process dies; the caller removes it when done.
    public func makeWorkFolder() -> URL {
        let folder = makeTemporaryFolder(for: "work")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    private func makeTemporaryFolder(for key: String) -> URL {
        // Unique across processes and across caches open on the same folder in one process.
        temporaryFolder.appendingPathComponent("\(key).\(getpid()).\(UUID().uuidString)")
    }

    /// Removes `folder` by renaming it away first, so a reader never sees half of it.
    private func discard(_ folder: URL) throws {
        let trash = makeTemporaryFolder(for: "discard-" + folder.lastPathComponent)
        if rename(folder.path, trash.path) == 0 {
            try FileManager.default.removeItem(at: trash)
        }
    }

    /// The manifest: every file of the entry with its size.
    private struct Manifest: Codable {
        var files: [String: UInt64]
    }

    private func writeManifest(in folder: URL) throws {
        var files: [String: UInt64] = [:]
        let prefix = folder.standardizedFileURL.path + "/"
        if let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) {
            for case let file as URL in enumerator {
                let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
                guard attributes[.type] as? FileAttributeType == .typeRegular else { continue }
                let size = (attributes[.size] as? NSNumber)?.uint64Value ?? 0
                files[String(file.standardizedFileURL.path.dropFirst(prefix.count))] = size
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(Manifest(files: files)).write(to: folder.appendingPathComponent(Self.manifestName))
    }

    /// The entry in `folder` when its manifest is present and every file it lists has the listed size.
    private func readEntry(_ folder: URL) -> Entry? {
        let manifestURL = folder.appendingPathComponent(Self.manifestName)
        guard let data = try? Data(contentsOf: manifestURL),
              let manifest = try? JSONDecoder().decode(Manifest.self, from: data),
              let attributes = try? FileManager.default.attributesOfItem(atPath: manifestURL.path) else { return nil }
        for (name, size) in manifest.files {
            let path = folder.appendingPathComponent(name).path
            guard let fileAttributes = try? FileManager.default.attributesOfItem(atPath: path),
                  (fileAttributes[.size] as? NSNumber)?.uint64Value == size else { return nil }
        }
        return Entry(key: folder.lastPathComponent, folder: folder, bytes: manifest.files.values.reduce(0, +),
                     lastUsed: attributes[.modificationDate] as? Date ?? .distantPast)
    }

    /// Records the entry's use time as its manifest's modification time.
    private func touch(_ entry: Entry) {
        let manifest = entry.folder.appendingPathComponent(Self.manifestName).path
        try? FileManager.default.setAttributes([.modificationDate: entry.lastUsed], ofItemAtPath: manifest)
    }

    /// Evicts least recently used entries, never `key` nor a pinned one, until the cache fits its limit.
    private func evict(keeping key: String?) {
        guard let sizeLimit else { return }
        var all = entries()
        var total = all.reduce(0) { $0 + $1.bytes }
        while total > sizeLimit, let index = all.firstIndex(where: { $0.key != key && pins[$0.key] == nil }) {
            let victim = all.remove(at: index)
            try? discard(victim.folder)
            total -= victim.bytes
        }
    }

    /// Temporary folders whose writer process has ended: the leftovers of killed renders.
    private func removeAbandonedTemporaries() {
        let folders = (try? FileManager.default.contentsOfDirectory(at: temporaryFolder,
                                                                    includingPropertiesForKeys: nil)) ?? []
        for folder in folders {
            let parts = folder.lastPathComponent.split(separator: ".")
            guard parts.count >= 3, let pid = Int32(parts[parts.count - 2]) else { continue }
            if pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
                try? FileManager.default.removeItem(at: folder)
            }
        }
    }
}
