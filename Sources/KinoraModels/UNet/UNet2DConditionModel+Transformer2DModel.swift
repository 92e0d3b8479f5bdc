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
            var hidden = try projectIn(graph, x)
            for index in 0..<layers {
                hidden = try block(index)(graph, hidden, context: context)
            }
            return try projectOut(graph, hidden, residual: x)
        }

        /// `norm` and `proj_in`: `x` [B, channels, H, W] → tokens [B, H·W, innerDim].
        func projectIn(_ graph: Graph, _ x: Value) throws -> Value {
            let (batch, height, width) = (x.shape[0], x.shape[2], x.shape[3])
            let tokens = height * width
            var hidden = try Layers.groupNorm(graph, weights.scoped("norm"), x, groups: groups, epsilon: 1e-6)
            if useLinearProjection {
                hidden = try graph.reshape(graph.permute(hidden, [0, 2, 3, 1]), [batch, tokens, channels])
                return try Layers.linear(graph, weights.scoped("proj_in"), hidden, inFeatures: channels,
                                         outFeatures: innerDim)
            }
            hidden = try Layers.conv2d(graph, weights.scoped("proj_in"), hidden, inChannels: channels,
                                       outChannels: innerDim, kernel: 1)
            return try graph.reshape(graph.permute(hidden, [0, 2, 3, 1]), [batch, tokens, innerDim])
        }

        /// The `BasicTransformerBlock` of layer `index`.
        func block(_ index: Int) -> BasicTransformerBlock {
            BasicTransformerBlock(weights: weights.scoped("transformer_blocks.\(index)"), dim: innerDim,
                                  heads: heads, headDim: headDim, crossAttentionDim: crossAttentionDim)
        }

        /// `proj_out` of the tokens back to [B, channels, H, W], plus the `residual` (the transformer's input).
        func projectOut(_ graph: Graph, _ tokens: Value, residual x: Value) throws -> Value {
            let (batch, height, width) = (x.shape[0], x.shape[2], x.shape[3])
            var hidden = tokens
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
