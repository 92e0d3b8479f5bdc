import Foundation
import KinoraFormats
import KinoraGPU

/// The memory plan of a Stable Audio diffusers folder before anything of it is uploaded, for planning a workflow's
/// generated music cues: its models over their own weight files known by their shapes alone (each file's header is
/// read, no tensor), so the plan counts the folder's own dtypes and configuration.
extension StableAudioMemoryPlanner {
    /// The plan of a generation by `StableAudioPipeline(folder:device:)` with or without `guidance` (and with an
    /// `initialAudio` to encode, for audio-to-audio), its models in `precision` (nil: each its weights' type). Throws
    /// `StableAudioPipelineError.missingPart` for a missing part, and the models' errors for a part that does not
    /// fit its configuration.
    public static func plan(
        folder: URL, guidance: Bool, initialAudio: Bool = false, device: GPUDevice,
        precision: ActivationPrecision? = nil
    ) throws -> StableAudioMemoryPlan {
        func part(_ name: String) throws -> URL {
            let url = folder.appending(path: name)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw StableAudioPipelineError.missingPart(folder: folder.path, part: name)
            }
            return url
        }
        let text = try part("text_encoder")
        let projection = try part("projection_model")
        let transformer = try part("transformer")
        let vae = try part("vae")
        let tokenizer = try part("tokenizer")
        return try plan(
            textEncoder: UMT5EncoderModel(
                configuration: UMT5Config.load(from: text.appending(path: "config.json")),
                weights: .shapesOnly(store: UMT5KeyMap.transformersNames(WeightFolder.open(text)), device: device)),
            projection: StableAudioProjectionModel(
                configuration: StableAudioProjectionConfig.load(from: projection.appending(path: "config.json")),
                weights: .shapesOnly(store: WeightFolder.open(projection), device: device)),
            transformer: StableAudioDiTModel(
                configuration: StableAudioDiTConfig.load(from: transformer.appending(path: "config.json")),
                weights: .shapesOnly(store: WeightFolder.open(transformer), device: device)),
            vae: AutoencoderOobleck(
                configuration: AutoencoderOobleckConfig.load(from: vae.appending(path: "config.json")),
                weights: .shapesOnly(store: OobleckKeyMap.layerNames(WeightFolder.open(vae)), device: device)),
            promptTokens: StableAudioPipeline.modelMaxLength(tokenizer.appending(path: "tokenizer_config.json"))
                ?? 128,
            guidance: guidance, initialAudio: initialAudio, device: device, precision: precision)
    }
}
