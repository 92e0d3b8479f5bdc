import Foundation
import KinoraFormats
import KinoraTensor

/// The configuration of diffusers' `WanTransformer3DModel` (the Wan 2.1 / 2.2 video DiT), decoded from the
/// `config.json` of a diffusers folder's `transformer/`, or read off a single file's tensor shapes. Keys missing from
/// the file take diffusers 0.42.1's defaults (the 14B model's sizes).
public struct WanTransformer3DConfig: Codable, Sendable, Equatable {
    /// The 3-D patch (t, h, w) the latent is cut into; every released Wan model uses (1, 2, 2).
    public var patchSize: [Int]
    public var numAttentionHeads: Int
    public var attentionHeadDim: Int
    public var inChannels: Int
    /// Channels of the prediction; diffusers falls back to `in_channels` when the file has null.
    public var outChannels: Int
    /// Width of the text encoder's hidden states (4096 for UMT5-XXL).
    public var textDim: Int
    /// Width of the sinusoidal timestep embedding.
    public var freqDim: Int
    public var ffnDim: Int
    public var numLayers: Int
    /// Whether the cross-attention reads an affine layer norm of the hidden states (`norm2`), or them unnormalised.
    public var crossAttnNorm: Bool
    /// `rms_norm_across_heads` in every Wan config. diffusers 0.42.1 does not consult it: `WanAttention` always
    /// RMS-normalises q and k over all heads, and so does Kinora.
    public var qkNorm: String?
    public var eps: Float
    /// Wan 2.1 I2V-14B's CLIP image embedding width; Kinora does not run that branch, so it must be null.
    public var imageDim: Int?
    /// Wan 2.1 I2V-14B's added key/value projections for the image tokens; must be null.
    public var addedKVProjDim: Int?
    /// The rotary table's length: the largest number of latent patches along any of t, h and w.
    public var ropeMaxSeqLen: Int
    /// The image embedder's positional table (Wan FLF2V); must be null.
    public var posEmbedSeqLen: Int?

    enum CodingKeys: String, CodingKey {
        case patchSize = "patch_size"
        case numAttentionHeads = "num_attention_heads"
        case attentionHeadDim = "attention_head_dim"
        case inChannels = "in_channels"
        case outChannels = "out_channels"
        case textDim = "text_dim"
        case freqDim = "freq_dim"
        case ffnDim = "ffn_dim"
        case numLayers = "num_layers"
        case crossAttnNorm = "cross_attn_norm"
        case qkNorm = "qk_norm"
        case eps
        case imageDim = "image_dim"
        case addedKVProjDim = "added_kv_proj_dim"
        case ropeMaxSeqLen = "rope_max_seq_len"
        case posEmbedSeqLen = "pos_embed_seq_len"
    }

    /// A configuration with diffusers' `WanTransformer3DModel` defaults for every value not given.
    public init(
        patchSize: [Int] = [1, 2, 2], numAttentionHeads: Int = 40, attentionHeadDim: Int = 128, inChannels: Int = 16,
        outChannels: Int = 16, textDim: Int = 4096, freqDim: Int = 256, ffnDim: Int = 13824, numLayers: Int = 40,
        crossAttnNorm: Bool = true, qkNorm: String? = "rms_norm_across_heads", eps: Float = 1e-6,
        imageDim: Int? = nil, addedKVProjDim: Int? = nil, ropeMaxSeqLen: Int = 1024, posEmbedSeqLen: Int? = nil
    ) {
        self.patchSize = patchSize
        self.numAttentionHeads = numAttentionHeads
        self.attentionHeadDim = attentionHeadDim
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.textDim = textDim
        self.freqDim = freqDim
        self.ffnDim = ffnDim
        self.numLayers = numLayers
        self.crossAttnNorm = crossAttnNorm
        self.qkNorm = qkNorm
        self.eps = eps
        self.imageDim = imageDim
        self.addedKVProjDim = addedKVProjDim
        self.ropeMaxSeqLen = ropeMaxSeqLen
        self.posEmbedSeqLen = posEmbedSeqLen
    }

