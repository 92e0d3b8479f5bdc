import KinoraGPU

/// A value in a graph: the result of an op (or an input), known by shape and storage type until the graph runs.
public struct Value: Hashable, Sendable {
    let id: Int
    let graph: ObjectIdentifier
    public let shape: [Int]
    public let dtype: DType

    /// Elements in the value.
    public var count: Int { shape.reduce(1, *) }
    /// Number of axes.
    public var rank: Int { shape.count }
}

/// A forward pass recorded as a list of ops, then run as a whole.
///
/// Ops are methods on `Graph` (see the `Graph+*.swift` files); each checks its operands when it is recorded and
/// throws `TensorError` naming the op and the shapes. `run(_:)` assigns every intermediate to an arena slot by
/// liveness, records all dispatches into one command stream (submitted in work-sized batches) and returns the
/// requested outputs as tensors with storage of their own.
public final class Graph {
    enum Source {
        case input(Tensor)
        case node
        /// A reshape or leading-axis slice of another value, `byteOffset` bytes into it.
        case view(of: Int, byteOffset: UInt64)
        /// A shape without storage, for planning only (`placeholder(shape:dtype:)`).
        case placeholder
    }

    struct ValueInfo {
        var shape: [Int]
        var dtype: DType
        var source: Source
        /// A float8 value's per-tensor scale (its input tensor's, shared by its views); 1 otherwise.
        var scale: Float
    }

    struct Node {
        var call: KernelCall
        var output: Int
    }

    public let arena: ActivationArena
    public var device: GPUDevice { arena.device }
    /// How matmuls recorded from now on stage their operands (tests exercise every strategy on any device).
    public var matmulStrategy = MatmulStrategy.automatic
    /// The workgroup tile of the tensor-core matmuls recorded from now on; nil (the default) chooses one per product
    /// (`CooperativeMatrixTile.forProduct`). Conformance cases and benchmarks force each.
    public var cooperativeMatrixTile: CooperativeMatrixTile?
    /// How convolutions recorded from now on are computed (tests exercise each on any device).
    public var convolutionStrategy = ConvolutionStrategy.automatic
    /// Which kernel attention recorded from now on runs (tests exercise each on any device that has it).
    public var attentionStrategy = AttentionStrategy.automatic
    /// How normalisations and softmax recorded from now on spread a row over threads (tests exercise each on any
    /// device).
    public var reductionStrategy = ReductionStrategy.automatic
    /// The most bytes of transformed input or of products that one piece of a Winograd convolution holds: larger
    /// ones run in pieces of whole tiles, which bounds their memory and keeps a piece's intermediates in a CPU's
    /// caches (tests make it small to exercise the pieces).
    public var winogradPieceBytes = Graph.defaultWinogradPieceBytes
    /// The storage type (f32, f16 or bf16) of the activations that ops recorded from now on read and write; see
    /// `Graph+Precision.swift`. Float8 is a weight type and cannot be an activation type.
    public var activationDType = DType.f32 {
        didSet {
            precondition(Self.activationDTypes.contains(activationDType),
                         "activations are f32, f16 or bf16, not \(activationDType)")
        }
    }
    var values: [ValueInfo] = []
    var nodes: [Node] = []
    /// The value of each input tensor added so far.
    private var inputs: [InputKey: Int] = [:]

    public init(arena: ActivationArena) {
        self.arena = arena
    }

    /// Adds a device tensor as a graph input. The same tensor (storage, offset, shape and type) added again is the
    /// same value, so that an op reading it sees what `write(_:into:axis:start:)` wrote into it earlier.
    public func input(_ tensor: Tensor) -> Value {
        let key = InputKey(buffer: ObjectIdentifier(tensor.buffer), byteOffset: tensor.byteOffset, shape: tensor.shape,
                           dtype: tensor.dtype)
        if let id = inputs[key] {
            return Value(id: id, graph: ObjectIdentifier(self), shape: tensor.shape, dtype: tensor.dtype)
        }
        let value = makeValue(shape: tensor.shape, dtype: tensor.dtype, source: .input(tensor))
        inputs[key] = value.id
        return value
    }

