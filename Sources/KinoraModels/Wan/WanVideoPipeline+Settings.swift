import Foundation

/// What one Wan text-to-video generation asks for: diffusers' `WanPipeline.__call__` arguments.
public struct WanVideoSettings: Sendable, Equatable {
    public var prompt: String
    /// The classifier-free guidance's negative prompt (diffusers encodes "" when none is given).
    public var negativePrompt: String
    public var width: Int
    public var height: Int
    /// Video frames, of the form 4k + 1 (the VAE's temporal compression k + 1 latent frames).
    public var frames: Int
    public var steps: Int
    /// Guidance applies when it is above 1, as `do_classifier_free_guidance`.
    public var guidanceScale: Float
    /// Seeds torch's CPU generator (`TorchRandom`), so the initial noise is diffusers' for the same seed.
    public var seed: UInt64
    public var sampler: FlowSamplerKind
    /// The length prompts are padded and truncated to (`max_sequence_length`).
    public var maxSequenceLength: Int
    /// Whether the decode splits each frame into tiles: `auto` when a whole frame's call would not fit the memory
    /// left (`AutoencoderKLWan.streamingTiles`), `on` with diffusers' tiles, `off` never.
    public var vaeTiling: AutoencoderKL.Tiling = .auto
    /// Streams the text encoder's weights layer by layer from host memory (the same values as a resident pass).
    public var streamedTextEncoder: Bool
    /// Streams the transformer's weights block by block from host memory (the same values as a resident pass).
    public var streamedTransformer: Bool

    /// `streamedWeights` sets how both the text encoder and the transformer run.
    public init(
        prompt: String, negativePrompt: String = "", width: Int = 832, height: Int = 480, frames: Int = 81,
        steps: Int = 50, guidanceScale: Float = 5, seed: UInt64 = 0, sampler: FlowSamplerKind = .unipc,
        maxSequenceLength: Int = UMT5EncoderModel.wanMaxSequenceLength, streamedWeights: Bool = true
    ) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.width = width
        self.height = height
        self.frames = frames
        self.steps = steps
        self.guidanceScale = guidanceScale
        self.seed = seed
        self.sampler = sampler
        self.maxSequenceLength = maxSequenceLength
        streamedTextEncoder = streamedWeights
        streamedTransformer = streamedWeights
    }

    /// Whether the negative prompt is encoded and a second, unconditional prediction made per step.
    public var usesGuidance: Bool { guidanceScale > 1 }
}

/// Video frames as the pipeline hands them on while decoding: RGB in [0, 1] (diffusers' `postprocess_video` with
/// output type "np", `(x / 2 + 0.5).clamp(0, 1)`), frame-major, each frame row-major with interleaved channels.
public struct WanVideoFrames: Sendable, Equatable {
    /// The clip index of the first frame here.
    public let start: Int
    public let count: Int
    public let width: Int
    public let height: Int
    /// [count, height, width, 3] values.
    public let rgb: [Float]
}

/// A keyframe for Wan 2.2 TI2V's image-to-video: RGB in [0, 1] (8-bit values / 255, as diffusers' image
/// preprocessing reads a picture), row-major [height, width, 3], of the video's size (the pipeline does not resample).
public struct WanVideoImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let rgb: [Float]

    public init(width: Int, height: Int, rgb: [Float]) {
        self.width = width
        self.height = height
        self.rgb = rgb
    }
}

/// Why a Wan video request was refused before any work, or its components do not fit together.
public enum WanVideoPipelineError: Error, Equatable, CustomStringConvertible {
    case invalidFrameCount(frames: Int, temporalCompression: Int)
    case invalidSize(width: Int, height: Int, multiple: Int)
    case invalidSteps(Int)
    case invalidGuidance(Float)
    case invalidSequenceLength(Int)
    case mismatchedComponents(reason: String)
    case imageAspectRatio(imageWidth: Int, imageHeight: Int, width: Int, height: Int)
    case imageSize(imageWidth: Int, imageHeight: Int, width: Int, height: Int)
    case invalidImage(reason: String)
    case imageNeedsPerTokenTimesteps

    public var description: String {
        switch self {
        case .invalidFrameCount(let frames, let step):
            let below = max(1, (frames - 1) / step * step + 1)
            return "Wan video: \(frames) frames is not of the form \(step)k + 1 (for example \(below) or "
                + "\(below + step))"
        case .invalidSize(let width, let height, let multiple):
            return "Wan video: size \(width)x\(height) is not a positive multiple of \(multiple) on both sides (the "
                + "VAE's stride times the transformer's patch)"
        case .invalidSteps(let steps):
            return "Wan video: \(steps) steps; give at least 1"
        case .invalidGuidance(let scale):
            return "Wan video: guidance scale \(scale) is not a finite number"
        case .invalidSequenceLength(let length):
            return "Wan video: max sequence length \(length); give at least 1"
        case .mismatchedComponents(let reason):
            return "Wan video: the components do not fit together: \(reason)"
        case .imageAspectRatio(let imageWidth, let imageHeight, let width, let height):
            return "Wan video: the keyframe is \(imageWidth)x\(imageHeight), another aspect ratio than the video's "
                + "\(width)x\(height); crop it to \(width):\(height) first"
        case .imageSize(let imageWidth, let imageHeight, let width, let height):
            return "Wan video: the keyframe is \(imageWidth)x\(imageHeight) but the video is \(width)x\(height); "
                + "resize it to the video's size first"
        case .invalidImage(let reason):
            return "Wan video: the keyframe: \(reason)"
        case .imageNeedsPerTokenTimesteps:
            return "Wan video: this model takes no keyframe: image-to-video needs a model trained with per-token "
                + "timesteps (Wan 2.2 TI2V 5B, expand_timesteps in its model_index.json)"
        }
    }
}
