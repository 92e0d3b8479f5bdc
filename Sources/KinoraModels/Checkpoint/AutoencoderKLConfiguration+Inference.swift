import Foundation
import KinoraFormats

/// An `AutoencoderKL` configuration read off a checkpoint's tensor shapes (internal diffusers names).
extension AutoencoderKLConfiguration {
    /// Infers channels per level, layers per block, image and latent channels, the quant convolutions and the
    /// mid-block attention; group norm groups, the scaling factor and the training size come from `family`. The
    /// result is checked when the model is built (`AutoencoderKL.init`).
    public static func inferred(from store: any WeightStore, family: ModelFamily) throws
        -> AutoencoderKLConfiguration {
        let table = ShapeTable(store)
        let levels = try table.count(under: "encoder.down_blocks.")
        let channels = try (0..<levels).map {
            try table.shape("encoder.down_blocks.\($0).resnets.0.conv1.weight", rank: 4)[0]
        }
        let json: [String: Any] = [
            "in_channels": try table.shape("encoder.conv_in.weight", rank: 4)[1],
            "out_channels": try table.shape("decoder.conv_out.weight", rank: 4)[0],
            "latent_channels": try table.shape("decoder.conv_in.weight", rank: 4)[1],
            "block_out_channels": channels,
            "layers_per_block": try table.count(under: "encoder.down_blocks.0.resnets."),
            "down_block_types": Array(repeating: "DownEncoderBlock2D", count: levels),
            "up_block_types": Array(repeating: "UpDecoderBlock2D", count: levels),
            "norm_num_groups": family.normGroups,
            "sample_size": family.nativeImageSize,
            "scaling_factor": family.vaeScalingFactor,
            "use_quant_conv": table.contains("quant_conv.weight"),
            "use_post_quant_conv": table.contains("post_quant_conv.weight"),
            "mid_block_add_attention": table.contains("decoder.mid_block.attentions.0.to_q.weight"),
        ]
        return try table.decode(AutoencoderKLConfiguration.self, json)
    }
}