    /// What makes two input tensors the same value.
    private struct InputKey: Hashable {
        var buffer: ObjectIdentifier
        var byteOffset: UInt64
        var shape: [Int]
        var dtype: DType
    }

    /// Uploads host values and adds them as an input.
    public func input(_ values: [Float], shape: [Int], dtype: DType = .f32) throws -> Value {
        input(try Tensor(values, shape: shape, dtype: dtype, on: device))
    }

    /// Number of recorded dispatches.
    public var nodeCount: Int { nodes.count }

    // MARK: Recording (for op implementations)

    func makeValue(shape: [Int], dtype: DType, source: Source) -> Value {
        let scale: Float
        switch source {
        case .input(let tensor): scale = tensor.scale
        case .view(let base, _): scale = values[base].scale
        case .node, .placeholder: scale = 1
        }
        values.append(ValueInfo(shape: shape, dtype: dtype, source: source, scale: scale))
        return Value(id: values.count - 1, graph: ObjectIdentifier(self), shape: shape, dtype: dtype)
    }

    /// Records a kernel whose last operand is a new output of `shape` and `dtype`; `call.operands` lists the
    /// inputs, and the output is appended as a write operand. No kernel writes float8: ops that move elements widen
    /// float8 inputs first (`widened`).
    func record(_ call: KernelCall, output shape: [Int], dtype: DType = .f32) -> Value {
        precondition(!dtype.isFloat8, "\(call.label): no kernel writes float8; widen float8 inputs first")
        let output = makeValue(shape: shape, dtype: dtype, source: .node)
        var call = call
        call.operands.append(KernelCall.Operand(value: output.id, access: .write))
        nodes.append(Node(call: call, output: output.id))
        return output
    }

    /// Records a kernel that writes part of `target` — a value an earlier kernel of this graph created (a large op
    /// computed in pieces) or an input tensor (a cache kept between runs, written in place) — leaving the rest as it
    /// was. `call.operands` lists the inputs; `target` is appended as the write operand, and every kernel that writes
    /// it runs before any reader recorded after them.
    func record(_ call: KernelCall, into target: Value) {
        precondition(hasOwnStorage(target.id) || nodes.contains { $0.output == target.id },
                     "\(call.label): the target must be a kernel's output, an input or a placeholder")
        var call = call
        call.operands.append(KernelCall.Operand(value: target.id, access: .write))
        nodes.append(Node(call: call, output: target.id))
    }

    /// Whether `id` is an input tensor or a placeholder: storage of its own (or, planning, none), not the arena's.
    func hasOwnStorage(_ id: Int) -> Bool {
        switch values[id].source {
        case .input, .placeholder: return true
        case .node, .view: return false
        }
    }

    /// The per-tensor scale of a float8 value (1 for other types), for the kernels that decode float8 weights.
    func scale(of value: Value) -> Float {
        values[value.id].scale
    }

    /// Checks that `value` belongs to this graph.
    func check(_ value: Value, _ op: String) throws {
        guard value.graph == ObjectIdentifier(self), value.id < values.count else {
            throw TensorError.foreignValue(op: op)
        }
    }

    /// A view of `value` with another shape of the same element count (no copy).
    public func reshape(_ value: Value, _ shape: [Int]) throws -> Value {
        try check(value, "reshape")
        try Tensor.validate(shape: shape, op: "reshape")
        guard shape.reduce(1, *) == value.count else {
            throw TensorError.shapeMismatch(op: "reshape", shapes: [value.shape, shape], reason: "element counts differ")
        }
        return makeValue(shape: shape, dtype: value.dtype, source: .view(of: value.id, byteOffset: 0))
    }

