import Foundation
import KinoraMedia

/// A short string that changes whenever a file or folder of weights (or a music file) changes: the path, size and
/// modification time of every file it is made of, including the companion files a layout needs beside a single
/// file (a voice's `.onnx.json`). Symbolic links are followed, so a checkpoint linked from a Hugging Face cache
/// folder changes fingerprint when the file it points to does.
public enum FileFingerprint {
    /// Why a fingerprint could not be taken.
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): cannot fingerprint: \(reason)" }
    }

    /// The fingerprint of `url` (a file, or a folder: all regular files below it, by relative path) together with
    /// `companions`, files that belong with it.
    public static func of(_ url: URL, companions: [URL] = []) throws -> String {
        var hash = SHA256()
        hash.update("metadata\n" + url.standardizedFileURL.path + "\n")
        for file in try files(of: url) { try update(&hash, with: file) }
        for companion in companions {
            hash.update("companion " + companion.standardizedFileURL.path + "\n")
            guard FileManager.default.fileExists(atPath: companion.path) else {
                throw Failure(path: companion.path, reason: "no such file")
            }
            try update(&hash, with: (companion.lastPathComponent, companion))
        }
        return "metadata:" + hash.hexDigest()
    }

    /// The regular files `url` is made of, by path relative to it, sorted; links are followed.
    private static func files(of url: URL) throws -> [(relative: String, url: URL)] {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw Failure(path: url.path, reason: "no such file or folder")
        }
        guard isDirectory.boolValue else {
            do {
                try InputFile.requireRegular(url)
            } catch {
                throw Failure(path: url.path, reason: "\(error)")
            }
            return [(url.lastPathComponent, url)]
        }
        let folder = url.resolvingSymlinksInPath()
        guard let enumerator = manager.enumerator(at: folder, includingPropertiesForKeys: nil) else {
            throw Failure(path: url.path, reason: "cannot list the folder")
        }
        let prefix = folder.standardizedFileURL.path + "/"
        var files: [(relative: String, url: URL)] = []
        for case let file as URL in enumerator {
            var isFolder: ObjCBool = false
            guard manager.fileExists(atPath: file.path, isDirectory: &isFolder), !isFolder.boolValue else { continue }
            files.append((String(file.standardizedFileURL.path.dropFirst(prefix.count)), file))
        }
        return files.sorted { $0.relative < $1.relative }
    }

    /// Adds the file's relative name, the path it resolves to, its size and modification time to `hash`.
    private static func update(_ hash: inout SHA256, with file: (relative: String, url: URL)) throws {
        let target = file.url.resolvingSymlinksInPath()
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: target.path)
        } catch {
            throw Failure(path: file.url.path, reason: error.localizedDescription)
        }
        let size = (attributes[.size] as? NSNumber)?.uint64Value ?? 0
        let time = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        hash.update(file.relative + "\n" + target.path + "\n\(size) \(time)\n")
    }
}
