import Foundation

/// The configuration of an Oobleck audio VAE (diffusers' `AutoencoderOobleck`, the VAE of Stable Audio Open 1.0 and
/// Small), decoded from the `config.json` of a diffusers `vae/` folder. Keys missing from the file take diffusers
/// 0.42.1's defaults, which are Stable Audio Open's VAE.
public struct AutoencoderOobleckConfig: Codable, Sendable, Equatable {
    /// The encoder's base width; its last convolution gives this many channels, the posterior's mean and scale.
    public var encoderHiddenSize: Int
    /// The encoder's block strides, first to last; the decoder's blocks upsample by them in reverse.
    public var downsamplingRatios: [Int]
    /// Width multiples of the blocks (after an implicit 1 for the first convolution), one per stride.
    public var channelMultiples: [Int]
    /// The decoder's base width.
    public var decoderChannels: Int
    /// Latent channels: the decoder's input, and half the encoder's output.
    public var decoderInputChannels: Int
    /// 1 (mono) or 2 (stereo).
    public var audioChannels: Int
    /// Samples per second of the audio the model was trained on (not used by the layers).
    public var samplingRate: Int

    enum CodingKeys: String, CodingKey {
        case encoderHiddenSize = "encoder_hidden_size"
        case downsamplingRatios = "downsampling_ratios"
        case channelMultiples = "channel_multiples"
        case decoderChannels = "decoder_channels"
        case decoderInputChannels = "decoder_input_channels"
        case audioChannels = "audio_channels"
        case samplingRate = "sampling_rate"
    }

    /// A configuration with diffusers' defaults (Stable Audio Open's VAE) for every value not given.
    public init(
        encoderHiddenSize: Int = 128, downsamplingRatios: [Int] = [2, 4, 4, 8, 8],
        channelMultiples: [Int] = [1, 2, 4, 8, 16], decoderChannels: Int = 128, decoderInputChannels: Int = 64,
        audioChannels: Int = 2, samplingRate: Int = 44100
    ) {
        self.encoderHiddenSize = encoderHiddenSize
        self.downsamplingRatios = downsamplingRatios
        self.channelMultiples = channelMultiples
        self.decoderChannels = decoderChannels
        self.decoderInputChannels = decoderInputChannels
        self.audioChannels = audioChannels
        self.samplingRate = samplingRate
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = AutoencoderOobleckConfig()
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try container.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        self.init(
            encoderHiddenSize: try value(.encoderHiddenSize, defaults.encoderHiddenSize),
            downsamplingRatios: try value(.downsamplingRatios, defaults.downsamplingRatios),
            channelMultiples: try value(.channelMultiples, defaults.channelMultiples),
            decoderChannels: try value(.decoderChannels, defaults.decoderChannels),
            decoderInputChannels: try value(.decoderInputChannels, defaults.decoderInputChannels),
            audioChannels: try value(.audioChannels, defaults.audioChannels),
            samplingRate: try value(.samplingRate, defaults.samplingRate))
    }

    /// Stable Audio Open 1.0's and Small's VAE (`stabilityai/stable-audio-open-1.0/vae`): stereo 44.1 kHz, 64 latent
    /// channels, 2048 samples per latent frame.
    public static let stableAudioOpen = AutoencoderOobleckConfig()

    // MARK: Derived sizes

    /// Audio samples per latent frame: the product of the strides (diffusers' `hop_length`).
    public var hopLength: Int { downsamplingRatios.reduce(1, *) }
    /// The decoder's strides, first to last (diffusers' `upsampling_ratios`).
    public var upsamplingRatios: [Int] { downsamplingRatios.reversed() }
    /// The encoder's widths: its first convolution's, then each block's output.
    public var encoderDims: [Int] { ([1] + channelMultiples).map { encoderHiddenSize * $0 } }
    /// The decoder's widths: its first convolution's, then each block's output (the last is `decoder_channels`).
    public var decoderDims: [Int] { ([1] + channelMultiples).reversed().map { decoderChannels * $0 } }
    /// A one-line description for messages.
    var summary: String {
        "an Oobleck VAE with encoder_hidden_size \(encoderHiddenSize), decoder_channels \(decoderChannels), "
            + "downsampling_ratios \(downsamplingRatios), channel_multiples \(channelMultiples), "
            + "\(decoderInputChannels) latent and \(audioChannels) audio channels"
    }

    // MARK: Loading and checking

    /// Decodes and checks `config.json` at `url`; every failure names the file.
    public static func load(from url: URL) throws -> AutoencoderOobleckConfig {
        let configuration = try ConfigurationJSON.decode(AutoencoderOobleckConfig.self, from: url) {
            AutoencoderOobleckError.invalidConfiguration(file: url.path, reason: $0)
        }
        try configuration.validate(source: url.path)
        return configuration
    }

    /// Throws when the sizes cannot describe an Oobleck VAE.
    public func validate(source: String = "AutoencoderOobleckConfig") throws {
        func fail(_ reason: String) -> AutoencoderOobleckError { .invalidConfiguration(file: source, reason: reason) }
        for (key, size) in [
            ("encoder_hidden_size", encoderHiddenSize), ("decoder_channels", decoderChannels),
            ("decoder_input_channels", decoderInputChannels), ("audio_channels", audioChannels),
            ("sampling_rate", samplingRate),
        ] where size <= 0 {
            throw fail("\(key) must be positive, got \(size)")
        }
        guard !downsamplingRatios.isEmpty, downsamplingRatios.allSatisfy({ $0 >= 1 }) else {
            throw fail("downsampling_ratios \(downsamplingRatios) must be a non-empty list of strides ≥ 1")
        }
        guard channelMultiples.count == downsamplingRatios.count, channelMultiples.allSatisfy({ $0 > 0 }) else {
            throw fail(
                "channel_multiples \(channelMultiples) needs one positive multiple for each of the "
                    + "\(downsamplingRatios.count) downsampling_ratios")
        }
        guard encoderHiddenSize == 2 * decoderInputChannels else {
            throw fail(
                "encoder_hidden_size \(encoderHiddenSize) must be twice decoder_input_channels "
                    + "\(decoderInputChannels): the encoder gives each latent channel's mean and scale")
        }
    }
}
