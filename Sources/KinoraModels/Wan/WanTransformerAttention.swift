import KinoraTensor

/// diffusers' `WanAttention` with `WanAttnProcessor`, as a block's self-attention (`attn1`) or cross-attention on
/// the text (`attn2`): `to_q`, `to_k`, `to_v` (with biases), RMS norms `norm_q` and `norm_k` over the whole inner
/// width before the head split (`qk_norm="rms_norm_across_heads"`, torch's `RMSNorm` with a learned weight), the
/// rotary embedding on q and k in self-attention only, scaled dot-product attention over all keys (no mask: Wan
/// attends to the zero-padded text rows too), and `to_out.0`.
///
/// The causal Wan's self-attention (`selfAttention(_:_:rotary:cache:)`) puts a KV cache's keys and values before
/// the call's own and may mask block-causally, as Self-Forcing's `CausalWanSelfAttention` does.
struct WanTransformerAttention {
    let configuration: WanTransformer3DConfig
    /// The weights under `attn1` or `attn2`.
    let weights: DeviceWeights

    /// The rotary tables a self-attention turns q and k by, each [L, head_dim / 2].
    struct Rotary {
        var cos: Value
        var sin: Value
    }

    /// Attention of `x` [B, L, dim] over itself (`context` nil, turned by `rotary`) or over `context`
    /// [B, L_text, dim]; the result is [B, L, dim].
    func callAsFunction(_ graph: Graph, _ x: Value, context: Value? = nil, rotary: Rotary? = nil) throws -> Value {
        try attend(graph, x, context: context, rotary: rotary, cache: nil).output
    }

    /// Self-attention of `x` [B, L, dim] (its queries turned by `rotary`) whose keys continue `cache`'s (the causal
    /// Wan; the cached and the call's keys turned together by `cache.keyRotary`): the result [B, L, dim] and this
    /// call's own keys (not turned) and values, [B, L, dim] each, for a cache to keep.
    func selfAttention(_ graph: Graph, _ x: Value, rotary: Rotary, cache: WanSelfAttentionCache) throws
        -> (output: Value, key: Value, value: Value)
    {
        try attend(graph, x, context: nil, rotary: rotary, cache: cache)
    }

    /// The cross-attention's keys (normed) and values of the text embeddings `context` [B, L_text, dim], which
    /// depend on the prompt alone: the causal Wan computes them once per prompt.
    func contextKeyValues(_ graph: Graph, _ context: Value) throws -> (key: Value, value: Value) {
        let width = configuration.innerDim
        let key = try graph.rmsNorm(
            WanTransformerLayers.linear(graph, weights.scoped("to_k"), context, inputs: width, outputs: width),
            weight: weights.scoped("norm_k").value("weight", in: graph, shape: [width]), epsilon: configuration.eps)
        let value = try WanTransformerLayers.linear(
            graph, weights.scoped("to_v"), context, inputs: width, outputs: width)
        return (key, value)
    }

    /// Cross-attention of `x` [B, L, dim] over keys and values `contextKeyValues` made.
    func crossAttention(_ graph: Graph, _ x: Value, keyValues: (key: Value, value: Value)) throws -> Value {
        let (width, heads) = (configuration.innerDim, configuration.numAttentionHeads)
        let query = try graph.rmsNorm(
            WanTransformerLayers.linear(graph, weights.scoped("to_q"), x, inputs: width, outputs: width),
            weight: weights.scoped("norm_q").value("weight", in: graph, shape: [width]), epsilon: configuration.eps)
        let attended = try graph.attention(query: query, key: keyValues.key, value: keyValues.value, heads: heads)
        return try WanTransformerLayers.linear(
            graph, weights.scoped("to_out.0"), attended, inputs: width, outputs: width)
    }

    private func attend(_ graph: Graph, _ x: Value, context: Value?, rotary: Rotary?, cache: WanSelfAttentionCache?)
        throws -> (output: Value, key: Value, value: Value)
    {
        let (width, heads) = (configuration.innerDim, configuration.numAttentionHeads)
        func projection(_ name: String, _ input: Value) throws -> Value {
            try WanTransformerLayers.linear(graph, weights.scoped(name), input, inputs: width, outputs: width)
        }
        func normed(_ name: String, _ input: Value) throws -> Value {
            try graph.rmsNorm(
                input, weight: weights.scoped(name).value("weight", in: graph, shape: [width]),
                epsilon: configuration.eps)
        }
        let source = context ?? x
        var query = try normed("norm_q", projection("to_q", x))
        let key = try normed("norm_k", projection("to_k", source))
        let value = try projection("to_v", source)
        var (keys, values) = (key, value)
        if let prefix = cache?.prefix, !prefix.isEmpty {
            // Pieces stored in 16 bits are widened here, one block at a time.
            keys = try graph.concat(prefix.map(\.key) + [key], axis: 1)
            values = try graph.concat(prefix.map(\.value) + [value], axis: 1)
        }
        if let rotary {
            let keyRotary = cache?.keyRotary ?? rotary
            query = try graph.applyRotary(query, cos: rotary.cos, sin: rotary.sin, heads: heads, interleaved: true)
            keys = try graph.applyRotary(keys, cos: keyRotary.cos, sin: keyRotary.sin, heads: heads, interleaved: true)
        }
        let attended = try graph.attention(
            query: query, key: keys, value: values, heads: heads, blockCausal: cache?.blockCausalTokens)
        return (try projection("to_out.0", attended), key, value)
    }
}
