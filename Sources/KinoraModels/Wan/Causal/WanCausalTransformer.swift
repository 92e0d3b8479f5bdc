import KinoraGPU
import KinoraTensor

/// The autoregressive Wan (Self-Forcing's and CausVid's `CausalWanModel` on the Wan 2.1 transformer's weights):
/// video is made chunk by chunk, each chunk's tokens attending to the keys and values of every frame before it
/// (`WanKVCache`) and to their own, at their absolute frames' rotary positions, with one timestep per frame.
///
/// A chunk is denoised with `predict` (the cache read, not written); once it is finished, `extend` runs it again
/// clean (timestep 0, Self-Forcing's `context_noise`) and returns the cache with its keys and values appended. The
/// result equals one pass over the whole video with a block-causal mask (`predictWhole`), chunk for chunk.
public final class WanCausalTransformer {
    public let transformer: WanTransformer3DModel
    public let arena: ActivationArena
    /// How the cache stores keys and values: f32, or f16 / bf16 to halve it (Self-Forcing keeps it in bf16). The
    /// attention reads them widened to f32, one layer at a time.
    public let cacheType: DType
    /// The bound on what a chunk attends to (an attention sink and a local window); nil keeps every frame.
    public let window: WanAttentionWindow?

    public init(
        transformer: WanTransformer3DModel, arena: ActivationArena, cacheType: DType = .f32,
        window: WanAttentionWindow? = nil
    ) throws {
        if let window, window.frames > transformer.configuration.ropeMaxSeqLen {
            throw CausalScheduleError.invalid(
                reason: "a window of \(window.frames) latent frames is longer than the model's "
                    + "\(transformer.configuration.ropeMaxSeqLen) rotary positions")
        }
        self.transformer = transformer
        self.arena = arena
        self.cacheType = cacheType
        self.window = window
    }

    /// A prompt's part in every pass: each block's cross-attention keys and values of the UMT5 embeddings `text`
    /// [1, L_text, text_dim], computed once and handed to `predict` and `extend` (Self-Forcing's
    /// `crossattn_cache`).
    public func textKeyValues(_ text: Tensor) throws -> WanTextKeyValues {
        defer { arena.trim() }
        let graph = Graph(arena: arena)
        let pairs = try transformer.recordTextKeyValues(graph, encoderHiddenStates: graph.input(text))
        let results = try graph.run(pairs.flatMap { [$0.key, $0.value] })
        return WanTextKeyValues(
            text: text, keys: stride(from: 0, to: results.count, by: 2).map { results[$0] },
            values: stride(from: 1, to: results.count, by: 2).map { results[$0] })
    }

    /// The flow prediction [1, C, F, H, W] for `chunk` [1, C, F, H, W], the latent frames that follow `cache`'s, at
    /// `timesteps` (one per frame), conditioned on `text` [1, L_text, text_dim] (the UMT5 embeddings), or on its
    /// precomputed `textKeyValues`.
    public func predict(_ chunk: Tensor, timesteps: [Float], text: Tensor, cache: WanKVCache) throws -> Tensor {
        try run(chunk, timesteps: timesteps, text: .embeddings(text), cache: cache, keep: false).prediction
    }

    /// `predict` with the prompt's keys and values computed once.
    public func predict(_ chunk: Tensor, timesteps: [Float], text: WanTextKeyValues, cache: WanKVCache) throws
        -> Tensor
    {
        try run(chunk, timesteps: timesteps, text: .keyValues(text), cache: cache, keep: false).prediction
    }

    /// `cache` with `chunk`'s keys and values appended, from a pass over it at `timestep` (0: the finished, clean
    /// chunk, as Self-Forcing re-runs it); with a `window`, the oldest frames after the sink dropped so that the cache
    /// and a next chunk of the same length fit it.
    public func extend(_ cache: WanKVCache, with chunk: Tensor, text: Tensor, timestep: Float = 0) throws -> WanKVCache
    {
        let frames = chunk.shape.count == 5 ? chunk.shape[2] : 0
        return try run(
            chunk, timesteps: [Float](repeating: timestep, count: frames), text: .embeddings(text), cache: cache,
            keep: true
        ).cache
    }

    /// `extend` with the prompt's keys and values computed once.
    public func extend(_ cache: WanKVCache, with chunk: Tensor, text: WanTextKeyValues, timestep: Float = 0) throws
        -> WanKVCache
    {
        let frames = chunk.shape.count == 5 ? chunk.shape[2] : 0
        return try run(
            chunk, timesteps: [Float](repeating: timestep, count: frames), text: .keyValues(text), cache: cache,
            keep: true
        ).cache
    }

