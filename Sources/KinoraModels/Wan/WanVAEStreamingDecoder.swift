import KinoraGPU
import KinoraTensor

/// Decodes a Wan latent clip chunk by chunk as diffusers' `AutoencoderKLWan._decode` does, one latent frame per
/// call (or more): each call runs one graph over the new latents and the feature cache the previous call left on
/// the device, returns its video frames at once (1 for latent frame 0, 4 for each after it) and keeps the new cache,
/// so a clip of any length needs the memory of one call. With `tiles`, every frame is split into diffusers'
/// overlapping tiles, each with its own cache, and blended (the same values as diffusers' `tiled_decode`, which
/// decodes each tile over the whole clip first).
public final class WanVAEStreamingDecoder {
    public let vae: AutoencoderKLWan
    public let arena: ActivationArena
    public let tiles: AutoencoderKLWan.TileConfiguration?
    /// The cache of each tile (one entry without tiles); empty before the first call.
    public private(set) var caches: [WanVAEFeatureCache] = []
    /// Latent frames decoded since the start or the last `reset()`.
    public private(set) var latentFramesDecoded = 0
    private var frameShape: [Int]?

    public init(vae: AutoencoderKLWan, arena: ActivationArena, tiles: AutoencoderKLWan.TileConfiguration? = nil) {
        self.vae = vae
        self.arena = arena
        self.tiles = tiles
    }

    /// Device bytes the caches hold between calls.
    public var cacheBytes: Int { caches.reduce(0) { $0 + $1.bytes } }

    /// diffusers' `clear_cache()`: the next call starts a new clip.
    public func reset() {
        caches = []
        latentFramesDecoded = 0
        frameShape = nil
    }

    /// The video frames [B, 3, F, h · s, w · s] (clamped to [−1, 1]) of the next `latents` [B, z_dim, n, h, w]:
    /// F = 1 + 4 (n − 1) for the clip's first call, 4 n after. Every call of a clip takes latents of the same batch
    /// and size.
    public func decode(_ latents: Tensor) throws -> Tensor {
        let graph = Graph(arena: arena)
        let input = graph.input(latents)
        try vae.checkLatents(input, operation: "streaming decode")
        let shape = [latents.shape[0], latents.shape[1]] + latents.shape.suffix(2)
        if let frameShape, frameShape != shape {
            throw AutoencoderKLWanError.invalidInput(
                operation: "streaming decode", shape: latents.shape,
                reason: "the clip's earlier latents were [\(frameShape[0]), \(frameShape[1]), n, \(frameShape[2]), "
                    + "\(frameShape[3])]; call reset() to start another clip")
        }
        let previous = caches.map { cache in WanVAEPass(graph: graph, cache: cache).previous }
        let (video, passes) = try vae.recordDecode(graph, input, previous: previous, tiles: tiles)
        let slots = passes.map { $0.outputs() }
        let tensors = try graph.run([video] + slots.flatMap(\.values))
        var offset = 1
        caches = slots.map { slot in
            defer { offset += slot.values.count }
            return slot.cache(Array(tensors[offset..<(offset + slot.values.count)]))
        }
        latentFramesDecoded += latents.shape[2]
        frameShape = shape
        return tensors[0]
    }
}

/// Encodes a video chunk by chunk as diffusers' `AutoencoderKLWan._encode` does: the first frame alone, then 4
/// frames per call, each call one graph over the chunk and the feature cache the previous call left on the
/// device; each call gives one latent frame of the posterior.
public final class WanVAEStreamingEncoder {
    public let vae: AutoencoderKLWan
    public let arena: ActivationArena
    public private(set) var cache = WanVAEFeatureCache()
    /// Latent frames produced since the start or the last `reset()`.
    public private(set) var latentFramesEncoded = 0

    public init(vae: AutoencoderKLWan, arena: ActivationArena) {
        self.vae = vae
        self.arena = arena
    }

    /// diffusers' `clear_cache()`: the next call starts a new video.
    public func reset() {
        cache = WanVAEFeatureCache()
        latentFramesEncoded = 0
    }

    /// The posterior's `mean` and clamped `logvar` [B, z_dim, 1, H / s, W / s] of the next chunk [B, 3, F, H, W]:
    /// F = 1 for the video's first call, 4 after.
    public func encode(_ chunk: Tensor) throws -> (mean: Tensor, logvar: Tensor) {
        let graph = Graph(arena: arena)
        let input = graph.input(chunk)
        try vae.checkVideo(input, operation: "streaming encode", chunked: true, first: cache.isEmpty)
        let pass = WanVAEPass(graph: graph, cache: cache)
        let (mean, logvar) = try vae.encodeChunk(pass, input)
        let slots = pass.outputs()
        let tensors = try graph.run([mean, logvar] + slots.values)
        cache = slots.cache(Array(tensors.dropFirst(2)))
        latentFramesEncoded += 1
        return (tensors[0], tensors[1])
    }
}
