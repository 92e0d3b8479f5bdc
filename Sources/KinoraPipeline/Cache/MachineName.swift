import Foundation

/// This machine's name, for what several machines share: the stage cache's temporary folders (a machine removes only
/// its own killed writers' leftovers) and a render farm's records.
public enum MachineName {
    /// The host name (`gethostname`, no lookup); `unknown` when there is none.
    public static let current: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "unknown" : name
    }()

    /// `current` as one part of a dotted file name: every character but ASCII letters, digits and `-` becomes `_`.
    public static let tag = String(current.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") ? $0 : "_" })
}