    // MARK: Running

    /// Runs the graph and returns `outputs` as tensors.
    public func run(_ outputs: [Value]) throws -> [Tensor] {
        try execute(outputs, profiling: false).tensors
    }

    /// Runs the graph with timestamp queries; returns the outputs and the GPU time of each dispatch.
    public func runProfiled(_ outputs: [Value]) throws -> (tensors: [Tensor], timings: [DispatchTiming]) {
        try execute(outputs, profiling: true)
    }

    /// The nodes the outputs need, in order, and the position of each storage root's last use among them.
    private func schedule(_ outputs: [Value]) throws -> (outputRoots: Set<Int>, live: [Int], lastUse: [Int: Int]) {
        for output in outputs { try check(output, "run") }
        let outputRoots = Set(outputs.map { root(of: $0.id).id })
        let live = liveNodes(for: outputRoots)
        var lastUse: [Int: Int] = [:]
        for (position, index) in live.enumerated() {
            for operand in nodes[index].call.operands { lastUse[root(of: operand.value).id] = position }
        }
        return (outputRoots, live, lastUse)
    }

    /// The device memory a run of `outputs` will take, worked out without running anything: the arena's slots are
    /// assigned by the same liveness and best-fit rule as in `run`, starting from an empty arena.
    public func memoryPlan(_ outputs: [Value]) throws -> MemoryPlan {
        let (outputRoots, live, lastUse) = try schedule(outputs)
        var free: [UInt64] = []
        var held: [Int: UInt64] = [:]
        var plan = MemoryPlan()
        var current: UInt64 = 0
        var counted: Set<Int> = []
        for (position, index) in live.enumerated() {
            let node = nodes[index]
            let bytes = UInt64(byteCount(node.output))
            if hasOwnStorage(node.output) {
                // Written in place: the input's own storage (a placeholder's when planning).
            } else if outputRoots.contains(node.output) {
                if counted.insert(node.output).inserted {
                    plan.outputBytes += bytes
                    plan.allocatedOutputBytes += device.memory.allocationSize(for: bytes)
                    plan.largestBufferBytes = max(plan.largestBufferBytes, bytes)
                }
            } else if held[node.output] == nil {
                let rounded = ActivationArena.slotSize(for: bytes)
                if let best = ActivationArena.bestFit(free, for: rounded) {
                    held[node.output] = free.remove(at: best)
                } else {
                    held[node.output] = rounded
                    current += rounded
                    plan.slots += 1
                    plan.largestBufferBytes = max(plan.largestBufferBytes, rounded)
                    plan.activationBytes = max(plan.activationBytes, current)
                }
            }
            for operand in node.call.operands {
                let rootID = root(of: operand.value).id
                if lastUse[rootID] == position, let slot = held.removeValue(forKey: rootID) { free.append(slot) }
            }
        }
        return plan
    }

