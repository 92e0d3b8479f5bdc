import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A file that is written under a temporary name in its target directory and renamed to its final name only when
/// ``commit()`` is called. If it is never committed the temporary is removed, so a failed write leaves no partial
/// file behind and never touches an existing file of the final name.
public final class AtomicOutput {
    /// The name the file will have once committed.
    public let finalURL: URL
    /// The temporary file to write to; it keeps the final extension so formats can still be told from it.
    public let temporaryURL: URL
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
        let temporaryName = ".\(name).kinora-\(token).tmp" + (ext.isEmpty ? "" : ".\(ext)")
        temporaryURL = directory.appendingPathComponent(temporaryName)
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
