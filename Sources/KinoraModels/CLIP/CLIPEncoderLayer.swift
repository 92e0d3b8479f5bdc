import KinoraTensor

/// One pre-norm transformer layer of CLIP's text encoder (`CLIPEncoderLayer`):
/// `x + self_attn(layer_norm1(x))`, then `+ mlp(layer_norm2(·))`.
struct CLIPEncoderLayer {
    let configuration: CLIPTextConfig
    let weights: DeviceWeights

    /// Records the layer over `x` [B, L, hidden].
    func callAsFunction(_ graph: Graph, _ x: Value) throws -> Value {
        let attention = CLIPAttention(configuration: configuration, weights: weights.scoped("self_attn"))
        let mlp = CLIPMLP(configuration: configuration, weights: weights.scoped("mlp"))
        let attended = try graph.add(x, attention(graph, layerNorm(graph, "layer_norm1", x)))
        return try graph.add(attended, mlp(graph, layerNorm(graph, "layer_norm2", attended)))
    }

    private func layerNorm(_ graph: Graph, _ name: String, _ x: Value) throws -> Value {
        try CLIPTextModel.layerNorm(graph, x, weights: weights.scoped(name), configuration: configuration)
    }
}
