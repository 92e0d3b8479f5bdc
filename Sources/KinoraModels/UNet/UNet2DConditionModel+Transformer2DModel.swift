import KinoraTensor

extension UNet2DConditionModel {
    /// diffusers' `Transformer2DModel` for continuous inputs: `GroupNorm` (eps 1e-6), `proj_in` (a 1×1 convolution,
    /// or a linear layer over the tokens when `use_linear_projection`), the `BasicTransformerBlock`s over the
    /// H·W tokens with cross-attention to the text, `proj_out`, and the residual.
    struct Transformer2DModel {
        let weights: DeviceWeights
        let channels: Int
        let heads: Int
        let headDim: Int
        let layers: Int
        let crossAttentionDim: Int
        let groups: Int
        let useLinearProjection: Bool

        var innerDim: Int { heads * headDim }

        /// `x` [B, channels, H, W] and `context` [B, L, crossAttentionDim] → [B, channels, H, W].
        func callAsFunction(_ graph: Graph, _ x: Value, context: Value) throws -> Value {
            let (batch, height, width) = (x.shape[0], x.shape[2], x.shape[3])
            let tokens = height * width
            var hidden = try Layers.groupNorm(graph, weights.scoped("norm"), x, groups: groups, epsilon: 1e-6)
            if useLinearProjection {
                hidden = try graph.reshape(graph.permute(hidden, [0, 2, 3, 1]), [batch, tokens, channels])
                hidden = try Layers.linear(graph, weights.scoped("proj_in"), hidden, inFeatures: channels,
                                           outFeatures: innerDim)
            } else {
                hidden = try Layers.conv2d(graph, weights.scoped("proj_in"), hidden, inChannels: channels,
                                           outChannels: innerDim, kernel: 1)
                hidden = try graph.reshape(graph.permute(hidden, [0, 2, 3, 1]), [batch, tokens, innerDim])
            }
            for index in 0..<layers {
                let block = BasicTransformerBlock(
                    weights: weights.scoped("transformer_blocks.\(index)"), dim: innerDim, heads: heads,
                    headDim: headDim, crossAttentionDim: crossAttentionDim)
                hidden = try block(graph, hidden, context: context)
            }
            if useLinearProjection {
                hidden = try Layers.linear(graph, weights.scoped("proj_out"), hidden, inFeatures: innerDim,
                                           outFeatures: channels)
                hidden = try graph.permute(graph.reshape(hidden, [batch, height, width, channels]), [0, 3, 1, 2])
            } else {
                hidden = try graph.permute(graph.reshape(hidden, [batch, height, width, innerDim]), [0, 3, 1, 2])
                hidden = try Layers.conv2d(graph, weights.scoped("proj_out"), hidden, inChannels: innerDim,
                                           outChannels: channels, kernel: 1)
            }
            return try graph.add(hidden, x)
        }
    }
}
