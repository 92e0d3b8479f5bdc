import KinoraGPU
import KinoraTensor

extension WanCausalTransformer {
    /// One pass as `predict` (`keep` false) or `extend` runs it over a chunk of `chunkFrames` latent frames of
    /// `height` × `width` latent pixels following cached pieces of `pieceFrames` latent frames, with a prompt of
    /// `textTokens` whose keys and values were computed once, recorded over placeholders and planned without
    /// running: the bytes the recording itself allocates (the weights it uploads, the rotary tables) and the graph's
    /// memory plan (activations, the prediction and, with `keep`, the cache's new pieces).
    public func plannedPass(
        chunkFrames: Int, height: Int, width: Int, pieceFrames: [Int], textTokens: Int, keep: Bool
    ) throws -> (recordedBytes: UInt64, plan: MemoryPlan) {
        let memory = arena.device.memory
        let before = memory.liveBytes
        let configuration = transformer.configuration
        let graph = makeGraph()
        let patch = configuration.patchSize
        let tokensPerFrame = (height / patch[1]) * (width / patch[2])
        let dim = configuration.innerDim
        func pair(_ tokens: Int, _ type: DType) throws -> (key: Value, value: Value) {
            (
                try graph.placeholder(shape: [1, tokens, dim], dtype: type),
                try graph.placeholder(shape: [1, tokens, dim], dtype: type)
            )
        }
        let prefix = try (0..<(pieceFrames.isEmpty ? 0 : configuration.numLayers)).map { _ in
            try pieceFrames.map { try pair($0 * tokensPerFrame, cacheType) }
        }
        let text = try (0..<configuration.numLayers).map { _ in try pair(textTokens, activations) }
        let pass = try record(
            graph,
            chunk: graph.placeholder(shape: [1, configuration.inChannels, chunkFrames, height, width]),
            timesteps: [Float](repeating: keep ? 0 : 500, count: chunkFrames),
            text: graph.placeholder(shape: [1, textTokens, configuration.textDim]), textKeyValues: text, prefix: prefix,
            pieceFrames: pieceFrames, keep: keep)
        let recorded = memory.liveBytes - before
        return (recorded, try graph.memoryPlan([pass.prediction] + pass.outputs))
    }

    /// The computation of a prompt's keys and values (`textKeyValues`) over `textTokens` tokens, planned without
    /// running: the bytes the recording allocates and the graph's memory plan (its outputs are the keys and values).
    public func plannedTextKeyValues(textTokens: Int) throws -> (recordedBytes: UInt64, plan: MemoryPlan) {
        let memory = arena.device.memory
        let before = memory.liveBytes
        let graph = makeGraph()
        let pairs = try transformer.recordTextKeyValues(
            graph,
            encoderHiddenStates: graph.placeholder(shape: [1, textTokens, transformer.configuration.textDim]))
        let recorded = memory.liveBytes - before
        let outputs = try pairs.flatMap { [$0.key, $0.value] }.map { try graph.cast($0, to: activations) }
        return (recorded, try graph.memoryPlan(outputs))
    }
}
