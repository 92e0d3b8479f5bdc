/// Why the parts of a Wan video model could not be found or are not a Wan model we run; each case names the path.
public enum WanVideoComponentsError: Error, Equatable, CustomStringConvertible {
    case missing(path: String)
    case notAWanFolder(path: String, reason: String)
    case unsupported(path: String, what: String)

    public var description: String {
        switch self {
        case .missing(let path):
            return "\(path) does not exist"
        case .notAWanFolder(let path, let reason):
            return "\(path) is not a Wan diffusers folder: \(reason)"
        case .unsupported(let path, let what):
            return "\(path): \(what) is not supported (Wan 2.1 T2V 1.3B/14B and Wan 2.2 TI2V 5B are)"
        }
    }
}
