import Foundation

/// A MusicGen `config.json` (transformers' `MusicgenConfig`): the T5 text encoder, the EnCodec audio codec and the
/// decoder, each a sub-configuration.
public struct MusicGenConfig: Decodable, Sendable {
    public var textEncoder: UMT5Config
    public var decoder: MusicGenDecoderConfig
    /// EnCodec's audio rate and the product of its upsampling ratios (samples per code frame).
    public var samplingRate: Int
    public var hopLength: Int
    /// Codes per EnCodec codebook.
    public var codebookSize: Int

    enum CodingKeys: String, CodingKey {
        case textEncoder = "text_encoder"
        case audioEncoder = "audio_encoder"
        case decoder
        case modelType = "model_type"
    }

    enum AudioKeys: String, CodingKey {
        case samplingRate = "sampling_rate"
        case upsamplingRatios = "upsampling_ratios"
        case codebookSize = "codebook_size"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let modelType = try container.decodeIfPresent(String.self, forKey: .modelType)
        guard modelType == "musicgen" else {
            throw DecodingError.dataCorruptedError(
                forKey: .modelType, in: container,
                debugDescription: "model_type is \(modelType.map { "'\($0)'" } ?? "missing"), not 'musicgen'")
        }
        textEncoder = try container.decode(UMT5Config.self, forKey: .textEncoder)
        self.decoder = try container.decode(MusicGenDecoderConfig.self, forKey: .decoder)
        let audio = try container.nestedContainer(keyedBy: AudioKeys.self, forKey: .audioEncoder)
        samplingRate = try audio.decodeIfPresent(Int.self, forKey: .samplingRate) ?? 32000
        hopLength = (try audio.decodeIfPresent([Int].self, forKey: .upsamplingRatios) ?? [8, 5, 4, 2]).reduce(1, *)
        codebookSize = try audio.decodeIfPresent(Int.self, forKey: .codebookSize) ?? 1024
    }

    /// Reads and checks `config.json`.
    public static func load(from url: URL) throws -> MusicGenConfig {
        let configuration = try ConfigurationJSON.decode(MusicGenConfig.self, from: url) {
            MusicGenError.invalidConfiguration(file: url.path, reason: $0)
        }
        try configuration.textEncoder.validate(source: url.path)
        try configuration.decoder.validate(source: url.path)
        guard configuration.samplingRate > 0, configuration.hopLength > 0 else {
            throw MusicGenError.invalidConfiguration(file: url.path, reason: "audio_encoder.sampling_rate and "
                + "upsampling_ratios must be positive")
        }
        guard configuration.codebookSize == configuration.decoder.vocabSize else {
            throw MusicGenError.invalidConfiguration(
                file: url.path, reason: "audio_encoder.codebook_size \(configuration.codebookSize) differs from "
                    + "decoder.vocab_size \(configuration.decoder.vocabSize)")
        }
        return configuration
    }

    /// Code frames per second of audio (EnCodec's frame rate: 50 for the 32 kHz codec).
    public var frameRate: Double { Double(samplingRate) / Double(hopLength) }
}
