import KinoraTensor

/// diffusers' `WanTimeTextImageEmbedding` (`condition_embedder`) without its image branch, which only Wan 2.1 I2V
/// has:
///
/// - `timesteps_proj`: `Timesteps(freq_dim, flip_sin_to_cos=True, downscale_freq_shift=0)`, the sinusoid
///   `[cos(t·fₖ), sin(t·fₖ)]` with `fₖ = exp(−ln(10000)·k / (freq_dim/2))`, in f32 as diffusers computes it
///   (`Graph.timestepEmbedding` on host timesteps, PyTorch's fp32 steps; Wan's original code uses float64 here);
/// - `time_embedder`: `TimestepEmbedding` (`linear_1`, SiLU, `linear_2`), giving `temb` [·, dim];
/// - `time_proj`: SiLU then a linear layer to 6·dim, the shared modulation every block adds its table to;
/// - `text_embedder`: `PixArtAlphaTextProjection(text_dim, dim, act_fn="gelu_tanh")` (`linear_1`, GELU's tanh form,
///   `linear_2`) over the text encoder's hidden states.
///
/// The time path (sinusoid, `time_embedder`, `time_proj`) runs in f32 whatever the graph's activation type, as Wan's
/// reference runs `time_embedding` and `time_projection` under `autocast(float32)` (diffusers keeps `time_embedder`
/// in f32 too); the text path runs in the activation type.
struct WanTimeTextEmbedding {
    let configuration: WanTransformer3DConfig
    /// The weights under `condition_embedder`.
    let weights: DeviceWeights

    /// `temb` [G, dim] and `timestep_proj` laid out as [6, G, dim] (modulation k of run g at [k, g]) for the runs'
    /// timesteps, both f32.
    ///
    /// Each distinct timestep is embedded once and its rows copied to the runs that share it: a pass computes as many
    /// rows as it has distinct timesteps (one, or two with a keyframe's t = 0) however many clips it batches or latent
    /// frames it has, so the linear layers take the same kernel, and give the same bits, for a clip alone or in a
    /// batch (the matmul sums a product of at most `Graph.vectorRows` rows in another order than a larger one).
    func time(_ graph: Graph, timesteps: [Float]) throws -> (temb: Value, projection: Value) {
        try graph.withActivations(.f32) { try timeF32(graph, timesteps: timesteps) }
    }

    /// `time`, recorded with f32 activations.
    private func timeF32(_ graph: Graph, timesteps: [Float]) throws -> (temb: Value, projection: Value) {
        let (width, frequencies) = (configuration.innerDim, configuration.freqDim)
        var distinct: [Float] = []
        let rows = timesteps.map { t in
            if let row = distinct.firstIndex(where: { $0.bitPattern == t.bitPattern }) { return row }
            distinct.append(t)
            return distinct.count - 1
        }
        let sinusoid = try graph.timestepEmbedding(
            distinct, dim: frequencies, flipSinToCos: true, downscaleFreqShift: 0)
        let embedder = weights.scoped("time_embedder")
        let hidden = try WanTransformerLayers.linear(
            graph, embedder.scoped("linear_1"), sinusoid, inputs: frequencies, outputs: width)
        let temb = try WanTransformerLayers.linear(
            graph, embedder.scoped("linear_2"), graph.silu(hidden), inputs: width, outputs: width)
        let projected = try WanTransformerLayers.linear(
            graph, weights.scoped("time_proj"), graph.silu(temb), inputs: width, outputs: 6 * width)
        let projection = try graph.permute(
            graph.reshape(Self.gathered(graph, projected, rows: rows), [timesteps.count, 6, width]), [1, 0, 2])
        return (try Self.gathered(graph, temb, rows: rows), projection)
    }

    /// `values` [U, n] with row g of the result row `rows[g]` of `values` (copies, so the bits are kept).
    private static func gathered(_ graph: Graph, _ values: Value, rows: [Int]) throws -> Value {
        guard rows != Array(0..<values.shape[0]) else { return values }
        let pieces = try (0..<values.shape[0]).map { try graph.slice(values, axis: 0, start: $0, length: 1) }
        return try graph.concat(rows.map { pieces[$0] }, axis: 0)
    }

    /// The text embeddings [B, L_text, dim] of the text encoder's hidden states `context` [B, L_text, text_dim].
    func text(_ graph: Graph, _ context: Value) throws -> Value {
        let (width, textWidth) = (configuration.innerDim, configuration.textDim)
        let embedder = weights.scoped("text_embedder")
        let hidden = try WanTransformerLayers.linear(
            graph, embedder.scoped("linear_1"), context, inputs: textWidth, outputs: width)
        return try WanTransformerLayers.linear(
            graph, embedder.scoped("linear_2"), graph.gelu(hidden, approximate: true), inputs: width, outputs: width)
    }
}
