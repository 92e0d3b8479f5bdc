import Foundation

/// The folders models are looked up in, in order: folders given with `--models-dir`, then those in
/// `KINORA_MODELS` (separated by `:`), then the project's own `models/` folder. Each may be a ComfyUI-style models
/// folder: relative model paths are also tried under its `checkpoints/`, `vae/`, `text_encoders/`,
/// `diffusion_models/`, `loras/` and `voices/` subfolders.
public struct ModelSearchPaths: Sendable, Hashable {
    public var roots: [URL]

    /// ComfyUI's model subfolders, plus `voices/` for Piper.
    public static let comfyFolders = ["checkpoints", "vae", "text_encoders", "diffusion_models", "loras", "voices"]

    public init(roots: [URL]) {
        self.roots = roots
    }

    /// The standard order: `modelsDirs` (from `--models-dir`), then `KINORA_MODELS` from `environment`, then
    /// `bundled` (the project's `models/`). Duplicates are dropped.
    public static func standard(modelsDirs: [String], environment: [String: String], bundled: URL?) -> Self {
        var roots = modelsDirs.map { URL(fileURLWithPath: $0) }
        if let variable = environment["KINORA_MODELS"] {
            roots += variable.split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        }
        if let bundled { roots.append(bundled) }
        var seen: Set<String> = []
        return ModelSearchPaths(roots: roots.filter { seen.insert($0.standardizedFileURL.path).inserted })
    }

    /// Where a relative `path` may be, in the order tried: `base` (the workflow's folder) first, then each root,
    /// then each root's ComfyUI subfolders (the component's `preferred` folder first).
    public func candidates(for path: String, base: URL?, preferred: [String] = []) -> [URL] {
        if path.hasPrefix("/") { return [URL(fileURLWithPath: path)] }
        var urls: [URL] = []
        if let base { urls.append(base.appendingPathComponent(path)) }
        let folders = preferred + Self.comfyFolders.filter { !preferred.contains($0) }
        for root in roots {
            urls.append(root.appendingPathComponent(path))
            urls += folders.map { root.appendingPathComponent($0).appendingPathComponent(path) }
        }
        return urls
    }
}
