import KinoraTensor

extension AutoencoderKL {
    /// diffusers' VAE `Encoder`: `conv_in`, one `DownEncoderBlock2D` per level (`layers_per_block` resnets, then a
    /// `Downsample2D` on all but the last level), the mid block, `conv_norm_out`, SiLU and `conv_out` to
    /// 2 · latent_channels (mean and log-variance).
    struct Encoder: Sendable {
        let weights: DeviceWeights
        let configuration: AutoencoderKLConfiguration
        let downBlocks: [(resnets: [ResnetBlock2D], downsampler: Downsample2D?)]
        let midBlock: UNetMidBlock2D

        init(weights: DeviceWeights, configuration c: AutoencoderKLConfiguration, fusedAttentionHeadDim: Int) {
            self.weights = weights
            configuration = c
            let channels = c.blockOutChannels
            downBlocks = channels.indices.map { level in
                let block = weights.scoped("down_blocks.\(level)")
                let resnets = (0..<c.layersPerBlock).map { index in
                    ResnetBlock2D(weights: block.scoped("resnets.\(index)"),
                                  inChannels: index == 0 ? channels[max(level - 1, 0)] : channels[level],
                                  outChannels: channels[level], groups: c.normNumGroups)
                }
                let last = level == channels.count - 1
                return (resnets, last ? nil : Downsample2D(weights: block.scoped("downsamplers.0")))
            }
            midBlock = UNetMidBlock2D(weights: weights.scoped("mid_block"), channels: channels[channels.count - 1],
                                      groups: c.normNumGroups, addAttention: c.midBlockAddAttention,
                                      fusedAttentionHeadDim: fusedAttentionHeadDim)
        }

        /// [N, in_channels, H, W] → [N, 2 · latent_channels, H / f, W / f].
        func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
            var h = try VAELayers.conv(graph, x, weights.scoped("conv_in"), padding: 1)
            for block in downBlocks {
                for resnet in block.resnets { h = try resnet(graph, h) }
                if let downsampler = block.downsampler { h = try downsampler(graph, h) }
            }
            h = try midBlock(graph, h)
            h = try VAELayers.groupNorm(graph, h, weights.scoped("conv_norm_out"), groups: configuration.normNumGroups)
            h = try graph.silu(h)
            return try VAELayers.conv(graph, h, weights.scoped("conv_out"), padding: 1)
        }
    }
}
