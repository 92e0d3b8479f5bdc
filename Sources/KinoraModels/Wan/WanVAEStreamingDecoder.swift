import KinoraGPU
import KinoraTensor

/// Decodes a Wan latent clip chunk by chunk as diffusers' `AutoencoderKLWan._decode` does, one latent frame per
/// call (or more), with the feature cache the previous call left on the device: each call returns its video frames
/// at once (1 for latent frame 0, 4 for each after it) and keeps the new cache, so a clip of any length needs the
/// memory of one call. A call runs the decoder step by step (`Decoder3d.steps`), one graph each, releasing each old
/// cache slot as its step has run, so the device holds one copy of the cache and one step's activations.
///
/// With `tiles`, every frame larger than one tile is split into diffusers' overlapping tiles, each decoded with its
/// own cache and then blended: the values of diffusers' `tiled_decode`, which decodes each tile over the whole clip
/// before blending.
public final class WanVAEStreamingDecoder {
    public let vae: AutoencoderKLWan
    public let arena: ActivationArena
    public let tiles: AutoencoderKLWan.TileConfiguration?
    /// The storage type of the cached frames: f32 as diffusers, or f16 to halve the cache (the frames a causal
    /// convolution reads from the previous call are then rounded to f16); a clip's decode keeps it in the activation
    /// type (`WanVideoPipeline.decode`).
    public let cacheType: DType
    /// The activation type the decoder runs in (`AutoencoderKLWan.activationType`).
    public let activations: DType
    /// Each tile's cache (one entry without tiles); empty before the first call.
    private var slots: [[WanVAECarriedSlot]?] = []
    /// Latent frames decoded since the start or the last `reset()`.
    public private(set) var latentFramesDecoded = 0
    private var frameShape: [Int]?
    /// Set when a call failed part-way: its cache is partly updated, so the clip cannot go on.
    private var interrupted = false

    /// `precision`: the activations' (by default the weights' type).
    public init(
        vae: AutoencoderKLWan, arena: ActivationArena, tiles: AutoencoderKLWan.TileConfiguration? = nil,
        cacheType: DType = .f32, precision: ActivationPrecision? = nil
    ) {
        self.vae = vae
        self.arena = arena
        self.tiles = tiles
        activations = vae.activationType(precision)
        self.cacheType = cacheType
    }

    /// The cache of each tile (one entry without tiles); empty before the first call.
    public var caches: [WanVAEFeatureCache] {
        slots.map { tile in
            var cache = WanVAEFeatureCache()
            cache.slots = (tile ?? []).map { slot in
                if case .frames(.tensor(let tensor)) = slot { return .frames(tensor) }
                return .rep
            }
            return cache
        }
    }

    /// Device bytes the caches hold between calls.
    public var cacheBytes: Int { slots.reduce(0) { $0 + Int(($1 ?? []).reduce(0) { $0 + $1.bytes }) } }

    /// diffusers' `clear_cache()`: the next call starts a new clip.
    public func reset() {
        slots = []
        latentFramesDecoded = 0
        frameShape = nil
        interrupted = false
    }

