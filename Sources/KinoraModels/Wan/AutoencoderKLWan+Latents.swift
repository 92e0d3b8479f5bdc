import KinoraTensor

extension AutoencoderKLWan {
    /// The VAE's latents → the transformer's: (z − latents_mean) · (1 / latents_std) per channel, as
    /// `WanImageToVideoPipeline.prepare_latents` normalises an encoded image (`latents_std` there is the
    /// reciprocal). `z` is [B, z_dim, ...].
    public func normalizeLatents(_ graph: Graph, _ z: Value) throws -> Value {
        let (mean, inverseStd) = try statistics(graph, for: z, operation: "normalizeLatents")
        return try graph.multiply(graph.subtract(z, mean), inverseStd)
    }

    /// The transformer's latents → the VAE's, for `decode`: latents / (1 / latents_std) + latents_mean, as
    /// `WanPipeline` does before `vae.decode`.
    public func denormalizeLatents(_ graph: Graph, _ latents: Value) throws -> Value {
        let (mean, inverseStd) = try statistics(graph, for: latents, operation: "denormalizeLatents")
        return try graph.add(graph.divide(latents, inverseStd), mean)
    }

    /// `latents_mean` and 1 / `latents_std` (in f32, as torch computes `1.0 / tensor`) shaped to broadcast over
    /// `x`'s channel axis.
    private func statistics(_ graph: Graph, for x: Value, operation: String) throws -> (Value, Value) {
        let c = configuration
        guard x.rank >= 2, x.shape[1] == c.zDim else {
            throw AutoencoderKLWanError.invalidInput(
                operation: operation, shape: x.shape,
                reason: "expected latents [B, \(c.zDim), ...]")
        }
        guard c.latentsMean.count == c.zDim, c.latentsStd.count == c.zDim else {
            throw AutoencoderKLWanError.invalidConfiguration(
                file: weights.store.sourceName,
                reason: "no latents_mean / latents_std for its \(c.zDim) latent channels (a single file does not "
                    + "record them; pass the configuration from the model's vae/config.json)")
        }
        let shape = [c.zDim] + Array(repeating: 1, count: x.rank - 2)
        return (
            try graph.input(c.latentsMean, shape: shape),
            try graph.input(c.latentsStd.map { 1 / $0 }, shape: shape)
        )
    }
}
