/// Why a UNet could not be built or run: a configuration Kinora does not implement, or inputs of the wrong shape.
public enum UNetError: Error, Equatable, CustomStringConvertible {
    case unreadableConfiguration(file: String, reason: String)
    case unsupportedConfiguration(String)
    case invalidInput(name: String, shape: [Int], reason: String)

    public var description: String {
        switch self {
        case .unreadableConfiguration(let file, let reason):
            return "\(file): not a UNet2DConditionModel config.json (\(reason))"
        case .unsupportedConfiguration(let reason):
            return "UNet2DConditionModel: unsupported configuration: \(reason)"
        case .invalidInput(let name, let shape, let reason):
            return "UNet2DConditionModel: input '\(name)' of shape \(shape): \(reason)"
        }
    }
}
