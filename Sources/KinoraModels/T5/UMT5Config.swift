import Foundation
import KinoraFormats
import KinoraTensor

/// The configuration of a UMT5 or T5 encoder (transformers' `UMT5Config`, `T5Config`), decoded from the
/// `config.json` next to the weights (a diffusers Wan folder's `text_encoder/`, Stable Audio's), or read off a single
/// file's tensor shapes. Keys missing from the file take transformers 5.23's `UMT5Config` defaults; decoder-only keys
/// are ignored.
public struct UMT5Config: Codable, Sendable, Equatable {
    public var vocabSize: Int
    /// Width of the hidden states (`hidden_size`).
    public var dModel: Int
    /// Width of one attention head; `numHeads · dKV` (the attention's inner width) need not equal `dModel`.
    public var dKV: Int
    /// Width of the feed-forward block.
    public var dFF: Int
    public var numLayers: Int
    public var numHeads: Int
    public var relativeAttentionNumBuckets: Int
    public var relativeAttentionMaxDistance: Int
    public var layerNormEpsilon: Float
    /// `gated-gelu` (UMT5, T5 v1.1: `wi_0`, `wi_1`, `wo` with GELU's tanh form) or `ACT` / `gated-ACT` for another
    /// activation (`relu` is T5 v1.0's ungated `wi`, `wo`).
    public var feedForwardProj: String
    /// `umt5` (a relative position bias in every layer) or `t5` (layer 0's, shared by every layer).
    public var modelType: String

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size"
        case dModel = "d_model"
        case dKV = "d_kv"
        case dFF = "d_ff"
        case numLayers = "num_layers"
        case numHeads = "num_heads"
        case relativeAttentionNumBuckets = "relative_attention_num_buckets"
        case relativeAttentionMaxDistance = "relative_attention_max_distance"
        case layerNormEpsilon = "layer_norm_epsilon"
        case feedForwardProj = "feed_forward_proj"
        case modelType = "model_type"
    }

    /// A configuration with transformers' `UMT5Config` defaults (google/umt5-small) for every value not given.
    public init(
        vocabSize: Int = 250112, dModel: Int = 512, dKV: Int = 64, dFF: Int = 1024, numLayers: Int = 8,
        numHeads: Int = 6, relativeAttentionNumBuckets: Int = 32, relativeAttentionMaxDistance: Int = 128,
        layerNormEpsilon: Float = 1e-6, feedForwardProj: String = "gated-gelu", modelType: String = "umt5"
    ) {
        self.vocabSize = vocabSize
        self.dModel = dModel
        self.dKV = dKV
        self.dFF = dFF
        self.numLayers = numLayers
        self.numHeads = numHeads
        self.relativeAttentionNumBuckets = relativeAttentionNumBuckets
        self.relativeAttentionMaxDistance = relativeAttentionMaxDistance
        self.layerNormEpsilon = layerNormEpsilon
        self.feedForwardProj = feedForwardProj
        self.modelType = modelType
    }

    /// The UMT5-XXL encoder of the Wan video models (`google/umt5-xxl`; Wan's `umt5_xxl`): 24 layers of width 4096,
    /// 64 heads of 64, feed-forward 10240, vocabulary 256384; about 5.7 B parameters.
    public static let umt5XXL = UMT5Config(
        vocabSize: 256384, dModel: 4096, dKV: 64, dFF: 10240, numLayers: 24, numHeads: 64)

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = UMT5Config()
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try container.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        self.init(
            vocabSize: try value(.vocabSize, defaults.vocabSize), dModel: try value(.dModel, defaults.dModel),
            dKV: try value(.dKV, defaults.dKV), dFF: try value(.dFF, defaults.dFF),
            numLayers: try value(.numLayers, defaults.numLayers),
            numHeads: try value(.numHeads, defaults.numHeads),
            relativeAttentionNumBuckets: try value(.relativeAttentionNumBuckets, defaults.relativeAttentionNumBuckets),
            relativeAttentionMaxDistance: try value(
                .relativeAttentionMaxDistance, defaults.relativeAttentionMaxDistance),
            layerNormEpsilon: try value(.layerNormEpsilon, defaults.layerNormEpsilon),
            feedForwardProj: try value(.feedForwardProj, defaults.feedForwardProj),
            modelType: try value(.modelType, defaults.modelType))
    }

    /// The attention's inner width, `num_heads · d_kv`.
    public var innerDim: Int { numHeads * dKV }

    /// Whether every layer uses layer 0's relative position bias (T5) rather than its own (UMT5).
    public var sharesPositionBias: Bool { modelType == "t5" }

    /// Whether the feed-forward block is gated (`wi_0`, `wi_1`) rather than one `wi`.
    public var isGatedAct: Bool { feedForwardProj.hasPrefix("gated-") }

    /// The feed-forward activation, as transformers' `UMT5Config.__post_init__` derives `dense_act_fn`:
    /// `gated-gelu` means `gelu_new`, otherwise the name after `gated-` (or the whole name); nil when unsupported.
    public var activation: UMT5Activation? {
        if feedForwardProj == "gated-gelu" { return .geluNew }
        let parts = feedForwardProj.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.count == 1 || parts[0] == "gated", let name = parts.last else { return nil }
        return UMT5Activation(rawValue: String(name))
    }

    /// Decodes and checks `config.json` at `url`; every failure names the file.
    public static func load(from url: URL) throws -> UMT5Config {
        let configuration = try ConfigurationJSON.decode(UMT5Config.self, from: url) {
            UMT5Error.invalidConfiguration(file: url.path, reason: $0)
        }
        try configuration.validate(source: url.path)
        return configuration
    }

    /// Throws when the sizes cannot describe an encoder, the buckets cannot be formed, or the feed-forward kind is
    /// not one Kinora runs.
    public func validate(source: String = "UMT5Config") throws {
        func fail(_ reason: String) -> UMT5Error { .invalidConfiguration(file: source, reason: reason) }
        let sizes = [
            ("vocab_size", vocabSize), ("d_model", dModel), ("d_kv", dKV), ("d_ff", dFF),
            ("num_layers", numLayers), ("num_heads", numHeads),
        ]
        for (key, size) in sizes where size <= 0 {
            throw fail("\(key) must be positive, got \(size)")
        }
        guard relativeAttentionNumBuckets >= 4 else {
            throw fail(
                "relative_attention_num_buckets \(relativeAttentionNumBuckets) leaves no exact bucket; "
                    + "it must be at least 4")
        }
        let maxExact = relativeAttentionNumBuckets / 4
        guard relativeAttentionMaxDistance > maxExact else {
            throw fail(
                "relative_attention_max_distance \(relativeAttentionMaxDistance) must exceed "
                    + "relative_attention_num_buckets / 4 = \(maxExact)")
        }
        guard layerNormEpsilon >= 0, layerNormEpsilon.isFinite else {
            throw fail("layer_norm_epsilon \(layerNormEpsilon) must be finite and >= 0")
        }
        guard activation != nil else {
            throw fail(
                "feed_forward_proj '\(feedForwardProj)' is not supported (supported: gated-gelu, or ACT / "
                    + "gated-ACT with ACT one of " + UMT5Activation.allCases.map(\.rawValue).joined(separator: ", ")
                    + ")")
        }
        guard modelType == "umt5" || modelType == "t5" else {
            throw fail("model_type '\(modelType)' is not an encoder Kinora runs (umt5, t5)")
        }
        guard dKV <= Graph.maxAttentionHeadDim else {
            throw fail("d_kv \(dKV) exceeds the attention kernel's largest head width \(Graph.maxAttentionHeadDim)")
        }
    }

    /// The configuration a checkpoint's tensors (under transformers' names) describe: vocabulary and width from
    /// `shared.weight`, heads and buckets from layer 0's `relative_attention_bias`, `d_kv` from `q`, the
    /// feed-forward width and kind from `wi_0` (gated) or `wi`, and the layer count. `relative_attention_max_distance`
    /// and `layer_norm_epsilon` leave no trace in the weights and take the defaults every UMT5 and T5 checkpoint uses
    /// (128 and 1e-6). The shapes are checked against it when the model is built.
    public static func inferred(from store: any WeightStore) throws -> UMT5Config {
        let table = ShapeTable(store)
        let embedding = table.contains("shared.weight") ? "shared.weight" : "encoder.embed_tokens.weight"
        let shared = try table.shape(embedding, rank: 2)
        let block = "encoder.block.0.layer."
        let bias = try table.shape(block + "0.SelfAttention.relative_attention_bias.weight", rank: 2)
        let query = try table.shape(block + "0.SelfAttention.q.weight", rank: 2)
        let gated = table.contains(block + "1.DenseReluDense.wi_0.weight")
        let input = try table.shape(
            block + (gated ? "1.DenseReluDense.wi_0.weight" : "1.DenseReluDense.wi.weight"),
            rank: 2)
        let heads = bias[1]
        let layers = try table.count(under: "encoder.block.")
        // T5 keeps its one position bias in layer 0; UMT5 has one in every layer.
        let sharedBias =
            layers > 1 && !table.contains("encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight")
        guard heads > 0, query[0] % heads == 0 else {
            throw WeightsError.unrecognizedCheckpoint(
                file: store.sourceName,
                reason: "the attention's inner width \(query[0]) (q.weight \(query)) does "
                    + "not split into the \(heads) heads of relative_attention_bias.weight \(bias)")
        }
        return UMT5Config(
            vocabSize: shared[0], dModel: shared[1], dKV: query[0] / heads, dFF: input[0],
            numLayers: layers, numHeads: heads,
            relativeAttentionNumBuckets: bias[0], feedForwardProj: gated ? "gated-gelu" : "relu",
            modelType: sharedBias ? "t5" : "umt5")
    }

}

/// The feed-forward activations transformers' `ACT2FN` maps T5-family `dense_act_fn` names to, as far as Kinora
/// runs them.
public enum UMT5Activation: String, Sendable, CaseIterable {
    case relu
    /// Exact GELU with erf.
    case gelu
    /// GELU's tanh approximation (`NewGELUActivation`), what `gated-gelu` means.
    case geluNew = "gelu_new"
    case geluPyTorchTanh = "gelu_pytorch_tanh"
    case silu
}
