import Foundation

/// A MusicGen `config.json` (transformers' `MusicgenConfig`): the T5 text encoder, the EnCodec audio codec and the
/// decoder, each a sub-configuration.
public struct MusicGenConfig: Decodable, Sendable {
    public var textEncoder: UMT5Config
    public var decoder: MusicGenDecoderConfig
    /// EnCodec, the codec whose codes the decoder makes.
    public var audioEncoder: EncodecConfig

    enum CodingKeys: String, CodingKey {
        case textEncoder = "text_encoder"
        case audioEncoder = "audio_encoder"
        case decoder
        case modelType = "model_type"
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
        audioEncoder = try container.decode(EncodecConfig.self, forKey: .audioEncoder)
    }

    /// Reads and checks `config.json`.
    public static func load(from url: URL) throws -> MusicGenConfig {
        let configuration = try ConfigurationJSON.decode(MusicGenConfig.self, from: url) {
            MusicGenError.invalidConfiguration(file: url.path, reason: $0)
        }
        try configuration.textEncoder.validate(source: url.path)
        try configuration.decoder.validate(source: url.path)
        try configuration.audioEncoder.validate(source: url.path)
        guard configuration.audioEncoder.codebookSize == configuration.decoder.vocabSize else {
            throw MusicGenError.invalidConfiguration(
                file: url.path, reason: "audio_encoder.codebook_size \(configuration.audioEncoder.codebookSize) "
                    + "differs from decoder.vocab_size \(configuration.decoder.vocabSize)")
        }
        guard configuration.decoder.numCodebooks / configuration.decoder.audioChannels
            <= configuration.audioEncoder.numQuantizers else {
            throw MusicGenError.invalidConfiguration(
                file: url.path, reason: "the decoder's \(configuration.decoder.numCodebooks) codebooks are more than "
                    + "the codec's \(configuration.audioEncoder.numQuantizers) quantizers")
        }
        return configuration
    }

    /// Code frames per second of audio (EnCodec's frame rate: 50 for the 32 kHz codec).
    public var frameRate: Double { Double(audioEncoder.frameRate) }

    /// The audio's sample rate.
    public var samplingRate: Int { audioEncoder.samplingRate }
}
