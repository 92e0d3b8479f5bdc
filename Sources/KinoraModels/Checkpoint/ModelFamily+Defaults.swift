/// What a single file does not say about its model and each family fixes: the settings of the reference
/// checkpoints diffusers' `from_single_file` takes its configurations from (runwayml/stable-diffusion-v1-5,
/// stabilityai/stable-diffusion-2-1, stabilityai/stable-diffusion-xl-base-1.0), and ComfyUI's rules where it
/// infers the same.
extension ModelFamily {
    /// The training image edge in pixels.
    public var nativeImageSize: Int {
        switch self {
        case .sd1: return 512
        case .sd2: return 768
        case .sdxl: return 1024
        }
    }

    /// Group normalisation groups in the UNet and VAE (no tensor shape records them).
    public var normGroups: Int { 32 }

    /// The UNet's `attention_head_dim` for `blockOutChannels`: SD 1.x has 8 heads in every block; SD 2.x and SDXL
    /// have heads of 64 channels (diffusers' `attention_head_dim` holds the head count per block).
    public func unetAttentionHeads(blockOutChannels: [Int]) -> [Int] {
        switch self {
        case .sd1: return blockOutChannels.map { _ in 8 }
        case .sd2, .sdxl: return blockOutChannels.map { max(1, $0 / 64) }
        }
    }

    /// Attention heads of a CLIP text encoder `hiddenSize` wide: 64 channels each (CLIP ViT-L/14, OpenCLIP ViT-H/14
    /// and ViT-bigG/14 all use 64-wide heads).
    public func textEncoderHeads(hiddenSize: Int) -> Int { max(1, hiddenSize / 64) }

    /// The VAE's latent scaling factor.
    public var vaeScalingFactor: Float { self == .sdxl ? 0.13025 : 0.18215 }

    /// Whether the UNet's attention is computed in f32 even for f16 weights (SD 2.x's `upcast_attention`).
    public var upcastAttention: Bool { self == .sd2 }

    /// What the denoiser predicts when the file does not say: SD 2.x's common 768 checkpoints predict v.
    public var predictionType: PredictionType { self == .sd2 ? .vPrediction : .epsilon }

    /// The pad token of the text encoders' tokenizers, in pipeline order: SD 2.x's and SDXL's OpenCLIP tokenizers
    /// pad with `!`, OpenAI CLIP's with `<|endoftext|>`.
    public var tokenizerPadTokens: [String] {
        switch self {
        case .sd1: return ["<|endoftext|>"]
        case .sd2: return ["!"]
        case .sdxl: return ["<|endoftext|>", "!"]
        }
    }

    /// Whether an empty negative prompt conditions the unconditional half on zeros (SDXL's
    /// `force_zeros_for_empty_prompt`).
    public var zerosForEmptyNegative: Bool { self == .sdxl }

    /// The scheduler configuration of the family's reference checkpoint (the scaled-linear schedule of 1000
    /// training steps every Stable Diffusion shares), predicting `prediction`.
    public func schedulerConfiguration(prediction: PredictionType) -> SchedulerConfiguration {
        var configuration = SchedulerConfiguration()
        configuration.numTrainTimesteps = 1000
        configuration.betaStart = 0.00085
        configuration.betaEnd = 0.012
        configuration.betaSchedule = "scaled_linear"
        configuration.stepsOffset = 1
        configuration.clipSample = false
        configuration.setAlphaToOne = false
        configuration.predictionType = prediction
        if self == .sdxl { configuration.timestepSpacing = .leading }
        return configuration
    }
}
