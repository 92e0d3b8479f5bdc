import Foundation

/// Opens the weights of one diffusers or transformers component folder (`unet/`, `vae/`, `text_encoder/`), whether
/// they are one file or shards behind an index, optionally preferring a variant such as `fp16`. Float8 tensors keep
/// their dtype, with ComfyUI's per-tensor scales attached (`Float8ScaledWeightStore`).
public enum WeightFolder {
    /// The base names a component's weights may have, most common first.
    static let baseNames = ["diffusion_pytorch_model", "model"]

    /// The store for the weights in `folder`: `<base>[.<variant>].safetensors.index.json` when present, else
    /// `<base>[.<variant>].safetensors`; the variant is tried first, then the plain names.
    public static func open(_ folder: URL, variant: String? = nil) throws -> any WeightStore {
        let suffixes = (variant.map { [".\($0)"] } ?? []) + [""]
        for suffix in suffixes {
            for base in baseNames {
                let index = folder.appending(path: "\(base)\(suffix).safetensors.index.json")
                if FileManager.default.fileExists(atPath: index.path) {
                    return try Float8ScaledWeightStore.wrapping(try ShardedSafetensors(indexURL: index))
                }
                let single = folder.appending(path: "\(base)\(suffix).safetensors")
                if FileManager.default.fileExists(atPath: single.path) {
                    return try Float8ScaledWeightStore.wrapping(try SafetensorsFile(url: single))
                }
            }
        }
        throw WeightsError.unreadable(
            file: folder.path, reason: "no model.safetensors or diffusion_pytorch_model.safetensors (or index) in it")
    }
}
