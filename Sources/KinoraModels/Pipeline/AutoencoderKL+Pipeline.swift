import KinoraTensor

extension AutoencoderKL {
    /// The pipeline's decode, as one graph: the denoiser's latents unscaled, decoded (tiled with `tile`-latent
    /// tiles when given, diffusers' tiling otherwise off) and brought from [−1, 1] to [0, 1] as diffusers'
    /// postprocess does (`x / 2 + 0.5`; the caller clamps).
    func decodeLatents(_ graph: Graph, _ latents: Value, tile: Int?) throws -> Value {
        let z = try unscaleLatents(graph, latents)
        let tiles = tile.map {
            TileConfiguration(latentTileSize: $0, sampleTileSize: $0 * configuration.downsamplingFactor)
        }
        let image = try decode(graph, z, tiling: tile == nil ? .off : .on, tiles: tiles)
        return try graph.scale(image, by: 0.5, offset: 0.5)
    }
}
