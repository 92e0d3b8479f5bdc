import KinoraTensor

extension AutoencoderKLWan {
    /// diffusers' `DupUp3D`, the shortcut of Wan 2.2's up blocks: each input channel repeated `repeats` times
    /// (`repeat_interleave`), then the channels [C_out, f_t, f_s, f_s] unfolded into f_t frames and f_s × f_s
    /// pixels; the first chunk drops its first f_t − 1 frames, as the temporal upsample keeps latent frame 0 a single
    /// frame.
    struct DupUp3D: Sendable {
        let inChannels: Int
        let outChannels: Int
        let factorT: Int
        let factorS: Int

        var repeats: Int { outChannels * factorT * factorS * factorS / inChannels }

        func callAsFunction(_ graph: Graph, _ x: Value, firstChunk: Bool) throws -> Value {
            let (batch, frames, height, width) = (x.shape[0], x.shape[2], x.shape[3], x.shape[4])
            let (t, s) = (factorT, factorS)
            // repeat_interleave over channels: a nearest upsampling of [B·C, 1, 1, T·H·W] along its height.
            let flat = try graph.reshape(x, [batch * inChannels, 1, 1, frames * height * width])
            let repeated = try graph.upsampleNearest(flat, factorH: repeats, factorW: 1)
            // [B·C_out, t, s·s, T, H·W] → [B·C_out, T, t, s·s, H·W], then per (B·C_out, T, t):
            // [s, s, H, W] → [H, s, W, s].
            var y = try graph.permute(
                graph.reshape(repeated, [batch * outChannels, t, s * s, frames, height * width]), [0, 3, 1, 2, 4])
            y = try graph.permute(
                graph.reshape(y, [batch * outChannels * frames * t, s, s, height, width]), [0, 3, 1, 4, 2])
            y = try graph.reshape(y, [batch, outChannels, frames * t, height * s, width * s])
            guard firstChunk, t > 1 else { return y }
            return try graph.slice(y, axis: 2, start: t - 1, length: frames * t - (t - 1))
        }
    }
}
