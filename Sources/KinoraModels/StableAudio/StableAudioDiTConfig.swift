import Foundation
import KinoraTensor

/// The configuration of diffusers' `StableAudioDiTModel` (the diffusion transformer of Stable Audio Open), decoded
/// from the `config.json` of a diffusers folder's `transformer/`. Keys missing from the file take diffusers 0.42.1's
/// defaults, which are Stable Audio Open 1.0's sizes.
public struct StableAudioDiTConfig: Codable, Sendable, Equatable {
    /// The latent length the model was trained on (1024 for Stable Audio Open 1.0); not a limit of the forward pass.
    public var sampleSize: Int
    /// Latent channels in (the Oobleck VAE's 64).
    public var inChannels: Int
    public var numLayers: Int
    public var attentionHeadDim: Int
    /// Query heads of both attentions (and key/value heads of the self-attention).
    public var numAttentionHeads: Int
    /// Key/value heads of the cross-attention; each serves `num_attention_heads / num_key_value_attention_heads`
    /// query heads (grouped-query attention).
    public var numKeyValueAttentionHeads: Int
    public var outChannels: Int
    /// Width of the text-and-duration tokens the cross-attention reads, after `cross_attention_proj`.
    public var crossAttentionDim: Int
    /// Width of the Gaussian Fourier timestep features (`time_proj`, half cosines, half sines).
    public var timeProjDim: Int
    /// Width of the global token (the seconds-start and seconds-total embeddings side by side).
    public var globalStatesInputDim: Int
    /// Width of the text-and-duration tokens as the projection model gives them.
    public var crossAttentionInputDim: Int
    /// Whether every attention normalises each query and key head with an affine layer norm (eps 1e-6) before the
    /// rotary embedding: stable-audio-tools' `attn_kwargs.qk_norm "ln"`, which Stable Audio Open Small uses. diffusers'
    /// `StableAudioDiTModel` has no such norm; the key (`qk_norm`, a boolean) is Kinora's, and the norms are read as
    /// `attn1.norm_q`, `attn1.norm_k`, `attn2.norm_q`, `attn2.norm_k` (diffusers' `Attention` names for them).
    public var qkNorm: Bool

    enum CodingKeys: String, CodingKey {
        case sampleSize = "sample_size"
        case inChannels = "in_channels"
        case numLayers = "num_layers"
        case attentionHeadDim = "attention_head_dim"
        case numAttentionHeads = "num_attention_heads"
        case numKeyValueAttentionHeads = "num_key_value_attention_heads"
        case outChannels = "out_channels"
        case crossAttentionDim = "cross_attention_dim"
        case timeProjDim = "time_proj_dim"
        case globalStatesInputDim = "global_states_input_dim"
        case crossAttentionInputDim = "cross_attention_input_dim"
        case qkNorm = "qk_norm"
    }

    /// A configuration with diffusers' `StableAudioDiTModel` defaults (Stable Audio Open 1.0) for every value not
    /// given.
    public init(
        sampleSize: Int = 1024, inChannels: Int = 64, numLayers: Int = 24, attentionHeadDim: Int = 64,
        numAttentionHeads: Int = 24, numKeyValueAttentionHeads: Int = 12, outChannels: Int = 64,
        crossAttentionDim: Int = 768, timeProjDim: Int = 256, globalStatesInputDim: Int = 1536,
        crossAttentionInputDim: Int = 768, qkNorm: Bool = false
    ) {
        self.sampleSize = sampleSize
        self.inChannels = inChannels
        self.numLayers = numLayers
        self.attentionHeadDim = attentionHeadDim
        self.numAttentionHeads = numAttentionHeads
        self.numKeyValueAttentionHeads = numKeyValueAttentionHeads
        self.outChannels = outChannels
        self.crossAttentionDim = crossAttentionDim
        self.timeProjDim = timeProjDim
        self.globalStatesInputDim = globalStatesInputDim
        self.crossAttentionInputDim = crossAttentionInputDim
        self.qkNorm = qkNorm
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = StableAudioDiTConfig()
        func value(_ key: CodingKeys, _ fallback: Int) throws -> Int {
            try container.decodeIfPresent(Int.self, forKey: key) ?? fallback
        }
        self.init(
            sampleSize: try value(.sampleSize, defaults.sampleSize),
            inChannels: try value(.inChannels, defaults.inChannels),
            numLayers: try value(.numLayers, defaults.numLayers),
            attentionHeadDim: try value(.attentionHeadDim, defaults.attentionHeadDim),
            numAttentionHeads: try value(.numAttentionHeads, defaults.numAttentionHeads),
            numKeyValueAttentionHeads: try value(.numKeyValueAttentionHeads, defaults.numKeyValueAttentionHeads),
            outChannels: try value(.outChannels, defaults.outChannels),
            crossAttentionDim: try value(.crossAttentionDim, defaults.crossAttentionDim),
            timeProjDim: try value(.timeProjDim, defaults.timeProjDim),
            globalStatesInputDim: try value(.globalStatesInputDim, defaults.globalStatesInputDim),
            crossAttentionInputDim: try value(.crossAttentionInputDim, defaults.crossAttentionInputDim),
            qkNorm: try container.decodeIfPresent(Bool.self, forKey: .qkNorm) ?? false)
    }

