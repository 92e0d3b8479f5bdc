import Foundation
import KinoraFormats

/// The check every user media file goes through before it is opened for reading: it must be a regular file
/// (`FileKind`), or it is refused by its kind rather than read.
public enum InputFile {
    /// Throws `MediaError.notARegularFile` when `url` names a FIFO, device, socket or directory; a path that does not
    /// exist or cannot be examined is left to the reader, whose error says so.
    public static func requireRegular(_ url: URL) throws {
        if let kind = FileKind.nonRegularKind(at: url) {
            throw MediaError.notARegularFile(path: url.path, kind: kind)
        }
    }
}
