import KinoraTensor

/// CLIP's causal multi-head self-attention (`CLIPAttention`): `q_proj`, `k_proj`, `v_proj`, scaled dot product with
/// scale 1/√head_dim where token i sees tokens 0...i, then `out_proj`.
struct CLIPAttention {
    let configuration: CLIPTextConfig
    let weights: DeviceWeights

    /// Records attention over `x` [B, L, hidden].
    func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
        let width = configuration.hiddenSize
        func projection(_ name: String, _ input: Value) throws -> Value {
            let layer = weights.scoped(name)
            return try graph.linear(input, weight: layer.value("weight", in: graph, shape: [width, width]),
                                    bias: layer.value("bias", in: graph, shape: [width]))
        }
        let query = try projection("q_proj", x)
        let key = try projection("k_proj", x)
        let value = try projection("v_proj", x)
        // A causal mask is block-causal attention with blocks of one token.
        let attended = try graph.attention(query: query, key: key, value: value,
                                           heads: configuration.numAttentionHeads, blockCausal: 1)
        return try projection("out_proj", attended)
    }
}