    /// Stable Audio Open 1.0 (`stabilityai/stable-audio-open-1.0`, `transformer/config.json`): diffusers' defaults.
    public static let stableAudioOpen1 = StableAudioDiTConfig()

    /// Stable Audio Open Small (`stabilityai/stable-audio-open-small`): stable-audio-tools' `DiffusionTransformer`
    /// with `embed_dim` 1024, `depth` 16, `num_heads` 8 (heads of 128), `cond_token_dim` 768 projected to the hidden
    /// width (so 8 key/value heads), `global_cond_dim` 768 (seconds total alone), `qk_norm "ln"`, over 256 latent
    /// frames (`sample_size` 524288 samples / 2048). The sizes give 341,126,912 parameters with the seconds-total
    /// conditioner, the count Hugging Face lists for the model; the model's own `model_config.json` is gated and was
    /// not read (see `StableAudioSingleFile`).
    public static let stableAudioOpenSmall = StableAudioDiTConfig(
        sampleSize: 256, numLayers: 16, attentionHeadDim: 128, numAttentionHeads: 8, numKeyValueAttentionHeads: 8,
        crossAttentionDim: 1024, globalStatesInputDim: 768, crossAttentionInputDim: 768, qkNorm: true)

    /// The hidden width, `num_attention_heads · attention_head_dim` (diffusers' `inner_dim`).
    public var innerDim: Int { numAttentionHeads * attentionHeadDim }

    /// Width of the cross-attention's keys and values, `num_key_value_attention_heads · attention_head_dim`.
    public var keyValueDim: Int { numKeyValueAttentionHeads * attentionHeadDim }

    /// The feed-forward's inner width: diffusers' `FeedForward` default of four times the hidden width.
    public var feedForwardDim: Int { 4 * innerDim }

    /// The width of each head the rotary embedding turns (its first half): `StableAudioPipeline` builds the tables
    /// for `attention_head_dim // 2`.
    public var rotaryDim: Int { attentionHeadDim / 2 }

    /// The layer norms' epsilon (`StableAudioDiTBlock`'s `norm_eps`, never set from a config).
    public var normEpsilon: Float { 1e-5 }

    /// Decodes and checks `config.json` at `url`; every failure names the file.
    public static func load(from url: URL) throws -> StableAudioDiTConfig {
        let configuration = try ConfigurationJSON.decode(StableAudioDiTConfig.self, from: url) {
            StableAudioDiTError.invalidConfiguration(file: url.path, reason: $0)
        }
        try configuration.validate(source: url.path)
        return configuration
    }

    /// Throws when the sizes cannot describe a Stable Audio DiT Kinora runs: non-positive sizes, query heads that
    /// do not group evenly over the key/value heads, a head width whose rotary half is odd, or one wider than the
    /// attention kernel takes.
    public func validate(source: String = "StableAudioDiTConfig") throws {
        func fail(_ reason: String) -> StableAudioDiTError { .invalidConfiguration(file: source, reason: reason) }
        let sizes = [
            ("sample_size", sampleSize), ("in_channels", inChannels), ("num_layers", numLayers),
            ("attention_head_dim", attentionHeadDim), ("num_attention_heads", numAttentionHeads),
            ("num_key_value_attention_heads", numKeyValueAttentionHeads), ("out_channels", outChannels),
            ("cross_attention_dim", crossAttentionDim), ("time_proj_dim", timeProjDim),
            ("global_states_input_dim", globalStatesInputDim), ("cross_attention_input_dim", crossAttentionInputDim),
        ]
        for (key, size) in sizes where size <= 0 {
            throw fail("\(key) must be positive, got \(size)")
        }
        guard numAttentionHeads % numKeyValueAttentionHeads == 0 else {
            throw fail(
                "num_attention_heads \(numAttentionHeads) must be a multiple of num_key_value_attention_heads "
                    + "\(numKeyValueAttentionHeads): each key/value head serves a group of query heads")
        }
        guard attentionHeadDim % 4 == 0 else {
            throw fail(
                "attention_head_dim \(attentionHeadDim) must be a multiple of 4: the rotary embedding turns pairs "
                    + "in the first half of each head")
        }
        guard attentionHeadDim <= Graph.maxAttentionHeadDim else {
            throw fail(
                "attention_head_dim \(attentionHeadDim) exceeds the attention kernel's largest head width "
                    + "\(Graph.maxAttentionHeadDim)")
        }
        guard timeProjDim % 2 == 0 else {
            throw fail("time_proj_dim \(timeProjDim) must be even: half cosines, half sines")
        }
    }
}
