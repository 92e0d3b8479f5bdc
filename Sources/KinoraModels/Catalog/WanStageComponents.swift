import Foundation
import KinoraFormats
import KinoraGPU

/// The three components of a Wan video model as configurations and weight stores, from which each stage of a
/// generation builds its model on the device when it starts (and drops it when it ends): the memory plan
/// (`WanMemoryPlanner`) and the stage runs (`WanStageRunner`) work from this, for a catalogued architecture over random
/// weights (`WanCatalogModel.components`) or a diffusers folder's own weights.
public struct WanStageComponents {
    /// For messages and reports: the catalog name or the folder.
    public var name: String
    public var textEncoder: UMT5Config
    public var textEncoderStore: any WeightStore
    public var transformer: WanTransformer3DConfig
    public var transformerStore: any WeightStore
    public var vae: AutoencoderKLWanConfig
    public var vaeStore: any WeightStore
    /// Wan 2.2 TI2V's `expand_timesteps`: the model takes a keyframe, encoded by the VAE, as its first latent frame.
    public var imageToVideo: Bool

    public init(
        name: String, textEncoder: UMT5Config, textEncoderStore: any WeightStore, transformer: WanTransformer3DConfig,
        transformerStore: any WeightStore, vae: AutoencoderKLWanConfig, vaeStore: any WeightStore, imageToVideo: Bool
    ) {
        self.name = name
        self.textEncoder = textEncoder
        self.textEncoderStore = textEncoderStore
        self.transformer = transformer
        self.transformerStore = transformerStore
        self.vae = vae
        self.vaeStore = vaeStore
        self.imageToVideo = imageToVideo
    }

    /// The components of a diffusers Wan folder (`text_encoder/`, `transformer/`, `vae/` with their `config.json`;
    /// `model_index.json`'s `expand_timesteps` says whether it takes a keyframe). Weights are memory-mapped, not
    /// read.
    public init(folder: URL) throws {
        let index = folder.appending(path: "model_index.json")
        var expandTimesteps = false
        if let data = try? Data(contentsOf: index),
            let fields = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        {
            expandTimesteps = fields["expand_timesteps"] as? Bool ?? false
        }
        let text = folder.appending(path: "text_encoder")
        let transformer = folder.appending(path: "transformer")
        let vae = folder.appending(path: "vae")
        self.init(
            name: folder.lastPathComponent,
            textEncoder: try UMT5Config.load(from: text.appending(path: "config.json")),
            textEncoderStore: try UMT5KeyMap.transformersNames(WeightFolder.open(text)),
            transformer: try WanTransformer3DConfig.load(from: transformer.appending(path: "config.json")),
            transformerStore: try WanTransformerKeyMap.diffusersNames(WeightFolder.open(transformer)),
            vae: try AutoencoderKLWanConfig.load(from: vae.appending(path: "config.json")),
            vaeStore: try WanVAEKeyMap.diffusersNames(WeightFolder.open(vae)),
            imageToVideo: expandTimesteps)
    }

    /// The text encoder on `device` (nothing uploaded yet).
    public func makeTextEncoder(device: GPUDevice) throws -> UMT5EncoderModel {
        try UMT5EncoderModel(
            configuration: textEncoder, weights: DeviceWeights(store: textEncoderStore, device: device),
            maximumLength: UMT5EncoderModel.wanMaxSequenceLength)
    }

    /// The transformer on `device` (nothing uploaded yet); with `shapesOnly`, weights known by their shapes alone,
    /// for recording graphs that are checked, not run.
    public func makeTransformer(device: GPUDevice, shapesOnly: Bool = false) throws -> WanTransformer3DModel {
        try WanTransformer3DModel(
            configuration: transformer,
            weights: shapesOnly
                ? .shapesOnly(store: transformerStore, device: device)
                : DeviceWeights(store: transformerStore, device: device))
    }

    /// The VAE on `device` (nothing uploaded yet; `shapesOnly` as `makeTransformer`).
    public func makeAutoencoder(device: GPUDevice, shapesOnly: Bool = false) throws -> AutoencoderKLWan {
        try AutoencoderKLWan(
            configuration: vae,
            weights: shapesOnly
                ? .shapesOnly(store: vaeStore, device: device) : DeviceWeights(store: vaeStore, device: device))
    }

    /// The multiple both sides of the video must be: the VAE's spatial stride times the transformer's patch (16 for
    /// Wan 2.1, 32 for Wan 2.2's 5B).
    public var sizeMultiple: Int {
        vae.spatialCompression * max(transformer.patchSize[1], transformer.patchSize[2])
    }

    /// The latents' shape [1, z_dim, (F − 1) / 4 + 1, H / s, W / s] of a `width` × `height` video of `frames` frames,
    /// after checking that the models can take it (as `WanVideoPipeline.latentShape` does): frames of the form 4k + 1
    /// and sides that are positive multiples of `sizeMultiple`, else `WanVideoPipelineError` naming the value.
    public func latentShape(width: Int, height: Int, frames: Int) throws -> [Int] {
        let temporal = vae.temporalCompression
        guard frames >= 1, (frames - 1) % temporal == 0 else {
            throw WanVideoPipelineError.invalidFrameCount(frames: frames, temporalCompression: temporal)
        }
        let multiple = sizeMultiple
        guard width > 0, height > 0, width % multiple == 0, height % multiple == 0 else {
            throw WanVideoPipelineError.invalidSize(width: width, height: height, multiple: multiple)
        }
        let spatial = vae.spatialCompression
        return [1, vae.zDim, (frames - 1) / temporal + 1, height / spatial, width / spatial]
    }
}
