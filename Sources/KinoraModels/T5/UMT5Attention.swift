import KinoraTensor

/// UMT5's self-attention (`UMT5Attention` of the encoder): bias-free `q`, `k`, `v` projections from d_model to
/// `num_heads · d_kv`, attention over all tokens with the layer's relative position bias (and the padding mask)
/// added to the scores, which T5 does not scale by 1/√d_kv, then the bias-free `o` projection back to d_model.
struct UMT5Attention {
    let configuration: UMT5Config
    let weights: DeviceWeights

    /// This layer's `relative_attention_bias` table [buckets, heads].
    func biasTable(_ graph: Graph) throws -> Value {
        try weights.value(
            "relative_attention_bias.weight", in: graph,
            shape: [configuration.relativeAttentionNumBuckets, configuration.numHeads])
    }

    /// Records attention over `x` [B, L, d_model] with the additive `mask` [1 or B, heads, L, L].
    func callAsFunction(_ graph: Graph, _ x: Value, mask: Value) throws -> Value {
        let (width, inner) = (configuration.dModel, configuration.innerDim)
        func projection(_ name: String, _ input: Value, shape: [Int]) throws -> Value {
            try graph.linear(input, weight: weights.scoped(name).value("weight", in: graph, shape: shape))
        }
        let query = try projection("q", x, shape: [inner, width])
        let key = try projection("k", x, shape: [inner, width])
        let value = try projection("v", x, shape: [inner, width])
        let attended = try graph.attention(
            query: query, key: key, value: value, heads: configuration.numHeads,
            scale: 1, mask: mask)
        return try projection("o", attended, shape: [width, inner])
    }
}
