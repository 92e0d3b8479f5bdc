import Foundation

/// A content-addressed store of stage results on disk. Each entry is a folder named by its stage key holding the
/// files the stage wrote and a `manifest.json` (file names and sizes). Entries are written under a temporary name
/// and renamed into place only when complete, so a render killed mid-stage leaves nothing that looks finished and
/// resumes from the stages that were. A size limit evicts the least recently used entries.
///
/// Layout: `<root>/entries/<key>/` and `<root>/tmp/<key>.<pid>.<n>/` for entries being written.
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
    private var counter = 0

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

    /// Stores a stage's result: `write` fills a fresh folder, which becomes the entry for `key` only when `write`
    /// returns. If `write` throws, nothing is stored. Then the least recently used entries are evicted until the
    /// cache fits its limit (never the new one).
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
        if FileManager.default.fileExists(atPath: destination.path) {
            try? discard(destination)
        }
        guard rename(temporary.path, destination.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw Failure(path: destination.path, reason: "cannot move the finished entry into place: \(reason)")
        }
        guard var entry = readEntry(destination) else {
            throw Failure(path: destination.path, reason: "the entry just written cannot be read back")
        }
        entry.lastUsed = clock()
        touch(entry)
        evict(keeping: key)
        return entry
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
        lock.lock()
        counter += 1
        let name = "\(key).\(getpid()).\(counter)"
        lock.unlock()
        return temporaryFolder.appendingPathComponent(name)
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

    private func evict(keeping key: String) {
        guard let sizeLimit else { return }
        var all = entries()
        var total = all.reduce(0) { $0 + $1.bytes }
        while total > sizeLimit, let index = all.firstIndex(where: { $0.key != key }) {
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
