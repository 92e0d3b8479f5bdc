import KinoraTensor

/// diffusers' `Attention` with `StableAudioAttnProcessor2_0`, as a block's self-attention (`attn1`) or its
/// cross-attention on the text-and-duration tokens (`attn2`): `to_q`, `to_k`, `to_v` and `to_out.0` without
/// biases; in the self-attention the rotary embedding turns the first `attention_head_dim / 2` elements of each
/// query and key head (rotate-half pairs, `apply_rotary_emb(use_real_unbind_dim=-2)`) and leaves the rest; the
/// cross-attention's keys and values have `num_key_value_attention_heads` heads, each repeated for its group of
/// query heads (`repeat_interleave`), before scaled dot-product attention over every key (no mask). With
/// `qk_norm` (Stable Audio Open Small) each query and key head is layer-normalised (`norm_q`, `norm_k`, eps 1e-6)
/// right after its projection, before the rotary embedding, as stable-audio-tools' `Attention` does.
struct StableAudioDiTAttention {
    let configuration: StableAudioDiTConfig
    /// The weights under `attn1` or `attn2`.
    let weights: DeviceWeights

    /// The rotary tables of a pass, each [L, rotary_dim / 2]: column p turns the pair (p, p + rotary_dim / 2).
    struct Rotary {
        var cos: Value
        var sin: Value
    }

    /// Self-attention of `x` [B, L, dim] with queries and keys turned by `rotary`; the result is [B, L, dim].
    func selfAttention(_ graph: Graph, _ x: Value, rotary: Rotary) throws -> Value {
        let width = configuration.innerDim
        let query = try turned(
            graph, normalized(graph, "norm_q", projection(graph, "to_q", x, inputs: width, outputs: width)), rotary)
        let key = try turned(
            graph, normalized(graph, "norm_k", projection(graph, "to_k", x, inputs: width, outputs: width)), rotary)
        let value = try projection(graph, "to_v", x, inputs: width, outputs: width)
        return try attend(graph, query: query, key: key, value: value)
    }

    /// Attention of `x` [B, L, dim] over `context` [B, L_text, cross_attention_dim]; the result is [B, L, dim].
    func crossAttention(_ graph: Graph, _ x: Value, context: Value) throws -> Value {
        let (width, contextWidth) = (configuration.innerDim, configuration.crossAttentionDim)
        let keyValueWidth = configuration.keyValueDim
        let query = try normalized(graph, "norm_q", projection(graph, "to_q", x, inputs: width, outputs: width))
        let key = try normalized(
            graph, "norm_k", projection(graph, "to_k", context, inputs: contextWidth, outputs: keyValueWidth))
        let value = try projection(graph, "to_v", context, inputs: contextWidth, outputs: keyValueWidth)
        return try attend(graph, query: query, key: repeatedHeads(graph, key), value: repeatedHeads(graph, value))
    }

    private func attend(_ graph: Graph, query: Value, key: Value, value: Value) throws -> Value {
        let width = configuration.innerDim
        let attended = try graph.attention(
            query: query, key: key, value: value, heads: configuration.numAttentionHeads)
        return try projection(graph, "to_out.0", attended, inputs: width, outputs: width)
    }

    private func projection(_ graph: Graph, _ name: String, _ x: Value, inputs: Int, outputs: Int) throws -> Value {
        try StableAudioDiTLayers.linear(graph, weights.scoped(name), x, inputs: inputs, outputs: outputs, bias: false)
    }

    /// `x` [B, L, heads · D] with each head layer-normalised by `name` (`norm_q`, `norm_k`) when the model has query
    /// and key norms, else `x` itself.
    private func normalized(_ graph: Graph, _ name: String, _ x: Value) throws -> Value {
        guard configuration.qkNorm else { return x }
        let headDim = configuration.attentionHeadDim
        let heads = x.shape[2] / headDim
        let norm = weights.scoped(name)
        let perHead = try graph.reshape(x, [x.shape[0], x.shape[1], heads, headDim])
        let normalized = try graph.layerNorm(
            perHead, weight: norm.value("weight", in: graph, shape: [headDim]),
            bias: norm.bias(in: graph, shape: [headDim], required: true), epsilon: 1e-6)
        return try graph.reshape(normalized, x.shape)
    }

    /// `x` [B, L, heads · D] with the first `rotary_dim` elements of every head turned and the rest as they were.
    private func turned(_ graph: Graph, _ x: Value, _ rotary: Rotary) throws -> Value {
        let (heads, headDim, rotaryDim) = (
            configuration.numAttentionHeads, configuration.attentionHeadDim, configuration.rotaryDim
        )
        let perHead = try graph.reshape(x, [x.shape[0], x.shape[1], heads, headDim])
        let parts = try graph.split(perHead, sizes: [rotaryDim, headDim - rotaryDim], axis: 3)
        let rotated = try graph.applyRotary(parts[0], cos: rotary.cos, sin: rotary.sin, interleaved: false)
        return try graph.reshape(graph.concat([rotated, parts[1]], axis: 3), x.shape)
    }

    /// Keys or values [B, L_text, kv_heads · D] with each head repeated for the query heads it serves, kv head j
    /// becoming query heads j·g ..< (j + 1)·g: [B, L_text, heads · D].
    private func repeatedHeads(_ graph: Graph, _ x: Value) throws -> Value {
        let (heads, keyValueHeads) = (configuration.numAttentionHeads, configuration.numKeyValueAttentionHeads)
        let group = heads / keyValueHeads
        guard group > 1 else { return x }
        let headDim = configuration.attentionHeadDim
        let split = try graph.reshape(x, [x.shape[0], x.shape[1], keyValueHeads, 1, headDim])
        let repeated = try graph.concat(Array(repeating: split, count: group), axis: 3)
        return try graph.reshape(repeated, [x.shape[0], x.shape[1], heads * headDim])
    }
}
