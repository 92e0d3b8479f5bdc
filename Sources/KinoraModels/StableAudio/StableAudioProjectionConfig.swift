import Foundation

/// The configuration of diffusers' `StableAudioProjectionModel`, decoded from the `config.json` of a Stable Audio
/// pipeline's `projection_model/`: the text encoder's width, the width of the conditioning tokens, and the range the
/// seconds-start and seconds-total numbers are clamped to and normalised over.
public struct StableAudioProjectionConfig: Codable, Sendable, Equatable {
    /// The text encoder's hidden width (T5-base's 768).
    public var textEncoderDim: Int
    /// The width of the conditioning tokens; the text projection is the identity when it equals `textEncoderDim`.
    public var conditioningDim: Int
    public var minValue: Float
    public var maxValue: Float
    /// Whether the model is conditioned on where the span starts (`start_number_conditioner`, Stable Audio Open 1.0)
    /// besides its total length; without it (Stable Audio Open Small) the text is followed by the seconds-total token
    /// alone, which is also the whole global token. diffusers always has both; the key (`seconds_start`) is Kinora's.
    public var secondsStart: Bool

    enum CodingKeys: String, CodingKey {
        case textEncoderDim = "text_encoder_dim"
        case conditioningDim = "conditioning_dim"
        case minValue = "min_value"
        case maxValue = "max_value"
        case secondsStart = "seconds_start"
    }

    public init(textEncoderDim: Int, conditioningDim: Int, minValue: Float, maxValue: Float, secondsStart: Bool = true)
    {
        self.textEncoderDim = textEncoderDim
        self.conditioningDim = conditioningDim
        self.minValue = minValue
        self.maxValue = maxValue
        self.secondsStart = secondsStart
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            textEncoderDim: try container.decode(Int.self, forKey: .textEncoderDim),
            conditioningDim: try container.decode(Int.self, forKey: .conditioningDim),
            minValue: try container.decode(Float.self, forKey: .minValue),
            maxValue: try container.decode(Float.self, forKey: .maxValue),
            secondsStart: try container.decodeIfPresent(Bool.self, forKey: .secondsStart) ?? true)
    }

    /// Stable Audio Open 1.0 (`stabilityai/stable-audio-open-1.0`, `projection_model/config.json`).
    public static let stableAudioOpen1 = StableAudioProjectionConfig(
        textEncoderDim: 768, conditioningDim: 768, minValue: 0, maxValue: 512)

    /// Stable Audio Open Small: T5-base's width with no text projection, seconds total alone, in 0…256 s.
    public static let stableAudioOpenSmall = StableAudioProjectionConfig(
        textEncoderDim: 768, conditioningDim: 768, minValue: 0, maxValue: 256, secondsStart: false)

    /// Conditioning tokens after the text: start and total, or total alone.
    public var secondsTokens: Int { secondsStart ? 2 : 1 }

    /// The width of the global token the DiT reads (`global_states_input_dim`): the seconds tokens side by side.
    public var globalDim: Int { secondsTokens * conditioningDim }

    /// The width of `StableAudioPositionalEmbedding`'s features before the number conditioner's linear layer:
    /// diffusers' fixed `internal_dim` 256 (128 sines, 128 cosines), plus the normalised number itself.
    public static let numberFeatureDim = 256

    /// Whether the text passes through a linear `text_projection` (diffusers uses `nn.Identity` when the widths are
    /// equal).
    public var projectsText: Bool { textEncoderDim != conditioningDim }

    /// Decodes and checks `config.json` at `url`; every failure names the file.
    public static func load(from url: URL) throws -> StableAudioProjectionConfig {
        let configuration = try ConfigurationJSON.decode(StableAudioProjectionConfig.self, from: url) {
            StableAudioDiTError.invalidConfiguration(file: url.path, reason: $0)
        }
        try configuration.validate(source: url.path)
        return configuration
    }

    /// Throws for non-positive widths or a range that is empty or not finite.
    public func validate(source: String = "StableAudioProjectionConfig") throws {
        func fail(_ reason: String) -> StableAudioDiTError { .invalidConfiguration(file: source, reason: reason) }
        let sizes = [("text_encoder_dim", textEncoderDim), ("conditioning_dim", conditioningDim)]
        for (key, size) in sizes where size <= 0 {
            throw fail("\(key) must be positive, got \(size)")
        }
        guard minValue.isFinite, maxValue.isFinite, minValue < maxValue else {
            throw fail("min_value \(minValue) must be finite and below max_value \(maxValue)")
        }
    }
}
