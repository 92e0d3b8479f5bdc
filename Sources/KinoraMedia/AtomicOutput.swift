import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A file that is written under a temporary name in its target directory and renamed to its final name only when
/// ``commit()`` is called. If it is never committed the temporary is removed, so a failed write leaves no partial
/// file behind and never touches an existing file of the final name.
///
/// A killed writer cannot remove its temporary, so the name carries the writer (`WriterProcess`: id and start time),
/// `.out.mp4.kinora-1234-98765-1A2B3C4D.tmp.mp4`; when the same final name is written again, the temporaries of
/// writers that no longer run are removed, with one line on standard error. A running writer's file is left alone,
/// and so are the names of older versions, which do not say their writer.
public final class AtomicOutput {
    /// The name the file will have once committed.
    public let finalURL: URL
    /// The temporary file to write to; it keeps the final extension so formats can still be told from it.
    public let temporaryURL: URL
    /// Temporaries of the same final name that writers no longer running left behind, removed by `init`.
    public let removedLeftovers: [URL]
    private var done = false

    /// Checks that the target directory exists and can be written, and picks a temporary name in it.
    public init(_ finalURL: URL) throws {
        self.finalURL = finalURL.standardizedFileURL
        let directory = self.finalURL.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw MediaError.unwritableDirectory(path: directory.path, reason: "it does not exist")
        }
        guard isDirectory.boolValue else {
            throw MediaError.unwritableDirectory(path: directory.path, reason: "it is not a directory")
        }
        guard access(directory.path, W_OK | X_OK) == 0 else {
            throw MediaError.unwritableDirectory(path: directory.path, reason: String(cString: strerror(errno)))
        }
        let name = self.finalURL.lastPathComponent
        let ext = self.finalURL.pathExtension
        let token = UUID().uuidString.prefix(8)
        let suffix = ".tmp" + (ext.isEmpty ? "" : ".\(ext)")
        temporaryURL = directory.appendingPathComponent(".\(name).kinora-\(WriterProcess.current)-\(token)\(suffix)")
        removedLeftovers = Self.removeLeftovers(prefix: ".\(name).kinora-", suffix: suffix, in: directory)
        if !removedLeftovers.isEmpty {
            let names = removedLeftovers.map(\.lastPathComponent).joined(separator: ", ")
            FileHandle.standardError.write(Data(("kinora: removed \(removedLeftovers.count) unfinished temporary "
                + "file(s) of '\(self.finalURL.path)' left by a writer that no longer runs: \(names)\n").utf8))
        }
    }

    /// Removes the files of `directory` named `<prefix><writer>-<token><suffix>` whose writer no longer runs.
    private static func removeLeftovers(prefix: String, suffix: String, in directory: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().compactMap { name in
            guard name.hasPrefix(prefix), name.hasSuffix(suffix), name.count > prefix.count + suffix.count else {
                return nil
            }
            let middle = name.dropFirst(prefix.count).dropLast(suffix.count)
            guard let dash = middle.lastIndex(of: "-"), let writer = WriterProcess(middle[..<dash]),
                  !writer.isRunning else { return nil }
            let url = directory.appendingPathComponent(name)
            return unlink(url.path) == 0 ? url : nil
        }
    }

    /// Moves the temporary file to the final name, replacing any file there in one step.
    public func commit() throws {
        guard !done else { throw MediaError.writerClosed(path: finalURL.path) }
        done = true
        guard rename(temporaryURL.path, finalURL.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporaryURL.path)
            throw MediaError.unwritableDirectory(
                path: finalURL.deletingLastPathComponent().path, reason: "rename to '\(finalURL.path)' failed: \(reason)")
        }
    }

    /// Removes the temporary file; the final name is left as it was.
    public func discard() {
        guard !done else { return }
        done = true
        unlink(temporaryURL.path)
    }

    deinit {
        discard()
    }
}
