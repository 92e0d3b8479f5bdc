import KinoraGPU
import KinoraTensor

/// What one autoregressive Wan stream asks of the device (`kinora video --autoregressive`).
public struct WanStreamRequest: Codable, Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Latent frames of the whole stream, the start picture's included.
    public var latentFrames: Int
    /// Latent frames a chunk (Self-Forcing's `num_frame_per_block`, 3).
    public var chunkFrames: Int
    /// The attention window in latent frames (nil: every frame stays cached) and its sink.
    public var windowFrames: Int?
    public var sinkFrames: Int
    /// How the KV cache is stored.
    public var cacheType: DType
    /// How the VAE decoder's feature cache is stored (f16 halves it, within 5.1e-4 relative L2 of f32 on the tiny
    /// Wan 2.1 VAE: `AutoencoderKLWanStreamingTests`); by default it follows the KV cache: f16 with either 16-bit
    /// kind, else f32.
    public var decoderCacheType: DType
    /// Tokens the text encoder runs over per prompt (512 holds for any prompt).
    public var promptTokens: Int
    /// Prompts encoded before the stream starts (1 + the prompt switches); their embeddings stay on the device.
    public var prompts: Int
    /// The stream starts from a picture: the VAE encodes it, and its latent frame is the first cached one.
    public var startPicture: Bool
    /// The activation type the models run in (`--precision`); nil: UMT5 and the transformer their weights' type,
    /// the VAE f32 (`WanVideoPipeline.precision`). The KV cache's type is `cacheType`, which callers default to the
    /// transformer's activation type.
    public var precision: ActivationPrecision?

    /// The VAE feature cache's type that goes with a KV cache of `cacheType`: f16 with either 16-bit kind, else f32.
    public static func decoderCacheType(following cacheType: DType) -> DType {
        cacheType == .f32 ? .f32 : .f16
    }

    public init(
        width: Int, height: Int, latentFrames: Int, chunkFrames: Int = 3, windowFrames: Int? = nil,
        sinkFrames: Int = 0, cacheType: DType = .f16, decoderCacheType: DType? = nil,
        promptTokens: Int = UMT5EncoderModel.wanMaxSequenceLength, prompts: Int = 1, startPicture: Bool = false,
        precision: ActivationPrecision? = nil
    ) {
        self.precision = precision
        self.width = width
        self.height = height
        self.latentFrames = latentFrames
        self.chunkFrames = chunkFrames
        self.windowFrames = windowFrames
        self.sinkFrames = sinkFrames
        self.cacheType = cacheType
        self.decoderCacheType = decoderCacheType ?? Self.decoderCacheType(following: cacheType)
        self.promptTokens = promptTokens
        self.prompts = prompts
        self.startPicture = startPicture
    }

    /// Chunks the stream makes after its start picture.
    public var chunks: Int { (latentFrames - (startPicture ? 1 : 0)) / chunkFrames }
}

/// The stream stage of an autoregressive Wan plan: the causal transformer and the VAE's decoder both resident while
/// chunks are made and decoded in turn, with what each holds.
public struct WanStreamStagePlan: Codable, Sendable, Equatable {
    /// The transformer's weights, all resident (a chunk's few steps would read streamed weights many times).
    public var transformerWeightBytes: UInt64
    /// The VAE decoder's weights.
    public var decoderWeightBytes: UInt64
    /// Every prompt's UMT5 embeddings, kept for the prompt switches.
    public var promptBytes: UInt64
    /// The current prompt's cross-attention keys and values, every block's.
    public var textKeyValueBytes: UInt64
    /// The KV cache at its largest: before the pass that adds a chunk to the most frames.
    public var kvCacheBytes: UInt64
    /// Latent frames cached at that point.
    public var kvCacheFrames: Int
    /// The VAE decoder's feature cache, carried from chunk to chunk.
    public var decoderCacheBytes: UInt64
    /// A denoising pass (the cache read) beyond what is resident: the chunk, the pass's constants, activations and
    /// prediction.
    public var predictPassBytes: UInt64
    /// The pass that adds the finished chunk to the cache beyond what is resident: as a denoising pass, plus the
    /// cache's new pieces.
    public var extendPassBytes: UInt64
    /// A decode call beyond the weights, its feature cache included.
    public var decodeCallBytes: UInt64
    /// Device bytes at the stage's highest.
    public var peakBytes: UInt64
    /// Which of the passes sets `peakBytes`: "denoising pass", "cache pass" or "decode".
    public var peakPass: String
    /// The largest single buffer the stage allocates.
    public var largestBufferBytes: UInt64
    /// How it runs, for people.
    public var tactic: String
}

/// The device memory of an autoregressive Wan stream, stage by stage (`WanStreamPlanner`): the prompts encoded,
/// the start picture encoded, then the stream — planned from the recorded passes and the allocator's sizes, so that
/// it does not depend on the stream's length once a window bounds the cache.
public struct WanStreamPlan: Codable, Sendable {
    public var model: String
    public var request: WanStreamRequest
    public var budget: UInt64
    public var deviceMaxBufferBytes: UInt64
    public var textEncoding: WanStagePlan
    public var keyframeEncode: WanStagePlan?
    public var stream: WanStreamStagePlan
    /// The decode's tiles in pixels (height, width, stride height, stride width), nil for whole frames.
    public var decodeTile: [Int]?

    /// The whole plan's peak: the largest stage's.
    public var peakBytes: UInt64 {
        max(textEncoding.peakBytes, keyframeEncode?.peakBytes ?? 0, stream.peakBytes)
    }

    /// The stage that sets `peakBytes`.
    public var peakStage: String {
        if stream.peakBytes >= max(textEncoding.peakBytes, keyframeEncode?.peakBytes ?? 0) { return "stream" }
        return textEncoding.peakBytes >= (keyframeEncode?.peakBytes ?? 0)
            ? textEncoding.stage.rawValue : WanStagePlan.Kind.keyframeEncode.rawValue
    }

    public var fitsBudget: Bool { peakBytes <= budget }

    /// The decode's tiles, nil for whole frames.
    public var tiles: AutoencoderKLWan.TileConfiguration? {
        decodeTile.map {
            AutoencoderKLWan.TileConfiguration(
                sampleHeight: $0[0], sampleWidth: $0[1], strideHeight: $0[2], strideWidth: $0[3])
        }
    }

    /// Throws `PipelineError.overBudget` naming the stage and its bytes when the plan does not fit the budget.
    public func checkBudget() throws {
        guard !fitsBudget else { return }
        throw PipelineError.overBudget(needed: peakBytes, budget: budget, stage: peakStage)
    }

    /// Throws `WanMemoryPlanError.bufferTooLarge` when a stage needs a buffer the device cannot make.
    public func checkDeviceBuffers() throws {
        let stages: [(String, UInt64)] =
            [
                (textEncoding.stage.rawValue, textEncoding.largestBufferBytes),
                (WanStagePlan.Kind.keyframeEncode.rawValue, keyframeEncode?.largestBufferBytes ?? 0),
                ("stream", stream.largestBufferBytes),
            ]
        guard let beyond = stages.first(where: { $0.1 > deviceMaxBufferBytes }) else { return }
        throw WanMemoryPlanError.bufferTooLarge(stage: beyond.0, bytes: beyond.1, limit: deviceMaxBufferBytes)
    }
}
