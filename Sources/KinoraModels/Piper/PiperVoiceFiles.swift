import Foundation

/// The two files of a Piper voice export: the `.onnx` model and, next to it, its `X.onnx.json` config.
public struct PiperVoiceFiles: Sendable, Equatable {
    public var model: URL
    public var config: URL

    /// Locates the files from either path a user may give: the `.onnx` model or its `.onnx.json`. Throws when the
    /// path is not an `.onnx` export or either file is missing.
    public init(path: URL) throws {
        let modelURL = path.pathExtension == "json" && path.deletingPathExtension().pathExtension == "onnx"
            ? path.deletingPathExtension() : path
        guard modelURL.pathExtension == "onnx" else { throw PiperError.notAnONNXVoice(path: path.path) }
        let configURL = modelURL.appendingPathExtension("json")
        guard Self.isFile(modelURL) else { throw PiperError.missingModel(path: modelURL.path) }
        guard Self.isFile(configURL) else {
            throw PiperError.missingConfig(model: modelURL.path, config: configURL.lastPathComponent)
        }
        self.model = modelURL
        self.config = configURL
    }

    /// Reads and checks the voice's config.
    public func loadConfig() throws -> PiperVoiceConfig {
        try PiperVoiceConfig.load(from: config)
    }

    private static func isFile(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}
