import Foundation

/// A full-size Wan video checkpoint known without its files: the configuration of every component
/// (`WanCatalogConfigs`) and, from the models' `parameterShapes`, every tensor's name and shape, so the stages can be
/// built over `RandomWeightStore`s to plan and measure memory and speed at full size.
public enum WanCatalogModel: String, CaseIterable, Sendable {
    /// Wan-AI/Wan2.1-T2V-1.3B-Diffusers: UMT5-XXL text encoder, 1.42B-parameter DiT (30 layers of 1536), Wan 2.1 VAE
    /// (16 latent channels, 4×8×8).
    case wan21T2V1_3B = "wan21-1.3b"
    /// Wan-AI/Wan2.2-TI2V-5B-Diffusers: UMT5-XXL text encoder, 5.0B-parameter DiT (30 layers of 3072), Wan 2.2 VAE
    /// (48 latent channels, 4×16×16); text- and image-to-video (`expand_timesteps`).
    case wan22TI2V5B = "wan22-5b"

    /// The checkpoint's name on the Hugging Face hub.
    public var checkpoint: String {
        switch self {
        case .wan21T2V1_3B: return "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
        case .wan22TI2V5B: return "Wan-AI/Wan2.2-TI2V-5B-Diffusers"
        }
    }

    /// The catalog family (`models/<family>.yaml`).
    public var family: String {
        switch self {
        case .wan21T2V1_3B: return "wan21-t2v-1.3b"
        case .wan22TI2V5B: return "wan22-ti2v-5b"
        }
    }

    /// The video the checkpoint is made for (diffusers' pipeline defaults and Wan's `generate.py`): 832×480, 81
    /// frames for Wan 2.1 1.3B; 1280×704, 121 frames for Wan 2.2 TI2V-5B.
    public var defaultSize: (width: Int, height: Int, frames: Int) {
        switch self {
        case .wan21T2V1_3B: return (832, 480, 81)
        case .wan22TI2V5B: return (1280, 704, 121)
        }
    }

    /// Whether the checkpoint takes a keyframe (Wan 2.2 TI2V's `expand_timesteps`).
    public var imageToVideo: Bool { self == .wan22TI2V5B }

    /// The transformer's `config.json`.
    public func transformerConfiguration() throws -> WanTransformer3DConfig {
        let configuration: WanTransformer3DConfig = try decode(
            self == .wan21T2V1_3B ? WanCatalogConfigs.wan21Transformer : WanCatalogConfigs.wan22Transformer)
        try configuration.validate(source: "\(checkpoint) transformer/config.json")
        return configuration
    }

    /// The VAE's `config.json`.
    public func vaeConfiguration() throws -> AutoencoderKLWanConfig {
        let configuration: AutoencoderKLWanConfig = try decode(
            self == .wan21T2V1_3B ? WanCatalogConfigs.wan21VAE : WanCatalogConfigs.wan22VAE)
        try configuration.validate(source: "\(checkpoint) vae/config.json")
        return configuration
    }

    /// The text encoder's `config.json` (UMT5-XXL, the same for both checkpoints).
    public func textEncoderConfiguration() throws -> UMT5Config {
        let configuration: UMT5Config = try decode(WanCatalogConfigs.umt5XXL)
        try configuration.validate(source: "\(checkpoint) text_encoder/config.json")
        return configuration
    }

    /// The scheduler's `scheduler_config.json` (UniPC with flow sigmas, shift 3 or 5).
    public func schedulerConfiguration() throws -> SchedulerConfiguration {
        try decode(self == .wan21T2V1_3B ? WanCatalogConfigs.wan21Scheduler : WanCatalogConfigs.wan22Scheduler)
    }

    /// Every component over pseudo-random F16 weights (nothing is read from disk or uploaded until a stage builds
    /// its model).
    public func components(seed: UInt64 = 0) throws -> WanStageComponents {
        func table(_ shapes: [(name: String, shape: [Int])]) -> [String: [Int]] {
            Dictionary(uniqueKeysWithValues: shapes.map { ($0.name, $0.shape) })
        }
        let text = try textEncoderConfiguration()
        let transformer = try transformerConfiguration()
        let vae = try vaeConfiguration()
        return WanStageComponents(
            name: rawValue,
            textEncoder: text,
            textEncoderStore: RandomWeightStore(
                shapes: table(UMT5EncoderModel.parameterShapes(text)), sourceName: "random \(rawValue) text_encoder",
                seed: seed),
            transformer: transformer,
            transformerStore: RandomWeightStore(
                shapes: table(WanTransformer3DModel.parameterShapes(transformer)),
                sourceName: "random \(rawValue) transformer", seed: seed),
            vae: vae,
            vaeStore: RandomWeightStore(
                shapes: table(AutoencoderKLWan.parameterShapes(vae)), sourceName: "random \(rawValue) vae", seed: seed),
            imageToVideo: imageToVideo)
    }

    private func decode<T: Decodable>(_ json: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.utf8))
    }
}
