import KinoraGPU
import KinoraTensor

/// Latents to RGB frames for a video that arrives in pieces: each `decode` call takes the next latent frames
/// [1, z_dim, T, h, w] (normalised, as the transformer makes them), un-normalises them (`latents / (1 /
/// latents_std) + latents_mean`) and decodes them one latent frame at a time with the streaming decoder, whose
/// feature cache carries over from call to call, so a clip decoded in chunks equals the clip decoded at once and
/// memory stays that of one latent frame. Frames go on as RGB in [0, 1] as soon as each latent frame is decoded.
public final class WanLatentStream {
    public let vae: AutoencoderKLWan
    public let arena: ActivationArena
    private let decoder: WanVAEStreamingDecoder
    /// Video frames handed on so far.
    public private(set) var framesDecoded = 0

    /// `cacheType`: how the decoder's feature cache is stored (f16 halves it; see `WanVAEStreamingDecoder`);
    /// `precision`: the decoder's activations (by default the weights' type).
    public init(
        vae: AutoencoderKLWan, arena: ActivationArena, tiles: AutoencoderKLWan.TileConfiguration? = nil,
        cacheType: DType = .f32, precision: ActivationPrecision? = nil
    ) {
        self.vae = vae
        self.arena = arena
        decoder = WanVAEStreamingDecoder(
            vae: vae, arena: arena, tiles: tiles, cacheType: cacheType, precision: precision)
    }

    /// Decodes the next latent frames; `frames` receives each latent frame's video frames (1 for the clip's first,
    /// then 4 each for Wan's VAEs).
    public func decode(_ latents: [Float], shape: [Int], frames: (WanVideoFrames) throws -> Void) throws {
        guard shape.count == 5, shape[0] == 1, shape.reduce(1, *) == latents.count else {
            throw AutoencoderKLWanError.invalidInput(
                operation: "Wan video decode", shape: shape,
                reason: "expected \(latents.count) latents as [1, \(vae.configuration.zDim), frames, height, width]")
        }
        // The graph (its input and constants) goes before the frames are decoded.
        let denormalized = try {
            let graph = Graph(arena: arena)
            return try graph.run([vae.denormalizeLatents(graph, graph.input(latents, shape: shape))])[0].floats()
        }()
        arena.trim()
        let (channels, count, plane) = (shape[1], shape[2], shape[3] * shape[4])
        for frame in 0..<count {
            var slice: [Float] = []
            slice.reserveCapacity(channels * plane)
            for channel in 0..<channels {
                let offset = (channel * count + frame) * plane
                slice += denormalized[offset..<(offset + plane)]
            }
            let video = try decoder.decode(
                Tensor(slice, shape: [1, channels, 1, shape[3], shape[4]], on: arena.device))
            let chunk = try WanVideoPipeline.rgbFrames(video.floats(), shape: video.shape, start: framesDecoded)
            arena.trim()
            try frames(chunk)
            framesDecoded += chunk.count
        }
    }
}
