import KinoraTensor

/// diffusers' `feat_cache` between two calls of a Wan VAE encoder or decoder: one slot per causal convolution that
/// keeps frames, in the order the call visits them (diffusers' `feat_idx`). A slot holds the last `CACHE_T` = 2
/// input frames of its convolution ([B, C, ≤ 2, H, W]: one after a one-frame first call), the last input frame of a
/// temporal downsample, or the `Rep` marker a temporal upsample leaves after the first chunk, which it did not
/// convolve (after which it caches a zero frame and the first frame it convolves). An empty cache is diffusers'
/// state after `clear_cache()`.
public struct WanVAEFeatureCache: Sendable {
    public enum Slot: Sendable {
        /// diffusers' `"Rep"`: the temporal upsample saw only the first chunk.
        case rep
        case frames(Tensor)
    }

    public internal(set) var slots: [Slot] = []

    public init() {}

    /// Whether no call has run since the cache was made or cleared (the next call is the first chunk).
    public var isEmpty: Bool { slots.isEmpty }

    /// Device bytes of the cached frames.
    public var bytes: Int {
        slots.reduce(0) { total, slot in
            if case .frames(let tensor) = slot { return total + tensor.byteCount }
            return total
        }
    }
}

/// One encoder or decoder call being recorded with the feature cache: the slots it reads (nil for the first chunk,
/// when every slot is empty) and, in the same order, the slots it leaves for the next call.
final class WanVAEPass {
    enum Slot {
        case rep
        case frames(Value)
    }

    let graph: Graph
    let previous: [Slot]?
    /// The storage type of the frames the pass leaves (f32 as diffusers; f16 halves the cache).
    let cacheType: DType
    private(set) var next: [Slot] = []

    init(graph: Graph, previous: [Slot]? = nil, cacheType: DType = .f32) {
        self.graph = graph
        self.previous = previous
        self.cacheType = cacheType
    }

    /// The pass over a device cache, its tensors as graph inputs.
    convenience init(graph: Graph, cache: WanVAEFeatureCache) {
        self.init(
            graph: graph,
            previous: cache.isEmpty
                ? nil
                : cache.slots.map { slot in
                    switch slot {
                    case .rep: return .rep
                    case .frames(let tensor): return .frames(graph.input(tensor))
                    }
                })
    }

    /// diffusers' `first_chunk`: the call the clip starts with (every slot empty).
    var isFirstChunk: Bool { previous == nil }

    /// The slot of the next convolution; nil in the first chunk.
    func take() throws -> Slot? {
        guard let previous else { return nil }
        guard next.count < previous.count else {
            throw AutoencoderKLWanError.invalidInput(
                operation: "feature cache", shape: [previous.count],
                reason: "the cache holds \(previous.count) slots, fewer than this call's causal convolutions")
        }
        return previous[next.count]
    }

    /// The cached frames of the next convolution (nil in the first chunk).
    func takeFrames() throws -> Value? {
        switch try take() {
        case nil: return nil
        case .frames(let frames): return frames
        case .rep:
            throw AutoencoderKLWanError.invalidInput(
                operation: "feature cache", shape: [next.count],
                reason: "slot \(next.count) holds the temporal upsample's Rep marker where a convolution's frames "
                    + "belong; the cache comes from another model")
        }
    }

    /// Leaves `slot` for the next call, its frames in `cacheType`.
    func store(_ slot: Slot) throws {
        guard case .frames(let frames) = slot, frames.dtype != cacheType else { return next.append(slot) }
        next.append(.frames(try graph.cast(frames, to: cacheType)))
    }

    /// Checks that the call used every slot of the cache it read.
    func finish() throws {
        if let previous, previous.count != next.count {
            throw AutoencoderKLWanError.invalidInput(
                operation: "feature cache", shape: [previous.count],
                reason: "the cache holds \(previous.count) slots but this call has \(next.count) causal convolutions; "
                    + "it comes from another model")
        }
    }

    /// diffusers' `cache_x`: the last `CACHE_T` = 2 frames of a convolution's input `x`, completed with the last
    /// cached frame when `x` has only one.
    func lastFrames(_ x: Value, previous: Value?) throws -> Value {
        let frames = x.shape[2]
        if frames >= 2 { return try graph.slice(x, axis: 2, start: frames - 2, length: 2) }
        guard let previous else { return x }
        return try graph.concat(
            [graph.slice(previous, axis: 2, start: previous.shape[2] - 1, length: 1), x], axis: 2)
    }

    /// The graph's values of the slots left for the next call, and a function that rebuilds the device cache from
    /// the tensors those values run to.
    func outputs() -> (values: [Value], cache: ([Tensor]) -> WanVAEFeatureCache) {
        var values: [Value] = []
        var layout: [Bool] = []
        for slot in next {
            if case .frames(let value) = slot {
                values.append(value)
                layout.append(true)
            } else {
                layout.append(false)
            }
        }
        return (
            values,
            { tensors in
                var cache = WanVAEFeatureCache()
                var index = 0
                cache.slots = layout.map { isFrames in
                    guard isFrames else { return .rep }
                    defer { index += 1 }
                    return .frames(tensors[index])
                }
                return cache
            }
        )
    }
}
