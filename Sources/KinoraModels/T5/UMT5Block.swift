import KinoraTensor

/// One encoder layer (`UMT5Block`, T5's `T5Block`): `layer.0` adds self-attention over the RMS-normed states, with
/// this layer's own relative position bias (layer 0's for T5); `layer.1` adds the feed-forward block over the
/// RMS-normed result. Dropout is off, as at inference.
///
/// With f16 activations the residual stream stays f32 (its adds are recorded with f32 activations): transformers'
/// fp16 T5 keeps `wo` in f32, whose output promotes the stream to f32, because T5's stream outgrows f16's range.
/// With bf16 (f32's range) the stream is bf16, as transformers' bf16 model.
struct UMT5Block {
    let configuration: UMT5Config
    /// The weights under `encoder.block.N`.
    let weights: DeviceWeights
    /// The self-attention that holds the layer's `relative_attention_bias` (its own, or layer 0's for T5).
    let positionBias: DeviceWeights

    /// Records the layer over `x` [B, L, d_model]. `selector` is the bucket selector of `UMT5RelativePositionBias`
    /// for L tokens and `padding` the padding mask [B, 1, 1, L] (nil when no key is padding).
    func callAsFunction(_ graph: Graph, _ x: Value, selector: Value, padding: Value?) throws -> Value {
        let selfAttention = weights.scoped("layer.0")
        let feedForward = weights.scoped("layer.1")
        let attention = UMT5Attention(configuration: configuration, weights: selfAttention.scoped("SelfAttention"))
        // The mask is built in f32 whatever the activation type: attention reads its masks in f32 (−∞ and large
        // negative biases), so a 16-bit mask [heads, L, L] would only be cast back to f32 beside itself.
        let mask = try graph.withActivations(.f32) {
            try UMT5RelativePositionBias(configuration: configuration)
                .attentionMask(
                    graph,
                    table: UMT5Attention(configuration: configuration, weights: positionBias).biasTable(graph),
                    selector: selector, length: x.shape[1],
                    padding: padding)
        }
        let normed = try UMT5LayerNorm(configuration: configuration, weights: selfAttention.scoped("layer_norm"))(
            graph, x)
        func residual(_ stream: Value, _ branch: Value) throws -> Value {
            guard graph.activationDType == .f16 else { return try graph.add(stream, branch) }
            return try graph.withActivations(.f32) { try graph.add(stream, branch) }
        }
        let attended = try residual(x, attention(graph, normed, mask: mask))
        let block = UMT5FeedForward(configuration: configuration, weights: feedForward.scoped("DenseReluDense"))
        let normedAgain = try UMT5LayerNorm(configuration: configuration, weights: feedForward.scoped("layer_norm"))(
            graph, attended)
        return try residual(attended, block(graph, normedAgain))
    }
}
