import KinoraTensor

extension WanAutoregressiveLoop {
    /// Puts a fresh loop where one that was stopped after `chunks` chunks stood, from those chunks' clean latents
    /// (`latents(i)`: chunk i's [1, C, chunkFrames, h, w], read one at a time) and the `start` picture's latent
    /// ([1, C, 1, h, w]) it began from, if any: the next `next()` then makes what the stopped loop's would have, to
    /// the bit. The loop's prompt must be the one in effect since chunk `promptFrom` (0: since the start; `chunks`:
    /// it takes effect at the next chunk, as `switchPrompt` would make it).
    ///
    /// The cache is rebuilt as the stopped loop built it: each chunk from `promptFrom` on is run again at timestep 0
    /// with the prompt, as `next()` ran it after its last step; the chunks before `promptFrom` are only kept (the
    /// switch to the prompt re-cached the frames the cache held from their latents, so what their passes computed
    /// never reached the cache that follows). The noise generator skips the draws of every chunk.
    public func resume(start: [Float]?, chunks: Int, promptFrom: Int, latents: (Int) throws -> [Float]) throws {
        guard cache.isEmpty, chunksMade == 0, chunks >= 0, (0...chunks).contains(promptFrom) else {
            throw CausalScheduleError.invalid(
                reason: "a loop resumes only fresh, after its chunks, with a prompt that took effect at one of them")
        }
        if let start {
            try advance(start, frames: 1, computed: promptFrom == 0)
            chunksMade += 1
        }
        let (channels, height, width) = frameShape
        let drawn = chunkFrames * channels * height * width
        for index in 0..<chunks {
            if index == promptFrom, index > 0 { try recache() }
            try advance(latents(index), frames: chunkFrames, computed: index >= promptFrom)
            for _ in schedule.timesteps { _ = random.normal(count: drawn) }
            chunksMade += 1
        }
        if promptFrom == chunks, chunks > 0 { try recache() }
    }

    /// Adds `count` finished latent frames to the cache: run at timestep 0 (`computed`), or only counted, as the
    /// window would keep them, when a re-cache replaces what the pass would have computed.
    private func advance(_ latents: [Float], frames count: Int, computed: Bool) throws {
        let (channels, height, width) = frameShape
        let shape = [1, channels, count, height, width]
        guard latents.count == shape.reduce(1, *) else {
            throw WanTransformerError.invalidLatent(
                shape: shape, reason: "\(latents.count) values for \(count) finished latent frames")
        }
        if computed {
            cache = try causal.extend(cache, with: Tensor(latents, shape: shape, on: causal.arena.device), text: prompt)
        } else {
            cache.pieceFrames = causal.keptPieces(cache.pieceFrames + [count], chunkFrames: count).map(\.frames.count)
            cache.frames += count
        }
        keep(latents, frames: count)
    }
}
