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
    /// How the cache stores keys and values: by default as the activations (Self-Forcing keeps it in its bf16
    /// model's type), or f32, f16 or bf16 whatever they are. The attention reads them widened to f32, one layer at a
    /// time.
    public let cacheType: DType
    /// The activation type every pass runs in (`WanTransformer3DModel.activationType`).
    public let activations: DType
    /// The bound on what a chunk attends to (an attention sink and a local window); nil keeps every frame.
    public let window: WanAttentionWindow?

    /// `precision`: the activations' (by default the weights' type); `cacheType`: the KV cache's (by default the
    /// activations').
    public init(
        transformer: WanTransformer3DModel, arena: ActivationArena, cacheType: DType? = nil,
        window: WanAttentionWindow? = nil, precision: ActivationPrecision? = nil
    ) throws {
        if let window, window.frames > transformer.configuration.ropeMaxSeqLen {
            throw CausalScheduleError.invalid(
                reason: "a window of \(window.frames) latent frames is longer than the model's "
                    + "\(transformer.configuration.ropeMaxSeqLen) rotary positions")
        }
        self.transformer = transformer
        self.arena = arena
        activations = transformer.activationType(precision)
        self.cacheType = cacheType ?? activations
        self.window = window
    }

    /// A graph on the arena whose activations are `activations`.
    func makeGraph() -> Graph {
        let graph = Graph(arena: arena)
        graph.activationDType = activations
        return graph
    }

    /// A prompt's part in every pass: each block's cross-attention keys and values of the UMT5 embeddings `text`
    /// [1, L_text, text_dim], computed once and handed to `predict` and `extend` (Self-Forcing's
    /// `crossattn_cache`).
    public func textKeyValues(_ text: Tensor) throws -> WanTextKeyValues {
        defer { arena.trim() }
        let graph = makeGraph()
        let pairs = try transformer.recordTextKeyValues(graph, encoderHiddenStates: graph.input(text))
        let results = try graph.run(pairs.flatMap { [$0.key, $0.value] }.map { try graph.cast($0, to: activations) })
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
        let graph = makeGraph()
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
        if let stored = cache.dtype, stored != cacheType {
            throw WanTransformerError.invalidLatent(
                shape: chunk.shape, reason: "a cache of \(stored) for a transformer that keeps \(cacheType)")
        }
        guard cache.isEmpty || cache.tokensPerFrame == tokensPerFrame else {
            throw WanTransformerError.invalidLatent(
                shape: chunk.shape,
                reason: "a chunk of \(tokensPerFrame) patches a frame continues a cache of \(cache.tokensPerFrame)")
        }
        defer { arena.trim() }
        let graph = makeGraph()
        let stored = zip(cache.keys, cache.values).map { keys, values in
            zip(keys, values).map { (key: graph.input($0), value: graph.input($1)) }
        }
        var textKeyValues: [(key: Value, value: Value)]?
        if case .keyValues(let cached) = prompt {
            textKeyValues = zip(cached.keys, cached.values).map { (key: graph.input($0), value: graph.input($1)) }
        }
        let pass = try record(
            graph, chunk: graph.input(chunk), timesteps: timesteps, text: graph.input(text),
            textKeyValues: textKeyValues, prefix: stored, pieceFrames: cache.pieceFrames, keep: keep)
        let results = try graph.run([pass.prediction] + pass.outputs)
        guard keep else { return (results[0], cache) }
        var extended = WanKVCache()
        for (layer, pieces) in pass.layers.enumerated() {
            let (keys, values) = cache.isEmpty ? ([], []) : (cache.keys[layer], cache.values[layer])
            extended.keys.append(pieces.map { $0.key(results, cached: keys) })
            extended.values.append(pieces.map { $0.value(results, cached: values) })
        }
        extended.pieceFrames = pass.pieceFrames
        extended.frames = cache.frames + chunk.shape[2]
        extended.tokensPerFrame = tokensPerFrame
        return (results[0], extended)
    }

    /// A pass as `predict` (`keep` false) or `extend` records it over `chunk` and the cached pieces `prefix` (per
    /// block, of `pieceFrames` latent frames each): the prediction and, with `keep`, the pieces of the grown cache —
    /// the chunk's keys and values as a new piece, and with a window the oldest frames after the sink dropped. Pieces
    /// kept whole are not touched (no copy); a piece cut by the window is copied down to what stays.
    func record(
        _ graph: Graph, chunk: Value, timesteps: [Float], text: Value, textKeyValues: [(key: Value, value: Value)]?,
        prefix: [[(key: Value, value: Value)]], pieceFrames: [Int], keep: Bool
    ) throws -> (prediction: Value, outputs: [Value], layers: [[Piece]], pieceFrames: [Int]) {
        let pass = try transformer.recordCausal(
            graph, hiddenStates: chunk, frameTimesteps: timesteps, encoderHiddenStates: text, prefix: prefix,
            textKeyValues: textKeyValues, keyValueType: cacheType)
        guard keep else { return (pass.prediction, [], [], pieceFrames) }
        let patch = transformer.configuration.patchSize
        let tokensPerFrame = (chunk.shape[3] / patch[1]) * (chunk.shape[4] / patch[2])
        let pieces = keptPieces(pieceFrames + [chunk.shape[2]], chunkFrames: chunk.shape[2])
        var outputs: [Value] = []
        var layers: [[Piece]] = []
        for layer in 0..<transformer.configuration.numLayers {
            var kept: [Piece] = []
            for (piece, frames) in pieces {
                let old = piece < pieceFrames.count
                if old, frames == 0..<pieceFrames[piece] {
                    kept.append(.cached(piece))
                    continue
                }
                let source = old ? prefix[layer][piece] : (key: pass.keys[layer], value: pass.values[layer])
                func cut(_ value: Value) throws -> Value {
                    let (start, length) = (frames.lowerBound * tokensPerFrame, frames.count * tokensPerFrame)
                    guard length < value.shape[1] else { return value }
                    // A copy of its own (`copy` writes f32), so that the old piece's storage can go.
                    return try graph.cast(
                        graph.copy(graph.slice(value, axis: 1, start: start, length: length)), to: cacheType)
                }
                kept.append(.computed(outputs.count + 1))
                outputs += [try cut(source.key), try cut(source.value)]
            }
            layers.append(kept)
        }
        return (pass.prediction, outputs, layers, pieces.map(\.frames.count))
    }

    /// A piece of a grown cache: one the cache had (by its place), or one the run computes (its keys at this index of
    /// the results, its values at the next).
    enum Piece {
        case cached(Int)
        case computed(Int)

        func key(_ results: [Tensor], cached: [Tensor]) -> Tensor {
            switch self {
            case .cached(let piece): return cached[piece]
            case .computed(let index): return results[index]
            }
        }

        func value(_ results: [Tensor], cached: [Tensor]) -> Tensor {
            switch self {
            case .cached(let piece): return cached[piece]
            case .computed(let index): return results[index + 1]
            }
        }
    }

    /// The frames a cache keeps of pieces of `pieces` latent frames (the cached ones and a chunk's, oldest first),
    /// as (piece, its frames kept): every frame, or with a window the sink (the cache's first frames) and the most
    /// recent frames, as many as leave room for a next chunk of `chunkFrames`.
    func keptPieces(_ pieces: [Int], chunkFrames: Int) -> [(piece: Int, frames: Range<Int>)] {
        let held = pieces.reduce(0, +)
        let kept = window.map { min(held, $0.keptFrames(chunkFrames: chunkFrames)) } ?? held
        let sink = min(window?.sinkFrames ?? 0, kept)
        let keep = kept == held ? [0..<held] : [0..<sink, (held - (kept - sink))..<held]
        var result: [(piece: Int, frames: Range<Int>)] = []
        var start = 0
        for (piece, count) in pieces.enumerated() {
            for range in keep {
                let overlap = (start..<(start + count)).clamped(to: range)
                if !overlap.isEmpty {
                    result.append((piece, (overlap.lowerBound - start)..<(overlap.upperBound - start)))
                }
            }
            start += count
        }
        return result
    }
}
