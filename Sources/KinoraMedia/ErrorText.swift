import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Error text a user can read. Foundation's file errors print as `Error Domain=NSCocoaErrorDomain Code=640 "(null)"
/// UserInfo={…}`; they become the path and the system's reason ("/out/a.wav: No space left on device"). Every other
/// error keeps its own description.
public enum ErrorText {
    /// Cocoa file-error codes with the reason to give when the error carries no POSIX error underneath.
    private static let cocoaReasons: [Int: String] = [
        4: "no such file or folder", 260: "no such file or folder", 257: "permission denied",
        513: "permission denied", 516: "a file of that name already exists", 640: "no space left on device",
        642: "the volume is read-only",
    ]

    /// `error` as plain text.
    public static func plain(_ error: any Error) -> String {
        let object = error as NSError
        guard object.domain == NSCocoaErrorDomain || object.domain == NSPOSIXErrorDomain else {
            return String(describing: error)
        }
        let path = (object.userInfo[NSFilePathErrorKey] as? String)
            ?? (object.userInfo[NSURLErrorKey] as? URL)?.path
        return (path.map { "\($0): " } ?? "") + reason(object)
    }

    /// The POSIX reason under a Foundation error, else the reason its code stands for.
    private static func reason(_ object: NSError) -> String {
        if object.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(object.code))) }
        if let underlying = object.userInfo[NSUnderlyingErrorKey] as? any Error {
            let posix = underlying as NSError
            if posix.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(posix.code))) }
        }
        return cocoaReasons[object.code] ?? "file operation failed (Foundation error \(object.code))"
    }
}
