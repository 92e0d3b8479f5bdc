import KinoraTensor

extension AutoencoderKLWan {
    /// diffusers' `WanDecoder3d`: `conv_in`, the mid block, one up block per level from the deepest (Wan 2.1's
    /// `WanUpBlock`, whose input width after the first is halved by the previous upsampler, or Wan 2.2's
    /// `WanResidualUpBlock`), `norm_out`, SiLU and `conv_out`, as a list of steps (`steps`, `step`) that one graph
    /// records in turn or `WanVAEStreamingDecoder` runs one graph each.
    struct Decoder3d: Sendable {
        /// One step of the decoder: the unit `WanVAEStreamingDecoder` runs as a graph of its own.
        enum Step: Sendable, Equatable {
            case convIn
            case midResnet(Int)
            case midAttention
            case resnet(level: Int, index: Int)
            case upsampler(level: Int)
            case head
        }

        /// What flows from step to step: the hidden state and, inside a Wan 2.2 up block with a shortcut, the
        /// block's input (which `DupUp3D` adds back after the upsampler).
        struct State {
            var h: Value
            var blockInput: Value?
        }

        let weights: DeviceWeights
        let midBlock: MidBlock
        let levels: [UpBlock]

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
                guard level < c.levels - 1 else { return UpBlock(resnets: resnets, upsampler: nil, shortcut: nil) }
                let temporal = c.temporalUpsample(level: level)
                let upsampler = Resample(
                    weights: block.scoped(c.isResidual ? "upsampler" : "upsamplers.0"),
                    mode: temporal ? .upsample3d : .upsample2d)
                let shortcut =
                    c.isResidual
                    ? DupUp3D(inChannels: inDim, outChannels: outDim, factorT: temporal ? 2 : 1, factorS: 2) : nil
                return UpBlock(resnets: resnets, upsampler: upsampler, shortcut: shortcut)
            }
        }

        /// The steps in diffusers' order.
        var steps: [Step] {
            var steps: [Step] = [.convIn, .midResnet(0), .midAttention, .midResnet(1)]
            for (level, block) in levels.enumerated() {
                steps += block.resnets.indices.map { Step.resnet(level: level, index: $0) }
                if block.upsampler != nil { steps.append(.upsampler(level: level)) }
            }
            return steps + [.head]
        }

        /// Latents [B, z_dim, T, h, w] → (patchified) frames [B, out_channels, T', h · 2^(levels − 1), …], with
        /// T' = 1 + 4 (T − 1) in the first chunk and 4 T after it (for Wan's two temporal upsamples).
        func callAsFunction(_ pass: WanVAEPass, _ z: Value) throws -> Value {
            var state = State(h: z)
            for step in steps { state = try self.step(step, pass, state) }
            return state.h
        }

        func step(_ step: Step, _ pass: WanVAEPass, _ state: State) throws -> State {
            let graph = pass.graph
            var state = state
            switch step {
            case .convIn:
                state.h = try CausalConv3d.cube(weights.scoped("conv_in"))(pass, state.h)
            case .midResnet(let index):
                state.h = try midBlock.resnets[index](pass, state.h)
            case .midAttention:
                state.h = try midBlock.attention(graph, state.h)
            case .resnet(let level, let index):
                let block = levels[level]
                if index == 0, block.shortcut != nil { state.blockInput = state.h }
                state.h = try block.resnets[index](pass, state.h)
            case .upsampler(let level):
                let block = levels[level]
                guard let upsampler = block.upsampler else { break }
                state.h = try upsampler(pass, state.h)
                if let shortcut = block.shortcut, let input = state.blockInput {
                    state.h = try graph.add(state.h, shortcut(graph, input, firstChunk: pass.isFirstChunk))
                    state.blockInput = nil
                }
            case .head:
                state.h = try graph.silu(RMSNorm(weights: weights.scoped("norm_out"))(graph, state.h))
                state.h = try CausalConv3d.cube(weights.scoped("conv_out"))(pass, state.h)
            }
            return state
        }
    }
}
