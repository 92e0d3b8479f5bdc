import KinoraGPU

/// What one Wan generation asks of the device.
public struct WanGenerationRequest: Codable, Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Video frames, 4k + 1.
    public var frames: Int
    /// Classifier-free guidance (cfg > 1): the negative prompt is encoded too, and each step makes two transformer
    /// passes, one after the other (the pipeline's only way).
    public var guidance: Bool
    /// Tokens the text encoder runs over per prompt: 512, the most Wan's pipelines keep, for a plan that holds for
    /// any prompt.
    public var promptTokens: Int
    /// Wan 2.2 TI2V's image-to-video: a keyframe encoded by the VAE, per-token timesteps in the transformer.
    public var imageToVideo: Bool
    /// The activation type the models run in (`--precision`); nil: UMT5 and the transformer their weights' type,
    /// the VAE f32 (`WanVideoPipeline.precision`).
    public var precision: ActivationPrecision?

    public init(
        width: Int, height: Int, frames: Int, guidance: Bool = true,
        promptTokens: Int = UMT5EncoderModel.wanMaxSequenceLength, imageToVideo: Bool = false,
        precision: ActivationPrecision? = nil
    ) {
        self.precision = precision
        self.width = width
        self.height = height
        self.frames = frames
        self.guidance = guidance
        self.promptTokens = promptTokens
        self.imageToVideo = imageToVideo
    }
}

/// One stage of a Wan generation as planned: how it runs and the device bytes it reaches. Stages run one after
/// another, each loading its model when it starts and freeing it when it ends.
public struct WanStagePlan: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case textEncoding = "text encoding"
        case keyframeEncode = "keyframe encode"
        case denoise
        case decode
    }

    public var stage: Kind
    /// How it runs, for people: which weights stream, how guidance runs, whether frames are tiled.
    public var tactic: String
    /// Weights on the device at the stage's peak (all of them when resident; the largest streamed piece and the
    /// parts that stay when streamed), as the allocator holds them.
    public var weightBytes: UInt64
    /// Bytes the stage holds from an earlier stage: the encoded prompts, kept until the denoising ends.
    public var carriedBytes: UInt64
    /// The device bytes at the stage's highest, from a device holding nothing else: weights, carried and own inputs,
    /// the constants its graphs make, activations and outputs, as the allocator counts them.
    public var peakBytes: UInt64
    /// The largest single buffer the stage allocates, weights included, to hold against the device's largest buffer.
    public var largestBufferBytes: UInt64
}

/// The device memory of a Wan generation, stage by stage, predicted from the stages' recorded graphs
/// (`Graph.memoryPlan`, the models' streamed and stepped plans) and the weights they upload, with the tactic each
/// stage takes to fit `budget` (`WanMemoryPlanner`).
public struct WanMemoryPlan: Codable, Sendable {
    public var model: String
    public var request: WanGenerationRequest
    /// The latents [1, z_dim, T, h, w].
    public var latentShape: [Int]
    public var budget: UInt64
    /// The device's largest buffer (`MemoryAllocator.maxBufferSize`).
    public var deviceMaxBufferBytes: UInt64
    /// In the order they run.
    public var stages: [WanStagePlan]
    /// The denoiser streams its weights block by block (it does not fit resident).
    public var streamedTransformer: Bool
    /// The decode's tiles in pixels (height, width, stride height, stride width), nil for whole frames.
    public var decodeTile: [Int]?

    /// The whole plan's peak: the largest stage's, as the stages run one after another.
    public var peakBytes: UInt64 { stages.map(\.peakBytes).max() ?? 0 }

    /// The stage that sets `peakBytes`.
    public var peakStage: WanStagePlan? { stages.max { $0.peakBytes < $1.peakBytes } }

    /// Whether every stage fits the budget.
    public var fitsBudget: Bool { peakBytes <= budget }

    /// The stages needing a buffer larger than the device's largest.
    public var stagesBeyondDeviceBuffer: [WanStagePlan] {
        stages.filter { $0.largestBufferBytes > deviceMaxBufferBytes }
    }

    /// The decode's tiles, nil for whole frames.
    public var tiles: AutoencoderKLWan.TileConfiguration? {
        decodeTile.map {
            AutoencoderKLWan.TileConfiguration(
                sampleHeight: $0[0], sampleWidth: $0[1], strideHeight: $0[2], strideWidth: $0[3])
        }
    }

    /// The plan of `stage`, if it runs.
    public func stage(_ kind: WanStagePlan.Kind) -> WanStagePlan? { stages.first { $0.stage == kind } }

    /// Throws `PipelineError.overBudget` naming the stage and its bytes when the plan does not fit the budget.
    public func checkBudget() throws {
        guard let peak = peakStage, !fitsBudget else { return }
        throw PipelineError.overBudget(needed: peak.peakBytes, budget: budget, stage: peak.stage.rawValue)
    }

    /// Throws `WanMemoryPlanError.bufferTooLarge` when a stage needs a buffer the device cannot make: it could not
    /// run here, whatever the budget.
    public func checkDeviceBuffers() throws {
        guard let stage = stagesBeyondDeviceBuffer.first else { return }
        throw WanMemoryPlanError.bufferTooLarge(
            stage: stage.stage.rawValue, bytes: stage.largestBufferBytes, limit: deviceMaxBufferBytes)
    }
}

/// Why a Wan plan cannot run on a device.
public enum WanMemoryPlanError: Error, Equatable, CustomStringConvertible {
    /// A stage needs a single buffer of `bytes`, more than the device's largest (`limit`).
    case bufferTooLarge(stage: String, bytes: UInt64, limit: UInt64)
    /// A stage was asked to run that the plan does not have (a keyframe encode for text-to-video).
    case stageNotPlanned(stage: String)

    public var description: String {
        switch self {
        case .stageNotPlanned(let stage):
            return "the plan has no \(stage) stage"
        case .bufferTooLarge(let stage, let bytes, let limit):
            return "the \(stage) stage needs a single buffer of \(ByteCount(bytes)) (\(bytes) bytes), more than "
                + "this device's largest (\(ByteCount(limit))); it cannot run here at this size"
        }
    }
}
