/// The decoder of MusicGen (transformers' `MusicgenDecoderConfig`, the `decoder` entry of a MusicGen `config.json`):
/// a pre-norm transformer over `numCodebooks` parallel streams of EnCodec codes, with cross-attention to the text.
public struct MusicGenDecoderConfig: Decodable, Sendable, Equatable {
    /// Codes per codebook (2048 in the released models); the embedding tables have one more row, the pad/BOS code.
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var ffnDim: Int
    public var numAttentionHeads: Int
    public var numCodebooks: Int
    /// 1, or 2 for the stereo models, whose codebooks alternate left and right.
    public var audioChannels: Int
    /// The code that pads the delay pattern and starts every stream (`vocab_size`).
    public var padTokenID: Int
    public var maxPositionEmbeddings: Int
    public var activationFunction: String
    public var scaleEmbedding: Bool
    /// The width of the text states the cross-attention reads, when it differs from the text encoder's and no
    /// projection is used (nil in the released models).
    public var crossAttentionHiddenSize: Int?

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case ffnDim = "ffn_dim"
        case numAttentionHeads = "num_attention_heads"
        case numCodebooks = "num_codebooks"
        case audioChannels = "audio_channels"
        case padTokenID = "pad_token_id"
        case maxPositionEmbeddings = "max_position_embeddings"
        case activationFunction = "activation_function"
        case scaleEmbedding = "scale_embedding"
        case crossAttentionHiddenSize = "cross_attention_hidden_size"
    }

    /// musicgen-small's decoder (transformers' defaults).
    public static let small = MusicGenDecoderConfig(
        vocabSize: 2048, hiddenSize: 1024, numHiddenLayers: 24, ffnDim: 4096, numAttentionHeads: 16, numCodebooks: 4,
        audioChannels: 1, padTokenID: 2048, maxPositionEmbeddings: 2048, activationFunction: "gelu",
        scaleEmbedding: false, crossAttentionHiddenSize: nil)

    public init(
        vocabSize: Int, hiddenSize: Int, numHiddenLayers: Int, ffnDim: Int, numAttentionHeads: Int, numCodebooks: Int,
        audioChannels: Int, padTokenID: Int, maxPositionEmbeddings: Int, activationFunction: String,
        scaleEmbedding: Bool, crossAttentionHiddenSize: Int?
    ) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.ffnDim = ffnDim
        self.numAttentionHeads = numAttentionHeads
        self.numCodebooks = numCodebooks
        self.audioChannels = audioChannels
        self.padTokenID = padTokenID
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.activationFunction = activationFunction
        self.scaleEmbedding = scaleEmbedding
        self.crossAttentionHiddenSize = crossAttentionHiddenSize
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let small = Self.small
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try container.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        self.init(
            vocabSize: try value(.vocabSize, small.vocabSize), hiddenSize: try value(.hiddenSize, small.hiddenSize),
            numHiddenLayers: try value(.numHiddenLayers, small.numHiddenLayers),
            ffnDim: try value(.ffnDim, small.ffnDim),
            numAttentionHeads: try value(.numAttentionHeads, small.numAttentionHeads),
            numCodebooks: try value(.numCodebooks, small.numCodebooks),
            audioChannels: try value(.audioChannels, small.audioChannels),
            padTokenID: try container.decodeIfPresent(Int.self, forKey: .padTokenID)
                ?? (try value(.vocabSize, small.vocabSize)),
            maxPositionEmbeddings: try value(.maxPositionEmbeddings, small.maxPositionEmbeddings),
            activationFunction: try value(.activationFunction, small.activationFunction),
            scaleEmbedding: try value(.scaleEmbedding, small.scaleEmbedding),
            crossAttentionHiddenSize: try container.decodeIfPresent(Int.self, forKey: .crossAttentionHiddenSize))
    }

    /// Checks what the decoder supports, naming `source` in the error.
    public func validate(source: String) throws {
        func fail(_ reason: String) -> MusicGenError { .invalidConfiguration(file: source, reason: reason) }
        for (name, value) in [("vocab_size", vocabSize), ("hidden_size", hiddenSize),
                              ("num_hidden_layers", numHiddenLayers), ("ffn_dim", ffnDim),
                              ("num_attention_heads", numAttentionHeads), ("num_codebooks", numCodebooks)]
        where !(1...65536).contains(value) {
            throw fail("decoder.\(name) \(value) must be 1...65536")
        }
        guard hiddenSize % numAttentionHeads == 0, hiddenSize / numAttentionHeads <= 256 else {
            throw fail("decoder.hidden_size \(hiddenSize) must split into \(numAttentionHeads) heads of at most 256")
        }
        guard audioChannels == 1 || audioChannels == 2 && numCodebooks % 2 == 0 else {
            throw fail("decoder.audio_channels \(audioChannels) must be 1, or 2 with an even number of codebooks")
        }
        guard padTokenID == vocabSize else {
            throw fail("decoder.pad_token_id \(padTokenID) must be vocab_size \(vocabSize), the extra embedding row")
        }
        guard activationFunction == "gelu" else {
            throw fail("decoder.activation_function '\(activationFunction)' is not supported (MusicGen uses gelu)")
        }
        guard hiddenSize % 2 == 0 else { throw fail("decoder.hidden_size \(hiddenSize) must be even") }
    }

    /// Codebooks per audio channel.
    public var codebooksPerChannel: Int { numCodebooks / audioChannels }
}
