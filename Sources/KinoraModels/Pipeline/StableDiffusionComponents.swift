import Foundation
import KinoraFormats

/// Everything a Stable Diffusion 1.x, 2.x or SDXL generation needs, whatever the checkpoint's layout: tokenizers,
/// text encoders, UNet, VAE (each a configuration and a memory-mapped `WeightStore` under internal names) and the
/// noise schedule. A diffusers folder (`init(folder:)`) and an A1111/ComfyUI single file (`init(singleFile:)`)
/// produce the same value, and `StableDiffusionPipeline` runs it.
public struct StableDiffusionComponents: Sendable {
    /// One text encoder, not yet on any device.
    public struct TextEncoder: Sendable {
        public var configuration: CLIPTextConfig
        public var store: any WeightStore
        /// Whether it is a `CLIPTextModelWithProjection` (SDXL's second encoder).
        public var withProjection: Bool
        /// LoRA updates merged into its weights as they upload (see `applying(_:)`).
        public var patches: [String: [LoRAPatch]] = [:]

        public init(configuration: CLIPTextConfig, store: any WeightStore, withProjection: Bool) {
            self.configuration = configuration
            self.store = store
            self.withProjection = withProjection
        }
    }

    public var family: ModelFamily
    public var tokenizer: CLIPTokenizer
    public var textEncoder: TextEncoder
    /// SDXL's second tokenizer and encoder (OpenCLIP ViT-bigG with projection).
    public var tokenizer2: CLIPTokenizer?
    public var textEncoder2: TextEncoder?
    public var unetConfiguration: UNet2DConditionConfig
    public var unetStore: any WeightStore
    /// LoRA updates merged into the UNet's weights as they upload (see `applying(_:)`).
    public var unetPatches: [String: [LoRAPatch]] = [:]
    public var vaeConfiguration: AutoencoderKLConfiguration
    public var vaeStore: any WeightStore
    public var schedulerConfiguration: SchedulerConfiguration
    /// SDXL's `force_zeros_for_empty_prompt`: without a negative prompt (diffusers' `negative_prompt=None`) the
    /// unconditional half is conditioned on zeros rather than on the encoding of "".
    public var zerosForEmptyNegative: Bool

    /// Opens a diffusers folder (`model_index.json` with `tokenizer`, `text_encoder`, `unet`, `vae`, `scheduler`
    /// and, for SDXL, `tokenizer_2` and `text_encoder_2`). Weights stay memory-mapped.
    public init(folder: URL) throws {
        let index = folder.appending(path: "model_index.json")
        guard FileManager.default.fileExists(atPath: index.path) else {
            throw PipelineError.notADiffusersFolder(folder.path)
        }
        try RegularFile.require(index)
        let indexObject = (try? JSONSerialization.jsonObject(with: Data(contentsOf: index))) as? [String: Any] ?? [:]
        func encoder(_ name: String, withProjection: Bool) throws -> TextEncoder {
            let directory = folder.appending(path: name)
            return TextEncoder(configuration: try CLIPTextConfig.load(from: directory.appending(path: "config.json")),
                               store: try WeightFolder.open(directory), withProjection: withProjection)
        }
        try RegularFile.requireTokenizerFiles(in: folder.appending(path: "tokenizer"))
        tokenizer = try CLIPTokenizer(folder: folder.appending(path: "tokenizer"))
        textEncoder = try encoder("text_encoder", withProjection: false)
        if FileManager.default.fileExists(atPath: folder.appending(path: "text_encoder_2").path) {
            try RegularFile.requireTokenizerFiles(in: folder.appending(path: "tokenizer_2"))
            tokenizer2 = try CLIPTokenizer(folder: folder.appending(path: "tokenizer_2"))
            textEncoder2 = try encoder("text_encoder_2", withProjection: true)
        }
        let unetFolder = folder.appending(path: "unet")
        unetConfiguration = try UNet2DConditionConfig(contentsOf: unetFolder.appending(path: "config.json"))
        unetStore = try WeightFolder.open(unetFolder)
        let vaeFolder = folder.appending(path: "vae")
        vaeConfiguration = try AutoencoderKLConfiguration.load(from: vaeFolder.appending(path: "config.json"))
        vaeStore = try WeightFolder.open(vaeFolder)
        schedulerConfiguration = try SchedulerConfiguration(
            contentsOf: folder.appending(path: "scheduler/scheduler_config.json"))
        zerosForEmptyNegative = indexObject["force_zeros_for_empty_prompt"] as? Bool ?? false
        family = textEncoder2 != nil ? .sdxl : textEncoder.configuration.hiddenAct == "gelu" ? .sd2 : .sd1
    }
}
