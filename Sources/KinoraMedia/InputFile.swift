import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The check every user file goes through before it is opened for reading: it must be a regular file (links are
/// followed). Opening a FIFO blocks until something writes to it, and a device or socket never ends, so such a path
/// is refused by its kind rather than read.
public enum InputFile {
    /// Throws `MediaError.notARegularFile` when `url` names a FIFO, device, socket or directory; a path that does not
    /// exist or cannot be examined is left to the reader, whose error says so.
    public static func requireRegular(_ url: URL) throws {
        var status = stat()
        guard stat(url.path, &status) == 0 else { return }
        if let kind = kind(of: status.st_mode) {
            throw MediaError.notARegularFile(path: url.path, kind: kind)
        }
    }

    /// What a mode that is not a regular file's names, for messages; nil for a regular file.
    public static func kind(of mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFDIR: return "a directory"
        case S_IFCHR, S_IFBLK: return "a device"
        case S_IFSOCK: return "a socket"
        default: return "not a plain file"
        }
    }
}
