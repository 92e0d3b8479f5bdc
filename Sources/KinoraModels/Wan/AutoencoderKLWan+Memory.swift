import KinoraGPU
import KinoraTensor

/// What one steady-state call of `WanVAEStreamingDecoder` (a latent frame after the second, every cache slot full)
/// holds on the device beside the weights, planned without running: the cache (one copy, as each step releases its
/// old slots) and the latents, plus the step with the highest activations and outputs (`Graph.memoryPlan`).
public struct WanVAEStreamingDecodeMemory: Sendable {
    /// Shapes of the cache slots that hold frames, tile by tile, in diffusers' `feat_idx` order.
    public var cacheShapes: [[[Int]]]
    /// Bytes of the cache (in its storage type), resident between calls.
    public var cacheBytes: UInt64
    /// The highest device bytes of the call beside the weights: what is resident at a step (caches, latents, the
    /// tensors carried between steps, decoded tiles) plus that step's constants, planned arena and outputs, each as
    /// the allocator rounds it: what a run's allocator peak reaches above the weights.
    public var peakBytes: UInt64
    /// The step where `peakBytes` is reached (a `Decoder3d.Step`, or `finish` for the blend and clamp).
    public var peakStep: String
    /// Video frames the call returns.
    public var outputFrames: Int
    /// The largest single buffer the call allocates beside the weights (a cache slot, a carried tensor, an arena
    /// slot or an output), to hold against the device's largest buffer.
    public var largestBufferBytes: UInt64
}

extension AutoencoderKLWan {
    /// Plans a steady-state streaming decode call over latent frames of `latentHeight` × `latentWidth` (with `tiles`,
    /// as `WanVAEStreamingDecoder` splits them), uploading the decoder's weights if they are not on the device yet.
    ///
    /// Nothing runs and nothing of the activations' size is allocated: the cache's shapes come from recording a
    /// three-latent-frame clip on placeholders (`Graph.placeholder`), and each step of the call is recorded over
    /// placeholders of its inputs and planned. The activations are `precision`'s (by default the weights' type).
    public func streamingDecodeMemory(
        batch: Int = 1, latentHeight: Int, latentWidth: Int,
        tiles: TileConfiguration? = nil, cacheType: DType = .f32, precision: ActivationPrecision? = nil
    ) throws
        -> WanVAEStreamingDecodeMemory
    {
        let activations = activationType(precision)
        let arena = ActivationArena(device: weights.device)
        let shapeGraph = Graph(arena: arena)
        let clip = try shapeGraph.placeholder(shape: [batch, configuration.zDim, 3, latentHeight, latentWidth])
        let shapes: [[[Int]]] = try recordDecode(shapeGraph, clip, previous: [], tiles: tiles).passes.map {
            $0.outputs().values.map(\.shape)
        }
        var slots: [[WanVAECarriedSlot]?] = shapes.map { tile in tile.map { .frames(.planned($0, cacheType)) } }
        var decode = SteppedDecode(
            vae: self, arena: arena, planning: true, cacheType: cacheType, activations: activations)
        let video = try steppedCall(
            &decode, latents: .planned([batch, configuration.zDim, 1, latentHeight, latentWidth], .f32),
            slots: &slots, tiles: tiles)
        let cacheBytes = shapes.joined().reduce(0) { $0 + UInt64($1.reduce(cacheType.size, *)) }
        return WanVAEStreamingDecodeMemory(
            cacheShapes: shapes, cacheBytes: cacheBytes, peakBytes: decode.peakBytes,
            peakStep: decode.peakStep, outputFrames: video.shape[2],
            largestBufferBytes: max(decode.largestBufferBytes, video.bytes))
    }

    /// The tiles a streaming decode of `latentHeight` × `latentWidth` frames needs to fit `budget` bytes beside
    /// what is live (default: the device budget minus the live bytes): nil when whole frames fit, else the first
    /// that fits of diffusers' default tiles (256 pixels every 192) and tiles of half, a quarter, … their size down to
    /// 4 latent pixels, among those that split the frame, with the cache stored as `cacheType` and the activations
    /// `precision`'s (by default the weights' type). Throws when none fits.
    public func streamingTiles(
        batch: Int = 1, latentHeight: Int, latentWidth: Int, budget: UInt64? = nil,
        cacheType: DType = .f32, precision: ActivationPrecision? = nil
    ) throws -> TileConfiguration? {
        let available = budget ?? weights.device.memory.availableBytes
        let s = configuration.spatialCompression
        var candidates: [TileConfiguration?] = [nil]
        var tiles = TileConfiguration()
        while tiles.sampleHeight >= 4 * s, tiles.sampleWidth >= 4 * s, tiles.strideHeight >= s, tiles.strideWidth >= s {
            if decodeUsesTiles(latentHeight: latentHeight, latentWidth: latentWidth, tiles: tiles) {
                candidates.append(tiles)
            }
            tiles = TileConfiguration(
                sampleHeight: tiles.sampleHeight / 2, sampleWidth: tiles.sampleWidth / 2,
                strideHeight: tiles.strideHeight / 2, strideWidth: tiles.strideWidth / 2)
        }
        var smallest = UInt64.max
        for candidate in candidates {
            let planned = try streamingDecodeMemory(
                batch: batch, latentHeight: latentHeight, latentWidth: latentWidth, tiles: candidate,
                cacheType: cacheType, precision: precision)
            if planned.peakBytes <= available { return candidate }
            smallest = min(smallest, planned.peakBytes)
        }
        throw AutoencoderKLWanError.invalidInput(
            operation: "streaming decode", shape: [batch, configuration.zDim, 1, latentHeight, latentWidth],
            reason: "one latent frame needs at least \(smallest) bytes beside the weights, in whole frames or tiles "
                + "down to \(4 * s) pixels; \(available) are available")
    }
}
