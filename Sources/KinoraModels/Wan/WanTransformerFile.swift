import Foundation
import KinoraFormats

/// A Wan transformer in one weight file (ComfyUI's `wan2.1_t2v_1.3B_fp16.safetensors`, Wan's own layout, or a causal
/// model's PyTorch training checkpoint: Self-Forcing's `self_forcing_dmd.pt`, LongLive's `longlive_base.pt`), opened
/// by its tensor names and shapes alone, so that it can be checked against the configuration of the diffusers folder
/// it is to run with before anything runs. Nothing is read onto a device.
public struct WanTransformerFile {
    public let url: URL
    /// The weights under diffusers' names (a training checkpoint's `generator_ema`, else its `generator`).
    let store: any WeightStore
    /// Whether the weights are a training checkpoint's generator (under `generator_ema.` or `generator.`), as
    /// Self-Forcing, CausVid and LongLive save their causal models.
    public let isTrainingCheckpoint: Bool

    /// The prefixes a training checkpoint keeps its generator under, preferred first.
    static let generatorPrefixes = ["generator_ema.", "generator."]

    /// Opens `url`. Throws what the file's reader throws, or `WeightsError.unrecognizedCheckpoint` when it holds no
    /// Wan transformer (naming its top-level keys: a training checkpoint without its generator's weights).
    public init(url: URL) throws {
        let raw = try WeightFile.open(url)
        do {
            store = try WanTransformerKeyMap.diffusersNames(raw)
        } catch WeightsError.unrecognizedCheckpoint(let file, let reason) {
            let roots = Set(raw.tensorNames.map { String($0.prefix { $0 != "." }) }).sorted()
            throw WeightsError.unrecognizedCheckpoint(
                file: file,
                reason: reason + "; a causal model's training checkpoint keeps its generator's weights under "
                    + "'generator_ema' or 'generator', and this one's top-level keys are "
                    + roots.prefix(8).map { "'\($0)'" }.joined(separator: ", ")
                    + (roots.count > 8 ? " and \(roots.count - 8) more" : ""))
        }
        self.url = url
        isTrainingCheckpoint = raw.tensorNames.contains { name in
            Self.generatorPrefixes.contains { name.hasPrefix($0) }
                && [".time_projection.1.weight", ".condition_embedder.time_proj.weight"].contains { name.hasSuffix($0) }
        }
    }

    /// Throws `WanTransformerError.weightsMismatch` (or `WeightsError.missingTensor`) naming the first tensor that
    /// `configuration` does not describe, with the shape it implies and the one found: a file of another
    /// architecture than the configuration's (Wan 2.1 14B's or Wan 2.2's against Wan 2.1 1.3B's folder).
    public func check(against configuration: WanTransformer3DConfig) throws {
        try configuration.validate(source: url.path)
        try WanTransformer3DModel.checkWeights(store, prefix: "", configuration: configuration)
    }
}
