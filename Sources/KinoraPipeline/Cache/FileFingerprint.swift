import Foundation

/// A short string that changes whenever a file or folder of weights (or a music file) changes: its path, size and
/// modification time by default, or a SHA-256 of its content when the files' times cannot be trusted (copied
/// folders, network mounts).
public enum FileFingerprint {
    /// How a fingerprint is taken.
    public enum Mode: String, Sendable, Hashable, Codable {
        /// Path, size and modification time of every file: instant.
        case metadata
        /// SHA-256 of every file's bytes: reads everything once.
        case content
    }

    /// Why a fingerprint could not be taken.
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): cannot fingerprint: \(reason)" }
    }

    /// The fingerprint of `url`: a file, or a folder (all regular files below it, by relative path).
    public static func of(_ url: URL, mode: Mode = .metadata) throws -> String {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw Failure(path: url.path, reason: "no such file or folder")
        }
        var files: [(relative: String, url: URL)] = []
        if isDirectory.boolValue {
            guard let enumerator = manager.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey]) else {
                throw Failure(path: url.path, reason: "cannot list the folder")
            }
            let prefix = url.standardizedFileURL.path + "/"
            for case let file as URL in enumerator
            where (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                files.append((String(file.standardizedFileURL.path.dropFirst(prefix.count)), file))
            }
            files.sort { $0.relative < $1.relative }
        } else {
            files = [(url.lastPathComponent, url)]
        }
        var hash = SHA256()
        hash.update(mode == .metadata ? "metadata\n" + url.standardizedFileURL.path + "\n" : "content\n")
        for file in files {
            hash.update(file.relative + "\n")
            switch mode {
            case .metadata:
                let attributes: [FileAttributeKey: Any]
                do {
                    attributes = try manager.attributesOfItem(atPath: file.url.path)
                } catch {
                    throw Failure(path: file.url.path, reason: error.localizedDescription)
                }
                let size = (attributes[.size] as? NSNumber)?.uint64Value ?? 0
                let time = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                hash.update("\(size) \(time)\n")
            case .content:
                guard let handle = FileHandle(forReadingAtPath: file.url.path) else {
                    throw Failure(path: file.url.path, reason: "cannot open for reading")
                }
                defer { try? handle.close() }
                while true {
                    let chunk: Data
                    do {
                        chunk = try handle.read(upToCount: 1 << 20) ?? Data()
                    } catch {
                        throw Failure(path: file.url.path, reason: error.localizedDescription)
                    }
                    if chunk.isEmpty { break }
                    hash.update(chunk)
                }
                hash.update("\n")
            }
        }
        return mode.rawValue + ":" + hash.hexDigest()
    }
}
