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
/// diffusers keeps `time_embedder` in f32 whatever the model's dtype; Kinora's activations are f32 throughout.
struct WanTimeTextEmbedding {
    let configuration: WanTransformer3DConfig
    /// The weights under `condition_embedder`.
    let weights: DeviceWeights

    /// `temb` [G, dim] and `timestep_proj` laid out as [6, G, dim] (modulation k of run g at [k, g]) for the runs'
    /// timesteps.
    func time(_ graph: Graph, timesteps: [Float]) throws -> (temb: Value, projection: Value) {
        let (width, frequencies) = (configuration.innerDim, configuration.freqDim)
        let sinusoid = try graph.timestepEmbedding(
            timesteps, dim: frequencies, flipSinToCos: true, downscaleFreqShift: 0)
        let embedder = weights.scoped("time_embedder")
        let hidden = try WanTransformerLayers.linear(
            graph, embedder.scoped("linear_1"), sinusoid, inputs: frequencies, outputs: width)
        let temb = try WanTransformerLayers.linear(
            graph, embedder.scoped("linear_2"), graph.silu(hidden), inputs: width, outputs: width)
        let projected = try WanTransformerLayers.linear(
            graph, weights.scoped("time_proj"), graph.silu(temb), inputs: width, outputs: 6 * width)
        let projection = try graph.permute(graph.reshape(projected, [timesteps.count, 6, width]), [1, 0, 2])
        return (temb, projection)
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
