import KinoraTensor

extension WanTransformer3DModel {
    /// Records the causal Wan's pass (Self-Forcing's `CausalWanModel._forward_inference`) over `hiddenStates`
    /// [1, C, F, H, W], the latent frames that follow `prefix` (every block's cached keys, not turned, and values, in
    /// pieces [1, L_i, dim] of any float type; empty for none): one timestep per latent frame (`frameTimesteps`,
    /// Self-Forcing's [B, F] timestep), and every block's self-attention over the cached tokens followed by the
    /// call's own, masked block-causally in chunks of `blockCausalFrames` frames when given. Rotary positions go by
    /// place: the cached frames at 0 ..< P, the call's at P ..< P + F — a video's absolute frames while nothing has
    /// been evicted.
    ///
    /// Returns the flow prediction [1, C_out, F, H, W] and every block's own keys (not turned) and values,
    /// [1, F·H'·W', dim] each in `keyValueType` (cast as each block ends, so that the passes' f32 ones do not wait
    /// for the last block), for a cache to keep.
    ///
    /// With `textKeyValues` (`recordTextKeyValues`), the cross-attentions read those instead of computing their keys
    /// and values from `encoderHiddenStates` (which then only sets the text's shape).
    func recordCausal(
        _ graph: Graph, hiddenStates: Value, frameTimesteps: [Float], encoderHiddenStates: Value,
        prefix: [[(key: Value, value: Value)]], blockCausalFrames: Int? = nil,
        textKeyValues: [(key: Value, value: Value)]? = nil, keyValueType: DType = .f32
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
        guard textKeyValues == nil || textKeyValues?.count == configuration.numLayers else {
            throw WanTransformerError.invalidText(
                shape: encoderHiddenStates.shape,
                reason: "text keys and values of \(textKeyValues?.count ?? 0) layers for \(configuration.numLayers)")
        }
        guard prefix.isEmpty || prefix.count == configuration.numLayers else {
            throw WanTransformerError.invalidLatent(
                shape: hiddenStates.shape,
                reason: "a cache of \(prefix.count) layers for a transformer of \(configuration.numLayers)")
        }
        let cachedTokens = prefix.first?.reduce(0) { $0 + $1.key.shape[1] } ?? 0
        guard cachedTokens % grid.tokensPerFrame == 0 else {
            throw WanTransformerError.invalidLatent(
                shape: hiddenStates.shape,
                reason: "a cache of \(cachedTokens) tokens is not whole frames of \(grid.tokensPerFrame) patches")
        }
        let startFrame = cachedTokens / grid.tokensPerFrame
        guard startFrame + grid.patchFrames <= configuration.ropeMaxSeqLen else {
            throw WanTransformerError.invalidLatent(
                shape: hiddenStates.shape,
                reason: "frames \(startFrame)..<\(startFrame + grid.patchFrames) lie past the rotary table's "
                    + "\(configuration.ropeMaxSeqLen) positions (rope_max_seq_len)")
        }
        let timestep = WanTimesteps.perToken([
            frameTimesteps.flatMap { [Float](repeating: $0, count: grid.tokensPerFrame) }
        ])
        let (_, groups) = try validate(
            latent: hiddenStates.shape, text: encoderHiddenStates.shape, timestep: timestep)
        let embed = WanRotaryPosEmbed(configuration: configuration)
        let rotary = try embed.values(graph, grid, frameOffset: startFrame)
        var keyRotary: WanTransformerAttention.Rotary?
        if startFrame > 0 {
            let table = try embed.tensors(
                frames: startFrame + grid.patchFrames, height: grid.patchHeight, width: grid.patchWidth,
                on: graph.device)
            keyRotary = .init(cos: graph.input(table.cos), sin: graph.input(table.sin))
        }
        var hidden = try patchEmbedding(graph, hiddenStates, grid: grid)
        let (temb, projection) = try conditionEmbedder.time(graph, timesteps: groups.timesteps)
        let context =
            textKeyValues == nil ? try conditionEmbedder.text(graph, encoderHiddenStates) : encoderHiddenStates
        let conditioning = WanBlockConditioning(
            context: context, projection: projection, rotary: .init(cos: rotary.cos, sin: rotary.sin))
        var keys: [Value] = []
        var values: [Value] = []
        for index in 0..<configuration.numLayers {
            let cache = WanSelfAttentionCache(
                prefix: prefix.isEmpty ? [] : prefix[index], keyRotary: keyRotary,
                blockCausalTokens: blockCausalFrames.map { $0 * grid.tokensPerFrame }, text: textKeyValues?[index])
            let (next, key, value) = try block(index).causal(graph, hidden, conditioning, cache: cache)
            hidden = next
            keys.append(key.dtype == keyValueType ? key : try graph.cast(key, to: keyValueType))
            values.append(value.dtype == keyValueType ? value : try graph.cast(value, to: keyValueType))
        }
        return (try head(graph, hidden, temb: temb, grid: grid), keys, values)
    }

    /// Every block's cross-attention keys (normed) and values of the text `encoderHiddenStates` [1, L_text,
    /// text_dim], [1, L_text, dim] each: what a prompt contributes to every pass, computed once.
    func recordTextKeyValues(_ graph: Graph, encoderHiddenStates: Value) throws -> [(key: Value, value: Value)] {
        let text = encoderHiddenStates.shape
        guard text.count == 3, text[0] == 1, text[1] > 0, text[2] == configuration.textDim else {
            throw WanTransformerError.invalidText(
                shape: text, reason: "expected [1, L_text, \(configuration.textDim)] (UMT5-XXL's hidden states)")
        }
        let context = try conditionEmbedder.text(graph, encoderHiddenStates)
        return try (0..<configuration.numLayers).map { index in
            try WanTransformerAttention(
                configuration: configuration, weights: weights.scoped("blocks.\(index).attn2")
            ).contextKeyValues(graph, context)
        }
    }
}
