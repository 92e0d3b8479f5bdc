import KinoraTensor

/// The output head (Wan's `Head`; diffusers' `norm_out`, `scale_shift_table` and `proj_out`): (shift, scale) =
/// `scale_shift_table` [1, 2, dim] + `temb` (the time embedder's output, not the 6-way projection), then
/// `proj_out(norm_out(x)·(1 + scale) + shift)` with norm_out an f32 layer norm without affine, and the tokens
/// unpatchified to [B, C_out, F, H, W] f32. The modulation is f32 whatever the activation type, as in Wan's
/// reference.
struct WanTransformerHead {
    let configuration: WanTransformer3DConfig
    /// The model's weights (the head's live at the top level).
    let weights: DeviceWeights

    /// The prediction for the final hidden states `x` [B, L, dim], with `temb` [G, dim] one row per run of tokens
    /// sharing a timestep.
    func callAsFunction(_ graph: Graph, _ x: Value, temb: Value, grid: WanPatchGrid) throws -> Value {
        let width = configuration.innerDim
        let groups = temb.shape[0]
        let table = try graph.reshape(
            weights.value("scale_shift_table", in: graph, shape: [1, 2, width]), [2, width])
        func modulation(_ index: Int) throws -> Value {
            let row = try graph.slice(table, axis: 0, start: index, length: 1)
            return try graph.withActivations(.f32) { try graph.reshape(graph.add(row, temb), [groups, 1, width]) }
        }
        let (shift, scale) = (try modulation(0), try modulation(1))
        let normed = try graph.layerNorm(
            graph.reshape(x, [groups, x.count / width / groups, width]), weight: nil, bias: nil,
            epsilon: configuration.eps, scale: scale, shift: shift)
        let output = try WanTransformerLayers.linear(
            graph, weights.scoped("proj_out"), graph.reshape(normed, x.shape), inputs: width,
            outputs: configuration.outChannels * configuration.patchVolume)
        // The prediction in f32 whatever the activation type: the sampler steps f32 latents on the host.
        return try graph.cast(
            WanTransformerPatchEmbedding.unpatchify(graph, output, grid: grid, configuration: configuration), to: .f32)
    }
}