    /// The video frames [B, 3, F, h · s, w · s] (clamped to [−1, 1]) of the next `latents` [B, z_dim, n, h, w]:
    /// F = 1 + 4 (n − 1) for the clip's first call, 4 n after. Every call of a clip takes latents of the same batch
    /// and size.
    public func decode(_ latents: Tensor) throws -> Tensor {
        guard latents.shape.count == 5, latents.shape[1] == vae.configuration.zDim else {
            throw AutoencoderKLWanError.invalidInput(
                operation: "streaming decode", shape: latents.shape,
                reason: "expected latents [B, \(vae.configuration.zDim), frames, height, width]")
        }
        let shape = [latents.shape[0], latents.shape[1]] + latents.shape.suffix(2)
        if let frameShape, frameShape != shape {
            throw AutoencoderKLWanError.invalidInput(
                operation: "streaming decode", shape: latents.shape,
                reason: "the clip's earlier latents were [\(frameShape[0]), \(frameShape[1]), n, \(frameShape[2]), "
                    + "\(frameShape[3])]; call reset() to start another clip")
        }
        guard !interrupted else {
            throw AutoencoderKLWanError.invalidInput(
                operation: "streaming decode", shape: latents.shape,
                reason: "an earlier call of this clip failed part-way, leaving its cache half updated; call reset() "
                    + "and decode the clip from its first latent frame")
        }
        var decode = AutoencoderKLWan.SteppedDecode(
            vae: vae, arena: arena, planning: false, cacheType: cacheType, activations: activations)
        let video: WanVAECarried
        do {
            video = try vae.steppedCall(&decode, latents: .tensor(latents), slots: &slots, tiles: tiles)
        } catch {
            interrupted = latentFramesDecoded > 0
            slots = []
            throw error
        }
        guard case .tensor(let frames) = video else {
            throw AutoencoderKLWanError.invalidInput(
                operation: "streaming decode", shape: latents.shape,
                reason: "internal: a run gave no tensor")
        }
        latentFramesDecoded += latents.shape[2]
        frameShape = shape
        return frames
    }
}

extension AutoencoderKLWan {
    /// One streaming call over `latents`, whole or in tiles, run or planned by `decode`; `slots` holds each tile's
    /// cache (empty for the clip's first call) and leaves with the new ones.
    func steppedCall(
        _ decode: inout SteppedDecode, latents: WanVAECarried, slots: inout [[WanVAECarriedSlot]?],
        tiles: TileConfiguration?
    ) throws -> WanVAECarried {
        let (height, width) = (latents.shape[3], latents.shape[4])
        let layout = try tiles.flatMap { tiles in
            decodeUsesTiles(latentHeight: height, latentWidth: width, tiles: tiles)
                ? try TileLayout(tiles, configuration: configuration, latentHeight: height, latentWidth: width) : nil
        }
        let count = layout?.count ?? 1
        if slots.isEmpty { slots = Array(repeating: nil, count: count) }
        guard slots.count == count else {
            throw AutoencoderKLWanError.invalidInput(
                operation: "streaming decode", shape: latents.shape,
                reason: "the cache holds \(slots.count) tiles, this frame needs \(count)")
        }
        var frames: [[WanVAECarried]] = []
        let memory = decode.memory
        let base = decode.residentBytes + latents.allocatedBytes(memory)
        for index in 0..<count {
            var input = latents
            if let layout {
                let region = layout.region(index, height: height, width: width)
                input = try crop(latents, region, decode: &decode)
            }
            decode.residentBytes =
                base + frames.joined().reduce(0) { $0 + $1.allocatedBytes(memory) }
                + slots.indices.filter { $0 != index }.reduce(0) { total, other in
                    total + (slots[other] ?? []).reduce(0) { $0 + $1.allocatedBytes(memory) }
                }
            frames.append(try decode.decode(input, cache: &slots[index]))
        }
        decode.residentBytes =
            base + slots.reduce(0) { total, tile in total + (tile ?? []).reduce(0) { $0 + $1.allocatedBytes(memory) } }
        return try decode.finish(frames, layout: layout)
    }

    /// The latents of one tile, cut out on a small graph of their own (or planned as a placeholder of their shape).
    private func crop(
        _ latents: WanVAECarried, _ region: (top: Int, left: Int, height: Int, width: Int),
        decode: inout SteppedDecode
    ) throws -> WanVAECarried {
        let shape = [latents.shape[0], latents.shape[1], latents.shape[2], region.height, region.width]
        guard case .tensor = latents, !decode.planning else { return .planned(shape, latents.dtype) }
        let graph = decode.makeGraph()
        let band = try graph.slice(latents.value(in: graph), axis: 3, start: region.top, length: region.height)
        let tile = try graph.copy(graph.slice(band, axis: 4, start: region.left, length: region.width))
        return .tensor(try graph.run([tile])[0])
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
