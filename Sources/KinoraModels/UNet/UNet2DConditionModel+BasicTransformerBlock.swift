import KinoraTensor

extension UNet2DConditionModel {
    /// diffusers' `BasicTransformerBlock` with layer norms: self-attention (`norm1`, `attn1`), cross-attention to
    /// the text (`norm2`, `attn2`) and a GEGLU feed-forward (`norm3`, `ff`), each added to the residual stream.
    struct BasicTransformerBlock {
        let weights: DeviceWeights
        let dim: Int
        let heads: Int
        let headDim: Int
        let crossAttentionDim: Int

        /// `x` [B, N, dim] and `context` [B, L, crossAttentionDim] → [B, N, dim].
        func callAsFunction(_ graph: Graph, _ x: Value, context: Value) throws -> Value {
            let selfAttention = Attention(weights: weights.scoped("attn1"), queryDim: dim, contextDim: dim,
                                          heads: heads, headDim: headDim)
            let crossAttention = Attention(weights: weights.scoped("attn2"), queryDim: dim,
                                           contextDim: crossAttentionDim, heads: heads, headDim: headDim)
            var hidden = x
            var normed = try Layers.layerNorm(graph, weights.scoped("norm1"), hidden, epsilon: 1e-5)
            hidden = try graph.add(selfAttention(graph, normed, context: normed), hidden)
            normed = try Layers.layerNorm(graph, weights.scoped("norm2"), hidden, epsilon: 1e-5)
            hidden = try graph.add(crossAttention(graph, normed, context: context), hidden)
            normed = try Layers.layerNorm(graph, weights.scoped("norm3"), hidden, epsilon: 1e-5)
            let feedForward = FeedForward(weights: weights.scoped("ff"), dim: dim, innerDim: 4 * dim)
            return try graph.add(feedForward(graph, normed), hidden)
        }
    }

    /// diffusers' `Attention` with the default processor: `to_q`, `to_k`, `to_v` (bias only when the checkpoint
    /// has one), scaled dot-product attention over `heads` heads of `headDim` (scale headDim^-½), and
    /// `to_out.0`. Runs flash-style in fp32, so `upcast_attention` needs nothing more.
    struct Attention {
        let weights: DeviceWeights
        let queryDim: Int
        let contextDim: Int
        let heads: Int
        let headDim: Int

        /// `x` [B, N, queryDim] attending to `context` [B, L, contextDim] → [B, N, queryDim].
        func callAsFunction(_ graph: Graph, _ x: Value, context: Value) throws -> Value {
            let inner = heads * headDim
            let query = try Layers.linear(graph, weights.scoped("to_q"), x, inFeatures: queryDim, outFeatures: inner,
                                          biasRequired: false)
            let key = try Layers.linear(graph, weights.scoped("to_k"), context, inFeatures: contextDim,
                                        outFeatures: inner, biasRequired: false)
            let value = try Layers.linear(graph, weights.scoped("to_v"), context, inFeatures: contextDim,
                                          outFeatures: inner, biasRequired: false)
            let attended = try graph.attention(query: query, key: key, value: value, heads: heads,
                                               scale: 1 / Float(headDim).squareRoot())
            return try Layers.linear(graph, weights.scoped("to_out.0"), attended, inFeatures: inner,
                                     outFeatures: queryDim)
        }
    }

    /// diffusers' `FeedForward` with `GEGLU`: `net.0.proj` to 2 × inner, split into hidden and gate,
    /// hidden · gelu(gate) (exact erf GELU), then `net.2` back to `dim`.
    struct FeedForward {
        let weights: DeviceWeights
        let dim: Int
        let innerDim: Int

        /// [B, N, dim] → [B, N, dim].
        func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
            let projected = try Layers.linear(graph, weights.scoped("net.0.proj"), x, inFeatures: dim,
                                              outFeatures: 2 * innerDim)
            let halves = try graph.split(projected, sizes: [innerDim, innerDim], axis: -1)
            let gated = try graph.multiply(halves[0], graph.gelu(halves[1]))
            return try Layers.linear(graph, weights.scoped("net.2"), gated, inFeatures: innerDim, outFeatures: dim)
        }
    }
}
