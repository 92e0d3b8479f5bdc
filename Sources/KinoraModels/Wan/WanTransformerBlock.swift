import KinoraTensor

/// What every block reads beside the hidden states.
struct WanBlockConditioning {
    /// The text embeddings [B, L_text, dim] (`condition_embedder.text_embedder`'s output).
    var context: Value
    /// The shared modulation `timestep_proj` as [6, G, dim], one row per run of tokens sharing a timestep.
    var projection: Value
    var rotary: WanTransformerAttention.Rotary
}

/// diffusers' `WanTransformerBlock`. The block's `scale_shift_table` [1, 6, dim] plus the shared `timestep_proj`,
/// in f32 (whatever the activation type, as Wan's reference), gives (shift, scale, gate) for the self-attention and
/// (c_shift, c_scale, c_gate) for the feed-forward; the gated residual adds run in f32 too and store the activation
/// type:
///
/// 1. `x += attn1(norm1(x)·(1 + scale) + shift, rotary) · gate`, norm1 an f32 layer norm without affine;
/// 2. `x += attn2(norm2(x), text)`, norm2 an f32 layer norm with affine (`cross_attn_norm`; the identity without);
/// 3. `x += ffn(norm3(x)·(1 + c_scale) + c_shift) · c_gate`, norm3 without affine.
///
/// With per-sample timesteps each modulation is one row per sample; with per-token ones (Wan 2.2's
/// `expand_timesteps`), one per run of tokens that share a timestep (a latent frame), broadcast over its tokens.
struct WanTransformerBlock {
    let configuration: WanTransformer3DConfig
    /// The weights under `blocks.N`.
    let weights: DeviceWeights
    /// `WanTransformerFeedForward.chunkBytes`.
    let feedForwardChunkBytes: Int

    /// The block over `x` [B, L, dim].
    func callAsFunction(_ graph: Graph, _ x: Value, _ conditioning: WanBlockConditioning) throws -> Value {
        try forward(graph, x, conditioning, cache: nil).hidden
    }

    /// The causal Wan's block over `x` [B, L, dim]: the self-attention's keys continue `cache`'s; returns the hidden
    /// states and the call's own keys (turned) and values for the cache.
    func causal(_ graph: Graph, _ x: Value, _ conditioning: WanBlockConditioning, cache: WanSelfAttentionCache)
        throws -> (hidden: Value, key: Value, value: Value)
    {
        let result = try forward(graph, x, conditioning, cache: cache)
        return (result.hidden, result.key, result.value)
    }

    private func forward(
        _ graph: Graph, _ x: Value, _ conditioning: WanBlockConditioning, cache: WanSelfAttentionCache?
    ) throws -> (hidden: Value, key: Value, value: Value)
    {
        let (width, epsilon) = (configuration.innerDim, configuration.eps)
        let groups = conditioning.projection.shape[1]
        let run = x.count / width / groups
        let table = try weights.value("scale_shift_table", in: graph, shape: [1, 6, width])
        // The modulation in f32, as Wan's reference computes it under autocast(float32).
        let modulation = try graph.withActivations(.f32) {
            try graph.add(graph.reshape(table, [6, 1, width]), conditioning.projection)
        }
        let (shift, scale, gate, feedForwardShift, feedForwardScale, feedForwardGate) = try {
            let rows = try (0..<6).map {
                try graph.reshape(graph.slice(modulation, axis: 0, start: $0, length: 1), [groups, 1, width])
            }
            return (rows[0], rows[1], rows[2], rows[3], rows[4], rows[5])
        }()
        // The hidden states as runs of tokens sharing a modulation row: [G, run, dim].
        func runs(_ value: Value) throws -> Value { try graph.reshape(value, [groups, run, width]) }
        func tokens(_ value: Value) throws -> Value { try graph.reshape(value, x.shape) }
        // `residual + branch · gate` in f32, stored in the activation type: diffusers' `(hidden_states.float() +
        // output * gate).type_as(hidden_states)`, Wan's `autocast(float32)` around it.
        func gated(_ residual: Value, _ branch: Value, _ gate: Value) throws -> Value {
            let sum = try graph.withActivations(.f32) { try graph.add(residual, graph.multiply(branch, gate)) }
            return try graph.cast(sum, to: graph.activationDType)
        }

        // 1. Self-attention
        let selfAttention = WanTransformerAttention(configuration: configuration, weights: weights.scoped("attn1"))
        let normed = try graph.layerNorm(
            runs(x), weight: nil, bias: nil, epsilon: epsilon, scale: scale, shift: shift)
        let (attended, key, value) = try selfAttention.selfAttention(
            graph, tokens(normed), rotary: conditioning.rotary, cache: cache ?? WanSelfAttentionCache())
        var hidden = try gated(runs(x), runs(attended), gate)

        // 2. Cross-attention
        let crossAttention = WanTransformerAttention(configuration: configuration, weights: weights.scoped("attn2"))
        var crossInput = hidden
        if configuration.crossAttnNorm {
            let norm = weights.scoped("norm2")
            crossInput = try graph.layerNorm(
                hidden, weight: norm.value("weight", in: graph, shape: [width]),
                bias: norm.bias(in: graph, shape: [width], required: true), epsilon: epsilon)
        }
        let crossed: Value
        if let text = cache?.text {
            crossed = try crossAttention.crossAttention(graph, tokens(crossInput), keyValues: text)
        } else {
            crossed = try crossAttention(graph, tokens(crossInput), context: conditioning.context)
        }
        hidden = try graph.add(hidden, runs(crossed))

        // 3. Feed-forward
        let feedForward = WanTransformerFeedForward(
            configuration: configuration, weights: weights.scoped("ffn"), chunkBytes: feedForwardChunkBytes)
        let normedAgain = try graph.layerNorm(
            hidden, weight: nil, bias: nil, epsilon: epsilon, scale: feedForwardScale, shift: feedForwardShift)
        hidden = try gated(hidden, runs(feedForward(graph, normedAgain)), feedForwardGate)
        return (try tokens(hidden), key, value)
    }
}