    private func execute(_ outputs: [Value], profiling: Bool) throws -> (tensors: [Tensor], timings: [DispatchTiming]) {
        let (outputRoots, live, lastUse) = try schedule(outputs)

        var storage: [Int: GPUBuffer] = [:]
        var arenaOwned: Set<Int> = []
        let stream = CommandStream(device: device, profiling: profiling)
        do {
            for (position, index) in live.enumerated() {
                let node = nodes[index]
                if storage[node.output] == nil, !hasOwnStorage(node.output) {
                    let bytes = UInt64(values[node.output].shape.reduce(1, *) * values[node.output].dtype.size)
                    if outputRoots.contains(node.output) {
                        storage[node.output] = try device.allocate(bytes: bytes)
                    } else {
                        storage[node.output] = try arena.acquire(bytes: bytes)
                        arenaOwned.insert(node.output)
                    }
                }
                let bindings = try node.call.operands.map { operand -> BufferBinding in
                    let (rootID, offset) = root(of: operand.value)
                    let buffer: GPUBuffer
                    if case .input(let tensor) = values[rootID].source {
                        buffer = tensor.buffer
                        return BufferBinding(buffer, operand.access, offset: tensor.byteOffset + offset,
                                             length: bindingLength(operand.value))
                    }
                    if case .placeholder = values[rootID].source {
                        throw TensorError.invalidArgument(op: node.call.label, reason: "reads a placeholder, which "
                            + "has no storage: placeholders are for memoryPlan only")
                    }
                    guard let stored = storage[rootID] else {
                        throw TensorError.invalidArgument(op: node.call.label, reason: "internal: operand not computed")
                    }
                    return BufferBinding(stored, operand.access, offset: offset, length: bindingLength(operand.value))
                }
                let pipeline = try device.pipelines.pipeline(node.call.shader, specialization: node.call.specialization,
                                                             subgroupSize: node.call.subgroupSize)
                try stream.dispatch(pipeline, bindings: bindings, pushConstants: node.call.pushConstants,
                                    groups: node.call.groups, label: node.call.label, work: node.call.work)
                for operand in node.call.operands {
                    let rootID = root(of: operand.value).id
                    if lastUse[rootID] == position, arenaOwned.contains(rootID), let slot = storage[rootID] {
                        arena.release(slot)
                        arenaOwned.remove(rootID)
                    }
                }
            }
            let timings = try stream.finish()
            let tensors = try outputs.map { output -> Tensor in
                let (rootID, offset) = root(of: output.id)
                if case .input(let tensor) = values[rootID].source {
                    return Tensor(shape: output.shape, dtype: output.dtype, scale: tensor.scale, device: device,
                                  buffer: tensor.buffer, byteOffset: tensor.byteOffset + offset)
                }
                guard let buffer = storage[rootID] else {
                    throw TensorError.invalidArgument(op: "run", reason: "internal: output not computed")
                }
                return Tensor(shape: output.shape, dtype: output.dtype, device: device, buffer: buffer,
                              byteOffset: offset)
            }
            return (tensors, timings)
        } catch {
            // Let in-flight work finish before slots return to the arena, then surface the first error.
            _ = try? stream.finish()
            for rootID in arenaOwned { if let slot = storage[rootID] { arena.release(slot) } }
            throw error
        }
    }

    private func byteCount(_ id: Int) -> Int {
        values[id].shape.reduce(1, *) * values[id].dtype.size
    }

    /// The bytes a kernel binds for `id`: its elements, in whole 32-bit words for float8, which kernels read four
    /// bytes to a word (float8 values are inputs, whose storage `Tensor` rounds up to words, or views of them at
    /// word-aligned offsets).
    private func bindingLength(_ id: Int) -> UInt64 {
        let bytes = byteCount(id)
        return UInt64(values[id].dtype.isFloat8 ? (bytes + 3) / 4 * 4 : bytes)
    }

    /// The value that owns the storage of `id` and the byte offset of `id` inside it.
    func root(of id: Int) -> (id: Int, offset: UInt64) {
        var current = id
        var offset: UInt64 = 0
        while case .view(let base, let byteOffset) = values[current].source {
            offset += byteOffset
            current = base
        }
        return (current, offset)
    }

    /// Indices of the nodes the outputs depend on, in recording order.
    private func liveNodes(for outputRoots: Set<Int>) -> [Int] {
        // A value may have several producers: kernels that each write part of it (`record(_:into:)`).
        var producers: [Int: [Int]] = [:]
        for (index, node) in nodes.enumerated() { producers[node.output, default: []].append(index) }
        var needed = Set<Int>()
        var stack = Array(outputRoots)
        while let value = stack.popLast() {
            for index in producers[value] ?? [] where needed.insert(index).inserted {
                for operand in nodes[index].call.operands where operand.value != nodes[index].output {
                    stack.append(root(of: operand.value).id)
                }
            }
        }
        return needed.sorted()
    }
}
