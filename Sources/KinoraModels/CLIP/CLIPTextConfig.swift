import Foundation

/// The configuration of a CLIP text encoder, decoded from the `config.json` transformers writes next to the weights
/// (diffusers' `text_encoder/` and `text_encoder_2/` folders). Keys missing from the file take transformers'
/// `CLIPTextConfig` defaults.
public struct CLIPTextConfig: Codable, Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    /// Width of `text_projection`'s output (`CLIPTextModelWithProjection` only).
    public var projectionDim: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var maxPositionEmbeddings: Int
    /// The MLP activation: `quick_gelu` (OpenAI CLIP, SD 1.x) or `gelu` (OpenCLIP, SD 2.x and SDXL's encoder 2).
    public var hiddenAct: String
    public var layerNormEps: Float
    public var padTokenId: Int?
    public var bosTokenId: Int?
    /// Picks the pooled position: 2 (the legacy value most SD configs carry) means "the largest input id", any
    /// other value "the first position holding this id".
    public var eosTokenId: Int?

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case projectionDim = "projection_dim"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case maxPositionEmbeddings = "max_position_embeddings"
        case hiddenAct = "hidden_act"
        case layerNormEps = "layer_norm_eps"
        case padTokenId = "pad_token_id"
        case bosTokenId = "bos_token_id"
        case eosTokenId = "eos_token_id"
    }

    /// A configuration with transformers' `CLIPTextConfig` defaults (openai/clip-vit-base-patch32's text model) for
    /// every value not given.
    public init(vocabSize: Int = 49408, hiddenSize: Int = 512, intermediateSize: Int = 2048, projectionDim: Int = 512,
                numHiddenLayers: Int = 12, numAttentionHeads: Int = 8, maxPositionEmbeddings: Int = 77,
                hiddenAct: String = "quick_gelu", layerNormEps: Float = 1e-5, padTokenId: Int? = 1,
                bosTokenId: Int? = 49406, eosTokenId: Int? = 49407) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.projectionDim = projectionDim
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.hiddenAct = hiddenAct
        self.layerNormEps = layerNormEps
        self.padTokenId = padTokenId
        self.bosTokenId = bosTokenId
        self.eosTokenId = eosTokenId
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = CLIPTextConfig()
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try container.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        func optional(_ key: CodingKeys, _ fallback: Int?) throws -> Int? {
            container.contains(key) ? try container.decodeIfPresent(Int.self, forKey: key) : fallback
        }
        self.init(vocabSize: try value(.vocabSize, defaults.vocabSize),
                  hiddenSize: try value(.hiddenSize, defaults.hiddenSize),
                  intermediateSize: try value(.intermediateSize, defaults.intermediateSize),
                  projectionDim: try value(.projectionDim, defaults.projectionDim),
                  numHiddenLayers: try value(.numHiddenLayers, defaults.numHiddenLayers),
                  numAttentionHeads: try value(.numAttentionHeads, defaults.numAttentionHeads),
                  maxPositionEmbeddings: try value(.maxPositionEmbeddings, defaults.maxPositionEmbeddings),
                  hiddenAct: try value(.hiddenAct, defaults.hiddenAct),
                  layerNormEps: try value(.layerNormEps, defaults.layerNormEps),
                  padTokenId: try optional(.padTokenId, defaults.padTokenId),
                  bosTokenId: try optional(.bosTokenId, defaults.bosTokenId),
                  eosTokenId: try optional(.eosTokenId, defaults.eosTokenId))
    }

    /// Decodes and checks `config.json` at `url`; every failure names the file.
    public static func load(from url: URL) throws -> CLIPTextConfig {
        let configuration = try ConfigurationJSON.decode(CLIPTextConfig.self, from: url) {
            CLIPError.invalidConfiguration(file: url.path, reason: $0)
        }
        try configuration.validate(source: url.path)
        return configuration
    }

    /// Throws when the sizes cannot describe a model or the activation is not one CLIP uses.
    public func validate(source: String = "CLIPTextConfig") throws {
        func fail(_ reason: String) -> CLIPError { .invalidConfiguration(file: source, reason: reason) }
        let sizes = [("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                     ("projection_dim", projectionDim), ("num_hidden_layers", numHiddenLayers),
                     ("num_attention_heads", numAttentionHeads), ("max_position_embeddings", maxPositionEmbeddings)]
        for (key, size) in sizes where size <= 0 {
            throw fail("\(key) must be positive, got \(size)")
        }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw fail("hidden_size \(hiddenSize) does not split into \(numAttentionHeads) attention heads")
        }
        guard CLIPActivation(rawValue: hiddenAct) != nil else {
            throw fail("hidden_act '\(hiddenAct)' is not supported (supported: "
                + CLIPActivation.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
    }

}

/// The activations transformers' `ACT2FN` maps CLIP's `hidden_act` names to, as far as CLIP checkpoints use them.
public enum CLIPActivation: String, Sendable, CaseIterable {
    /// `x · sigmoid(1.702 · x)` (OpenAI CLIP).
    case quickGELU = "quick_gelu"
    /// Exact GELU with erf (OpenCLIP).
    case gelu
    /// GELU's tanh approximation (`NewGELUActivation` / `GELUTanh`).
    case geluNew = "gelu_new"
    case geluPyTorchTanh = "gelu_pytorch_tanh"
}
