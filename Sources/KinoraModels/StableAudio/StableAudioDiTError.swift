/// Why a Stable Audio DiT or its projection model could not be built or run; each case names the file, tensor or
/// input at fault.
public enum StableAudioDiTError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(file: String, reason: String)
    case weightsMismatch(file: String, tensor: String, reason: String)
    /// An input (`name` as the forward pass calls it) does not fit the model or the other inputs.
    case invalidInput(name: String, shape: [Int], reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let file, let reason):
            return "\(file): not a usable Stable Audio config (\(reason))"
        case .weightsMismatch(let file, let tensor, let reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        case .invalidInput(let name, let shape, let reason):
            return "Stable Audio: \(name) of shape \(shape): \(reason)"
        }
    }
}
