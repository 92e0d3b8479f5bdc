import KinoraTensor

extension AutoencoderKL {
    /// diffusers' VAE `Decoder`: `conv_in`, the mid block, one `UpDecoderBlock2D` per level from the deepest
    /// (`layers_per_block + 1` resnets, then an `Upsample2D` on all but the last), `conv_norm_out`, SiLU and
    /// `conv_out`.
    struct Decoder: Sendable {
        let weights: DeviceWeights
        let configuration: AutoencoderKLConfiguration
        let midBlock: UNetMidBlock2D
        let upBlocks: [(resnets: [ResnetBlock2D], upsampler: Upsample2D?)]

        init(weights: DeviceWeights, configuration c: AutoencoderKLConfiguration, fusedAttentionHeadDim: Int) {
            self.weights = weights
            configuration = c
            let reversed = Array(c.blockOutChannels.reversed())
            midBlock = UNetMidBlock2D(weights: weights.scoped("mid_block"), channels: reversed[0],
                                      groups: c.normNumGroups, addAttention: c.midBlockAddAttention,
                                      fusedAttentionHeadDim: fusedAttentionHeadDim)
            upBlocks = reversed.indices.map { level in
                let block = weights.scoped("up_blocks.\(level)")
                let resnets = (0...c.layersPerBlock).map { index in
                    ResnetBlock2D(weights: block.scoped("resnets.\(index)"),
                                  inChannels: index == 0 ? reversed[max(level - 1, 0)] : reversed[level],
                                  outChannels: reversed[level], groups: c.normNumGroups)
                }
                let last = level == reversed.count - 1
                return (resnets, last ? nil : Upsample2D(weights: block.scoped("upsamplers.0"),
                                                         channels: reversed[level]))
            }
        }

        /// [N, latent_channels, h, w] → [N, out_channels, h · f, w · f].
        func callAsFunction(_ graph: Graph, _ z: Value) throws -> Value {
            var h = try VAELayers.conv(graph, z, weights.scoped("conv_in"), padding: 1)
            h = try midBlock(graph, h)
            for block in upBlocks {
                for resnet in block.resnets { h = try resnet(graph, h) }
                if let upsampler = block.upsampler { h = try upsampler(graph, h) }
            }
            h = try VAELayers.groupNorm(graph, h, weights.scoped("conv_norm_out"), groups: configuration.normNumGroups)
            h = try graph.silu(h)
            return try VAELayers.conv(graph, h, weights.scoped("conv_out"), padding: 1)
        }

        func trace(_ t: inout ActivationTrace, _ z: ActivationTrace.Traced) -> ActivationTrace.Traced {
            var h = t.conv(z, outChannels: configuration.blockOutChannels[configuration.blockOutChannels.count - 1],
                           kernel: 3, padding: 1)
            h = midBlock.trace(&t, h)
            for block in upBlocks {
                for resnet in block.resnets { h = resnet.trace(&t, h) }
                if let upsampler = block.upsampler { h = upsampler.trace(&t, h) }
            }
            h = t.groupNorm(h, groups: configuration.normNumGroups)
            h = t.unary(h)
            return t.conv(h, outChannels: configuration.outChannels, kernel: 3, padding: 1)
        }
    }
}
