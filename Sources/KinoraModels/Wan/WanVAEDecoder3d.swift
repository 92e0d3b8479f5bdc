import KinoraTensor

extension AutoencoderKLWan {
    /// diffusers' `WanDecoder3d`: `conv_in`, the mid block, one up block per level from the deepest (Wan 2.1's
    /// `WanUpBlock`, whose input width after the first is halved by the previous upsampler, or Wan 2.2's
    /// `WanResidualUpBlock`), `norm_out`, SiLU and `conv_out`.
    struct Decoder3d: Sendable {
        enum Level: Sendable {
            case plain(UpBlock)
            case residual(ResidualUpBlock)
        }

        let weights: DeviceWeights
        let midBlock: MidBlock
        let levels: [Level]

        init(weights: DeviceWeights, configuration c: AutoencoderKLWanConfig, fusedAttentionHeadDim: Int) {
            self.weights = weights
            let dims = c.decoderDims
            midBlock = MidBlock(
                weights: weights.scoped("mid_block"), channels: dims[0],
                fusedAttentionHeadDim: fusedAttentionHeadDim)
            levels = (0..<c.levels).map { level in
                let block = weights.scoped("up_blocks.\(level)")
                let inDim = level > 0 && !c.isResidual ? dims[level] / 2 : dims[level]
                let outDim = dims[level + 1]
                let resnets = (0...c.numResBlocks).map { index in
                    ResidualBlock(
                        weights: block.scoped("resnets.\(index)"), inDim: index == 0 ? inDim : outDim,
                        outDim: outDim)
                }
                let last = level == c.levels - 1
                let mode: Resample.Mode = c.temporalUpsample(level: level) ? .upsample3d : .upsample2d
                if c.isResidual {
                    let shortcut =
                        last
                        ? nil
                        : DupUp3D(
                            inChannels: inDim, outChannels: outDim,
                            factorT: c.temporalUpsample(level: level) ? 2 : 1, factorS: 2)
                    return .residual(
                        ResidualUpBlock(
                            resnets: resnets,
                            upsampler: last ? nil : Resample(weights: block.scoped("upsampler"), mode: mode),
                            shortcut: shortcut))
                }
                return .plain(
                    UpBlock(
                        resnets: resnets,
                        upsampler: last ? nil : Resample(weights: block.scoped("upsamplers.0"), mode: mode)))
            }
        }

        /// Latents [B, z_dim, T, h, w] → (patchified) frames [B, out_channels, T', h · 2^(levels − 1), …], with
        /// T' = 1 + 4 (T − 1) in the first chunk and 4 T after it (for Wan's two temporal upsamples).
        func callAsFunction(_ pass: WanVAEPass, _ z: Value) throws -> Value {
            let graph = pass.graph
            var h = try CausalConv3d.cube(weights.scoped("conv_in"))(pass, z)
            h = try midBlock(pass, h)
            for level in levels {
                switch level {
                case .plain(let block): h = try block(pass, h)
                case .residual(let block): h = try block(pass, h)
                }
            }
            h = try graph.silu(RMSNorm(weights: weights.scoped("norm_out"))(graph, h))
            return try CausalConv3d.cube(weights.scoped("conv_out"))(pass, h)
        }
    }
}
