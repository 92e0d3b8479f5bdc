import KinoraGPU
import KinoraTensor

/// A tensor handed from one graph of a step-by-step decode to the next: a device tensor when running, its shape
/// (f32) when planning.
enum WanVAECarried {
    case tensor(Tensor)
    case planned([Int], DType)

    /// The planned stand-in of `value`.
    static func planned(_ value: Value) -> WanVAECarried { .planned(value.shape, value.dtype) }

    func value(in graph: Graph) throws -> Value {
        switch self {
        case .tensor(let tensor): return graph.input(tensor)
        case .planned(let shape, let dtype): return try graph.placeholder(shape: shape, dtype: dtype)
        }
    }

    var shape: [Int] {
        switch self {
        case .tensor(let tensor): return tensor.shape
        case .planned(let shape, _): return shape
        }
    }

    var dtype: DType {
        switch self {
        case .tensor(let tensor): return tensor.dtype
        case .planned(_, let dtype): return dtype
        }
    }

    var bytes: UInt64 {
        switch self {
        case .tensor(let tensor): return UInt64(tensor.byteCount)
        case .planned(let shape, let dtype): return UInt64(shape.reduce(dtype.size, *))
        }
    }

    /// The bytes `memory` holds for it: `bytes` rounded as the allocator rounds a buffer.
    func allocatedBytes(_ memory: MemoryAllocator) -> UInt64 { memory.allocationSize(for: bytes) }
}

/// A feature-cache slot between the graphs of a step-by-step decode.
enum WanVAECarriedSlot {
    case rep
    case frames(WanVAECarried)

    var bytes: UInt64 {
        if case .frames(let frames) = self { return frames.bytes }
        return 0
    }

    /// The bytes `memory` holds for it (`WanVAECarried.allocatedBytes`).
    func allocatedBytes(_ memory: MemoryAllocator) -> UInt64 {
        if case .frames(let frames) = self { return frames.allocatedBytes(memory) }
        return 0
    }
}

extension AutoencoderKLWan {
    /// One decoder call run (or planned) step by step, each of `Decoder3d.steps` a graph of its own
    /// (`post_quant_conv` with `conv_in`): a step's old cache slots are released as soon as it has run, so the
    /// device holds one copy of the cache plus one step's activations, not the cache twice and the whole decoder's
    /// activations. The steps after the last temporal upsample, where the call's frames are most numerous and
    /// largest, run one frame at a time (every layer there is causal in time or per frame, so a frame at a time with
    /// the cache carried gives the same values). The arena is trimmed after every step (as `Graph.memoryPlan`
    /// starts from an empty one).
    ///
    /// When planning, nothing runs: each step is recorded over placeholders and planned, and `peakBytes` is the
    /// highest of the bytes resident at a step (the caches, the tensors carried into it and `residentBytes`, each as
    /// the allocator rounds it) plus the constants its recording made and its plan: what a run allocates at its
    /// highest.
    struct SteppedDecode {
        let vae: AutoencoderKLWan
        let arena: ActivationArena
        let planning: Bool
        /// The storage type of the cached frames.
        let cacheType: DType
        /// The activation type every step's graph runs in (`AutoencoderKLWan.activationType`).
        let activations: DType
        /// Bytes held outside this call's caches and carried tensors (other tiles' caches and frames, the latents),
        /// as the allocator counts them.
        var residentBytes: UInt64 = 0
        private(set) var peakBytes: UInt64 = 0
        /// The step whose planned peak is `peakBytes`.
        private(set) var peakStep = ""
        /// When planning: the largest single buffer of the call (a carried tensor, a cache slot, an arena slot or an
        /// output).
        private(set) var largestBufferBytes: UInt64 = 0

        var memory: MemoryAllocator { arena.device.memory }

        init(
            vae: AutoencoderKLWan, arena: ActivationArena, planning: Bool, cacheType: DType = .f32,
            activations: DType = .f32
        ) {
            self.vae = vae
            self.arena = arena
            self.planning = planning
            self.cacheType = cacheType
            self.activations = activations
        }