    /// Wan 2.1 T2V-1.3B (`Wan-AI/Wan2.1-T2V-1.3B-Diffusers`): 30 layers of width 1536 (12 heads of 128), feed-forward
    /// 8960, 16 latent channels; about 1.42 B parameters.
    public static let wan21T2V1_3B = WanTransformer3DConfig(
        numAttentionHeads: 12, inChannels: 16, outChannels: 16, ffnDim: 8960, numLayers: 30)

    /// Wan 2.2 TI2V-5B (`Wan-AI/Wan2.2-TI2V-5B-Diffusers`): 30 layers of width 3072 (24 heads of 128), feed-forward
    /// 14336, 48 latent channels (the Wan 2.2 VAE's); about 5.0 B parameters.
    public static let wan22TI2V5B = WanTransformer3DConfig(
        numAttentionHeads: 24, inChannels: 48, outChannels: 48, ffnDim: 14336, numLayers: 30)

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = WanTransformer3DConfig()
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try container.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        let inChannels = try value(.inChannels, defaults.inChannels)
        self.init(
            patchSize: try value(.patchSize, defaults.patchSize),
            numAttentionHeads: try value(.numAttentionHeads, defaults.numAttentionHeads),
            attentionHeadDim: try value(.attentionHeadDim, defaults.attentionHeadDim), inChannels: inChannels,
            // diffusers: `out_channels = out_channels or in_channels`.
            outChannels: try container.decodeIfPresent(Int.self, forKey: .outChannels) ?? inChannels,
            textDim: try value(.textDim, defaults.textDim), freqDim: try value(.freqDim, defaults.freqDim),
            ffnDim: try value(.ffnDim, defaults.ffnDim), numLayers: try value(.numLayers, defaults.numLayers),
            crossAttnNorm: try value(.crossAttnNorm, defaults.crossAttnNorm),
            qkNorm: container.contains(.qkNorm)
                ? try container.decodeIfPresent(String.self, forKey: .qkNorm) : defaults.qkNorm,
            eps: try value(.eps, defaults.eps),
            imageDim: try container.decodeIfPresent(Int.self, forKey: .imageDim),
            addedKVProjDim: try container.decodeIfPresent(Int.self, forKey: .addedKVProjDim),
            ropeMaxSeqLen: try value(.ropeMaxSeqLen, defaults.ropeMaxSeqLen),
            posEmbedSeqLen: try container.decodeIfPresent(Int.self, forKey: .posEmbedSeqLen))
    }

    /// The hidden width, `num_attention_heads · attention_head_dim` (diffusers' `inner_dim`).
    public var innerDim: Int { numAttentionHeads * attentionHeadDim }

    /// Latent elements per patch, `p_t · p_h · p_w`.
    public var patchVolume: Int { patchSize.reduce(1, *) }

    /// The rotary split of a head over (t, h, w): `D − 4·⌊D/6⌋`, `2·⌊D/6⌋`, `2·⌊D/6⌋` (44/42/42 for Wan's 128).
    public var rotarySplits: [Int] { RotaryPositions.wanSplits(headDim: attentionHeadDim) }

    /// Decodes and checks `config.json` at `url`; every failure names the file.
    public static func load(from url: URL) throws -> WanTransformer3DConfig {
        let configuration = try ConfigurationJSON.decode(WanTransformer3DConfig.self, from: url) {
            WanTransformerError.invalidConfiguration(file: url.path, reason: $0)
        }
        try configuration.validate(source: url.path)
        return configuration
    }

    /// Throws when the sizes cannot describe a Wan DiT Kinora runs: non-positive sizes, a patch that is not three
    /// sizes, an odd head width or one wider than the attention kernel takes, or the image-conditioning branch of
    /// Wan 2.1 I2V-14B / FLF2V.
    public func validate(source: String = "WanTransformer3DConfig") throws {
        func fail(_ reason: String) -> WanTransformerError { .invalidConfiguration(file: source, reason: reason) }
        let sizes = [
            ("num_attention_heads", numAttentionHeads), ("attention_head_dim", attentionHeadDim),
            ("in_channels", inChannels), ("out_channels", outChannels), ("text_dim", textDim),
            ("freq_dim", freqDim), ("ffn_dim", ffnDim), ("num_layers", numLayers),
            ("rope_max_seq_len", ropeMaxSeqLen),
        ]
        for (key, size) in sizes where size <= 0 {
            throw fail("\(key) must be positive, got \(size)")
        }
        guard patchSize.count == 3, patchSize.allSatisfy({ $0 > 0 }) else {
            throw fail("patch_size must be three positive sizes (t, h, w), got \(patchSize)")
        }
        guard attentionHeadDim % 2 == 0 else {
            throw fail("attention_head_dim \(attentionHeadDim) must be even: the rotary embedding turns pairs")
        }
        guard attentionHeadDim <= Graph.maxAttentionHeadDim else {
            throw fail(
                "attention_head_dim \(attentionHeadDim) exceeds the attention kernel's largest head width "
                    + "\(Graph.maxAttentionHeadDim)")
        }
        guard eps >= 0, eps.isFinite else {
            throw fail("eps \(eps) must be finite and >= 0")
        }
        if let imageDim {
            throw fail(
                "image_dim \(imageDim): the image-conditioned Wan 2.1 I2V / FLF2V transformers (CLIP image "
                    + "embeddings, add_k_proj) are not supported; Wan 2.2 TI2V-5B conditions on images without them")
        }
        if let addedKVProjDim {
            throw fail(
                "added_kv_proj_dim \(addedKVProjDim): the image key/value projections of Wan 2.1 I2V are not "
                    + "supported")
        }
        if let posEmbedSeqLen {
            throw fail("pos_embed_seq_len \(posEmbedSeqLen): Wan FLF2V's image position table is not supported")
        }
    }

    /// The configuration a checkpoint's tensors (under diffusers' names, see `WanTransformerKeyMap`) describe: width,
    /// input channels and patch from `patch_embedding.weight` [dim, C_in, p_t, p_h, p_w], output channels from
    /// `proj_out.weight`, text and frequency widths from the condition embedder, the feed-forward width, the layer
    /// count and whether `norm2` has an affine. The head count leaves no trace in the shapes (q and k are normalised
    /// across heads): every released Wan model has heads of 128, so heads = dim / 128. `eps` and
    /// `rope_max_seq_len` take the values every Wan model uses (1e-6, 1024).
    public static func inferred(from store: any WeightStore) throws -> WanTransformer3DConfig {
        let table = ShapeTable(store)
        if let imageKey = store.tensorNames.first(where: {
            $0.hasPrefix("condition_embedder.image_embedder.") || $0.contains(".attn2.add_k_proj.")
        }) {
            throw WanTransformerError.invalidConfiguration(
                file: store.sourceName,
                reason: "it holds '\(imageKey)': the image-conditioned Wan 2.1 I2V / FLF2V transformers (CLIP image "
                    + "embeddings) are not supported")
        }
        let patch = try table.shape("patch_embedding.weight", rank: 5)
        let output = try table.shape("proj_out.weight", rank: 2)
        let text = try table.shape("condition_embedder.text_embedder.linear_1.weight", rank: 2)
        let time = try table.shape("condition_embedder.time_embedder.linear_1.weight", rank: 2)
        let feedForward = try table.shape("blocks.0.ffn.net.0.proj.weight", rank: 2)
        let (width, patchSize) = (patch[0], Array(patch[2...]))
        let volume = patchSize.reduce(1, *)
        let headDim = 128
        guard width % headDim == 0, output[0] % volume == 0 else {
            throw WeightsError.unrecognizedCheckpoint(
                file: store.sourceName,
                reason: "patch_embedding.weight \(patch) and proj_out.weight \(output) do not describe a Wan "
                    + "transformer: the width \(width) must split into heads of \(headDim) and proj_out's "
                    + "\(output[0]) outputs into patches of \(volume)")
        }
        return WanTransformer3DConfig(
            patchSize: patchSize, numAttentionHeads: width / headDim, attentionHeadDim: headDim,
            inChannels: patch[1], outChannels: output[0] / volume, textDim: text[1], freqDim: time[1],
            ffnDim: feedForward[0], numLayers: try table.count(under: "blocks."),
            crossAttnNorm: table.contains("blocks.0.norm2.weight"))
    }

}
