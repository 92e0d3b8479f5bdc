import KinoraGPU
import KinoraTensor

/// What one steady-state call of `WanVAEStreamingDecoder` (a latent frame after the second, with every cache slot
/// full) holds on the device, planned without running: the cache it reads stays resident, and `Graph.memoryPlan`
/// gives the arena slots and outputs (the frames and the new cache) on top.
public struct WanVAEStreamingDecodeMemory: Sendable {
    /// Shapes of the cache slots that hold frames, tile by tile, in diffusers' `feat_idx` order.
    public var cacheShapes: [[[Int]]]
    /// Bytes of the cache the call reads (f32), resident between calls.
    public var cacheBytes: UInt64
    /// The call's arena slots and outputs (its video frames and the cache it leaves).
    public var plan: MemoryPlan
    /// Video frames the call returns.
    public var outputFrames: Int

    /// Device bytes during the call beside the weights: the cache read plus the plan.
    public var peakBytes: UInt64 { cacheBytes + plan.peakBytes }
}

extension AutoencoderKLWan {
    /// Plans a steady-state streaming decode call over latent frames of `latentHeight` × `latentWidth` (with `tiles`,
    /// as `WanVAEStreamingDecoder` splits them), uploading the decoder's weights if they are not on the device yet.
    ///
    /// Nothing runs: the cache's shapes come from recording a three-latent-frame clip, and the call is recorded over
    /// stand-in tensors (the cache slots as views of one buffer the size of the largest, freed on return) and planned.
    public func streamingDecodeMemory(
        batch: Int = 1, latentHeight: Int, latentWidth: Int,
        tiles: TileConfiguration? = nil
    ) throws -> WanVAEStreamingDecodeMemory {
        let device = weights.device
        let arena = ActivationArena(device: device)
        let latentShape = [batch, configuration.zDim, 1, latentHeight, latentWidth]
        let frames = try Tensor(
            [Float](repeating: 0, count: latentShape.reduce(1, *) * 3),
            shape: [batch, configuration.zDim, 3, latentHeight, latentWidth], on: device)
        let shapeGraph = Graph(arena: arena)
        let shapes: [[[Int]]] = try recordDecode(shapeGraph, shapeGraph.input(frames), previous: [], tiles: tiles)
            .passes.map { $0.outputs().values.map(\.shape) }
        let largest = shapes.joined().map { $0.reduce(1, *) }.max() ?? 1
        let standIn = try Tensor([Float](repeating: 0, count: largest), shape: [largest], on: device)
        let latent = try Tensor([Float](repeating: 0, count: latentShape.reduce(1, *)), shape: latentShape, on: device)
        let graph = Graph(arena: arena)
        let flat = graph.input(standIn)
        let previous: [[WanVAEPass.Slot]?] = try shapes.map { tile in
            try tile.map { shape in
                .frames(try graph.reshape(graph.slice(flat, axis: 0, start: 0, length: shape.reduce(1, *)), shape))
            }
        }
        let (video, passes) = try recordDecode(graph, graph.input(latent), previous: previous, tiles: tiles)
        let plan = try graph.memoryPlan([video] + passes.flatMap { $0.outputs().values })
        let cacheBytes = shapes.joined().reduce(0) { $0 + UInt64($1.reduce(4, *)) }
        return WanVAEStreamingDecodeMemory(
            cacheShapes: shapes, cacheBytes: cacheBytes, plan: plan,
            outputFrames: video.shape[2])
    }

    /// The tiles a streaming decode of `latentHeight` × `latentWidth` frames needs to fit `budget` bytes beside
    /// what is live (default: the device budget minus the live bytes): nil when whole frames fit, else diffusers'
    /// default tiles, then tiles of half their size, down to tiles of 4 latent pixels. Throws when none fits.
    public func streamingTiles(batch: Int = 1, latentHeight: Int, latentWidth: Int, budget: UInt64? = nil) throws
        -> TileConfiguration?
    {
        let memory = weights.device.memory
        let available = budget ?? (memory.budget - min(memory.liveBytes, memory.budget))
        var candidate: TileConfiguration? = nil
        let s = configuration.spatialCompression
        while true {
            let planned = try streamingDecodeMemory(
                batch: batch, latentHeight: latentHeight, latentWidth: latentWidth,
                tiles: candidate)
            if planned.peakBytes <= available { return candidate }
            let next =
                candidate.map {
                    TileConfiguration(
                        sampleHeight: $0.sampleHeight / 2, sampleWidth: $0.sampleWidth / 2,
                        strideHeight: $0.strideHeight / 2, strideWidth: $0.strideWidth / 2)
                } ?? TileConfiguration()
            guard next.sampleHeight >= 4 * s, next.sampleWidth >= 4 * s, next.strideHeight >= s, next.strideWidth >= s,
                decodeUsesTiles(latentHeight: latentHeight, latentWidth: latentWidth, tiles: next)
            else {
                throw AutoencoderKLWanError.invalidInput(
                    operation: "streaming decode", shape: [batch, configuration.zDim, 1, latentHeight, latentWidth],
                    reason: "one latent frame needs \(planned.peakBytes) bytes beside the weights even in tiles of "
                        + "\((candidate ?? next).sampleHeight) pixels; \(available) are available")
            }
            candidate = next
        }
    }
}