        /// A graph on the arena whose activations are `activations`.
        func makeGraph() -> Graph {
            let graph = Graph(arena: arena)
            graph.activationDType = activations
            return graph
        }

        /// The patchified frames of `latents` [B, z_dim, n, h, w], as consecutive pieces along time; `cache`
        /// holds the previous call's slots (nil for the clip's first call) and leaves with this call's, each
        /// replaced as its step has run.
        mutating func decode(_ latents: WanVAECarried, cache: inout [WanVAECarriedSlot]?) throws -> [WanVAECarried] {
            let steps = vae.decoder.steps
            let tail =
                (steps.lastIndex { step in
                    if case .upsampler(let level) = step { return vae.configuration.temporalUpsample(level: level) }
                    return false
                } ?? -1) + 1
            let fresh = cache == nil
            if fresh { cache = [] }
            var state = (h: latents, blockInput: WanVAECarried?.none)
            var offset = 0
            for step in steps[..<tail] {
                state = try run(step, state, fresh: fresh, cache: &cache!, offset: &offset)
            }
            let (tailStart, frames) = (offset, state.h.shape[2])
            var pieces: [WanVAECarried] = []
            for frame in 0..<frames {
                offset = tailStart
                var piece = (h: try slice(state.h, frame: frame), blockInput: WanVAECarried?.none)
                // The call's frames before the tail and the pieces done stay on the device meanwhile.
                let done: UInt64 = pieces.reduce(0) { $0 + $1.allocatedBytes(memory) }
                let held: UInt64 = state.h.allocatedBytes(memory) + done
                for step in steps[tail...] {
                    residentBytes += held
                    defer { residentBytes -= held }
                    piece = try run(step, piece, fresh: fresh && frame == 0, cache: &cache!, offset: &offset)
                }
                pieces.append(piece.h)
            }
            if !fresh, offset != cache!.count {
                throw AutoencoderKLWanError.invalidInput(
                    operation: "feature cache", shape: [cache!.count],
                    reason: "the cache holds \(cache!.count) slots but this call has \(offset) causal convolutions; "
                        + "it comes from another model")
            }
            return pieces
        }

        /// Frame `frame` of `x`: the tensor itself when it has one frame, else cut out on a small graph.
        private mutating func slice(_ x: WanVAECarried, frame: Int) throws -> WanVAECarried {
            let shape = x.shape
            guard shape[2] > 1 else { return x }
            let one = [shape[0], shape[1], 1, shape[3], shape[4]]
            guard case .tensor = x, !planning else { return .planned(one, x.dtype) }
            let graph = makeGraph()
            defer { arena.trim() }
            let value = try graph.copy(graph.slice(x.value(in: graph), axis: 2, start: frame, length: 1))
            return .tensor(try graph.run([value])[0])
        }

