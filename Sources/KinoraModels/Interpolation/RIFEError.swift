import Foundation

/// Why RIFE could not be loaded or run. Each case names the file or the frames involved.
public enum RIFEError: Error, Equatable, CustomStringConvertible {
    /// The checkpoint is not an IFNet of the Practical-RIFE 4.25/4.26 layout (five blocks and the `encode` head).
    case unsupportedCheckpoint(file: String, tensor: String, reason: String)
    /// Frames the interpolator cannot take.
    case invalidFrames(reason: String)
    /// The RIFE weights are not installed where they are looked for.
    case notInstalled(path: String, environmentVariable: String)

    public var description: String {
        switch self {
        case .unsupportedCheckpoint(let file, let tensor, let reason):
            return "\(file): tensor '\(tensor)': \(reason); Kinora runs the Practical-RIFE 4.25/4.26 IFNet "
                + "(five IFBlocks and the feature head)"
        case .invalidFrames(let reason):
            return "cannot interpolate these frames: \(reason)"
        case .notInstalled(let path, let variable):
            return "no RIFE weights at \(path): run `bash scripts/setup.sh`, or point \(variable) at a flownet.pkl"
        }
    }
}
