import KinoraGPU
import KinoraTensor

/// A forward pass run piece by piece with its weights streamed from host memory: each piece (a resnet, a
/// transformer layer, a sampler) is recorded on a graph of its own over the tensors carried from the pieces before,
/// run, and the weights it uploaded are dropped again, so only one piece's weights are on the device at a time.
/// Pieces marked `resident` (a model's small head and tail) keep their weights for the next pass.
///
/// In `.plan` mode nothing runs: each piece is planned with `Graph.memoryPlan` and answered with stand-in tensors
/// of its outputs' shapes, so the next piece is recorded over inputs of the right size and `peakBytes` is exactly
/// what a `.run` pass allocates (the arena is trimmed after every piece, as `memoryPlan` starts from an empty one).
final class StreamedPass {
    enum Mode {
        case run
        case plan
    }

    let weights: DeviceWeights
    let arena: ActivationArena
    let mode: Mode
    /// `.plan`: the highest device bytes any piece reaches (live bytes while it is recorded, with its weights
    /// uploaded and the carried tensors held, plus its planned activations and outputs as the allocator rounds them).
    private(set) var peakBytes: UInt64 = 0
    /// `.plan`: the largest single buffer a piece allocates (an arena slot or an output).
    private(set) var largestBufferBytes: UInt64 = 0

    init(weights: DeviceWeights, arena: ActivationArena, mode: Mode) {
        self.weights = weights
        self.arena = arena
        self.mode = mode
    }

    /// Records `body` on a fresh graph, runs (or plans) it and returns its outputs; the weights it uploaded are
    /// evicted afterwards unless `resident`.
    func piece(resident: Bool = false, _ body: (Graph) throws -> [Value]) throws -> [Tensor] {
        let uploadedBefore = weights.uploadedNames
        defer {
            if !resident { weights.evict(weights.uploadedNames.subtracting(uploadedBefore)) }
        }
        let graph = Graph(arena: arena)
        let outputs = try body(graph)
        switch mode {
        case .run:
            defer { arena.trim() }
            return try graph.run(outputs)
        case .plan:
            let plan = try graph.memoryPlan(outputs)
            peakBytes = max(peakBytes, weights.device.memory.liveBytes + plan.allocatedPeakBytes)
            largestBufferBytes = max(largestBufferBytes, plan.largestBufferBytes)
            return try outputs.map { output in
                try Tensor([Float](repeating: 0, count: output.count), shape: output.shape, dtype: output.dtype,
                           on: weights.device)
            }
        }
    }

    /// `piece` for a body with one output.
    func value(resident: Bool = false, _ body: (Graph) throws -> Value) throws -> Tensor {
        try piece(resident: resident) { [try body($0)] }[0]
    }
}
