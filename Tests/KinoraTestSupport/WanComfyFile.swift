import Foundation
import KinoraFormats

/// A Wan transformer written as ComfyUI's single files hold it (`diffusion_models/wan2.1_t2v_1.3B_fp16.safetensors`):
/// Wan's original names under `model.diffusion_model.`, each tensor in its own dtype.
public enum WanComfyFile {
    /// The transformer of the diffusers folder `transformer` written to `url`.
    public static func write(transformer: URL, to url: URL) throws {
        let weights = try WeightFolder.open(transformer)
        var writer = SafetensorsWriter()
        for name in weights.tensorNames {
            let info = try weights.info(name)
            try writer.add("model.diffusion_model." + WanTrainingCheckpoint.originalName(name), dtype: info.dtype,
                           shape: info.shape, bytes: weights.withBytes(of: name) { Array($0) })
        }
        try writer.encoded().write(to: url)
    }
}
