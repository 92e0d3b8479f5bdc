import KinoraTensor

extension AutoencoderKLWan {
    /// diffusers' `patchify` (Wan 2.2): [B, C, F, H, W] → [B, C · p², F, H / p, W / p], channel c · p² + r · p + q
    /// holding pixel (h · p + q, w · p + r) (`b c f (h q) (w r) -> b (c r q) f h w`).
    static func patchify(_ graph: Graph, _ x: Value, patch p: Int) throws -> Value {
        guard p > 1 else { return x }
        let (batch, channels, frames, height, width) = (
            x.shape[0], x.shape[1], x.shape[2], x.shape[3] / p,
            x.shape[4] / p
        )
        let split = try graph.reshape(x, [batch * channels, frames, height, p, width, p])
        return try graph.reshape(
            graph.permute(split, [0, 5, 3, 1, 2, 4]),
            [batch, channels * p * p, frames, height, width])
    }

    /// diffusers' `unpatchify`, the inverse of `patchify`.
    static func unpatchify(_ graph: Graph, _ x: Value, patch p: Int) throws -> Value {
        guard p > 1 else { return x }
        let (batch, channels, frames, height, width) = (
            x.shape[0], x.shape[1] / (p * p), x.shape[2], x.shape[3],
            x.shape[4]
        )
        let split = try graph.reshape(x, [batch * channels, p, p, frames, height, width])
        return try graph.reshape(
            graph.permute(split, [0, 3, 4, 2, 5, 1]),
            [batch, channels, frames, height * p, width * p])
    }
}
