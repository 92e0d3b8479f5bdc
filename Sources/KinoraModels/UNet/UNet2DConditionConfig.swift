import Foundation

/// The configuration of a diffusers `UNet2DConditionModel`, decoded from the model's own `config.json`
/// (`unet/config.json` in a diffusers folder). Keys missing from older files take diffusers 0.42.1's defaults.
public struct UNet2DConditionConfig: Codable, Sendable, Equatable {
    /// A setting given once for all blocks or once per block (`8` or `[5, 10, 20, 20]` in `config.json`).
    public enum PerBlock: Codable, Sendable, Equatable {
        case all(Int)
        case each([Int])

        public init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Int.self) {
                self = .all(value)
            } else {
                self = .each(try container.decode([Int].self))
            }
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .all(let value): try container.encode(value)
            case .each(let values): try container.encode(values)
            }
        }

        /// One value per block for `count` blocks, or nil when a list has another length.
        public func values(count: Int) -> [Int]? {
            switch self {
            case .all(let value): return [Int](repeating: value, count: count)
            case .each(let values): return values.count == count ? values : nil
            }
        }
    }

    /// The latent size the model was trained at (`sample_size`; 64 for SD 1.x, 96 for SD 2.x-v, 128 for SDXL).
    public var sampleSize: Int
    public var inChannels: Int
    public var outChannels: Int
    public var centerInputSample: Bool
    public var flipSinToCos: Bool
    public var freqShift: Int
    public var downBlockTypes: [String]
    public var midBlockType: String?
    public var upBlockTypes: [String]
    public var onlyCrossAttention: Bool
    public var blockOutChannels: [Int]
    public var layersPerBlock: PerBlock
    public var downsamplePadding: Int
    public var midBlockScaleFactor: Float
    public var actFn: String
    public var normNumGroups: Int?
    public var normEps: Float
    public var crossAttentionDim: PerBlock
    public var transformerLayersPerBlock: PerBlock
    /// Per-layer transformer depths of the up blocks (nested lists); Kinora accepts only null here.
    public var reverseTransformerLayersPerBlock: [[Int]]?
    public var encoderHidDimType: String?
    /// The number of attention heads per block when `numAttentionHeads` is nil (diffusers' naming quirk: SD 1.x's
    /// `attention_head_dim: 8` means 8 heads).
    public var attentionHeadDim: PerBlock
    public var numAttentionHeads: PerBlock?
    public var dualCrossAttention: Bool
    public var useLinearProjection: Bool
    public var classEmbedType: String?
    /// `"text_time"` for SDXL: the pooled text embedding and the six size/crop time ids condition the time embedding.
    public var additionEmbedType: String?
    public var additionTimeEmbedDim: Int?
    public var upcastAttention: Bool
    public var resnetTimeScaleShift: String
    public var resnetSkipTimeAct: Bool
    public var resnetOutScaleFactor: Float
    public var timeEmbeddingType: String
    public var timeEmbeddingDim: Int?
    public var timeEmbeddingActFn: String?
    public var timestepPostAct: String?
    public var timeCondProjDim: Int?
    public var convInKernel: Int
    public var convOutKernel: Int
    public var projectionClassEmbeddingsInputDim: Int?
    public var attentionType: String
    public var classEmbeddingsConcat: Bool
    public var crossAttentionNorm: String?

    enum CodingKeys: String, CodingKey {
        case sampleSize = "sample_size"
        case inChannels = "in_channels", outChannels = "out_channels", centerInputSample = "center_input_sample"
        case flipSinToCos = "flip_sin_to_cos", freqShift = "freq_shift", downBlockTypes = "down_block_types"
        case midBlockType = "mid_block_type", upBlockTypes = "up_block_types"
        case onlyCrossAttention = "only_cross_attention", blockOutChannels = "block_out_channels"
        case layersPerBlock = "layers_per_block", downsamplePadding = "downsample_padding"
        case midBlockScaleFactor = "mid_block_scale_factor", actFn = "act_fn", normNumGroups = "norm_num_groups"
        case normEps = "norm_eps", crossAttentionDim = "cross_attention_dim"
        case transformerLayersPerBlock = "transformer_layers_per_block"
        case reverseTransformerLayersPerBlock = "reverse_transformer_layers_per_block"
        case encoderHidDimType = "encoder_hid_dim_type", attentionHeadDim = "attention_head_dim"
        case numAttentionHeads = "num_attention_heads", dualCrossAttention = "dual_cross_attention"
        case useLinearProjection = "use_linear_projection", classEmbedType = "class_embed_type"
        case additionEmbedType = "addition_embed_type", additionTimeEmbedDim = "addition_time_embed_dim"
        case upcastAttention = "upcast_attention", resnetTimeScaleShift = "resnet_time_scale_shift"
        case resnetSkipTimeAct = "resnet_skip_time_act", resnetOutScaleFactor = "resnet_out_scale_factor"
        case timeEmbeddingType = "time_embedding_type", timeEmbeddingDim = "time_embedding_dim"
        case timeEmbeddingActFn = "time_embedding_act_fn", timestepPostAct = "timestep_post_act"
        case timeCondProjDim = "time_cond_proj_dim", convInKernel = "conv_in_kernel", convOutKernel = "conv_out_kernel"
        case projectionClassEmbeddingsInputDim = "projection_class_embeddings_input_dim"
        case attentionType = "attention_type", classEmbeddingsConcat = "class_embeddings_concat"
        case crossAttentionNorm = "cross_attention_norm"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // sample_size is an int, or [height, width] in some exports; the first is enough for a default image size.
        if let sizes = try? c.decodeIfPresent([Int].self, forKey: .sampleSize), let first = sizes.first {
            sampleSize = first
        } else {
            sampleSize = try c.decodeIfPresent(Int.self, forKey: .sampleSize) ?? 64
        }
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? 4
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? 4
        centerInputSample = try c.decodeIfPresent(Bool.self, forKey: .centerInputSample) ?? false
        flipSinToCos = try c.decodeIfPresent(Bool.self, forKey: .flipSinToCos) ?? true
        freqShift = try c.decodeIfPresent(Int.self, forKey: .freqShift) ?? 0
        downBlockTypes = try c.decodeIfPresent([String].self, forKey: .downBlockTypes)
            ?? ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
        midBlockType = c.contains(.midBlockType)
            ? try c.decodeIfPresent(String.self, forKey: .midBlockType) : "UNetMidBlock2DCrossAttn"
        upBlockTypes = try c.decodeIfPresent([String].self, forKey: .upBlockTypes)
            ?? ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
        onlyCrossAttention = try c.decodeIfPresent(Bool.self, forKey: .onlyCrossAttention) ?? false
        blockOutChannels = try c.decodeIfPresent([Int].self, forKey: .blockOutChannels) ?? [320, 640, 1280, 1280]
        layersPerBlock = try c.decodeIfPresent(PerBlock.self, forKey: .layersPerBlock) ?? .all(2)
        downsamplePadding = try c.decodeIfPresent(Int.self, forKey: .downsamplePadding) ?? 1
        midBlockScaleFactor = try c.decodeIfPresent(Float.self, forKey: .midBlockScaleFactor) ?? 1
        actFn = try c.decodeIfPresent(String.self, forKey: .actFn) ?? "silu"
        normNumGroups = c.contains(.normNumGroups) ? try c.decodeIfPresent(Int.self, forKey: .normNumGroups) : 32
        normEps = try c.decodeIfPresent(Float.self, forKey: .normEps) ?? 1e-5
        crossAttentionDim = try c.decodeIfPresent(PerBlock.self, forKey: .crossAttentionDim) ?? .all(1280)
        transformerLayersPerBlock = try c.decodeIfPresent(PerBlock.self, forKey: .transformerLayersPerBlock) ?? .all(1)
        reverseTransformerLayersPerBlock = try c.decodeIfPresent([[Int]].self,
                                                                 forKey: .reverseTransformerLayersPerBlock)
        encoderHidDimType = try c.decodeIfPresent(String.self, forKey: .encoderHidDimType)
        attentionHeadDim = try c.decodeIfPresent(PerBlock.self, forKey: .attentionHeadDim) ?? .all(8)
        numAttentionHeads = try c.decodeIfPresent(PerBlock.self, forKey: .numAttentionHeads)
        dualCrossAttention = try c.decodeIfPresent(Bool.self, forKey: .dualCrossAttention) ?? false
        useLinearProjection = try c.decodeIfPresent(Bool.self, forKey: .useLinearProjection) ?? false
        classEmbedType = try c.decodeIfPresent(String.self, forKey: .classEmbedType)
        additionEmbedType = try c.decodeIfPresent(String.self, forKey: .additionEmbedType)
        additionTimeEmbedDim = try c.decodeIfPresent(Int.self, forKey: .additionTimeEmbedDim)
        upcastAttention = try c.decodeIfPresent(Bool.self, forKey: .upcastAttention) ?? false
        resnetTimeScaleShift = try c.decodeIfPresent(String.self, forKey: .resnetTimeScaleShift) ?? "default"
        resnetSkipTimeAct = try c.decodeIfPresent(Bool.self, forKey: .resnetSkipTimeAct) ?? false
        resnetOutScaleFactor = try c.decodeIfPresent(Float.self, forKey: .resnetOutScaleFactor) ?? 1
        timeEmbeddingType = try c.decodeIfPresent(String.self, forKey: .timeEmbeddingType) ?? "positional"
        timeEmbeddingDim = try c.decodeIfPresent(Int.self, forKey: .timeEmbeddingDim)
        timeEmbeddingActFn = try c.decodeIfPresent(String.self, forKey: .timeEmbeddingActFn)
        timestepPostAct = try c.decodeIfPresent(String.self, forKey: .timestepPostAct)
        timeCondProjDim = try c.decodeIfPresent(Int.self, forKey: .timeCondProjDim)
        convInKernel = try c.decodeIfPresent(Int.self, forKey: .convInKernel) ?? 3
        convOutKernel = try c.decodeIfPresent(Int.self, forKey: .convOutKernel) ?? 3
        projectionClassEmbeddingsInputDim = try c.decodeIfPresent(Int.self,
                                                                  forKey: .projectionClassEmbeddingsInputDim)
        attentionType = try c.decodeIfPresent(String.self, forKey: .attentionType) ?? "default"
        classEmbeddingsConcat = try c.decodeIfPresent(Bool.self, forKey: .classEmbeddingsConcat) ?? false
        crossAttentionNorm = try c.decodeIfPresent(String.self, forKey: .crossAttentionNorm)
    }

    /// The configuration in `url` (a `config.json`); errors name the file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try RegularFile.contents(of: url)
        } catch {
            throw UNetError.unreadableConfiguration(file: url.path, reason: "\(error.localizedDescription)")
        }
        do {
            self = try JSONDecoder().decode(Self.self, from: data)
        } catch {
            throw UNetError.unreadableConfiguration(file: url.path, reason: "\(error)")
        }
    }

    /// The width of the time embedding: `time_embedding_dim`, or 4 × the first block's channels.
    public var timeEmbedDim: Int { timeEmbeddingDim ?? blockOutChannels[0] * 4 }

    /// A per-block setting expanded to one value per down block, or an error naming the key.
    func perBlock(_ setting: PerBlock, _ key: String) throws -> [Int] {
        guard let values = setting.values(count: downBlockTypes.count) else {
            throw UNetError.unsupportedConfiguration(
                "\(key) has \(setting) but there are \(downBlockTypes.count) down blocks")
        }
        return values
    }
}
