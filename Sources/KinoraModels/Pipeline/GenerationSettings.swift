/// What one text-to-image generation is asked to do.
public struct GenerationSettings: Sendable, Codable, Equatable {
    public var prompt: String
    /// Empty means no negative prompt (diffusers' `negative_prompt=None`).
    public var negativePrompt: String = ""
    public var steps: Int = 20
    /// Classifier-free guidance scale; 1 or less turns guidance off (one UNet pass per step).
    public var guidanceScale: Float = 7.5
    public var sampler: SamplerKind = .euler
    public var seed: UInt64 = 0
    /// Image size in pixels; multiples of 8 (the VAE's downsampling factor).
    public var width: Int = 512
    public var height: Int = 512
    /// How the prompts are read: `.plain` as diffusers does (the default), `.a1111` with emphasis and long prompts.
    public var promptSyntax: PromptSyntax = .default
    /// diffusers' `clip_skip` (layers skipped; A1111's "Clip skip" N is N − 1 here).
    public var clipSkip: Int?
    public var vaeTiling: AutoencoderKL.Tiling = .auto
    /// Whether the UNet's weights stay on the device or stream block by block (`.auto`: only when that is what
    /// fits).
    public var unetWeightStreaming: WeightStreaming = .auto
    /// For image-to-image: how much of the schedule to run over the initial image (0 keeps it, 1 ignores it).
    public var strength: Double = 0.75

    public init(prompt: String) {
        self.prompt = prompt
    }

    /// The longest side a generation may have, in pixels (a workflow's `size` has the same limit): beyond it the
    /// latents and activations would not fit any device, and their sizes could overflow.
    public static let largestSide = 8192
    /// The guidance scales a generation may use (a workflow's `cfg` has the same limit).
    public static let guidanceRange: ClosedRange<Float> = 0...30
}

extension AutoencoderKL.Tiling: Codable {
    public init(from decoder: any Decoder) throws {
        switch try decoder.singleValueContainer().decode(String.self) {
        case "on": self = .on
        case "off": self = .off
        default: self = .auto
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .on: try container.encode("on")
        case .off: try container.encode("off")
        case .auto: try container.encode("auto")
        }
    }
}
