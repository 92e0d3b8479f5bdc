import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a path names when it is not a regular file. Every reader of user files checks this before opening one:
/// opening a FIFO blocks until something writes to it, and a device or socket never ends, so such a path is refused
/// by its kind rather than read. (Links are followed.)
public enum FileKind {
    /// The kind of what `url` names ("a FIFO (named pipe)", "a directory", …) when it exists and is not a regular
    /// file; nil for a regular file, and for a path that does not exist or cannot be examined (its reader says so).
    public static func nonRegularKind(at url: URL) -> String? {
        var status = stat()
        guard stat(url.path, &status) == 0 else { return nil }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFDIR: return "a directory"
        case S_IFCHR, S_IFBLK: return "a device"
        case S_IFSOCK: return "a socket"
        default: return "not a plain file"
        }
    }
}
