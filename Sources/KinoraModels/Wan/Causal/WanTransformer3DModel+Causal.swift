import KinoraTensor

extension WanTransformer3DModel {
    /// Records the causal Wan's pass (Self-Forcing's `CausalWanModel._forward_inference`) over `hiddenStates`
    /// [1, C, F, H, W], the latent frames `startFrame ..< startFrame + F` of a video: rotary positions at those
    /// absolute frames, one timestep per latent frame (`frameTimesteps`, Self-Forcing's [B, F] timestep), and every
    /// block's self-attention over `prefix` (that block's cached keys and values, or none) followed by the call's
    /// own tokens, masked block-causally in chunks of `blockCausalFrames` frames when given.
    ///
    /// Returns the flow prediction [1, C_out, F, H, W] and every block's own keys (turned) and values,
    /// [1, F·H'·W', dim] each, for a cache to keep.
    func recordCausal(
        _ graph: Graph, hiddenStates: Value, frameTimesteps: [Float], encoderHiddenStates: Value, startFrame: Int,
        prefix: [(key: Value, value: Value)], blockCausalFrames: Int? = nil
    ) throws -> (prediction: Value, keys: [Value], values: [Value]) {
        let grid = try WanPatchGrid(latent: hiddenStates.shape, configuration: configuration)
        guard grid.batch == 1, configuration.patchSize[0] == 1 else {
            throw WanTransformerError.invalidLatent(
                shape: hiddenStates.shape,
                reason: "the causal Wan takes one video at a time with a temporal patch of 1 (patch_size "
                    + "\(configuration.patchSize))")
        }
        guard frameTimesteps.count == grid.patchFrames else {
            throw WanTransformerError.invalidTimesteps(
                reason: "\(frameTimesteps.count) timesteps for \(grid.patchFrames) latent frames; give one per frame")
        }
        guard startFrame >= 0, startFrame + grid.patchFrames <= configuration.ropeMaxSeqLen else {
            throw WanTransformerError.invalidLatent(
                shape: hiddenStates.shape,
                reason: "frames \(startFrame)..<\(startFrame + grid.patchFrames) lie past the rotary table's "
                    + "\(configuration.ropeMaxSeqLen) positions (rope_max_seq_len)")
        }
        guard prefix.isEmpty || prefix.count == configuration.numLayers else {
            throw WanTransformerError.invalidLatent(
                shape: hiddenStates.shape,
                reason: "a cache of \(prefix.count) layers for a transformer of \(configuration.numLayers)")
        }
        let timestep = WanTimesteps.perToken([
            frameTimesteps.flatMap { [Float](repeating: $0, count: grid.tokensPerFrame) }
        ])
        let (_, groups) = try validate(
            latent: hiddenStates.shape, text: encoderHiddenStates.shape, timestep: timestep)
        let rotary = try WanRotaryPosEmbed(configuration: configuration).values(graph, grid, frameOffset: startFrame)
        var hidden = try patchEmbedding(graph, hiddenStates, grid: grid)
        let (temb, projection) = try conditionEmbedder.time(graph, timesteps: groups.timesteps)
        let conditioning = WanBlockConditioning(
            context: try conditionEmbedder.text(graph, encoderHiddenStates), projection: projection,
            rotary: .init(cos: rotary.cos, sin: rotary.sin))
        var keys: [Value] = []
        var values: [Value] = []
        for index in 0..<configuration.numLayers {
            let cache = WanSelfAttentionCache(
                prefix: prefix.isEmpty ? nil : prefix[index],
                blockCausalTokens: blockCausalFrames.map { $0 * grid.tokensPerFrame })
            let (next, key, value) = try block(index).causal(graph, hidden, conditioning, cache: cache)
            hidden = next
            keys.append(key)
            values.append(value)
        }
        return (try head(graph, hidden, temb: temb, grid: grid), keys, values)
    }
}