        /// Runs (or plans) `step` on a graph of its own, reading the cache from `offset` on (none when `fresh`) and
        /// writing its new slots there.
        private mutating func run(
            _ step: Decoder3d.Step, _ state: (h: WanVAECarried, blockInput: WanVAECarried?),
            fresh: Bool, cache: inout [WanVAECarriedSlot], offset: inout Int
        ) throws
            -> (h: WanVAECarried, blockInput: WanVAECarried?)
        {
            let graph = makeGraph()
            let resident =
                residentBytes + cache.reduce(0) { $0 + $1.allocatedBytes(memory) } + state.h.allocatedBytes(memory)
                + (state.blockInput?.allocatedBytes(memory) ?? 0)
            let recording = Recording(vae.weights)
            var input = try state.h.value(in: graph)
            if step == .convIn {
                input = try CausalConv3d.pointwise(vae.weights.scoped("post_quant_conv"))(graph, input)
            }
            let previous: [WanVAEPass.Slot]? =
                fresh
                ? nil
                : try cache[offset...].map { slot in
                    switch slot {
                    case .rep: return .rep
                    case .frames(let frames): return .frames(try frames.value(in: graph))
                    }
                }
            let pass = WanVAEPass(graph: graph, previous: previous, cacheType: cacheType)
            let next = try vae.decoder.step(
                step, pass, Decoder3d.State(h: input, blockInput: try state.blockInput?.value(in: graph)))
            let slots = pass.outputs().values
            let outputs = [next.h] + (next.blockInput.map { [$0] } ?? []) + slots
            let results: [WanVAECarried]
            if planning {
                let plan = try graph.memoryPlan(outputs)
                let total = resident + recording.constantBytes() + plan.allocatedPeakBytes
                if total > peakBytes {
                    peakBytes = total
                    peakStep = "\(step)"
                }
                let carried = [state.h] + (state.blockInput.map { [$0] } ?? []) + cache.compactMap { slot in
                    if case .frames(let frames) = slot { return frames }
                    return nil
                }
                largestBufferBytes = carried.map(\.bytes).reduce(max(largestBufferBytes, plan.largestBufferBytes), max)
                results = outputs.map { .planned($0) }
            } else {
                defer { arena.trim() }
                results = try graph.run(outputs).map { .tensor($0) }
            }
            var index = results.count - slots.count
            let written = pass.next.map { slot -> WanVAECarriedSlot in
                guard case .frames = slot else { return .rep }
                defer { index += 1 }
                return .frames(results[index])
            }
            if fresh {
                cache.append(contentsOf: written)
            } else {
                cache.replaceSubrange(offset..<(offset + written.count), with: written)
            }
            offset += written.count
            return (results[0], next.blockInput == nil ? nil : results[1])
        }

        /// The video frames of the patchified pieces of each tile (one without tiles): joined along time, blended
        /// as diffusers' `tiled_decode` on a `layout`, unpatchified and clamped, on one more graph.
        mutating func finish(_ tiles: [[WanVAECarried]], layout: TileLayout?) throws -> WanVAECarried {
            let graph = makeGraph()
            let recording = Recording(vae.weights)
            let values = try tiles.map { pieces in try graph.concat(pieces.map { try $0.value(in: graph) }, axis: 2) }
            let frames = tiles.joined()
            let joined = try layout.map { try vae.blend(graph, values, $0) } ?? values[0]
            let video = try vae.finishFrames(graph, joined)
            if planning {
                let plan = try graph.memoryPlan([video])
                let resident = residentBytes + frames.reduce(0) { $0 + $1.allocatedBytes(memory) }
                let total = resident + recording.constantBytes() + plan.allocatedPeakBytes
                if total > peakBytes {
                    peakBytes = total
                    peakStep = "finish"
                }
                largestBufferBytes = max(largestBufferBytes, plan.largestBufferBytes)
                return .planned(video)
            }
            defer { arena.trim() }
            return .tensor(try graph.run([video])[0])
        }
    }
}

/// What a graph's recording left live on the device beside the weights it uploaded: the constant inputs it made
/// (`Graph.input` of values, such as clamp bounds), which live as long as the graph and which `Graph.memoryPlan`
/// does not count.
struct Recording {
    let weights: DeviceWeights
    let liveBefore: UInt64
    let uploadedBefore: Set<String>

    /// Starts counting from what is live now.
    init(_ weights: DeviceWeights) {
        self.weights = weights
        liveBefore = weights.device.memory.liveBytes
        uploadedBefore = weights.uploadedNames
    }

    /// The live bytes gained since `init`, less the weights uploaded meanwhile (each as the allocator holds it).
    func constantBytes() -> UInt64 {
        let memory = weights.device.memory
        let uploaded = weights.uploadedNames.subtracting(uploadedBefore).reduce(UInt64(0)) { total, name in
            total + memory.allocationSize(for: UInt64((try? weights.store.info(name).byteCount) ?? 0))
        }
        let gained = memory.liveBytes - min(memory.liveBytes, liveBefore)
        return gained - min(gained, uploaded)
    }
}
