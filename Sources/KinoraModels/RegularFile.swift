import Foundation
import KinoraFormats

/// Reads the configuration, tokenizer and index files of a model only when they are regular files (links are
/// followed, `FileKind`): opening a FIFO in their place would block for ever, and a device never ends. The weight
/// readers make the same check in `MappedFile`.
enum RegularFile {
    /// Why a path was refused.
    struct Failure: Error, CustomStringConvertible, LocalizedError {
        var path: String
        var kind: String
        var description: String { "'\(path)' is \(kind), not a regular file; give the path of a file" }
        var errorDescription: String? { description }
    }

    /// Throws `Failure` when `url` exists and is a FIFO, device, socket or directory.
    static func require(_ url: URL) throws {
        if let kind = FileKind.nonRegularKind(at: url) {
            throw Failure(path: url.path, kind: kind)
        }
    }

    /// The bytes of `url`, a regular file.
    static func contents(of url: URL) throws -> Data {
        try require(url)
        return try Data(contentsOf: url)
    }

    /// Checks the files a tokenizer folder may hold before `CLIPTokenizer` reads them.
    static func requireTokenizerFiles(in folder: URL) throws {
        for name in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"] {
            try require(folder.appending(path: name))
        }
    }
}
