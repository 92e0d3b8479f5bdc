/// The timesteps of one Wan transformer pass, in the two shapes diffusers' `WanTransformer3DModel.forward` takes.
public enum WanTimesteps: Sendable, Equatable {
    /// One timestep per sample: `timestep` of shape [B] (`t.expand(batch)` in `WanPipeline`).
    case perSample([Float])
    /// One timestep per latent token: `timestep` of shape [B, seq_len] with seq_len = F'·H'·W' patches in (t, h, w)
    /// order. Wan 2.2's `expand_timesteps` (TI2V-5B's image-to-video) gives the conditioning first frame's tokens
    /// t = 0 and the rest the step's t; the time embedding and every modulation then vary per token. Tokens that
    /// share a timestep in runs (a whole sample, a latent frame) share one modulation row; timesteps that vary within
    /// a frame cost a row per token (a [B·L, 6·dim] f32 projection: 1.2 GB for the 1.3B model at 480p).
    case perToken([[Float]])

    /// Wan 2.2's `expand_timesteps` for `batch` samples: the first latent frame's `tokensPerFrame` tokens at 0, the
    /// other `frames − 1` frames' tokens at `t` (diffusers' `(first_frame_mask[0][0][:, ::2, ::2] * t).flatten()`).
    public static func firstFrameClean(_ t: Float, batch: Int, frames: Int, tokensPerFrame: Int) -> WanTimesteps {
        let row =
            [Float](repeating: 0, count: tokensPerFrame)
            + [Float](repeating: t, count: (frames - 1) * tokensPerFrame)
        return .perToken([[Float]](repeating: row, count: batch))
    }

    /// The timesteps checked against a pass over `batch` samples of `frames` × `tokensPerFrame` tokens, as runs of
    /// tokens that share one: per sample, per latent frame (what `expand_timesteps` gives), or per token.
    func groups(batch: Int, frames: Int, tokensPerFrame: Int) throws -> WanModulationGroups {
        let tokens = frames * tokensPerFrame
        switch self {
        case .perSample(let values):
            guard values.count == batch else {
                throw WanTransformerError.invalidTimesteps(
                    reason: "\(values.count) timesteps for a batch of \(batch); give one per sample")
            }
            try Self.checkFinite(values)
            return WanModulationGroups(timesteps: values, tokensPerGroup: tokens)
        case .perToken(let rows):
            guard rows.count == batch else {
                throw WanTransformerError.invalidTimesteps(
                    reason: "\(rows.count) rows of per-token timesteps for a batch of \(batch)")
            }
            for (row, values) in rows.enumerated() where values.count != tokens {
                throw WanTransformerError.invalidTimesteps(
                    reason: "row \(row) has \(values.count) per-token timesteps, but the latent has \(tokens) tokens "
                        + "(\(frames) frames × \(tokensPerFrame) patches)")
            }
            let values = rows.flatMap { $0 }
            try Self.checkFinite(values)
            let run =
                [tokens, tokensPerFrame, 1].first { run in
                    stride(from: 0, to: values.count, by: run).allSatisfy { start in
                        values[start..<(start + run)].allSatisfy { $0 == values[start] }
                    }
                } ?? 1
            return WanModulationGroups(
                timesteps: stride(from: 0, to: values.count, by: run).map { values[$0] }, tokensPerGroup: run)
        }
    }

    private static func checkFinite(_ values: [Float]) throws {
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw WanTransformerError.invalidTimesteps(reason: "timestep \(index) is \(values[index])")
        }
    }
}

/// Tokens grouped in runs that share a timestep, in token order (sample-major, then t, h, w): the time embedding and
/// the blocks' modulations are computed once per run and broadcast over its tokens. The values are those of a
/// per-token computation (every row of diffusers' per-token `temb` in a run is the same), at the cost of one row per
/// run: one per sample for a [B] timestep, one per latent frame for Wan 2.2's first-frame-clean timesteps.
struct WanModulationGroups: Equatable {
    /// One timestep per run.
    let timesteps: [Float]
    /// Consecutive tokens each run covers.
    let tokensPerGroup: Int

    var count: Int { timesteps.count }
}
