import Foundation
import KinoraMedia

/// A content-addressed store of stage results on disk. Each entry is a folder named by its stage key holding the
/// files the stage wrote and a `manifest.json` (file names and sizes). Entries are written under a temporary name
/// and renamed into place only when complete, so a render killed mid-stage leaves nothing that looks finished and
/// resumes from the stages that were. A lookup checks the entry against its manifest (names and sizes, which is
/// cheap) and removes an entry that does not match, so a cache damaged from outside heals instead of failing every
/// render. A size limit evicts the least recently used entries, except those a render in this process has pinned.
/// Several processes may share one cache: keys are content addresses, so when two store the same key the first entry
/// stays and the second writer uses it. Nothing outside the cache's root is ever removed: a key is one path
/// component.
///
/// Layout: `<root>/entries/<key>/` and `<root>/tmp/<key>.<machine>.<pid>.<uuid>/` for entries being written. The
/// machine (`MachineName.tag`) is there because a cache on a shared filesystem (a render farm's) is written from
/// several machines, and only the writer's own machine can tell whether its process still runs.
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

    /// What a lookup found.
    public enum Lookup: Sendable, Hashable {
        /// A sound entry, now marked used.
        case hit(Entry)
        /// No entry.
        case miss
        /// An entry that did not match its manifest, for `reason` (naming the file); it has been removed (or, if
        /// removing failed, `reason` says so) and the key is a miss.
        case discarded(reason: String)

        /// The entry of a hit.
        public var entry: Entry? {
            if case .hit(let entry) = self { return entry }
            return nil
        }
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

    /// The finished entry for `key`, marking it used. An entry whose files do not match its manifest (a file missing
    /// or of another size, the manifest missing or not a manifest) is removed and reported as `discarded`.
    public func lookup(_ key: String) -> Lookup {
        lock.lock()
        defer { lock.unlock() }
        guard let folder = folder(for: key) else { return .miss }
        switch inspect(folder) {
        case .absent:
            return .miss
        case .damaged(let reason):
            do {
                try discard(folder)
            } catch {
                return .discarded(reason: reason + "; removing it failed: \(error)")
            }
            return .discarded(reason: reason)
        case .sound(var entry):
            entry.lastUsed = clock()
            touch(entry)
            return .hit(entry)
        }
    }

    /// Why the entry for `key` cannot be used, without changing anything: its folder is gone, or its files do not
    /// match its manifest. Nil when it is sound. A render asks this of its inputs when a stage fails.
    public func damage(_ key: String) -> String? {
        lock.lock()
        defer { lock.unlock() }
        guard let folder = folder(for: key) else { return "'\(key)' is not a cache key" }
        switch inspect(folder) {
        case .absent: return "its folder \(folder.path) is gone"
        case .damaged(let reason): return reason
        case .sound: return nil
        }
    }

    /// Removes the entry for `key` if there is one, pinned or not: for a caller that found its files unusable and
    /// computes the result again. Throws `Failure` naming the folder when it cannot be removed.
    public func remove(_ key: String) throws {
        lock.lock()
        defer { lock.unlock() }
        guard let folder = folder(for: key) else {
            throw Failure(path: entriesFolder.path, reason: "'\(key)' is not a cache key")
        }
        try discard(folder)
    }

    /// The folder of `key`'s entry; nil unless the key is a single path component (so no key reaches outside the
    /// cache).
    private func folder(for key: String) -> URL? {
        guard !key.isEmpty, !key.hasPrefix("."), !key.contains("/"), !key.contains("\0") else { return nil }
        return entriesFolder.appendingPathComponent(key)
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
        guard let destination = folder(for: key) else {
            throw Failure(path: entriesFolder.path, reason: "'\(key)' is not a cache key")
        }
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
            if rename(temporary.path, destination.path) == 0 { return inspect(destination).entry }
            let code = errno
            guard code == ENOTEMPTY || code == EEXIST else {
                try? FileManager.default.removeItem(at: temporary)
                throw Failure(path: destination.path,
                              reason: "cannot move the finished entry into place: \(String(cString: strerror(code)))")
            }
            if let existing = inspect(destination).entry {
                try? FileManager.default.removeItem(at: temporary)
                return existing
            }
            do {
                try discard(destination)
            } catch {
                try? FileManager.default.removeItem(at: temporary)
                throw error
            }
        }
        try? FileManager.default.removeItem(at: temporary)
        throw Failure(path: destination.path, reason: "cannot move the finished entry into place: another writer "
                      + "keeps a damaged entry there")
    }

    /// Every sound finished entry, least recently used first.
    public func entries() -> [Entry] {
        scan().sound
    }

    /// The sound entries, least recently used first, and the folders of damaged ones.
    private func scan() -> (sound: [Entry], damaged: [URL]) {
        let folders = (try? FileManager.default.contentsOfDirectory(at: entriesFolder,
                                                                    includingPropertiesForKeys: nil)) ?? []
        var sound: [Entry] = [], damaged: [URL] = []
        for folder in folders {
            switch inspect(folder) {
            case .sound(let entry): sound.append(entry)
            case .damaged: damaged.append(folder)
            case .absent: break
            }
        }
        return (sound.sorted { ($0.lastUsed, $0.key) < ($1.lastUsed, $1.key) }, damaged)
    }

    /// Bytes of all finished entries.
    public var totalBytes: UInt64 { entries().reduce(0) { $0 + $1.bytes } }

    /// Removes every entry, damaged ones included.
    public func clear() throws {
        lock.lock()
        defer { lock.unlock() }
        let (sound, damaged) = scan()
        for folder in sound.map(\.folder) + damaged { try discard(folder) }
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
        temporaryFolder.appendingPathComponent(
            "\(key).\(MachineName.tag).\(WriterProcess.current).\(UUID().uuidString)")
    }

    /// Removes `folder` (an entry of this cache) by renaming it away first, so a reader never sees half of it.
    /// A folder already gone is not an error.
    private func discard(_ folder: URL) throws {
        let trash = makeTemporaryFolder(for: "discard-" + folder.lastPathComponent)
        guard rename(folder.path, trash.path) == 0 else {
            let code = errno
            guard code == ENOENT else {
                throw Failure(path: folder.path, reason: "cannot remove the entry: \(String(cString: strerror(code)))")
            }
            return
        }
        do {
            try FileManager.default.removeItem(at: trash)
        } catch {
            throw Failure(path: trash.path, reason: "cannot remove a discarded entry: \(error.localizedDescription)")
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

    /// What is in an entry's folder.
    private enum Inspection {
        case absent
        /// The folder does not match its manifest, for the reason given (naming the file).
        case damaged(String)
        case sound(Entry)

        var entry: Entry? {
            if case .sound(let entry) = self { return entry }
            return nil
        }
    }

    /// Checks `folder` against its manifest: present and a manifest, every file it lists inside the folder and of
    /// the listed size.
    private func inspect(_ folder: URL) -> Inspection {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: folder.path, isDirectory: &isDirectory) else { return .absent }
        guard isDirectory.boolValue else { return .damaged("\(folder.path) is not a folder") }
        let manifestURL = folder.appendingPathComponent(Self.manifestName)
        guard manager.fileExists(atPath: manifestURL.path) else {
            return .damaged("its \(Self.manifestName) is missing")
        }
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: manifestURL))
        } catch let error as DecodingError {
            return .damaged("its \(Self.manifestName) is not a manifest: \(Self.describe(error))")
        } catch {
            return .damaged("its \(Self.manifestName) cannot be read: \(error.localizedDescription)")
        }
        for (name, size) in manifest.files.sorted(by: { $0.key < $1.key }) {
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            guard !name.hasPrefix("/"), !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                return .damaged("its \(Self.manifestName) names '\(name)', which is not a file inside the entry")
            }
            guard let attributes = try? manager.attributesOfItem(atPath: folder.appendingPathComponent(name).path)
            else { return .damaged("\(name) is missing") }
            let actual = (attributes[.size] as? NSNumber)?.uint64Value ?? 0
            guard actual == size else {
                return .damaged("\(name) holds \(actual) bytes, its \(Self.manifestName) says \(size)")
            }
        }
        let time = (try? manager.attributesOfItem(atPath: manifestURL.path))?[.modificationDate] as? Date
        return .sound(Entry(key: folder.lastPathComponent, folder: folder, bytes: manifest.files.values.reduce(0, +),
                            lastUsed: time ?? .distantPast))
    }

    /// A decoding error in one line: what was wrong and where.
    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context): return context.debugDescription
        case .keyNotFound(let key, _): return "no '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "'\(path)': \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    /// Records the entry's use time as its manifest's modification time.
    private func touch(_ entry: Entry) {
        let manifest = entry.folder.appendingPathComponent(Self.manifestName).path
        try? FileManager.default.setAttributes([.modificationDate: entry.lastUsed], ofItemAtPath: manifest)
    }

    /// Evicts least recently used entries, never `key` nor a pinned one, until the cache fits its limit. Damaged
    /// entries no render pins go first: a lookup would discard them anyway, and their bytes count against no limit.
    private func evict(keeping key: String?) {
        guard let sizeLimit else { return }
        let scanned = scan()
        var all = scanned.sound
        for folder in scanned.damaged where pins[folder.lastPathComponent] == nil { try? discard(folder) }
        var total = all.reduce(0) { $0 + $1.bytes }
        while total > sizeLimit, let index = all.firstIndex(where: { $0.key != key && pins[$0.key] == nil }) {
            let victim = all.remove(at: index)
            try? discard(victim.folder)
            total -= victim.bytes
        }
    }

    /// Temporary folders whose writer process on this machine has ended (`WriterProcess`: its id is gone, or now
    /// names a process that started at another time): the leftovers of killed renders. Another machine's are left
    /// alone (names without a machine are of this one).
    private func removeAbandonedTemporaries() {
        let folders = (try? FileManager.default.contentsOfDirectory(at: temporaryFolder,
                                                                    includingPropertiesForKeys: nil)) ?? []
        for folder in folders {
            let parts = folder.lastPathComponent.split(separator: ".")
            guard parts.count >= 3, let writer = WriterProcess(parts[parts.count - 2]) else { continue }
            if parts.count >= 4, parts[parts.count - 3] != MachineName.tag { continue }
            if !writer.isRunning {
                try? FileManager.default.removeItem(at: folder)
            }
        }
    }
}