    /// How a pass gets the prompt.
    private enum Prompt {
        case embeddings(Tensor)
        case keyValues(WanTextKeyValues)

        var embeddings: Tensor {
            switch self {
            case .embeddings(let text): return text
            case .keyValues(let cached): return cached.text
            }
        }
    }

    /// One pass over a whole video [1, C, F, H, W] with the block-causal mask in chunks of `chunkFrames` frames and
    /// `timesteps` per frame: what the chunk-by-chunk generation computes when the frames before the last chunk are
    /// the finished chunks at timestep 0 (the reference the cache is checked against).
    public func predictWhole(_ video: Tensor, timesteps: [Float], text: Tensor, chunkFrames: Int) throws -> Tensor {
        defer { arena.trim() }
        let graph = Graph(arena: arena)
        let pass = try transformer.recordCausal(
            graph, hiddenStates: graph.input(video), frameTimesteps: timesteps, encoderHiddenStates: graph.input(text),
            prefix: [], blockCausalFrames: chunkFrames)
        return try graph.run([pass.prediction])[0]
    }

    private func run(_ chunk: Tensor, timesteps: [Float], text prompt: Prompt, cache: WanKVCache, keep: Bool) throws
        -> (prediction: Tensor, cache: WanKVCache)
    {
        let text = prompt.embeddings
        let patch = transformer.configuration.patchSize
        let tokensPerFrame = chunk.shape.count == 5 ? (chunk.shape[3] / patch[1]) * (chunk.shape[4] / patch[2]) : 0
        if let stored = cache.keys.first, stored.dtype != cacheType {
            throw WanTransformerError.invalidLatent(
                shape: chunk.shape, reason: "a cache of \(stored.dtype) for a transformer that keeps \(cacheType)")
        }
        guard cache.isEmpty || cache.tokensPerFrame == tokensPerFrame else {
            throw WanTransformerError.invalidLatent(
                shape: chunk.shape,
                reason: "a chunk of \(tokensPerFrame) patches a frame continues a cache of \(cache.tokensPerFrame)")
        }
        defer { arena.trim() }
        let graph = Graph(arena: arena)
        let stored = zip(cache.keys, cache.values).map { (key: graph.input($0), value: graph.input($1)) }
        let prefix = try stored.map {
            (key: try graph.cast($0.key, to: .f32), value: try graph.cast($0.value, to: .f32))
        }
        var textKeyValues: [(key: Value, value: Value)]?
        if case .keyValues(let cached) = prompt {
            textKeyValues = zip(cached.keys, cached.values).map { (key: graph.input($0), value: graph.input($1)) }
        }
        let pass = try transformer.recordCausal(
            graph, hiddenStates: graph.input(chunk), frameTimesteps: timesteps, encoderHiddenStates: graph.input(text),
            prefix: prefix, textKeyValues: textKeyValues)
        guard keep else { return (try graph.run([pass.prediction])[0], cache) }
        // The cache grows by the chunk's keys and values, and a window drops the oldest frames after the sink; the
        // old tensors are released with the old cache.
        let frames = chunk.shape[2]
        let held = (stored.first?.key.shape[1] ?? 0) / max(tokensPerFrame, 1) + frames
        let kept = window.map { min(held, $0.keptFrames(chunkFrames: frames)) } ?? held
        func grown(_ old: Value?, _ new: Value) throws -> Value {
            let all = try old.map { try graph.concat([$0, new], axis: 1) } ?? new
            guard kept < held, let window else { return all }
            let sink = min(window.sinkFrames, kept)
            let recent = try graph.slice(
                all, axis: 1, start: (held - (kept - sink)) * tokensPerFrame, length: (kept - sink) * tokensPerFrame)
            guard sink > 0 else { return recent }
            return try graph.concat(
                [graph.slice(all, axis: 1, start: 0, length: sink * tokensPerFrame), recent], axis: 1)
        }
        var outputs: [Value] = []
        for (index, (key, value)) in zip(pass.keys, pass.values).enumerated() {
            let (newKey, newValue) = (try graph.cast(key, to: cacheType), try graph.cast(value, to: cacheType))
            outputs += [
                try grown(stored.isEmpty ? nil : stored[index].key, newKey),
                try grown(stored.isEmpty ? nil : stored[index].value, newValue),
            ]
        }
        let results = try graph.run([pass.prediction] + outputs)
        var extended = WanKVCache()
        extended.keys = stride(from: 1, to: results.count, by: 2).map { results[$0] }
        extended.values = stride(from: 2, to: results.count, by: 2).map { results[$0] }
        extended.frames = cache.frames + frames
        extended.tokensPerFrame = tokensPerFrame
        return (results[0], extended)
    }
}
