import Foundation
import KinoraFormats

/// A `UNet2DConditionModel` configuration read off a checkpoint's tensor shapes (internal diffusers names), as
/// diffusers' `create_unet_diffusers_config_from_ldm` and ComfyUI's `detect_unet_config` do.
extension UNet2DConditionConfig {
    /// Infers channels per block, layers per block, block types (cross-attention where a block has
    /// `attentions`), transformer depth per block, cross-attention width, linear or convolutional `proj_in`, input
    /// and output channels and kernels, and SDXL's added text-time embedding (`pooledDimension` is the width of
    /// the second text encoder's projection, which with the embedding's input width gives the time-id width).
    /// Head counts, group norm groups and the training size come from `family`.
    public static func inferred(from store: any WeightStore, family: ModelFamily, pooledDimension: Int? = nil) throws
        -> UNet2DConditionConfig {
        let table = ShapeTable(store)
        let convIn = try table.shape("conv_in.weight", rank: 4)
        let convOut = try table.shape("conv_out.weight", rank: 4)
        let blocks = try table.count(under: "down_blocks.")
        var channels: [Int] = []
        var layers: [Int] = []
        var depths: [Int] = []
        var downTypes: [String] = []
        var upTypes: [String] = []
        var linearProjection: Bool?
        var context: Int?
        for block in 0..<blocks {
            let prefix = "down_blocks.\(block)."
            channels.append(try table.shape(prefix + "resnets.0.conv1.weight", rank: 4)[0])
            layers.append(try table.count(under: prefix + "resnets."))
            let attention = prefix + "attentions.0."
            if table.contains(attention + "proj_in.weight") {
                downTypes.append("CrossAttnDownBlock2D")
                depths.append(try table.count(under: attention + "transformer_blocks."))
                linearProjection = table.shapes[attention + "proj_in.weight"]?.count == 2
                context = try table.shape(attention + "transformer_blocks.0.attn2.to_k.weight", rank: 2)[1]
            } else {
                downTypes.append("DownBlock2D")
                depths.append(1)
            }
            upTypes.append(table.contains("up_blocks.\(block).attentions.0.proj_in.weight")
                           ? "CrossAttnUpBlock2D" : "UpBlock2D")
        }
        let hasMidAttention = table.contains("mid_block.attentions.0.proj_in.weight")
        if let last = depths.last, hasMidAttention, downTypes.last == "DownBlock2D" {
            depths[depths.count - 1] = max(last, try table.count(under: "mid_block.attentions.0.transformer_blocks."))
        }
        if context == nil, hasMidAttention {
            context = try table.shape("mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight", rank: 2)[1]
            linearProjection = table.shapes["mid_block.attentions.0.proj_in.weight"]?.count == 2
        }
        func perBlock(_ values: [Int]) -> Any { Set(values).count == 1 ? values[0] : values }
        var json: [String: Any] = [
            "sample_size": family.nativeImageSize / 8,
            "in_channels": convIn[1], "out_channels": convOut[0],
            "conv_in_kernel": convIn[2], "conv_out_kernel": convOut[2],
            "block_out_channels": channels, "layers_per_block": perBlock(layers),
            "down_block_types": downTypes, "up_block_types": upTypes,
            "mid_block_type": hasMidAttention ? "UNetMidBlock2DCrossAttn" as Any : NSNull(),
            "transformer_layers_per_block": perBlock(depths),
            "cross_attention_dim": context ?? 768,
            "attention_head_dim": perBlock(family.unetAttentionHeads(blockOutChannels: channels)),
            "use_linear_projection": linearProjection ?? false,
            "norm_num_groups": family.normGroups,
            "upcast_attention": family.upcastAttention,
        ]
        if table.contains("add_embedding.linear_1.weight") {
            let input = try table.shape("add_embedding.linear_1.weight", rank: 2)[1]
            guard let pooledDimension, input > pooledDimension, (input - pooledDimension) % 6 == 0 else {
                throw WeightsError.unrecognizedCheckpoint(
                    file: table.file, reason: "add_embedding.linear_1.weight takes \(input) inputs, which is not "
                        + "the pooled text embedding (\(pooledDimension.map(String.init) ?? "no second text encoder"))"
                        + " plus six time ids")
            }
            json["addition_embed_type"] = "text_time"
            json["projection_class_embeddings_input_dim"] = input
            json["addition_time_embed_dim"] = (input - pooledDimension) / 6
        }
        return try table.decode(UNet2DConditionConfig.self, json)
    }
}
