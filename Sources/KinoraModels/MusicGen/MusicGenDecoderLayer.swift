import KinoraTensor

/// One layer of the MusicGen decoder (transformers' `MusicgenDecoderLayer`), pre-norm with bias-free projections:
/// causal self-attention over the cached positions and the call's own, cross-attention to the text, then a GELU
/// feed-forward, each added back to the stream.
struct MusicGenDecoderLayer {
    let configuration: MusicGenDecoderConfig
    /// The layer's weights: `self_attn.*`, `encoder_attn.*`, `fc1`, `fc2` and the three layer norms.
    let weights: DeviceWeights

    private func linear(_ graph: Graph, _ name: String, _ x: Value, shape: [Int]) throws -> Value {
        try graph.linear(x, weight: weights.scoped(name).value("weight", in: graph, shape: shape))
    }

    private func norm(_ graph: Graph, _ name: String, _ x: Value) throws -> Value {
        let scope = weights.scoped(name), width = configuration.hiddenSize
        return try graph.layerNorm(
            x, weight: scope.value("weight", in: graph, shape: [width]),
            bias: scope.value("bias", in: graph, shape: [width]))
    }

    /// The cross-attention keys and values of `text` [B, L_text, hidden] (the projected text states).
    func textKeysAndValues(_ graph: Graph, _ text: Value) throws -> (key: Value, value: Value) {
        let width = configuration.hiddenSize
        return (try linear(graph, "encoder_attn.k_proj", text, shape: [width, width]),
                try linear(graph, "encoder_attn.v_proj", text, shape: [width, width]))
    }

    /// Records the layer over `x` [B, L, hidden] at positions `start..<start + L`: this call's keys and values go
    /// into `keys`, `values` (the layer's cache tensors, as graph inputs) at `start`, and the queries attend to
    /// every position up to their own.
    func callAsFunction(
        _ graph: Graph, _ x: Value, start: Int, keys: Value, values: Value, text: (key: Value, value: Value),
        textMask: Value
    ) throws -> Value {
        let (width, heads) = (configuration.hiddenSize, configuration.numAttentionHeads)
        let length = x.shape[1]
        var normed = try norm(graph, "self_attn_layer_norm", x)
        let query = try linear(graph, "self_attn.q_proj", normed, shape: [width, width])
        try graph.write(try linear(graph, "self_attn.k_proj", normed, shape: [width, width]), into: keys, axis: 1,
                        start: start)
        try graph.write(try linear(graph, "self_attn.v_proj", normed, shape: [width, width]), into: values, axis: 1,
                        start: start)
        var attended = try graph.attention(
            query: query, key: keys, value: values, heads: heads, blockCausal: 1, keyLength: start + length)
        var hidden = try graph.add(x, linear(graph, "self_attn.out_proj", attended, shape: [width, width]))

        normed = try norm(graph, "encoder_attn_layer_norm", hidden)
        attended = try graph.attention(
            query: linear(graph, "encoder_attn.q_proj", normed, shape: [width, width]), key: text.key,
            value: text.value, heads: heads, mask: textMask)
        hidden = try graph.add(hidden, linear(graph, "encoder_attn.out_proj", attended, shape: [width, width]))

        normed = try norm(graph, "final_layer_norm", hidden)
        let inner = try graph.gelu(linear(graph, "fc1", normed, shape: [configuration.ffnDim, width]))
        return try graph.add(hidden, linear(graph, "fc2", inner, shape: [width, configuration.ffnDim]))
    }
}
