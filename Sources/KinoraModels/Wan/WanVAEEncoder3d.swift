import KinoraTensor

extension AutoencoderKLWan {
    /// diffusers' `WanEncoder3d`: `conv_in`, the down path, the mid block, `norm_out`, SiLU and `conv_out` to
    /// 2 · z_dim channels (mean and log-variance). The down path is Wan 2.1's flat list of residual blocks and
    /// resamples (`down_blocks.N`), or Wan 2.2's residual down blocks (`down_blocks.i.resnets.j`, `.downsampler`).
    struct Encoder3d: Sendable {
        enum Layer: Sendable {
            case residual(ResidualBlock)
            case resample(Resample)
            case residualDown(ResidualDownBlock)
        }

        let weights: DeviceWeights
        let layers: [Layer]
        let midBlock: MidBlock

        init(weights: DeviceWeights, configuration c: AutoencoderKLWanConfig, fusedAttentionHeadDim: Int) {
            self.weights = weights
            let dims = c.encoderDims
            var layers: [Layer] = []
            for level in 0..<c.levels {
                let mode: Resample.Mode = c.temporalDownsample(level: level) ? .downsample3d : .downsample2d
                let last = level == c.levels - 1
                let resnets = (0..<c.numResBlocks).map { index in
                    (index == 0 ? dims[level] : dims[level + 1], AutoencoderKLWan.encoderResnet(c, level, index))
                }.map { ResidualBlock(weights: weights.scoped($0.1), inDim: $0.0, outDim: dims[level + 1]) }
                let downsampler =
                    last
                    ? nil
                    : Resample(
                        weights: weights.scoped(AutoencoderKLWan.encoderDownsampler(c, level)), mode: mode)
                if c.isResidual {
                    let shortcut = AvgDown3D(
                        inChannels: dims[level], outChannels: dims[level + 1],
                        factorT: c.temporalDownsample(level: level) ? 2 : 1,
                        factorS: last ? 1 : 2)
                    layers.append(
                        .residualDown(
                            ResidualDownBlock(
                                resnets: resnets, downsampler: downsampler,
                                shortcut: shortcut)))
                } else {
                    layers += resnets.map(Layer.residual) + (downsampler.map { [Layer.resample($0)] } ?? [])
                }
            }
            self.layers = layers
            midBlock = MidBlock(
                weights: weights.scoped("mid_block"), channels: dims[c.levels],
                fusedAttentionHeadDim: fusedAttentionHeadDim)
        }

        /// Patchified video [B, in_channels, T, H, W] → [B, 2 · z_dim, T', H / 2^(levels − 1), W / 2^(levels − 1)].
        func callAsFunction(_ pass: WanVAEPass, _ x: Value) throws -> Value {
            let graph = pass.graph
            var h = try CausalConv3d.cube(weights.scoped("conv_in"))(pass, x)
            for layer in layers {
                switch layer {
                case .residual(let block): h = try block(pass, h)
                case .resample(let block): h = try block(pass, h)
                case .residualDown(let block): h = try block(pass, h)
                }
            }
            h = try midBlock(pass, h)
            h = try graph.silu(RMSNorm(weights: weights.scoped("norm_out"))(graph, h))
            return try CausalConv3d.cube(weights.scoped("conv_out"))(pass, h)
        }
    }

    /// The scope (under `encoder.`) of residual block `index` of level `level`.
    static func encoderResnet(_ c: AutoencoderKLWanConfig, _ level: Int, _ index: Int) -> String {
        c.isResidual ? "down_blocks.\(level).resnets.\(index)" : "down_blocks.\(level * (c.numResBlocks + 1) + index)"
    }

    /// The scope (under `encoder.`) of level `level`'s downsampler.
    static func encoderDownsampler(_ c: AutoencoderKLWanConfig, _ level: Int) -> String {
        c.isResidual
            ? "down_blocks.\(level).downsampler" : "down_blocks.\(level * (c.numResBlocks + 1) + c.numResBlocks)"
    }
}
